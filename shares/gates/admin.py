"""The admin's gates: its networks, its login throttle, its cookies and its own middleware chain."""

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from shares.config import site_paths
from shares.gates import admin_gate, login_throttle
from shares.gates.base import AsyncMiddleware, is_admin_path, is_ops_path, off_loop
from shares.web import responses


class AdminGateMiddleware(AsyncMiddleware):
    """Outside the admin networks, an admin path is just an unknown path.

    The request's path is replaced before URL resolution by one no route
    matches, so the rest of the stack (allowlist, bans, rate limit, method
    gate, the 404 handler) answers it byte for byte as it answers any
    unknown path, and no admin view, redirect or static file runs. The
    check is on path_info, the very string the URL resolver matches.
    """

    UNKNOWN = "/.pasla/not-found"

    async def process(self, request):
        gated = is_admin_path(request.path_info) or is_ops_path(request.path_info)
        if gated and not admin_gate.admitted(request.client.addresses, settings.PASLA_ADMIN_NETWORKS):
            request.path = request.path_info = self.UNKNOWN
            request.META["PATH_INFO"] = self.UNKNOWN
        return await self.get_response(request)


def _charge_login(ip: str) -> login_throttle.Attempt:
    limits = settings.PASLA_LIMITS
    return login_throttle.charge(
        ip,
        limit=limits.admin_login_attempts,
        window=limits.admin_login_window,
        max_rows=limits.max_tracked_ips,
    )


@receiver(user_login_failed)
def _password_refused(sender, credentials, request=None, **kwargs):
    # Django's authenticate() says so only when it checked the credentials.
    if request is not None:
        request.pasla_password_refused = True


class AdminLoginThrottleMiddleware(AsyncMiddleware):
    """Refused admin passwords per client address, bounded (first in ADMIN_MIDDLEWARE).

    The admin networks skip the share rate limit, so without this a client
    inside them could guess passwords as fast as the server answers. Each
    login POST is counted before it runs and refunded unless its password
    was checked and refused (shares/gates/login_throttle.py): past the limit the
    form answers 429 whatever is posted, so a guess made then learns
    nothing, and costs nothing, so the lockout ends when Retry-After said.
    """

    async def process(self, request):
        if request.method != "POST" or request.path_info != site_paths.current().admin_login:
            return await self.get_response(request)
        attempt = await off_loop(_charge_login)(request.client.ip)
        if not attempt.verdict.allowed:
            await off_loop(login_throttle.refund)(attempt)
            return responses.error(request, 429, headers={"Retry-After": str(attempt.verdict.retry_after)})
        response = await self.get_response(request)
        if not getattr(request, "pasla_password_refused", False):
            await off_loop(login_throttle.refund)(attempt)
        return response


class AdminCookiesMiddleware(AsyncMiddleware):
    """Over HTTPS the admin's session and CSRF cookies are Secure (outermost in ADMIN_MIDDLEWARE).

    Whether a server speaks TLS is known per request, not in settings, and
    over plain HTTP a browser would drop a Secure cookie.
    """

    async def process(self, request):
        response = await self.get_response(request)
        if request.is_secure():
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                if name in response.cookies:
                    response.cookies[name]["secure"] = True
        return response


class AdminOnlyMiddleware(AsyncMiddleware):
    """Sessions, CSRF, auth and messages, for admin paths only.

    Downloads skip them entirely: no cookie parsing, no session lookup,
    nothing on the time to first byte.
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        chain = get_response
        for dotted in reversed(settings.ADMIN_MIDDLEWARE):
            chain = import_string(dotted)(chain)
        self.admin_chain = chain

    async def process(self, request):
        if is_admin_path(request.path_info):
            return await self.admin_chain(request)
        return await self.get_response(request)
