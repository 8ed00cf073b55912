"""The byte layout of an archive: which segment of it lives at which offset.

An archive of stored (uncompressed) entries is a sequence of generated
headers and verbatim file contents, so its size is known before a byte is
read, and any byte range maps onto a few segments. No I/O here.
"""

import bisect
from dataclasses import dataclass, field

BYTES = "bytes"  # generated header bytes, held in the segment
DATA = "data"  # the contents of entry `index`, read from its pinned file
DESCRIPTOR = "descriptor"  # zip: CRC and sizes after entry `index`'s data
CENTRAL = "central"  # zip: the central directory and end records


@dataclass(frozen=True)
class Entry:
    """One member: `name` is its '/'-separated path inside the archive."""

    name: str
    is_dir: bool
    size: int
    mtime: int
    mode: int

    @property
    def member_name(self) -> str:
        return self.name + "/" if self.is_dir else self.name


@dataclass(frozen=True)
class Segment:
    offset: int
    length: int
    kind: str
    data: bytes = b""
    index: int = -1

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass
class Layout:
    entries: list[Entry]
    segments: list[Segment] = field(default_factory=list)
    size: int = 0

    def add(self, kind: str, length: int, data: bytes = b"", index: int = -1) -> None:
        if length <= 0:
            return
        last = self.segments[-1] if self.segments else None
        if kind == BYTES and last is not None and last.kind == BYTES:
            self.segments[-1] = Segment(last.offset, last.length + length, BYTES, last.data + data)
        else:
            self.segments.append(Segment(self.size, length, kind, data, index))
        self.size += length

    def freeze(self) -> "Layout":
        self._starts = [s.offset for s in self.segments]
        return self

    def find(self, offset: int) -> int:
        """Index of the segment holding byte `offset`."""
        return bisect.bisect_right(self._starts, offset) - 1

    def segments_in(self, start: int, end: int) -> list[Segment]:
        """Segments overlapping bytes start..end (inclusive)."""
        if self.size == 0 or end < start:
            return []
        first, last = self.find(start), self.find(end)
        return self.segments[first : last + 1]

    # Formats with trailers that depend on file contents override these.
    def descriptor(self, index: int, crc: int) -> bytes:
        raise NotImplementedError

    def central(self, crc_of) -> bytes:
        raise NotImplementedError
