"""Request gates and response headers for every path.

All middleware here is async-native: in an ASGI stack a sync-only
middleware would push every request through a thread hop.
"""

import functools
import logging
import re
import secrets
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from shares import services
from shares.config import runtime, site_paths
from shares.config.logs import current_request_id
from shares.gates import admin_gate, defences, identity, login_throttle, probes, request_ids
from shares.handling import offload
from shares.network import client_auth
from shares.operator import metrics
from shares.tokens import fingerprint
from shares.web import responses

access_log = logging.getLogger("pasla.access")

SAFE_METHODS = ("GET", "HEAD")
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


def is_admin_path(path: str) -> bool:
    # Under PASLA_URL_PREFIX like everything else.
    return admin_gate.is_admin_path(path, site_paths.current().admin)


def is_ops_path(path: str) -> bool:
    """/healthz and /metrics: monitoring, behind the same network gate as the admin."""
    return path in site_paths.current().ops


def token_in(path: str) -> str | None:
    """The token-shaped segment of a share-shaped path below PASLA_URL_PREFIX."""
    prefix = site_paths.current().prefix
    if prefix:
        if not path.startswith(prefix + "/"):
            return None
        path = path[len(prefix) :]
    return probes.token_segment(path)


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


def method_allowed(request) -> bool:
    """Whether this path answers this method: the method gate and the rate gate's token exemption ask here.

    POST is answered on a share's URL only: the landing page's button.
    """
    if request.method in SAFE_METHODS or is_admin_path(request.path_info):
        return True
    return request.method == "POST" and token_in(request.path_info) is not None


class MethodGateMiddleware(AsyncMiddleware):
    """Shares are read-only: anything but GET/HEAD outside the admin is 405.

    The one exception is POST to a share's URL: the landing page's button.
    """

    async def process(self, request):
        if not method_allowed(request):
            share_shaped = token_in(request.path_info) is not None
            allow = "GET, HEAD, POST" if share_shaped else "GET, HEAD"
            return responses.error(request, 405, headers={"Allow": allow})
        return await self.get_response(request)


# --- who is asking, and may they --------------------------------------------


# Database work (and anything that may wait on it) runs on the executor.
off_loop = offload.hop


async def cache_call(fn, *args):
    """Cache work: inline for local memory, off the loop for a networked cache."""
    if defences.cache_is_local():
        return fn(*args)
    return await off_loop(fn)(*args)


class ClientIdentityMiddleware(AsyncMiddleware):
    """Sets request.client (identity and socket peer) and request.client_ip.

    Proxy headers are read only with --trust-proxy; Django and daphne are
    never told about them, so nothing else can be fooled either.
    """

    async def process(self, request):
        header = None
        if runtime.trust_proxy:
            header = request.headers.get(runtime.trust_header or "X-Forwarded-For")
        request.client = identity.identify(
            request.META.get("REMOTE_ADDR"),
            header,
            trust_proxy=runtime.trust_proxy,
            trust_header=runtime.trust_header,
        )
        request.client_ip = request.client.ip
        return await self.get_response(request)


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
        from django.utils.module_loading import import_string

        chain = get_response
        for dotted in reversed(settings.ADMIN_MIDDLEWARE):
            chain = import_string(dotted)(chain)
        self.admin_chain = chain

    async def process(self, request):
        if is_admin_path(request.path_info):
            return await self.admin_chain(request)
        return await self.get_response(request)


def guarded_path(request) -> bool:
    """The admin and monitoring have their own gate (loopback by default); shares have these."""
    return not (is_admin_path(request.path_info) or is_ops_path(request.path_info))


class AllowlistMiddleware(AsyncMiddleware):
    """--allow-ip: outside clients get 403 and never reach the strike counter.

    Behind a trusted proxy both the forwarded identity and the socket peer
    must be inside, so a spoofed header cannot open the door.
    """

    async def process(self, request):
        networks = runtime.allowed_networks
        inside = all(identity.is_allowed(ip, networks) for ip in request.client.addresses)
        if not inside and guarded_path(request):
            return responses.error(request, 403)
        return await self.get_response(request)


def _strike(ban_scope, addresses) -> list[str]:
    limits = settings.PASLA_LIMITS
    return defences.strike(
        ban_scope, addresses, threshold=limits.ban_threshold, max_banned=limits.max_banned_ips
    )


def _strike_unless_ours(token: str, scope_ids, ban_scope, addresses) -> list[str]:
    # A right token with a mangled file name is the recipient, not a guesser.
    if (runtime.token_lookup or services.share_for_token)(token, scope_ids) is not None:
        return []
    return _strike(ban_scope, addresses)


class BanMiddleware(AsyncMiddleware):
    """Banned addresses get 403 for everything; wrong guesses earn strikes.

    Only a path shaped like a real link counts: browser noise never bans.
    """

    async def process(self, request):
        if not guarded_path(request):
            return await self.get_response(request)
        scope = runtime.ban_scope()
        addresses = request.client.addresses
        banned = await cache_call(defences.remembered_ban, scope, addresses)
        if banned is None:
            banned = await off_loop(defences.is_banned)(scope, addresses)
        if banned:
            return responses.error(request, 403)
        response = await self.get_response(request)
        if getattr(request, "pasla_wrong_token", False):
            # The rate gate already checked this token and found it wrong.
            await off_loop(_strike)(scope, addresses)
        elif response.status_code == 404 and request.method in SAFE_METHODS:
            token = token_in(request.path_info)
            if token:
                await off_loop(_strike_unless_ours)(token, runtime.scope, scope, addresses)
        return response


