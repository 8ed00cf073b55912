"""Transport guards: connection caps and deadlines, below HTTP and TLS.

The guard is the outermost factory wrapper, so it acts on a connection the
moment it is accepted, before a TLS handshake or a single byte is parsed:

- a connection over the per-address cap is reset (RST, via SO_LINGER 0)
  without reading anything from it; IPv6 clients are counted per network
  (PASLA_IPV6_PREFIX, /64), since one host owns a whole /64;
- when the global cap is full, a connection that has not sent a complete
  request head (accepted and silent, trickling, or kept alive and idle) is
  reset to make room: the oldest one of the address holding the most such
  connections, so a flood from a few addresses evicts itself rather than
  a client's one fresh connection. Only when every connection is busy
  with a request is the newcomer reset instead, so idle or trickling
  sockets cannot lock everyone out;
- from accept until a request is complete (TLS handshake included) the
  client has PASLA_HEADER_READ_TIMEOUT seconds, however slowly it trickles;
  while the table is more than PRESSURE_SHARE full, a connection gets only
  PRESSURE_HEADER_TIMEOUT seconds to send its head;
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

from shares.network.clients import connection_key
from shares.server.periodic import Every

log = logging.getLogger("pasla.server")

SWEEP_INTERVAL = 0.25
# After a graceful close of an idle connection, how long the peer has to
# take our FIN before the socket is reset.
CLOSE_GRACE = 2.0
# Above this share of PASLA_MAX_GLOBAL_CONNECTIONS the table is under
# pressure, and a connection must send its request head within
# PRESSURE_HEADER_TIMEOUT (or PASLA_HEADER_READ_TIMEOUT, if shorter).
PRESSURE_SHARE = 0.8
PRESSURE_HEADER_TIMEOUT = 2.0
# Candidates for eviction looked at per newcomer: one whose complete head
# already sits in the kernel is passed over, since it is about to be read.
EVICTION_LOOKS = 8
PEEK_BYTES = 16 * 1024


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
        self.factory.set_deadline(self, self.factory.current_header_timeout())
        self.factory.start_waiting(self)
        super().makeConnection(transport)

    def dataReceived(self, data):
        if self.phase == Phase.IDLE:
            # The next request has begun: it gets the header deadline, not
            # whatever is left of the idle one if that is longer.
            self.phase = Phase.READING
            self.factory.tighten_deadline(self, self.factory.current_header_timeout())
        super().dataReceived(data)

    # Called by the HTTP layer (PaslaRequest) through `guard_of()`.

    def head_received(self) -> None:
        """A complete request head: this connection is no longer the first to go."""
        self.factory.stop_waiting(self)

    def request_started(self) -> None:
        self.phase = Phase.BUSY
        self.factory.stop_waiting(self)
        self.factory.clear_deadline(self)

    def request_finished(self) -> None:
        if self.phase == Phase.CLOSING:
            return
        self.phase = Phase.IDLE
        self.factory.set_deadline(self, self.factory.idle_timeout)
        self.factory.start_waiting(self)

    def closing(self) -> None:
        """Our side answered and is closing: reset after the grace if the peer lingers.

        It owes nobody anything more, so a full table may take its place.
        """
        self.phase = Phase.CLOSING
        self.factory.start_waiting(self)
        self.factory.set_deadline(self, CLOSE_GRACE)

    def head_pending(self) -> bool:
        """Unread bytes in the kernel that hold a whole head (or, under TLS,
        any bytes at all: a handshake or a request in progress)."""
        handle = getattr(self.transport, "getHandle", lambda: None)()
        if not isinstance(handle, socket.socket):
            return False
        try:
            pending = handle.recv(PEEK_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:
            return False
        return bool(pending) and (self.factory.encrypted or b"\r\n\r\n" in pending)

    def evict(self) -> None:
        # Debug, not info: under a flood this happens for every newcomer.
        log.debug("client %s had not sent a request while the server was full, closing", self.peer)
        self.factory.forget(self)
        if self.transport is not None:
            reset(self.transport)

    def expire(self) -> None:
        if self.transport is None:
            return
        if self.phase == Phase.IDLE:
            # Idle keep-alive: a polite close, then a reset if it lingers.
            self.closing()
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
        ipv6_prefix: int = 64,
        encrypted: bool = False,
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
        self.ipv6_prefix = ipv6_prefix
        self.encrypted = encrypted  # TLS inside: the bytes on the socket cannot be read as HTTP
        self.deadlines: dict[GuardedConnection, float] = {}
        # Connections without a complete request head, oldest first (dicts
        # keep insertion order), with the time each started waiting.
        self.waiting: dict[GuardedConnection, float] = {}
        # The same, per address, and the addresses by how many they hold.
        self.waiting_by_peer: dict[str, dict[GuardedConnection, float]] = {}
        self.peers_by_waiting: dict[int, dict[str, None]] = {}
        self.refused = 0
        self.evicted = 0
        self._sweeper = Every(SWEEP_INTERVAL, self.sweep)

    # --- admission ------------------------------------------------------------

    def buildProtocol(self, addr):
        peer = connection_key(getattr(addr, "host", None), self.ipv6_prefix) or "?"
        if self.open_by_ip.get(peer, 0) >= self.max_per_ip:
            self.refused += 1
            return Refused()
        if self.open_total >= self.max_global and not self.make_room():
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

    def make_room(self) -> bool:
        """Reset a connection without a request head, if there is one to spare."""
        looked = 0
        for count in sorted(self.peers_by_waiting, reverse=True):
            for peer in self.peers_by_waiting[count]:
                for victim in self.waiting_by_peer[peer]:
                    if looked >= EVICTION_LOOKS:
                        return False
                    looked += 1
                    if not victim.head_pending():
                        self.evicted += 1
                        victim.evict()
                        return True
        return False

    def under_pressure(self) -> bool:
        return self.open_total >= PRESSURE_SHARE * self.max_global

    def current_header_timeout(self) -> float:
        if self.under_pressure():
            return min(self.header_timeout, PRESSURE_HEADER_TIMEOUT)
        return self.header_timeout

    def start_waiting(self, connection) -> None:
        self.stop_waiting(connection)
        self.waiting[connection] = since = self.clock()
        group = self.waiting_by_peer.setdefault(connection.peer, {})
        group[connection] = since
        self._regroup(connection.peer, len(group) - 1, len(group))

    def stop_waiting(self, connection) -> None:
        if self.waiting.pop(connection, None) is None:
            return
        group = self.waiting_by_peer[connection.peer]
        del group[connection]
        self._regroup(connection.peer, len(group) + 1, len(group))
        if not group:
            del self.waiting_by_peer[connection.peer]

    def _regroup(self, peer: str, old: int, new: int) -> None:
        if old:
            bucket = self.peers_by_waiting[old]
            del bucket[peer]
            if not bucket:
                del self.peers_by_waiting[old]
        if new:
            self.peers_by_waiting.setdefault(new, {})[peer] = None

    def unregisterProtocol(self, p):
        self.protocols.pop(p, None)

    def forget(self, connection: GuardedConnection) -> None:
        self.deadlines.pop(connection, None)
        self.stop_waiting(connection)
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
        if self.under_pressure():
            # Oldest first: stop at the first one still inside the short deadline.
            for conn, since in self.waiting.items():
                if now - since < PRESSURE_HEADER_TIMEOUT:
                    break
                due.append(conn)
        for conn in dict.fromkeys(due):
            self.deadlines.pop(conn, None)
            self.stop_waiting(conn)
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


def guard_wrapper(limits, *, behind_proxy: bool, shared=None, encrypted: bool = False):
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
            ipv6_prefix=limits.ipv6_prefix,
            encrypted=encrypted,
        )

    return wrap
