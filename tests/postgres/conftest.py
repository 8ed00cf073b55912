"""Backing services for the scale-out tests: a throwaway PostgreSQL database
and a private Redis key prefix per test, both removed afterwards.

Tests marked `postgres` skip when the services cannot be reached, unless
PASLA_REQUIRE_SERVICES is set (CI sets it): there an unreachable service is
a failure, so the suite can never pass by skipping them silently.
"""

import functools
import http.client
import ipaddress
import json
import os
import secrets
import select
import signal
import sqlite3
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import pytest
import redis

from tests.conftest import MANAGE, PYTHON, ROOT, base_env, free_port, run_pasla, wait_until

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


@functools.cache
def unreachable() -> str | None:
    """Why the services cannot be used, or None when both answer."""
    try:
        import psycopg

        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3):
            pass
    except Exception as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} unreachable: {exc}"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis at {REDIS_URL} unreachable: {exc}"
    return None


def require_services() -> None:
    reason = unreachable()
    if reason is None:
        return
    if os.environ.get("PASLA_REQUIRE_SERVICES"):
        pytest.fail(f"{reason} (PASLA_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


def _admin():
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)


@dataclass
class Backing:
    """Where a test's pasla processes keep their state, and how to read it."""

    kind: str  # "sqlite" or "postgres"
    data_dir: Path
    env: dict = field(default_factory=dict)
    database: str = ""
    key_prefix: str = ""

    def query(self, sql: str, *params) -> list[tuple]:
        """Run one read-only query; `?` placeholders on both engines."""
        if self.kind == "sqlite":
            with sqlite3.connect(f"file:{self.data_dir / 'pasla.sqlite3'}?mode=ro", uri=True) as conn:
                return conn.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=self.database) as conn:
            rows = conn.execute(sql.replace("?", "%s"), params).fetchall()
        # inet columns come back as ipaddress objects; SQLite gives text.
        return [tuple(_plain(v) for v in row) for row in rows]

    def execute(self, sql: str, *params) -> None:
        """Write behind the server's back (what another host would have written)."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.data_dir / "pasla.sqlite3", timeout=10) as conn:
                conn.execute(sql, params)
            return
        import psycopg

        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=self.database) as conn:
            conn.execute(sql.replace("?", "%s"), params)

    def timestamp(self, value):
        """A datetime as this engine's Django stores it (SQLite: UTC text)."""
        if self.kind == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        return value

    def redis_keys(self) -> list[str]:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        return [k.decode() for k in client.scan_iter(match=f"{self.key_prefix}:*", count=1000)]


def _plain(value):
    return str(value) if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address) else value


def make_postgres_backing(data_dir: Path) -> Backing:
    require_services()
    suffix = secrets.token_hex(6)
    database, prefix = f"pasla_test_{suffix}", f"pasla_test_{suffix}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    env = {
        "DATABASE_URL": f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}",
        "CACHE_URL": f"{REDIS_URL}?key_prefix={prefix}",
    }
    return Backing("postgres", data_dir, env, database, prefix)


def drop_postgres_backing(backing: Backing) -> None:
    import redis

    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{backing.database}" WITH (FORCE)')
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{backing.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def postgres(data_dir):
    """PostgreSQL + Redis for one test (its own database and key prefix)."""
    backing = make_postgres_backing(data_dir)
    try:
        yield backing
    finally:
        drop_postgres_backing(backing)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request, data_dir):
    """The same test on the defaults (SQLite, local memory) and on PostgreSQL + Redis."""
    if request.param == "sqlite":
        yield Backing("sqlite", data_dir)
        return
    backing = make_postgres_backing(data_dir)
    try:
        yield backing
    finally:
        drop_postgres_backing(backing)


@dataclass
class Server:
    """A running `manage.py pasla serve` (supervisor and workers)."""

    proc: subprocess.Popen
    info: dict
    backing: Backing
    env: dict
    stderr_path: Path
    tokens: list = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.info["port"]

    @property
    def workers(self) -> list[int]:
        return self.info["workers"]

    def share(self, *args) -> dict:
        """`pasla share FILE ARGS --json` for this server; returns the JSON (plus `path`)."""
        done = run_pasla(["share", *args, "--json"], self.backing.data_dir, env=self.env)
        assert done.returncode == 0, done.stderr
        info = json.loads(done.stdout)
        info["path"] = urllib.parse.urlsplit(info["url"]).path
        self.tokens.append(info["path"].split("/")[-2])
        return info

    def request(self, method, path, headers=None, source=None, timeout=30, body=None):
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout, source_address=(source, 0) if source else None
        )
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp, resp.read()
        finally:
            conn.close()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log_records(self) -> list[dict]:
        """The JSON log lines of every process of the server."""
        records = []
        for line in self.stderr().splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def access_by_pid(self) -> dict[int, list[str]]:
        """Access-log messages grouped by the worker that wrote them."""
        grouped: dict[int, list[str]] = {}
        for record in self.log_records():
            if record["logger"] == "pasla.access":
                grouped.setdefault(record["pid"], []).append(record["message"])
        return grouped


def start_server(
    backing: Backing, log_dir: Path, workers: int = 2, env: dict | None = None, args=()
) -> Server:
    env = {**backing.env, "PASLA_LOG_FORMAT": "json", **(env or {})}
    stderr_path = log_dir / f"serve-{time.monotonic_ns()}.err"
    proc = subprocess.Popen(
        [
            PYTHON,
            MANAGE,
            "pasla",
            "serve",
            "--workers",
            str(workers),
            "--bind",
            "127.0.0.1:0",
            "--json",
            *args,
        ],
        cwd=ROOT,
        env=base_env(backing.data_dir, env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(stderr_path, "w"),  # noqa: SIM115
        text=True,
        start_new_session=True,  # its own process group, as under a terminal
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            line = proc.stdout.readline()
            if line:
                info = json.loads(line)
                env["PASLA_BIND"] = f"127.0.0.1:{info['port']}"
                return Server(proc, info, backing, env, stderr_path)
        if proc.poll() is not None:
            raise AssertionError(f"pasla serve exited {proc.returncode}: {stderr_path.read_text()}")
    proc.kill()
    raise AssertionError(f"pasla serve did not start: {stderr_path.read_text()}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)
    for pid in server.workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.proc.stdout.close()


@pytest.fixture
def serve(tmp_path):
    """Factory: serve(backing, workers=2, env=None) -> Server; stopped at teardown."""
    started: list[Server] = []

    def start(backing, workers=2, env=None, args=()):
        server = start_server(backing, tmp_path, workers, env, args)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_server(server)
    for server in started:
        log = server.stderr()
        for token in server.tokens:
            assert token not in log, "a share token appeared in the server log"


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own on a free port: start(), stop(), url."""
    port = free_port()
    procs = []

    class Redis:
        url = f"redis://127.0.0.1:{port}/0"

        def start(self):
            proc = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(proc)
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
            wait_until(lambda: _pings(client))

        def stop(self):
            proc = procs[-1]
            proc.terminate()
            proc.wait(timeout=10)

    yield Redis()
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False
