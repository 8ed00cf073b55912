"""Private per-share directories for ephemeral TLS material.

Layout: DATA_DIR/tls/<share id>/{cert.pem,key.pem}, directories 0700, files
0600. The owner removes its directory on every exit it gets to run code on;
after a hard kill, `reap` (run by the next start and by `pasla list`/`stop`)
removes directories whose share is over. Which shares are over is the
caller's question: this module knows files, not the database.
"""

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from shares.files.datadir import SHARE_ID, private_subdir


def root(data_dir: Path) -> Path:
    return private_subdir(data_dir, "tls")


def create(data_dir: Path, share_id: str) -> Path:
    """A new empty 0700 directory for one share; fails if it already exists."""
    if not SHARE_ID.match(share_id):
        raise ValueError("not a share id")
    path = root(data_dir) / share_id
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    return path


def remove(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def share_ids(data_dir: Path) -> list[str]:
    base = data_dir / "tls"
    try:
        names = os.listdir(base)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(name for name in names if SHARE_ID.match(name) and (base / name).is_dir())


def reap(data_dir: Path, is_over: Callable[[str], bool]) -> list[str]:
    """Remove the directories of shares for which `is_over(id)` is true; returns their ids."""
    removed = []
    for share_id in share_ids(data_dir):
        if is_over(share_id):
            remove(data_dir / "tls" / share_id)
            removed.append(share_id)
    return removed
