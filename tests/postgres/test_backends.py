"""One `manage.py pasla FILE` process, on the defaults and on PostgreSQL + Redis.

The same behaviour must hold on both: the cap under a race, bans, the rate
limit, revocation through the database, and the history rows. On the
PostgreSQL run the shared state is checked to really live in the services.
"""

import secrets
import signal
import socket
import threading
import time

import pytest

from tests.conftest import run_pasla, wait_for_value
from tests.parallel import in_parallel


def _fetch_all(served, sources):
    barrier = threading.Barrier(len(sources))

    def fetch(source):
        conn = served.connection(source=source)
        barrier.wait()
        try:
            conn.request("GET", served.path)
            resp = conn.getresponse()
            return resp.status, len(resp.read())
        except ConnectionError:
            # Once the cap is used up the server stops listening: a client
            # still waiting in the accept queue is dropped, never served.
            return None, 0
        finally:
            conn.close()

    return in_parallel(fetch, [(source,) for source in sources])


def test_cap_is_exact_under_a_race(pasla, sample, backend):
    served = pasla(sample, 5, 4, env=backend.env)
    results = _fetch_all(served, [f"127.0.0.{10 + n}" for n in range(30)])
    size = sample.stat().st_size
    assert sorted(results).count((200, size)) == 4, results
    assert {status for status, _ in results} <= {200, 410, None}, results
    assert served.wait(timeout=20) == 0
    rows = backend.query("select slots_used, state from shares_share where id = ?", served.info["id"])
    assert rows == [(4, "exhausted")]
    sql = "select outcome, pid, hostname from shares_download where share_id = ?"
    outcomes = backend.query(sql, served.info["id"])
    assert sorted(o for o, _, _ in outcomes) == ["complete"] * 4
    assert {(pid, host) for _, pid, host in outcomes} == {(served.proc.pid, socket.gethostname())}


def test_wrong_guesses_ban_and_the_ban_is_stored(pasla, sample, backend):
    served = pasla(sample, 5, env={**backend.env, "PASLA_BAN_THRESHOLD": "3"})
    for _ in range(3):
        assert served.request("GET", f"/{secrets.token_urlsafe(16)}/sample.bin")[0].status == 404
    assert served.request("HEAD")[0].status == 403
    assert backend.query("select ip, strikes from shares_ban") == [("127.0.0.1", 3)]
    assert served.request("HEAD", source="127.0.0.2")[0].status == 200
    if backend.kind == "postgres":
        # The strike counter and the remembered ban are in Redis, not in the process.
        keys = backend.redis_keys()
        assert any(":pasla:strike:" in k for k in keys), keys
        assert any(":pasla:ban:" in k for k in keys), keys


def test_rate_limit_holds(pasla, sample, backend):
    served = pasla(sample, 5, env={**backend.env, "PASLA_RATE_LIMIT_MAX_REQUESTS": "4"})
    statuses = [served.request("GET", "/favicon.ico")[0].status for _ in range(6)]
    assert statuses == [404] * 4 + [429] * 2
    # The right token is exempt, even now.
    assert served.request("HEAD")[0].status == 200
    if backend.kind == "postgres":
        assert any(":pasla:rate:ip:127.0.0.1:" in k for k in backend.redis_keys())


@pytest.mark.postgres
def test_requests_reuse_the_redis_connections(pasla, sample, postgres):
    """Rate counters and remembered bans go to Redis on every request; the
    connections to it are kept, not opened anew per request (they were)."""
    import redis

    from tests.postgres.conftest import REDIS_URL

    served = pasla(sample, 5, env=postgres.env)
    assert served.request("HEAD")[0].status == 200  # connections made at start are not counted
    opened = redis.Redis.from_url(REDIS_URL).info("stats")["total_connections_received"]
    for _ in range(60):
        assert served.request("HEAD")[0].status == 200
    now = redis.Redis.from_url(REDIS_URL).info("stats")["total_connections_received"]
    # Other tests may use the same Redis meanwhile; 60 requests opened 61 before.
    assert now - opened < 15, now - opened


