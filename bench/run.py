"""The benchmark: pasla against another server on the same files, in one run.

    .venv/bin/python bench/run.py [--quick] [--runs N] [--floor] [--https] [--e2e]
        [--against 'python -m http.server --bind 127.0.0.1 --directory {dir} {port}']

Our server is `manage.py pasla FILE --json -p 0`, one process per test file
(a share is one file). The other server is started from --against with
these placeholders:

    {dir}   the directory holding every bench file (one process serves all)
    {file}  the path of one bench file: then one process per file, like ours
    {name}  that file's name
    {port}  a free TCP port picked by the bench

Its URL is the first http:// URL it prints on stdout within a few seconds,
else http://127.0.0.1:{port}/{name} (https:// with --https). Runs alternate between the two servers
and every figure is the median of --runs rounds (5 by default). CPU and RSS
are read from /proc for the server process only (utime+stime, VmRSS);
clients are curl processes or one asyncio process of raw sockets.

`--only rate` measures how close `--max-rate` keeps the total send rate
(bench/rate_accuracy.py): 1 and 10 clients over 10 s, for sendfile, the
read loop and TLS.

`--only attacks` runs the hostile scenario instead (bench/attackers.py):
a pasla share with the default connection caps, and a legitimate client
making 60 HEAD requests during 100 idle sockets from 5 addresses, 500
slowloris sockets, and back-to-back 1.5 GB POSTs; it prints the client's
success rate and p90 latency and the server's RSS growth for each.

--floor adds bench/bare_sendfile.py as a third server, timed on the
single-client run only: the file sent by os.sendfile with nothing else, so
its CPU per GiB is the kernel's own cost of moving the bytes on this
machine, which no server that sends the file itself goes below. It also
adds bench/bare_daphne.py ("stack"), timed on time to first byte only:
daphne serving a Django view that returns the file, no middleware, no
database, so the stack pasla is built on, before pasla does anything.

--e2e adds the big file served with --e2e (sealed record by record as it
is sent) to the single-client run, and `pasla get` of it (download,
decrypt, SHA-256) in the first two rounds.

--https runs every measurement over TLS: pasla serves with --https (an
ephemeral certificate), the --against server must speak TLS too (e.g.
bench/ssl_file_server.py), and every client skips certificate checks
(curl -k). Time to first byte then includes the handshake of a new
connection. The --floor server stays plain TCP: it is the cost of moving
the bytes without any encryption.
"""

import argparse
import asyncio
import os
import re
import resource
import select
import shlex
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIB = 1 << 20
GIB = 1 << 30
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# Set by --https: the client side of every measurement (no certificate checks).
TLS: ssl.SSLContext | None = None


def client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def wrap(sock: socket.socket) -> socket.socket:
    return TLS.wrap_socket(sock, server_hostname="127.0.0.1") if TLS is not None else sock


def curl_tls(url: str) -> list[str]:
    return ["-k"] if url.startswith("https:") else []


# --- processes ------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


class RssSampler:
    """Peak RSS of a process, sampled every 20 ms in a thread."""

    def __init__(self, pid: int):
        self.pid = pid
        self.start = rss_bytes(pid)
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except OSError:
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self.pid))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    label: str
    procs: dict = field(default_factory=dict)  # file name -> Popen
    urls: dict = field(default_factory=dict)  # file name -> URL
    fragments: dict = field(default_factory=dict)  # file name -> an --e2e URL's key fragment

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def stop(self):
        for proc in {id(p): p for p in self.procs.values()}.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def bench_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASLA_")}
    env.pop("DATABASE_URL", None)
    env.pop("CACHE_URL", None)
    env.update(
        {
            "PASLA_DATA_DIR": str(data_dir),
            "PASLA_PUBLIC_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            "HOME": str(data_dir),
            # The 1000-client and 50-client runs come from one address.
            "PASLA_MAX_GLOBAL_CONNECTIONS": "5000",
            "PASLA_MAX_CONNECTIONS_PER_IP": "5000",
            "PASLA_TRANSFER_STALL_TIMEOUT": "120",
        }
    )
    return env


