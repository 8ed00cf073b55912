"""The relay's backend: sender connections on the public port (Twisted glue).

A connection whose first request line is `POST <prefix>/_relay/listen` (or
`leave`) is a sender's; anything else goes to the HTTP server untouched
(`Sniffer`). A listen is authenticated by key (off the loop), then held:
the relay answers it with `100 Continue` at once, then with a recipient's
request (200) when one comes, or `204` after LISTEN_HOLD seconds so the
sender knows the path is alive and listens again on the same connection.
After a 200 the connection carries the sender's response (exchange.py) and
is closed when it ends.
"""

import asyncio
import logging
import socket

from twisted.internet.protocol import Protocol
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from zope.interface import directlyProvides, providedBy

from shares.handling import offload
from shares.relay import framing
from shares.relay.exchange import Exchange
from shares.server import guards

log = logging.getLogger("pasla.relay")

# How long a listen is held before the relay answers 204 (NAT mappings and
# dead peers are found within this), and how long an authenticated
# connection may then take to send its next listen.
LISTEN_HOLD = 25.0
RELISTEN_DEADLINE = 10.0
SNIFF_MAX = 8 * 1024
# Asked of the kernel for a sender's socket (it doubles it for bookkeeping):
# about 2 MiB in flight, 40 MB/s at a 50 ms round trip.
RECEIVE_BUFFER = 2 << 20
# Bytes read from a sender's socket at a time: fewer, larger reads per body.
READ_SIZE = 256 * 1024


class BackendConnection(Protocol):
    def __init__(self, relay):
        self.relay = relay  # shares.relay.service.RelayState
        self.state = "head"
        self.buffer = b""
        self.sender_id = None
        self.routes: frozenset[str] = frozenset()
        self.counted = False
        self.exchange = None
        self.timer = None

    def connectionMade(self):
        transport = guards.innermost_transport(self.transport)
        if hasattr(transport, "bufferSize"):
            transport.bufferSize = READ_SIZE
        handle = getattr(transport, "getHandle", lambda: None)()
        if isinstance(handle, socket.socket):
            # A fixed receive buffer: autotuned, it grew to 32 MiB on a test
            # machine, all of it counted as delivered by the sender (whose
            # resume overlap is 16 MiB) before the recipient had any of it.
            handle.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)

    # --- reading ------------------------------------------------------------------

    def dataReceived(self, data):
        if self.state == "body":
            self.exchange.feed(data)
            return
        if self.state not in ("head", "answering"):
            self.fail("unexpected bytes from a sender")
            return
        self.buffer += data
        try:
            split = framing.split_head(self.buffer)
            while split is not None:
                head_bytes, self.buffer = split
                if self.state == "head":
                    self.listen(framing.parse_request(head_bytes))
                    return
                head = framing.parse_response(head_bytes)
                if head.status >= 200:
                    self.state = "body"
                    self.cancel_timer()
                    rest, self.buffer = self.buffer, b""
                    self.exchange.head_arrived(head, rest)
                    return
                split = framing.split_head(self.buffer)  # an interim 1xx: skip it
        except framing.FramingError as exc:
            self.fail(f"malformed sender message ({exc})")

    def fail(self, why: str) -> None:
        log.info("sender connection closed: %s", why)
        if self.state in ("head", "authorizing") and not self.counted:
            self.transport.write(framing.refusal(400, "Bad Request"))
            self.transport.loseConnection()
        else:
            self.transport.abortConnection()
        self.state = "closed"

    def refuse(self, status: int, reason: str, retry_after: int | None = None) -> None:
        self.state = "closed"
        self.transport.write(framing.refusal(status, reason, retry_after))
        self.transport.loseConnection()

    # --- a listen -----------------------------------------------------------------

    def listen(self, head: framing.Head) -> None:
        method, target = head.first
        endpoint = framing.backend_path(target.split("?", 1)[0], self.relay.prefix)
        if method != "POST" or endpoint is None:
            self.refuse(404, "Not Found")
            return
        if head.get("content-length") not in (None, "0") or head.get("transfer-encoding") is not None:
            self.refuse(400, "Bad Request")
            return
        routes = framing.parse_routes(head.get("pasla-routes"))
        key = framing.bearer(head.get("authorization"))
        if self.counted and frozenset(r.digest for r in routes) != self.routes:
            self.refuse(400, "Bad Request")  # a connection keeps the routes it started with
            return
        self.state = "authorizing"
        self.pause_reading()
        leave = endpoint == framing.LEAVE_PATH
        pending = offload.submit(self.relay.authorize, key, routes, leave)
        pending.add_done_callback(lambda f: self.authorized(f, routes, leave))

    def authorized(self, future, routes, leave: bool) -> None:
        if self.state != "authorizing":
            return  # the connection closed meanwhile
        self.resume_reading()
        try:
            verdict, sender_id = future.result()
        except Exception:
            log.exception("could not check a sender's key")
            self.refuse(503, "Service Unavailable", retry_after=5)
            return
        if verdict == "refused":
            log.info("a sender's key was refused")
            self.refuse(401, "Unauthorized")
            return
        if verdict == "taken":
            self.refuse(409, "Conflict")
            return
        if leave:
            self.refuse(200, "OK")
            return
        if not self.counted:
            if not self.relay.hub.admit(sender_id):
                self.refuse(429, "Too Many Requests", retry_after=1)
                return
            guard = guards.guard_of(self.transport)
            if guard is not None:
                # From here the sender's own caps count this connection, not the per-address ones.
                guard.request_started()
                guard.factory.forget(guard)
            self.sender_id = sender_id
            self.routes = frozenset(r.digest for r in routes)
            self.counted = True
            self.relay.hub.connected(self)
        self.state = "held"
        self.transport.write(framing.LISTEN_HELD)
        if not self.relay.hub.hold(self):
            self.set_timer(LISTEN_HOLD, self.hold_over)

    def hold_over(self) -> None:
        if self.state != "held":
            return
        self.relay.hub.unhold(self)
        self.state = "head"
        self.transport.write(framing.LISTEN_IDLE)
        self.set_timer(RELISTEN_DEADLINE, self.relisten_late)

    def relisten_late(self) -> None:
        if self.state == "head":
            self.transport.abortConnection()

    # --- answering a recipient's request -----------------------------------------

    def dispatch(self, package: bytes, client_ip: str, waiting: int, method: str) -> Exchange:
        """Hand a recipient's request to this (held) listen; the sender answers on it."""
        self.cancel_timer()
        self.state = "answering"
        self.exchange = Exchange(self, method, self.relay.bucket_of(self.sender_id))
        self.transport.write(framing.listen_answer(client_ip, package, waiting))
        return self.exchange

    def finished(self, complete: bool) -> None:
        """The exchange is over: a connection carries one response, then closes."""
        self.state = "closed"
        if self.transport is None:
            return
        if complete:
            self.transport.loseConnection()
        else:
            self.transport.abortConnection()

    def cut(self) -> None:
        """The sender was removed: end this connection now."""
        if self.exchange is not None:
            self.exchange.abort()
        if self.transport is not None:
            self.transport.abortConnection()

    def pause_reading(self) -> None:
        self.transport.pauseProducing()

    def resume_reading(self) -> None:
        if self.transport is not None and self.state != "closed":
            self.transport.resumeProducing()

    def set_timer(self, seconds: float, call) -> None:
        self.cancel_timer()
        self.timer = asyncio.get_event_loop().call_later(seconds, call)

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None

    def connectionLost(self, reason):
        previous, self.state = self.state, "closed"
        self.cancel_timer()
        if self.counted:
            self.relay.hub.gone(self)
        if self.exchange is not None:
            self.exchange.sender_closed()
        if previous == "held":
            log.debug("a held listen closed")


