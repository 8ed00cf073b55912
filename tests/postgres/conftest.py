"""Backing services for the scale-out tests: a throwaway PostgreSQL database
and a private Redis key prefix per test, both removed afterwards.

Tests marked `postgres` skip when the services cannot be reached, unless
PASLA_REQUIRE_SERVICES is set (CI sets it): there an unreachable service is
a failure, so the suite can never pass by skipping them silently.
"""

import functools
import ipaddress
import os
import secrets
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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
