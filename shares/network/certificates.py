"""Certificates for HTTPS shares: make an ephemeral one, or check the operator's.

Pure `cryptography` code (no Django, no Twisted) so every refusal can be
tested as a table. Messages are one readable line for the operator and never
carry key material or passwords.
"""

import datetime as dt
import ipaddress
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# PEM files larger than this are not certificates we should be parsing (a
# long chain is a few dozen KiB); the cap also stops a FIFO or /dev/zero
# given by mistake from being read forever.
MAX_PEM_BYTES = 1 << 20
EXPIRY_WARNING_DAYS = 7
# The ephemeral certificate outlives the share only by this much, so a key
# left behind by a hard kill is useless soon after the link is dead.
EPHEMERAL_GRACE = dt.timedelta(hours=1)
# Tolerates a recipient whose clock runs a little behind ours.
CLOCK_SKEW = dt.timedelta(minutes=5)
ALWAYS_IN_SAN = ("localhost", "127.0.0.1", "::1")

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"


class CertificateError(Exception):
    """A certificate or key the server must not start with."""


@dataclass(frozen=True)
class CertPair:
    """A leaf certificate (plus any chain) and the private key that matches it."""

    chain: tuple[x509.Certificate, ...]
    key: object
    source: str | None = None  # the operator's cert path; None when ephemeral

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.leaf)

    @property
    def not_after(self) -> dt.datetime:
        return self.leaf.not_valid_after_utc


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate as colon-separated upper-case hex."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _san_entry(host: str) -> x509.GeneralName:
    bare = host.strip("[]")
    try:
        return x509.IPAddress(ipaddress.ip_address(bare))
    except ValueError:
        return x509.DNSName(bare)


def generate_ephemeral(hosts, lifetime: dt.timedelta, now: dt.datetime | None = None) -> CertPair:
    """A fresh self-signed ECDSA P-256 certificate naming `hosts` and loopback."""
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    names = []
    for host in (*hosts, *ALWAYS_IN_SAN):
        if not host:
            continue
        entry = _san_entry(host)
        if entry not in names:
            names.append(entry)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pasla ephemeral share")])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + lifetime + EPHEMERAL_GRACE)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertPair((cert,), key)


def write_private(path: Path, data: bytes) -> None:
    # O_EXCL + O_NOFOLLOW: never write through a planted file or symlink;
    # the mode is set at creation, so there is no window where it is wider.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def write_pair(directory: Path, pair: CertPair) -> tuple[Path, Path]:
    """Write cert.pem and key.pem (both 0600) into an existing private directory."""
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    write_private(
        key_path,
        pair.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_private(cert_path, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in pair.chain))
    return cert_path, key_path


def read_pem(path: str, what: str) -> bytes:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CertificateError(f"{what} {path}: no such file") from None
    except PermissionError:
        raise CertificateError(f"{what} {path}: permission denied") from None
    except OSError as exc:
        raise CertificateError(f"{what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise CertificateError(f"{what} {path}: not a regular file")
    if info.st_size > MAX_PEM_BYTES:
        raise CertificateError(f"{what} {path}: too large for a PEM file")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_PEM_BYTES + 1)
    except PermissionError:
        raise CertificateError(f"{what} {path}: permission denied (pasla cannot read it)") from None
    except OSError as exc:
        raise CertificateError(f"{what} {path}: {exc.strerror}") from None
    if len(data) > MAX_PEM_BYTES:
        raise CertificateError(f"{what} {path}: too large for a PEM file")
    return data


def _load_chain(data: bytes, path: str) -> tuple[x509.Certificate, ...]:
    try:
        chain = tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        chain = ()
    if not chain:
        raise CertificateError(f"certificate {path}: no PEM certificate found")
    return chain


def _load_key(data: bytes, path: str, password: bytes | None):
    try:
        return serialization.load_pem_private_key(data, password=password)
    except TypeError:
        if password is None:
            raise CertificateError(
                f"key {path} is encrypted: set PASLA_TLS_KEY_PASSWORD to its password"
            ) from None
        # A password for a key that needs none: the key itself is fine.
        return _load_key(data, path, None)
    except ValueError:
        if password is not None and b"ENCRYPTED" in data:
            raise CertificateError(
                f"key {path}: cannot decrypt it with PASLA_TLS_KEY_PASSWORD (wrong password?)"
            ) from None
        raise CertificateError(f"key {path}: not a PEM private key") from None
    except Exception:  # unsupported algorithms raise their own types
        raise CertificateError(f"key {path}: unsupported or damaged private key") from None


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_pair(cert_path: str, key_path: str, password: bytes | None = None) -> CertPair:
    """Read the operator's PEM cert (chain) and key; refuse a pair that does not match."""
    chain = _load_chain(read_pem(cert_path, "certificate"), cert_path)
    key = _load_key(read_pem(key_path, "key"), key_path, password)
    if not hasattr(key, "public_key") or _public_der(key.public_key()) != _public_der(chain[0].public_key()):
        raise CertificateError(f"key {key_path} does not match certificate {cert_path}")
    return CertPair(chain, key, source=cert_path)


@dataclass(frozen=True)
class Validity:
    days_left: int
    warning: str | None


def check_validity(
    not_before: dt.datetime,
    not_after: dt.datetime,
    now: dt.datetime,
    share_lifetime: dt.timedelta = dt.timedelta(0),
    what: str = "certificate",
) -> Validity:
    """Refuse a certificate outside its validity window; warn when it ends soon
    or before the share does (recipients would then get certificate errors)."""
    if now < not_before:
        raise CertificateError(f"{what} is not valid before {not_before:%Y-%m-%d %H:%M} UTC")
    if now >= not_after:
        raise CertificateError(f"{what} expired on {not_after:%Y-%m-%d} ({not_after:%H:%M} UTC)")
    left = not_after - now
    days = left.days
    warning = None
    if left < share_lifetime:
        warning = (
            f"{what} expires on {not_after:%Y-%m-%d %H:%M} UTC, before the share ends: "
            "downloads after that will fail"
        )
    elif left < dt.timedelta(days=EXPIRY_WARNING_DAYS):
        warning = f"{what} expires on {not_after:%Y-%m-%d %H:%M} UTC ({days} day(s) left): renew it soon"
    return Validity(days, warning)


def validity_of(
    pair: CertPair, share_lifetime: dt.timedelta = dt.timedelta(0), now: dt.datetime | None = None
) -> Validity:
    now = now or dt.datetime.now(dt.UTC)
    leaf = pair.leaf
    return check_validity(leaf.not_valid_before_utc, leaf.not_valid_after_utc, now, share_lifetime)
