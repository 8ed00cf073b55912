"""Worker leases: what a host that died with everything on it left behind.

Another host cannot look at a dead host's pids, so these tests play that
host by writing what it would have left in the shared database: a history
row in progress, a slot marked as being sent by it, its lease renewed long
ago (or just now, for the host that is still alive). The real servers and
`pasla list` must then tell the two apart.
"""

import json
import signal
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import run_pasla, wait_for_value

LONG_AGO = timedelta(minutes=10)
JUST_NOW = timedelta(seconds=5)


def left_by(backend, share_id, slot_id, worker, *, age, size):
    """What a worker on another host left while it sent bytes 100- under the slot."""
    host, pid = worker.split(":")
    when = backend.timestamp(datetime.now(UTC) - age)
    backend.execute(
        "insert into shares_download (share_id, slot_id, started_at, client_ip, user_agent, status,"
        " range_start, range_end, bytes_sent, outcome, pid, hostname)"
        " values (?, ?, ?, '127.0.0.9', 'curl/8', 206, 100, ?, 5000, 'in_progress', ?, ?)",
        share_id,
        slot_id,
        when,
        size - 1,
        int(pid),
        host,
    )
    backend.execute(
        "insert into shares_workerlease (worker, hostname, pid, renewed_at) values (?, ?, ?, ?)",
        worker,
        host,
        int(pid),
        when,
    )


@pytest.mark.parametrize("noticed_by", ["pasla list", "a worker"])
def test_a_dead_hosts_download_is_closed_and_the_recipient_resumes(serve, backend, sample, noticed_by):
    server = serve(backend, workers=1)
    share = server.share(sample, 5, 1)
    size = sample.stat().st_size
    data = sample.read_bytes()
    resp, body = server.request("GET", share["path"], headers={"Range": "bytes=0-99"}, source="127.0.0.9")
    assert (resp.status, body) == (206, data[:100])
    wait_for_value(lambda: backend.query("select outcome from shares_download"), [("complete",)])
    ((slot_id,),) = backend.query("select id from shares_slot")
    # The rest of this download was being sent by a host that then died;
    # another host is busy with a download of its own and renews its lease.
    backend.execute("update shares_slot set worker = 'gone-host:4242'")
    left_by(backend, share["id"], slot_id, "gone-host:4242", age=LONG_AGO, size=size)
    left_by(backend, share["id"], slot_id, "busy-host:77", age=JUST_NOW, size=size)

    if noticed_by == "pasla list":
        listed = run_pasla(["list", "--json"], backend.data_dir, env=server.env)
        assert listed.returncode == 0, listed.stderr
    else:
        # Any serving process reaps as it starts, then every lease renewal.
        other = serve(backend, workers=1)
    wait_for_value(
        lambda: backend.query("select hostname, outcome from shares_download order by id"),
        [(socket.gethostname(), "complete"), ("gone-host", "interrupted"), ("busy-host", "in_progress")],
    )
    finished = backend.query("select finished_at is not null from shares_download order by id")
    assert [bool(row[0]) for row in finished] == [True, True, False]
    assert backend.query("select worker from shares_slot") == [("",)]
    leases = {row[0] for row in backend.query("select worker from shares_workerlease")}
    running = {f"{socket.gethostname()}:{pid}" for pid in server.workers}
    if noticed_by == "a worker":
        running |= {f"{socket.gethostname()}:{pid}" for pid in other.workers}
    assert leases == {"busy-host:77", *running}
    # The recipient resumes under the slot it has: no second download is
    # spent (the share allows one), and the bytes are the file's.
    resp, body = server.request("GET", share["path"], headers={"Range": "bytes=100-"}, source="127.0.0.9")
    assert (resp.status, body) == (206, data[100:])
    assert backend.query("select slots_used from shares_share") == [(1,)]


