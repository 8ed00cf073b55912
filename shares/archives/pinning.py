"""A directory pinned at share time: every member's identity, in archive order.

Members are recorded with the same identity as a shared file (device,
inode, size, mtime), so a file that changes while the share is live is
refused instead of being served half-new inside an archive. Symbolic links
are never followed (they are left out), so nothing outside the directory
can end up in the archive.
"""

import hashlib
import json
import os
import stat
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from shares.archives import tar_format, zip_format
from shares.archives.layout import Entry, Layout
from shares.files import filesystems
from shares.files.payloads import O_NOFOLLOW, PayloadError, validate_name

FORMATS = ("zip", "tar")
MAX_ENTRIES = 100_000  # the manifest lives in one database row

# manifest row: [name, "d" or "f", size, mtime_ns, device, inode, mode]
NAME, KIND, SIZE, MTIME, DEVICE, INODE, MODE = range(7)


@dataclass
class LeftOut:
    """What a directory walk did not put in the archive."""

    special: int = 0  # symbolic links, sockets, devices, FIFOs
    unsafe_names: list[str] = field(default_factory=list)  # relative paths, as found

    def __bool__(self) -> bool:
        return bool(self.special or self.unsafe_names)

    def warnings(self) -> list[str]:
        lines = []
        if self.special:
            lines.append(f"{self.special} symbolic link(s) or special file(s) left out of the archive")
        if self.unsafe_names:
            lines.append(unsafe_names_warning(self.unsafe_names))
        return lines


def has_control_characters(name: str) -> bool:
    """C0, DEL and C1: a member name an extractor would print straight to a terminal."""
    return any(unicodedata.category(ch) == "Cc" for ch in name)


def escaped(name: str) -> str:
    """The name with its control characters written as \\xNN, safe to print."""
    return "".join(f"\\x{ord(ch):02x}" if unicodedata.category(ch) == "Cc" else ch for ch in name)


SHOWN_NAMES = 10  # a warning names this many, then says how many more


def unsafe_names_warning(names: list[str]) -> str:
    shown = ", ".join(f'"{escaped(name)}"' for name in names[:SHOWN_NAMES])
    more = f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
    return f"{len(names)} name(s) with control characters left out of the archive: {shown}{more}"


def _member_name(raw: str, where: Path) -> str:
    try:
        os.fsencode(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError(f"a name under {where} is not valid UTF-8") from None
    if "\\" in raw:
        raise PayloadError(f"a name under {where} contains a backslash")
    return raw


def _row(name: str, st: os.stat_result, is_dir: bool) -> list:
    size = 0 if is_dir else st.st_size
    mode = stat.S_IMODE(st.st_mode)
    return [name, "d" if is_dir else "f", size, st.st_mtime_ns, st.st_dev, st.st_ino, mode]


def _pin_member(path: Path) -> os.stat_result:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | O_NOFOLLOW)
    except OSError as exc:
        raise PayloadError(f"cannot open {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        os.pread(fd, 1, 0)
        return st
    except OSError as exc:
        raise PayloadError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def pin_directory(path: str | os.PathLike) -> tuple[Path, list[list], LeftOut]:
    """Walk a directory without following links; returns (root, manifest, left out).

    Members whose names hold control characters (a directory: with all it
    holds) are left out, so a recipient's `unzip -l` or `tar tv` never
    prints escape codes or fake lines.
    """
    given = Path(path)
    try:
        root = given.resolve(strict=True)
        root_stat = os.stat(root)
    except FileNotFoundError:
        raise PayloadError(f"no such directory: {given}") from None
    except (OSError, RuntimeError) as exc:
        raise PayloadError(f"cannot read {given}: {getattr(exc, 'strerror', None) or exc}") from None
    validate_name(root.name)
    pseudo = filesystems.PseudoCheck()
    if reason := pseudo.refusal(root_stat.st_dev, str(given)):
        raise PayloadError(reason)
    manifest = [_row(root.name, root_stat, True)]
    left_out = LeftOut()
    # Depth-first with an explicit stack: deep trees must not hit the recursion limit.
    stack = [(root, root.name)]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as scan:
                children = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            raise PayloadError(f"cannot list {directory}: {exc.strerror}") from None
        subdirs = []
        for child in children:
            name = f"{prefix}/{_member_name(child.name, directory)}"
            if has_control_characters(child.name):
                left_out.unsafe_names.append(name)
                continue
            try:
                st = child.stat(follow_symlinks=False)
            except OSError as exc:
                raise PayloadError(f"cannot read {child.path}: {exc.strerror}") from None
            if reason := pseudo.refusal(st.st_dev, child.path):
                raise PayloadError(reason)  # e.g. a /proc mounted inside the directory
            if stat.S_ISDIR(st.st_mode):
                manifest.append(_row(name, st, True))
                subdirs.append((Path(child.path), name))
            elif stat.S_ISREG(st.st_mode):
                manifest.append(_row(name, _pin_member(Path(child.path)), False))
            else:
                left_out.special += 1  # symlinks, sockets, devices: never followed, never archived
            if len(manifest) > MAX_ENTRIES:
                raise PayloadError(f"{given} has more than {MAX_ENTRIES} entries")
        # Reversed so the walk visits children in name order, each subtree whole.
        stack.extend(reversed(subdirs))
    return root, _in_tree_order(manifest), left_out


def _in_tree_order(manifest: list[list]) -> list[list]:
    """Parents before children, siblings by name: the order an extractor expects."""
    return sorted(manifest, key=lambda row: row[NAME].split("/"))


def entries_of(manifest: list[list]) -> list[Entry]:
    return [
        Entry(row[NAME], row[KIND] == "d", row[SIZE], row[MTIME] // 1_000_000_000, row[MODE])
        for row in manifest
    ]


def disk_path(root: str, name: str) -> str:
    return os.path.join(root, *name.split("/")[1:])


def latest_mtime_ns(manifest: list[list]) -> int:
    return max(row[MTIME] for row in manifest)


def build_layout(archive_format: str, manifest: list[list]) -> Layout:
    builder = zip_format.build if archive_format == "zip" else tar_format.build
    return builder(entries_of(manifest))


_ETAGS: OrderedDict = OrderedDict()
_LAYOUTS: OrderedDict = OrderedDict()
_CACHE_LIMIT = 32


def _remember(cache: OrderedDict, key, value):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE_LIMIT:
        cache.popitem(last=False)
    return value


def archive_etag(share_id: str, archive_format: str, manifest: list[list]) -> str:
    """A strong validator of the archive: changes if any member's identity could have."""
    key = (share_id, archive_format)
    if key in _ETAGS:
        return _ETAGS[key]
    raw = json.dumps([share_id, archive_format, manifest], separators=(",", ":"))
    return _remember(_ETAGS, key, '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"')


def layout_for(share_id: str, archive_format: str, manifest: list[list]) -> Layout:
    key = (share_id, archive_format)
    if key in _LAYOUTS:
        return _LAYOUTS[key]
    return _remember(_LAYOUTS, key, build_layout(archive_format, manifest))
