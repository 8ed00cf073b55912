"""What a share serves, and proof that it is still what was pinned.

A payload is pinned when the share is created (device, inode, size, mtime)
and every request re-opens it and compares, so a file that was replaced,
truncated, grown, deleted or swapped for a symlink is refused rather than
served half-changed.
"""

import functools
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from shares.files import filesystems

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
SHA256_AUTO_LIMIT = 1 << 30  # hash files up to 1 GiB at start by default


class PayloadError(Exception):
    """The operator's input cannot be shared (message is shown to them)."""


class PayloadChanged(Exception):
    """The pinned file no longer matches; never serve it."""


class PayloadGone(PayloadChanged):
    """The pinned file was deleted: it will not come back, the share ends."""


class PayloadDrift(Exception):
    """The file changed while it was being sent: the response must break."""


@dataclass(frozen=True)
class Identity:
    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> "Identity":
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def etag(self, salt: str) -> str:
        """A strong validator that changes whenever the content could have."""
        return _etag(salt, self.device, self.inode, self.size, self.mtime_ns)


# Asked twice per download (the range check, the headers), always the same few.
@functools.lru_cache(maxsize=256)
def _etag(salt: str, device: int, inode: int, size: int, mtime_ns: int) -> str:
    raw = f"{salt}:{device}:{inode}:{size}:{mtime_ns}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def validate_name(name: str) -> str:
    if not name or name in (".", ".."):
        raise PayloadError("the file name is empty")
    if "\x00" in name or "\\" in name or "/" in name:
        raise PayloadError("the file name contains a NUL, slash or backslash")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise PayloadError("the file name contains control characters")
    if len(name.encode("utf-8", "surrogateescape")) > 255:
        raise PayloadError("the file name is longer than 255 bytes")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError("the file name is not valid UTF-8") from None
    return name


def pin_file(path: str | os.PathLike) -> tuple[Path, Identity]:
    """Resolve and check a file to share; raises PayloadError with a reason."""
    given = Path(path)
    try:
        resolved = given.resolve(strict=True)
    except FileNotFoundError:
        raise PayloadError(f"no such file: {given}") from None
    except (OSError, RuntimeError) as exc:
        raise PayloadError(f"cannot read {given}: {exc.strerror or exc}") from None
    validate_name(resolved.name)
    # Look before opening: open() on a FIFO would block until a writer came.
    try:
        st = os.stat(resolved)
    except OSError as exc:
        raise PayloadError(f"cannot read {given}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise PayloadError(f"{given} is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise PayloadError(f"{given} is not a regular file")
    reason = filesystems.refusal(st.st_dev, str(given))
    if reason:
        raise PayloadError(reason)
    try:
        fd = os.open(resolved, os.O_RDONLY | os.O_CLOEXEC | O_NOFOLLOW | os.O_NONBLOCK)
    except PermissionError:
        raise PayloadError(f"permission denied: {given}") from None
    except OSError as exc:
        raise PayloadError(f"cannot open {given}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise PayloadError(f"{given} is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise PayloadError(f"{given} is not a regular file")
        # A read of one byte proves the permission check was not a lie
        # (e.g. files on a FUSE mount that open but do not read).
        os.pread(fd, 1, 0)
    except OSError as exc:
        raise PayloadError(f"cannot read {given}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return resolved, Identity.of(st)


def open_verified(path: str, pinned: Identity) -> int:
    """Open the pinned file for reading; raises PayloadChanged on any drift."""
    try:
        # O_NONBLOCK: a FIFO swapped in must not hang the executor thread.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise PayloadGone("file gone (deleted since it was shared)") from None
    except OSError as exc:
        raise PayloadChanged(f"cannot open: {exc.strerror}") from None
    try:
        now = Identity.of(os.fstat(fd))
    except OSError:
        os.close(fd)
        raise
    if now != pinned:
        os.close(fd)
        raise PayloadChanged("file identity differs from the pinned one")
    return fd


def still_pinned(fd: int, pinned: Identity) -> bool:
    """Cheap re-check during a transfer (size or mtime moved under us)."""
    try:
        return Identity.of(os.fstat(fd)) == pinned
    except OSError:
        return False


class FileSource:
    """Bytes of one pinned, open file; every read re-checks the pin."""

    def __init__(self, fd: int, pinned: Identity):
        self.fd = fd
        self.pinned = pinned
        # The change time too: a rewrite that puts size and mtime back
        # (touch -d, utime) still moves it.
        self.ctime_ns = _ctime_ns(fd)

    def unchanged(self) -> bool:
        """The file is still the one pinned, and not written since it was opened."""
        try:
            st = os.fstat(self.fd)
        except OSError:
            return False
        return Identity.of(st) == self.pinned and st.st_ctime_ns == self.ctime_ns

    def read(self, offset: int, size: int) -> bytes:
        if not self.unchanged():
            raise PayloadDrift("file changed during transfer")
        data = os.pread(self.fd, size, offset)
        if len(data) != size:
            raise PayloadDrift("file shrank during transfer")
        # Checked after the read as well: a write landing during it would
        # otherwise mix old and new bytes in what is sent.
        if not self.unchanged():
            raise PayloadDrift("file changed during transfer")
        return data

    def read_into(self, offset: int, buffers: list) -> None:
        """read() of the buffers' total size straight into them, in turn
        (one preadv, no bytes object): how --e2e fills its record slots."""
        if not self.unchanged():
            raise PayloadDrift("file changed during transfer")
        if os.preadv(self.fd, buffers, offset) != sum(len(b) for b in buffers):
            raise PayloadDrift("file shrank during transfer")
        if not self.unchanged():
            raise PayloadDrift("file changed during transfer")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _ctime_ns(fd: int) -> int:
    try:
        return os.fstat(fd).st_ctime_ns
    except OSError:
        return -1


def sha256_of(path: str | os.PathLike, progress=None, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            if progress:
                progress(n)
    return h.hexdigest()
