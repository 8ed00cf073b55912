"""`bench/run.py --via`: one pasla share served through a relay against the same share served directly.

Both run in one round after another, alternating: a relay process (`pasla
relay`, its own data directory) with a sender (`pasla FILE --via`), and a
plain `pasla FILE`. Figures: a single curl client's MB/s on the big file
(relayed / direct), CPU of the relay and of the sender per GiB, and 50 curl
clients at once on a 64 MiB file through the relay: how many got every
byte, and the aggregate MB/s.
"""

import argparse
import json
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as bench

PARALLEL = 50
PASLA = [sys.executable, str(bench.ROOT / "manage.py"), "pasla"]


def start_relay(work: Path, extra_env: dict) -> tuple[subprocess.Popen, str, str]:
    data = work / "relay-data"
    data.mkdir(exist_ok=True)
    env = bench.bench_env(data) | extra_env
    manage = [sys.executable, str(bench.ROOT / "manage.py"), "pasla", "relay"]
    key = json.loads(
        subprocess.run(
            [*manage, "add-sender", "bench", "--json"], env=env, capture_output=True, text=True, check=True
        ).stdout
    )["key"]
    port = bench.free_port()
    proc = subprocess.Popen(
        [*manage, "--bind", f"127.0.0.1:{port}", "--json"],
        cwd=bench.ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(work / "relay.err", "w"),  # noqa: SIM115
        text=True,
    )
    if not select.select([proc.stdout], [], [], 60)[0]:
        proc.kill()
        raise SystemExit("the relay did not start")
    proc.stdout.readline()
    return proc, f"http://127.0.0.1:{port}", key


def start_via(files, work: Path, extra_env: dict, relay_url: str, key: str) -> "bench.Server":
    server = bench.Server("via")
    for path in files:
        data = work / f"via-data-{path.name}"
        data.mkdir(exist_ok=True)
        env = bench.bench_env(data) | extra_env | {"PASLA_VIA_KEY": key}
        proc = subprocess.Popen(
            [*PASLA, str(path), "600", "0", "--json", "--via", relay_url],
            cwd=bench.ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=open(work / f"via-{path.name}.err", "w"),  # noqa: SIM115
            text=True,
        )
        if not select.select([proc.stdout], [], [], 60)[0]:
            proc.kill()
            raise SystemExit(f"the sender did not start for {path.name}")
        server.procs[path.name] = proc
        server.urls[path.name] = json.loads(proc.stdout.readline())["url"]
    return server


def parallel_complete(url: str, size: int, clients: int) -> dict:
    began = time.perf_counter()
    procs = [
        subprocess.Popen(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", url], stdout=subprocess.PIPE
        )
        for _ in range(clients)
    ]
    sizes = [int(p.communicate()[0] or 0) for p in procs]
    elapsed = time.perf_counter() - began
    return {
        f"{clients}x complete bodies": sum(1 for s in sizes if s == size),
        f"{clients}x aggregate MB/s": sum(sizes) / elapsed / 1e6,
    }


def single(url: str, pids: list[int]) -> tuple[float, list[float]]:
    cpu0 = [bench.cpu_seconds(pid) for pid in pids]
    seconds, size = bench.curl_get(url)
    cpu = [(bench.cpu_seconds(pid) - c) / (size / bench.GIB) for pid, c in zip(pids, cpu0, strict=True)]
    return size / seconds / 1e6, cpu


def main(args) -> int:
    bench.raise_fd_limit()
    big_size = 256 * bench.MIB if args.quick else bench.GIB
    clients = 10 if args.quick else PARALLEL
    extra = dict(item.split("=", 1) for item in args.env)
    rows: dict[str, dict[str, list]] = {"via": {}, "direct": {}}

    def record(label, key, value):
        rows[label].setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory(prefix="pasla-bench-via-") as tmp:
        work = Path(tmp)
        (work / "files").mkdir()
        big = bench.make_file(work / "files" / "big.bin", big_size)
        m64 = bench.make_file(work / "files" / "m64.bin", 64 * bench.MIB)
        relay, relay_url, key = start_relay(work, extra)
        servers = []
        try:
            servers.append(start_via([big, m64], work, extra, relay_url, key))
            servers.append(bench.start_pasla([big, m64], work, extra))
            servers[1].label = "direct"
            for server in servers:
                bench.curl_get(server.urls[big.name])  # warm the page cache and first-request imports
            for round_no in range(args.runs):
                for server in servers if round_no % 2 == 0 else servers[::-1]:
                    pids = [server.pid(big.name)] + ([relay.pid] if server.label == "via" else [])
                    speed, cpu = single(server.urls[big.name], pids)
                    record(server.label, "single MB/s", speed)
                    record(server.label, "sender CPU s/GiB", cpu[0])
                    if server.label == "via":
                        record("via", "relay CPU s/GiB", cpu[1])
                        for name, value in parallel_complete(
                            server.urls[m64.name], 64 * bench.MIB, clients
                        ).items():
                            record("via", name, value)
                print(f"round {round_no + 1}/{args.runs} done", file=sys.stderr)
        finally:
            for server in servers:
                server.stop()
            relay.terminate()
            relay.wait(timeout=10)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# {when}, relay on loopback, medians of {args.runs} runs (ratio: via / direct)")
    print(bench.median_table(rows, ["via", "direct"]))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="pasla through a relay against the same share served directly"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--env", action="append", default=[])
    raise SystemExit(main(parser.parse_args()))
