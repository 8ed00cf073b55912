"""Operator values through the real CLI: what means something is taken, nonsense is one line and exit 1."""

import os

import pytest

from tests.cli.test_bad_input import assert_refused
from tests.conftest import run_pasla
from tests.http.test_bans import guess
from tests.unit.test_conf import NAMES, ZERO_MEANS_SOMETHING

# Not the reference tool's, and meaningless past their own bound: refused large.
BOUNDED = {"PASLA_ZERO_COPY", "PASLA_IPV6_PREFIX"}
# Far past any default, so "accepted" cannot come from a value that was always in range.
LARGE = "1000000000000"


# Refused: (variable, value) for each variable with zero, a negative value and
# junk, and the large value for the bounded ones.
REFUSED = [(name, "0") for name in NAMES if name not in ZERO_MEANS_SOMETHING]
REFUSED += [(name, value) for name in NAMES for value in ("-5", "12abc")]
REFUSED += [(name, LARGE) for name in sorted(BOUNDED)]
# Accepted: a large value for every other variable, 0 where it is documented.
# Each group runs as one process (any refusal would name its variable), since
# a served dry run costs seconds where a refusal costs a fraction of one.
ACCEPTED = {
    "large": {name: LARGE for name in NAMES if name not in BOUNDED},
    "zero": dict.fromkeys(ZERO_MEANS_SOMETHING, "0"),
}


@pytest.mark.parametrize(("name", "value"), REFUSED)
def test_meaningless_tuning_values_are_one_line(data_dir, sample, name, value):
    result = run_pasla([sample, "--dry-run"], data_dir, env={name: value})
    assert_refused(result, data_dir, f"{name} must be ")
    assert repr(value) in result.stderr


@pytest.mark.parametrize("group", sorted(ACCEPTED))
def test_meaningful_tuning_values_are_accepted(data_dir, sample, group):
    result = run_pasla([sample, "--dry-run"], data_dir, env=ACCEPTED[group])
    assert result.returncode == 0, result.stderr
    assert "pasla: error" not in result.stderr and "/sample.bin" in result.stdout


@pytest.mark.parametrize("value", ["\u0665", "\uff15", "1_000", " +5", "+5", "1e3", "inf"])
def test_numbers_are_ascii_digits_only(data_dir, sample, value):
    result = run_pasla([sample, "--dry-run"], data_dir, env={"PASLA_BAN_THRESHOLD": value})
    assert_refused(result, data_dir, "PASLA_BAN_THRESHOLD must be a whole number above 0")


def test_large_values_serve(pasla, sample):
    """The reference tool's 'effectively off' settings: no ban, no rate limit, downloads work."""
    huge = {name: LARGE for name in NAMES if name not in BOUNDED}
    served = pasla(sample, env=huge)
    for _ in range(8):  # over the default ban threshold of 5
        assert served.request("GET", guess())[0].status == 404
    for _ in range(25):  # over the default 20 requests per window
        assert served.request("HEAD", "/favicon.ico")[0].status == 404
    resp, body = served.request()
    assert resp.status == 200 and body == sample.read_bytes()
    assert served.query("select count(*) from shares_ban") == [(0,)]


@pytest.mark.parametrize(
    ("duration", "fragment"),
    [
        ("0.5s", "at least one second"),
        ("0.999s", "at least one second"),
        ("0.01", "at least one second"),  # minutes: 0.6 s
        ("0s", "duration must be positive"),
        ("\u0665", "invalid duration"),
        ("\uff15m", "invalid duration"),
        ("1_0", "invalid duration"),
        ("+5", "invalid duration"),
    ],
)
def test_bad_durations(data_dir, sample, duration, fragment):
    assert_refused(run_pasla([sample, duration, "--dry-run"], data_dir), data_dir, fragment)


def test_one_second_is_enough(data_dir, sample):
    result = run_pasla([sample, "1s", "--dry-run", "--json"], data_dir)
    assert result.returncode == 0, result.stderr


def test_config_fifo_is_refused_not_waited_on(data_dir, sample, tmp_path):
    fifo = tmp_path / "pasla.ini"
    os.mkfifo(fifo)
    # Nothing ever writes to the FIFO: a reader that opens it waits forever.
    result = run_pasla([sample, "--dry-run"], data_dir, env={"PASLA_CONFIG": str(fifo)}, timeout=30)
    assert_refused(result, data_dir, "not a regular file")


def test_log_level_junk_is_one_line(data_dir, sample):
    result = run_pasla([sample, "--dry-run"], data_dir, env={"PASLA_LOG_LEVEL": "junk"})
    assert_refused(result, data_dir, "PASLA_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://[x]/", "http://[::1]x/", "http://%zz/", "http://\u00fc/"]
)
def test_malformed_notify_url_is_one_line(data_dir, sample, url):
    assert_refused(run_pasla([sample, "--notify", url, "--dry-run"], data_dir), data_dir, "--notify")


PSEUDO_FILES = [
    ("/proc/self/status", "proc"),  # size 0, content made per reader
    ("/proc/cpuinfo", "proc"),
    ("/proc/self/environ", "proc"),
    ("/proc/self", "proc"),  # a directory: its archive would be nonsense too
    ("/sys/kernel/mm/transparent_hugepage/enabled", "sysfs"),  # size 4096, content shorter
    ("/sys/kernel", "sysfs"),
]


@pytest.mark.parametrize(("path", "kind"), PSEUDO_FILES)
def test_pseudo_filesystem_files_are_refused_at_start(data_dir, path, kind):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    result = run_pasla([path, "--dry-run"], data_dir)
    assert_refused(result, data_dir, f"is on a {kind} pseudo filesystem")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-p", "9" * 5000], "invalid port"),  # int() refuses it with its own words
        (["-p", "\u0668\u0660"], "invalid port"),
        (["10", "9" * 5000], "max_downloads must be at most"),
    ],
)
def test_long_and_non_ascii_numbers_in_arguments(data_dir, sample, args, fragment):
    assert_refused(run_pasla([sample, *args, "--dry-run"], data_dir), data_dir, fragment)
