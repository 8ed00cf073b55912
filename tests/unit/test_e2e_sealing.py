"""How --e2e seals (shares/e2e/source.py): from a file by preadv, in shared buffers, in big reads."""

import hashlib
import os
import threading

import pytest

from shares.e2e import ece
from shares.e2e import source as e2e_source
from shares.e2e.source import SealedSource
from shares.files import payloads
from tests.unit.test_e2e_format import Plain

D = ece.DATA_PER_RECORD
MIB = 1 << 20


def sealer_for(data: bytes) -> ece.Sealer:
    meta = ece.Metadata("f.bin", len(data), hashlib.sha256(data).hexdigest(), "application/octet-stream")
    return ece.Sealer(b"s" * 16, b"t" * 16, meta)


def file_source(path) -> payloads.FileSource:
    fd = os.open(path, os.O_RDONLY)
    return payloads.FileSource(fd, payloads.Identity.of(os.fstat(fd)))


def read_all(source, chunk: int) -> bytes:
    parts, offset = [], 0
    while offset < source.size:
        size = min(chunk, source.size - offset)
        parts.append(source.read(offset, size))
        offset += size
    return b"".join(parts)


@pytest.mark.parametrize("size", [0, 1, D, 16 * D + 5, 40 * D + 3])
def test_a_file_read_into_the_record_slots_seals_to_the_same_bytes(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    sealer = sealer_for(data)
    expected = SealedSource(Plain(data), sealer).read(0, ece.ciphertext_size(size))
    from_file = SealedSource(file_source(path), sealer)
    try:
        assert read_all(from_file, 4 * MIB + 7) == expected
    finally:
        from_file.close()


def test_a_file_that_shrank_is_not_sealed(tmp_path):
    path = tmp_path / "f.bin"
    data = os.urandom(20 * D)
    path.write_bytes(data)
    source = SealedSource(file_source(path), sealer_for(data))
    try:
        os.truncate(path, 5 * D)
        with pytest.raises(payloads.PayloadDrift):
            source.read(ece.record_start(10), 100)
    finally:
        source.close()


def test_parallel_reads_share_buffers_without_mixing_bytes():
    """Buffers are reused across reads and threads: no read may see another's records."""
    datas = [os.urandom(24 * D + i) for i in range(4)]
    wanted = [SealedSource(Plain(d), sealer_for(d)).read(0, ece.ciphertext_size(len(d))) for d in datas]
    got: dict[int, list[bytes]] = {}

    def reader(i: int) -> None:
        got[i] = [read_all(SealedSource(Plain(datas[i]), sealer_for(datas[i])), 300_001) for _ in range(5)]

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(len(datas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, want in enumerate(wanted):
        assert got[i] == [want] * 5


def test_bytes_returned_do_not_change_when_the_buffer_is_reused():
    data = os.urandom(20 * D)
    source = SealedSource(Plain(data), sealer_for(data))
    first = source.read(0, MIB)
    kept = bytes(first)
    other = os.urandom(20 * D)
    SealedSource(Plain(other), sealer_for(other)).read(0, MIB)
    assert first == kept


@pytest.mark.parametrize(
    ("chunk", "ceiling", "size"),
    [
        (1 << 20, 16 << 20, 4 << 20),  # the default: four chunks
        (4096, 16 << 20, 16384),  # a small chunk stays small
        (8 << 20, 16 << 20, 16 << 20),  # capped at the limit's ceiling
        (16 << 20, 16 << 20, 16 << 20),
    ],
)
def test_an_e2e_read_is_four_chunks_within_the_ceiling(chunk, ceiling, size):
    assert e2e_source.read_size(chunk, ceiling) == size
