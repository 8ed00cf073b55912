"""Transport guards: connection caps and deadlines, below HTTP and TLS.

The guard is the outermost factory wrapper, so it acts on a connection the
moment it is accepted, before a TLS handshake or a single byte is parsed:

- a connection over the global or per-address cap is reset (RST, via
  SO_LINGER 0) without reading anything from it;
- from accept until a request is complete (TLS handshake included) the
  client has PASLA_HEADER_READ_TIMEOUT seconds, however slowly it trickles;
- a kept-alive connection that sits idle for PASLA_SOCKET_TIMEOUT is closed.

Deadlines sit in one dict swept by one LoopingCall: no timer per
connection, so ten thousand sockets cost a dict, not ten thousand timers.
Slow readers during a response are the server's job (stall timeout in
PaslaServer.handle_reply).
"""

import logging
import socket
import struct
import time

from twisted.internet.protocol import Protocol
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from shares.identity import normalize_ip
from shares.server.periodic import Every

log = logging.getLogger("pasla.server")

SWEEP_INTERVAL = 0.25
# After a graceful close of an idle connection, how long the peer has to
# take our FIN before the socket is reset.
CLOSE_GRACE = 2.0


class Phase:
    READING = "reading"  # accepted or between requests with bytes arriving
    BUSY = "busy"  # a request is being answered
    IDLE = "idle"  # kept alive, waiting for the next request
    CLOSING = "closing"


def reset(transport) -> None:
    """Drop a TCP connection with RST: no FIN handshake, no TIME_WAIT here."""
    handle = getattr(transport, "getHandle", lambda: None)()
    if isinstance(handle, socket.socket):
        try:
            handle.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abortConnection()


class Refused(Protocol):
    """What an over-cap connection gets: an immediate reset, nothing read."""

    def makeConnection(self, transport):
        self.transport = transport
        reset(transport)

    def dataReceived(self, data):
        pass


class GuardedConnection(ProtocolWrapper):
    def __init__(self, factory, wrapped, peer: str):
        super().__init__(factory, wrapped)
        self.peer = peer
        self.phase = Phase.READING
        self.counted = True  # holds a place in the connection caps
        self.shared_counted = False  # ... and in the caps shared by all workers

    def makeConnection(self, transport):
        self.factory.set_deadline(self, self.factory.header_timeout)
        super().makeConnection(transport)

    def dataReceived(self, data):
        if self.phase == Phase.IDLE:
            # The next request has begun: it gets the header deadline, not
            # whatever is left of the idle one if that is longer.
            self.phase = Phase.READING
            self.factory.tighten_deadline(self, self.factory.header_timeout)
        super().dataReceived(data)

    # Called by the HTTP layer (PaslaRequest) through `guard_of()`.

    def request_started(self) -> None:
        self.phase = Phase.BUSY
        self.factory.clear_deadline(self)

    def request_finished(self) -> None:
        if self.phase == Phase.CLOSING:
            return
        self.phase = Phase.IDLE
        self.factory.set_deadline(self, self.factory.idle_timeout)

    def expire(self) -> None:
        if self.transport is None:
            return
        if self.phase == Phase.IDLE:
            # Idle keep-alive: a polite close, then a reset if it lingers.
            self.phase = Phase.CLOSING
            self.factory.set_deadline(self, CLOSE_GRACE)
            self.transport.loseConnection()
            return
        if self.phase == Phase.READING:
            log.info("client %s did not send a complete request in time, closing", self.peer)
        reset(self.transport)

    def connectionLost(self, reason):
        self.factory.forget(self)
        super().connectionLost(reason)


