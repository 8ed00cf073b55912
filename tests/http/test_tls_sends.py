"""File bodies over TLS: the server's own sender against the read loop.

Two HTTPS servers share one file: one as shipped (TLSFileSender encrypts
large pieces straight from the file), one with PASLA_ZERO_COPY=0 (the read
loop through Twisted's TLS layer). Every full and ranged GET must return
the file's exact bytes on both, and a download cut mid-way over TLS must be
recorded with what actually left.
"""

import hashlib
import http.client
import os
import socket
import struct
import time

import pytest

from tests.http.test_zero_copy import RANGES, SEGMENT

DEBUG = {"PASLA_LOG_LEVEL": "DEBUG"}
INLINE = 64 << 10  # shares.decision.INLINE_BODY_LIMIT: smaller ranges go out with the answer
SENDER_LINE = "goes out by TLSFileSender"


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "payload.bin"
    path.write_bytes(os.urandom(2 * SEGMENT + 777_777))
    return path


@pytest.fixture
def tls_pair(pasla, payload, tmp_path):
    """(TLS sender server, TLS read-loop server) for the same file, unlimited downloads."""
    (tmp_path / "data2").mkdir(mode=0o700)
    fast = pasla(payload, 5, 0, "--https", env=DEBUG)
    slow = pasla(payload, 5, 0, "--https", env={**DEBUG, "PASLA_ZERO_COPY": "0"}, data=tmp_path / "data2")
    return fast, slow


def expected(data: bytes, resp) -> bytes:
    content_range = resp.getheader("Content-Range")
    if content_range is None:
        return data
    first, last = (int(x) for x in content_range.split(" ")[1].split("/")[0].split("-"))
    return data[first : last + 1]


@pytest.mark.parametrize("header", RANGES)
def test_tls_sender_and_read_loop_send_the_files_bytes(tls_pair, payload, header):
    data = payload.read_bytes()
    headers = {"Range": header} if header else {}
    for served in tls_pair:
        resp, body = served.https_request(headers=headers)
        assert resp.status == (200 if header is None else 206)
        assert len(body) == int(resp.getheader("Content-Length"))
        assert body == expected(data, resp), served.info["url"]
    fast, slow = tls_pair
    if len(body) > INLINE:
        assert fast.wait_until(lambda: SENDER_LINE in fast.stderr())
    assert SENDER_LINE not in slow.stderr()


def test_one_tls_connection_carries_several_sent_bodies_in_order(tls_pair, payload):
    """The TLS stream stays whole across responses: headers, sender pieces and
    the next response's headers reach the client in the order they were encrypted."""
    data = payload.read_bytes()
    fast, _ = tls_pair
    conn = http.client.HTTPSConnection("127.0.0.1", fast.port, timeout=30, context=fast.tls_context())
    try:
        for header in ("bytes=1000-5000000", None, "bytes=-3000000", "bytes=0-0", f"bytes={SEGMENT}-"):
            conn.request("GET", fast.path, headers={"Range": header} if header else {})
            resp = conn.getresponse()
            body = resp.read()
            assert body == expected(data, resp)
    finally:
        conn.close()
    assert SENDER_LINE in fast.stderr()
    assert len(fast.downloads()) == 5


def test_parallel_tls_downloads_each_get_the_whole_file(tls_pair, payload):
    from tests.parallel import in_parallel

    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    fast, _ = tls_pair
    fast.tls_context()

    def fetch():
        resp, body = fast.https_request()
        return resp.status, hashlib.sha256(body).hexdigest()

    assert in_parallel(fetch, [()] * 4, timeout=60) == [(200, digest)] * 4


def test_a_directory_archive_over_tls_is_the_same_archive(pasla, tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.bin").write_bytes(os.urandom(3 << 20))
    (tree / "b.txt").write_bytes(b"hello\n" * 1000)
    (tmp_path / "data2").mkdir(mode=0o700)
    plain = pasla(tree, 5, 0)
    tls = pasla(tree, 5, 0, "--https", data=tmp_path / "data2")
    plain_resp, plain_body = plain.request()
    tls_resp, tls_body = tls.https_request()
    assert plain_resp.status == tls_resp.status == 200
    assert len(tls_body) == int(tls_resp.getheader("Content-Length"))
    assert hashlib.sha256(tls_body).digest() == hashlib.sha256(plain_body).digest()


def read_then_reset_tls(served, count: int) -> int:
    """GET over TLS, read `count` body bytes, then reset the connection; returns bytes read."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
    raw.settimeout(20)
    raw.connect(("127.0.0.1", served.port))
    tls = served.tls_context().wrap_socket(raw, server_hostname="127.0.0.1")
    tls.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += tls.recv(65536)
    got = len(head.partition(b"\r\n\r\n")[2])
    while got < count:
        got += len(tls.recv(min(65536, count - got)))
    time.sleep(0.5)  # let the server fill every buffer on the way: that is the slack
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()
    return got


@pytest.mark.parametrize("zero_copy", ["1", "0"], ids=["tls-sender", "read-loop"])
def test_a_cut_tls_download_records_what_left(pasla, tmp_path, zero_copy):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(64 << 20))
    served = pasla(big, 5, 0, "--https", env={"PASLA_ZERO_COPY": zero_copy})
    got = read_then_reset_tls(served, 3 << 20)
    row = served.wait_until(lambda: [r for r in served.downloads() if r["outcome"] != "in_progress"])[0]
    assert row["outcome"] == "aborted"
    # What left is what the client read plus what sat in the socket buffers
    # (and, for the read loop, one chunk), never the whole file.
    assert got <= row["bytes_sent"] <= got + (12 << 20), (got, row["bytes_sent"])
    assert served.wait_until(lambda: served.share_row()["bytes_served"] == row["bytes_sent"])
