"""pasla's ASGI application under stock daphne, without pasla's server.

pasla's server offers two extensions the application uses when offered:
zero-copy sends and a direct "client left" notice (shares/handling/client_gone.py).
Under any other ASGI server the application must fall back to the read
loop and to Django's own `http.disconnect` listening, and still deliver the
same bytes and the same history: a cut download recorded as aborted.
"""

import json
import socket
import sqlite3
import struct
import subprocess
import urllib.parse

import pytest

from tests.conftest import (
    PYTHON,
    ROOT,
    base_env,
    free_port,
    port_open,
    raw_connect,
    run_pasla,
    wait_for_value,
    wait_until,
)


@pytest.fixture
def stock_daphne(data_dir, tmp_path):
    port = free_port()
    log = tmp_path / "daphne.err"
    proc = subprocess.Popen(
        [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "pasla_site.asgi:application"],
        cwd=ROOT,
        env=base_env(data_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),  # noqa: SIM115
    )
    wait_until(lambda: port_open(port, proc, log), 30)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def share_path(data_dir, path) -> str:
    done = run_pasla(["share", path, "5", "--no-checksum", "--json"], data_dir)
    assert done.returncode == 0, done.stderr
    return urllib.parse.urlsplit(json.loads(done.stdout)["url"]).path


def history(data_dir):
    with sqlite3.connect(f"file:{data_dir / 'pasla.sqlite3'}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute("select status, outcome, bytes_sent from shares_download order by id").fetchall()


def raw_get(port, path, headers=""):
    sock = raw_connect(port, timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n".encode())
    return sock


def read_all(sock) -> bytes:
    data = b""
    while chunk := sock.recv(1 << 20):
        data += chunk
    sock.close()
    return data.partition(b"\r\n\r\n")[2]


def test_whole_and_ranged_bodies_are_the_files_bytes(stock_daphne, data_dir, sample):
    path = share_path(data_dir, sample)
    data = sample.read_bytes()
    assert read_all(raw_get(stock_daphne, path)) == data
    assert read_all(raw_get(stock_daphne, path, "Range: bytes=1000-1999\r\n")) == data[1000:2000]
    wait_for_value(lambda: [row[:2] for row in history(data_dir)], [(200, "complete"), (206, "complete")])


def test_a_cut_download_is_recorded_as_aborted(stock_daphne, data_dir, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(256 << 20)
    path = share_path(data_dir, big)
    sock = raw_get(stock_daphne, path)
    got = 0
    while got < (4 << 20):
        got += len(sock.recv(1 << 20))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    wait_until(lambda: (rows := history(data_dir)) and rows[0][1] != "in_progress", timeout=15)
    ((status, outcome, sent),) = history(data_dir)
    assert (status, outcome) == (200, "aborted")
    assert 0 < sent < (256 << 20)