@pytest.mark.parametrize(("age", "state"), [(LONG_AGO, "dead"), (JUST_NOW, "live")])
def test_a_one_share_server_on_a_dead_host_is_recorded_dead(pasla, backend, sample, age, state):
    served = pasla(sample, 5, env=backend.env)
    pid = served.proc.pid
    here = socket.gethostname()
    lease = "select worker, pid from shares_workerlease"
    wait_for_value(lambda: backend.query(lease), [(f"{here}:{pid}", pid)])
    # Its host goes down with it: nothing on this machine saw it die.
    served.proc.kill()
    served.proc.wait(timeout=10)
    when = backend.timestamp(datetime.now(UTC) - age)
    backend.execute("update shares_share set hostname = 'gone-host'")
    backend.execute(
        "update shares_workerlease set worker = ?, hostname = 'gone-host', renewed_at = ?",
        f"gone-host:{pid}",
        when,
    )

    listed = run_pasla(["list"], backend.data_dir, env=backend.env)
    assert listed.returncode == 0, listed.stderr
    if state == "dead":
        assert f"DEAD: its server (pid {pid} on gone-host) is gone" in listed.stdout, listed.stdout
    else:
        assert f"pid {pid} on gone-host" in listed.stdout and "DEAD" not in listed.stdout, listed.stdout
    assert backend.query("select state from shares_share") == [(state,)]
    rows = json.loads(run_pasla(["list", "--json"], backend.data_dir, env=backend.env).stdout)
    still_listed = [(served.info["id"], "live")] if state == "live" else []
    assert [(row["id"], row["state"]) for row in rows] == still_listed


def test_a_server_holds_its_lease_while_it_runs_and_gives_it_back(pasla, backend, sample):
    served = pasla(sample, 5, env=backend.env)
    lease = backend.query("select worker, hostname, pid from shares_workerlease")
    assert lease == [(f"{socket.gethostname()}:{served.proc.pid}", socket.gethostname(), served.proc.pid)]
    served.signal(signal.SIGTERM)
    assert served.wait(timeout=15) == 0
    assert backend.query("select count(*) from shares_workerlease") == [(0,)]


# Leases renewed every second: stale (reapable by the clock) after six.
FAST_LEASES = {"PASLA_LEASE_RENEW_INTERVAL": "1"}
STALE_SECONDS = 6


@pytest.mark.parametrize("looking", ["pasla list", "only the servers"])
def test_suspended_servers_on_one_host_do_not_bury_each_other(pasla, backend, tmp_path, looking):
    env = {**backend.env, **FAST_LEASES}
    files = []
    for name in ("one.bin", "two.bin"):
        path = tmp_path / name
        path.write_bytes(name.encode() * 1000)
        files.append(path)
    servers = [pasla(path, 5, env=env) for path in files]
    wait_for_value(lambda: backend.query("select count(*) from shares_workerlease"), [(2,)])
    # The laptop sleeps for longer than a lease may go unrenewed.
    for served in servers:
        served.signal(signal.SIGSTOP)
    try:
        time.sleep(STALE_SECONDS + 2)
        if looking == "pasla list":
            listed = run_pasla(["list", "--json"], backend.data_dir, env=env)
            assert listed.returncode == 0, listed.stderr
            ids = {served.info["id"] for served in servers}
            rows = json.loads(listed.stdout)
            assert {(row["id"], row["state"]) for row in rows} == {(i, "live") for i in ids}
    finally:
        for served in servers:
            served.signal(signal.SIGCONT)
    # Awake again: each renews and reaps (and would bury the other by the clock).
    time.sleep(3)
    for served, path in zip(servers, files, strict=True):
        assert served.proc.poll() is None, served.stderr()
        resp, body = served.request()
        assert (resp.status, body) == (200, path.read_bytes())
        assert "stopped renewing" not in served.stderr()
    assert sorted(backend.query("select state from shares_share")) == [("live",), ("live",)]


def test_a_server_that_finds_its_share_buried_takes_it_back(pasla, backend, sample):
    served = pasla(sample, 5, env={**backend.env, **FAST_LEASES})
    # What another host's reaper writes after this one missed its renewals.
    backend.execute("update shares_share set state = 'dead', ended_at = created_at")
    backend.execute("delete from shares_workerlease")
    wait_for_value(lambda: backend.query("select state, ended_at from shares_share"), [("live", None)])
    assert "serving it again" in served.stderr()
    resp, body = served.request()
    assert (resp.status, body) == (200, sample.read_bytes())
    assert served.proc.poll() is None
    wait_for_value(lambda: backend.query("select pid from shares_workerlease"), [(served.proc.pid,)])
