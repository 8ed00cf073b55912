"""The recipient's side: GET/HEAD of /<token>/<name>, and POST of the landing page's button."""

import asyncio
import functools
import logging
import mimetypes
import sys

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse

from shares import services
from shares.config import runtime
from shares.download import payloads, ranges
from shares.download.sendfile_plan import EXTENSION as SENDFILE_EXTENSION
from shares.download.sendfile_plan import SEGMENT
from shares.download.streaming import SlotSpent, Transfer
from shares.handling import client_gone, offload, outage
from shares.network import client_auth
from shares.web import disposition, landing, previews, responses, tickets
from shares.web.negotiation import prefers_html

log = logging.getLogger("pasla")


# Other ORM work (the landing page) runs on the executor; the download's own
# rows go through offload.submit, the database lane.
db = offload.hop


@functools.lru_cache(maxsize=256)
def _naming_headers(name: str) -> tuple[str, str]:
    """Content-Type and Content-Disposition of a share's name (the same few names, every request)."""
    content_type, _ = mimetypes.guess_type(name, strict=False)
    return content_type or "application/octet-stream", disposition.content_disposition(name)


def representation_headers(share) -> dict[str, str]:
    content_type, disposition = _naming_headers(share.name)
    headers = {
        "Content-Type": content_type,
        "Content-Disposition": disposition,
        "Accept-Ranges": "bytes",
        "Vary": "Accept",
        "ETag": services.validator_of(share),
        "Last-Modified": services.http_date_of(share.mtime_ns),
        "Cache-Control": "no-store",
        # A shared .html or .svg must never run in our origin.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if share.sha256:
        headers["Repr-Digest"] = "sha-256=:" + _b64(share.sha256) + ":"
    return headers


def _b64(hex_digest: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


class TransferResponse(StreamingHttpResponse):
    """Settles a transfer whose body was never iterated (the client left first)."""

    transfer = None

    @property
    def close_may_block(self) -> bool:
        """abandon() writes to the database unless the body already settled (pasla_site/asgi.py)."""
        return self.transfer is not None and not self.transfer.claimed

    def close(self):
        try:
            super().close()
        finally:
            if self.transfer is not None:
                self.transfer.abandon()


class ZeroCopyResponse(TransferResponse):
    """A file body the server sends with os.sendfile; see shares/server/zero_copy.py."""

    asgi_send = None  # set by pasla_site.asgi's handler just before sending


def zero_copy_allowed(request, source) -> bool:
    """The server offered to send file ranges itself (plain TCP or TLS) and the body is a file on disk."""
    extensions = request.scope.get("extensions") or {}
    return SENDFILE_EXTENSION in extensions and isinstance(source, payloads.FileSource)


def _abandon_prepared(future) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    outcome = future.result()
    if outcome.download_id is not None:
        offload.submit(services.abandon, outcome)


def wants_landing_page(request, share) -> bool:
    """A browser asking for the URL gets the page; the page's own button gets the file.

    Programs (curl, wget, Invoke-WebRequest) do not prefer HTML and get the
    file directly; HEAD always describes the file and never uses a slot. A
    Range request conditioned on our validator (If-Range) is a client resuming
    bytes of the file it already has, e.g. a browser resuming after its
    ticket went stale: an HTML page there would be written into the file.
    Preview bots send no such thing, and anyone may fetch without the page.
    """
    if request.method != "GET":
        return False
    if previews.is_link_preview(request.headers.get("User-Agent")):
        return True  # whatever it says it accepts: a preview must never use a slot
    if not prefers_html(request.headers.get("Accept")):
        return False
    if "Range" in request.headers and "If-Range" in request.headers:
        return False
    return not landing.has_valid_ticket(request, share, tickets.DOWNLOAD)


async def button_pressed(request, token: str, name: str):
    """POST of the landing page's button: never the file itself, never a slot."""
    share = await db(services.find_share)(token, name, runtime.scope)
    if share is None:
        # Guessing tokens by POST earns strikes like guessing by GET.
        request.pasla_wrong_token = await db(services.share_for_token)(token, runtime.scope) is None
        return responses.error(request, 404)
    request.pasla_share_id = share.id
    if not share.is_live:
        return responses.gone(request, share.effective_state)
    return landing.button_pressed(request, share)


async def download(request, token: str, name: str):
    if request.method == "POST":
        return await button_pressed(request, token, name)
    pending = offload.submit(
        services.open_download,
        token,
        name,
        runtime.scope,
        wants_page=lambda share: wants_landing_page(request, share),
        method=request.method,
        range_header=request.headers.get("Range"),
        if_range=request.headers.get("If-Range"),
        client_ip=request.client_ip,
        user_agent=request.headers.get("User-Agent", ""),
        client_cert=client_auth.fingerprint_of(request.scope),
    )
    try:
        # Shielded: a client that leaves now must not strand a claimed slot.
        outcome = await asyncio.shield(pending)
    except asyncio.CancelledError:
        pending.add_done_callback(_abandon_prepared)
        raise
    if outcome.status == 404:
        return responses.error(request, 404)
    share = outcome.share
    # The request carried the right token: the rate gate refunds it and the
    # access log names the share instead of a path digest.
    request.pasla_share_id = share.id
    if outcome.status == 0:
        if not share.is_live:
            return responses.gone(request, share.effective_state)
        if not await db(services.payload_intact)(share):
            if not share.is_live:  # the file was deleted: the share has ended
                return responses.gone(request, share.state)
            return responses.error(request, 500)
        return await db(landing.render)(request, share)
    if outcome.status == 410:
        return responses.gone(request, outcome.reason)
    if outcome.status == 500:
        return responses.error(request, 500)
    headers = representation_headers(share)
    if outcome.status == 416:
        headers = {"Content-Range": outcome.selection.content_range(share.size)}
        return responses.error(request, 416, headers=headers)

    selection = outcome.selection
    if isinstance(selection, ranges.Partial):
        start, length = selection.start, selection.length
        headers["Content-Range"] = selection.content_range(share.size)
    else:
        start, length = 0, share.size
        if share.sha256:
            headers["Digest"] = "sha-256=" + _b64(share.sha256)
    headers["Content-Length"] = str(length)

    if request.method == "HEAD":
        response = HttpResponse(status=200)
    else:
        transfer = Transfer(
            source=outcome.source,
            start=start,
            length=length,
            chunk_size=settings.PASLA_LIMITS.chunk_size,
            share_id=share.id,
            download_id=outcome.download_id,
            slot_id=outcome.slot_id,
            client_ip=request.client_ip,
            validator=headers["ETag"],
            body=outcome.body,
            notice=(request.scope.get("extensions") or {}).get(client_gone.EXTENSION),
        )
        zero_copy = outcome.body is None and zero_copy_allowed(request, outcome.source)
        try:
            await transfer.reserve_opening(SEGMENT if zero_copy else transfer.chunk_size)
        except SlotSpent:
            await offload.submit(transfer.abandon)
            return responses.gone(request, "exhausted")
        except asyncio.CancelledError:
            transfer.abandon_opening()
            raise
        if zero_copy:
            log.debug("share %s: download %s goes out as server-sent ranges", share.id, outcome.download_id)
            response = ZeroCopyResponse(status=outcome.status)
            response.streaming_content = transfer.zero_copy_body(response)
        else:
            response = TransferResponse(transfer.chunks(), status=outcome.status)
        response.transfer = transfer
    for key, value in headers.items():
        response[key] = value
    return response


def bad_request(request, exception=None):
    return responses.error(request, 400)


def forbidden(request, exception=None):
    return responses.error(request, 403)


def not_found(request, exception=None):
    return responses.error(request, 404)


async def unknown_path(request):
    return responses.error(request, 404)


def server_error(request):
    # A database or cache that went away is the server's trouble for a
    # while, not a broken request: 503, and the outage is logged once.
    if outage.note_failure(sys.exc_info()[1]):
        return responses.unavailable(request, outage.RETRY_AFTER)
    return responses.error(request, 500)
