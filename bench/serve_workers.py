"""Requests per second: one-share process vs `pasla serve` with 1 and 2 workers.

Every round sends the same load (small ranged GETs, each on a fresh
connection, from a pool of client threads) to:

- baseline: `manage.py pasla FILE` on the defaults (SQLite, local memory);
- `pasla serve --workers 1` and `--workers 2` on PostgreSQL + Redis
  (a throwaway database and key prefix, dropped afterwards).

Also the cost of the Prometheus calls a response makes, in multiprocess
mode, against an empty call. Needs the services of tests/postgres:

    .venv/bin/python bench/serve_workers.py [--requests 2000] [--clients 16]
"""

import argparse
import http.client
import json
import os
import secrets
import select
import subprocess
import sys
import tempfile
import time
import timeit
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _env(data_dir: Path, extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASLA_")}
    env.pop("DATABASE_URL", None)
    env.pop("CACHE_URL", None)
    env.update({"PASLA_DATA_DIR": str(data_dir), "PASLA_PUBLIC_HOST": "127.0.0.1", "HOME": str(data_dir)})
    # The load comes from one address: lift the per-client gates out of the way.
    env.update({"PASLA_RATE_LIMIT_MAX_REQUESTS": "1000000", "PASLA_MAX_CONNECTIONS_PER_IP": "1000"})
    env.update(extra)
    return env


def _start(args, env) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "pasla", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(os.environ.get("BENCH_LOG", os.devnull), "a"),  # noqa: SIM115
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.1)[0]:
            return proc, json.loads(proc.stdout.readline())
    proc.kill()
    raise SystemExit(f"could not start: {args}")


def _load(port: int, path: str, requests: int, clients: int, method: str = "GET") -> float:
    """Requests per second; GET is a 1 KiB range (a slot's bookkeeping), HEAD only the lookup."""
    expected = 206 if method == "GET" else 200

    def one(_):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, headers={"Range": "bytes=0-1023"})
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(one, range(requests)))
    elapsed = time.perf_counter() - began
    bad = [s for s in statuses if s != expected]
    if bad:
        raise SystemExit(f"unexpected answers: {bad[:5]}")
    return requests / elapsed


def _metrics_cost() -> tuple[float, float]:
    """µs per response for the metrics calls (multiprocess files), and for an empty call."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tmp
        from shares.telemetry import metrics

        def per_response():
            metrics.transfer_started()
            metrics.response_sent(206, 1024)
            metrics.transfer_ended()

        n = 20000
        cost = min(timeit.repeat(per_response, number=n, repeat=5)) / n * 1e6
        empty = min(timeit.repeat(lambda: None, number=n, repeat=5)) / n * 1e6
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        return cost, empty


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    opts = parser.parse_args()

    import psycopg
    import redis

    suffix = secrets.token_hex(4)
    database = f"pasla_bench_{suffix}"
    admin = psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{database}"')
    services = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "CACHE_URL": f"redis://127.0.0.1:6379/0?key_prefix={database}",
    }
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            payload = tmp / "payload.bin"
            payload.write_bytes(os.urandom(1 << 20))
            base_dir, pg_dir = tmp / "base", tmp / "pg"
            base_dir.mkdir()
            pg_dir.mkdir()

            proc, info = _start([str(payload), "10", "--json", "-p", "0"], _env(base_dir, {}))
            try:
                path = "/" + info["url_ipv4"].split("/", 3)[3]
                _load(info["port"], path, 100, opts.clients)  # warm up
                name = "one-share process, SQLite (baseline)"
                for method in ("GET", "HEAD"):
                    results[(name, method)] = _load(info["port"], path, opts.requests, opts.clients, method)
            finally:
                proc.terminate()
                proc.wait(timeout=30)

            for workers in (1, 2):
                env = _env(pg_dir, services)
                proc, info = _start(
                    ["serve", "--workers", str(workers), "--bind", "127.0.0.1:0", "--json"], env
                )
                try:
                    env["PASLA_BIND"] = f"127.0.0.1:{info['port']}"
                    made = subprocess.run(
                        [
                            sys.executable,
                            str(ROOT / "manage.py"),
                            "pasla",
                            "share",
                            str(payload),
                            "10",
                            "--json",
                        ],
                        cwd=ROOT,
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    path = "/" + json.loads(made.stdout)["url"].split("/", 3)[3]
                    _load(info["port"], path, 100, opts.clients)
                    name = f"pasla serve --workers {workers}, PostgreSQL + Redis"
                    for method in ("GET", "HEAD"):
                        results[(name, method)] = _load(
                            info["port"], path, opts.requests, opts.clients, method
                        )
                finally:
                    proc.terminate()
                    proc.wait(timeout=60)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = list(client.scan_iter(match=f"{database}:*"))
        if keys:
            client.delete(*keys)

    cost, empty = _metrics_cost()
    print(
        f"{opts.requests} requests per kind, {opts.clients} clients, "
        f"a fresh connection each, {os.cpu_count()} CPUs"
    )
    for (name, method), rate in results.items():
        kind = "ranged GET (1 KiB)" if method == "GET" else "HEAD"
        print(f"  {name:48s} {kind:18s} {rate:8.0f} req/s")
    print(f"metrics per response (multiprocess mode): {cost:.2f} µs (an empty call: {empty:.2f} µs)")


if __name__ == "__main__":
    main()
