"""Any byte range of a directory archive, produced on the fly.

Headers come from the layout, file contents are pread from the pinned
members (identity re-checked on open and before every read), and CRCs are
computed as file data streams past, or on demand for a range that starts
elsewhere. Nothing is copied to disk.
"""

import os
import threading
import zlib

from shares.archives import crc as crc32
from shares.archives import pinning
from shares.archives.layout import BYTES, CENTRAL, DATA, DESCRIPTOR
from shares.files.payloads import O_NOFOLLOW, Identity, PayloadChanged, PayloadDrift, still_pinned

READ_SIZE = 1 << 20
# A running CRC leaves a checkpoint every STEP bytes of a member, so a resume
# in the middle of a big member catches up from the nearest one (at most
# STEP bytes re-read) instead of re-reading the member from its start.
CHECKPOINT_STEP = 64 << 20

# CRC of a member by its pinned identity, and checkpoints of partial CRCs:
# shared by every request of this process; a changed file has another
# identity and is refused anyway.
_crcs: dict[tuple, int] = {}
_checkpoints: dict[tuple, dict[int, int]] = {}
_crc_lock = threading.Lock()


def _checkpoint_below(key: tuple, offset: int) -> tuple[int, int] | None:
    """The latest (offset, crc) checkpoint at or before `offset`, within one step."""
    with _crc_lock:
        points = _checkpoints.get(key, {})
        best = max((at for at in points if at <= offset), default=None)
        if best is None or offset - best > CHECKPOINT_STEP:
            return None
        return best, points[best]


def _leave_checkpoints(key: tuple, offset: int, data: bytes, crc_before: int, size: int) -> None:
    boundary = (offset // CHECKPOINT_STEP + 1) * CHECKPOINT_STEP
    end = offset + len(data)
    found = {}
    while boundary <= end and boundary < size:
        found[boundary] = zlib.crc32(memoryview(data)[: boundary - offset], crc_before)
        boundary += CHECKPOINT_STEP
    if found:
        with _crc_lock:
            _checkpoints.setdefault(key, {0: 0}).update(found)


def _identity(row: list) -> Identity:
    return Identity(row[pinning.DEVICE], row[pinning.INODE], row[pinning.SIZE], row[pinning.MTIME])


def _open_member(path: str, pinned: Identity) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | O_NOFOLLOW)
    except OSError as exc:
        raise PayloadDrift(f"a member cannot be opened: {exc.strerror}") from None
    if not still_pinned(fd, pinned):
        os.close(fd)
        raise PayloadDrift("a member changed since the share started")
    return fd


def file_crc(fd: int, size: int) -> int:
    """CRC-32 of a whole file; holes of sparse files are skipped arithmetically."""
    value = 0
    pos = 0
    while pos < size:
        try:
            data_at = min(os.lseek(fd, pos, os.SEEK_DATA), size)
        except OSError:
            data_at = size  # no data after pos: the rest is a hole
        if data_at > pos:
            value = crc32.extend_zeros(value, data_at - pos)
            pos = data_at
            continue
        try:
            hole_at = min(os.lseek(fd, pos, os.SEEK_HOLE), size)
        except OSError:
            hole_at = size
        value = _crc_span(fd, pos, hole_at, value)
        pos = hole_at
    return value


def _crc_span(fd: int, start: int, end: int, value: int) -> int:
    """Extend a running CRC-32 with bytes [start, end) of a member read from disk."""
    while start < end:
        data = os.pread(fd, min(READ_SIZE, end - start), start)
        if not data:
            raise PayloadDrift("a member shrank")
        value = zlib.crc32(data, value)
        start += len(data)
    return value


