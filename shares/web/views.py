"""The recipient's side: GET/HEAD of /<token>/<name>, and POST of the landing page's button."""

import asyncio
import base64
import functools
import logging
import mimetypes
import sys

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse

from shares.bandwidth import budget, pacing
from shares.config import runtime
from shares.config.conf import RULES
from shares.download import context, decision, finish, lookup, ranges
from shares.download.sendfile_plan import EXTENSION as SENDFILE_EXTENSION
from shares.download.sendfile_plan import SEGMENT
from shares.download.streaming import OverBudget, SlotSpent, Transfer
from shares.e2e import page as e2e_page
from shares.e2e import source as e2e_source
from shares.files import payloads
from shares.handling import client_gone, offload, outage
from shares.network import client_auth
from shares.web import disposition, landing, previews, responses
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
        "ETag": lookup.validator_of(share),
        "Last-Modified": lookup.http_date_of(share.mtime_ns),
        "Cache-Control": "no-store",
        # A shared .html or .svg must never run in our origin.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if share.sha256:
        headers["Repr-Digest"] = "sha-256=:" + _b64(share.sha256) + ":"
    return headers


def _b64(hex_digest: str) -> str:
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
    """A file body the server sends with os.sendfile; see shares/server/sending/zero_copy.py."""

    asgi_send = None  # set by pasla_site.asgi's handler just before sending


def zero_copy_allowed(request, source) -> bool:
    """The server offered to send ranges itself (plain TCP or TLS) and the body is a
    file on disk or an encrypted share's records (read by the server as it sends)."""
    extensions = request.scope.get("extensions") or {}
    sendable = payloads.FileSource | e2e_source.SealedSource
    return SENDFILE_EXTENSION in extensions and isinstance(source, sendable)


def _abandon_prepared(future) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    decided = future.result()
    if isinstance(decided, decision.Serve):
        offload.submit(finish.abandon, decided)


def page_wish(request) -> decision.PageWish:
    """A browser asking for the URL gets the page; the page's own button gets the file.

    Programs (curl, wget, Invoke-WebRequest) do not prefer HTML and get the
    file directly; HEAD always describes the file and never uses a slot. A
    Range request conditioned on our validator (If-Range) is a client resuming
    bytes of the file it already has, e.g. a browser resuming after its
    ticket went stale: an HTML page there would be written into the file.
    Preview bots send no such thing, and anyone may fetch without the page.
    """
    if request.method != "GET":
        return decision.NO_PAGE
    if e2e_page.asks_for_worker(request):
        # An encrypted page's service worker script (shares/e2e/page.py): never the file, never a slot.
        return decision.PageWish(wanted=True)
    if previews.is_link_preview(request.headers.get("User-Agent")):
        # Whatever it says it accepts, and whatever ticket it shows: a preview never uses a slot.
        return decision.PageWish(wanted=True)
    if not prefers_html(request.headers.get("Accept")):
        return decision.NO_PAGE
    if "Range" in request.headers and "If-Range" in request.headers:
        return decision.NO_PAGE
    return decision.PageWish(wanted=True, ticket=request.GET.get(landing.TICKET_PARAM))


async def button_pressed(request, token: str, name: str):
    """POST of the landing page's button: never the file itself, never a slot."""
    asked = context.of(request)
    share = await asked.lookup()
    # A wrong token earns a strike as a GET's would (the ban gate reads `asked`).
    if share is None or share.name != name:
        return responses.error(request, 404)
    asked.opened(share)
    if not share.is_live:
        return responses.gone(request, share.effective_state)
    return landing.button_pressed(request, share)


