"""What a download request gets, decided with all its database work in one thread hop.

The answer is one of the types below; the view turns each into a response
and never looks at a status number to find out which case it holds.
"""

import functools
import logging
import os
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from shares.download import ranges, rows, slots, tickets
from shares.download.lookup import (
    file_gone,
    http_date_of,
    open_source,
    seal_holds,
    share_for_token,
    validator_of,
)
from shares.files import payloads
from shares.models import Share

log = logging.getLogger("pasla")

# Bodies up to this size are read with the database work, on the same
# executor hop, and leave with the headers in one write: zero copy (or a
# read hop of its own) costs an event-loop round trip before the first byte.
INLINE_BODY_LIMIT = 64 << 10


@dataclass(frozen=True)
class NotFound:
    """The URL opens nothing here. `share`: what the token alone opens; None
    for a guess, a share for its recipient with a mangled file name."""

    share: Share | None


@dataclass(frozen=True)
class Landing:
    """A browser gets the landing page instead of the bytes."""

    share: Share


@dataclass(frozen=True)
class Gone:
    """410: the share ended, or every slot is spent."""

    share: Share
    reason: str


@dataclass(frozen=True)
class Refused:
    """500: the row fails its seal, or the file drifted from what was shared."""

    share: Share
    reason: str


@dataclass(frozen=True)
class Unsatisfiable:
    """416: the Range asks for nothing the file holds."""

    share: Share
    selection: ranges.Unsatisfiable


@dataclass(frozen=True)
class Describe:
    """HEAD: the representation's headers, no body and no slot."""

    share: Share
    selection: ranges.Selection


@dataclass
class Serve:
    """Bytes to send: the source is open and the slot and history row are written."""

    share: Share
    status: int
    selection: ranges.Selection
    source: object
    download_id: int
    slot_id: int
    # The whole body, when it is small enough to read in this same hop.
    body: bytes | None = None

    @property
    def start(self) -> int:
        return self.selection.start if isinstance(self.selection, ranges.Partial) else 0


Decision = NotFound | Landing | Gone | Refused | Unsatisfiable | Describe | Serve


@dataclass(frozen=True)
class PageWish:
    """What the view knows before the share is found about the landing page.

    `wanted`: the client gets the page unless it holds a valid download
    ticket, which is `ticket` (None where no ticket may count, e.g. for a
    link-preview bot).
    """

    wanted: bool
    ticket: str | None = None


NO_PAGE = PageWish(wanted=False)


@dataclass(frozen=True)
class Ask:
    """The parts of a request the decision reads."""

    method: str
    range_header: str | None
    if_range: str | None
    client_ip: str
    user_agent: str
    client_cert: str | None = None
    page: PageWish = NO_PAGE


@functools.lru_cache(maxsize=2)
def _ticket_key(secret_key: str) -> bytes:
    return tickets.derive_key(secret_key)


def _holds_download_ticket(share: Share, ask: Ask) -> bool:
    return ask.page.ticket is not None and tickets.valid(
        _ticket_key(settings.SECRET_KEY),
        ask.page.ticket,
        purpose=tickets.DOWNLOAD,
        share_id=share.id,
        token_digest=share.token_digest,
        client_ip=ask.client_ip,
        now=int(time.time()),
    )


def open_download(token: str, name: str, scope, ask: Ask, *, share: Share | None = None) -> Decision:
    """The whole database side of a download request, in one thread hop.

    `share`: the row a gate already read for this token in this request, so
    it is looked up once. One hop instead of two is a good part of the time
    to first byte of a small file.
    """
    try:
        if share is None:
            share = share_for_token(token, scope)
        if share is None:
            return NotFound(None)
        if name != share.name:
            return NotFound(share)
        if not seal_holds(share):
            return Refused(share, Share.State.BROKEN)
        if ask.page.wanted and not _holds_download_ticket(share, ask):
            return Landing(share)
        return prepare_download(share, ask)
    except DatabaseError:
        # This thread keeps its connection between requests: a broken one
        # must go, or the database coming back would not end the 503s.
        connection.close_if_unusable_or_obsolete()
        raise


def prepare_download(share: Share, ask: Ask) -> Decision:
    """Everything that needs the database before the first byte."""
    if not share.is_live:
        return Gone(share, share.effective_state)
    etag = validator_of(share)
    selection = ranges.FULL
    if ask.method == "GET":
        selection = ranges.select(
            ask.range_header, ask.if_range, share.size, etag, http_date_of(share.mtime_ns)
        )
    if isinstance(selection, ranges.Partial):
        start, end, status = selection.start, selection.end, 206
    else:
        start, end, status = 0, share.size - 1, 200
    try:
        source = open_source(share, start, end)
    except payloads.PayloadGone as exc:
        file_gone(share, exc)
        return Gone(share, Share.State.GONE)
    except (payloads.PayloadChanged, OSError) as exc:
        log.error("share %s: refusing to serve, %s", share.id, exc)
        return Refused(share, "changed")
    if isinstance(selection, ranges.Unsatisfiable):
        source.close()
        return Unsatisfiable(share, selection)
    if ask.method == "HEAD":
        source.close()
        return Describe(share, selection)
    body = None
    if end - start + 1 <= INLINE_BODY_LIMIT:
        try:
            body = source.read(start, end - start + 1) if end >= start else b""
        except (payloads.PayloadDrift, OSError) as exc:
            source.close()
            log.error("share %s: refusing to serve, %s", share.id, exc)
            return Refused(share, "changed")
    # The slot and its history row are written in one commit.
    with transaction.atomic():
        slot_id = slots.grant(share, client_ip=ask.client_ip, validator=etag, start=start, end=end + 1)
        download_id = None
        if slot_id is not None:
            download_id = rows.insert_download(
                share.pk,
                slot_id=slot_id,
                client_ip=ask.client_ip,
                user_agent=ask.user_agent[:200],
                status=status,
                range_start=start,
                range_end=end,
                pid=os.getpid(),
                hostname=rows.HOSTNAME,
                client_cert=ask.client_cert,
            )
    if slot_id is None:
        source.close()
        share.refresh_from_db()
        return Gone(share, share.effective_state if not share.is_live else "exhausted")
    return Serve(share, status, selection, source, download_id, slot_id, body)
