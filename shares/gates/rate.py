"""How often one client may ask: sliding windows per identity and per proxy peer."""

from django.conf import settings

from shares.config import runtime
from shares.download import context
from shares.gates import defences
from shares.gates.base import AsyncMiddleware, cache_call, guarded_path, method_allowed
from shares.web import responses


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
    if runtime.current().trust_proxy:
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
            share = context.of(request)
            # A guess is looked up too, even unanswered: it must cost a strike.
            if share.token and method_allowed(request) and await share.lookup() is not None:
                await cache_call(defences.refund, charges)
                return await self.get_response(request)
            worst = max(denied, key=lambda v: v.retry_after or 0)
            return responses.error(request, 429, headers=rate_headers(worst, limited=True))
        response = await self.get_response(request)
        if context.of(request).share_id:
            await cache_call(defences.refund, charges)
            return response
        tightest = min((c.verdict for c in charges), key=lambda v: v.remaining)
        for key, value in rate_headers(tightest, limited=False).items():
            response.headers.setdefault(key, value)
        return response
