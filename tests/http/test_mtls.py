"""Mutual TLS: --client-ca, --client-cert-sha256 and `pasla client-cert`, with real curl."""

import hashlib
import re
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs12

from tests import certs
from tests.conftest import run_pasla
from tests.http.test_access_log import access_lines


def curl(served, cert=None, key=None, url=None) -> subprocess.CompletedProcess:
    """curl -k (the server's certificate is not what these tests check) with an optional client pair."""
    argv = ["curl", "-sk", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}"]
    if cert is not None:
        argv += ["--cert", str(cert), "--key", str(key)]
    return subprocess.run([*argv, url or served.url], capture_output=True, timeout=30)


def status_of(done: subprocess.CompletedProcess) -> str:
    return done.stdout.rsplit(b"\n", 1)[-1].decode()


def body_of(done: subprocess.CompletedProcess) -> bytes:
    return done.stdout.rsplit(b"\n", 1)[0]


def client_cert(data_dir, name, out):
    done = run_pasla(["client-cert", name, "--out", out], data_dir)
    assert done.returncode == 0, done.stderr
    fields = dict(re.findall(r"^(\S+)\s+(\S+)", done.stdout, re.M))
    return {
        "cert": out / f"{name}.pem",
        "key": out / f"{name}-key.pem",
        "p12": out / f"{name}.p12",
        "password": fields["password"],
        "sha256": fields["SHA-256"],
        "ca": data_dir / "client-ca" / "cert.pem",
        "stdout": done.stdout,
    }


def self_signed_client(directory, name):
    leaf = certs.issue(name)
    cert = certs.write(directory / f"{name}.pem", certs.pem(leaf.cert), 0o644)
    key = certs.write(directory / f"{name}-key.pem", certs.key_pem(leaf.key))
    return cert, key, leaf.cert


def fingerprint(cert) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def test_client_cert_makes_curl_and_browser_files_and_keeps_its_ca_private(data_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    alice = client_cert(data_dir, "alice", out)
    for path in (alice["cert"], alice["key"], alice["p12"], alice["ca"], alice["ca"].with_name("key.pem")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(alice["ca"].parent.stat().st_mode) == 0o700
    # The browser file opens with the printed password, and holds the same certificate.
    key, cert, extra = pkcs12.load_key_and_certificates(alice["p12"].read_bytes(), alice["password"].encode())
    assert key is not None and fingerprint(cert) == alice["sha256"]
    ca = x509.load_pem_x509_certificate(alice["ca"].read_bytes())
    assert [fingerprint(c) for c in extra] == [fingerprint(ca)]
    # The password is shown once, never written down.
    assert alice["password"].encode() not in b"".join(p.read_bytes() for p in out.iterdir())
    # A second client is signed by the same CA, made only once.
    ca_before = alice["ca"].read_bytes()
    client_cert(data_dir, "bob", out)
    assert alice["ca"].read_bytes() == ca_before
    # Nothing is overwritten; bad names are one line and exit 1.
    before = alice["key"].read_bytes()
    again = run_pasla(["client-cert", "alice", "--out", out], data_dir)
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert alice["key"].read_bytes() == before
    bad = run_pasla(["client-cert", "../evil", "--out", out], data_dir)
    assert bad.returncode == 1 and bad.stderr.startswith("pasla: error: client name")
    assert not (tmp_path / "evil.pem").exists()


def test_client_ca_admits_only_certificates_it_signed(pasla, sample, data_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    alice = client_cert(data_dir, "alice", out)
    stranger_cert, stranger_key, _ = self_signed_client(tmp_path, "stranger")
    served = pasla(sample, 5, 1, "--client-ca", alice["ca"])  # one download only: implies --https
    assert served.url.startswith("https://")

    nobody = curl(served)
    stranger = curl(served, stranger_cert, stranger_key)
    # The handshake fails: no HTTP answer at all, and nothing consumed.
    assert nobody.returncode != 0 and status_of(nobody) == "000"
    assert stranger.returncode != 0 and status_of(stranger) == "000"
    assert served.share_row()["slots_used"] == 0
    assert served.downloads() == []

    admitted = curl(served, alice["cert"], alice["key"])
    assert status_of(admitted) == "200"
    assert hashlib.sha256(body_of(admitted)).digest() == hashlib.sha256(sample.read_bytes()).digest()
    row = served.wait_until(lambda: [r for r in served.downloads() if r["outcome"] == "complete"])[0]
    assert row["client_cert_sha256"] == alice["sha256"]
    line = served.wait_until(lambda: [ln for ln in access_lines(served) if ln["status"] == "200"])
    assert line and f"cert={alice['sha256']}" in served.stderr()


def test_pinned_certificates_admit_exactly_those_clients(pasla, sample, tmp_path):
    pinned_cert, pinned_key, pinned = self_signed_client(tmp_path, "pinned")
    other_cert, other_key, _ = self_signed_client(tmp_path, "other")
    bare_hex = fingerprint(pinned).replace(":", "").lower()  # any spelling of the fingerprint
    served = pasla(sample, 5, 0, "--https", "--client-cert-sha256", bare_hex)

    assert status_of(curl(served)) == "000"
    assert status_of(curl(served, other_cert, other_key)) == "000"
    assert served.downloads() == []
    admitted = curl(served, pinned_cert, pinned_key)
    assert status_of(admitted) == "200" and body_of(admitted) == sample.read_bytes()
    row = served.wait_until(lambda: [r for r in served.downloads() if r["outcome"] == "complete"])[0]
    assert row["client_cert_sha256"] == fingerprint(pinned)


def test_a_valid_certificate_does_not_skip_the_token_or_the_bans(pasla, sample, tmp_path):
    cert, key, leaf = self_signed_client(tmp_path, "pinned")
    served = pasla(sample, 5, 0, "--client-cert-sha256", fingerprint(leaf), env={"PASLA_BAN_THRESHOLD": "2"})
    wrong = served.url.replace(served.token, served.token[:-1] + ("A" if served.token[-1] != "A" else "B"))
    assert [status_of(curl(served, cert, key, url=wrong)) for _ in range(2)] == ["404", "404"]
    # Banned now: the right URL with the right certificate is refused too.
    assert status_of(curl(served, cert, key)) == "403"
    assert served.downloads() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--client-cert-sha256", "abc"], "64 hex digits"),
        (["--client-ca", "/nonexistent/ca.pem"], "no such file"),
        (["--client-ca", "{leaf}"], "not a CA certificate"),
        (["--no-https", "--client-cert-sha256", "ab" * 32], "cannot go with --no-https"),
    ],
    ids=["short-pin", "missing-ca", "leaf-as-ca", "no-https"],
)
def test_bad_client_certificate_options_are_one_line_and_serve_nothing(
    data_dir, sample, tmp_path, args, message
):
    leaf_file, _, _ = self_signed_client(tmp_path, "leaf")
    args = [a.replace("{leaf}", str(leaf_file)) for a in args]
    done = run_pasla([sample, "5", "-p", "0", *args], data_dir, timeout=30)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert done.stdout == ""