def start_pasla(
    files: list[Path], work: Path, extra_env: dict, https: bool = False, label: str = "pasla", flags=()
) -> Server:
    import json

    server = Server(label)
    for path in files:
        data = work / f"data-{label}-{path.name}"
        data.mkdir(exist_ok=True)
        env = bench_env(data) | extra_env
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "pasla", str(path), "600", "0", "--json", "-p", "0"]
            + (["--https"] if https else [])
            + list(flags),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=open(work / f"{label}-{path.name}.err", "w"),  # noqa: SIM115
            text=True,
        )
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        if not ready:
            proc.kill()
            raise SystemExit(f"pasla did not start for {path.name}")
        info = json.loads(proc.stdout.readline())
        server.procs[path.name] = proc
        # An --e2e URL's key is in its fragment, which no client sends.
        server.urls[path.name] = info["url_ipv4"].split("#")[0]
        server.fragments[path.name] = info["url_ipv4"].partition("#")[2]
    return server


def start_other(
    template: str, files: list[Path], directory: Path, work: Path, label="other", scheme="http"
) -> Server:
    server = Server(label)
    per_file = "{file}" in template
    groups = [[p] for p in files] if per_file else [files]
    for group in groups:
        port = free_port()
        values = {"dir": str(directory), "port": str(port), "file": str(group[0]), "name": group[0].name}
        argv = [part.format(**values) for part in shlex.split(template)]
        proc = subprocess.Popen(
            argv,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        url = wait_for_url(proc, port, per_file)
        for path in group:
            server.procs[path.name] = proc
            server.urls[path.name] = url or f"{scheme}://127.0.0.1:{port}/{urllib.parse.quote(path.name)}"
    return server


def wait_for_url(proc, port: int, per_file: bool, timeout: float = 15) -> str | None:
    """Once the port accepts connections: the first URL the command printed
    (per-file servers, like a token-URL tool), else None."""
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    seen = b""

    def drain():
        nonlocal seen
        try:
            seen += os.read(proc.stdout.fileno(), 65536)
        except BlockingIOError:
            pass

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"--against command exited with {proc.returncode}")
        drain()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
        except OSError:
            time.sleep(0.1)
            continue
        if not per_file:
            return None
        # A banner may follow the listening socket by a moment (or a checksum).
        while time.monotonic() < deadline:
            drain()
            match = re.search(rb"https?://[^\s)]+/[^\s)]+\n", seen)
            if match:
                return match.group(0).decode().strip()
            time.sleep(0.1)
        return None
    raise SystemExit("--against command did not start listening")


# --- clients ----------------------------------------------------------------------


WRITE_OUT = "%{time_total} %{size_download} %{http_code}"


def curl_get(url: str) -> tuple[float, int]:
    """(seconds, bytes) of one GET with curl to /dev/null."""
    out = subprocess.run(
        ["curl", "-s", *curl_tls(url), "-o", "/dev/null", "-w", WRITE_OUT, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if out[2] not in ("200", "206"):
        raise SystemExit(f"curl got HTTP {out[2]}")
    return float(out[0]), int(out[1])


def split_url(url: str) -> tuple[int, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80), parts.path


def request_bytes(url: str) -> bytes:
    port, path = split_url(url)
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()


def ttfb_samples(url: str, count: int) -> list[float]:
    """Fresh connection per request; seconds from connect() to the first
    response byte (with --https: the handshake included, no resumption)."""
    port, _ = split_url(url)
    raw = request_bytes(url)
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        with wrap(socket.create_connection(("127.0.0.1", port))) as sock:
            sock.sendall(raw)
            sock.recv(1)
            samples.append(time.perf_counter() - began)
            while sock.recv(65536):
                pass
    return samples


async def _slow_client(port, raw, rate, size, sem, results, index, rcvbuf):
    async with sem:  # connect in waves: a burst of SYNs only measures the backlog
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(
            sock=sock, ssl=TLS, server_hostname="127.0.0.1" if TLS else None, limit=1 << 16
        )
    try:
        writer.write(raw)
        await writer.drain()
        got = 0
        head = b""
        while b"\r\n\r\n" not in head:
            data = await reader.read(65536)
            if not data:
                results[index] = -1
                return
            head += data
        got = len(head.partition(b"\r\n\r\n")[2])
        step = max(1, int(rate / 10))
        next_at = loop.time()
        while got < size:
            data = await reader.read(min(step, size - got))
            if not data:
                break
            got += len(data)
            next_at += len(data) / rate
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        results[index] = got
    finally:
        writer.transport.abort()


async def _slow_clients(url, clients, rate, size, rcvbuf):
    port, _ = split_url(url)
    raw = request_bytes(url)
    sem = asyncio.Semaphore(50)
    results = [0] * clients
    await asyncio.gather(
        *(_slow_client(port, raw, rate, size, sem, results, i, rcvbuf) for i in range(clients)),
        return_exceptions=True,
    )
    return results


def slow_clients(url: str, clients: int, rate: float, size: int, rcvbuf: int = 64 * 1024) -> list[int]:
    return asyncio.run(_slow_clients(url, clients, rate, size, rcvbuf))


def slow_reader(url: str, rate: float, seconds: float) -> int:
    """One client reading at `rate` bytes/s for `seconds`, then leaving."""
    port, _ = split_url(url)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock = wrap(sock)
    sock.sendall(request_bytes(url))
    got = 0
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        data = sock.recv(int(rate / 20))
        if not data:
            break
        got += len(data)
        delay = began + got / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    sock.close()
    return got


# --- measurements -------------------------------------------------------------------


def m_single(server: Server, name: str) -> dict:
    pid = server.pid(name)
    cpu0 = cpu_seconds(pid)
    seconds, size = curl_get(server.urls[name])
    cpu = cpu_seconds(pid) - cpu0
    return {"single MB/s": size / seconds / 1e6, "CPU s/GiB": cpu / (size / GIB)}


def m_get(server: Server, name: str, work: Path) -> dict:
    """`pasla get` of an --e2e share: download, decrypt and SHA-256 check, end to end."""
    out = work / "got.bin"
    url = f"{server.urls[name]}#{server.fragments[name]}"
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "pasla", "get", url, "-o", str(out)],
        cwd=ROOT,
        env=bench_env(work / "get-data"),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"pasla get failed: {done.stderr}")
    size = out.stat().st_size
    out.unlink()
    return {"pasla get MB/s": size / seconds / 1e6}


