"""Pseudo filesystems: files whose size and content are made at read time.

Files under /proc, /sys and their kin report a size of 0 (or one page)
whatever they hold, may read differently for each reader and may refuse a
later read, so pasla can promise neither a length nor a digest for them.
A file is on one when its device (st_dev) is a mount of one of PSEUDO_TYPES
in /proc/self/mountinfo.
"""

import os

PSEUDO_TYPES = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "efivarfs",
        "fusectl",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "sysfs",
        "tracefs",
    }
)
MOUNTINFO = "/proc/self/mountinfo"


def pseudo_devices(mountinfo: str) -> dict[tuple[int, int], str]:
    """(major, minor) -> type, for every pseudo filesystem mount in a mountinfo text."""
    found = {}
    for line in mountinfo.splitlines():
        # "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER";
        # spaces inside paths are escaped (\040), so " - " only ever separates.
        head, separator, tail = line.partition(" - ")
        fields, after = head.split(), tail.split()
        if not separator or len(fields) < 3 or not after:
            continue
        major, _, minor = fields[2].partition(":")
        if after[0] in PSEUDO_TYPES and major.isdigit() and minor.isdigit():
            found[(int(major), int(minor))] = after[0]
    return found


class PseudoCheck:
    """Reads the mount table once; then answers per device."""

    def __init__(self, path: str = MOUNTINFO):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                self.devices = pseudo_devices(fh.read())
        except OSError:
            self.devices = {}  # no mount table (not Linux): no pseudo filesystem known

    def type_of(self, st_dev: int) -> str | None:
        """The pseudo filesystem type a device belongs to, else None."""
        return self.devices.get((os.major(st_dev), os.minor(st_dev)))

    def refusal(self, st_dev: int, what: str) -> str | None:
        """A one-line reason to refuse `what` if it lives on a pseudo filesystem."""
        kind = self.type_of(st_dev)
        if kind is None:
            return None
        return (
            f"{what} is on a {kind} pseudo filesystem, whose files have no fixed size or content;"
            " copy it to a regular file first"
        )


def refusal(st_dev: int, what: str) -> str | None:
    """PseudoCheck().refusal for a single file."""
    return PseudoCheck().refusal(st_dev, what)
