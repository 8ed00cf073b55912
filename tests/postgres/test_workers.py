"""`pasla serve --workers 2` on PostgreSQL + Redis: one truth for every worker.

SO_REUSEPORT spreads connections by a hash of the addresses, so a test
cannot pick a worker. Each request here goes on a fresh connection (a new
source port), and the JSON access log says which worker (pid) answered:
the tests check that both workers took part before they believe a result.
"""

import http.client
import os
import secrets
import signal
import socket
import threading
import time

import pytest

from tests.conftest import run_pasla, wait_for_value, wait_until
from tests.parallel import in_parallel

pytestmark = pytest.mark.postgres


def both_workers_answered(server, statuses=None) -> bool:
    seen = set()
    for pid, messages in server.access_by_pid().items():
        if statuses is None or any(f" {status} " in m for m in messages for status in statuses):
            seen.add(pid)
    return set(server.workers) <= seen


def test_cap_of_10_under_100_parallel_gets_across_both_workers(serve, postgres, sample):
    server = serve(postgres)
    share = server.share(sample, 5, 10)
    size = sample.stat().st_size
    barrier = threading.Barrier(100)

    def fetch(n):
        conn = http.client.HTTPConnection(
            "127.0.0.1", server.port, timeout=60, source_address=(f"127.0.1.{n + 10}", 0)
        )
        barrier.wait()
        try:
            conn.request("GET", share["path"])
            resp = conn.getresponse()
            return resp.status, len(resp.read())
        finally:
            conn.close()

    results = in_parallel(fetch, [(n,) for n in range(100)])
    assert results.count((200, size)) == 10, sorted(results)
    assert {status for status, _ in results} == {200, 410}
    assert both_workers_answered(server)
    # A history row closes just after its last byte left: wait for that.
    sql = "select outcome, pid from shares_download where share_id = ?"
    wait_until(
        lambda: not any(outcome == "in_progress" for outcome, _ in postgres.query(sql, share["id"])), 3
    )
    rows = postgres.query(sql, share["id"])
    assert sorted(outcome for outcome, _ in rows) == ["complete"] * 10
    assert {pid for _, pid in rows} <= set(server.workers)
    state = lambda: postgres.query("select slots_used, state from shares_share")  # noqa: E731
    wait_for_value(state, [(10, "exhausted")], timeout=3)


def test_a_ban_earned_on_one_worker_holds_on_the_other(serve, postgres, sample):
    server = serve(postgres, env={"PASLA_BAN_THRESHOLD": "3"})
    share = server.share(sample, 5)
    for _ in range(3):
        resp, _ = server.request("GET", f"/{secrets.token_urlsafe(16)}/sample.bin", source="127.0.0.2")
        assert resp.status == 404
    # Right link, banned client, fresh connections: every worker says 403.
    for _ in range(30):
        assert server.request("HEAD", share["path"], source="127.0.0.2")[0].status == 403
        if both_workers_answered(server, statuses=[403]):
            break
    assert both_workers_answered(server, statuses=[403])
    assert postgres.query("select ip, share_id from shares_ban") == [("127.0.0.2", None)]
    assert server.request("HEAD", share["path"], source="127.0.0.3")[0].status == 200


def test_the_rate_limit_counts_across_workers(serve, postgres, sample):
    server = serve(postgres, env={"PASLA_RATE_LIMIT_MAX_REQUESTS": "12"})
    server.share(sample, 5)
    statuses = [server.request("GET", "/favicon.ico", source="127.0.0.4")[0].status for _ in range(12)]
    # One window for the client, whichever worker counts: not 12 per worker.
    while not both_workers_answered(server, statuses=[429]) and len(statuses) < 60:
        statuses.append(server.request("GET", "/favicon.ico", source="127.0.0.4")[0].status)
    assert statuses == [404] * 12 + [429] * (len(statuses) - 12)
    assert both_workers_answered(server, statuses=[404])
    assert both_workers_answered(server, statuses=[429])


def test_stop_reaches_every_worker_within_a_second(serve, postgres, sample):
    server = serve(postgres)
    share = server.share(sample, 5)
    for _ in range(40):
        assert server.request("HEAD", share["path"])[0].status == 200
        if both_workers_answered(server, statuses=[200]):
            break
    assert both_workers_answered(server, statuses=[200])
    done = run_pasla(["stop", share["id"]], postgres.data_dir, env=server.env)
    assert done.returncode == 0, done.stderr
    stopped = time.monotonic()
    statuses = []
    while time.monotonic() - stopped < 1.0:
        statuses.append(server.request("HEAD", share["path"])[0].status)
    assert len(statuses) >= 4 and set(statuses) == {410}
    assert both_workers_answered(server, statuses=[410])


