"""Who is asking: the socket peer, or a trusted proxy's word for the client."""

from shares.config import runtime
from shares.gates.base import AsyncMiddleware
from shares.network import clients


class ClientIdentityMiddleware(AsyncMiddleware):
    """Sets request.client (identity and socket peer) and request.client_ip.

    Proxy headers are read only with --trust-proxy; Django and daphne are
    never told about them, so nothing else can be fooled either.
    """

    async def process(self, request):
        process = runtime.current()
        header = None
        if process.trust_proxy:
            header = request.headers.get(process.trust_header or "X-Forwarded-For")
        request.client = clients.identify(
            request.META.get("REMOTE_ADDR"),
            header,
            trust_proxy=process.trust_proxy,
            trust_header=process.trust_header,
        )
        request.client_ip = request.client.ip
        return await self.get_response(request)