async def download(request, token: str, name: str):
    if request.method == "POST":
        return await button_pressed(request, token, name)
    # Before anything is claimed: a client past its bytes budget for the
    # hour takes no slot and learns nothing about the token.
    if wait := await budget.refused_for(request.client_ip):
        return responses.error(request, 429, headers={"Retry-After": str(wait)})
    asked = context.of(request)
    ask = decision.Ask(
        method=request.method,
        range_header=request.headers.get("Range"),
        if_range=request.headers.get("If-Range"),
        client_ip=request.client_ip,
        user_agent=request.headers.get("User-Agent", ""),
        client_cert=client_auth.fingerprint_of(request.scope),
        page=page_wish(request),
    )
    pending = offload.submit(
        decision.open_download, token, name, runtime.current().scope, ask, share=asked.share
    )
    try:
        # Shielded: a client that leaves now must not strand a claimed slot.
        decided = await asyncio.shield(pending)
    except asyncio.CancelledError:
        pending.add_done_callback(_abandon_prepared)
        raise
    if isinstance(decided, decision.NotFound):
        asked.record(decided.share)
        return responses.error(request, 404)
    share = decided.share
    # The request carried the right token: the rate gate refunds it and the
    # access log names the share instead of a path digest.
    asked.opened(share)
    match decided:
        case decision.Landing():
            return await _landing_page(request, share)
        case decision.Gone(reason=reason):
            return responses.gone(request, reason)
        case decision.Refused():
            return responses.error(request, 500)
        case decision.Unsatisfiable(selection=selection):
            return responses.error(
                request, 416, headers={"Content-Range": selection.content_range(share.size)}
            )
        case decision.Describe(selection=selection):
            response = HttpResponse(status=200)
            _add_headers(response, _body_headers(share, selection))
            return response
    return await _send(request, decided)


async def _landing_page(request, share):
    if not share.is_live:
        return responses.gone(request, share.effective_state)
    if not await db(lookup.payload_intact)(share):
        if not share.is_live:  # the file was deleted: the share has ended
            return responses.gone(request, share.state)
        return responses.error(request, 500)
    render = e2e_page.render if share.kind == share.Kind.E2E else landing.render
    return await db(render)(request, share)


def _body_headers(share, selection) -> dict[str, str]:
    headers = representation_headers(share)
    if isinstance(selection, ranges.Partial):
        headers["Content-Range"] = selection.content_range(share.size)
        headers["Content-Length"] = str(selection.length)
    else:
        if share.sha256:
            headers["Digest"] = "sha-256=" + _b64(share.sha256)
        headers["Content-Length"] = str(share.size)
    return headers


def _add_headers(response, headers: dict[str, str]) -> None:
    for key, value in headers.items():
        response[key] = value


def _read_size(source) -> int:
    chunk = settings.PASLA_LIMITS.chunk_size
    if isinstance(source, e2e_source.SealedSource):
        return e2e_source.read_size(chunk, int(RULES["chunk_size"].ceiling))
    return chunk


async def _send(request, serve: decision.Serve):
    share = serve.share
    headers = _body_headers(share, serve.selection)
    transfer = Transfer(
        source=serve.source,
        start=serve.start,
        length=int(headers["Content-Length"]),
        chunk_size=_read_size(serve.source),
        share_id=share.id,
        download_id=serve.download_id,
        slot_id=serve.slot_id,
        client_ip=request.client_ip,
        validator=headers["ETag"],
        body=serve.body,
        notice=(request.scope.get("extensions") or {}).get(client_gone.EXTENSION),
        allowance=budget.allowance_for(request.client_ip),
        pacer=pacing.pacer_for(share),
    )
    zero_copy = serve.body is None and zero_copy_allowed(request, serve.source)
    try:
        await transfer.reserve_opening(SEGMENT if zero_copy else transfer.chunk_size)
    except SlotSpent:
        await offload.submit(transfer.abandon)
        return responses.gone(request, "exhausted")
    except OverBudget:
        await offload.submit(transfer.abandon)
        wait = await budget.refused_for(request.client_ip)
        return responses.error(request, 429, headers={"Retry-After": str(max(1, wait))})
    except asyncio.CancelledError:
        transfer.abandon_opening()
        raise
    if zero_copy:
        log.debug("share %s: download %s goes out as server-sent ranges", share.id, serve.download_id)
        response = ZeroCopyResponse(status=serve.status)
        response.streaming_content = transfer.zero_copy_body(response)
    else:
        response = TransferResponse(transfer.chunks(), status=serve.status)
    response.transfer = transfer
    _add_headers(response, headers)
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
