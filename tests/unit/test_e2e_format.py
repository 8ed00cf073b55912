"""pasla-e2e-1 (shares/e2e/ece.py, source.py, stream.py): sizes, keys, records, vectors."""

import base64
import hashlib
import os
import random
from pathlib import Path

import pytest

from shares.e2e import ece
from shares.e2e.source import SealedSource
from shares.e2e.stream import StreamOpener

D = ece.DATA_PER_RECORD
RS = ece.RS
H = ece.HEADER_SIZE
DOC = Path(__file__).resolve().parents[2] / "docs" / "e2e.md"


class Plain:
    """A plaintext reader over bytes, as FileSource is over a file."""

    def __init__(self, data: bytes):
        self.data = data
        self.reads = []

    def read(self, offset: int, size: int) -> bytes:
        self.reads.append((offset, size))
        return self.data[offset : offset + size]

    def close(self) -> None:
        pass


def sealed(data: bytes, secret=bytes(16), salt=bytes(range(16))) -> tuple[ece.Sealer, SealedSource]:
    meta = ece.Metadata("f.bin", len(data), hashlib.sha256(data).hexdigest(), "application/octet-stream")
    sealer = ece.Sealer(secret, salt, meta)
    return sealer, SealedSource(Plain(data), sealer)


@pytest.mark.parametrize(
    ("size", "records", "total"),
    [
        (0, 1, H + RS + 17),
        (1, 1, H + RS + 18),
        (D - 1, 1, H + RS + RS - 1),
        (D, 1, H + RS + RS),  # exactly one record: the last one is full
        (D + 1, 2, H + RS + RS + 18),
        (2 * D, 2, H + RS + 2 * RS),
        (200 << 20, 3201, H + RS + 3200 * RS + (200 << 20) - 3200 * D + 17),
    ],
)
def test_sizes_follow_from_the_plaintext_size(size, records, total):
    assert ece.data_records(size) == records
    assert ece.ciphertext_size(size) == total
    assert ece.plaintext_size(total) == size


def test_every_size_round_trips_and_others_are_refused():
    produced = {ece.ciphertext_size(n) for n in range(0, 3 * D + 5)}
    for size in range(0, 3 * D + 5, 97):
        assert ece.plaintext_size(ece.ciphertext_size(size)) == size
    for total in (0, H, H + RS, H + RS + 16, H + 2 * RS + 5):
        assert total not in produced
        with pytest.raises(ValueError):
            ece.plaintext_size(total)


@pytest.mark.parametrize(
    ("start", "end", "size", "records"),
    [
        (0, H, 10, range(0)),  # the header alone
        (0, H + 1, 10, range(0, 1)),
        (H + RS - 1, H + RS + 1, 10, range(0, 2)),
        (H + RS, H + RS + 5, 10, range(1, 2)),
        (H + 3 * RS - 1, H + 3 * RS, 5 * D, range(2, 3)),
        (H + 3 * RS, H + 3 * RS + 1, 5 * D, range(3, 4)),
        (0, ece.ciphertext_size(5 * D), 5 * D, range(0, 6)),
        (5, 5, 5 * D, range(0)),
    ],
)
def test_a_ciphertext_range_maps_to_the_records_it_touches(start, end, size, records):
    assert ece.records_between(start, end, size) == records


@pytest.mark.parametrize(("have", "record"), [(0, 1), (1, 1), (D - 1, 1), (D, 2), (D + 7, 2), (3 * D, 4)])
def test_a_resume_starts_at_the_first_incomplete_record(have, record):
    assert ece.resume_record(have) == record


@pytest.mark.parametrize(("index", "last_bytes"), [(0, "00000000"), (1, "00000001"), (0x1234, "00001234")])
def test_record_nonces_are_the_base_nonce_xor_the_index(index, last_bytes):
    keys = ece.Keys(bytes(16), bytes(12))
    assert keys.nonce(index).hex() == "0" * 16 + last_bytes
    flipped = ece.Keys(bytes(16), b"\xff" * 12)
    assert int.from_bytes(flipped.nonce(index), "big") == (2**96 - 1) ^ index


def test_keys_and_nonce_are_rfc_8188s_own_example():
    """RFC 8188 section 3.1: "I am the walrus", one record of rs 4096."""
    unb64 = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # noqa: E731
    keys = ece.Keys.derive(unb64("yqdlZ-tYemfogSmv7Ws5PQ"), unb64("I1BsxtFttlv3u_Oo94xnmw"))
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    record = AESGCM(keys.cek).encrypt(keys.nonce(0), b"I am the walrus\x02", None)
    expected = unb64("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg")
    assert record == expected[21:]


