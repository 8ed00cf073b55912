"""Zero-copy sends (os.sendfile on plain TCP) against the read loop.

Two servers share one file: one as shipped, one with PASLA_ZERO_COPY=0.
Both must answer every full and ranged GET with the same bytes, and a
download cut mid-way by sendfile must be recorded with what actually left.
"""

import os
import socket
import struct
import time

import pytest

SEGMENT = 4 << 20  # shares.download.streaming.SEGMENT: ranges below straddle its edges
DEBUG = {"PASLA_LOG_LEVEL": "DEBUG"}


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "payload.bin"
    path.write_bytes(os.urandom(2 * SEGMENT + 777_777))
    return path


@pytest.fixture
def pair(pasla, payload):
    """(zero-copy server, read-loop server) for the same file, unlimited downloads."""
    fast = pasla(payload, 5, 0, env=DEBUG)
    slow = pasla(payload, 5, 0, env={**DEBUG, "PASLA_ZERO_COPY": "0"}, data=fast.data_dir.parent / "data2")
    return fast, slow


@pytest.fixture(autouse=True)
def _second_data_dir(tmp_path):
    (tmp_path / "data2").mkdir(mode=0o700)


RANGES = [
    None,
    "bytes=0-0",
    "bytes=0-1048575",
    f"bytes={SEGMENT - 10}-{SEGMENT + 10}",
    f"bytes={SEGMENT}-",
    f"bytes=1-{2 * SEGMENT}",
    "bytes=-1",
    "bytes=-5000000",
    f"bytes={2 * SEGMENT + 777_776}-",
]


@pytest.mark.parametrize("header", RANGES)
def test_sendfile_and_read_loop_send_the_same_bytes(pair, payload, header):
    data = payload.read_bytes()
    headers = {"Range": header} if header else {}
    answers = []
    for served in pair:
        resp, body = served.request(headers=headers)
        answers.append((resp.status, resp.getheader("Content-Range"), resp.getheader("Content-Length"), body))
    assert answers[0] == answers[1]
    status, content_range, _, body = answers[0]
    if header is None:
        assert status == 200 and body == data
    else:
        assert status == 206
        first, last = (int(x) for x in content_range.split(" ")[1].split("/")[0].split("-"))
        assert body == data[first : last + 1]


def test_only_plain_http_file_downloads_use_sendfile(pair, pasla, payload, tmp_path):
    fast, slow = pair
    (tmp_path / "data3").mkdir(mode=0o700)
    tls = pasla(payload, 5, 0, "--https", env=DEBUG, data=tmp_path / "data3")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.bin").write_bytes(b"x" * 100_000)
    (tmp_path / "data4").mkdir(mode=0o700)
    archive = pasla(tree, 5, 0, env=DEBUG, data=tmp_path / "data4")
    data = payload.read_bytes()
    for served in (fast, slow, tls, archive):
        resp, body = served.fetch()
        assert resp.status == 200
        if served is not archive:
            assert body == data
    line = "goes out by FileSender"
    assert fast.wait_until(lambda: line in fast.stderr())
    for served in (slow, tls, archive):
        assert line not in served.stderr()


def test_keep_alive_continues_after_a_sendfile_body(pair, payload):
    fast, _ = pair
    conn = fast.connection()
    try:
        for header in ("bytes=0-99", None, "bytes=-100"):
            conn.request("GET", fast.path, headers={"Range": header} if header else {})
            resp = conn.getresponse()
            body = resp.read()
            assert len(body) == int(resp.getheader("Content-Length"))
    finally:
        conn.close()
    assert len(fast.downloads()) == 3


def read_then_reset(served, count: int, rcvbuf: int = 256 * 1024) -> int:
    """GET, read `count` body bytes, then reset the connection; returns bytes read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(20)
    sock.connect(("127.0.0.1", served.port))
    sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    got = len(raw.partition(b"\r\n\r\n")[2])
    while got < count:
        got += len(sock.recv(min(65536, count - got)))
    time.sleep(0.5)  # let the server fill every buffer on the way: that is the slack
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    return got


def test_a_cut_sendfile_download_records_what_left(pasla, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(64 << 20))
    served = pasla(big, 5, 0)
    got = read_then_reset(served, 3 << 20)
    row = served.wait_until(lambda: [r for r in served.downloads() if r["outcome"] != "in_progress"])[0]
    assert row["outcome"] == "aborted"
    # What left the server is what the client read plus what sat in the two
    # socket buffers when it reset (a few MiB on loopback), never the range.
    assert got <= row["bytes_sent"] <= got + (12 << 20), (got, row["bytes_sent"])
    assert row["bytes_sent"] < big.stat().st_size
    assert served.wait_until(lambda: served.share_row()["bytes_served"] == row["bytes_sent"])


def test_progress_of_a_running_download_reaches_the_database(pasla, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(64 << 20))
    served = pasla(big, 5, 0)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
    sock.connect(("127.0.0.1", served.port))
    sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    sock.recv(65536)
    try:
        # The client holds the transfer open; within about a second the
        # history row shows bytes sent while it is still in progress.
        row = served.wait_until(
            lambda: [r for r in served.downloads() if r["outcome"] == "in_progress" and r["bytes_sent"] > 0],
            timeout=5,
        )[0]
        assert 0 < row["bytes_sent"] < big.stat().st_size
    finally:
        sock.close()