def test_an_expired_share_is_refused_and_recorded_by_the_watchdog(serve, postgres, sample):
    server = serve(postgres)
    share = server.share(sample, "2s")
    assert server.request("HEAD", share["path"])[0].status == 200
    time.sleep(2.1)
    assert server.request("HEAD", share["path"])[0].status == 410
    # Some worker's watchdog records the expiry.
    wait_for_value(lambda: postgres.query("select state from shares_share"), [("expired",)], timeout=1.5)
    # The supervisor and workers are still up for other shares.
    other = server.share(sample, 5)
    assert server.request("HEAD", other["path"])[0].status == 200


def _open_and_hold(port: int, sources: list[str]) -> list[socket.socket]:
    held = []
    for source in sources:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        held.append(sock)
    return held


def _still_open(sockets) -> int:
    """Sockets the server kept: nothing to read yet, and no reset or close."""
    time.sleep(0.5)
    alive = 0
    for sock in sockets:
        sock.settimeout(0.2)
        try:
            data = sock.recv(1)
        except TimeoutError:
            alive += 1
            continue
        except ConnectionError:
            continue
        assert data == b""
    return alive


def test_the_per_address_cap_holds_across_workers(serve, postgres, sample):
    server = serve(postgres, env={"PASLA_MAX_CONNECTIONS_PER_IP": "4"})
    held = _open_and_hold(server.port, ["127.0.0.5"] * 30)
    try:
        # 30 connections hashed over two workers: per-worker counts would keep 8.
        assert _still_open(held) == 4
        assert _still_open(_open_and_hold(server.port, ["127.0.0.6"])) == 1
    finally:
        for sock in held:
            sock.close()
    # Closed connections give their places back on every worker.
    time.sleep(0.5)
    again = _open_and_hold(server.port, ["127.0.0.5"] * 4)
    assert _still_open(again) == 4


def test_the_global_cap_holds_across_workers(serve, postgres, sample):
    server = serve(postgres, env={"PASLA_MAX_GLOBAL_CONNECTIONS": "5"})
    held = _open_and_hold(server.port, [f"127.0.2.{n}" for n in range(1, 31)])
    try:
        assert _still_open(held) == 5
    finally:
        for sock in held:
            sock.close()


def test_one_client_cannot_double_its_slot_through_the_other_worker(serve, postgres, sample):
    server = serve(postgres)
    share = server.share(sample, 5, 2)
    size = sample.stat().st_size
    barrier = threading.Barrier(16)

    def fetch(_):
        conn = http.client.HTTPConnection(
            "127.0.0.1", server.port, timeout=60, source_address=("127.0.0.7", 0)
        )
        barrier.wait()
        try:
            conn.request("GET", share["path"])
            resp = conn.getresponse()
            return resp.status, len(resp.read())
        except (http.client.IncompleteRead, ConnectionError):
            return "cut", 0
        finally:
            conn.close()

    results = in_parallel(fetch, [(n,) for n in range(16)])
    assert both_workers_answered(server)
    assert results.count((200, size)) <= 2, results


