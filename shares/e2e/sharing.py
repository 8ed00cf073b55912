"""Creating an encrypted share (`pasla FILE --e2e`): what its row and its key record hold.

The row (shares/models.py) gets an opaque name, no path, no manifest, no
digest, device and inode 0, the ciphertext's size and the creation time as
its mtime (so Last-Modified says nothing of the file); the real name, path,
pin and digest go into the key record with the secret (shares/e2e/keys.py).
The secret goes into the URL's fragment, which browsers and curl never send.
"""

import mimetypes
import os
import secrets
import time
from dataclasses import dataclass

from django.conf import settings

from shares.e2e import ece, keys, links
from shares.files.payloads import Identity

ARCHIVE_TYPES = {"zip": "application/zip", "tar": "application/x-tar"}


@dataclass(frozen=True)
class Plan:
    secret: bytes
    salt: bytes
    opaque_name: str
    metadata: ece.Metadata
    path: str
    identity: Identity
    archive_format: str
    manifest: tuple

    @property
    def fragment(self) -> str:
        return links.fragment_for(self.secret)

    def row_fields(self) -> dict:
        """create_share()'s arguments that describe the payload, as the row may hold them."""
        size = ece.ciphertext_size(self.metadata.size)
        return {
            "path": "",
            "name": self.opaque_name,
            "identity": Identity(0, 0, size, time.time_ns()),
            "kind": "e2e",
            "archive_format": "",
            "manifest": None,
            "sha256": "",
        }

    def record(self, token_digest: str) -> keys.Secrets:
        return keys.Secrets(
            secret=self.secret,
            salt=self.salt,
            token_digest=token_digest,
            path=self.path,
            identity=self.identity,
            metadata=self.metadata,
            archive_format=self.archive_format,
            manifest=self.manifest,
        )


def plan(pinned, sha256: str) -> Plan:
    """A fresh 128-bit secret and salt for what `pinned` (shares/cli/share.Pinned) names."""
    if pinned.archive_format:
        content_type = ARCHIVE_TYPES[pinned.archive_format]
    else:
        content_type = mimetypes.guess_type(pinned.name, strict=False)[0] or "application/octet-stream"
    return Plan(
        secret=os.urandom(ece.SECRET_SIZE),
        salt=os.urandom(ece.SALT_SIZE),
        opaque_name=secrets.token_hex(6) + ".e2e",
        metadata=ece.Metadata(pinned.name, pinned.identity.size, sha256, content_type[: ece.TYPE_LIMIT]),
        path=str(pinned.path),
        identity=pinned.identity,
        archive_format=pinned.archive_format,
        manifest=tuple(pinned.manifest or ()),
    )


def keep(plan_: Plan, share, served_here: bool) -> None:
    """Hand the key record to whoever serves the share: this process, or `pasla serve`."""
    record = plan_.record(share.token_digest)
    if served_here:
        keys.remember(share.id, record)
    else:
        keys.store(settings.DATA_DIR, share.id, record)


def payload_fields(pinned, sha256: str, plan_: Plan | None) -> dict:
    """create_share()'s description of the payload: an encrypted share's hides it."""
    if plan_ is not None:
        return plan_.row_fields()
    return {
        "path": str(pinned.path),
        "name": pinned.name,
        "identity": pinned.identity,
        "kind": pinned.kind,
        "archive_format": pinned.archive_format,
        "manifest": pinned.manifest,
        "sha256": sha256,
    }
