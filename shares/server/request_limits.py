"""What a request head may be, decided before any of its body is read (pure).

The HTTP channel (shares/server/channel.py) asks these questions while it
parses; nothing here touches Twisted or Django.
"""

import re
from dataclasses import dataclass

from shares.config.conf import ADMIN_BODY_MAX

# The landing page's Download button posts one short ticket field; no other
# request outside the admin has a reason to carry a body at all.
FORM_BODY_MAX = 4 * 1024

# A share URL is a token and a file name (at most 255 bytes, tripled by
# percent-encoding); nothing honest comes near this.
REQUEST_LINE_MAX = 8 * 1024
HEADER_LINE_MAX = 8 * 1024
# Request line and every header line together.
HEAD_MAX = 16 * 1024

# Methods are case-sensitive tokens (RFC 9110 9.1); Django upper-cases what
# it gets, so `get` would otherwise be served as GET.
_METHOD = re.compile(rb"[A-Z]{1,20}")

# RFC 9110 reason phrases for what pasla and daphne send; Twisted lacks
# several (429 went out as "Unknown Status") and has old wording for others.
REASONS = {
    200: b"OK",
    204: b"No Content",
    206: b"Partial Content",
    301: b"Moved Permanently",
    302: b"Found",
    303: b"See Other",
    304: b"Not Modified",
    307: b"Temporary Redirect",
    308: b"Permanent Redirect",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    410: b"Gone",
    411: b"Length Required",
    412: b"Precondition Failed",
    413: b"Content Too Large",
    414: b"URI Too Long",
    415: b"Unsupported Media Type",
    416: b"Range Not Satisfiable",
    421: b"Misdirected Request",
    422: b"Unprocessable Content",
    425: b"Too Early",
    428: b"Precondition Required",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    451: b"Unavailable For Legal Reasons",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
    505: b"HTTP Version Not Supported",
}


def reason(code: int) -> bytes | None:
    """The phrase for a status line, or None to leave it to Twisted."""
    return REASONS.get(code)


def method_ok(method: bytes) -> bool:
    return _METHOD.fullmatch(method) is not None


@dataclass(frozen=True)
class BodyRule:
    """Verdict on an announced body: refuse it (413), or read at most `cap` bytes."""

    refuse: bool
    cap: int = 0


def body_rule(path: bytes, length: int | None, admin_prefix: bytes) -> BodyRule:
    """`length` as the parser has it: 0 for no body, None for chunked.

    The admin is matched on the raw path: an encoded variant gets the
    smaller cap, which only ever makes it stricter.
    """
    if length == 0:
        return BodyRule(refuse=False)
    admin = path.split(b"?", 1)[0].startswith(admin_prefix)
    if admin:
        # Chunked is read, and cut once it passes the cap.
        return BodyRule(refuse=length is not None and length > ADMIN_BODY_MAX, cap=ADMIN_BODY_MAX)
    # Outside the admin only a small form with a declared length passes.
    return BodyRule(refuse=length is None or length > FORM_BODY_MAX, cap=FORM_BODY_MAX)


def refusal(code: int, text: str) -> bytes:
    """A whole answer written below Django: it ends the connection."""
    body = (text + "\n").encode()
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (code, REASONS[code]),
            b"Content-Type: text/plain; charset=utf-8\r\n",
            b"Content-Length: %d\r\n" % len(body),
            b"Connection: close\r\n",
            b"X-Content-Type-Options: nosniff\r\n",
            b"\r\n",
            body,
        )
    )
