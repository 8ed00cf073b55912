"""Small error answers: JSON for programs, a tiny page for browsers.

Never a traceback, a path, a token or a version.
"""

import secrets

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from shares.web.negotiation import prefers_html

MESSAGES = {
    400: ("bad_request", "Bad request", "The request could not be understood."),
    403: ("forbidden", "Forbidden", "You are not allowed to fetch this."),
    404: ("not_found", "Not found", "There is nothing here."),
    405: ("method_not_allowed", "Method not allowed", "Only GET and HEAD are supported."),
    410: ("gone", "Link no longer available", "This link has expired or was used up."),
    416: ("range_not_satisfiable", "Range not satisfiable", "The requested range is outside the file."),
    429: ("rate_limited", "Too many requests", "Slow down and try again later."),
    500: ("server_error", "Server error", "The file cannot be served right now."),
    502: ("sender_offline", "Sender offline", "The person sharing this link is not connected right now."),
    503: ("unavailable", "Unavailable", "The server is busy; try again shortly."),
    504: ("sender_timeout", "No answer", "The person sharing this link did not answer in time."),
}

HINTS = {
    403: "If you think this is a mistake, ask the person who shared the link.",
    410: "Ask the person who shared it for a new link.",
}

GONE_DETAIL = {
    "expired": "This link has expired.",
    "exhausted": "This link has been used up: every download it allowed has been taken.",
    "revoked": "This link was withdrawn by the person who shared it.",
    "gone": "The shared file is no longer there.",
}


def error(request, status: int, detail: str | None = None, headers=None) -> HttpResponse:
    code, title, message = MESSAGES[status]
    message = detail or message
    if prefers_html(request.headers.get("Accept")):
        nonce = secrets.token_urlsafe(16)
        context = {"status": status, "title": title, "message": message, "nonce": nonce}
        context["hint"] = HINTS.get(status)
        body = render_to_string("shares/error.html", context)
        response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'"
        )
    else:
        response = JsonResponse({"error": code, "message": message}, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def unavailable(request, retry_after: int) -> HttpResponse:
    return error(request, 503, headers={"Retry-After": str(retry_after)})


def gone(request, reason: str) -> HttpResponse:
    return error(request, 410, GONE_DETAIL.get(reason))
