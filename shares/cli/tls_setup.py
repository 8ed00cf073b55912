"""Getting a share's certificate ready: the operator's pair, or an ephemeral one.

Kept out of share.py so the share command reads as a sequence of steps;
every failure here is the operator's to fix and becomes one CliError line.
"""

import datetime as dt
import os
import sys

from shares.cli.parser import CliError
from shares.network import certificates, client_auth, tls_store
from shares.network.certificates import CertificateError, CertPair


def warn(message: str) -> None:
    sys.stderr.write(f"pasla: warning: {message}\n")
    sys.stderr.flush()


def key_password() -> bytes | None:
    # Only from the environment: a password on the command line would show
    # in `ps` and in shell history.
    password = os.environ.get("PASLA_TLS_KEY_PASSWORD", "")
    return password.encode() if password else None


def client_auth_from(opts) -> client_auth.ClientAuth:
    """--client-ca and --client-cert-sha256, checked now: a bad one ends the command before serving."""
    try:
        pins = frozenset(client_auth.parse_pin(text) for text in opts.client_cert_sha256)
        clients = client_auth.ClientAuth(opts.client_ca, pins)
        if clients.ca_file is not None:
            client_auth.load_ca(clients.ca_file)
    except (ValueError, CertificateError) as exc:
        raise CliError(str(exc)) from None
    return clients


def own_certificate(cert: str, key: str, minutes: float, clients=None):
    """Load and check the operator's pair; returns (CertPair, ServerTLS).

    Runs before anything is bound or stored, so a refusal leaves nothing
    behind and nothing is ever served over plain HTTP instead.
    """
    # Twisted's TLS layer is loaded only when a share is served over HTTPS.
    from shares.server import tls

    try:
        pair = certificates.load_pair(cert, key, key_password())
        validity = certificates.validity_of(pair, dt.timedelta(minutes=minutes))
        server_tls = tls.server_context(pair, clients)
    except CertificateError as exc:
        raise CliError(str(exc)) from None
    if validity.warning:
        warn(validity.warning)
    return pair, server_tls


def ephemeral_pair(hosts, minutes: float) -> CertPair:
    return certificates.generate_ephemeral([h for h in hosts if h], dt.timedelta(minutes=minutes))


def store_ephemeral(data_dir, share_id: str, pair: CertPair, clients=None):
    """Write the pair into the share's private directory and load it back.

    Returns (directory, ServerTLS). Serving what was read back from disk
    keeps the files the single source of truth for this share's certificate.
    The directory is gone again if anything fails.
    """
    # Twisted's TLS layer is loaded only when a share is served over HTTPS.
    from shares.server import tls

    try:
        directory = tls_store.create(data_dir, share_id)
    except OSError as exc:
        raise CliError(f"cannot prepare the ephemeral certificate: {exc.strerror}") from None
    try:
        cert_path, key_path = certificates.write_pair(directory, pair)
        return directory, tls.server_context(certificates.load_pair(str(cert_path), str(key_path)), clients)
    except OSError as exc:
        tls_store.remove(directory)
        raise CliError(f"cannot prepare the ephemeral certificate: {exc.strerror}") from None
    except BaseException:
        tls_store.remove(directory)
        raise


def wrappers(server_tls) -> list:
    """The PaslaServer factory wrappers for this share: TLS, or none for plain HTTP."""
    if server_tls is None:
        return []
    # Twisted's TLS layer is loaded only when a share is served over HTTPS.
    from shares.server import tls

    return [tls.wrapper(server_tls)]