# The vectors docs/e2e.md shows; a change of format fails here and there.
VECTOR = {
    "secret": bytes(range(16)),
    "salt": bytes(range(16, 32)),
    "fragment": "#k=AAECAwQFBgcICQoLDA0ODw",
    "cek": "18cc1dbdfa0bcca42a4d4762346896ba",
    "nonce": "78a8c6d54b387acb5de51277",
    "header": "101112131415161718191a1b1c1d1e1f0001000000",
    "metadata": '{"content_type":"text/plain","format":"pasla-e2e-1","name":"hello.txt",'
    '"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","size":5}',
    "record0_start": "ae2a4cef453677a677ce4dddb7c32c59",
    "record1": "89dd403909071002788adcdf858c509ee4f2968973c5",
    "size": 65579,
    "sha256": "82977ddaa01ba6a1b213470f155badb4d9b1551348cc59f2840fbc9f7bfa103f",
}


def test_the_documented_vectors_hold():
    from shares.e2e import links

    meta = ece.Metadata("hello.txt", 5, hashlib.sha256(b"hello").hexdigest(), "text/plain")
    sealer = ece.Sealer(VECTOR["secret"], VECTOR["salt"], meta)
    whole = SealedSource(Plain(b"hello"), sealer).read(0, ece.ciphertext_size(5))
    assert links.fragment_for(VECTOR["secret"]) == VECTOR["fragment"]
    assert sealer.keys.cek.hex() == VECTOR["cek"]
    assert sealer.keys.base_nonce.hex() == VECTOR["nonce"]
    assert whole[:H].hex() == VECTOR["header"]
    assert meta.encode().decode() == VECTOR["metadata"]
    assert whole[H : H + 16].hex() == VECTOR["record0_start"]
    assert whole[ece.HEAD_SIZE :].hex() == VECTOR["record1"]
    assert len(whole) == VECTOR["size"]
    assert hashlib.sha256(whole).hexdigest() == VECTOR["sha256"]
    doc = DOC.read_text()
    for name, value in VECTOR.items():
        shown = value.hex() if isinstance(value, bytes) else str(value)
        assert shown in doc.replace("\n", ""), f"docs/e2e.md does not show the {name} vector"


@pytest.mark.parametrize("size", [0, 1, D - 1, D, D + 1, 3 * D + 17])
def test_any_range_of_the_ciphertext_is_the_same_slice_of_the_whole(size):
    data = random.Random(size).randbytes(size)
    _, source = sealed(data)
    whole = source.read(0, source.size)
    assert len(whole) == ece.ciphertext_size(size)
    rng = random.Random(size + 1)
    points = [0, 1, H - 1, H, H + 1, H + RS - 1, H + RS, H + RS + 1, source.size - 1, source.size]
    points += [rng.randrange(source.size + 1) for _ in range(20)]
    for a in points:
        for b in points:
            if a <= b:
                _, fresh = sealed(data)
                assert fresh.read(a, b - a) == whole[a:b], (a, b)


def test_a_range_mid_file_reads_no_plaintext_before_its_record():
    data = os.urandom(6 * D)
    _, source = sealed(data)
    start = ece.record_start(5) + 10
    source.read(start, 100)
    assert source.plain.reads == [(4 * D, D)]


def test_chunks_off_record_boundaries_seal_each_record_once():
    data = os.urandom(40 * D)
    sealer, source = sealed(data)
    calls = []
    original = sealer.seal_into
    sealer.seal_into = lambda index, *args: calls.append(index) or original(index, *args)
    offset = 0
    while offset < source.size:
        size = min(1 << 20, source.size - offset)
        source.read(offset, size)
        offset += size
    assert sorted(calls) == list(range(41))


def test_a_stream_fed_in_any_pieces_opens_to_the_plaintext():
    data = os.urandom(5 * D + 123)
    sealer, source = sealed(data, secret=b"k" * 16)
    whole = source.read(0, source.size)
    opener = ece.Opener(b"k" * 16, whole[: ece.HEAD_SIZE])
    assert opener.metadata.size == len(data)
    stream = StreamOpener(opener)
    rng = random.Random(7)
    out, pos = [], ece.HEAD_SIZE
    while pos < len(whole):
        step = rng.randrange(1, 200_000)
        out += stream.feed(whole[pos : pos + step])
        pos += step
    stream.finish()
    assert b"".join(out) == data


