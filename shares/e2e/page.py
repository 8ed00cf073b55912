"""The landing page of an encrypted share, and its service worker script.

The page carries the ciphertext's first 65 557 bytes (header and metadata
record: no byte of the file) so it can show the real name and size as soon
as it has decrypted them with the key from `location.hash`; opening it
reads no file data and uses no slot, like the plain landing page. Its one
script is inline under the page's nonce; the service worker is served from
the share's own URL (`?pasla-worker=1`), so its scope is the share's token
and nothing else. No third-party code.
"""

import base64
import secrets
from functools import cache
from pathlib import Path

from django.http import HttpResponse
from django.template.loader import render_to_string

from shares.e2e import ece, serving
from shares.human import human_duration

WORKER_PARAM = "pasla-worker"
# Without a service worker or the File System Access API (plain http to
# another machine), the page decrypts into memory up to this size.
BLOB_LIMIT = 256 << 20
_JS = Path(__file__).resolve().parent / "js"


@cache
def _script(name: str) -> str:
    return (_JS / "common.js").read_text() + "\n" + (_JS / name).read_text()


def asks_for_worker(request) -> bool:
    return request.GET.get(WORKER_PARAM) == "1"


def page_csp(nonce: str) -> str:
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        "connect-src 'self'; worker-src 'self'; frame-src 'self'; img-src data:; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )


def _worker() -> HttpResponse:
    response = HttpResponse(_script("worker.js"), content_type="text/javascript; charset=utf-8")
    response["Content-Security-Policy"] = "default-src 'none'; connect-src 'self'"
    response["Cache-Control"] = "no-store"
    return response


def render(request, share) -> HttpResponse:
    if asks_for_worker(request):
        return _worker()
    source = serving.open_source(share, 0, ece.HEAD_SIZE - 1)
    try:
        head = source.read(0, ece.HEAD_SIZE)
    finally:
        source.close()
    nonce = secrets.token_urlsafe(16)
    seconds_left = int(share.time_left.total_seconds())
    context = {
        "nonce": nonce,
        "head": base64.b64encode(head).decode("ascii"),
        "blob_limit": BLOB_LIMIT,
        "left_human": human_duration(seconds_left),
        "downloads_left": share.slots_left,
        "script": _script("page.js"),
    }
    body = render_to_string("shares/e2e.html", context)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = page_csp(nonce)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Vary"] = "Accept"
    return response
