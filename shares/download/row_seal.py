"""The seal of a share row: an HMAC over the facts a server acts on when it serves.

The database is the control plane (and, under `pasla serve`, shared): whoever
can write it could otherwise point a share at any file the server can read,
give a share a token they know, or lift its limits. The key is derived from
SECRET_KEY, which lives in the environment or the data directory, never in
the database, so a row edited outside pasla no longer matches its seal.

Counters (slots used, bytes served) and the end state are not sealed: they
change on every download, and editing them can only end a share or give it
back downloads within its sealed cap and expiry. No Django here.
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VERSION = "pasla-share-row-v1"


def derive_key(secret_key: str) -> bytes:
    """A key for row seals only: a seal says nothing about other uses of SECRET_KEY."""
    return hmac.new(secret_key.encode(), b"pasla share rows v1", hashlib.sha256).digest()


def _microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def facts(share) -> bytes:
    """The sealed facts of a share (any object with a Share's attributes), canonically encoded."""
    values = [
        _VERSION,
        share.id,
        share.token_digest,
        share.name,
        share.path,
        share.kind,
        share.archive_format,
        int(share.size),
        int(share.device),
        int(share.inode),
        int(share.mtime_ns),
        share.sha256,
        share.manifest,
        int(share.max_downloads),
        _microseconds(share.expires_at),
    ]
    # Sealed only when set, so rows sealed before --max-rate existed still match.
    options = getattr(share, "options", None)
    max_rate = options.get("max_rate") if isinstance(options, dict) else None
    if max_rate:
        values.append(["max_rate", max_rate])
    return json.dumps(values, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def seal(key: bytes, share) -> str:
    return hmac.new(key, facts(share), hashlib.sha256).hexdigest()


def intact(key: bytes, share) -> bool:
    """Whether the row's stored seal is the one its facts give (constant-time)."""
    stored = share.seal or ""
    if not stored.isascii():
        return False
    try:
        expected = seal(key, share)
    except (TypeError, ValueError, OverflowError):
        return False  # a fact of the wrong type cannot have been sealed by pasla
    return hmac.compare_digest(stored, expected)
