"""Telling the process recorded on a share from whatever holds its pid now."""

import os
import signal
import subprocess
import sys

import pytest

from shares.operator import processes
from shares.operator.processes import Liveness
from tests.conftest import wait_until

# A real line from /proc/<pid>/stat, with the starttime (field 22) = 98765.
TAIL = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 98765 100 200"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1234 (python3)" + TAIL, ("S", "98765")),
        # The command name may hold spaces and parentheses: count from the last ')'.
        ("1234 (my (odd) name)" + TAIL, ("S", "98765")),
        ("1234 (a) b)" + TAIL.replace(" S ", " Z "), ("Z", "98765")),
        ("1234 python3 S 1 2", None),  # no parentheses at all
        ("1234 (x) S 1 2 3", None),  # truncated
        ("1234 (x)" + TAIL.replace("98765", "-5"), None),
        ("", None),
    ],
)
def test_parse_stat(line, expected):
    assert processes.parse_stat(line) == expected


@pytest.mark.parametrize(
    ("pid", "hostname", "stamp", "current", "expected"),
    [
        (None, "me", "b:1", "b:1", Liveness.NONE),
        (0, "me", "b:1", "b:1", Liveness.NONE),
        (42, "other", "b:1", None, Liveness.ELSEWHERE),
        (42, "me", "b:1", None, Liveness.DEAD),  # no such process
        (42, "me", "b:1", "b:2", Liveness.DEAD),  # the pid was reused
        (42, "me", "b:1", "c:1", Liveness.DEAD),  # same ticks, another boot
        (42, "me", "b:1", "b:1", Liveness.ALIVE),
        (42, "me", "", "b:1", Liveness.ALIVE),  # recorded without /proc: pid only
        (42, "me", "b:1", "", Liveness.ALIVE),  # cannot read it now: pid only
        (42, "", "b:1", "b:1", Liveness.ALIVE),  # no hostname recorded: assume here
    ],
)
def test_classify(pid, hostname, stamp, current, expected):
    assert processes.classify(pid, hostname, stamp, here="me", current_stamp=current) == expected


def test_own_process_is_alive_with_its_own_stamp():
    stamp = processes.own_stamp()
    assert stamp
    assert processes.liveness(os.getpid(), "", stamp) == Liveness.ALIVE


@pytest.mark.parametrize(("pid", "exists"), [("self", True), (None, False), (0, False), (-1, False)])
def test_pid_exists(pid, exists):
    assert processes.pid_exists(os.getpid() if pid == "self" else pid) is exists


def test_a_finished_process_is_dead():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert processes.liveness(proc.pid, "", "x:1") == Liveness.DEAD


def test_a_killed_but_unreaped_process_is_dead():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stamp = processes.stamp_of(proc.pid)
    assert processes.liveness(proc.pid, "", stamp) == Liveness.ALIVE
    os.kill(proc.pid, signal.SIGKILL)
    wait_until(lambda: processes.stamp_of(proc.pid) is None, 5)
    # Not waited for yet: a zombie still has a /proc entry but serves nothing.
    assert processes.pid_exists(proc.pid)
    assert processes.liveness(proc.pid, "", stamp) == Liveness.DEAD
    proc.wait()


def test_another_process_with_the_recorded_pid_is_not_ours():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # The stamp of some earlier process that had this pid.
        assert processes.liveness(proc.pid, "", "not-this-boot:1") == Liveness.DEAD
    finally:
        proc.kill()
        proc.wait()
