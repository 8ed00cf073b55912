"""Request gates and response headers for every path.

All middleware here is async-native: in an ASGI stack a sync-only
middleware would push every request through a thread hop.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from shares import responses
from shares.identity import normalize_ip

SAFE_METHODS = ("GET", "HEAD")
DEFAULT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def is_admin_path(path: str) -> bool:
    return path.startswith("/" + settings.PASLA_ADMIN_PATH)


class AsyncMiddleware:
    """Base for middleware with one `process(request, get_response)` coroutine."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        if not iscoroutinefunction(get_response):
            raise RuntimeError(f"{type(self).__name__} needs an async stack")
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        return await self.process(request)

    async def process(self, request):
        return await self.get_response(request)


class SecurityHeadersMiddleware(AsyncMiddleware):
    async def process(self, request):
        request.client_ip = normalize_ip(request.META.get("REMOTE_ADDR")) or "0.0.0.0"
        response = await self.get_response(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        if not is_admin_path(request.path):
            response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        return response


class MethodGateMiddleware(AsyncMiddleware):
    """Shares are read-only: anything but GET/HEAD outside the admin is 405."""

    async def process(self, request):
        if request.method not in SAFE_METHODS and not is_admin_path(request.path):
            return responses.error(request, 405, headers={"Allow": "GET, HEAD"})
        return await self.get_response(request)
