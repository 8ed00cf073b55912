"""Where pasla keeps its state on the operator's machine.

Everything lives in one per-user directory (mode 0700) so that the SQLite
database, the secret key and daemon logs are never readable by other users.
"""

import os
import re
import secrets
from pathlib import Path


def data_dir() -> Path:
    explicit = os.environ.get("PASLA_DATA_DIR")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        path = Path(base) / "pasla"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode is ignored for an existing directory and masked by umask:
    # tighten it every time, it is cheap.
    os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create `path` with mode 0600 if missing (never widens an existing file)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    return path


def secret_key(directory: Path) -> str:
    """Django's SECRET_KEY: generated once, kept 0600 beside the database."""
    path = directory / "secret_key"
    try:
        key = path.read_text().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    tmp = directory / f".secret_key.{os.getpid()}"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    try:
        # link() fails if another process won the race; then use theirs.
        os.link(tmp, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        os.unlink(tmp)
    return key


# --- logs of detached servers ---------------------------------------------

# Only names shaped like share ids are ever made or removed, so a stray file
# an operator put beside them is left alone.
SHARE_ID = re.compile(r"^[0-9a-f]{6,16}$")


def private_subdir(directory: Path, name: str) -> Path:
    """directory/name as a 0700 directory (made if missing, mode forced if not)."""
    path = directory / name
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def logs_dir(directory: Path) -> Path:
    return private_subdir(directory, "logs")


def share_log(directory: Path, share_id: str) -> Path:
    """Where a detached server's log lives once its share id is known."""
    if not SHARE_ID.match(share_id):
        raise ValueError("not a share id")
    return logs_dir(directory) / f"{share_id}.log"


def remove_share_log(directory: Path, share_id: str) -> None:
    try:
        share_log(directory, share_id).unlink()
    except (FileNotFoundError, ValueError):
        pass
