"""`pasla -d`: run the share's server in the background and report its URL.

The same command line runs again as a child in a new session, with stdout
a pipe back to us (its one --json line carries the URL, which must never
land in a log file) and stderr a 0600 log in the data directory. Once the
child prints, its socket is already listening; we check it accepts, print
the URL (or --json), and exit 0 while the child keeps serving.
"""

import json
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from django.conf import settings

from shares.files import datadir
from shares.network.addresses import LOOPBACK_WARNING, loopback_only

CHILD_FLAG = "--detached-child"
TAIL_LINES = 20
KILL_GRACE = 5.0


class NotReady(Exception):
    pass


def _open_log() -> tuple[Path, int]:
    logs = datadir.logs_dir(settings.DATA_DIR)
    path = logs / f"detach-{secrets.token_hex(4)}.log"
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC, 0o600)
    return path, fd


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _read_line(proc: subprocess.Popen, deadline: float) -> str | None:
    """The child's JSON line, or None if it exited first; NotReady at the deadline."""
    buffer = b""
    fd = proc.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise NotReady
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        buffer += chunk
        if b"\n" in buffer:
            return buffer.split(b"\n", 1)[0].decode("utf-8")


def _accepts(port: int, deadline: float) -> None:
    """Wait until something accepts on the port over loopback (either family)."""
    while True:
        for host in ("127.0.0.1", "::1"):
            try:
                with socket.create_connection((host, port), timeout=1):
                    return
            except OSError:
                continue
        if time.monotonic() >= deadline:
            raise NotReady
        time.sleep(0.05)


def _end(proc: subprocess.Popen) -> None:
    """Stop a child that did not come up: its whole session, TERM then KILL."""
    for signum, grace in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue


def run(argv: list[str], opts) -> int:
    log_path, log_fd = _open_log()
    # Our flags go first: after a "--" in argv they would be taken as positionals.
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "pasla", "--json", CHILD_FLAG, *argv]
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_fd,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(log_fd)
    timeout = settings.PASLA_LIMITS.detach_timeout
    deadline = time.monotonic() + timeout
    try:
        line = _read_line(proc, deadline)
        if line is None:
            # It refused to start (bad input, port taken): its one line says why.
            code = proc.wait()
            sys.stderr.write(tail(log_path) + "\n")
            log_path.unlink(missing_ok=True)
            return code or 1
        info = json.loads(line)
        _accepts(info["port"], deadline)
    except (NotReady, ValueError, KeyError):
        _end(proc)
        sys.stderr.write(
            f"pasla: error: the background server was not ready within {timeout:g} s; "
            f"last lines of {log_path}:\n{tail(log_path)}\n"
        )
        return 2
    finally:
        proc.stdout.close()
    final_log = datadir.share_log(settings.DATA_DIR, info["id"])
    os.replace(log_path, final_log)
    info.update({"pid": proc.pid, "log": str(final_log)})
    urls = (info.get("url_ipv4"), info.get("url_ipv6"))
    if loopback_only([urllib.parse.urlsplit(url).hostname for url in urls if url]):
        # The child's warning went to its log; the operator is here.
        sys.stderr.write(f"pasla: warning: {LOOPBACK_WARNING}\n")
    if opts.json:
        sys.stdout.write(json.dumps(info, ensure_ascii=False) + "\n")
    else:
        lines = [f"pasla: share {info['id']} is served in the background (pid {proc.pid})"]
        lines += [url for url in (info.get("url_ipv4"), info.get("url_ipv6")) if url]
        if info.get("cert_fingerprint"):
            lines.append(f"certificate SHA-256: {info['cert_fingerprint']}")
        lines.append(f"log: {final_log}")
        lines.append(f"stop it with: python manage.py pasla stop {info['id']}")
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 0
