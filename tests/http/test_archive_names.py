"""Member names with control characters never reach a recipient's terminal."""

import io
import subprocess
import tarfile
import zipfile

import pytest

from tests.conftest import run_pasla

# name on disk -> how the operator's warning spells it
UNSAFE = {
    "red\x1b[31malert.txt": "red\\x1b[31malert.txt",
    "two\nlines.txt": "two\\nlines.txt".replace("\\n", "\\x0a"),
    "bell\x07.txt": "bell\\x07.txt",
    "csi\x9b2J.txt": "csi\\x9b2J.txt",  # C1: an 8-bit escape on some terminals
}


@pytest.fixture
def tricky(tmp_path):
    root = tmp_path / "shared"
    root.mkdir()
    (root / "fine.txt").write_bytes(b"fine\n")
    for name in UNSAFE:
        (root / name).write_bytes(b"should not be archived\n")
    hidden_dir = root / "dir\x1b]0;title\x07"
    hidden_dir.mkdir()
    (hidden_dir / "inner.txt").write_bytes(b"inside a badly named directory\n")
    (root / "ok-dir").mkdir()
    (root / "ok-dir" / "tab\there.txt").write_bytes(b"nested\n")
    return root


def member_names(archive_format: str, data: bytes) -> list[str]:
    if archive_format == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return archive.getnames()


@pytest.mark.parametrize("archive_format", ["zip", "tar"])
def test_unsafe_names_are_left_out_and_named_escaped(pasla, tricky, archive_format, tmp_path):
    served = pasla(tricky, 5, "--archive", archive_format)
    out = tmp_path / f"got.{archive_format}"
    done = subprocess.run(["curl", "-sS", "-f", "-o", str(out), served.url], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    names = member_names(archive_format, out.read_bytes())
    assert sorted(n.rstrip("/") for n in names) == ["shared", "shared/fine.txt", "shared/ok-dir"]
    listing = subprocess.run(
        ["unzip", "-l", str(out)] if archive_format == "zip" else ["tar", "tvf", str(out)],
        capture_output=True,
        timeout=30,
    ).stdout
    assert b"fine.txt" in listing
    assert not any(byte < 0x20 and byte not in b"\n" for byte in listing)  # nothing for a terminal to obey

    stderr = served.stderr()
    assert "\x1b" not in stderr and "\x07" not in stderr and "\x9b" not in stderr
    (warning,) = [line for line in stderr.splitlines() if "control characters" in line]
    assert "6 name(s)" in warning
    for spelled in UNSAFE.values():
        assert f'"shared/{spelled}"' in warning
    assert '"shared/dir\\x1b]0;title\\x07"' in warning
    assert '"shared/ok-dir/tab\\x09here.txt"' in warning


def test_the_warning_names_at_most_ten(data_dir, tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    for i in range(13):
        (root / f"n{i:02d}\x1b.txt").write_bytes(b"x")
    done = run_pasla([root, "5", "--dry-run"], data_dir)
    assert done.returncode == 0, done.stderr
    (warning,) = [line for line in done.stderr.splitlines() if "control characters" in line]
    assert warning.count('"many/') == 10 and warning.endswith("and 3 more")
    assert "\x1b" not in done.stderr