def test_a_resumed_stream_starts_at_its_record():
    data = os.urandom(4 * D + 9)
    _, source = sealed(data, secret=b"k" * 16)
    whole = source.read(0, source.size)
    stream = StreamOpener(ece.Opener(b"k" * 16, whole[: ece.HEAD_SIZE]), first=3)
    out = stream.feed(whole[ece.record_start(3) :])
    stream.finish()
    assert b"".join(out) == data[2 * D :]


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda w: flip(w, H + RS + 5), "record 1 was altered"),
        (lambda w: flip(w, len(w) - 1), "record 3 was altered"),
        (lambda w: w[:-1], "ended inside record 3"),
        (lambda w: w[: ece.record_start(3)], "ended inside record 3"),
        (lambda w: w + b"x", "goes on after its last record"),
        # Records 1 and 2 swapped: each is authentic, neither is in its place.
        (
            lambda w: (
                w[: ece.record_start(1)]
                + w[ece.record_start(2) : ece.record_start(3)]
                + w[ece.record_start(1) : ece.record_start(2)]
                + w[ece.record_start(3) :]
            ),
            "record 1 was altered",
        ),
    ],
)
def test_altered_cut_or_reordered_streams_are_refused(damage, message):
    data = os.urandom(2 * D + 50)
    _, source = sealed(data, secret=b"k" * 16)
    whole = damage(source.read(0, source.size))
    stream = StreamOpener(ece.Opener(b"k" * 16, whole[: ece.HEAD_SIZE]))
    with pytest.raises(ece.FormatError, match=message):
        stream.feed(whole[ece.HEAD_SIZE :])
        stream.finish()


def test_a_last_record_moved_earlier_is_refused():
    """The delimiter says which record is last: a stream cut at a record boundary
    cannot pass for a shorter file, even with the metadata record replaced."""
    short, long_ = os.urandom(D), os.urandom(2 * D)
    _, source = sealed(long_, secret=b"k" * 16)
    whole = source.read(0, source.size)
    _, short_source = sealed(short, secret=b"k" * 16)
    head = short_source.read(0, ece.HEAD_SIZE)  # claims one record: record 1 of the long stream is not last
    stream = StreamOpener(ece.Opener(b"k" * 16, head))
    with pytest.raises(ece.FormatError, match="out of place"):
        stream.feed(whole[ece.HEAD_SIZE : ece.record_start(2)])


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (lambda w: w[:10], "shorter than its header|ends inside"),
        (lambda w: w[:16] + b"\x00\x00\x10\x00" + w[20:], "record size"),
        (lambda w: w[:20] + b"\x01" + w[21:], "key id"),
        (lambda w: flip(w, H + 3), "wrong key, or the encrypted stream was altered"),
    ],
)
def test_a_bad_head_is_refused_with_a_reason(head, message):
    _, source = sealed(b"abc", secret=b"k" * 16)
    whole = source.read(0, source.size)
    with pytest.raises(ece.FormatError, match=message):
        ece.Opener(b"k" * 16, head(whole)[: ece.HEAD_SIZE])


def test_the_wrong_key_says_so():
    _, source = sealed(b"abc", secret=b"k" * 16)
    with pytest.raises(ece.FormatError, match="wrong key"):
        ece.Opener(b"j" * 16, source.read(0, ece.HEAD_SIZE))


@pytest.mark.parametrize(
    "text",
    [
        b"not json",
        b"[]",
        b'{"format":"other"}',
        b'{"content_type":"","format":"pasla-e2e-1","name":"a","sha256":"","size":-1}',
        b'{"content_type":"","format":"pasla-e2e-1","name":"a","sha256":"","size":true}',
        b'{"content_type":"","format":"pasla-e2e-1","name":"a","sha256":"xyz","size":1}',
        b'{"content_type":"","format":"pasla-e2e-1","name":1,"sha256":"","size":1}',
    ],
)
def test_metadata_that_is_not_ours_is_refused(text):
    with pytest.raises(ece.FormatError):
        ece.Metadata.decode(text)


def test_metadata_round_trips():
    meta = ece.Metadata("Ünïcode name.tar", 12, "ab" * 32, "application/x-tar")
    assert ece.Metadata.decode(meta.encode()) == meta
