"""The send-rate cap (--max-rate per share, PASLA_MAX_RATE per server) on a real server.

Clients read as fast as they can; what they have received after a few
seconds is the rate times the time, within generous bounds (the machine is
shared). The accuracy over 10 s, with 1 and 10 clients, is measured by
`bench/run.py --only rate`, not here.
"""

import os
import socket
import ssl
import time

import pytest

from tests.conftest import run_pasla
from tests.parallel import in_parallel

RATE = 256 << 10
SECONDS = 3.0
BIG = 16 << 20
VARIANTS = {
    "sendfile": ((), {}),
    "read-loop": ((), {"PASLA_ZERO_COPY": "0"}),
    "https": (("--https",), {}),
}


def received_within(served, seconds: float, source: str = "127.0.0.1") -> int:
    """Body bytes a greedy client has after `seconds` from its first byte."""
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=30, source_address=(source, 0))
    if served.info.get("scheme") == "https":
        sock = served.pinned_context.wrap_socket(sock, server_hostname="127.0.0.1")
    sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    body = len(raw.partition(b"\r\n\r\n")[2])
    deadline = time.monotonic() + seconds
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(1 << 20)
        except (TimeoutError, ssl.SSLError) as exc:
            if isinstance(exc, TimeoutError) or "timed out" in str(exc):
                continue
            raise
        if not data:
            break
        body += len(data)
    sock.close()
    return body


def start(pasla, tmp_path, *args, env=None):
    shared = tmp_path / "shared.bin"
    if not shared.exists():
        shared.write_bytes(os.urandom(BIG))
    served = pasla(shared, 5, "--no-checksum", *args, env=env)
    if "--https" in args:
        served.pinned_context = served.tls_context()
    return served


def assert_about(got: int, rate: int, seconds: float):
    # At most the rate plus one burst (a tenth of a second) and a little
    # slack; at least half (a loaded machine may be slow, never fast).
    assert rate * seconds * 0.5 <= got <= rate * seconds * 1.1 + rate * 0.1, (got, rate * seconds)


@pytest.mark.parametrize("variant", VARIANTS.keys())
def test_a_share_is_sent_at_its_max_rate(pasla, tmp_path, variant):
    args, env = VARIANTS[variant]
    served = start(pasla, tmp_path, *args, "--max-rate", "256K", env=env)
    assert_about(received_within(served, SECONDS), RATE, SECONDS)


def test_the_rate_is_shared_among_downloads(pasla, tmp_path):
    served = start(pasla, tmp_path, "--max-rate", "256K")
    got = in_parallel(received_within, [(served, SECONDS, f"127.0.0.{i}") for i in (1, 2, 3)])
    assert_about(sum(got), RATE, SECONDS)
    # Nobody is starved. Fair pieces are not a strict round-robin: under
    # load one run saw [349520, 410686, 61166] (docs/performance.md has the
    # spread over 10 s), so the bound is a fifth of an equal share.
    assert min(got) >= sum(got) / 3 * 0.2, got


def test_the_server_wide_cap_holds_too(pasla, tmp_path):
    served = start(pasla, tmp_path, env={"PASLA_MAX_RATE": "256K"})
    got = in_parallel(received_within, [(served, SECONDS, f"127.0.0.{i}") for i in (1, 2)])
    assert_about(sum(got), RATE, SECONDS)


def test_the_tighter_of_the_share_and_server_caps_wins(pasla, tmp_path):
    served = start(pasla, tmp_path, "--max-rate", "1M", env={"PASLA_MAX_RATE": "256K"})
    assert_about(received_within(served, SECONDS), RATE, SECONDS)


def test_without_a_cap_a_download_is_not_paced(pasla, tmp_path):
    served = start(pasla, tmp_path)
    # Far beyond any cap tested here; loopback moves gigabytes a second.
    assert received_within(served, 1.0) >= 4 * RATE


@pytest.mark.parametrize("value", ["5MB", "fast", "-1M", "1e6", "100", "1.5.M", "5 M"])
def test_junk_rates_are_refused_with_one_line(tmp_path, data_dir, value):
    shared = tmp_path / "shared.bin"
    shared.write_bytes(b"x")
    for args, env, name in (
        ([shared, "--max-rate", value], None, "--max-rate"),
        ([shared], {"PASLA_MAX_RATE": value}, "PASLA_MAX_RATE"),
    ):
        done = run_pasla([*args, "--dry-run"], data_dir, env=env)
        assert done.returncode == 1, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0] and "Traceback" not in done.stderr, done.stderr
