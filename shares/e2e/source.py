"""Any byte range of a share's ciphertext, sealed on the fly from its plaintext.

Wraps a plaintext reader (a pinned file's FileSource or a directory's
ArchiveSource, each re-checking its pin on every read) and seals only the
records the range touches: a Range request mid-file reads and seals from
that record on, nothing before it. The record a read ends inside is kept,
so a body read in chunks that do not fall on record boundaries seals each
record once. No temporary copy, no Django.

Records are sealed with encrypt_into() into a reused buffer (at most a few
spare ones are kept, whatever the number of downloads) and the range is
copied out of it once; docs/performance.md has the figures.
"""

import threading

from shares.e2e import ece
from shares.files.payloads import PayloadChanged, PayloadDrift

# Plaintext read in one go: 16 records.
RECORDS_PER_READ = 16
_SLOT = ece.DATA_PER_RECORD + 1  # a record's plaintext and its delimiter
# A read of --e2e is this many PASLA_CHUNK_SIZE chunks (within the limit's
# ceiling): each read has a fixed cost on the event loop and the executor.
CHUNKS_PER_READ = 4
_SPARE = 4  # buffers kept for the next reads

_spare: list["_Buffers"] = []
_spare_lock = threading.Lock()


def read_size(chunk_size: int, ceiling: int) -> int:
    """The read size of an --e2e body for a PASLA_CHUNK_SIZE of `chunk_size` (and its ceiling)."""
    return max(chunk_size, min(ceiling, CHUNKS_PER_READ * chunk_size))


class _Buffers:
    """Sealed records (`out`) and the plaintext slots of one batch (`slots`)."""

    def __init__(self, size: int):
        self.out = memoryview(bytearray(size))
        self.slots = memoryview(bytearray(RECORDS_PER_READ * _SLOT))

    @classmethod
    def take(cls, size: int) -> "_Buffers":
        with _spare_lock:
            found = _spare.pop() if _spare else None
        if found is None or len(found.out) < size:
            # A fresh buffer costs page faults on every read: reuse pays.
            found = cls(max(size, (RECORDS_PER_READ + 1) * ece.RS))
        return found

    def give_back(self) -> None:
        with _spare_lock:
            if len(_spare) < _SPARE:
                _spare.append(self)


class SealedSource:
    """Bytes [offset, offset + size) of the ciphertext, like the sources it wraps."""

    def __init__(self, plain, sealer: ece.Sealer):
        self.plain = plain
        self.sealer = sealer
        self.size = ece.ciphertext_size(sealer.size)
        self._kept: tuple[int, bytes] | None = None  # (index, sealed record)
        self._drifted = False

    def unchanged(self) -> bool:
        """No read found the plaintext changed, and (for a file) it is still the one pinned."""
        if self._drifted:
            return False
        check = getattr(self.plain, "unchanged", None)
        return check() if check is not None else True

    def _fill(self, views: list[memoryview], lo: int, hi: int) -> None:
        """Plaintext [lo, hi) into `views` in turn: read straight into them
        when the reader can (a file: one preadv), else copied from read()."""
        if hi == lo:
            return
        try:
            read_into = getattr(self.plain, "read_into", None)
            if read_into is not None:
                read_into(lo, views)
                return
            data = memoryview(self.plain.read(lo, hi - lo))
        except (PayloadChanged, PayloadDrift):
            self._drifted = True
            raise
        at = 0
        for view in views:
            view[:] = data[at : at + len(view)]
            at += len(view)

    def _seal(self, first: int, last: int, out: memoryview, slots: memoryview) -> int:
        """Records first..last sealed one after another into `out`; their length."""
        at = 0
        index = first
        if index == 0:
            at = self.sealer.seal_into(0, slots, out)
            index = 1
        if self._kept and self._kept[0] == index <= last:
            record = self._kept[1]
            out[at : at + len(record)] = record
            at += len(record)
            index += 1
        while index <= last:
            stop = min(last, index + RECORDS_PER_READ - 1)
            spans = [ece.plain_span(k, self.sealer.size) for k in range(index, stop + 1)]
            cut = [slots[j * _SLOT : j * _SLOT + b - a + 1] for j, (a, b) in enumerate(spans)]
            self._fill([slot[:-1] for slot in cut], spans[0][0], spans[-1][1])
            for k, slot in enumerate(cut, index):
                at += self.sealer.seal_into(k, slot, out[at:])
            index = stop + 1
        return at

    def read(self, offset: int, size: int) -> bytes:
        end = offset + size
        if offset < 0 or end > self.size:
            raise ValueError("range outside the ciphertext")
        parts = []
        if offset < ece.HEADER_SIZE:
            parts.append(self.sealer.head[offset : min(end, ece.HEADER_SIZE)])
        span = ece.records_between(offset, end, self.sealer.size)
        if span:
            first, last = span.start, span.stop - 1
            base = ece.record_start(first)
            buffers = _Buffers.take(ece.record_start(last) + ece.RS - base)
            try:
                out = buffers.out
                length = self._seal(first, last, out, buffers.slots)
                parts.append(out[max(offset, base) - base : min(end, base + length) - base])
                if end < base + length:
                    tail = ece.record_start(last) - base
                    self._kept = (last, bytes(out[tail:length]))
                # The one copy out of the buffer.
                return b"".join(parts)
            finally:
                parts.clear()  # no view of the buffer outlives this read
                buffers.give_back()
        return b"".join(parts)

    def close(self) -> None:
        self.plain.close()
