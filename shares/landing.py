"""The page a browser gets instead of the file: safe to show to any bot.

Rendering it reads the share and nothing else: no slot, no download row, no
strike. Its Download button submits a ticket (shares/tickets.py) that only
this page hands out.
"""

import secrets
import time
from functools import cache

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string

from shares import tickets
from shares.console import human_bytes, human_duration

TICKET_PARAM = "dl"


def page_csp(nonce: str) -> str:
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


@cache
def _key() -> bytes:
    return tickets.derive_key(settings.SECRET_KEY)


def ticket_for(share, client_ip: str) -> str:
    return tickets.issue(
        _key(), share_id=share.id, token_digest=share.token_digest, client_ip=client_ip, now=int(time.time())
    )


def has_valid_ticket(request, share) -> bool:
    return tickets.valid(
        _key(),
        request.GET.get(TICKET_PARAM),
        share_id=share.id,
        token_digest=share.token_digest,
        client_ip=request.client_ip,
        now=int(time.time()),
    )


def qr_svg(url: str) -> str:
    import segno  # 80 ms to import: only when a page is drawn

    return segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#1d2430", light="#ffffff")


def public_address(request) -> str:
    """The URL as recipients reach it: behind a proxy (PASLA_PUBLIC_URL) the
    scheme and host this server sees are the proxy's hop, not the public ones."""
    from django.conf import settings

    from shares.deployment import base_url

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
        "path": request.path,
        "ticket": ticket_for(share, request.client_ip),
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
