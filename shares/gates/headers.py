"""The headers every answer carries: no sniffing, no framing, no referrer, a strict CSP."""

from shares.gates.base import AsyncMiddleware, is_admin_path

DEFAULT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


# The admin ships its own scripts and styles (served under the admin path);
# it needs inline styles, nothing external.
ADMIN_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware(AsyncMiddleware):
    async def process(self, request):
        response = await self.get_response(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Over HTTPS, Django's CSRF check wants a same-origin Referer on the
        # admin's forms; everywhere else the URL (the token) must not leak.
        admin = is_admin_path(request.path_info)
        response.headers.setdefault("Referrer-Policy", "same-origin" if admin else "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Content-Security-Policy", ADMIN_CSP if admin else DEFAULT_CSP)
        return response
