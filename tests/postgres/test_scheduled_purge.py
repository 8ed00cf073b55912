"""PASLA_PURGE_AFTER_DAYS: every server's background task deletes shares that
ended that long ago (history, slots and bans with them), at most once an hour
across every process on the database. On SQLite and on PostgreSQL."""

import json
import secrets
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import MANAGE, PYTHON, ROOT, base_env, run_pasla, wait_until
from tests.parallel import in_parallel

DAY = timedelta(days=1)


def manage(backing, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, MANAGE, *args],
        cwd=ROOT,
        env=base_env(backing.data_dir, backing.env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def migrate(backing) -> None:
    done = manage(backing, "migrate", "--verbosity", "0")
    assert done.returncode == 0, done.stderr


def ended_share(backing, name: str, ended_ago: timedelta, state: str = "expired") -> str:
    """An ended share with a download, a slot and a ban, as a server would have left it."""
    share_id = secrets.token_hex(3)
    ended = datetime.now(UTC) - ended_ago
    stamp = backing.timestamp
    backing.execute(
        "insert into shares_share (id, token_digest, name, path, kind, archive_format, size, device, inode, "
        "mtime_ns, sha256, manifest, created_at, expires_at, ended_at, state, max_downloads, slots_used, "
        "bytes_served, hostname, process_stamp, scheme, cert_fingerprint, options, seal) "
        "values (?, ?, ?, '/nowhere', 'file', '', 5, 0, 0, 0, '', '[]', ?, ?, ?, ?, 1, 1, 5, '', '', "
        "'http', '', '{}', '')",
        share_id,
        secrets.token_hex(32),
        name,
        stamp(ended - DAY),
        stamp(ended),
        stamp(ended),
        state,
    )
    backing.execute(
        "insert into shares_slot (share_id, client_ip, validator, covered, sent, complete, created_at, "
        "updated_at, worker) values (?, '127.0.0.9', '\"v\"', ?, 5, ?, ?, ?, '')",
        share_id,
        json.dumps([[0, 5]]),
        True,
        stamp(ended),
        stamp(ended),
    )
    backing.execute(
        "insert into shares_download (share_id, started_at, finished_at, client_ip, user_agent, status, "
        "range_start, range_end, bytes_sent, outcome, hostname) "
        "values (?, ?, ?, '127.0.0.9', 'curl', 200, 0, 4, 5, 'complete', 'gone-host')",
        share_id,
        stamp(ended),
        stamp(ended),
    )
    backing.execute(
        "insert into shares_ban (share_id, ip, created_at, reason, strikes) "
        "values (?, '127.0.0.8', ?, 'x', 5)",
        share_id,
        stamp(ended),
    )
    return share_id


def remaining(backing) -> dict[str, tuple[int, int, int]]:
    """{share name: (downloads, slots, bans)} of every share in the database."""
    rows = backing.query(
        "select s.name, (select count(*) from shares_download d where d.share_id = s.id), "
        "(select count(*) from shares_slot l where l.share_id = s.id), "
        "(select count(*) from shares_ban b where b.share_id = s.id) from shares_share s"
    )
    return {name: (downloads, slots, bans) for name, downloads, slots, bans in rows}


def orphans(backing) -> int:
    [(count,)] = backing.query(
        "select (select count(*) from shares_download where share_id not in (select id from shares_share)) + "
        "(select count(*) from shares_slot where share_id not in (select id from shares_share))"
    )
    return count


def test_a_one_share_server_purges_old_ended_shares_and_keeps_recent_ones(pasla, sample, backend):
    migrate(backend)
    ended_share(backend, "old-expired", 40 * DAY)
    ended_share(backend, "old-revoked", 31 * DAY, state="revoked")
    ended_share(backend, "recent", 29 * DAY)
    ended_share(backend, "yesterday", DAY, state="exhausted")

    served = pasla(sample, 5, env={**backend.env, "PASLA_LOG_LEVEL": "DEBUG"})
    wait_until(lambda: "old-expired" not in remaining(backend), timeout=20)
    assert remaining(backend) == {"recent": (1, 1, 1), "yesterday": (1, 1, 1), sample.name: (0, 0, 0)}
    assert orphans(backend) == 0
    assert served.stderr().count("purged 2 share(s) that ended over 30 day(s) ago") == 1
    resp, body = served.request()
    assert resp.status == 200 and body == sample.read_bytes()

    # Within the hour another server does not purge again, though it asks.
    ended_share(backend, "old-but-late", 45 * DAY)
    second = pasla(sample, 5, env={**backend.env, "PASLA_LOG_LEVEL": "DEBUG"})
    wait_until(lambda: "purge not due" in second.stderr(), timeout=20)
    assert "old-but-late" in remaining(backend) and "purged" not in second.stderr()


def test_zero_keeps_everything(pasla, sample, backend):
    migrate(backend)
    ended_share(backend, "ancient", 3000 * DAY)
    served = pasla(sample, 5, env={**backend.env, "PASLA_PURGE_AFTER_DAYS": "0", "PASLA_LOG_LEVEL": "DEBUG"})
    resp, _ = served.request("HEAD")
    assert resp.status == 200
    assert backend.query("select count(*) from shares_chore") == [(0,)]  # it never even asked
    assert "ancient" in remaining(backend) and "purge" not in served.stderr()


@pytest.mark.postgres
def test_serve_workers_purge_once_between_them(serve, postgres):
    backend = postgres
    migrate(backend)
    ended_share(backend, "old", 60 * DAY)
    ended_share(backend, "recent", 10 * DAY)
    server = serve(backend, workers=2, env={"PASLA_PURGE_AFTER_DAYS": "30", "PASLA_LOG_LEVEL": "DEBUG"})
    wait_until(lambda: "old" not in remaining(backend), timeout=20)
    assert set(remaining(backend)) == {"recent"} and orphans(backend) == 0
    wait_until(lambda: len([r for r in server.log_records() if r["message"].startswith("purge")]) == 2)
    messages = sorted(r["message"] for r in server.log_records() if r["message"].startswith("purge"))
    assert messages == [
        "purge not due: a server ran it within the hour",
        "purged 1 share(s) that ended over 30 day(s) ago, with their history",
    ]


CLAIM = (
    "from datetime import timedelta; from shares.operator import chores; "
    "print(chores.claim('test', timedelta(hours=1)))"
)


def claim(backing) -> str:
    done = manage(backing, "shell", "-c", CLAIM)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]  # after Django's note on its own imports


def test_the_hourly_claim_goes_to_exactly_one_of_many_processes(backend):
    migrate(backend)
    answers = sorted(in_parallel(claim, [(backend,)] * 4))
    assert answers == ["False", "False", "False", "True"]
    assert claim(backend) == "False"
    an_hour_ago = backend.timestamp(datetime.now(UTC) - timedelta(minutes=61))
    backend.execute("update shares_chore set ran_at = ?", an_hour_ago)
    assert claim(backend) == "True"


@pytest.mark.parametrize("value", ["-1", "thirty", "nan", "1e3"])
def test_bad_purge_setting_is_one_line(data_dir, sample, value):
    done = run_pasla([sample, "--dry-run"], data_dir, env={"PASLA_PURGE_AFTER_DAYS": value})
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "PASLA_PURGE_AFTER_DAYS" in done.stderr
