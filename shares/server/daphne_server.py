"""daphne, adapted to serve large files to slow clients.

Why a subclass: stock daphne 4.2 writes each ASGI body message into the
Twisted transport and returns at once, ignoring the transport's pause
signal, so a slow client makes the process buffer the whole file in RAM.
Here every
response registers a push producer with its Twisted request, and `send()`
for a body chunk waits until the transport has drained. daphne's CLI offers
the same `server_class` hook for this.

Importing this module installs the asyncio reactor (daphne.server does it
at import): import it before anything touches twisted.internet.reactor.
"""

import asyncio
import functools
import logging
import time

import daphne.server  # noqa: F401  (installs the asyncio reactor first)
from daphne.http_protocol import HTTPFactory
from daphne.server import Server
from django.conf import settings
from twisted.internet import defer, reactor
from twisted.logger import globalLogBeginner
from twisted.web import http

from shares.config import runtime, site_paths
from shares.handling import client_gone
from shares.network import client_auth
from shares.server import guards, tls
from shares.server.channel import PaslaChannel, PaslaRequest
from shares.server.periodic import Every
from shares.server.sending import source_sender, tls_sender, zero_copy
from shares.server.speed_floor import SpeedWindow

log = logging.getLogger("pasla.server")

# How often a zero-copy response's end asks whether the client has every
# byte: soon at first (a fast client is nearly there), then less often.
DELIVERY_POLL_FIRST = 0.0002
DELIVERY_POLL_MAX = 0.05
# How often every response body in flight is measured against PASLA_MIN_SPEED.
SPEED_CHECK_INTERVAL = 1.0


class PaslaHTTPFactory(HTTPFactory):
    def __init__(self, server):
        super().__init__(server)
        # Twisted's idle timeout is a timer per connection; the connection
        # guard's single sweep does that job (and the header deadline).
        self.timeOut = None

    def acceptableProtocols(self):
        # HTTP/1.1 only, even if the h2 package appears: the connection
        # guard's deadlines follow HTTP/1.1 requests (PaslaRequest), and an
        # HTTP/2 connection would be cut at its header deadline.
        return [b"http/1.1"]

    def protocol(self):
        # Twisted's own factory function, with pasla's limits on the channel.
        return http._GenericHTTPChannelProtocol(PaslaChannel())

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = PaslaRequest
        protocol._channel.admin_prefix = self.admin_prefix
        return protocol

    @functools.cached_property
    def admin_prefix(self) -> bytes:
        return ("/" + site_paths.current().admin).encode()

    def log(self, request):
        # Twisted's own access line: formatted for every request, then
        # dropped by the only log observer PaslaServer.run installs.
        # pasla.access is the access log.
        return


def file_sender_for(channel_transport):
    """A function making the sender of file ranges on this connection, or None."""
    transport = zero_copy.plain_tcp_transport(channel_transport)
    if transport is not None:

        def plain(body, *args):
            if isinstance(body, int):
                return zero_copy.FileSender(transport, body, *args)
            return source_sender.SourceSender(transport, body, *args)

        return plain
    tls = tls_sender.tls_layer(channel_transport)
    transport = guards.innermost_transport(tls)
    if tls is None or not hasattr(transport, "socket"):
        return None
    return lambda *args: tls_sender.TLSFileSender(transport, tls, *args)


def delivery_transport(channel_transport):
    """The TCP transport whose queue tells when written bytes have gone out.

    Over TLS that is the one under the TLS layer: what it still holds is
    ciphertext of bytes already read from the file.
    """
    transport = zero_copy.plain_tcp_transport(channel_transport)
    if transport is not None:
        return transport
    transport = guards.innermost_transport(tls_sender.tls_layer(channel_transport))
    return transport if hasattr(transport, "socket") else None


