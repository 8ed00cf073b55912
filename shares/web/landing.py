"""The page a browser gets instead of the file: safe to show to any bot.

Rendering it reads the share and nothing else: no slot, no download row, no
strike. Its Download button POSTs a page ticket (shares/download/tickets.py); the
answer is a 303 to the file's URL with a download ticket bound to that
client. Scanners that follow links and GET forms never get that far.
"""

import secrets
import time
from functools import cache

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.encoding import escape_uri_path

from shares.config.deployment import base_url
from shares.download import tickets
from shares.human import human_bytes, human_duration

TICKET_PARAM = "dl"


def page_csp(nonce: str) -> str:
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


@cache
def _key() -> bytes:
    return tickets.derive_key(settings.SECRET_KEY)


def ticket_for(share, client_ip: str, purpose: str) -> str:
    return tickets.issue(
        _key(),
        purpose=purpose,
        share_id=share.id,
        token_digest=share.token_digest,
        client_ip=client_ip,
        now=int(time.time()),
    )


def has_valid_ticket(request, share, purpose: str) -> bool:
    return tickets.valid(
        _key(),
        request.GET.get(TICKET_PARAM),
        purpose=purpose,
        share_id=share.id,
        token_digest=share.token_digest,
        client_ip=request.client_ip,
        now=int(time.time()),
    )


def url_with_ticket(request, ticket: str) -> str:
    # The name may hold `?` or `#`: the path goes out percent-encoded.
    return f"{escape_uri_path(request.path)}?{TICKET_PARAM}={ticket}"


# Sec-Fetch-Site values of a POST made by our own page (or typed by hand).
_OWN_PAGE_FETCH_SITES = ("same-origin", "none")


def button_pressed(request, share) -> HttpResponse:
    """The Download button's POST: 303 to the file with a download ticket, or back to the page.

    The page ticket it carries is the CSRF token: it is bound to this client
    and share and only the page hands it out, so another site cannot forge
    this POST; Sec-Fetch-Site, where a browser sends it, must say so too.
    """
    site = request.headers.get("Sec-Fetch-Site")
    genuine = site in (None, *_OWN_PAGE_FETCH_SITES) and has_valid_ticket(request, share, tickets.PAGE)
    if genuine:
        location = url_with_ticket(request, ticket_for(share, request.client_ip, tickets.DOWNLOAD))
    else:
        location = escape_uri_path(request.path)  # a stale or foreign ticket: show the page again
    response = HttpResponse(status=303)
    response["Location"] = location
    return response


def qr_svg(url: str) -> str:
    import segno  # slow to import: only when a page is drawn

    return segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#1d2430", light="#ffffff")


def public_address(request) -> str:
    """The URL as recipients reach it: behind a proxy (PASLA_PUBLIC_URL) the
    scheme and host this server sees are the proxy's hop, not the public ones."""
    if settings.PASLA_PUBLIC_URL:
        return base_url(settings.PASLA_PUBLIC_URL, None) + request.path
    return request.build_absolute_uri(request.path)


def render(request, share) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    seconds_left = int(share.time_left.total_seconds())
    context = {
        "nonce": nonce,
        "name": share.name,
        "archive_format": share.archive_format if share.kind == share.Kind.DIRECTORY else "",
        "size": share.size,
        "size_human": human_bytes(share.size),
        "sha256": share.sha256,
        "seconds_left": seconds_left,
        "left_human": human_duration(seconds_left),
        "expires_iso": share.expires_at.isoformat(),
        "downloads_left": share.slots_left,
        "action": url_with_ticket(request, ticket_for(share, request.client_ip, tickets.PAGE)),
        "qr_svg": qr_svg(public_address(request)),
    }
    body = render_to_string("shares/landing.html", context)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = page_csp(nonce)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Vary"] = "Accept"
    return response
