"""A slow recipient slows the sender down: neither the relay nor the sender buffers the file."""

import socket
import threading
import time

from tests.relay.conftest import sparse_file

MIB = 1 << 20


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_recipient_at_one_megabyte_a_second_keeps_both_processes_small(via, relay, tmp_path):
    served = via(sparse_file(tmp_path / "huge.bin", 512 * MIB), 5)
    assert served.request("HEAD")[0].status == 200  # both processes have served a request once
    pids = {"relay": relay.proc.pid, "sender": served.proc.pid}
    before = {name: rss(pid) for name, pid in pids.items()}
    peak = dict(before)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for name, pid in pids.items():
                peak[name] = max(peak[name], rss(pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.connect(("127.0.0.1", served.port))
    sock.settimeout(10)
    sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: relay\r\n\r\n".encode())
    started, received = time.monotonic(), 0
    try:
        while time.monotonic() - started < 12:  # 1 MB/s: 64 KB every 1/16 s
            received += len(sock.recv(65536))
            ahead = received / 1_000_000 - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    finally:
        stop.set()
        sampler.join()
        sock.close()
    assert 8 * 1_000_000 < received < 16 * 1_000_000
    growth = {name: peak[name] - before[name] for name in pids}
    assert all(grown < 16 * MIB for grown in growth.values()), growth
