"""Which methods a path answers: shares are read-only."""

from shares.download.context import token_in
from shares.gates.base import AsyncMiddleware, method_allowed
from shares.web import responses


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
