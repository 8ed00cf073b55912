"""The minimum transfer speed: a client taking less than PASLA_MIN_SPEED bytes a
second over a full PASLA_MIN_SPEED_SECONDS window is cut, recorded as too_slow,
and its slot resumes; a client above the floor is kept to the end.

Real server, real sockets; the clients read at a paced rate through a small
receive buffer, so the kernel's buffers cannot hide how slowly they read.
"""

import hashlib
import socket
import ssl
import subprocess
import time

import pytest

SMALL = 300 * 1024  # 6 s at 50 KB/s: two full windows
BIG = 32 << 20
FLOOR = {"PASLA_MIN_SPEED": "10000", "PASLA_MIN_SPEED_SECONDS": "3"}
VARIANTS = {
    "sendfile": ((), {}),
    "read-loop": ((), {"PASLA_ZERO_COPY": "0"}),
    "https": (("--https",), {}),
}


def paced_get(served, rate: int, give_up: float) -> tuple[int, bytes, float]:
    """GET the share reading about `rate` bytes a second; (status, body, seconds) once
    the body ends, the server cuts the connection, or `give_up` seconds pass."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", served.port))
    if served.info.get("scheme") == "https":
        sock = served.pinned_context.wrap_socket(sock, server_hostname="127.0.0.1")
    sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(1024)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    piece = max(256, rate // 10)
    started = time.monotonic()
    while time.monotonic() - started < give_up:
        time.sleep(max(0.0, started + len(body) / rate - time.monotonic()))
        try:
            data = sock.recv(piece)
        except (OSError, ssl.SSLError):
            break
        if not data:
            break
        body += data
    elapsed = time.monotonic() - started
    sock.close()
    return status, body, elapsed


def start(pasla, tmp_path, variant, payload: bytes, count: int):
    args, env = VARIANTS[variant]
    shared = tmp_path / f"shared-{len(payload)}.bin"
    shared.write_bytes(payload)
    served = pasla(shared, 5, count, *args, "--no-checksum", env={**FLOOR, **env})
    if args:
        served.pinned_context = served.tls_context()
    return served


def finished(served):
    rows = served.downloads()
    return rows if rows and all(row["outcome"] != "in_progress" for row in rows) else None


@pytest.mark.parametrize("variant", VARIANTS.keys())
def test_a_client_below_the_floor_is_cut_as_too_slow_and_its_slot_resumes(pasla, tmp_path, variant):
    # Large enough that what the kernel's buffers took at once is far less
    # than the file, so the resume is within the slot's re-send allowance.
    payload = bytes(range(256)) * (BIG // 256)
    served = start(pasla, tmp_path, variant, payload, count=1)

    status, body, elapsed = paced_get(served, 2_000, give_up=30)
    assert status == 200
    assert len(body) < 100_000, len(body)
    assert elapsed < 3 * 3 + 3, elapsed  # the first window, one full one, and a check's lag
    (row,) = served.wait_until(lambda: finished(served))
    assert row["outcome"] == "too_slow"
    assert "transfer below 10000 bytes/s over 3.0s" in served.stderr()

    # The share allows one download: only a resume on the same slot can finish it.
    out = tmp_path / "resumed.bin"
    out.write_bytes(body)
    curl = ["curl", "-sS", "-f", "-C", "-", "-o", str(out), served.url]
    if served.info.get("scheme") == "https":
        curl[1:1] = ["--insecure"]  # pinning is test_https.py's; here only the resume matters
    done = subprocess.run(curl, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(payload).digest()
    assert served.wait(timeout=15) == 0  # the one slot delivered everything: the share ended
    row = served.share_row()
    assert row["state"] == "exhausted" and row["slots_used"] == 1


@pytest.mark.parametrize("variant", VARIANTS.keys())
def test_a_client_above_the_floor_is_kept_to_the_end(pasla, tmp_path, variant):
    payload = bytes(range(256)) * (SMALL // 256)
    served = start(pasla, tmp_path, variant, payload, count=1)
    status, body, elapsed = paced_get(served, 50_000, give_up=30)
    assert status == 200 and body == payload
    assert elapsed > 2 * 3 - 1  # it did read through full windows
    (row,) = served.wait_until(lambda: finished(served))
    assert row["outcome"] == "complete"
    assert "bytes/s" not in served.stderr()


def test_zero_turns_the_floor_off(pasla, tmp_path):
    shared = tmp_path / "shared.bin"
    shared.write_bytes(b"x" * SMALL)
    served = pasla(shared, 1, env={"PASLA_MIN_SPEED": "0", "PASLA_MIN_SPEED_SECONDS": "1"})
    status, body, elapsed = paced_get(served, 2_000, give_up=4.5)
    assert status == 200
    assert elapsed >= 4.5  # still reading at the end: never cut
    rows = served.wait_until(lambda: [r for r in served.downloads() if r["outcome"] != "in_progress"])
    assert rows[0]["outcome"] == "aborted"  # the client left, nobody cut it
    assert "bytes/s" not in served.stderr()
