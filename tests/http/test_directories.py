"""Part 3: a directory is served as a zip or tar produced on the fly, with exact size."""

import hashlib
import http.client
import io
import os
import subprocess
import tarfile
import zipfile

import pytest

MIB = 1 << 20


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "Projekt Ünïcødé"
    (root / "empty dir").mkdir(parents=True)
    (root / "docs" / "deep" / "deeper").mkdir(parents=True)
    (root / "readme.txt").write_text("hello\n")
    (root / "zero-length").write_bytes(b"")
    (root / "docs" / "日本語のファイル名.bin").write_bytes(os.urandom(300_000))
    (root / "docs" / "deep" / ("very-long-name-" * 12 + ".dat")).write_bytes(os.urandom(5000))
    (root / "docs" / "deep" / "deeper" / "big.bin").write_bytes(os.urandom(3 * MIB + 17))
    (root / "escape").symlink_to("/etc")  # never followed
    return root


def snapshot(root) -> dict:
    """Relative path -> sha256 (files) or None (directories), links left out."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dirnames:
            if not os.path.islink(os.path.join(dirpath, d)):
                seen[os.path.normpath(os.path.join(rel, d))] = None
        for f in filenames:
            path = os.path.join(dirpath, f)
            if not os.path.islink(path):
                with open(path, "rb") as fh:
                    seen[os.path.normpath(os.path.join(rel, f))] = hashlib.sha256(fh.read()).hexdigest()
    return seen


def source_snapshot(root) -> dict:
    snap = snapshot(root)
    snap.pop("escape", None)
    return snap


@pytest.mark.parametrize("archive_format", ["zip", "tar"])
def test_directory_downloads_as_an_archive_whose_tree_equals_the_source(
    pasla, tree, tmp_path, archive_format
):
    served = pasla(tree, 5, "--archive", archive_format)
    assert served.info["name"] == f"{tree.name}.{archive_format}"
    assert served.info["kind"] == "directory" and served.info["archive"] == archive_format
    resp, body = served.request()
    assert resp.status == 200
    assert int(resp.headers["Content-Length"]) == len(body) == served.info["size"]
    assert resp.headers["ETag"].startswith('"')
    out = tmp_path / "out"
    out.mkdir()
    if archive_format == "zip":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            assert archive.testzip() is None
            archive.extractall(out)
    else:
        with tarfile.open(fileobj=io.BytesIO(body)) as archive:
            archive.extractall(out, filter="data")
    assert source_snapshot(tree) == snapshot(out / tree.name)
    assert not (out / tree.name / "escape").exists()


def test_zip_is_the_default_and_unzip_accepts_it(pasla, tree, tmp_path):
    served = pasla(tree, 5)
    assert served.info["name"].endswith(".zip")
    archive = tmp_path / "a.zip"
    done = subprocess.run(["curl", "-sS", "-f", "-o", str(archive), served.url], capture_output=True)
    assert done.returncode == 0, done.stderr
    if subprocess.run(["which", "unzip"], capture_output=True).returncode == 0:
        out = tmp_path / "unzipped"
        test = subprocess.run(["unzip", "-q", str(archive), "-d", str(out)], capture_output=True)
        assert test.returncode == 0, test.stderr
        assert source_snapshot(tree) == snapshot(out / tree.name)


@pytest.mark.parametrize("archive_format", ["zip", "tar"])
def test_a_range_into_the_middle_is_exactly_those_bytes_of_the_archive(pasla, tree, archive_format):
    served = pasla(tree, 5, "--archive", archive_format)
    _, whole = served.request()
    size = len(whole)
    for start, end in [(size // 2, size // 2 + 99_999), (1000, 1000), (size - 300, size - 1), (7, size // 3)]:
        resp, body = served.request(headers={"Range": f"bytes={start}-{end}"})
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
        assert body == whole[start : end + 1]


def test_a_cut_archive_download_resumes_with_curl(pasla, tree, tmp_path):
    # Larger than what loopback buffers swallow when a connection is cut.
    (tree / "docs" / "deep" / "deeper" / "big.bin").write_bytes(os.urandom(40 * MIB))
    served = pasla(tree, 5, "--single")
    size = served.info["size"]
    status, part = served.cut_download(size // 2)
    assert status == 200
    served.wait_until(lambda: all(r["outcome"] != "in_progress" for r in served.downloads()))
    out = tmp_path / "resumed.zip"
    out.write_bytes(part)
    done = subprocess.run(["curl", "-sS", "-f", "-C", "-", "-o", str(out), served.url], capture_output=True)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
    assert served.wait(timeout=15) == 0
    assert served.share_row()["slots_used"] == 1


def test_a_member_changed_before_the_request_is_refused(pasla, tree):
    served = pasla(tree, 5)
    (tree / "readme.txt").write_text("changed\n")
    resp, body = served.request()
    assert resp.status == 500
    assert str(tree).encode() not in body and b"readme" not in body
    assert served.share_row()["slots_used"] == 0


def test_a_member_changed_mid_download_breaks_the_connection(pasla, tree):
    big = tree / "docs" / "deep" / "deeper" / "big.bin"
    big.write_bytes(os.urandom(40 * MIB))
    served = pasla(tree, 5)
    conn = served.connection()
    conn.request("GET", served.path)
    resp = conn.getresponse()
    assert resp.status == 200
    first = resp.read(64 * 1024)
    assert first
    with open(big, "r+b") as fh:  # rewrite in place: same inode, new mtime
        fh.write(b"X" * 100)
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        while resp.read(MIB):
            pass
    conn.close()
    served.wait_until(lambda: any(r["outcome"] == "failed" for r in served.downloads()))


def test_checksum_of_a_directory_is_the_sha256_of_the_archive_served(pasla, tree):
    served = pasla(tree, 5, "--checksum")
    resp, body = served.request()
    assert served.info["file_sha256"] == hashlib.sha256(body).hexdigest()
    assert resp.headers["Repr-Digest"].startswith("sha-256=:")


def test_directory_shares_skip_the_checksum_by_default_and_the_page_says_folder(pasla, tree):
    served = pasla(tree, 5)
    assert served.info["file_sha256"] is None
    resp, page = served.request(headers={"Accept": "text/html"})
    assert resp.status == 200 and b"folder" in page and b"not computed" in page
