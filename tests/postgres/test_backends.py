"""One `manage.py pasla FILE` process, on the defaults and on PostgreSQL + Redis.

The same behaviour must hold on both: the cap under a race, bans, the rate
limit, revocation through the database, and the history rows. On the
PostgreSQL run the shared state is checked to really live in the services.
"""

import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import run_pasla


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

    with ThreadPoolExecutor(len(sources)) as pool:
        return list(pool.map(fetch, sources))


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
