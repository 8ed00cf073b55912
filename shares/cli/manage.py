"""`pasla list`, `stop`, `purge` and `admin-user`: read and write the database, the control plane."""

import json
import logging
import socket
import sys
import time

from django.conf import settings

from shares.cli.admin_user import run as admin_user
from shares.cli.parser import CliError
from shares.config.durations import is_capped
from shares.files import datadir
from shares.handling import outage
from shares.human import human_bytes, human_duration
from shares.models import Share
from shares.operator import actions, database, housekeeping
from shares.operator.processes import Liveness

log = logging.getLogger("pasla")

# How long `stop` waits for a server to exit before reporting it as draining.
STOP_WAIT = 3.0


def run(name: str, opts) -> int:
    # Only the database: an operator must be able to list and stop shares
    # while the cache is away.
    outage.check_database()
    database.ensure_database()
    # A hard-killed server skipped its own cleanup: its row, its unfinished
    # downloads and its TLS key are dealt with now.
    buried = []
    try:
        buried = housekeeping.housekeeping()
    except Exception:
        log.warning("could not clean up after servers that died", exc_info=True)
    if name == "list":
        return list_shares(opts, buried)
    if name == "purge":
        return purge(opts)
    if name == "admin-user":
        return admin_user(opts)
    return stop_shares(opts)


def describe(share: Share, active: int, liveness: Liveness | None = None) -> dict:
    log_path = datadir.share_log(settings.DATA_DIR, share.id)
    return {
        "id": share.id,
        "state": share.state,
        "file": share.path,
        "name": share.name,
        "port": share.port,
        "scheme": share.scheme,
        # A detached share's banner is gone: this is where to re-read it.
        "cert_fingerprint": share.cert_fingerprint or None,
        "expires_in_seconds": int(share.time_left.total_seconds()),
        "downloads": share.slots_used,
        "max_downloads": share.max_downloads,
        "bytes_served": share.bytes_served,
        "active_transfers": active,
        "pid": share.pid,
        "host": share.hostname,
        "server": str(liveness or actions.server_liveness(share)),
        "log": str(log_path) if log_path.exists() else None,
    }


def list_shares(opts, buried: list[Share]) -> int:
    live = list(Share.objects.live())
    active = actions.active_transfers(s.id for s in live)
    rows = [describe(share, active.get(share.id, 0)) for share in live]
    # Shown once, as what they were found to be; they are ended from now on.
    rows += [describe(share, 0, Liveness.DEAD) for share in buried]
    if opts.json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return 0
    if not rows:
        print("No live shares.")
        return 0
    for row in rows:
        head = f"{row['id']}  {row['name']}  {row['scheme']} port {row['port']}"
        if row["state"] == Share.State.DEAD:
            elsewhere = row["host"] and row["host"] != socket.gethostname()
            where = f"pid {row['pid']}" + (f" on {row['host']}" if elsewhere else "")
            print(f"{head}  DEAD: its server ({where}) is gone; cleaned up")
            continue
        cap = f"{row['downloads']}/{row['max_downloads'] if is_capped(row['max_downloads']) else '∞'}"
        where = _served_by(row["pid"])
        if row["server"] == Liveness.ELSEWHERE:
            where += f" on {row['host']}"
        print(
            f"{head}  {human_duration(row['expires_in_seconds'])} left  {cap} downloads  "
            f"{human_bytes(row['bytes_served'])}  {row['active_transfers']} active  {where}"
        )
    return 0


def _served_by(pid: int | None) -> str:
    # A share made with --no-serve belongs to whichever `pasla serve` runs.
    return f"pid {pid}" if pid else "pasla serve"


def stop_shares(opts) -> int:
    live = Share.objects.live()
    if opts.all:
        targets = list(live)
    else:
        targets = list(live.filter(id__startswith=opts.id))
        if not targets:
            raise CliError(f"no live share matches {opts.id!r}")
        if len(targets) > 1:
            raise CliError(f"{opts.id!r} matches {len(targets)} shares; give more of the id")
    for share in targets:
        actions.stop_share(share)
    # The servers notice within a second; wait a little so the answer is
    # "stopped", not "asked to stop", in the common case.
    deadline = time.monotonic() + STOP_WAIT
    waiting = list(targets)
    while waiting and time.monotonic() < deadline:
        waiting = [s for s in waiting if actions.server_liveness(s) == Liveness.ALIVE]
        if waiting:
            time.sleep(0.05)
    for share in targets:
        if share in waiting:
            print(f"stopping {share.id} ({share.name}): letting running downloads finish")
        elif actions.server_liveness(share) == Liveness.ELSEWHERE:
            print(f"revoked {share.id} ({share.name}): its server on {share.hostname} stops within a second")
        else:
            print(f"stopped {share.id} ({share.name})")
    if not targets:
        print("No live shares.")
    return 0


def purge(opts) -> int:
    count = actions.purge(opts.older_than)
    print(f"purged {count} ended share(s) and their history")
    return 0
