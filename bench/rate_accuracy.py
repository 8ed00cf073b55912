"""How close --max-rate keeps the total send rate to the set rate.

    .venv/bin/python bench/run.py --only rate [--quick]

For each way of sending (sendfile, the read loop, the TLS file sender) and
each set rate, one pasla share with `--max-rate RATE`, then 1 and then 10
greedy clients (threads reading as fast as they can, from their own
loopback addresses). Bytes received are counted over WINDOW seconds after
a one-second warm-up (the buckets start full, the first burst is not the
steady rate); the figure is the aggregate rate over the set rate, the
target being within 10%. The spread shows fairness: the slowest and the
fastest client's share of the aggregate.
"""

import json
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 1.0
WINDOW = 10.0
RATES = {"1M": 1 << 20, "5M": 5 << 20}
WAYS = {"sendfile": ((), {}), "read loop": ((), {"PASLA_ZERO_COPY": "0"}), "TLS": (("--https",), {})}


def _start(path: Path, work: Path, rate: str, args, env) -> tuple[subprocess.Popen, str]:
    data = work / f"data-rate-{time.monotonic_ns()}"
    data.mkdir()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PASLA_")}
    full_env.pop("DATABASE_URL", None)
    full_env.pop("CACHE_URL", None)
    full_env.update({"PASLA_DATA_DIR": str(data), "PASLA_PUBLIC_HOST": "127.0.0.1", "HOME": str(data), **env})
    command = [sys.executable, str(ROOT / "manage.py"), "pasla", str(path), "30", "0", "--json", "-p", "0"]
    proc = subprocess.Popen(
        [*command, "--no-checksum", "--max-rate", rate, *args],
        cwd=ROOT,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(data / "pasla.err", "w"),  # noqa: SIM115
        text=True,
    )
    proc.pasla_err = data / "pasla.err"
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    if not ready:
        proc.kill()
        raise SystemExit("pasla did not start")
    return proc, json.loads(proc.stdout.readline())["url_ipv4"]


def _reader(url: str, source: str, start_at: float, stop_at: float, counts: list, index: int):
    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection(("127.0.0.1", parts.port), timeout=30, source_address=(source, 0))
    if parts.scheme == "https":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
    sock.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    counted = 0
    sock.settimeout(0.2)
    while (now := time.monotonic()) < stop_at:
        try:
            data = sock.recv(1 << 20)
        except (TimeoutError, ssl.SSLError):
            continue
        if not data:
            break
        if now >= start_at:
            counted += len(data)
    sock.close()
    counts[index] = counted


def measure(url: str, clients: int) -> tuple[float, float, float]:
    """(aggregate bytes a second, slowest client's share, fastest client's share)."""
    counts = [0] * clients
    start_at = time.monotonic() + WARM_UP
    stop_at = start_at + WINDOW
    threads = [
        threading.Thread(target=_reader, args=(url, f"127.0.0.{i + 1}", start_at, stop_at, counts, i))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(counts)
    return total / WINDOW, min(counts) / total if total else 0.0, max(counts) / total if total else 0.0


def rate_accuracy(work: Path, quick: bool = False) -> dict[str, float]:
    """Figures for the bench table: achieved/set (%) per way, rate and client count."""
    rows = {}
    big = work / "rate.bin"
    with open(big, "wb") as out:  # more than any client can get at the highest rate
        out.truncate(128 << 20)
    rates = {"1M": RATES["1M"]} if quick else RATES
    for way, (args, env) in WAYS.items():
        for label, rate in rates.items():
            proc, url = _start(big, work, label, args, env)
            try:
                for clients in (1, 10):
                    achieved, low, high = measure(url, clients)
                    if proc.poll() is not None:
                        log = (proc.pasla_err).read_text(errors="replace")[-2000:]
                        raise SystemExit(f"pasla exited {proc.returncode} during the rate bench:\n{log}")
                    key = f"rate {way} {label} x{clients}"
                    rows[f"{key}: achieved/set %"] = 100 * achieved / rate
                    if clients > 1:
                        rows[f"{key}: slowest/fastest share %"] = 100 * low / high if high else 0.0
                    print(
                        f"{key}: {achieved / (1 << 20):.3f} MiB/s of {rate / (1 << 20):.3f} "
                        f"({100 * achieved / rate:.1f}%), client shares {low:.3f}-{high:.3f}",
                        file=sys.stderr,
                    )
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    return rows
