"""Finding the share a URL names, and whether it may be served right now."""

import functools
import logging

from django.conf import settings
from django.utils.http import http_date

from shares import tokens
from shares.archives import pinning
from shares.archives.source import open_archive
from shares.download import row_seal, rows
from shares.e2e import serving as e2e_serving
from shares.files import payloads
from shares.models import Share

log = logging.getLogger("pasla")


@functools.lru_cache(maxsize=2)
def _seal_key(secret_key: str) -> bytes:
    return row_seal.derive_key(secret_key)


def seal_key() -> bytes:
    return _seal_key(settings.SECRET_KEY)


def pinned_identity(share: Share) -> payloads.Identity:
    return payloads.Identity(share.device, share.inode, share.size, share.mtime_ns)


def share_for_token(token: str, scope: set[str] | None) -> Share | None:
    """The share this token opens here, whatever the rest of the URL says."""
    if not tokens.looks_like_token(token):
        return None
    share = rows.share_by_digest(tokens.digest(token))
    if share is None or not tokens.matches(token, share.token_digest):
        return None
    if scope is not None and share.id not in scope:
        return None
    return share


def find_share(token: str, name: str, scope: set[str] | None) -> Share | None:
    """The share a URL names, or None: unknown token, wrong name, out of scope."""
    share = share_for_token(token, scope)
    if share is None or name != share.name:
        return None
    return share


def validator_of(share: Share) -> str:
    """The strong ETag of what the share serves (a file, or an archive of a tree)."""
    if share.kind == Share.Kind.DIRECTORY:
        return pinning.archive_etag(share.id, share.archive_format, share.manifest)
    return pinned_identity(share).etag(share.id)


def open_source(share: Share, start: int, end: int):
    """A reader for the share's bytes; raises PayloadChanged if anything drifted."""
    if share.kind == Share.Kind.E2E:
        return e2e_serving.open_source(share, start, end)
    if share.kind == Share.Kind.DIRECTORY:
        return open_archive(share, start, end)
    fd = payloads.open_verified(share.path, pinned_identity(share))
    return payloads.FileSource(fd, pinned_identity(share))


def file_gone(share: Share, exc: Exception) -> None:
    """A deleted file does not come back: end the share rather than answer 500 forever."""
    if share.end(Share.State.GONE):
        log.error("share %s ended: %s", share.id, exc)


def payload_intact(share: Share) -> bool:
    """Whether the share could be served right now (the landing page asks first)."""
    try:
        open_source(share, 0, share.size - 1).close()
    except payloads.PayloadGone as exc:
        file_gone(share, exc)
        return False
    except (payloads.PayloadChanged, OSError) as exc:
        log.error("share %s: refusing to serve, %s", share.id, exc)
        return False
    return True


def seal_holds(share: Share) -> bool:
    """Whether a share may go on to be served: its row is the one pasla sealed.

    Checked before any file is opened. A row that ended is refused anyway
    without opening anything, so only a share that would be served is judged;
    one that fails is ended as broken, and stays refused with a 500.
    """
    if share.state == Share.State.BROKEN:
        return False
    if not share.is_live or row_seal.intact(seal_key(), share):
        return True
    log.error(
        "share %s: refusing to serve, its database row does not match its seal "
        "(edited outside pasla, or SECRET_KEY changed); marked broken",
        share.id,
    )
    share.end(Share.State.BROKEN)
    return False


@functools.lru_cache(maxsize=256)
def http_date_of(mtime_ns: int) -> str:
    """Last-Modified of a file: asked twice per download, the same few values."""
    return http_date(mtime_ns // 1_000_000_000)
