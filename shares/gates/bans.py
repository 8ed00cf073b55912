"""Who may ask at all: the --allow-ip networks, and bans earned by guessing tokens."""

from django.conf import settings

from shares.config import runtime
from shares.download import context
from shares.gates import defences
from shares.gates.base import SAFE_METHODS, AsyncMiddleware, cache_call, guarded_path, off_loop
from shares.network import clients
from shares.web import responses


class AllowlistMiddleware(AsyncMiddleware):
    """--allow-ip: outside clients get 403 and never reach the strike counter.

    Behind a trusted proxy both the forwarded identity and the socket peer
    must be inside, so a spoofed header cannot open the door.
    """

    async def process(self, request):
        networks = runtime.current().allowed_networks
        inside = all(clients.is_allowed(ip, networks) for ip in request.client.addresses)
        if not inside and guarded_path(request):
            return responses.error(request, 403)
        return await self.get_response(request)


def _strike(ban_scope, addresses) -> list[str]:
    limits = settings.PASLA_LIMITS
    return defences.strike(
        ban_scope, addresses, threshold=limits.ban_threshold, max_banned=limits.max_banned_ips
    )


class BanMiddleware(AsyncMiddleware):
    """Banned addresses get 403 for everything; wrong guesses earn strikes.

    Only a path shaped like a real link counts: browser noise never bans.
    """

    async def process(self, request):
        if not guarded_path(request):
            return await self.get_response(request)
        scope = runtime.current().ban_scope()
        addresses = request.client.addresses
        banned = await cache_call(defences.remembered_ban, scope, addresses)
        if banned is None:
            banned = await off_loop(defences.is_banned)(scope, addresses)
        if banned:
            return responses.error(request, 403)
        response = await self.get_response(request)
        share = context.of(request)
        if not share.known and share.token and response.status_code == 404 and request.method in SAFE_METHODS:
            # A right token with a mangled file name is the recipient, not a guesser.
            await share.lookup()
        if share.wrong_token:
            await off_loop(_strike)(scope, addresses)
        return response
