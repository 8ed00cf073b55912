"""`pasla get` against real `--e2e` shares: exact bytes, resume, refusal of anything altered."""

import hashlib
import io
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from shares.e2e import ece
from tests.conftest import MANAGE, PYTHON, ROOT, base_env
from tests.relay_proxy import RelayProxy

MIB = 1 << 20


def get(data_dir: Path, cwd: Path, *args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, MANAGE, "pasla", "get", *map(str, args)],
        cwd=cwd,
        env=base_env(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def out(tmp_path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.mark.parametrize("size", [0, 1, ece.DATA_PER_RECORD], ids=["0B", "1B", "one-record"])
def test_round_trip_of_small_files(pasla, tmp_path, data_dir, out, size):
    original = tmp_path / "small.bin"
    original.write_bytes(os.urandom(size))
    served = pasla(original, "--e2e")
    assert "#k=" in served.url and "small" not in served.url
    done = get(data_dir, out, served.url)
    assert done.returncode == 0, done.stderr
    saved = out / "small.bin"  # the real name, from the metadata record
    assert done.stdout.strip() == str(saved)
    assert saved.read_bytes() == original.read_bytes()
    assert leftovers(out) == ["small.bin"]


def test_200_mib_round_trip_then_a_cut_at_40_percent_resumes_on_the_same_slot(pasla, tmp_path, data_dir, out):
    original = tmp_path / "big.bin"
    with open(original, "wb") as fh:
        for _ in range(200):
            fh.write(os.urandom(MIB))
    digest = hashlib.sha256(original.read_bytes()).hexdigest()
    served = pasla(original, "--e2e")

    whole = get(data_dir, out, served.url, "-o", out / "first.bin")
    assert whole.returncode == 0, whole.stderr
    assert hashlib.sha256((out / "first.bin").read_bytes()).hexdigest() == digest

    total = ece.ciphertext_size(original.stat().st_size)
    proxy = RelayProxy(served.port, cut_after=int(total * 0.4))
    try:
        cut = get(data_dir, out, proxy.url(served.url), "-o", out / "second.bin")
    finally:
        proxy.close()
    assert cut.returncode == 1
    assert "interrupted" in cut.stderr and "-c" in cut.stderr
    assert not (out / "second.bin").exists()
    served.wait_until(lambda: all(r["outcome"] != "in_progress" for r in served.downloads()))
    slots_before = served.share_row()["slots_used"]
    assert slots_before == 2

    resumed = get(data_dir, out, served.url, "-o", out / "second.bin", "-c")
    assert resumed.returncode == 0, resumed.stderr
    assert hashlib.sha256((out / "second.bin").read_bytes()).hexdigest() == digest
    assert served.share_row()["slots_used"] == slots_before
    ranges = [(r["status"], r["range_start"]) for r in served.downloads()]
    assert ranges[-1][0] == 206 and ranges[-1][1] > total * 0.35  # only the rest was asked for
    assert leftovers(out) == ["first.bin", "second.bin"]


def test_a_directory_round_trips_to_the_same_archive(pasla, tmp_path, data_dir, out):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"alpha\n" * 1000)
    (tree / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    plain = pasla(tree)
    _, archive = plain.request()
    encrypted = pasla(tree, "--e2e")
    done = get(data_dir, out, encrypted.url)
    assert done.returncode == 0, done.stderr
    saved = out / "tree.zip"
    assert saved.read_bytes() == archive
    assert zipfile.ZipFile(io.BytesIO(archive)).read("tree/a.txt") == b"alpha\n" * 1000


@pytest.mark.parametrize("where", ["metadata", "data"])
def test_a_flipped_ciphertext_byte_fails_and_leaves_nothing(pasla, tmp_path, data_dir, out, where):
    original = tmp_path / "f.bin"
    original.write_bytes(os.urandom(3 * MIB))
    served = pasla(original, "--e2e")
    at = ece.HEADER_SIZE + 100 if where == "metadata" else ece.record_start(20) + 5
    proxy = RelayProxy(served.port, flip_at=at)
    try:
        done = get(data_dir, out, proxy.url(served.url), "-c")
    finally:
        proxy.close()
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    expected = (
        "wrong key, or the encrypted stream was altered" if where == "metadata" else "record 20 was altered"
    )
    assert expected in done.stderr
    assert leftovers(out) == []


def test_a_wrong_or_missing_key_says_so(pasla, tmp_path, data_dir, out):
    original = tmp_path / "f.bin"
    original.write_bytes(b"secret stuff")
    served = pasla(original, "--e2e")
    bare, _, key = served.url.partition("#k=")
    wrong = "B" + key[1:] if key[0] != "B" else "C" + key[1:]
    done = get(data_dir, out, f"{bare}#k={wrong}")
    assert done.returncode == 1 and "wrong key" in done.stderr
    cut_key = get(data_dir, out, f"{bare}#k={key[:10]}")
    assert cut_key.returncode == 1 and "cut off" in cut_key.stderr
    assert leftovers(out) == []


def test_plain_shares_resume_and_check_repr_digest(pasla, tmp_path, data_dir, out):
    original = tmp_path / "plain.bin"
    original.write_bytes(os.urandom(20 * MIB + 7))
    served = pasla(original)
    proxy = RelayProxy(served.port, cut_after=8 * MIB)
    try:
        cut = get(data_dir, out, proxy.url(served.url))
    finally:
        proxy.close()
    assert cut.returncode == 1 and "-c" in cut.stderr
    resumed = get(data_dir, out, served.url, "-c")
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "plain.bin").read_bytes() == original.read_bytes()
    assert served.downloads()[-1]["status"] == 206

    (out / "plain.bin").unlink()
    tamper = RelayProxy(served.port, flip_at=5 * MIB)
    try:
        bad = get(data_dir, out, tamper.url(served.url))
    finally:
        tamper.close()
    assert bad.returncode == 1 and "Repr-Digest" in bad.stderr
    assert leftovers(out) == []


def test_the_documented_one_liner_decrypts_without_pasla(pasla, tmp_path):
    original = tmp_path / "f.bin"
    original.write_bytes(os.urandom(2 * ece.DATA_PER_RECORD + 99))
    served = pasla(original, "--e2e")
    doc = (ROOT / "docs" / "e2e.md").read_text()
    script = re.search(r"curl -fs '[^']*' \| (python3 -c '.*?' KEY) > FILE", doc, re.DOTALL).group(1)
    bare, _, key = served.url.partition("#k=")
    script = script.replace("python3 -c", f"{PYTHON} -c").replace(" KEY", " " + key)
    command = f"curl -fs '{bare}' | {script}"
    done = subprocess.run(["sh", "-c", command], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == original.read_bytes()
