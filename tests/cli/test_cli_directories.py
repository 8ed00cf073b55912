"""Operator input around directories: one line on stderr, exit 1; --json stays one object."""

import json

from tests.conftest import run_pasla


def test_archive_flag_on_a_file_is_an_error(data_dir, sample):
    done = run_pasla([sample, "5", "--archive", "tar", "--dry-run"], data_dir)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["pasla: error: --archive applies to directories only"]


def test_unknown_archive_format_is_an_error(data_dir, tmp_path):
    done = run_pasla([tmp_path, "--archive", "rar", "--dry-run"], data_dir)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("pasla: error:")


def test_unreadable_member_is_an_error(data_dir, tmp_path):
    root = tmp_path / "shared"
    root.mkdir()
    secret = root / "locked.txt"
    secret.write_text("x")
    secret.chmod(0)
    try:
        done = run_pasla([root, "--dry-run"], data_dir)
    finally:
        secret.chmod(0o600)
    # root can read anything: then the share is simply valid.
    if done.returncode == 1:
        assert done.stderr.startswith("pasla: error: cannot open") and len(done.stderr.splitlines()) == 1
    else:
        assert done.returncode == 0


def test_dry_run_json_for_a_directory_is_one_clean_object(data_dir, tmp_path):
    root = tmp_path / "shared"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("a")
    (root / "loop").symlink_to(root)
    done = run_pasla([root, "5", "--json", "--dry-run", "--archive", "tar"], data_dir)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    info = json.loads(line)
    assert info["name"] == "shared.tar" and info["kind"] == "directory" and info["archive"] == "tar"
    assert info["entries"] == 3 and info["file_sha256"] is None and info["size"] % 512 == 0
    assert "banner_rows" not in info
    assert "left out" in done.stderr  # the symlink, on stderr only


def test_help_names_directories_and_archive(data_dir):
    done = run_pasla(["--help"], data_dir)
    assert done.returncode == 0
    assert "--archive {zip,tar}" in done.stdout and "directory" in done.stdout


def test_names_that_are_not_portable_are_refused(data_dir, tmp_path):
    import os

    for bad in (b"back\\slash.txt", b"latin1-\xe9.txt"):
        root = tmp_path / f"shared-{len(bad)}"
        root.mkdir()
        fd = os.open(os.path.join(os.fsencode(root), bad), os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        done = run_pasla([root, "--dry-run"], data_dir)
        assert done.returncode == 1
        (line,) = done.stderr.splitlines()
        assert line.startswith("pasla: error: a name under") and ("UTF-8" in line or "backslash" in line)
