"""`pasla relay`'s server: pasla's daphne with the sender backend beside it.

The public side is the normal stack (guards, TLS, the gates, the access
log); share paths go to shares/relay/views.py instead of the share table.
RelayServer adds one ASGI message, PIPE_MESSAGE, which pipes a sender's
response body into the recipient's connection at the Twisted level.
"""

import asyncio
import logging

from django.conf import settings

from shares import tokens
from shares.config import runtime
from shares.handling import outage
from shares.relay import service, store
from shares.relay.backend import sniffing_wrapper
from shares.relay.exchange import PIPE_MESSAGE
from shares.server.daphne_server import PaslaServer
from shares.server.runner import ShareRunner
from shares.server.serve_runner import ServeRunner

log = logging.getLogger("pasla.relay")


class RelayServer(PaslaServer):
    async def handle_reply(self, protocol, message):
        if message.get("type") == PIPE_MESSAGE:
            await self.pipe(protocol, message["exchange"])
            return
        await super().handle_reply(protocol, message)

    async def pipe(self, protocol, exchange):
        details = self.connections.get(protocol)
        if details is None or details.get("disconnected") or protocol.finished or protocol.channel is None:
            exchange.abort()
            return
        try:
            complete = await exchange.attach(protocol)
        except asyncio.CancelledError:
            exchange.abort()  # the recipient left: the sender hears it by its connection closing
            raise
        if not complete and protocol.channel is not None and protocol.channel.transport is not None:
            # Headers with a length are out: a cut body must look cut to the recipient.
            protocol.channel.transport.abortConnection()


def known_route(token: str, scope_ids=None):
    """The rate and ban gates' question on a relay: does this token open something here?"""
    if not tokens.looks_like_token(token):
        return None
    route = tokens.digest(token)
    relay = service.current
    if relay is not None and relay.hub.online(route):
        return route
    return route if store.registered(route) else None


def configure(limits) -> service.RelayState:
    """Point this process's Django at the relay's URLs and state; before the first request."""
    settings.ROOT_URLCONF = "shares.relay.urls"
    state = service.RelayState(
        prefix=settings.PASLA_URL_PREFIX,
        max_per_sender=limits.relay_sender_connections,
        sender_rate=limits.relay_sender_rate,
        answer_timeout=limits.relay_answer_timeout,
    )
    service.current = state
    runtime.look_up_tokens_with(known_route)
    return state


class RelayRunner(ServeRunner):
    """Serves until SIGTERM/SIGINT; its watchdog reads the sender table, not shares."""

    def __init__(self, listeners, limits, *, wrappers=(), on_ready=None):
        self.state = configure(limits)
        super().__init__(listeners, limits, on_ready=on_ready)
        self.signals = ShareRunner.signals
        self.wrappers = [sniffing_wrapper(self.state), *wrappers]
        self.server_class = RelayServer

    def _settle(self):
        return self.state.poll_senders()

    def _checked(self, future):
        try:
            present = future.result()
        except Exception as exc:
            if not outage.note_failure(exc):
                log.exception("could not read the relay's senders")
            return
        self.state.senders_are(present)

    def _on_signal(self, signum):
        # A relay holds no transfer of its own to finish: bodies in flight are
        # cut (recipients resume with Range) and senders reconnect to the next one.
        log.info("relay stopping")
        self._begin_end("stopped")
        self._stop_reactor()
