"""The operator's control plane: -d, list, stop (prefix / --all), dead servers, purge."""

import json
import os
import signal
import sqlite3
import stat
import time
import urllib.parse
import urllib.request

import pytest

from shares.operator.processes import pid_exists
from tests.conftest import run_pasla


def gone(pid: int) -> bool:
    """True once pid no longer runs (a zombie left for init counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def wait_gone(pid: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if gone(pid):
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still running after {timeout}s")


@pytest.fixture
def detach(data_dir):
    """detach(FILE, *args, env=None) -> (CompletedProcess, info); servers killed at teardown."""
    started = []

    def start(*args, env=None, json_output=True):
        extra = ["--json"] if json_output else []
        result = run_pasla([*args, "-d", "-p", "0", *extra], data_dir, env=env)
        info = None
        if result.returncode == 0 and json_output:
            info = json.loads(result.stdout)
            started.append(info)
        return result, info

    yield start
    for info in started:
        token = urllib.parse.urlsplit(info["url"]).path.split("/")[1]
        if not gone(info["pid"]):
            os.kill(info["pid"], signal.SIGKILL)
        log = data_dir / "logs" / f"{info['id']}.log"
        if log.exists():
            assert token not in log.read_text(), "the token reached the detached server's log"


def listed(data_dir) -> list[dict]:
    result = run_pasla(["list", "--json"], data_dir)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def seconds_since_ended(data_dir, share_id: str) -> float:
    from datetime import UTC, datetime

    with sqlite3.connect(data_dir / "pasla.sqlite3") as db:
        [(ended,)] = db.execute("select ended_at from shares_share where id = ?", (share_id,)).fetchall()
    return (datetime.now(UTC) - datetime.fromisoformat(ended).replace(tzinfo=UTC)).total_seconds()


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, resp.read()


def test_detach_list_download_stop_by_prefix(detach, data_dir, sample):
    result, info = detach(sample, 5, 3)
    assert result.returncode == 0, result.stderr
    assert {"id", "version", "url", "url_ipv4", "pid", "log"} <= set(info)
    pid = info["pid"]
    assert not gone(pid)
    # The command returned while the server keeps serving, in its own session.
    assert os.getsid(pid) == pid

    log = data_dir / "logs" / f"{info['id']}.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600

    [row] = listed(data_dir)
    assert (row["id"], row["state"], row["server"], row["pid"]) == (info["id"], "live", "alive", pid)
    assert (row["downloads"], row["max_downloads"], row["port"]) == (0, 3, info["port"])
    assert 280 < row["expires_in_seconds"] <= 300

    status, body = fetch(info["url"])
    assert status == 200 and body == sample.read_bytes()
    [row] = listed(data_dir)
    assert (row["downloads"], row["bytes_served"], row["active_transfers"]) == (1, len(body), 0)
    human = run_pasla(["list"], data_dir).stdout
    assert f"{info['id']}  sample.bin  http port {info['port']}" in human and "1/3 downloads" in human

    stopped = run_pasla(["stop", info["id"][:3]], data_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped {info['id']}" in stopped.stdout
    assert gone(pid)
    assert seconds_since_ended(data_dir, info["id"]) < 2  # `stop` waits for the exit, no longer
    assert listed(data_dir) == []
    with pytest.raises(OSError):  # nothing listens any more
        fetch(info["url"])
    assert "ended: stopped" in log.read_text() or "ended: revoked" in log.read_text()


def test_detach_prints_the_url_for_people(detach, data_dir, sample):
    result, _ = detach(sample, 5, json_output=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    [url] = [line for line in lines if line.startswith("http://127.0.0.1:")]
    share_id = lines[0].split()[2]
    try:
        assert fetch(url)[0] == 200
    finally:
        assert run_pasla(["stop", share_id], data_dir).returncode == 0


def test_stop_all_stops_a_foreground_and_a_detached_server(pasla, detach, data_dir, sample):
    foreground = pasla(sample, 5)
    _, info = detach(sample, 5, 1)
    assert {row["id"] for row in listed(data_dir)} == {foreground.info["id"], info["id"]}
    result = run_pasla(["stop", "--all"], data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("stopped ") == 2
    assert foreground.wait(timeout=1) == 0
    assert gone(info["pid"])
    assert seconds_since_ended(data_dir, info["id"]) < 2
    assert listed(data_dir) == []
    assert foreground.share_row()["state"] == "revoked"


def test_stop_lets_a_running_download_finish(detach, data_dir, tmp_path):
    import socket

    big = tmp_path / "big.bin"
    big.write_bytes(b"\7" * (48 << 20))
    _, info = detach(big, 5)
    path = urllib.parse.urlsplit(info["url"]).path
    sock = socket.create_connection(("127.0.0.1", info["port"]), timeout=20)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    received = sock.recv(65536)
    assert received.startswith(b"HTTP/1.1 200")
    result = run_pasla(["stop", info["id"]], data_dir)
    assert result.returncode == 0
    assert f"stopping {info['id']}" in result.stdout  # still draining after 3 s
    assert not gone(info["pid"])
    while chunk := sock.recv(1 << 20):
        received += chunk
    sock.close()
    assert len(received.split(b"\r\n\r\n", 1)[1]) == 48 << 20
    wait_gone(info["pid"], 5)


def test_a_killed_detached_server_shows_as_dead_and_is_cleaned(detach, data_dir, sample):
    _, info = detach(sample, 5, "--https")
    tls = data_dir / "tls" / info["id"]
    assert tls.is_dir()
    os.kill(info["pid"], signal.SIGKILL)
    wait_gone(info["pid"], 5)
    [row] = listed(data_dir)
    assert (row["id"], row["state"], row["server"]) == (info["id"], "dead", "dead")
    assert not tls.exists()  # the key went with it
    assert listed(data_dir) == []  # shown once, then it is history
    with sqlite3.connect(data_dir / "pasla.sqlite3") as db:
        assert db.execute("select state from shares_share").fetchall() == [("dead",)]
    human_stop = run_pasla(["stop", info["id"]], data_dir)
    assert human_stop.returncode == 1 and "no live share" in human_stop.stderr


def test_a_dead_server_with_an_unfinished_download_is_shown_in_plain_words(pasla, data_dir, sample):
    served = pasla(sample, 5)
    served.cut_download(1000)  # a history row, then the server dies
    served.proc.kill()
    served.wait()
    result = run_pasla(["list"], data_dir)
    assert f"{served.info['id']}  sample.bin  http port {served.port}  DEAD" in result.stdout
    assert {d["outcome"] for d in served.downloads()} <= {"interrupted", "aborted", "complete"}


def test_a_reused_pid_is_not_taken_for_the_server(pasla, data_dir, sample):
    served = pasla(sample, 5)
    served.proc.kill()
    served.wait()
    # Pretend the share was recorded by the pytest process, started at another time.
    with sqlite3.connect(data_dir / "pasla.sqlite3") as db:
        db.execute("update shares_share set pid = ?", (os.getpid(),))
    [row] = listed(data_dir)
    assert row["state"] == "dead"
    assert pid_exists(os.getpid())  # we were never signalled


def test_detach_reports_bad_input_in_one_line(detach, sample):
    result, _ = detach(sample, "soon")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "invalid duration" in result.stderr
    assert result.stdout == ""


def test_detach_exits_2_with_the_log_tail_when_not_ready_in_time(detach, data_dir, sample):
    assert run_pasla(["list"], data_dir).returncode == 0  # create the database
    db = sqlite3.connect(data_dir / "pasla.sqlite3", isolation_level=None, timeout=1)
    db.execute("begin exclusive")  # the child cannot create its share
    try:
        started = time.monotonic()
        result, _ = detach(sample, 5, env={"PASLA_DETACH_TIMEOUT": "1"})
        took = time.monotonic() - started
    finally:
        db.execute("rollback")
        db.close()
    assert result.returncode == 2, result.stderr
    assert "not ready within 1 s" in result.stderr
    assert result.stdout == ""
    assert took < 15
    assert listed(data_dir) == []  # nothing left running or live


def test_purge_deletes_ended_shares_and_their_history(pasla, data_dir, sample):
    ended = pasla(sample, 5)
    ended.request()
    assert run_pasla(["stop", ended.info["id"]], data_dir).returncode == 0
    live = pasla(sample, 5)
    kept = run_pasla(["purge", "--older-than", "1"], data_dir)
    assert kept.returncode == 0 and "purged 0" in kept.stdout
    result = run_pasla(["purge"], data_dir)
    assert result.returncode == 0 and "purged 1" in result.stdout
    with sqlite3.connect(data_dir / "pasla.sqlite3") as db:
        assert db.execute("select id from shares_share").fetchall() == [(live.info["id"],)]
        assert db.execute("select count(*) from shares_download").fetchone() == (0,)
    assert live.request("HEAD")[0].status == 200


@pytest.mark.parametrize("days", ["-1", "abc", "nan", "1e9"])
def test_purge_refuses_bad_days(data_dir, days):
    result = run_pasla(["purge", "--older-than", days], data_dir)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
