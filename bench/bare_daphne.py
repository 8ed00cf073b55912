"""The stack's own floor: daphne serving a Django view that returns a file, and nothing else.

    python bench/bare_daphne.py DIR PORT [--https]

No middleware, no database, no token, no slot, no history: an async view
that reads DIR/NAME and returns it. Whatever time to first byte this has is
what daphne, Twisted and Django cost before pasla does anything, so
bench/run.py --floor times it beside pasla (a target below it is below the
floor of the stack pasla is built on). With --https it serves through
Twisted's TLS with an ephemeral ECDSA P-256 certificate, as pasla --https does.
"""

import sys
import tempfile
from pathlib import Path

import django
from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import path

ROOT = None


async def serve(request, name: str):
    target = ROOT / name
    if "/" in name or not target.is_file():
        raise Http404
    return HttpResponse(target.read_bytes(), content_type="application/octet-stream")


urlpatterns = [path("<str:name>", serve)]


def endpoint(port: int, https: bool, work: Path) -> str:
    if not https:
        return f"tcp:port={port}:interface=127.0.0.1"
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ssl_file_server import ephemeral_context

    ephemeral_context(work)  # writes cert.pem and key.pem
    return f"ssl:port={port}:interface=127.0.0.1:privateKey={work / 'key.pem'}:certKey={work / 'cert.pem'}"


def main() -> int:
    global ROOT
    ROOT = Path(sys.argv[1]).resolve()
    port = int(sys.argv[2])
    https = "--https" in sys.argv[3:]
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()
    from daphne.server import Server
    from django.core.asgi import get_asgi_application

    with tempfile.TemporaryDirectory(prefix="bare-daphne-") as work:
        Server(get_asgi_application(), endpoints=[endpoint(port, https, Path(work))], verbosity=0).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
