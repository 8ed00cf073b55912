"""The served file is pinned at start; a changed file is never served."""

import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import time

import pytest

from tests.sockets import get_while_rewritten


def replaced(path):
    fresh = path.with_name("fresh.tmp")
    shutil.copyfile(path, fresh)
    os.replace(fresh, path)  # same name and bytes, another inode


def truncated(path):
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)


def grown(path):
    with open(path, "ab") as fh:
        fh.write(b"more")


def deleted(path):
    path.unlink()


def symlink_swapped_in(path):
    copy = path.with_name("copy.bin")
    shutil.copyfile(path, copy)
    path.unlink()
    path.symlink_to(copy)


def touched(path):
    later = time.time() + 5
    os.utime(path, (later, later))


@pytest.mark.parametrize("change", [replaced, truncated, grown, symlink_swapped_in, touched])
def test_a_changed_file_is_never_served(pasla, sample, change):
    served = pasla(sample, 1)
    assert served.request("HEAD")[0].status == 200
    change(sample)
    resp, body = served.request("GET")
    assert resp.status == 500
    assert json.loads(body) == {"error": "server_error", "message": "The file cannot be served right now."}
    assert str(sample.parent).encode() not in body
    resp, body = served.request("GET", headers={"Accept": "text/html"})
    assert resp.status == 500 and b"<html" in body and str(sample).encode() not in body
    assert resp.headers.get("Server") is None
    assert served.share_row()["slots_used"] == 0  # nothing was claimed for it
    log = served.stderr()
    assert "refusing to serve" in log
    assert str(sample.parent) not in log
    assert "Traceback" not in log


@pytest.mark.parametrize("accept", ["*/*", "text/html"])
def test_a_deleted_file_ends_the_share(pasla, sample, accept):
    served = pasla(sample, 5)
    deleted(sample)
    resp, body = served.request("GET", headers={"Accept": accept})
    assert resp.status == 410, (resp.status, body)
    assert b"no longer there" in body and str(sample.parent).encode() not in body
    assert served.wait(timeout=15) == 0  # its one share has ended: the server exits
    assert served.share_row()["state"] == "gone"
    log = served.stderr()
    assert "ended: file gone" in log and str(sample.parent) not in log and "Traceback" not in log


def test_a_file_that_shrinks_mid_transfer_is_broken_off(pasla, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(16 << 20))
    served = pasla(big, 1, "--no-checksum", env={"PASLA_CHUNK_SIZE": "65536"})
    conn = served.connection()
    conn.connect()
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # keep the server from racing ahead
    conn.request("GET", served.path)
    resp = conn.getresponse()
    assert resp.status == 200
    first = resp.read(65536)
    truncated(big)
    with pytest.raises((ConnectionError, http.client.IncompleteRead)):
        rest = resp.read()
        # A clean-looking end short of Content-Length also counts as broken.
        if len(first) + len(rest) < 16 << 20:
            raise ConnectionError("short body")
    served.wait_until(lambda: served.downloads()[0]["outcome"] == "failed")
    assert str(tmp_path) not in served.stderr()


@pytest.mark.parametrize("size", [100 << 10, 3 << 20, (4 << 20) + 5])
def test_a_file_rewritten_during_the_send_never_arrives_as_a_complete_response(pasla, tmp_path, size):
    """Same size, new bytes, written in place while the (single or last)
    zero-copy segment is on its way to a slow reader."""
    path = tmp_path / "rewritten.bin"
    path.write_bytes(os.urandom(size))
    served = pasla(path, 1)
    status, headers, body = get_while_rewritten(served, path, size, read_first=32 << 10)
    assert status.startswith(b"HTTP/1.1 200")
    length = int(headers[b"Content-Length"])
    digest = base64.b64decode(headers[b"Repr-Digest"].split(b"=:", 1)[1].rstrip(b":"))
    assert hashlib.sha256(body).digest() != digest  # what arrived is not the file that was described
    assert len(body) < length, "a mixed body arrived as a complete response"
    served.wait_until(lambda: served.downloads()[0]["outcome"] == "failed")
    assert "download 1 broken off: file changed during transfer" in served.stderr()