class PaslaServer(Server):
    """daphne's Server listening on sockets we bound, with backpressure."""

    def __init__(
        self,
        application,
        listeners,
        *,
        stall_timeout: float,
        wrappers=(),
        limits=None,
        shared=None,
        zero_copy_sends: bool = True,
        **kwargs,
    ):
        kwargs.setdefault("server_name", "")  # no Server header at all
        kwargs.setdefault("signal_handlers", False)
        # daphne insists on endpoints; ours are adopted sockets instead.
        super().__init__(application, endpoints=["adopted"], **kwargs)
        self.pasla_listeners = listeners
        self.ports = []
        self.stall_timeout = stall_timeout
        self.factory = None
        # Each wrapper takes a Twisted factory and returns the one to listen
        # with, innermost first: e.g. TLS around HTTP, then connection guards
        # around TLS so they act before any handshake work.
        self.wrappers = list(wrappers)
        self.limits = limits
        self.shared_counts = shared
        self.zero_copy_sends = zero_copy_sends
        self.min_speed = 0
        self.min_speed_seconds = 0.0
        self._speed_check = None

    def wrap_factory(self, factory):
        for wrap in self.wrappers:
            factory = wrap(factory)
        # The transport guard is always there, always outermost.
        limits = self.limits or settings.PASLA_LIMITS
        self.start_speed_check(limits)
        wrap = guards.guard_wrapper(
            limits,
            behind_proxy=runtime.current().trust_proxy,
            shared=self.shared_counts,
            encrypted=bool(self.wrappers),
        )
        self.guard = wrap(factory)
        return self.guard

    def run(self):
        self.connections = {}
        self.http_factory = PaslaHTTPFactory(self)
        self.ws_factory = None
        globalLogBeginner.beginLoggingTo([lambda _: None], redirectStandardIO=False, discardBuffer=True)
        reactor.callLater(1, self.application_checker)
        reactor.callLater(2, self.timeout_checker)
        self.factory = self.wrap_factory(self.http_factory)
        for listener in self.pasla_listeners:
            port = reactor.adoptStreamPort(listener.sock.fileno(), listener.family, self.factory)
            listener.sock.close()  # Twisted holds its own duplicate
            self.ports.append(port)
            self.listening_addresses.append((port.getHost().host, port.getHost().port))
        asyncio.set_event_loop(reactor._asyncioEventloop)
        reactor.addSystemEventTrigger("before", "shutdown", self.kill_all_applications)
        if self.ready_callable:
            self.ready_callable()
        reactor.run(installSignalHandlers=False)

    def start_speed_check(self, limits) -> None:
        """One periodic check for every response in flight, not a timer per response."""
        self.min_speed, self.min_speed_seconds = limits.min_speed, limits.min_speed_seconds
        if self.min_speed > 0 and self._speed_check is None:
            interval = min(SPEED_CHECK_INTERVAL, self.min_speed_seconds / 3)
            self._speed_check = Every(interval, self.check_speeds)
            self._speed_check.start()

    def speed_window(self) -> SpeedWindow | None:
        if self.min_speed <= 0:
            return None
        return SpeedWindow(self.min_speed, self.min_speed_seconds)

    def check_speeds(self) -> None:
        now = time.monotonic()
        for protocol, details in list(self.connections.items()):
            window = getattr(protocol, "speed", None)
            if window is None or protocol.finished or details.get("disconnected") or protocol.channel is None:
                continue
            try:
                measured = protocol.body_taken()
                if measured is not None and window.observe(now, *measured):
                    log.info(
                        "transfer below %d bytes/s over %ss, closing the connection",
                        self.min_speed,
                        self.min_speed_seconds,
                    )
                    protocol.speed = None
                    protocol.cut_too_slow()
            except Exception:  # one odd connection must not stop the check for the others
                log.exception("measuring a transfer's speed failed")

    def stop_listening(self):
        ports, self.ports = self.ports, []
        return defer.DeferredList([defer.maybeDeferred(p.stopListening) for p in ports])

    def create_application(self, protocol, scope):
        # Offer server-sent file bodies where a sender exists: sendfile on
        # plain TCP, large encrypted pieces on TLS.
        extensions = dict(scope.get("extensions") or {})
        channel = getattr(protocol, "channel", None)
        if self.zero_copy_sends and file_sender_for(getattr(channel, "transport", None)) is not None:
            extensions[zero_copy.EXTENSION] = {}
        tls_layer = tls_sender.tls_layer(getattr(channel, "transport", None))
        if tls_layer is not None and (client := tls.client_fingerprint(tls_layer)):
            extensions[client_auth.EXTENSION] = {"sha256": client}
        # The application hears of a lost connection from us, directly.
        protocol.leave_notice = extensions[client_gone.EXTENSION] = client_gone.LeaveNotice()
        protocol.leave_notice.cut = protocol.cut
        return super().create_application(protocol, {**scope, "extensions": extensions})

    async def send_file(self, protocol, message):
        """One `pasla.response.sendfile` message: returns when its bytes left or the client did."""
        details = self.connections.get(protocol)
        if details is None or details.get("disconnected") or protocol.finished or protocol.channel is None:
            return
        make = file_sender_for(protocol.channel.transport)
        if make is None or not protocol._response_started:
            raise ValueError("pasla.response.sendfile needs a started response")
        if not protocol.startedWriting:
            http.Request.write(protocol, b"")  # the status line and headers, via Twisted
        report = message["progress"]

        def progress(size: int) -> None:
            protocol.file_bytes += size
            report(size)

        body = message["fd"] if "fd" in message else message["source"]
        sender = make(body, message["offset"], message["count"], progress, message.get("pacer"))
        transport = sender.transport
        log.debug("a file range goes out by %s", type(sender).__name__)
        protocol.sender = sender
        try:
            done = sender.start()
            moved = sender.delivered
            while not done.done():
                try:
                    async with asyncio.timeout(self.stall_timeout):
                        await asyncio.shield(done)
                except TimeoutError:
                    if sender.delivered == moved:
                        log.info("transfer stalled for %ss, closing the connection", self.stall_timeout)
                        sender.stop(zero_copy.ClientGone())
                        transport.abortConnection()
                    moved = sender.delivered
            problem = done.result()
            if problem is not None and str(problem):
                log.info("zero-copy send ended early: %s", problem)
        finally:
            sender.stop()
            protocol.sender = None

    async def wait_delivered(self, protocol, message):
        """One `pasla.response.delivered` message: returns once every byte
        written so far has gone out to the client (then calls
        message["arrived"]), or the client has left, or stalled for the stall
        timeout (cut, as a stalled send is)."""
        details = self.connections.get(protocol)
        if details is None or details.get("disconnected") or protocol.finished or protocol.channel is None:
            return
        transport = delivery_transport(protocol.channel.transport)
        if transport is None:
            raise ValueError("pasla.response.delivered needs a connection that file ranges are sent on")
        left = zero_copy.unsent(transport) if protocol.startedWriting else 0
        delay, moved_at = DELIVERY_POLL_FIRST, asyncio.get_running_loop().time()
        while left > 0:
            await asyncio.sleep(delay)
            if details.get("disconnected") or transport.disconnecting or transport.disconnected:
                return
            now, before, left = asyncio.get_running_loop().time(), left, zero_copy.unsent(transport)
            if left < before:
                moved_at = now
            elif now - moved_at >= self.stall_timeout:
                log.info("transfer stalled for %ss, closing the connection", self.stall_timeout)
                transport.abortConnection()
                return
            delay = min(delay * 1.25, DELIVERY_POLL_MAX)
        message["arrived"]()

    async def handle_reply(self, protocol, message):
        if message.get("type") == zero_copy.MESSAGE:
            await self.send_file(protocol, message)
            return
        if message.get("type") == zero_copy.DELIVERED:
            await self.wait_delivered(protocol, message)
            return
        await super().handle_reply(protocol, message)
        if message.get("type") != "http.response.body" or not message.get("more_body"):
            return
        gate = getattr(protocol, "gate", None)
        if gate is None or not gate.paused:
            return
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns
            # normally when it is cancelled just as the gate opens, which is
            # exactly when a client leaves (the lost connection does both),
            # and the body went on "sending" to a closed connection.
            async with asyncio.timeout(self.stall_timeout):
                await gate.wait()
        except TimeoutError:
            # The client stopped reading: a slow-read attack or a dead peer.
            log.info("transfer stalled for %ss, closing the connection", self.stall_timeout)
            transport = getattr(protocol.channel, "transport", None)
            if transport is not None:
                transport.abortConnection()
            # No exception: the lost connection reaches Django as a client
            # disconnect, which closes the body generator and records the
            # download as aborted. Raising here instead pinned the generator
            # in a traceback: the download stayed "in progress" and the
            # shutdown drain waited for it.

    def kill_all_applications(self):
        # daphne's version assumes every connection has an application
        # instance; one still reading its headers does not.
        wait_for = []
        for details in self.connections.values():
            instance = details.get("application_instance")
            if instance is not None and not instance.done():
                instance.cancel()
                wait_for.append(instance)
        deferred = defer.Deferred.fromFuture(asyncio.gather(*wait_for, return_exceptions=True))
        deferred.addErrback(lambda _: None)
        return deferred

    def requests_in_flight(self) -> int:
        """Requests whose application has not finished (answer not yet sent)."""
        return sum(
            1
            for details in self.connections.values()
            if (instance := details.get("application_instance")) is not None and not instance.done()
        )

    def open_connections(self) -> int:
        return sum(1 for d in self.connections.values() if "disconnected" not in d)