class ArchiveSource:
    def __init__(self, root: str, manifest: list[list], layout):
        self.root = root
        self.rows = manifest
        self.layout = layout
        self._fd = -1
        self._fd_index = -1
        self._running: tuple[int, int, int] | None = None  # (index, next offset, crc so far)

    # --- members -------------------------------------------------------------

    def _member_fd(self, index: int) -> int:
        if self._fd_index != index:
            self._close_member()
            row = self.rows[index]
            self._fd = _open_member(pinning.disk_path(self.root, row[pinning.NAME]), _identity(row))
            self._fd_index = index
        return self._fd

    def _close_member(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._fd_index = -1, -1

    def crc_of(self, index: int) -> int:
        row = self.rows[index]
        key = tuple(row[1:])
        with _crc_lock:
            if key in _crcs:
                return _crcs[key]
        pinned = _identity(row)
        fd = _open_member(pinning.disk_path(self.root, row[pinning.NAME]), pinned)
        try:
            value = file_crc(fd, pinned.size)
            if not still_pinned(fd, pinned):
                raise PayloadDrift("a member changed while being checksummed")
        finally:
            os.close(fd)
        with _crc_lock:
            _crcs[key] = value
        return value

    def _catch_up(self, index: int, key: tuple, offset: int) -> int | None:
        """The CRC of a member's first `offset` bytes, from a checkpoint, or None."""
        point = _checkpoint_below(key, offset)
        if point is None:
            return None
        at, running = point
        return _crc_span(self._member_fd(index), at, offset, running)

    def _feed(self, index: int, offset: int, data: bytes) -> None:
        """Keep a running CRC while a member streams to its end, so its
        descriptor (and the central directory) need no second read."""
        row = self.rows[index]
        key = tuple(row[1:])
        if offset == 0:
            running = 0
        elif self._running and self._running[:2] == (index, offset):
            running = self._running[2]
        else:
            with _crc_lock:
                known = key in _crcs
            running = None if known else self._catch_up(index, key, offset)
            if running is None:
                self._running = None
                return
        size = row[pinning.SIZE]
        _leave_checkpoints(key, offset, data, running, size)
        running = zlib.crc32(data, running)
        end = offset + len(data)
        if end == size:
            with _crc_lock:
                _crcs[key] = running
                _checkpoints.pop(key, None)
            self._running = None
        else:
            self._running = (index, end, running)

    # --- bytes ---------------------------------------------------------------

    def _segment_bytes(self, segment, rel: int, count: int) -> bytes:
        if segment.kind == BYTES:
            return segment.data[rel : rel + count]
        if segment.kind == DATA:
            fd = self._member_fd(segment.index)
            if not still_pinned(fd, _identity(self.rows[segment.index])):
                raise PayloadDrift("a member changed during transfer")
            data = os.pread(fd, count, rel)
            if len(data) != count:
                raise PayloadDrift("a member shrank during transfer")
            self._feed(segment.index, rel, data)
            return data
        if segment.kind == DESCRIPTOR:
            return self.layout.descriptor(segment.index, self.crc_of(segment.index))[rel : rel + count]
        if segment.kind == CENTRAL:
            central = getattr(self.layout, "central_bytes", None)
            if central is None:
                central = self.layout.central(self.crc_of)
                self.layout.central_bytes = central
            return central[rel : rel + count]
        raise AssertionError(segment.kind)

    def read(self, offset: int, size: int) -> bytes:
        parts = []
        end = offset + size
        index = self.layout.find(offset)
        while offset < end:
            segment = self.layout.segments[index]
            count = min(end, segment.end) - offset
            parts.append(self._segment_bytes(segment, offset - segment.offset, count))
            offset += count
            index += 1
        return b"".join(parts)

    def close(self) -> None:
        self._close_member()


def open_archive(share, start: int, end: int) -> ArchiveSource:
    """A source for bytes start..end; PayloadChanged if a member they need drifted."""
    layout = pinning.layout_for(share.id, share.archive_format, share.manifest)
    for segment in layout.segments_in(start, end):
        if segment.kind != DATA:
            continue
        row = share.manifest[segment.index]
        try:
            st = os.stat(pinning.disk_path(share.path, row[pinning.NAME]), follow_symlinks=False)
        except OSError as exc:
            raise PayloadChanged(f"a member cannot be read: {exc.strerror}") from None
        if Identity.of(st) != _identity(row):
            raise PayloadChanged("a member differs from the pinned one")
    return ArchiveSource(share.path, share.manifest, layout)
