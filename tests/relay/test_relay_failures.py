"""What happens when something goes away, or someone tries what they should not, at a relay."""

import hashlib
import json
import secrets
import signal
import socket
import struct
import time

from tests.conftest import run_pasla, wait_until
from tests.relay.conftest import sparse_file

MIB = 1 << 20


def listen(relay, key: str, digest: str, hold: bool = False):
    """A raw sender listen; returns (status, socket)."""
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
    head = (
        f"POST /_relay/listen HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer {key}\r\n"
        f"Pasla-Routes: {digest} {int(time.time()) + 600}\r\nContent-Length: 0\r\n\r\n"
    )
    sock.sendall(head.encode())
    first = b""
    while b"\r\n" not in first:
        data = sock.recv(4096)
        if not data:
            break
        first += data
    status = int(first.split(b" ", 2)[1]) if first else 0
    if not hold:
        sock.close()
    return status, sock


def start_body(served, source="127.0.0.1", rcvbuf=256 * 1024) -> socket.socket:
    """A GET through the relay whose body is read no further than its first bytes."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", served.port))
    sock.settimeout(10)
    sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: relay\r\n\r\n".encode())
    got = b""
    while b"\r\n\r\n" not in got:
        got += sock.recv(65536)
    assert got.startswith(b"HTTP/1.1 200"), got[:100]
    return sock


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_wrong_key_is_refused_and_the_relay_keeps_no_key(relay, data_dir, sample):
    key = relay.add_sender("alice")
    wrong = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    done = run_pasla(
        [sample, "5", "--via", relay.base, "--json", "-p", "0"], data_dir, env={"PASLA_VIA_KEY": wrong}
    )
    assert done.returncode == 1 and "refused the sender key" in done.stderr
    assert done.stdout == ""  # no URL was ever printed
    assert listen(relay, wrong, "a" * 64)[0] == 401
    assert listen(relay, "", "a" * 64)[0] == 401

    # Only the key's digest is stored: the database file never holds the key.
    assert relay.query("select name, key_digest from shares_relaysender") == [
        ("alice", hashlib.sha256(key.encode()).hexdigest())
    ]
    stored = b"".join(p.read_bytes() for p in relay.data_dir.glob("pasla.sqlite3*"))
    assert key.encode() not in stored and key[4:].encode() not in stored


def test_a_killed_recipient_is_aborted_at_the_sender_within_two_seconds(via, tmp_path):
    size = 256 * MIB
    served = via(sparse_file(tmp_path / "big.bin", size), 5)
    sock = start_body(served)
    for _ in range(16):
        sock.recv(65536)
    wait_until(lambda: served.downloads())
    killed = time.monotonic()
    reset(sock)
    wait_until(lambda: served.downloads()[0]["outcome"] == "aborted", timeout=2)
    assert time.monotonic() - killed < 2
    assert 0 < served.downloads()[0]["bytes_sent"] < size / 4


def test_a_killed_sender_gives_502_within_two_seconds_and_an_unknown_path_404(via, relay, sample):
    served = via(sample, 5)
    unknown = relay.request(path=f"/{secrets.token_urlsafe(16)}/{served.info['name']}")
    elsewhere = relay.request(path="/not/a/share/at/all")
    assert unknown[0].status == elsewhere[0].status == 404 and unknown[1] == elsewhere[1]

    served.proc.kill()
    killed = time.monotonic()
    status = None
    while time.monotonic() - killed < 2:
        resp, body = served.request()
        status = resp.status
        if status == 502:
            break
        time.sleep(0.05)
    assert status == 502 and time.monotonic() - killed < 2
    assert json.loads(body)["error"] == "sender_offline"
    page = served.request(headers={"Accept": "text/html"})[1]
    assert b"not connected right now" in page


def test_a_restarted_relay_has_the_share_back_under_its_url_within_ten_seconds(via, relay, relays, sample):
    served = via(sample, 5)
    assert served.request()[0].status == 200
    relay.stop()
    restarted = time.monotonic()
    relays(port=relay.port)
    wait_until(lambda: served.request()[0].status == 200, timeout=10, interval=0.2)
    assert time.monotonic() - restarted < 10
    assert served.request()[1] == sample.read_bytes()


def test_a_removed_sender_is_cut_off_at_once(via, relay, tmp_path):
    size = 4096 * MIB
    served = via(sparse_file(tmp_path / "big.bin", size), 5)
    sock = start_body(served)
    got = len(sock.recv(65536))
    done = run_pasla(["relay", "remove-sender", "s0"], relay.data_dir)
    assert done.returncode == 0, done.stderr
    removed = time.monotonic()
    sock.settimeout(5)
    # Read slowly, as a real recipient far away would: a spliced relay can
    # otherwise hand over the whole body before its next look at the senders.
    try:
        while piece := sock.recv(65536):
            got += len(piece)
            time.sleep(0.005)
    except ConnectionResetError:
        pass
    assert time.monotonic() - removed < 2
    assert got < size
    assert served.request()[0].status == 404
    assert relay.query("select count(*) from shares_relayroute") == [(0,)]


def test_a_sender_cannot_take_a_path_another_sender_registered(via, relay, sample):
    served = via(sample, 5)
    other = relay.add_sender("mallory")
    digest = hashlib.sha256(served.token.encode()).hexdigest()
    assert listen(relay, other, digest)[0] == 409
    assert served.request()[1] == sample.read_bytes()  # still answered by its owner


def test_a_senders_connections_are_capped(relays, data_dir):
    relay = relays(env={"PASLA_RELAY_SENDER_CONNECTIONS": "3"})
    key = relay.add_sender("bob")
    held = [listen(relay, key, "b" * 64, hold=True) for _ in range(3)]
    assert [status for status, _ in held] == [100, 100, 100]
    assert listen(relay, key, "b" * 64)[0] == 429
    for _, sock in held:
        sock.close()


def test_a_trickled_listen_head_is_cut_at_the_header_deadline(relays):
    relay = relays(env={"PASLA_HEADER_READ_TIMEOUT": "1"})
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
    sock.sendall(b"POST /_relay/listen HTTP/1.1\r\nHost: relay\r\n")
    started = time.monotonic()
    try:
        assert sock.recv(100) == b""
    except ConnectionResetError:
        pass
    assert time.monotonic() - started < 3


def test_a_stopped_share_is_404_at_the_relay(via, relay, sample):
    served = via(sample, 5)
    served.signal(signal.SIGTERM)
    assert served.wait(timeout=15) == 0
    assert served.request()[0].status == 404  # it told the relay it ended


def test_a_senders_bandwidth_is_capped_across_its_downloads(relays, via, sample):
    relay = relays(env={"PASLA_RELAY_SENDER_RATE": "1000000"})
    served = via(sample, 5, relay_=relay)
    started = time.monotonic()
    assert served.request()[1] == sample.read_bytes()
    # 3.1 MB at 1 MB/s with one second's worth of credit at the start.
    assert time.monotonic() - started > 1.8
