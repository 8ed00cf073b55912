"""TLS for daphne: an OpenSSL server context from a CertPair, and the factory wrapper.

The wrapper is Twisted's memory-BIO TLS protocol around the HTTP factory,
on the same adopted sockets as plain HTTP. Handshakes are non-blocking, so
one silent or slow-handshaking client holds only its own connection. The
transport guards (connection caps, header deadline) wrap outside this one,
so the handshake counts towards the request's time; the HTTP protocol
inside is connected at accept time too (before any ClientHello), so a
deadline started there covers the handshake as well.

The context is built here with pyOpenSSL rather than Twisted's
CertificateOptions, which hands OpenSSL the X509 wrapper objects that
pyOpenSSL has deprecated; `cryptography` objects go in directly.

Twisted's TLS protocol encrypts 16 KiB at a time (a sliced copy, one
SSL_write and one 32 KiB memory-BIO read each). PaslaTLS hands OpenSSL a
whole write at once and drains the BIO in one read; file bodies skip even
that and are encrypted straight from the file (shares/server/sending/tls_sender.py).
"""

from OpenSSL import SSL

try:  # pyOpenSSL's own OpenSSL binding: a BIO read into a buffer we keep
    from OpenSSL._util import ffi as _ffi
    from OpenSSL._util import lib as _lib
except ImportError:  # pragma: no cover - another pyOpenSSL layout
    _ffi = _lib = None
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.protocols.policies import ProtocolWrapper
from twisted.protocols.tls import BufferingTLSTransport, TLSMemoryBIOFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from shares.network import client_auth
from shares.network.certificates import CertificateError, CertPair, fingerprint

# TLS 1.2 suites: forward-secret key exchange and AEAD only (no CBC, no
# static RSA, no DHE), AES-128-GCM first as the cheapest per byte with AES
# instructions. TLS 1.3 suites are all AEAD already; the same order there.
CIPHERS = b"ECDHE+AES128GCM:ECDHE+AESGCM:ECDHE+CHACHA20"
TLS13_SUITES = b"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
# OpenSSL's SSL_OP_PRIORITIZE_CHACHA: a client that lists ChaCha20 first
# (one without AES instructions) gets it despite the server's order.
OP_PRIORITIZE_CHACHA = getattr(SSL, "OP_PRIORITIZE_CHACHA", 0x00200000)
OPTIONS = (
    SSL.OP_NO_COMPRESSION
    | SSL.OP_CIPHER_SERVER_PREFERENCE
    | OP_PRIORITIZE_CHACHA
    | SSL.OP_SINGLE_ECDH_USE
    # Client-initiated renegotiation is a cheap way to make a server do
    # expensive handshakes over one connection.
    | getattr(SSL, "OP_NO_RENEGOTIATION", 0)
)
# OpenSSL's SSL_MODE_ENABLE_PARTIAL_WRITE, which pyOpenSSL turns on: then
# SSL_write returns after every 16 KiB record. A memory BIO never refuses
# bytes, so without it one call encrypts the whole buffer.
MODE_ENABLE_PARTIAL_WRITE = 0x00000001
# Most plaintext one SSL_write is given; bounds the ciphertext a write can
# leave in the memory BIO (and in Twisted's buffer) at once.
WRITE_PIECE = 1 << 20
# Most bytes one memory-BIO read returns: a read of a megabyte or more
# allocates fresh pages each time, which costs more than it saves.
BIO_PART = 256 << 10


@implementer(IOpenSSLServerConnectionCreator)
class ServerTLS:
    """What TLSMemoryBIOFactory asks for a new connection: one shared context."""

    def __init__(self, context: SSL.Context):
        self.context = context

    def serverConnectionForTLS(self, protocol) -> SSL.Connection:
        return SSL.Connection(self.context, None)


def drain(connection: SSL.Connection) -> list[bytes]:
    """Everything the connection's outgoing memory BIO holds, in parts of at most BIO_PART."""
    parts = []
    while True:
        try:
            part = connection.bio_read(BIO_PART)
        except SSL.WantReadError:
            break
        parts.append(part)
        if len(part) < BIO_PART:
            break  # a memory BIO hands over all it has: it is empty now
    return parts


# Plaintext one SSL_write of a file piece gets: a memory BIO keeps the
# capacity of the most it ever held, for the connection's whole life.
ENCRYPT_STEP = 64 << 10


class CiphertextBuffer:
    """One buffer, reused for every piece, that an outgoing memory BIO is read into.

    Connection.bio_read allocates a fresh buffer and copies it into a new
    bytes object on every call; reading into this one skips both, a
    large part of what a TLS file body costs. Falls back to
    drain() where pyOpenSSL's binding is not where this expects it.
    """

    def __init__(self, size: int):
        self.data = bytearray(size)
        self._target = _ffi.from_buffer(self.data) if _ffi is not None else None

    def encrypt(self, connection: SSL.Connection, plaintext: memoryview) -> list:
        """`plaintext` through the connection, ENCRYPT_STEP at a time: its
        ciphertext as a view of this buffer, then any overflow as bytes."""
        bio = getattr(connection, "_from_ssl", None)
        fast = self._target is not None and bio is not None
        filled, overflow = 0, []
        for start in range(0, len(plaintext), ENCRYPT_STEP):
            step = plaintext[start : start + ENCRYPT_STEP]
            done = 0
            while done < len(step):  # one call unless partial writes are on
                done += connection.send(step[done:])
            room = len(self.data) - filled
            if fast and not overflow and room > 0:
                got = _lib.BIO_read(bio, self._target + filled, room)
                filled += max(got, 0)
                if 0 < got < room:
                    continue  # a memory BIO hands over all it has: it is empty
            overflow.extend(drain(connection))
        head = [memoryview(self.data)[:filled]] if filled else []
        return head + overflow

    def owns(self, part) -> bool:
        return isinstance(part, memoryview) and part.obj is self.data


