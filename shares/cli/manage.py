"""`pasla list` and `pasla stop`: read and write the database, the control plane."""

import json
import logging
import sys

from django.utils import timezone

from shares import services
from shares.cli.parser import CliError
from shares.console import human_bytes, human_duration
from shares.models import Share

log = logging.getLogger("pasla")


def run(name: str, opts) -> int:
    services.ensure_database()
    # A hard-killed server skipped its own cleanup; its TLS key goes now.
    try:
        services.reap_tls_material()
    except Exception:
        log.warning("could not clean up TLS material left by earlier shares", exc_info=True)
    if name == "list":
        return list_shares(opts)
    return stop_shares(opts)


def list_shares(opts) -> int:
    rows = []
    for share in Share.objects.live():
        rows.append(
            {
                "id": share.id,
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
                "pid": share.pid,
            }
        )
    if opts.json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return 0
    if not rows:
        print("No live shares.")
        return 0
    for row in rows:
        cap = f"{row['downloads']}/{row['max_downloads'] or '∞'}"
        print(
            f"{row['id']}  {row['name']}  {row['scheme']} port {row['port']}  "
            f"{human_duration(row['expires_in_seconds'])} left  {cap} downloads  "
            f"{human_bytes(row['bytes_served'])}  pid {row['pid']}"
        )
    return 0


def stop_shares(opts) -> int:
    live = Share.objects.filter(state=Share.State.LIVE, expires_at__gt=timezone.now())
    if opts.all:
        targets = list(live)
    else:
        targets = list(live.filter(id__startswith=opts.id))
        if not targets:
            raise CliError(f"no live share matches {opts.id!r}")
        if len(targets) > 1:
            raise CliError(f"{opts.id!r} matches {len(targets)} shares; give more of the id")
    for share in targets:
        services.revoke(share)
        print(f"stopped {share.id} ({share.name})")
    return 0
