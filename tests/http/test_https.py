"""HTTPS shares: downloads over TLS, protocol and cipher policy, own certificates."""

import datetime
import hashlib
import signal
import socket
import ssl
import stat
import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests import certs
from tests.conftest import cert_fingerprint, peer_certificate
from tests.parallel import in_parallel
from tests.sockets import closed_after


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tls_dir(served):
    return served.data_dir / "tls" / served.info["id"]


def permissive_client(version: ssl.TLSVersion, ciphers: str = "ALL:@SECLEVEL=0") -> ssl.SSLContext:
    """A client willing to speak old protocols and weak suites, so a failed
    handshake shows what the server refuses, not what this client does."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(ciphers)
    context.minimum_version = version
    context.maximum_version = version
    return context


def handshake(port: int, context: ssl.SSLContext) -> tuple[str, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, context.wrap_socket(raw) as tls:
        return tls.version(), tls.cipher()[0]


# --- ephemeral certificates ---------------------------------------------------


def test_ephemeral_https_download_pinned_to_the_announced_fingerprint(pasla, sample):
    served = pasla(sample, 5, "--https")
    assert served.url.startswith("https://127.0.0.1:")
    assert served.info["scheme"] == "https"
    der = peer_certificate("127.0.0.1", served.port)
    assert served.info["cert_fingerprint"] == cert_fingerprint(der)
    assert served.info["cert_source"] is None

    resp, body = served.https_request()
    assert resp.status == 200
    assert sha(body) == sha(sample.read_bytes())

    row = served.share_row()
    assert row["scheme"] == "https"
    assert row["cert_fingerprint"] == served.info["cert_fingerprint"]


def test_ephemeral_certificate_names_the_url_host_and_ends_with_the_share(pasla, sample):
    from cryptography import x509

    served = pasla(sample, 5, "--https")
    cert = x509.load_der_x509_certificate(peer_certificate("127.0.0.1", served.port))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    # Short-lived: a key leaked by a hard kill is useless soon after the link dies.
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.total_seconds() < 5 * 60 + 2 * 3600
    assert cert.public_key().curve.name == "secp256r1"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_key_material_is_private_while_serving_and_gone_after_a_signal(pasla, sample, signum):
    served = pasla(sample, 5, "--https")
    directory = tls_dir(served)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory.parent).stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "key.pem").stat().st_mode) == 0o600
    served.signal(signum)
    assert served.wait() == 0
    assert not directory.exists()
    # No key path or key material in what the operator's terminal got.
    log = served.stderr()
    assert "key.pem" not in log and "PRIVATE KEY" not in log


def test_key_material_is_gone_after_the_cap_is_reached(pasla, sample):
    served = pasla(sample, 5, 1, "--https")
    directory = tls_dir(served)
    assert directory.is_dir()
    resp, body = served.https_request()
    assert resp.status == 200 and len(body) == sample.stat().st_size
    assert served.wait() == 0
    assert not directory.exists()


def test_key_material_is_gone_after_the_time_runs_out(pasla, sample):
    served = pasla(sample, "2s", "--https")
    directory = tls_dir(served)
    assert directory.is_dir()
    assert served.wait(timeout=20) == 0
    assert not directory.exists()


def test_key_material_left_by_a_hard_kill_is_reaped_by_list(pasla, sample, data_dir):
    from tests.conftest import run_pasla

    served = pasla(sample, 5, "--https")
    directory = tls_dir(served)
    served.proc.kill()
    served.proc.wait(timeout=10)
    assert directory.is_dir()
    done = run_pasla(["list", "--json"], data_dir)
    assert done.returncode == 0, done.stderr
    assert not directory.exists()


def test_plain_http_on_the_https_port_gets_no_http_answer(pasla, sample):
    served = pasla(sample, 5, "--https")
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
        raw.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = b""
        try:
            while chunk := raw.recv(65536):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert b"HTTP/" not in received
    assert served.share_row()["slots_used"] == 0


# --- protocol and cipher policy ----------------------------------------------------


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["1.0", "1.1"])
def test_tls_1_0_and_1_1_handshakes_fail(pasla, sample, version):
    served = pasla(sample, 5, "--https")
    # The same willing client gets through with TLS 1.2: the refusal is the server's.
    assert handshake(served.port, permissive_client(ssl.TLSVersion.TLSv1_2))[0] == "TLSv1.2"
    with pytest.raises(ssl.SSLError) as refused:
        handshake(served.port, permissive_client(version))
    # An alert sent by the server, not a client-side refusal.
    assert "ALERT_PROTOCOL_VERSION" in str(refused.value)


def test_only_forward_secret_aead_suites_on_tls_1_2(pasla, sample):
    served = pasla(sample, 5, "--https")
    v12 = ssl.TLSVersion.TLSv1_2
    for suite in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"):
        assert handshake(served.port, permissive_client(v12, suite)) == ("TLSv1.2", suite)
    for suite in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-NULL-SHA"):
        with pytest.raises(ssl.SSLError, match="ALERT_HANDSHAKE_FAILURE"):
            handshake(served.port, permissive_client(v12, f"{suite}:@SECLEVEL=0"))
    version, _ = handshake(served.port, permissive_client(ssl.TLSVersion.TLSv1_3, "DEFAULT"))
    assert version == "TLSv1.3"


# --- one client never delays another ------------------------------------------------


def test_idle_and_half_handshaken_sockets_do_not_delay_a_download(pasla, sample):
    served = pasla(sample, 5, "--https")
    served.tls_context()  # fetch and pin the certificate before the idle sockets exist
    idle = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    stalled = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    # The first bytes of a TLS record header, then nothing more.
    stalled.sendall(b"\x16\x03\x01\x02")
    try:
        started = time.monotonic()
        resp, body = served.https_request()
        elapsed = time.monotonic() - started
        assert resp.status == 200
        assert sha(body) == sha(sample.read_bytes())
        assert elapsed < 3, f"download took {elapsed:.1f}s behind an idle socket"
    finally:
        idle.close()
        stalled.close()


def test_concurrent_tls_downloads_both_complete(pasla, sample):
    served = pasla(sample, 5, "--https")
    served.tls_context()

    def fetch():
        resp, body = served.https_request()
        return resp.status, sha(body)

    results = in_parallel(fetch, [()] * 3, timeout=30)
    assert results == [(200, sha(sample.read_bytes()))] * 3


# --- the operator's own certificate -----------------------------------------------------


def test_own_ca_issued_certificate_with_chain_is_served_and_left_untouched(pasla, sample, tmp_path):
    root = certs.issue("test root", ca=True)
    intermediate = certs.issue("test intermediate", issuer=root, ca=True)
    leaf = certs.issue("share.test", issuer=intermediate)
    cert_file = certs.write(tmp_path / "fullchain.pem", certs.pem(leaf.cert, intermediate.cert), 0o644)
    key_file = certs.write(tmp_path / "privkey.pem", certs.key_pem(leaf.key), 0o600)
    before = {p: (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns) for p in (cert_file, key_file)}

    served = pasla(sample, 5, "--tls-cert", cert_file, "--tls-key", key_file)
    assert served.url.startswith("https://")
    assert served.info["cert_source"] == str(cert_file)
    assert served.info["cert_expiry"].startswith(leaf.cert.not_valid_after_utc.strftime("%Y-%m-%d"))
    assert served.info["cert_fingerprint"] == cert_fingerprint(leaf.cert.public_bytes(Encoding.DER))

    # A client that trusts only the root verifies the whole chain pasla sends.
    client = ssl.create_default_context(cadata=certs.pem(root.cert).decode())
    resp, body = served.https_request(context=client)
    assert resp.status == 200 and sha(body) == sha(sample.read_bytes())

    served.signal()
    assert served.wait() == 0
    assert not (served.data_dir / "tls" / served.info["id"]).exists()
    after = {p: (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns) for p in (cert_file, key_file)}
    assert after == before


def test_own_rsa_certificate_works(pasla, sample, tmp_path):
    cert_file, key_file = certs.self_signed_files(tmp_path, key=certs.rsa_key())
    served = pasla(sample, 5, "--tls-cert", cert_file, "--tls-key", key_file)
    resp, body = served.https_request()
    assert resp.status == 200 and sha(body) == sha(sample.read_bytes())


def test_encrypted_key_works_with_the_password_from_the_environment(pasla, sample, tmp_path):
    cert_file, key_file = certs.self_signed_files(tmp_path, password=b"s3cret pass")
    password = {"PASLA_TLS_KEY_PASSWORD": "s3cret pass"}
    served = pasla(sample, 5, "--tls-cert", cert_file, "--tls-key", key_file, env=password)
    resp, body = served.https_request()
    assert resp.status == 200 and sha(body) == sha(sample.read_bytes())
    assert "s3cret" not in served.stderr()


def test_certificate_close_to_expiry_serves_with_a_warning(pasla, sample, tmp_path):
    soon = certs.NOW + datetime.timedelta(days=3)
    cert_file, key_file = certs.self_signed_files(tmp_path, not_after=soon)
    served = pasla(sample, 5, "--tls-cert", cert_file, "--tls-key", key_file)
    resp, _ = served.https_request()
    assert resp.status == 200
    warning = [line for line in served.stderr().splitlines() if line.startswith("pasla: warning:")]
    assert len(warning) == 1 and "expires" in warning[0] and soon.strftime("%Y-%m-%d") in warning[0]


def test_key_material_left_by_a_hard_kill_is_reaped_by_the_next_start(pasla, sample):
    first = pasla(sample, 5, "--https")
    directory = tls_dir(first)
    first.proc.kill()
    first.proc.wait(timeout=10)
    second = pasla(sample, 5, "--https")
    assert not directory.exists()
    assert tls_dir(second).is_dir()


def test_a_tls_client_that_stops_reading_is_cut_off(pasla, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(64 << 20)  # sparse: cheap to make, long enough to fill every buffer
    served = pasla(big, 5, "--https", "--no-checksum", env={"PASLA_TRANSFER_STALL_TIMEOUT": "1"})
    context = served.tls_context()
    raw = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
    try:
        tls.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert tls.recv(1024).startswith(b"HTTP/1.1 200")
        served.wait_until(lambda: "transfer stalled" in served.stderr(), timeout=20)
        # The server dropped the connection: reading drains what was
        # buffered, then ends well short of the file (a hang would time out).
        received = 0
        try:
            while chunk := tls.recv(1 << 20):
                received += len(chunk)
        except (ssl.SSLError, ConnectionResetError):
            pass
        assert received < big.stat().st_size // 2
    finally:
        tls.close()
    # The server itself is fine: the next client is served.
    resp, body = served.https_request(headers={"Range": "bytes=-1024"})
    assert resp.status == 206 and body == bytes(1024)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_slow_tls_reader_does_not_make_the_server_buffer_the_file(pasla, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(96 << 20)  # sparse: the server could read all of it in well under a second
    served = pasla(big, 5, "--https", "--no-checksum")
    resp, _ = served.https_request("HEAD")  # warm up the TLS and HTTP paths
    assert resp.status == 200
    baseline = rss_mib(served.proc.pid)
    raw = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    tls = served.tls_context().wrap_socket(raw, server_hostname="127.0.0.1")
    try:
        tls.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received, peak = 0, baseline
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            received += len(tls.recv(16 << 10))
            peak = max(peak, rss_mib(served.proc.pid))
            time.sleep(0.01)  # about 1.5 MiB/s at most
    finally:
        tls.close()
    assert received < 16 << 20
    # Buffering the file would cost ~96 MiB; backpressure keeps it to a few chunks.
    assert peak - baseline < 24, f"server RSS grew {peak - baseline:.0f} MiB for a slow reader"


def test_https_over_ipv6_loopback_verifies_against_the_certificate(pasla, sample):
    import http.client

    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    served = pasla(sample, 5, "--https")
    if not served.info["url_ipv6"]:
        pytest.skip("server is not listening on IPv6 here")
    context = served.tls_context()  # pinned; hostname checking stays on
    conn = http.client.HTTPSConnection("::1", served.port, timeout=30, context=context)
    try:
        conn.request("GET", served.path)
        resp = conn.getresponse()
        assert resp.status == 200 and sha(resp.read()) == sha(sample.read_bytes())
    finally:
        conn.close()


def test_list_shows_the_scheme_and_fingerprint_of_a_running_share(pasla, sample, data_dir):
    import json

    from tests.conftest import run_pasla

    served = pasla(sample, 5, "--https")
    listed = run_pasla(["list", "--json"], data_dir)
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    mine = rows[served.info["id"]]
    assert (mine["scheme"], mine["cert_fingerprint"]) == ("https", served.info["cert_fingerprint"])
    assert tls_dir(served).is_dir()  # a live share's key is never reaped
    human = run_pasla(["list"], data_dir).stdout
    assert f"{served.info['id']}  sample.bin  https port {served.port}" in human


# --- the connection guard's header deadline covers the handshake ---------------------------


@pytest.mark.parametrize("sent", [b"", b"\x16\x03\x01\x02"], ids=["silent", "half-hello"])
def test_a_socket_that_never_finishes_its_handshake_is_cut_at_the_header_deadline(pasla, sample, sent):
    served = pasla(sample, 5, "--https", env={"PASLA_HEADER_READ_TIMEOUT": "1"})
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    try:
        sock.sendall(sent)
        assert closed_after(sock, 6) <= 1 + 1.5
    finally:
        sock.close()


def test_a_handshake_without_a_request_is_cut_at_the_header_deadline(pasla, sample):
    served = pasla(sample, 5, "--https", env={"PASLA_HEADER_READ_TIMEOUT": "1"})
    context = served.tls_context()
    raw = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
    try:
        started = time.monotonic()
        tls.settimeout(6)
        try:
            assert tls.recv(1024) == b""
        except (ConnectionResetError, ssl.SSLError):
            pass
        assert time.monotonic() - started <= 1 + 1.5
    finally:
        tls.close()


# --- handshake cost: resumption, curve, cipher -------------------------------------------


def test_a_returning_client_resumes_its_session_with_a_ticket(pasla, sample):
    served = pasla(sample, 5, "--https")
    context = served.tls_context()

    def get(session=None):
        raw = socket.create_connection(("127.0.0.1", served.port), timeout=10)
        with context.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as tls:
            tls.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            received = b""
            while chunk := tls.recv(65536):  # TLS 1.3 tickets arrive after the handshake
                received += chunk
            return received, tls.session, tls.session_reused

    first, session, reused = get()
    assert not reused
    second, _, reused = get(session)
    assert reused
    for answer in (first, second):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and body == sample.read_bytes()


def test_the_handshake_uses_x25519_and_aes_128_gcm_first(pasla, sample):
    import subprocess

    served = pasla(sample, 5, "--https")
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{served.port}", "-brief"],
        input=b"",
        capture_output=True,
        timeout=20,
    )
    report = done.stderr.decode()
    assert "Server Temp Key: X25519" in report or "Peer Temp Key: X25519" in report, report
    assert "TLS_AES_128_GCM_SHA256" in report, report
    # A client that puts ChaCha20 first (no AES instructions) gets it.
    chacha = subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{served.port}",
            "-brief",
            "-ciphersuites",
            "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
        ],
        input=b"",
        capture_output=True,
        timeout=20,
    )
    assert "TLS_CHACHA20_POLY1305_SHA256" in chacha.stderr.decode()