def test_stop_through_the_database_ends_the_server(pasla, sample, backend):
    served = pasla(sample, 5, env=backend.env)
    assert served.request("HEAD")[0].status == 200
    stopped = run_pasla(["stop", served.info["id"]], backend.data_dir, env=backend.env)
    assert stopped.returncode == 0, stopped.stderr
    began = time.monotonic()
    assert served.wait(timeout=10) == 0
    assert time.monotonic() - began < 2
    assert backend.query("select state from shares_share") == [("revoked",)]
    listed = run_pasla(["list", "--json"], backend.data_dir, env=backend.env)
    assert listed.stdout.strip() == "[]"


def test_serve_with_one_worker_serves_shares_made_for_it(serve, backend, sample):
    server = serve(backend, workers=1)
    first = server.share(sample, 5, 1)
    second = server.share(sample, 5)
    assert first["served_by"] == "pasla serve"
    assert first["url"].startswith(f"http://127.0.0.1:{server.port}/")
    resp, body = server.request("GET", first["path"])
    assert (resp.status, body) == (200, sample.read_bytes())
    assert server.request("GET", first["path"])[0].status == 410
    assert server.request("HEAD", second["path"])[0].status == 200
    assert run_pasla(["stop", second["id"]], backend.data_dir, env=server.env).returncode == 0
    assert server.request("HEAD", second["path"])[0].status == 410
    expected = [("complete", server.workers[0])]
    # The row closes just after the last byte.
    wait_for_value(lambda: backend.query("select outcome, pid from shares_download"), expected, timeout=3)
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=15) == 0


def test_url_prefix_is_printed_and_served(serve, pasla, backend, sample):
    env = {"PASLA_URL_PREFIX": "files/"}
    server = serve(backend, workers=1, env=env)
    share = server.share(sample, 5)
    assert share["path"].startswith("/files/") and share["url"].endswith("/sample.bin")
    assert server.request("HEAD", share["path"])[0].status == 200
    assert server.request("HEAD", share["path"].removeprefix("/files"))[0].status == 404
    # The one-share server prints and serves the prefix too.
    served = pasla(sample, 5, env={**backend.env, **env})
    assert served.path.startswith("/files/")
    assert served.request("HEAD")[0].status == 200
    assert served.request("HEAD", served.path.removeprefix("/files"))[0].status == 404


def test_several_workers_need_a_shared_cache(data_dir):
    done = run_pasla(["serve", "--workers", "2", "--bind", "127.0.0.1:0"], data_dir)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "CACHE_URL" in done.stderr


@pytest.mark.parametrize(
    "args",
    [["--no-serve", "-p", "8000"], ["--no-serve", "--https"], ["--no-serve", "--allow-ip", "10.0.0.0/8"]],
)
def test_no_serve_refuses_server_flags(data_dir, sample, args):
    done = run_pasla([sample, *args], data_dir)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "pasla serve" in done.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PASLA_URL_PREFIX": "/a b"}, "PASLA_URL_PREFIX"),
        ({"PASLA_PUBLIC_URL": "ftp://x"}, "PASLA_PUBLIC_URL"),
        ({"PASLA_BIND": "nowhere"}, "PASLA_BIND"),
        ({"PASLA_LOG_FORMAT": "xml"}, "PASLA_LOG_FORMAT"),
    ],
)
def test_bad_deployment_settings_are_one_line(data_dir, sample, env, message):
    done = run_pasla(["share", sample], data_dir, env=env)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr


def test_one_client_hammering_ranges_gets_no_errors(pasla, sample, backend):
    """Transfers of one slot ending while the next ones start: both take the
    share's row and the slot's row, and must take them in the same order."""
    served = pasla(sample, 5, env={**backend.env, "PASLA_MAX_CONNECTIONS_PER_IP": "64"})

    def ranged(n):
        resp, body = served.request("GET", headers={"Range": f"bytes={n % 1000}-{n % 1000 + 1023}"})
        return resp.status, len(body)

    results = [r for batch in range(10) for r in in_parallel(ranged, [(batch * 16 + n,) for n in range(16)])]
    assert set(results) == {(206, 1024)}
    assert "Traceback" not in served.stderr() and "deadlock" not in served.stderr()
