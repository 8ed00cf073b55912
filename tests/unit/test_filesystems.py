"""Pseudo filesystems (/proc, /sys, ...): found by the device a file lives on."""

import os

import pytest

from shares.files.filesystems import PseudoCheck, pseudo_devices

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334076k
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw
27 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 23 0:39 / /sys/kernel/debug rw,relatime shared:7 - debugfs debugfs rw
43 27 0:40 / /srv/with\\040a\\040-\\040dash rw - proc proc rw
44 27 0:41 / /mnt/fuse rw - fuse.sshfs host:/ rw
garbage line
45 27 x:y / /odd rw - proc proc rw
"""


def test_pseudo_devices_table():
    assert pseudo_devices(MOUNTINFO) == {
        (0, 21): "proc",
        (0, 22): "sysfs",
        (0, 38): "cgroup2",
        (0, 39): "debugfs",
        (0, 40): "proc",
    }


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/proc/self/status", "proc"),
        ("/proc/cpuinfo", "proc"),
        ("/proc/self", "proc"),
        ("/sys/kernel", "sysfs"),
        ("/etc/hostname", None),
        ("/dev/shm", None),
        (os.getcwd(), None),
    ],
)
def test_this_machine(path, kind):
    if not os.path.exists("/proc/self/mountinfo"):
        pytest.skip("no /proc/self/mountinfo")
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    assert PseudoCheck().type_of(os.stat(path).st_dev) == kind


def test_no_mount_table_knows_no_pseudo_filesystem(tmp_path):
    assert PseudoCheck(str(tmp_path / "missing")).type_of(os.stat("/proc/cpuinfo").st_dev) is None
