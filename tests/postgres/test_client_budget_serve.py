"""The bytes budget and the rate cap under `pasla serve`: one budget per client
across every share and, on Redis, across every worker.

SO_REUSEPORT picks the worker by a hash of the addresses; each request here
goes on a fresh connection, and the JSON access log says which worker
answered, so the two-worker test checks that both took part.
"""

import os
import socket
import time

import pytest

from tests.parallel import in_parallel

BUDGET = 1 << 20
PIECE = 64 << 10


def both_workers_answered(server, status: int) -> bool:
    seen = {pid for pid, lines in server.access_by_pid().items() if any(f" {status} " in m for m in lines)}
    return set(server.workers) <= seen


@pytest.fixture
def two_files(tmp_path):
    made = []
    for name in ("a.bin", "b.bin"):
        path = tmp_path / name
        path.write_bytes(os.urandom(BUDGET))
        made.append(path)
    return made


def test_one_budget_across_shares_and_workers(serve, backend, two_files):
    workers = 2 if backend.kind == "postgres" else 1  # several workers need Redis
    env = {"PASLA_CLIENT_BYTES_PER_HOUR": str(BUDGET), "PASLA_RATE_LIMIT_MAX_REQUESTS": "1000"}
    server = serve(backend, workers=workers, env=env)
    shares = [server.share(path, 5) for path in two_files]
    payloads = [path.read_bytes() for path in two_files]

    # Sixteen pieces, every other one from the other share: the budget exactly.
    for n in range(BUDGET // PIECE):
        share, payload = shares[n % 2], payloads[n % 2]
        start = (n // 2) * PIECE
        resp, body = server.request("GET", share["path"], {"Range": f"bytes={start}-{start + PIECE - 1}"})
        assert resp.status == 206 and body == payload[start : start + PIECE], n
    # Spent, on either share, on either worker.
    refused = []
    for n in range(40):
        resp, body = server.request("GET", shares[n % 2]["path"], {"Range": "bytes=0-0"})
        refused.append(resp.status)
        assert resp.status == 429 and 1 <= int(resp.getheader("Retry-After")) <= 3600
        if n >= 4 and (workers == 1 or both_workers_answered(server, 429)):
            break
    if workers > 1:
        assert both_workers_answered(server, 206) and both_workers_answered(server, 429)
    (total,) = backend.query("select sum(bytes_sent) from shares_download")[0]
    assert total == BUDGET
    # Another client is untouched.
    resp, _ = server.request("GET", shares[0]["path"], {"Range": "bytes=0-9"}, source="127.0.0.2")
    assert resp.status == 206


def received_within(port: int, path: str, seconds: float, source: str) -> int:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    got = len(raw.partition(b"\r\n\r\n")[2])
    deadline = time.monotonic() + seconds
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:
            continue
        if not data:
            break
        got += len(data)
    sock.close()
    return got


def test_a_shares_max_rate_holds_under_serve(serve, backend, tmp_path):
    workers = 2 if backend.kind == "postgres" else 1
    server = serve(backend, workers=workers)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(16 << 20))
    share = server.share(big, 5, "--max-rate", "256K", "--no-checksum")
    clients = [(server.port, share["path"], 3.0, f"127.0.0.{i}") for i in range(1, 5)]
    got = sum(in_parallel(received_within, clients))
    rate = 256 << 10
    # Never more than the cap, whichever workers the clients landed on; a
    # worker without clients leaves its part of the cap unused.
    assert got <= rate * 3 * 1.1 + rate * 0.1, got
    assert got >= rate * 3 * (0.5 / workers), got
