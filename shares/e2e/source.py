"""Any byte range of a share's ciphertext, sealed on the fly from its plaintext.

Wraps a plaintext reader (a pinned file's FileSource or a directory's
ArchiveSource, each re-checking its pin on every read) and seals only the
records the range touches: a Range request mid-file reads and seals from
that record on, nothing before it. The record a read ends inside is kept,
so a body read in chunks that do not fall on record boundaries seals each
record once. No temporary copy, no Django.
"""

from shares.e2e import ece

# Plaintext read in one go: 16 records, about the server's 1 MiB chunk.
RECORDS_PER_READ = 16


class SealedSource:
    """Bytes [offset, offset + size) of the ciphertext, like the sources it wraps."""

    def __init__(self, plain, sealer: ece.Sealer):
        self.plain = plain
        self.sealer = sealer
        self.size = ece.ciphertext_size(sealer.size)
        self._kept: tuple[int, bytes] | None = None  # (index, sealed record)

    def _sealed(self, first: int, last: int) -> list[bytes]:
        """Records first..last sealed, reading their plaintext in large pieces."""
        out = []
        index = first
        if index == 0:
            out.append(self.sealer.record(0))
            index = 1
        while index <= last:
            if self._kept and self._kept[0] == index:
                out.append(self._kept[1])
                index += 1
                continue
            stop = min(last, index + RECORDS_PER_READ - 1)
            lo = ece.plain_span(index, self.sealer.size)[0]
            hi = ece.plain_span(stop, self.sealer.size)[1]
            data = memoryview(self.plain.read(lo, hi - lo)) if hi > lo else memoryview(b"")
            for k in range(index, stop + 1):
                a, b = ece.plain_span(k, self.sealer.size)
                out.append(self.sealer.record(k, data[a - lo : b - lo]))
            index = stop + 1
        return out

    def read(self, offset: int, size: int) -> bytes:
        end = offset + size
        if offset < 0 or end > self.size:
            raise ValueError("range outside the ciphertext")
        parts = []
        if offset < ece.HEADER_SIZE:
            parts.append(self.sealer.head[offset : min(end, ece.HEADER_SIZE)])
        span = ece.records_between(offset, end, self.sealer.size)
        if span:
            records = self._sealed(span.start, span.stop - 1)
            # Views of the first and last record's parts: the one join below is the only copy.
            at = ece.record_start(span.start)
            for record in records:
                lo, hi = max(offset, at), min(end, at + len(record))
                parts.append(record if hi - lo == len(record) else memoryview(record)[lo - at : hi - at])
                at += len(record)
            if end < at:
                self._kept = (span.stop - 1, records[-1])
        return b"".join(parts)

    def close(self) -> None:
        self.plain.close()
