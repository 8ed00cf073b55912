"""A share's life: the cap, the clock, signals, and what stdout carries."""

import json
import signal
import socket
import threading
import time
from datetime import datetime, timedelta

from tests.conftest import run_pasla
from tests.parallel import in_parallel


def drain(sock, at_least: int) -> int:
    """Read until `at_least` bytes arrived (keep-alive never closes by itself)."""
    sock.settimeout(20)
    got = 0
    while got < at_least:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    return got


def test_cap_is_exact_under_50_parallel_gets(pasla, sample):
    """50 clients (a slot belongs to one client address, so 50 addresses) race for 7 slots."""
    served = pasla(sample, 5, 7)
    barrier = threading.Barrier(50)

    def fetch(n):
        # 50 clients, not one client with 50 sockets: that one would meet
        # PASLA_MAX_CONNECTIONS_PER_IP (20) and have its extra sockets reset.
        conn = served.connection(source=f"127.0.0.{10 + n}")
        barrier.wait()
        try:
            conn.request("GET", served.path)
            resp = conn.getresponse()
            return resp.status, len(resp.read())
        finally:
            conn.close()

    results = in_parallel(fetch, [(n,) for n in range(50)])
    full = [r for r in results if r == (200, sample.stat().st_size)]
    gone = [r for r in results if r[0] == 410]
    assert len(full) == 7, results
    assert len(gone) == 43, results
    assert served.wait(timeout=20) == 0  # exhausted -> exits 0
    row = served.share_row()
    assert (row["slots_used"], row["state"]) == (7, "exhausted")
    assert len([d for d in served.downloads() if d["outcome"] == "complete"]) == 7


def test_head_never_uses_a_slot(pasla, sample):
    served = pasla(sample, 5, 1)
    for _ in range(5):
        resp, _ = served.request("HEAD")
        assert resp.status == 200
    assert served.share_row()["slots_used"] == 0
    resp, body = served.request()
    assert resp.status == 200 and len(body) == sample.stat().st_size


def test_share_expires_and_server_exits(pasla, sample):
    served = pasla(sample, "2s")
    resp, _ = served.request("HEAD")
    assert resp.status == 200
    assert served.wait(timeout=10) == 0
    row = served.share_row()
    assert row["state"] == "expired"
    # The watchdog marks it within about a second of the deadline (the
    # margin allows for a loaded CI machine).
    ended, expires = (datetime.fromisoformat(row[k]) for k in ("ended_at", "expires_at"))
    assert timedelta(0) <= ended - expires < timedelta(seconds=2.5)


def test_expired_link_answers_410_while_in_flight_downloads_drain(pasla, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (64 << 20))
    served = pasla(big, "3s")
    keepalive = served.connection()
    keepalive.request("HEAD", served.path)
    first = keepalive.getresponse()
    first.read()
    assert first.status == 200
    sock = socket.create_connection(("127.0.0.1", served.port))
    sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    first_part = sock.recv(65536)
    head_length = first_part.index(b"\r\n\r\n") + 4
    received = len(first_part)
    time.sleep(3.5)  # the share is now expired, the download still running
    # New connections are refused once the share ends; one kept alive from
    # before sees the link as gone.
    keepalive.request("GET", served.path, headers={"Accept": "text/html"})
    resp = keepalive.getresponse()
    body = resp.read()
    assert resp.status == 410
    assert b"expired" in body
    received += drain(sock, head_length + (64 << 20) - received)
    sock.close()
    assert received == head_length + (64 << 20)  # headers + every byte
    assert served.wait(timeout=10) == 0
    assert served.downloads()[0]["outcome"] == "complete"


def test_cap_reached_lets_the_in_flight_download_finish(pasla, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"\1" * (32 << 20))
    served = pasla(big, 5, 1)
    sock = socket.create_connection(("127.0.0.1", served.port))
    sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200")
    time.sleep(1.5)  # slot used, cap reached; watchdog has run at least twice
    assert served.proc.poll() is None, "server quit while a download was in flight"
    # Another client: the slot is someone else's. Still listening: the share
    # only ends when the download does.
    resp, _ = served.request(source="127.0.0.2")
    assert resp.status == 410
    received = len(head.split(b"\r\n\r\n", 1)[1])
    received += drain(sock, (32 << 20) - received)
    sock.close()
    assert received == 32 << 20
    assert served.wait(timeout=10) == 0
    assert served.share_row()["state"] == "exhausted"


def test_sigterm_and_sigint_stop_gracefully(pasla, sample):
    for signum in (signal.SIGTERM, signal.SIGINT):
        served = pasla(sample)
        served.signal(signum)
        assert served.wait(timeout=10) == 0
        assert served.share_row()["state"] == "revoked"
        assert "Traceback" not in served.stderr()


def test_json_is_the_only_thing_on_stdout(pasla, sample):
    served = pasla(sample, "2s", 3)
    info = served.info
    assert set(info) >= {
        "id",
        "version",
        "url_ipv4",
        "url_ipv6",
        "file",
        "port",
        "file_sha256",
        "expires_seconds",
        "max_downloads",
        "dry_run",
    }
    assert (info["expires_seconds"], info["max_downloads"], info["dry_run"]) == (2, 3, False)
    assert info["url_ipv4"].startswith(f"http://127.0.0.1:{info['port']}/")
    served.request()
    assert served.wait(timeout=10) == 0
    assert served.proc.stdout.read() == ""  # nothing after the JSON line
    assert "INFO" in served.stderr()  # logs went to stderr


def test_dry_run_serves_nothing_and_writes_nothing(data_dir, sample):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    result = run_pasla([sample, 30, 2, "--dry-run", "--json", "-p", port], data_dir)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["dry_run"] is True and info["port"] == port and info["max_downloads"] == 2
    assert info["url_ipv4"].startswith(f"http://127.0.0.1:{port}/")
    with socket.socket() as check:
        assert check.connect_ex(("127.0.0.1", port)) != 0  # nothing listening
    assert not (data_dir / "pasla.sqlite3").exists() or not run_pasla(
        ["list", "--json"], data_dir
    ).stdout.strip("[]\n")
    banner = run_pasla([sample, "--dry-run", "-p", port], data_dir)
    assert banner.returncode == 0 and "Dry run" in banner.stdout and "SHA-256" in banner.stdout


def test_version(data_dir):
    result = run_pasla(["--version"], data_dir)
    assert result.returncode == 0 and result.stdout.startswith("pasla ")