def rate_headers(verdict, *, limited: bool) -> dict[str, str]:
    reset = verdict.retry_after if limited else verdict.reset_after
    headers = {
        "RateLimit-Limit": str(verdict.limit),
        "RateLimit-Remaining": "0" if limited else str(verdict.remaining),
        "RateLimit-Reset": str(reset),
    }
    if limited:
        headers["Retry-After"] = str(verdict.retry_after)
    return headers


def _charge_client(client) -> list:
    limits = settings.PASLA_LIMITS
    charges = [
        defences.charge(
            "ip", client.ip, limit=limits.rate_limit_max_requests, window=limits.rate_limit_window
        )
    ]
    if runtime.trust_proxy:
        # Everyone behind the proxy shares one budget too, so rotating the
        # forwarded address cannot buy unlimited requests.
        charges.append(
            defences.charge(
                "proxy", client.peer, limit=limits.max_requests_per_proxy_ip, window=limits.rate_limit_window
            )
        )
    return charges


class RateLimitMiddleware(AsyncMiddleware):
    """Sliding-window limit per identity (and per proxy peer), 429 beyond it.

    A request carrying the right token is exempt: a resumable or
    multi-segment download must never be throttled. It is counted first and
    refunded once the view has recognised the token, so the common case
    costs no extra database work. A method the path does not answer is no
    download, token or not: it is counted, and gets 429 once over the limit.
    """

    async def process(self, request):
        if not guarded_path(request):
            return await self.get_response(request)
        charges = await cache_call(_charge_client, request.client)
        denied = [c.verdict for c in charges if not c.verdict.allowed]
        if denied:
            token = token_in(request.path_info) if method_allowed(request) else None
            lookup = runtime.token_lookup or services.share_for_token
            if token and await off_loop(lookup)(token, runtime.scope) is not None:
                await cache_call(defences.refund, charges)
                return await self.get_response(request)
            if token:
                # Still a guess, even unanswered: it must cost a strike.
                request.pasla_wrong_token = True
            worst = max(denied, key=lambda v: v.retry_after or 0)
            return responses.error(request, 429, headers=rate_headers(worst, limited=True))
        response = await self.get_response(request)
        if getattr(request, "pasla_share_id", None):
            await cache_call(defences.refund, charges)
            return response
        tightest = min((c.verdict for c in charges), key=lambda v: v.remaining)
        for key, value in rate_headers(tightest, limited=False).items():
            response.headers.setdefault(key, value)
        return response


# --- one line per request ---------------------------------------------------

_PLAIN_METHOD = re.compile(r"^[A-Za-z]{1,16}$")


def describe_target(request) -> str:
    """What was asked for, never the token: a share id or a digest of the path."""
    share_id = getattr(request, "pasla_share_id", None)
    if share_id:
        return f"share:{share_id}"
    if is_admin_path(request.path_info):
        return "admin"
    return f"path#{fingerprint(request.path_info)}"


def request_id_for(request) -> str:
    """The client's X-Request-ID if request_ids finds it safe to echo and log, else one of ours."""
    offered = request.headers.get("X-Request-ID", "")
    token = token_in(request.path_info)
    if request_ids.acceptable(offered) and not (token and token in offered):
        return offered
    return secrets.token_hex(8)


class AccessLogMiddleware(AsyncMiddleware):
    """`pasla.access`: client, method, target, status, bytes, time.

    Every line is written after the answer went out: streamed bodies when
    the stream ends (complete or cut), with the bytes actually handed to
    the server, others when the response is closed. Every response carries the
    request's X-Request-ID, and so does every log line written for it.
    """

    async def process(self, request):
        started = time.monotonic()
        request.pasla_request_id = request_id_for(request)
        current_request_id.set(request.pasla_request_id)
        response = await self.get_response(request)
        response["X-Request-ID"] = request.pasla_request_id
        if response.streaming:
            inner = response.streaming_content
            counted = self._counted if response.is_async else self._counted_sync
            transfer = getattr(response, "transfer", None)
            response.streaming_content = counted(request, response.status_code, inner, started, transfer)
        else:
            size = 0 if request.method == "HEAD" else len(response.content)
            # Written when Django closes the response, once it has been
            # sent: the line cost time before the first byte otherwise.
            response._resource_closers.append(
                functools.partial(self._log, request, response.status_code, size, started)
            )
        return response

    async def _counted(self, request, status, inner, started, transfer=None):
        sent = 0
        metrics.transfer_started()
        try:
            async for part in inner:
                yield part
                sent += len(part)
        finally:
            metrics.transfer_ended()
            # A transfer knows what left, zero-copy bytes included.
            self._log(request, status, sent if transfer is None else transfer.sent, started)

    def _counted_sync(self, request, status, inner, started, transfer=None):
        sent = 0
        metrics.transfer_started()
        try:
            for part in inner:
                yield part
                sent += len(part)
        finally:
            metrics.transfer_ended()
            # A transfer knows what left, zero-copy bytes included.
            self._log(request, status, sent if transfer is None else transfer.sent, started)

    @staticmethod
    def _log(request, status: int, size: int, started: float) -> None:
        metrics.response_sent(status, size)
        client = getattr(request, "client_ip", None) or identity.normalize_ip(request.META.get("REMOTE_ADDR"))
        method = request.method if _PLAIN_METHOD.match(request.method or "") else "-"
        cert = client_auth.fingerprint_of(getattr(request, "scope", None) or {})
        access_log.info(
            "%s %s %s %d %dB %.3fs%s",
            client or "-",
            method,
            describe_target(request),
            status,
            size,
            time.monotonic() - started,
            f" cert={cert}" if cert else "",
            extra={"pasla_safe": True, "request_id": getattr(request, "pasla_request_id", "")},
        )
