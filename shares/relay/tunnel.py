"""The sender's side of `--via`: listens held at the relay, each turned into a served connection.

The share's own server (guards, gates, download path, zero-copy sends)
runs as usual, listening on loopback only. This client keeps `spare`
listens open at the relay. When the relay answers one with a recipient's
request, that very connection is handed to the server's factory as if the
recipient had connected: its peer address is the one the relay named
(the only place the sender takes an address from), the request is fed in,
and the server's response goes out on the socket to the relay. So every
rule is the sender's, enforced where the file is; the relay is a pipe.
"""

import ipaddress
import logging
from pathlib import Path

from OpenSSL import SSL
from twisted.internet import address, reactor
from twisted.internet import ssl as tls
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.protocols.policies import ProtocolWrapper
from zope.interface import directlyProvides, providedBy

from shares.relay import framing
from shares.relay.backend import LISTEN_HOLD
from shares.relay.pacing import Backoff

log = logging.getLogger("pasla.relay")

# A held listen that hears nothing for this long is dead (relay gone, NAT
# mapping lost): the relay answers every hold within LISTEN_HOLD.
SILENCE_LIMIT = LISTEN_HOLD + 15.0
CONNECT_TIMEOUT = 10.0
# Listens opened at once for requests the relay says are waiting.
BURST_MAX = 16


class ListenProtocol(ProtocolWrapper):
    """One connection to the relay: a listen until answered, then the recipient's connection."""

    def __init__(self, client):
        super().__init__(client.factory, None)
        self.client = client
        self.buffer = b""
        self.peer = None
        self.role = None  # "pending", "held" or None (counted by the client)
        self.silence = None

    def makeConnection(self, transport):
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)

    def connectionMade(self):
        if hasattr(self.transport, "setTcpNoDelay"):
            self.transport.setTcpNoDelay(True)
        self.client.connected()
        self.send_listen()

    def send_listen(self):
        self.client.count(self, "pending")
        self.transport.write(self.client.listen_bytes)
        self.watch()

    def watch(self):
        if self.silence is not None and self.silence.active():
            self.silence.cancel()
        self.silence = reactor.callLater(SILENCE_LIMIT, self.silent)

    def silent(self):
        log.info("the relay stopped answering a listen; reconnecting")
        self.transport.abortConnection()

    def dataReceived(self, data):
        if self.wrappedProtocol is not None:
            self.wrappedProtocol.dataReceived(data)
            return
        self.watch()
        self.buffer += data
        try:
            while (split := framing.split_head(self.buffer)) is not None:
                head_bytes, rest = split
                head = framing.parse_response(head_bytes)
                if head.status == 100:
                    self.buffer = rest
                    self.client.held(self)
                elif head.status == 204:
                    self.buffer = rest
                    self.send_listen()
                elif head.status == 200:
                    self.answered(head, rest)
                    return
                else:
                    self.buffer = b""
                    self.client.refused(self, head.status, head.get("retry-after"))
                    self.transport.loseConnection()
                    return
        except (framing.FramingError, ValueError) as exc:
            log.warning("the relay sent something unexpected (%s); reconnecting", exc)
            self.transport.abortConnection()

    def answered(self, head: framing.Head, rest: bytes) -> None:
        length = head.get("content-length") or ""
        if not length.isdigit() or int(length) > framing.HEAD_MAX + (1 << 20):
            raise framing.FramingError("bad request package")
        if len(rest) < int(length):
            return  # the rest of the package is on its way
        package = rest[: int(length)]
        client_ip = head.get("pasla-client")
        waiting = head.get("pasla-waiting") or "0"
        self.adopt(package, client_ip, int(waiting) if waiting.isdigit() else 0)

    def adopt(self, package: bytes, client_ip: str | None, waiting: int) -> None:
        """Hand this connection to the share's server, as the recipient's own."""
        if self.silence is not None and self.silence.active():
            self.silence.cancel()
        ip = ipaddress.ip_address(client_ip or "")  # ValueError: the relay named no one
        kind = address.IPv6Address if ip.version == 6 else address.IPv4Address
        self.peer = kind("TCP", str(ip), 0)
        self.buffer = b""
        self.client.taken(self, waiting)
        inner = self.client.server_factory.buildProtocol(self.peer)
        if inner is None:
            self.transport.abortConnection()
            return
        self.wrappedProtocol = inner
        inner.makeConnection(self)
        inner.dataReceived(framing.with_prefix(package, self.client.prefix))

    def getPeer(self):
        return self.peer if self.peer is not None else self.transport.getPeer()

    def connectionLost(self, reason):
        if self.silence is not None and self.silence.active():
            self.silence.cancel()
        if self.wrappedProtocol is not None:
            inner, self.wrappedProtocol = self.wrappedProtocol, None
            inner.connectionLost(reason)
            return
        self.client.lost(self, reason)


