"""Client certificates for mutual TLS: a small CA in the data directory, and what it signs.

Pure `cryptography` code. The CA is made on first use and kept in
DATA_DIR/client-ca/ (directory 0700, files 0600, written with O_EXCL and
O_NOFOLLOW); `--client-ca DATA_DIR/client-ca/cert.pem` then admits every
client it signed. A client gets its key and certificate as PEM (curl's
--cert/--key) and as PKCS#12 (browsers) under a random one-time password.
"""

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shares.files.datadir import private_subdir
from shares.network.certificates import CertPair, fingerprint, load_pair, write_pair, write_private

CA_DIR = "client-ca"
CA_DAYS = 3650
MAX_DAYS = 3650
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Issued:
    cert_path: Path
    key_path: Path
    p12_path: Path
    password: str
    fingerprint: str
    ca_path: Path


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"client name {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    return name


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def ensure_ca(data_dir: Path, now: dt.datetime) -> tuple[CertPair, Path]:
    """The data directory's client CA, made on first use; returns (pair, path of ca.pem)."""
    directory = private_subdir(data_dir, CA_DIR)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if not cert_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name("pasla client CA")
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        write_pair(directory, CertPair((cert,), key))
    return load_pair(str(cert_path), str(key_path)), cert_path


def issue(data_dir: Path, name: str, out: Path, days: int, now: dt.datetime | None = None) -> Issued:
    """NAME.pem, NAME-key.pem and NAME.p12 in `out`, signed by the data directory's CA."""
    now = now or dt.datetime.now(dt.UTC)
    check_name(name)
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"--days must be between 1 and {MAX_DAYS}")
    paths = (out / f"{name}.pem", out / f"{name}-key.pem", out / f"{name}.p12")
    for path in paths:
        if path.exists() or path.is_symlink():
            raise FileExistsError(f"{path} already exists (pasla never overwrites a key)")
    ca, ca_path = ensure_ca(data_dir, now)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca.leaf.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca.not_after))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.leaf.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(12)
    p12 = pkcs12.serialize_key_and_certificates(
        name.encode(),
        key,
        cert,
        [ca.leaf],
        serialization.BestAvailableEncryption(password.encode()),
    )
    cert_path, key_path, p12_path = paths
    write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    write_private(p12_path, p12)
    return Issued(cert_path, key_path, p12_path, password, fingerprint(cert), ca_path)