def _slow_download(port: int, path: str, source: str):
    """A GET that reads about 1 MiB and then stops reading: (the socket, bytes read)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    got = b""
    while len(got) < (1 << 20):
        got += sock.recv(65536)
    return sock, len(got)  # and how much (headers and body) it read


def test_kill_9_of_a_worker_mid_download(serve, postgres, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(256 << 20)
    server = serve(postgres)
    share = server.share(big, 5, "--no-checksum")
    sock, _ = _slow_download(server.port, share["path"], "127.0.0.8")
    try:
        rows = postgres.query("select pid, outcome from shares_download")
        assert len(rows) == 1 and rows[0][1] == "in_progress"
        victim = rows[0][0]
        assert victim in server.workers
        os.kill(victim, signal.SIGKILL)
        rows = "select outcome, finished_at is not null from shares_download"
        wait_for_value(lambda: postgres.query(rows), [("interrupted", True)], timeout=5)
    finally:
        sock.close()
    survivor = next(pid for pid in server.workers if pid != victim)
    # Fresh connections are served (by the survivor at once; by the
    # replacement worker once the supervisor has started it).
    for n in range(10):
        resp, body = server.request(
            "GET", share["path"], headers={"Range": "bytes=0-99"}, source=f"127.0.3.{n + 1}"
        )
        assert (resp.status, len(body)) == (206, 100)
    assert any(f"share:{share['id']} 206" in m for m in server.access_by_pid().get(survivor, []))
    # History is closed as each transfer ends (just after its last byte).
    running = "select count(*) from shares_download where outcome = 'in_progress'"
    wait_for_value(lambda: postgres.query(running), [(0,)], timeout=3)
    assert postgres.query("select outcome, count(*) from shares_download group by outcome order by 1") == [
        ("complete", 10),
        ("interrupted", 1),
    ]
    assert server.proc.poll() is None


def test_an_unban_in_the_admin_reaches_every_worker_at_once(serve, postgres, sample):
    from tests.admin_client import PASSWORD, AdminClient

    server = serve(postgres, env={"PASLA_BAN_THRESHOLD": "2"})
    share = server.share(sample, 5)
    guesser = "127.0.0.9"
    for _ in range(2):
        assert server.request("GET", f"/{secrets.token_urlsafe(16)}/x", source=guesser)[0].status == 404
    for _ in range(30):
        assert server.request("HEAD", share["path"], source=guesser)[0].status == 403
        if both_workers_answered(server, statuses=[403]):
            break
    assert both_workers_answered(server, statuses=[403])
    made = run_pasla(
        ["admin-user", "boss"], postgres.data_dir, env={**server.env, "PASLA_ADMIN_PASSWORD": PASSWORD}
    )
    assert made.returncode == 0, made.stderr
    client = AdminClient(server)
    client.login()
    [(ban_id,)] = postgres.query("select id from shares_ban")
    status, page = client.action("ban", "unban", [ban_id])
    assert status == 200 and "Unbanned 1 address(es)." in page
    # No waiting for a remembered answer to expire: on every worker, now.
    statuses = [server.request("HEAD", share["path"], source=guesser)[0].status for _ in range(12)]
    assert statuses == [200] * 12
    line = f"{guesser} HEAD share:{share['id']} 200"
    served_by = {pid for pid, messages in server.access_by_pid().items() if any(line in m for m in messages)}
    assert served_by == set(server.workers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waits for a reaper: it serves nothing.
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rpartition(")")[2].split()[0] not in ("Z", "X")


def test_ctrl_c_drains_the_transfers_in_flight_then_exits_0(serve, postgres, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(24 << 20))
    server = serve(postgres)
    share = server.share(big, 5, "--no-checksum")
    sock, got = _slow_download(server.port, share["path"], "127.0.0.8")
    # Ctrl+C in a terminal: SIGINT to the supervisor and every worker at once.
    os.killpg(server.proc.pid, signal.SIGINT)
    time.sleep(0.5)
    assert server.proc.poll() is None  # still draining
    sock.settimeout(30)
    while True:
        data = sock.recv(1 << 20)
        if not data:
            break
        got += len(data)
    sock.close()
    assert got > 24 << 20  # the whole body (plus headers) arrived
    assert server.proc.wait(timeout=15) == 0
    assert postgres.query("select outcome from shares_download") == [("complete",)]


def test_workers_end_when_their_supervisor_is_killed(serve, postgres, sample):
    server = serve(postgres)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=5)
    wait_until(lambda: not any(_alive(pid) for pid in server.workers), 10)


def test_admin_login_guesses_count_across_workers(serve, postgres, sample):
    from tests.admin_client import PASSWORD, login_attempt

    server = serve(postgres, env={"PASLA_ADMIN_ALLOW": "127.0.0.8/32", "PASLA_ADMIN_LOGIN_ATTEMPTS": "4"})
    server.share(sample, 5)
    made = run_pasla(
        ["admin-user", "boss"], postgres.data_dir, env={**server.env, "PASLA_ADMIN_PASSWORD": PASSWORD}
    )
    assert made.returncode == 0, made.stderr
    guesser = "127.0.0.8"
    statuses = [login_attempt(server, guesser, f"guess-{n}")[0] for n in range(4)]
    # Fresh connections land on either worker: one count for the address, not 4 per worker.
    while not both_workers_answered(server, statuses=[429]) and len(statuses) < 40:
        statuses.append(login_attempt(server, guesser, PASSWORD)[0])
    assert statuses == [200] * 4 + [429] * (len(statuses) - 4)
    assert both_workers_answered(server, statuses=[429])