class ListenFactory(ClientFactory):
    def __init__(self, client):
        self.client = client

    def buildProtocol(self, addr):
        return ListenProtocol(self.client)

    def registerProtocol(self, p):
        pass

    def unregisterProtocol(self, p):
        pass

    def clientConnectionFailed(self, connector, reason):
        self.client.connect_failed(reason.getErrorMessage())


class TunnelClient:
    def __init__(
        self, via, routes, server_factory, *, prefix: str = "", spare: int = 2, on_up=None, on_fatal=None
    ):
        self.via = via  # shares.cli.via.Via
        self.routes = routes
        self.server_factory = server_factory
        self.prefix = prefix
        self.spare = spare
        self.on_up = on_up
        self.on_fatal = on_fatal
        self.factory = ListenFactory(self)
        self.listen_bytes = framing.listen_request(via.host_header, via.path, via.key, routes)
        self.counts = {"pending": 0, "held": 0}
        self.connecting = 0
        self.backoff = Backoff()
        self.retry = None
        self.up = False
        self.stopped = False
        self.open: set[ListenProtocol] = set()
        self.tls_options = client_tls(via) if via.scheme == "https" else None

    # --- bookkeeping ---------------------------------------------------------

    def count(self, proto, role) -> None:
        if proto.role is not None:
            self.counts[proto.role] -= 1
        proto.role = role
        if role is not None:
            self.counts[role] += 1
            self.open.add(proto)
        else:
            self.open.discard(proto)

    def outstanding(self) -> int:
        return self.connecting + self.counts["pending"] + self.counts["held"]

    # --- opening listens -------------------------------------------------------

    def start(self) -> None:
        self.fill()

    def fill(self, extra: int = 0) -> None:
        if self.stopped or self.retry is not None:
            return
        for _ in range(min(BURST_MAX, self.spare + extra - self.outstanding())):
            self.connect()

    def connect(self) -> None:
        self.connecting += 1
        host, port = self.via.host, self.via.port
        if self.tls_options is not None:
            reactor.connectSSL(host, port, self.factory, self.tls_options, timeout=CONNECT_TIMEOUT)
        else:
            reactor.connectTCP(host, port, self.factory, timeout=CONNECT_TIMEOUT)

    # --- what the connections report ---------------------------------------------

    def connected(self) -> None:
        self.connecting -= 1

    def held(self, proto) -> None:
        self.count(proto, "held")
        self.backoff.reset()
        if not self.up:
            self.up = True
            log.info("registered with the relay")
            if self.on_up is not None:
                self.on_up()

    def taken(self, proto, waiting: int) -> None:
        self.count(proto, None)
        self.fill(waiting)

    def refused(self, proto, status: int, retry_after) -> None:
        self.count(proto, None)
        if status in (401, 409) and not self.up:
            why = (
                "the relay refused the sender key"
                if status == 401
                else "another sender owns this share's path"
            )
            self.fatal(why)
            return
        log.warning("the relay answered a listen with %d; retrying", status)
        self.schedule_retry()

    def lost(self, proto, reason) -> None:
        was = proto.role
        self.count(proto, None)
        if not self.up and reason.check(SSL.Error) is not None:
            self.fatal("could not verify the relay's certificate (a self-signed relay needs --via-ca)")
            return
        if was is not None and not self.stopped:
            log.info("a listen at the relay was lost; reconnecting")
            self.schedule_retry()

    def connect_failed(self, why: str) -> None:
        self.connecting -= 1
        if self.stopped:
            return
        log.info("could not reach the relay (%s); retrying", why)
        self.schedule_retry()

    def fatal(self, why: str) -> None:
        self.stop()
        if self.on_fatal is not None:
            self.on_fatal(why)

    def schedule_retry(self) -> None:
        if self.stopped or self.retry is not None:
            return
        self.retry = reactor.callLater(self.backoff.next_delay(), self._retry)

    def _retry(self) -> None:
        self.retry = None
        self.fill()

    def stop(self) -> None:
        """No more listens; the ones held are closed (downloads in flight go on)."""
        self.stopped = True
        if self.retry is not None and self.retry.active():
            self.retry.cancel()
        for proto in list(self.open):
            if proto.transport is not None:
                proto.transport.abortConnection()


def client_tls(via):
    """Twisted client TLS options verifying the relay: --via-ca's certificates, or the system's."""
    if via.ca:
        pem = Path(via.ca).read_bytes()
        certs = [
            tls.Certificate.loadPEM(b"-----BEGIN CERTIFICATE-----" + part)
            for part in pem.split(b"-----BEGIN CERTIFICATE-----")[1:]
        ]
        trust = tls.trustRootFromCertificates(certs)
    else:
        trust = tls.platformTrust()
    return tls.optionsForClientTLS(via.host, trustRoot=trust)
