"""Mutual TLS: which client certificates a share accepts.

Pure decisions (no Twisted, no Django), so every rule is a row of a table
test. The TLS context (shares/server/tls.py) asks `accepts()` for each
certificate OpenSSL checks during the handshake; a client it refuses never
gets as far as an HTTP request, so it consumes nothing. The server puts
the accepted certificate's fingerprint into the request's ASGI scope
(`EXTENSION`) for the access log and the download history.
"""

from dataclasses import dataclass

from cryptography import x509

from shares.network.certificates import CertificateError, fingerprint, read_pem

EXTENSION = "pasla.client_cert"
HEX_DIGITS = frozenset("0123456789abcdef")


def parse_pin(text: str) -> str:
    """A SHA-256 fingerprint given as hex (colons optional) in the banner's form: AA:BB:..."""
    bare = text.strip().replace(":", "").lower()
    if len(bare) != 64 or not set(bare) <= HEX_DIGITS:
        raise ValueError(f"--client-cert-sha256 takes 64 hex digits (a SHA-256 fingerprint), got {text!r}")
    return bytes.fromhex(bare).hex(":").upper()


@dataclass(frozen=True)
class ClientAuth:
    """`ca_file`: clients need a certificate that chains to it; `pins`: the
    client's own certificate must be one of these. Both given: both hold."""

    ca_file: str | None = None
    pins: frozenset[str] = frozenset()

    @property
    def enabled(self) -> bool:
        return self.ca_file is not None or bool(self.pins)


def accepts(auth: ClientAuth, *, chain_ok: bool, depth: int, leaf_fingerprint: str | None) -> bool:
    """OpenSSL's verdict on one certificate of the client's chain, with ours on top.

    depth 0 is the client's own certificate. Without a CA, a pinned
    certificate needs no chain (a self-signed one is the usual case).
    """
    if auth.ca_file is not None and not chain_ok:
        return False
    if depth == 0 and auth.pins:
        return leaf_fingerprint in auth.pins
    return auth.ca_file is not None or depth > 0


def load_ca(path: str) -> tuple[x509.Certificate, ...]:
    """The CA certificates in a PEM file; refuses a file without one."""
    data = read_pem(path, "client CA")
    try:
        certs = tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        certs = ()
    if not certs:
        raise CertificateError(f"client CA {path}: no PEM certificate found")
    for cert in certs:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise CertificateError(f"client CA {path}: {fingerprint(cert)[:23]}… is not a CA certificate")
    return certs


def fingerprint_of(scope) -> str | None:
    """The client certificate's fingerprint the server put into this request's scope, if any."""
    extension = (scope.get("extensions") or {}).get(EXTENSION)
    return extension.get("sha256") if extension else None
