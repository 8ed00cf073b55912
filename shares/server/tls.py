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
"""

from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import implementer

from shares.certificates import CertificateError, CertPair

# TLS 1.2 suites: forward-secret key exchange and AEAD only (no CBC, no
# static RSA, no DHE). TLS 1.3 suites are all AEAD already.
CIPHERS = b"ECDHE+AESGCM:ECDHE+CHACHA20"
OPTIONS = (
    SSL.OP_NO_COMPRESSION
    | SSL.OP_CIPHER_SERVER_PREFERENCE
    | SSL.OP_SINGLE_ECDH_USE
    # No session resumption: every connection is a full handshake, and no
    # ticket key outlives the process.
    | SSL.OP_NO_TICKET
    # Client-initiated renegotiation is a cheap way to make a server do
    # expensive handshakes over one connection.
    | getattr(SSL, "OP_NO_RENEGOTIATION", 0)
)


@implementer(IOpenSSLServerConnectionCreator)
class ServerTLS:
    """What TLSMemoryBIOFactory asks for a new connection: one shared context."""

    def __init__(self, context: SSL.Context):
        self.context = context

    def serverConnectionForTLS(self, protocol) -> SSL.Connection:
        return SSL.Connection(self.context, None)


def server_context(pair: CertPair) -> ServerTLS:
    """Build and check the server context now, so a bad pair fails before serving."""
    try:
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.set_options(OPTIONS)
        context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        context.set_cipher_list(CIPHERS)
        context.use_certificate(pair.leaf)
        for extra in pair.chain[1:]:
            context.add_extra_chain_cert(extra)
        context.use_privatekey(pair.key)
        context.check_privatekey()
    except (SSL.Error, TypeError, ValueError) as exc:
        raise CertificateError(f"OpenSSL refuses this certificate/key: {_openssl_reason(exc)}") from None
    return ServerTLS(context)


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
        return TLSMemoryBIOFactory(server_tls, False, factory)

    return wrap
