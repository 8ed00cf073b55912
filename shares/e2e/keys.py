"""Where an encrypted share's secret, file and real name live: never in the database.

The share's row holds an opaque name, no path, no digest and its
ciphertext size (see shares/e2e/sharing.py). Everything the server needs
to seal records is a `Secrets` record kept in this process's memory by a
share served where it was created; `pasla share --no-serve` hands it to
`pasla serve` as DATA_DIR/e2e/<share id>.json (0600, in the 0700 data
directory beside SECRET_KEY), removed by housekeeping once the share is
over. A record names the token digest of its row, so a purged share id
drawn again never picks up an old record.
"""

import base64
import dataclasses
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shares.e2e import ece
from shares.files.datadir import SHARE_ID, private_subdir
from shares.files.payloads import Identity

SUBDIR = "e2e"


@dataclass(frozen=True)
class Secrets:
    secret: bytes
    salt: bytes
    token_digest: str
    path: str
    identity: Identity  # the plaintext's pin (a directory: its archive's)
    metadata: ece.Metadata
    archive_format: str = ""  # a directory's, else ""
    manifest: tuple = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "secret": base64.b64encode(self.secret).decode(),
                "salt": base64.b64encode(self.salt).decode(),
                "token_digest": self.token_digest,
                "path": self.path,
                "identity": list(dataclasses.astuple(self.identity)),
                "metadata": self.metadata.encode().decode(),
                "archive_format": self.archive_format,
                "manifest": list(self.manifest),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "Secrets":
        value = json.loads(text)
        return cls(
            secret=base64.b64decode(value["secret"]),
            salt=base64.b64decode(value["salt"]),
            token_digest=value["token_digest"],
            path=value["path"],
            identity=Identity(*value["identity"]),
            metadata=ece.Metadata.decode(value["metadata"].encode()),
            archive_format=value["archive_format"],
            manifest=tuple(value["manifest"]),
        )


_memory: dict[str, Secrets] = {}
_sealers: dict[str, ece.Sealer] = {}
_lock = threading.Lock()


def remember(share_id: str, record: Secrets) -> None:
    """This process serves the share: the record stays in memory only."""
    with _lock:
        _memory[share_id] = record


def _file(data_dir: Path, share_id: str) -> Path:
    if not SHARE_ID.match(share_id):
        raise ValueError("not a share id")
    return data_dir / SUBDIR / f"{share_id}.json"


def store(data_dir: Path, share_id: str, record: Secrets) -> Path:
    """For another process (`pasla serve`): written 0600, never over an existing file."""
    path = _file(data_dir, share_id)
    private_subdir(data_dir, SUBDIR)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(record.to_json())
    return path


def load(data_dir: Path, share_id: str, token_digest: str) -> Secrets | None:
    """The share's record from memory or its file; None if missing or not this row's."""
    with _lock:
        record = _memory.get(share_id)
    if record is None:
        try:
            record = Secrets.from_json(_file(data_dir, share_id).read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None
    if record.token_digest != token_digest:
        return None
    return record


def sealer(share_id: str, record: Secrets) -> ece.Sealer:
    """One Sealer per share and process: its keys and metadata record are made once."""
    with _lock:
        found = _sealers.get(share_id)
        if found is not None and found.head[: ece.SALT_SIZE] == record.salt:
            return found
    made = ece.Sealer(record.secret, record.salt, record.metadata)
    with _lock:
        _sealers[share_id] = made
    return made


def forget(data_dir: Path, share_id: str) -> None:
    with _lock:
        _memory.pop(share_id, None)
        _sealers.pop(share_id, None)
    try:
        _file(data_dir, share_id).unlink()
    except (FileNotFoundError, ValueError):
        pass


def reap(data_dir: Path, is_over: Callable[[str], bool]) -> list[str]:
    """Remove the records of shares for which `is_over(id)` is true; returns their ids."""
    try:
        names = os.listdir(data_dir / SUBDIR)
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for name in sorted(names):
        share_id = name.removesuffix(".json")
        if name.endswith(".json") and SHARE_ID.match(share_id) and is_over(share_id):
            forget(data_dir, share_id)
            removed.append(share_id)
    return removed