def m_slow_one(server: Server, name: str, seconds: float) -> dict:
    pid = server.pid(name)
    before = rss_bytes(pid)
    with RssSampler(pid) as sampler:
        slow_reader(server.urls[name], 2e6, seconds)
    return {"slow RSS growth MiB": (sampler.peak - before) / MIB}


def m_parallel(server: Server, name: str, clients: int) -> dict:
    pid = server.pid(name)
    url = server.urls[name]
    with RssSampler(pid) as sampler:
        began = time.perf_counter()
        procs = [
            subprocess.Popen(
                ["curl", "-s", *curl_tls(url), "-o", "/dev/null", "-w", "%{size_download}", url],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(clients)
        ]
        total = sum(int(p.communicate()[0] or 0) for p in procs)
        elapsed = time.perf_counter() - began
    return {
        f"{clients}x aggregate MB/s": total / elapsed / 1e6,
        f"{clients}x peak RSS MiB": sampler.peak / MIB,
    }


def m_many_slow(server: Server, name: str, size: int, clients: int, rate: float) -> dict:
    pid = server.pid(name)
    with RssSampler(pid) as sampler:
        results = slow_clients(server.urls[name], clients, rate, size)
    complete = sum(1 for r in results if r == size)
    return {f"{clients} slow peak RSS MiB": sampler.peak / MIB, f"{clients} slow complete": complete}


def m_ttfb(server: Server, name: str, count: int) -> dict:
    samples = sorted(ttfb_samples(server.urls[name], count))
    return {
        "TTFB p50 ms": samples[len(samples) // 2] * 1000,
        "TTFB p90 ms": samples[int(len(samples) * 0.9)] * 1000,
    }


def m_attacks(work: Path, extra_env: dict) -> dict:
    """A legitimate client's success rate and p90 latency, and the server's
    RSS growth, during each attack, with the default connection caps."""
    from bench.attackers import BigPost, SocketFlood, legitimate_requests, summary

    tiny = make_file(work / "attack.bin", 1024)
    caps = {"PASLA_MAX_GLOBAL_CONNECTIONS": "100", "PASLA_MAX_CONNECTIONS_PER_IP": "20"}
    server = start_pasla([tiny], work, extra_env | caps)
    pid = server.pid(tiny.name)
    port, path = split_url(server.urls[tiny.name])
    posts = []

    def post_flood(stop: threading.Event):
        while not stop.is_set():
            with BigPost(port, path, 1_500_000_000, seconds=2, source="127.0.0.40") as post:
                pass
            posts.append(post)

    attacks = {
        "100 idle from 5 addresses": lambda: SocketFlood(port, [f"127.0.0.{n}" for n in range(2, 7)], 100),
        "500 slowloris": lambda: SocketFlood(port, [f"127.0.0.{n}" for n in range(10, 35)], 500, trickle=1.0),
    }
    result = {}
    try:
        for name, make in attacks.items():
            before = rss_bytes(pid)
            with make() as flood, RssSampler(pid) as sampler:
                while flood.connects < flood.count:
                    time.sleep(0.1)
                time.sleep(1)
                results = legitimate_requests(port, path, 60)
            record_attack(result, name, summary(results), sampler.peak - before)
        before = rss_bytes(pid)
        stop = threading.Event()
        thread = threading.Thread(target=post_flood, args=(stop,), daemon=True)
        with RssSampler(pid) as sampler:
            thread.start()
            time.sleep(0.5)
            results = legitimate_requests(port, path, 60)
            stop.set()
            thread.join()
        record_attack(result, "1.5 GB POSTs", summary(results), sampler.peak - before)
        answered = [p.answer_after for p in posts if p.status == 413]
        result["1.5 GB POSTs: attempts"] = len(posts)
        result["1.5 GB POSTs: answered 413"] = len(answered)
        result["1.5 GB POSTs: slowest 413 ms"] = max(answered) * 1000 if answered else float("nan")
        result["1.5 GB POSTs: max MiB taken"] = max((p.sent for p in posts), default=0) / MIB
    finally:
        server.stop()
    return result


def record_attack(result: dict, name: str, figures: tuple[float, float], rss_growth: int) -> None:
    success, p90 = figures
    result[f"{name}: success %"] = success * 100
    result[f"{name}: p90 ms"] = p90 * 1000
    result[f"{name}: RSS growth MiB"] = rss_growth / MIB


# --- the run ----------------------------------------------------------------------------


def make_file(path: Path, size: int) -> Path:
    block = os.urandom(MIB)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            fh.write(block[: min(MIB, left)])
            left -= MIB
    return path


def raise_fd_limit():
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def median_table(rows: dict[str, dict[str, list]], labels: list[str]) -> str:
    metrics = []
    for label in labels:
        for key in rows.get(label, {}):
            if key not in metrics:
                metrics.append(key)
    width = max(len(m) for m in metrics) + 2
    # Ratios are of the first column (pasla) to each other one.
    head = f"{'metric':<{width}}" + "".join(f"{label:>14}" for label in labels)
    head += "".join(f"{'vs ' + label:>12}" for label in labels[1:])
    lines = [head, "-" * len(head)]
    for metric in metrics:
        values = []
        for label in labels:
            samples = rows.get(label, {}).get(metric)
            values.append(statistics.median(samples) if samples else None)
        cells = (f"{v:>14.2f}" if v is not None else f"{'-':>14}" for v in values)
        line = f"{metric:<{width}}" + "".join(cells)
        for other in values[1:]:
            ratio = f"{values[0] / other:.2f}x" if values[0] is not None and other else "-"
            line += f"{ratio:>12}"
        lines.append(line)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="command line of another server (see placeholders above)")
    parser.add_argument("--runs", type=int, default=5, help="rounds per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="smaller files and fewer clients")
    parser.add_argument(
        "--only", default="", help="comma list: single,slow,parallel,many,ttfb,dir,attacks,rate"
    )
    parser.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for pasla")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time bench/bare_sendfile.py (os.sendfile, nothing else) on the single-client run: "
        "the kernel's own cost of moving the bytes on this machine; and bench/bare_daphne.py "
        "(daphne + Django, one view, nothing else) on time to first byte",
    )
    parser.add_argument(
        "--e2e",
        action="store_true",
        help="also serve the big file with --e2e (encrypted on the fly) and time its single "
        "download with curl, and 'pasla get' (download, decrypt, check) of it",
    )
    parser.add_argument(
        "--https",
        action="store_true",
        help="every measurement over TLS (pasla --https; --against must serve HTTPS too)",
    )
    parser.add_argument(
        "--via",
        action="store_true",
        help="a share through a relay (pasla relay + --via) against the same share served directly "
        "(bench/relay.py)",
    )
    args = parser.parse_args(argv)
    if args.via:
        # bench/relay.py uses this module's helpers: it runs as a script of its own.
        options = ["--runs", str(args.runs), *(["--quick"] if args.quick else [])]
        options += [part for item in args.env for part in ("--env", item)]
        return subprocess.call([sys.executable, str(Path(__file__).with_name("relay.py")), *options])
    global TLS
    TLS = client_context() if args.https else None
    if args.runs < 1:
        print("bench: --runs must be at least 1", file=sys.stderr)
        return 1
    raise_fd_limit()
    only = set(filter(None, args.only.split(",")))

    def wanted(name):
        return not only or name in only

    big_size = 256 * MIB if args.quick else GIB
    par_clients = 10 if args.quick else 50
    many_clients = 200 if args.quick else 1000
    many_size = 2 * MIB
    slow_seconds = 4 if args.quick else 8
    ttfb_count = 100 if args.quick else 200

    with tempfile.TemporaryDirectory(prefix="pasla-bench-") as tmp:
        work = Path(tmp)
        per_round = [n for n in ("single", "ttfb", "parallel", "slow", "many") if wanted(n)]
        labels = ["pasla", "other"] if args.against else ["pasla"]
        if args.e2e:
            labels.append("e2e")
        if args.floor:
            labels += ["floor", "stack"]
        rows: dict[str, dict[str, list]] = {label: {} for label in labels}
        extra = dict(item.split("=", 1) for item in args.env)
        if per_round:
            files_dir = work / "files"
            files_dir.mkdir()
            big = make_file(files_dir / "big.bin", big_size)
            m64 = make_file(files_dir / "m64.bin", 64 * MIB)
            many = make_file(files_dir / "many.bin", many_size)
            tiny = make_file(files_dir / "tiny.bin", 1024)
            files = [big, m64, many, tiny]

            def record(label, result):
                for key, value in result.items():
                    rows[label].setdefault(key, []).append(value)

            servers = []
            try:
                servers.append(start_pasla(files, work, extra, args.https))
                if args.against:
                    scheme = "https" if args.https else "http"
                    servers.append(start_other(args.against, files, files_dir, work, scheme=scheme))
                if args.e2e:
                    servers.append(start_pasla([big], work, extra, args.https, "e2e", ["--e2e"]))
                if args.floor:
                    bare = shlex.join([sys.executable, str(ROOT / "bench" / "bare_sendfile.py")])
                    servers.append(start_other(bare + " {dir} {port}", files, files_dir, work, "floor"))
                    stack = shlex.join([sys.executable, str(ROOT / "bench" / "bare_daphne.py")])
                    stack += " {dir} {port}" + (" --https" if args.https else "")
                    scheme = "https" if args.https else "http"
                    servers.append(start_other(stack, files, files_dir, work, "stack", scheme=scheme))
                # Warm the page cache and each server's first-request imports.
                for server in servers:
                    for name in server.urls:
                        curl_get(server.urls[name])
                for round_no in range(args.runs):
                    order = servers if round_no % 2 == 0 else servers[::-1]
                    for server in order:
                        if server.label == "stack":
                            if wanted("ttfb"):  # the stack's own floor for a small response
                                record(server.label, m_ttfb(server, tiny.name, ttfb_count))
                            continue
                        if wanted("single"):
                            record(server.label, m_single(server, big.name))
                        if server.label == "e2e" and round_no < 2 and not args.https:
                            record(server.label, m_get(server, big.name, work))
                        if server.label in ("floor", "e2e"):
                            continue  # a baseline for the kernel's cost; the e2e share has one file
                        if wanted("ttfb"):
                            record(server.label, m_ttfb(server, tiny.name, ttfb_count))
                        if wanted("parallel"):
                            record(server.label, m_parallel(server, m64.name, par_clients))
                        if wanted("slow") and round_no < 2:
                            record(server.label, m_slow_one(server, big.name, slow_seconds))
                        if wanted("many") and round_no < (1 if args.quick else 2):
                            many_result = m_many_slow(server, many.name, many_size, many_clients, 100e3)
                            record(server.label, many_result)
                    print(f"round {round_no + 1}/{args.runs} done", file=sys.stderr)
            finally:
                for server in servers:
                    server.stop()
        if wanted("dir") and not args.quick:
            from bench.first_byte_dir import first_byte_dir

            for fmt in ("zip", "tar"):
                result = first_byte_dir(2 * GIB, 8, fmt)
                rows["pasla"][f"2 GiB dir first byte ms ({fmt})"] = [result["first_byte_seconds"] * 1000]
        if "rate" in only:  # only when asked: it takes minutes and measures a cap, not speed
            from bench.rate_accuracy import rate_accuracy

            for key, value in rate_accuracy(work, args.quick).items():
                rows["pasla"][key] = [value]
        if wanted("attacks"):
            for key, value in m_attacks(work, extra).items():
                rows["pasla"][key] = [value]
    over = "HTTPS" if args.https else "HTTP"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# {when}, {os.cpu_count()} cores, {over}, medians of runs")
    print(median_table(rows, labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