class ConnectionGuard(WrappingFactory):
    protocol = GuardedConnection

    def __init__(
        self,
        wrapped,
        *,
        max_global: int,
        max_per_ip: int,
        header_timeout: float,
        idle_timeout: float,
        clock=time.monotonic,
        shared=None,
    ):
        super().__init__(wrapped)
        # `pasla serve` with several workers: SharedConnectionCounts, so the
        # caps hold for the whole server, not per process.
        self.shared = shared
        self.shared_by_ip: dict[str, int] = {}  # what this worker counted there
        self.max_global = max_global
        self.max_per_ip = max_per_ip
        self.header_timeout = header_timeout
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.open_total = 0
        self.open_by_ip: dict[str, int] = {}
        self.deadlines: dict[GuardedConnection, float] = {}
        self.refused = 0
        self._sweeper = Every(SWEEP_INTERVAL, self.sweep)

    # --- admission ------------------------------------------------------------

    def buildProtocol(self, addr):
        peer = normalize_ip(getattr(addr, "host", None)) or "?"
        if self.open_total >= self.max_global or self.open_by_ip.get(peer, 0) >= self.max_per_ip:
            self.refused += 1
            return Refused()
        shared = None
        if self.shared is not None:
            shared = self.shared.admit(peer, self.max_per_ip, self.max_global)
            if shared is False:
                self.refused += 1
                return Refused()
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            if shared:
                self.shared.release(peer)
            return None
        self.open_total += 1
        self.open_by_ip[peer] = self.open_by_ip.get(peer, 0) + 1
        connection = self.protocol(self, wrapped, peer)
        if shared:
            connection.shared_counted = True
            self.shared_by_ip[peer] = self.shared_by_ip.get(peer, 0) + 1
        return connection

    def unregisterProtocol(self, p):
        self.protocols.pop(p, None)

    def forget(self, connection: GuardedConnection) -> None:
        self.deadlines.pop(connection, None)
        if not connection.counted:
            return
        connection.counted = False
        if connection.shared_counted:
            connection.shared_counted = False
            left = self.shared_by_ip.get(connection.peer, 1) - 1
            if left > 0:
                self.shared_by_ip[connection.peer] = left
            else:
                self.shared_by_ip.pop(connection.peer, None)
            self.shared.release(connection.peer)
        self.open_total -= 1
        left = self.open_by_ip.get(connection.peer, 1) - 1
        if left > 0:
            self.open_by_ip[connection.peer] = left
        else:
            self.open_by_ip.pop(connection.peer, None)

    # --- deadlines --------------------------------------------------------------

    def set_deadline(self, connection, seconds: float) -> None:
        self.deadlines[connection] = self.clock() + seconds

    def tighten_deadline(self, connection, seconds: float) -> None:
        candidate = self.clock() + seconds
        current = self.deadlines.get(connection)
        self.deadlines[connection] = candidate if current is None else min(current, candidate)

    def clear_deadline(self, connection) -> None:
        self.deadlines.pop(connection, None)

    def sweep(self) -> None:
        now = self.clock()
        due = [conn for conn, deadline in self.deadlines.items() if deadline <= now]
        for conn in due:
            del self.deadlines[conn]
            try:
                conn.expire()
            except Exception:  # one odd socket must not stop the sweep
                log.exception("closing an expired connection failed")

    def startFactory(self):
        self._sweeper.start()

    # No stopFactory: when a share ends the ports close but connections
    # drain for a while, and they must stay under the deadlines until the
    # reactor itself stops (which ends the sweep too).


def guard_of(transport) -> GuardedConnection | None:
    """The guarded connection under an HTTP channel's transport (through TLS)."""
    while transport is not None:
        if isinstance(transport, GuardedConnection):
            return transport
        if not isinstance(transport, ProtocolWrapper):
            return None
        transport = transport.__dict__.get("transport")
    return None


def innermost_transport(transport):
    """The real TCP transport under any protocol wrappers (TLS, the guard)."""
    while isinstance(transport, ProtocolWrapper) and transport.__dict__.get("transport") is not None:
        transport = transport.__dict__["transport"]
    return transport


def guard_wrapper(limits, *, behind_proxy: bool, shared=None):
    """The wrapper PaslaServer puts outermost, configured from PASLA_* limits."""
    per_ip = limits.max_connections_per_proxy_ip if behind_proxy else limits.max_connections_per_ip

    def wrap(factory):
        return ConnectionGuard(
            factory,
            max_global=limits.max_global_connections,
            max_per_ip=per_ip,
            header_timeout=limits.header_read_timeout,
            idle_timeout=limits.socket_timeout,
            shared=shared,
        )

    return wrap
