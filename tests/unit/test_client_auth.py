"""Mutual TLS decisions as tables: fingerprints as given, and the verdict per certificate."""

import pytest

from shares.network.client_auth import ClientAuth, accepts, fingerprint_of, parse_pin

FP = ":".join(["AB"] * 32)
OTHER = ":".join(["CD"] * 32)


@pytest.mark.parametrize("text", [FP, FP.lower(), FP.replace(":", ""), f"  {FP.replace(':', '').lower()}\n"])
def test_a_fingerprint_is_accepted_however_it_is_spelled(text):
    assert parse_pin(text) == FP


@pytest.mark.parametrize("text", ["", "ab" * 31, "ab" * 33, "zz" * 32, "ab:" * 32 + "ab", "é" * 64])
def test_anything_but_64_hex_digits_is_refused(text):
    with pytest.raises(ValueError, match="64 hex digits"):
        parse_pin(text)


CA = ClientAuth(ca_file="ca.pem")
PINS = ClientAuth(pins=frozenset({FP}))
BOTH = ClientAuth(ca_file="ca.pem", pins=frozenset({FP}))


@pytest.mark.parametrize(
    ("auth", "chain_ok", "depth", "leaf", "verdict"),
    [
        (CA, True, 0, None, True),
        (CA, False, 0, None, False),  # not signed by the CA
        (CA, True, 1, None, True),
        (CA, False, 1, None, False),
        (PINS, False, 0, FP, True),  # a pinned self-signed certificate needs no chain
        (PINS, True, 0, OTHER, False),
        (PINS, False, 0, OTHER, False),
        (PINS, False, 1, None, True),  # above the leaf only the pin counts
        (BOTH, True, 0, FP, True),
        (BOTH, True, 0, OTHER, False),  # chains to the CA but is not pinned
        (BOTH, False, 0, FP, False),  # pinned but not signed by the CA
    ],
)
def test_verdict_per_certificate(auth, chain_ok, depth, leaf, verdict):
    assert accepts(auth, chain_ok=chain_ok, depth=depth, leaf_fingerprint=leaf) is verdict


def test_the_scope_carries_the_fingerprint_only_when_the_server_put_it_there():
    assert fingerprint_of({"extensions": {"pasla.client_cert": {"sha256": FP}}}) == FP
    assert fingerprint_of({"extensions": {}}) is None
    assert fingerprint_of({}) is None
