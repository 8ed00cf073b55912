"""SharedConnectionCounts against the real Redis: the connection caps of
several workers, a dead worker's counts, a Redis that does not answer, and
what a stopped server leaves there (nothing)."""

import secrets
import signal
import time

import pytest
import redis

from shares.server.shared_caps import RETRY_SECONDS, TTL_SECONDS, SharedConnectionCounts
from tests.conftest import wait_until
from tests.postgres.conftest import REDIS_URL, require_services


@pytest.fixture
def prefix():
    require_services()
    name = f"pasla_test_caps_{secrets.token_hex(4)}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)


def worker(prefix: str, name: str, clock=time.time) -> SharedConnectionCounts:
    client = redis.Redis.from_url(REDIS_URL)
    counts = SharedConnectionCounts(client, lambda key: f"{prefix}:{key}", name, clock=clock)
    counts.start()
    return counts


@pytest.mark.postgres
def test_caps_are_counted_over_every_worker(prefix):
    a, b = worker(prefix, "a"), worker(prefix, "b")
    assert [a.admit("10.0.0.1", 3, 100), b.admit("10.0.0.1", 3, 100), a.admit("10.0.0.1", 3, 100)] == [
        True
    ] * 3
    assert b.admit("10.0.0.1", 3, 100) is False  # the fourth, wherever it lands
    assert b.admit("10.0.0.2", 3, 3) is False  # 3 open in all: a global cap of 3 is full
    assert b.admit("10.0.0.2", 3, 4) is True
    a.release("10.0.0.1")
    assert b.admit("10.0.0.1", 3, 100) is True


@pytest.mark.postgres
def test_a_dead_workers_connections_stop_counting(prefix):
    now = [1000.0]
    a, b = worker(prefix, "a", clock=lambda: now[0]), worker(prefix, "b", clock=lambda: now[0])
    for _ in range(2):
        assert a.admit("10.0.0.1", 2, 100)
    assert b.admit("10.0.0.1", 2, 100) is False
    now[0] += TTL_SECONDS + 1  # a stopped beating; b goes on
    b.heartbeat({})
    assert b.admit("10.0.0.1", 2, 100) is True


@pytest.mark.postgres
def test_the_heartbeat_heals_a_lost_release(prefix):
    a = worker(prefix, "a")
    assert a.admit("10.0.0.1", 1, 100)
    # The release never reached Redis; the guard knows it holds nothing.
    assert a.admit("10.0.0.1", 1, 100) is False
    a.heartbeat({})
    assert a.admit("10.0.0.1", 1, 100) is True


def test_an_unreachable_redis_falls_back_without_stalling_every_connection():
    client = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.25, socket_connect_timeout=0.25)
    counts = SharedConnectionCounts(client, lambda key: key, "w")
    assert counts.admit("10.0.0.1", 1, 1) is None  # unknown: the guard uses its own counts
    started = time.monotonic()
    for _ in range(100):
        assert counts.admit("10.0.0.1", 1, 1) is None
        counts.release("10.0.0.1")
    # Left alone for RETRY_SECONDS: no connection attempt at all meanwhile.
    assert time.monotonic() - started < 0.05 < RETRY_SECONDS


@pytest.mark.postgres
def test_a_stopped_server_leaves_no_connection_keys_behind(serve, postgres):
    server = serve(postgres, workers=2)
    client = redis.Redis.from_url(REDIS_URL)
    wait_until(lambda: any(k.endswith(":pasla:conn:workers") for k in postgres.redis_keys()))
    conn_keys = [k for k in postgres.redis_keys() if ":pasla:conn:" in k]
    # While it runs, every key it keeps would expire on its own if it died.
    ttls = {key: client.ttl(key) for key in conn_keys}
    assert all(0 < ttl <= 2 * TTL_SECONDS for ttl in ttls.values()), ttls
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    assert [k for k in postgres.redis_keys() if ":pasla:conn:" in k] == []
