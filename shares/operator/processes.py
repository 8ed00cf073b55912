"""Is the process recorded on a share row still the one that serves it?

A pid alone is not enough: after a crash the kernel hands the number to
some unrelated process, and `pasla list` must not report a dead share as
live nor `pasla stop` signal a stranger. So a share also records a *stamp*
of its process: the boot id plus the process's start time in clock ticks
since boot (/proc/<pid>/stat, field 22). Same pid and same stamp means the
same process; a different stamp means the pid was reused.

Where /proc is missing the stamp is empty and only the pid is checked.
"""

import os
import socket
from enum import StrEnum
from pathlib import Path

PROC = Path("/proc")


class Liveness(StrEnum):
    ALIVE = "alive"
    DEAD = "dead"
    # Recorded by another machine sharing the database: we cannot look.
    ELSEWHERE = "elsewhere"
    # No process recorded (e.g. served by a shared server).
    NONE = "none"


def parse_stat(stat_line: str) -> tuple[str, str] | None:
    """(state, starttime) from a /proc/<pid>/stat line, or None if malformed.

    The second field is the command name in parentheses and may itself
    contain spaces and parentheses, so fields are counted after the last ')'.
    """
    _, paren, rest = stat_line.rpartition(")")
    if not paren:
        return None
    fields = rest.split()
    # rest starts at field 3 (state): field 22 (starttime) is index 19.
    if len(fields) < 20 or not fields[19].isdigit():
        return None
    return fields[0], fields[19]


def _boot_id(proc: Path) -> str:
    try:
        return (proc / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def stamp_of(pid: int, proc: Path = PROC) -> str | None:
    """The stamp of a running process; "" where /proc is unavailable; None if it is gone."""
    if not proc.is_dir():
        return "" if pid_exists(pid) else None
    try:
        text = (proc / str(pid) / "stat").read_text(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return ""
    parsed = parse_stat(text)
    if parsed is None:
        return ""
    state, ticks = parsed
    if state in ("Z", "X"):
        # Killed but not yet reaped (a detached server's parent is gone, and
        # not every init reaps promptly): it serves nothing.
        return None
    return f"{_boot_id(proc)}:{ticks}"


def own_stamp() -> str:
    return stamp_of(os.getpid()) or ""


def pid_exists(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def classify(pid: int | None, hostname: str, stamp: str, *, here: str, current_stamp: str | None) -> Liveness:
    """The pure decision: recorded (pid, hostname, stamp) against what this host sees.

    current_stamp is stamp_of(pid) on this host: None when no such process
    exists, "" when it cannot be read.
    """
    if not pid:
        return Liveness.NONE
    if hostname and hostname != here:
        return Liveness.ELSEWHERE
    if current_stamp is None:
        return Liveness.DEAD
    if stamp and current_stamp and stamp != current_stamp:
        return Liveness.DEAD  # the pid now belongs to another process
    return Liveness.ALIVE


def liveness(pid: int | None, hostname: str, stamp: str) -> Liveness:
    here = socket.gethostname()
    current = stamp_of(pid) if pid and (not hostname or hostname == here) else None
    return classify(pid, hostname, stamp, here=here, current_stamp=current)
