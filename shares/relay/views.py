"""The relay's public side: a share path is answered by its sender, through the tunnel.

The request has met the relay's gates (allowlist, bans, rate limit, method)
like any other; this view only finds the sender's connection, hands it the
request, and returns the sender's status and headers with a body that the
server pipes straight from the sender's socket (RelayServer).
"""

import asyncio
import logging

from django.http import StreamingHttpResponse

from shares import tokens
from shares.download import context
from shares.handling import offload
from shares.relay import framing, service, store
from shares.relay.exchange import PIPE_MESSAGE
from shares.relay.hub import SenderGone
from shares.web import responses

log = logging.getLogger("pasla.relay")


class Route:
    """What a relayed token opens, for the gates and the access log: `share:relay-<digest prefix>`."""

    def __init__(self, digest: str):
        self.id = "relay-" + digest[:12]


class RelayedResponse(StreamingHttpResponse):
    """The sender's answer; its body is piped by the server, not iterated here."""

    asgi_send = None  # set by pasla_site.asgi's handler just before sending
    transfer = None  # the Exchange: the access log reads its `sent`
    close_may_block = False


async def _piped_body(response, exchange):
    if exchange.framing.kind != "none":
        await response.asgi_send({"type": PIPE_MESSAGE, "exchange": exchange})
    return
    yield  # an (empty) async generator: the bytes go out beside Django, not through it


def _target(request, prefix: str) -> str:
    """The path and query the sender's server should see: below the relay's prefix, still encoded."""
    raw = request.scope.get("raw_path") or request.path.encode()
    path = raw.decode("latin-1")[len(prefix) :]
    query = request.scope.get("query_string") or b""
    return path + ("?" + query.decode("latin-1") if query else "")


def _headers(request) -> framing.Headers:
    fields = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope.get("headers", ())]
    fields = [(k, v) for k, v in fields if k.lower() != "x-request-id"]
    # One id in both access logs: the relay's (hex, so the sender echoes it).
    fields.append(("X-Request-ID", request.pasla_request_id))
    return fields


def _offline(request, status: int):
    """502: the sender is not connected; 504: it did not answer in time."""
    return responses.error(request, status)


async def relayed(request, token: str, name: str):
    relay = service.current
    route = tokens.digest(token)
    if not relay.hub.online(route):
        if tokens.looks_like_token(token) and await offload.hop(store.registered)(route):
            context.of(request).opened(Route(route))
            return _offline(request, 502)
        context.of(request).record(None)  # a guess: the ban gate strikes it
        return responses.error(request, 404)
    context.of(request).opened(Route(route))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + relay.answer_timeout
    try:
        conn = await relay.hub.listen_for(route, relay.answer_timeout)
    except SenderGone:
        return _offline(request, 502)
    except TimeoutError:
        return _offline(request, 504)
    package = framing.package_request(
        request.method, _target(request, relay.prefix), _headers(request), request.body
    )
    exchange = conn.dispatch(package, request.client_ip, relay.hub.waiting(route), request.method)
    try:
        async with asyncio.timeout_at(deadline):
            head = await asyncio.shield(exchange.head)
    except TimeoutError:
        exchange.abort()
        return _offline(request, 504)
    except SenderGone:
        return _offline(request, 502)
    except asyncio.CancelledError:
        exchange.abort()
        raise
    except framing.FramingError:
        exchange.abort()
        return _offline(request, 502)
    response = RelayedResponse(status=head.status)
    response.streaming_content = _piped_body(response, exchange)
    response.transfer = exchange
    for key, value in framing.forwardable(head.headers):
        response[key] = value
    length = head.get("content-length")
    if length is not None and exchange.framing.kind in ("length", "none"):
        response["Content-Length"] = length
    return response
