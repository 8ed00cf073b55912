"""What the command line names, checked and pinned: a file, or a directory as an archive."""

import hashlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from shares.archives import pinning
from shares.archives.source import ArchiveSource
from shares.cli.parser import CliError
from shares.files import payloads

log = logging.getLogger("pasla")


def checksum(path, size: int, wanted: bool | None, quiet: bool) -> str:
    if wanted is False or (wanted is None and size > payloads.SHA256_AUTO_LIMIT):
        return ""
    if quiet or not sys.stderr.isatty() or size < (64 << 20):
        return payloads.sha256_of(path)
    # Only a long checksum on a terminal shows progress.
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("SHA-256", total=size)
        return payloads.sha256_of(path, lambda n: progress.advance(task, n))


def _archive_sha256(root, manifest, layout) -> str:

    digest = hashlib.sha256()
    source = ArchiveSource(str(root), manifest, layout)
    try:
        for offset in range(0, layout.size, 1 << 20):
            digest.update(source.read(offset, min(1 << 20, layout.size - offset)))
    finally:
        source.close()
    return digest.hexdigest()


@dataclass
class Pinned:
    """What the command line names, checked and pinned."""

    path: Path
    name: str
    identity: payloads.Identity
    kind: str = "file"
    archive_format: str = ""
    manifest: list | None = None
    layout: object = None
    left_out: object = None  # archives.pinning.LeftOut, for a directory
    e2e: bool = False  # --e2e: served encrypted (shares/e2e/)


def sha256_for(pinned, opts) -> str:
    """The payload's SHA-256 as the options ask; hashing an archive means
    reading every member, so a directory is hashed only on request. An
    encrypted share's metadata record carries it: asked by default."""
    wanted = True if opts.e2e and opts.checksum is None else opts.checksum
    if pinned.kind == "directory":
        return _archive_sha256(pinned.path, pinned.manifest, pinned.layout) if wanted else ""
    return checksum(pinned.path, pinned.identity.size, wanted, opts.json)


def directory_fields(pinned) -> dict:
    """The --json keys a directory adds (none for a file)."""
    fields = {"e2e": True} if pinned.e2e else {}
    if pinned.kind != "directory":
        return fields
    return {**fields, "kind": "directory", "archive": pinned.archive_format, "entries": len(pinned.manifest)}


def pin(opts) -> Pinned:
    pinned = _pin(opts)
    pinned.e2e = opts.e2e
    return pinned


def _pin(opts) -> Pinned:
    target = Path(opts.file)
    if not target.is_dir():
        if opts.archive:
            raise CliError("--archive applies to directories only")
        path, identity = payloads.pin_file(target)
        return Pinned(path, path.name, identity)

    archive_format = opts.archive or "zip"
    root, manifest, left_out = pinning.pin_directory(target)
    layout = pinning.build_layout(archive_format, manifest)
    name = payloads.validate_name(f"{root.name}.{archive_format}")
    st = root.stat()
    identity = payloads.Identity(st.st_dev, st.st_ino, layout.size, pinning.latest_mtime_ns(manifest))
    return Pinned(root, name, identity, "directory", archive_format, manifest, layout, left_out)


def warn_left_out(pinned: "Pinned") -> None:
    """What a directory's archive will not hold, on stderr (names escaped)."""
    for line in pinned.left_out.warnings() if pinned.left_out else ():
        # Names inside the shared directory, escaped: the operator needs them, and no request path is here.
        log.warning("%s", line, extra={"pasla_safe": True})
