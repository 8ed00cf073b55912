"""Bad operator input: exit 1, one readable line, nothing served, nothing stored."""

import os
import socket
import sqlite3

import pytest

from tests.conftest import run_pasla


def assert_refused(result, data_dir, fragment):
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pasla: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    db = data_dir / "pasla.sqlite3"
    if db.exists() and db.stat().st_size:
        with sqlite3.connect(db) as conn:
            try:
                assert conn.execute("select count(*) from shares_share").fetchone()[0] == 0
            except sqlite3.OperationalError:
                pass  # never migrated: nothing stored either


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["{missing}"], "no such file"),
        (["{file}", "0"], "duration must be positive"),
        (["{file}", "abc"], "invalid duration"),
        (["{file}", "--", "-5"], "invalid duration"),
        (["{file}", "10", "--", "-1"], "max_downloads"),
        (["{file}", "10", "-1"], ""),  # argparse: -1 looks like an option
        (["{file}", "10", "2.5"], "max_downloads"),
        (["{file}", "400d"], "at most"),
        (["{file}", "-p", "70000"], "invalid port"),
        (["{file}", "-p", "http"], "invalid port"),
        (["{file}", "-4", "-6"], "not allowed with"),
        (["{file}", "--no-such-flag"], "unrecognized arguments"),
        ([], "required"),
        (["{file}", "--archive", "tar"], "--archive applies to directories only"),
        (["{fifo}"], "not a regular file"),
        (["{backslash}"], "backslash"),
        (["stop"], "share ID or --all"),
    ],
)
def test_bad_input_exits_1_with_one_line(tmp_path, data_dir, sample, args, fragment):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    backslash = tmp_path / "evil\\name.txt"
    backslash.write_text("x")
    values = {
        "missing": tmp_path / "nope.bin",
        "file": sample,
        "dir": tmp_path,
        "fifo": fifo,
        "backslash": backslash,
    }
    argv = [a.format(**values) for a in args]
    result = run_pasla(argv, data_dir)
    assert_refused(result, data_dir, fragment)
    for value in values.values():
        assert str(value) not in result.stderr or value in (values["missing"], values["dir"], values["fifo"])


def test_port_in_use(data_dir, sample):
    busy = socket.socket()
    busy.bind(("0.0.0.0", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        result = run_pasla([sample, "-p", port, "-4"], data_dir)
        assert_refused(result, data_dir, f"port {port} is already in use")
    finally:
        busy.close()


def test_bad_tuning_value_is_one_line(data_dir, sample):
    result = run_pasla([sample, "--dry-run"], data_dir, env={"PASLA_BAN_THRESHOLD": "0"})
    assert_refused(result, data_dir, "PASLA_BAN_THRESHOLD")


def test_unreadable_file(data_dir, tmp_path):
    path = tmp_path / "secret.bin"
    path.write_bytes(b"x")
    path.chmod(0)
    assert_refused(run_pasla([path], data_dir, file_permissions=True), data_dir, "permission denied")
