"""The operator's inputs: durations, counts, ports, days, PASLA_* limits and the config file.

Whatever the text, a parser either returns a value inside its bounds or
raises its own error with one printable line; never another exception.
"""

import math
import string
from dataclasses import fields

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shares.cli.parser import MAX_PURGE_DAYS, CliError, parse_days, parse_port
from shares.config import conf, config_file, durations
from tests.conftest import run_pasla

UNIT_MINUTES = {"s": 1 / 60, "m": 1, "h": 60, "d": 24 * 60, "": 1}
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 24 * 3600, "": 60}
noise = st.text(alphabet=string.printable + "\u0663\xb2\u2013\x00\x1b\u200b", max_size=30)


def one_line(message: str) -> bool:
    return bool(message) and "\n" not in message and "\r" not in message


numbers = st.one_of(
    st.integers(0, 10**7).map(str),
    st.decimals(0, 10**6, places=3, allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from([".5", "0.0", "00", "1e3", "inf", "nan", "-1", "1,5"]),
)
units = st.sampled_from(["", "s", "m", "h", "d", "S", "H", "D", "w", "ms", "min"])
pads = st.sampled_from(["", " ", "\t", "  "])


@given(pads, numbers, pads, units, pads)
@example("", "1", "", "d", "")
@example(" ", "525600", "", "", " ")
@example("", "525601", "", "", "")
def test_durations_follow_their_units_and_bounds(lead, number, gap, unit, trail):
    text = f"{lead}{number}{gap}{unit}{trail}"
    try:
        expected = float(number) * UNIT_MINUTES[unit.lower()] if unit.lower() in UNIT_MINUTES else None
    except ValueError:
        expected = None
    if expected is not None and not all(c in string.digits + "." for c in number):
        expected = None  # only plain decimals are durations
    if expected is not None and not (0 < expected <= durations.MAX_MINUTES):
        expected = None
    if expected is not None and float(number) * UNIT_SECONDS[unit.lower()] < 1:
        expected = None  # less than a second is a link dead on arrival
    if expected is None:
        with pytest.raises(ValueError) as refused:
            durations.parse_minutes(text)
        assert one_line(str(refused.value))
    else:
        assert durations.parse_minutes(text) == pytest.approx(expected)


@given(noise)
def test_any_duration_text_is_a_bounded_value_or_one_line(text):
    try:
        minutes = durations.parse_minutes(text)
    except ValueError as exc:
        assert one_line(str(exc))
    else:
        assert math.isfinite(minutes) and 0 < minutes <= durations.MAX_MINUTES


@given(st.one_of(noise, st.integers(0, 2 * durations.MAX_DOWNLOADS).map(str)), pads, pads)
def test_max_downloads_is_a_whole_number_in_bounds_or_one_line(text, lead, trail):
    padded = lead + text + trail
    try:
        value = durations.parse_max_downloads(padded)
    except ValueError as exc:
        assert one_line(str(exc))
        assert not (text.isascii() and text.isdigit() and int(text) <= durations.MAX_DOWNLOADS)
    else:
        assert 0 <= value <= durations.MAX_DOWNLOADS and str(value) == text.lstrip("0").rjust(1, "0")


@given(st.one_of(noise, st.integers(0, 70000).map(str)))
def test_ports_and_days(text):
    try:
        port = parse_port(text)
    except CliError as exc:
        assert one_line(str(exc))
        assert not (text.isascii() and text.isdigit() and int(text) <= 65535)
    else:
        assert 0 <= port <= 65535 and port == int(text)
    try:
        days = parse_days(text)
    except CliError as exc:
        assert one_line(str(exc))
    else:
        assert 0 <= days <= MAX_PURGE_DAYS


LIMIT_NAMES = [f"PASLA_{field.name.upper()}" for field in fields(conf.Limits)]
env_values = st.one_of(
    noise,
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1_000", " 5 ", "0x10", "1e400", "NaN", "-inf", "", "٣"]),
)


@given(st.dictionaries(st.sampled_from(LIMIT_NAMES), env_values, max_size=6))
def test_any_limits_environment_is_in_bounds_or_one_line(environ):
    try:
        limits = conf.limits_from_env(environ)
    except conf.ConfigError as exc:
        assert one_line(str(exc))
        return
    for field in fields(conf.Limits):
        rule = conf.RULES[field.name]
        value = getattr(limits, field.name)
        assert isinstance(value, field.type)
        if value == 0:
            assert rule.zero_ok
        else:
            assert rule.floor <= value <= min(rule.ceiling, rule.meaningful_max or rule.ceiling)


KEYS = [key for keys in config_file.KNOWN_KEYS.values() for key in keys] + ["typo", "Duration", "port "]
SECTIONS = [*config_file.KNOWN_KEYS, "update", "SERVER", "server ", ""]
value_text = st.one_of(
    noise,
    st.sampled_from(
        ["30", "2h", "0", "-1", "true", "off", "X-Real-IP", "bad_header", "~/c.pem", "65536", "%(x)s"]
    ),
)
line = st.one_of(
    st.builds(
        lambda k, sep, v: f"{k}{sep}{v}",
        st.sampled_from(KEYS),
        st.sampled_from([" = ", "=", ": ", " "]),
        value_text,
    ),
    st.sampled_from(SECTIONS).map(lambda s: f"[{s}]"),
    st.sampled_from(["# note", "; note", "", "  continued", "[", "]", "=", "[server"]),
    noise,
)
ini_texts = st.one_of(st.lists(line, max_size=12).map("\n".join), st.text(max_size=200))


@given(ini_texts)
@example("[server]\nport = 1\nport = 2\n")
@example("[server]\n[server]\n")
@example("duration = 5\n")
def test_any_config_file_is_a_config_or_one_line(text):
    try:
        config = config_file.parse(text, "/tmp/pasla.ini")
    except config_file.ConfigFileError as exc:
        assert one_line(str(exc)) and str(exc).startswith("config file /tmp/pasla.ini")
        return
    assert all(one_line(warning) for warning in config.warnings)
    if config.duration is not None:
        assert 0 < config.duration <= durations.MAX_MINUTES
    if config.max_downloads is not None:
        assert 0 <= config.max_downloads <= durations.MAX_DOWNLOADS
    if config.port is not None:
        assert 0 <= config.port <= 65535


# A handful of the inputs above through the real command: exit 1, one line, no traceback.
CLI_CASES = [
    ({"config": "[server]\nduration = 1e3\n"}, "duration"),
    ({"config": "[server]\nport = 1\nport = 2\n"}, "config file"),
    ({"config": "[tls]\ncert = /nonexistent/\x1b[31mred.pem\nhttps = yes\n"}, ""),
    ({"config": "\x00\x01[server\n"}, "config file"),
    ({"env": {"PASLA_CHUNK_SIZE": "nan"}}, "PASLA_CHUNK_SIZE"),
    ({"env": {"PASLA_SOCKET_TIMEOUT": "1e400"}}, "PASLA_SOCKET_TIMEOUT"),
]


@pytest.mark.parametrize("case, fragment", CLI_CASES)
def test_bad_input_through_the_cli_is_exit_1_with_one_line(case, fragment, tmp_path, sample, data_dir):
    env = dict(case.get("env", {}))
    if "config" in case:
        path = tmp_path / "pasla.ini"
        path.write_text(case["config"])
        env["PASLA_CONFIG"] = str(path)
    done = run_pasla([sample, "--dry-run"], data_dir, env=env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and lines[0].startswith("pasla: error: ") and fragment in lines[0], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