class PaslaTLS(BufferingTLSTransport):
    """Twisted's TLS protocol with whole writes and whole BIO reads."""

    def flush_writes(self) -> None:
        """Encrypt what the small-write aggregator still holds (response headers, say) now."""
        self._aggregator.flush()

    def _write(self, data):
        # As Twisted's, minus the 16 KiB slices: short writes are looped on,
        # WantReadError buffers the rest, any other error ends the connection.
        if self._lostTLSConnection:
            return
        view = memoryview(data)
        done = 0
        while done < len(view):
            piece = view[done : done + WRITE_PIECE]
            try:
                sent = self._tlsConnection.send(piece)
            except SSL.WantReadError:
                self._flushSendBIO()
                self._bufferedWrite(bytes(view[done:]))
                return
            except SSL.Error:
                self._tlsShutdownFinished(Failure())
                return
            done += sent
            self._flushSendBIO()

    def _flushSendBIO(self):
        parts = drain(self._tlsConnection)
        if len(parts) == 1:
            self.transport.write(parts[0])
        elif parts:
            self.transport.writeSequence(parts)
        if parts:
            self._write_through()

    def _write_through(self):
        """Hand the ciphertext to the socket now rather than at the next writable event.

        Twisted only queues a write and waits for epoll to report the socket
        writable, which it nearly always is: each handshake flight, the
        session tickets and the response each waited a loop iteration and two
        more system calls. Not while a file sender owns the socket's writes
        (it keeps the order itself); what the socket does not take, or an
        error, is left to the reactor as before.
        """
        tcp = self.transport
        while isinstance(tcp, ProtocolWrapper) and tcp.__dict__.get("transport") is not None:
            tcp = tcp.__dict__["transport"]
        if (
            not hasattr(tcp, "doWrite")
            or "doWrite" in tcp.__dict__
            or getattr(tcp, "disconnecting", True)
            or getattr(tcp, "disconnected", True)
        ):
            return
        tcp.doWrite()


class PaslaTLSFactory(TLSMemoryBIOFactory):
    protocol = PaslaTLS


def server_context(pair: CertPair, clients: client_auth.ClientAuth | None = None) -> ServerTLS:
    """Build and check the server context now, so a bad pair fails before serving."""
    if clients is not None and clients.ca_file is not None:
        client_auth.load_ca(clients.ca_file)  # a readable line for a bad file, before OpenSSL's
    try:
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.set_options(OPTIONS)
        context.clear_mode(MODE_ENABLE_PARTIAL_WRITE)
        # Resumption by TLS 1.3 tickets only, sealed with a key OpenSSL
        # makes in memory for this context: no server-side session cache
        # to fill, and no ticket key outlives the process.
        context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        context.set_cipher_list(CIPHERS)
        context.set_tls13_ciphersuites(TLS13_SUITES)
        context.use_certificate(pair.leaf)
        for extra in pair.chain[1:]:
            context.add_extra_chain_cert(extra)
        context.use_privatekey(pair.key)
        context.check_privatekey()
        if clients is not None and clients.enabled:
            require_client_certificates(context, clients)
    except (SSL.Error, TypeError, ValueError) as exc:
        raise CertificateError(f"OpenSSL refuses this certificate/key: {_openssl_reason(exc)}") from None
    return ServerTLS(context)


def require_client_certificates(context: SSL.Context, clients: client_auth.ClientAuth) -> None:
    """Mutual TLS: a client without an acceptable certificate fails the handshake."""
    if clients.ca_file is not None:
        context.load_verify_locations(clients.ca_file.encode())
        context.load_client_ca(clients.ca_file.encode())  # names the CA to the client

    def verify(connection, certificate, errno, depth, ok) -> bool:
        leaf = fingerprint(certificate.to_cryptography()) if depth == 0 and clients.pins else None
        return client_auth.accepts(clients, chain_ok=bool(ok), depth=depth, leaf_fingerprint=leaf)

    context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, verify)
    # Resumed sessions carry the client's certificate; OpenSSL resumes them
    # only under a session id context once clients are verified.
    context.set_session_id(b"pasla")


def client_fingerprint(tls) -> str | None:
    """SHA-256 of the certificate the client of this PaslaTLS connection presented, if any."""
    known = getattr(tls, "pasla_client_cert", False)
    if known is False:
        cert = tls.getHandle().get_peer_certificate(as_cryptography=True)
        known = tls.pasla_client_cert = fingerprint(cert) if cert is not None else None
    return known


def _openssl_reason(exc: Exception) -> str:
    # pyOpenSSL errors are lists of (lib, func, reason) tuples; the reason
    # ("ee key too small", "key values mismatch") is what the operator needs.
    try:
        return str(exc.args[0][0][2])
    except (IndexError, TypeError, KeyError):
        return type(exc).__name__


def wrapper(server_tls: ServerTLS):
    """A PaslaServer factory wrapper that speaks TLS to the outside."""

    def wrap(factory):
        return PaslaTLSFactory(server_tls, False, factory)

    return wrap
