import datetime as dt
import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from shares.network import certificates
from shares.network.certificates import (
    CertificateError,
    check_validity,
    generate_ephemeral,
    load_pair,
    write_pair,
)
from tests import certs

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("not_before", "not_after", "days_left", "warns"),
    [
        (NOW - DAY, NOW + 90 * DAY, 90, False),
        (NOW - DAY, NOW + 7 * DAY, 7, False),
        (NOW - DAY, NOW + 7 * DAY - dt.timedelta(seconds=1), 6, True),
        (NOW - DAY, NOW + dt.timedelta(hours=2), 0, True),
        (NOW, NOW + DAY, 1, True),
    ],
)
def test_validity_window(not_before, not_after, days_left, warns):
    validity = check_validity(not_before, not_after, NOW)
    assert validity.days_left == days_left
    assert (validity.warning is not None) is warns
    if warns:
        assert not_after.strftime("%Y-%m-%d") in validity.warning


@pytest.mark.parametrize(
    ("not_after", "share_lifetime", "fragment"),
    [
        (NOW + 30 * DAY, 29 * DAY, None),
        (NOW + 30 * DAY, 31 * DAY, "before the share ends"),
        (NOW + dt.timedelta(hours=1), dt.timedelta(hours=2), "before the share ends"),
        (NOW + 3 * DAY, dt.timedelta(hours=1), "renew it soon"),
    ],
)
def test_a_certificate_ending_before_the_share_is_a_warning(not_after, share_lifetime, fragment):
    validity = check_validity(NOW - DAY, not_after, NOW, share_lifetime)
    if fragment is None:
        assert validity.warning is None
    else:
        assert fragment in validity.warning


@pytest.mark.parametrize(
    ("not_before", "not_after", "fragment"),
    [
        (NOW - 30 * DAY, NOW - DAY, "expired on 2026-05-31"),
        (NOW - 30 * DAY, NOW, "expired on 2026-06-01"),
        (NOW + dt.timedelta(seconds=1), NOW + 30 * DAY, "not valid before 2026-06-01 12:00"),
    ],
)
def test_validity_refusals(not_before, not_after, fragment):
    with pytest.raises(CertificateError, match=fragment):
        check_validity(not_before, not_after, NOW)


def test_ephemeral_certificate_shape():
    pair = generate_ephemeral(
        ["192.0.2.7", "[2001:db8::1]", "share.example", None], dt.timedelta(minutes=30), NOW
    )
    cert = pair.leaf
    assert isinstance(pair.key, ec.EllipticCurvePrivateKey) and pair.key.curve.name == "secp256r1"
    assert pair.source is None
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address(a) for a in ("192.0.2.7", "2001:db8::1", "127.0.0.1", "::1")
    }
    assert set(names.get_values_for_type(x509.DNSName)) == {"share.example", "localhost"}
    assert cert.not_valid_before_utc == NOW - certificates.CLOCK_SKEW
    assert cert.not_valid_after_utc == NOW + dt.timedelta(minutes=30) + certificates.EPHEMERAL_GRACE
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    fp = pair.fingerprint
    assert len(fp) == 95 and fp == fp.upper() and fp.count(":") == 31


def test_two_ephemeral_certificates_never_share_a_key():
    one = generate_ephemeral([], dt.timedelta(minutes=1))
    two = generate_ephemeral([], dt.timedelta(minutes=1))
    assert one.fingerprint != two.fingerprint


def test_written_pair_is_private_and_loads_back(tmp_path):
    pair = generate_ephemeral(["127.0.0.1"], dt.timedelta(minutes=5))
    cert_path, key_path = write_pair(tmp_path, pair)
    for path in (cert_path, key_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_pair(str(cert_path), str(key_path))
    assert loaded.fingerprint == pair.fingerprint


def test_writing_never_follows_a_planted_file(tmp_path):
    pair = generate_ephemeral([], dt.timedelta(minutes=5))
    (tmp_path / "elsewhere").write_text("keep me")
    (tmp_path / "key.pem").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError):
        write_pair(tmp_path, pair)
    assert (tmp_path / "elsewhere").read_text() == "keep me"


def test_full_chain_loads_leaf_first(tmp_path):
    root = certs.issue("root", ca=True)
    leaf = certs.issue("leaf", issuer=root)
    cert_file = certs.write(tmp_path / "chain.pem", certs.pem(leaf.cert, root.cert))
    key_file = certs.write(tmp_path / "key.pem", certs.key_pem(leaf.key))
    pair = load_pair(str(cert_file), str(key_file))
    assert pair.leaf == leaf.cert and pair.chain[1:] == (root.cert,)
    assert pair.source == str(cert_file)


def test_password_for_a_plain_key_is_ignored(tmp_path):
    cert_file, key_file = certs.self_signed_files(tmp_path)
    assert load_pair(str(cert_file), str(key_file), b"unused").leaf is not None


@pytest.mark.parametrize(
    ("case", "password", "fragment"),
    [
        ("mismatch", None, "does not match"),
        ("encrypted", None, "is encrypted: set PASLA_TLS_KEY_PASSWORD"),
        ("encrypted", b"wrong", "cannot decrypt"),
        ("garbage key", None, "not a PEM private key"),
        ("garbage cert", None, "no PEM certificate found"),
        ("cert is a key", None, "no PEM certificate found"),
        ("missing", None, "no such file"),
        ("fifo", None, "not a regular file"),
        ("huge", None, "too large"),
    ],
)
def test_load_refusals(tmp_path, case, password, fragment):
    import os

    cert_file, key_file = certs.self_signed_files(tmp_path)
    if case == "mismatch":
        other = tmp_path / "other"
        other.mkdir()
        _, key_file = certs.self_signed_files(other)
    elif case == "encrypted":
        key_file = certs.write(tmp_path / "enc.pem", certs.key_pem(certs.issue("x").key, b"right"))
    elif case == "garbage key":
        key_file = certs.write(
            tmp_path / "junk", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
    elif case == "garbage cert":
        cert_file = certs.write(tmp_path / "junk", b"hello")
    elif case == "cert is a key":
        cert_file = key_file
    elif case == "missing":
        cert_file = tmp_path / "nope.pem"
    elif case == "fifo":
        key_file = tmp_path / "fifo"
        os.mkfifo(key_file)
    elif case == "huge":
        cert_file = certs.write(tmp_path / "huge", b"x" * (certificates.MAX_PEM_BYTES + 1))
    with pytest.raises(CertificateError) as caught:
        load_pair(str(cert_file), str(key_file), password)
    message = str(caught.value)
    assert fragment in message
    assert "PRIVATE KEY" not in message and "right" not in message