def backend_line(first_line: bytes, prefix: str) -> bool:
    """Whether a connection's first request line names the relay's backend."""
    parts = first_line.rstrip(b"\r").split(b" ")
    if len(parts) != 3 or parts[0] != b"POST":
        return False
    target = parts[1].decode("latin-1").split("?", 1)[0]
    return framing.backend_path(target, prefix) is not None


class Sniffer(ProtocolWrapper):
    """Reads a connection's first request line, then hands it to the backend or to HTTP."""

    decided = False

    def makeConnection(self, transport):
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)
        self.factory.registerProtocol(self)
        self.buffer = b""

    def dataReceived(self, data):
        if self.decided:
            self.wrappedProtocol.dataReceived(data)
            return
        self.buffer += data
        end = self.buffer.find(b"\n")
        if end < 0 and len(self.buffer) < SNIFF_MAX:
            return
        first = self.buffer[: end if end >= 0 else SNIFF_MAX]
        if backend_line(first, self.factory.relay.prefix):
            self.wrappedProtocol = BackendConnection(self.factory.relay)
        self.decided = True
        self.wrappedProtocol.makeConnection(self)
        data, self.buffer = self.buffer, b""
        self.wrappedProtocol.dataReceived(data)

    def connectionLost(self, reason):
        if self.decided:
            super().connectionLost(reason)
        else:
            self.factory.unregisterProtocol(self)


class SniffingFactory(WrappingFactory):
    protocol = Sniffer

    def __init__(self, wrapped, relay):
        super().__init__(wrapped)
        self.relay = relay


def sniffing_wrapper(relay):
    """A PaslaServer wrapper (innermost, under TLS) putting the backend beside HTTP."""
    return lambda factory: SniffingFactory(factory, relay)
