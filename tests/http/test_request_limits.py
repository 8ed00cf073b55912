"""Request heads and bodies judged below Django, on a real server and real sockets."""

import time

import pytest

from bench.attackers import BigPost
from shares.server.request_limits import ADMIN_BODY_MAX, FORM_BODY_MAX

GB_15 = 1_500_000_000


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def exchange(served, payload: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes, return everything the server says before it closes."""
    with served.raw_socket(timeout=timeout) as sock:
        sock.sendall(payload)
        reply = b""
        try:
            while data := sock.recv(65536):
                reply += data
        except ConnectionResetError:
            pass
        return reply


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_body_is_refused_before_it_is_read(pasla, sample, chunked):
    served = pasla(sample, 1)
    before = rss_bytes(served.proc.pid)
    with BigPost(served.port, served.path, GB_15, chunked=chunked, seconds=3) as post:
        time.sleep(0.5)
        # Another client is served meanwhile.
        resp, body = served.request("GET", headers={"Range": "bytes=0-99"})
        assert resp.status == 206 and body == sample.read_bytes()[:100]
    assert post.status == 413, post.answer[:200]
    assert post.answer_after < 1.0
    head = post.answer.partition(b"\r\n\r\n")[0].lower()
    assert b"connection: close" in head and b"100 continue" not in post.answer.lower()
    # The server read nothing: what the client pushed is what kernel buffers hold.
    assert post.sent < 32 << 20, post.sent
    assert rss_bytes(served.proc.pid) - before < 32 << 20
    # A refused body is no download (the one row is the ranged GET) and no strike.
    assert len(served.downloads()) == 1
    resp, _ = served.request("HEAD")
    assert resp.status == 200


def test_expect_100_continue_gets_the_refusal_not_a_continue(pasla, sample):
    served = pasla(sample, 1)
    head = b"PUT %s HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
    reply = exchange(served, head % (served.path.encode(), GB_15))
    assert reply.startswith(b"HTTP/1.1 413 Content Too Large\r\n"), reply[:100]
    assert b"100 Continue" not in reply


def test_a_small_form_body_reaches_the_application(pasla, sample):
    """The landing page's Download button posts a ticket: a small body passes,
    one byte over the cap does not."""
    served = pasla(sample, 1)
    form = b"ticket=" + b"a" * (FORM_BODY_MAX - len(b"ticket="))
    resp, _ = served.request("POST", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status != 413
    resp, _ = served.request(
        "POST", body=form + b"a", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 413 and resp.getheader("Connection") == "close"


def test_admin_bodies_are_capped(pasla, sample):
    served = pasla(sample, 1)
    login = "/admin/login/"
    resp, _ = served.request("POST", login, body=b"a" * ADMIN_BODY_MAX)
    assert resp.status == 403  # Django's CSRF check: the body was accepted and read
    resp, _ = served.request("POST", login, body=b"a" * (ADMIN_BODY_MAX + 1))
    assert resp.status == 413
    chunk = b"a" * 4096
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(ADMIN_BODY_MAX // 4096 + 2))
    head = b"POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" % login.encode()
    reply = exchange(served, head + chunks + b"0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:100]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        pytest.param(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, id="long-url"),
        pytest.param(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", 431, id="long-header"),
        pytest.param(
            b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (n, b"a" * 1000) for n in range(20)) + b"\r\n",
            431,
            id="many-headers",
        ),
        pytest.param(b"get / HTTP/1.1\r\nHost: x\r\n\r\n", 400, id="lower-case-method"),
    ],
)
def test_bad_heads_get_a_status_not_a_silent_close(pasla, sample, payload, status):
    served = pasla(sample, 1)
    reply = exchange(served, payload.replace(b"GET /", b"GET " + served.path.encode(), 1))
    assert reply.split(b"\r\n", 1)[0].startswith(b"HTTP/1.1 %d " % status), reply[:100]
    assert b"connection: close" in reply.lower()


def test_a_lower_case_get_is_not_served_the_file(pasla, sample):
    served = pasla(sample, 1)
    reply = exchange(served, b"get %s HTTP/1.1\r\nHost: x\r\n\r\n" % served.path.encode())
    assert reply.startswith(b"HTTP/1.1 400 ") and sample.read_bytes()[:64] not in reply
    assert served.downloads() == []


def test_status_lines_carry_their_reason_phrases(pasla, sample):
    served = pasla(sample, 3, env={"PASLA_RATE_LIMIT_MAX_REQUESTS": "2"})
    path = served.path.encode()

    def status_line(request: bytes) -> bytes:
        return exchange(served, request).split(b"\r\n", 1)[0]

    ranged = b"GET %s HTTP/1.1\r\nHost: x\r\nRange: bytes=999999999-\r\nConnection: close\r\n\r\n" % path
    assert status_line(ranged) == b"HTTP/1.1 416 Range Not Satisfiable"
    too_big = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n" % path
    assert status_line(too_big) == b"HTTP/1.1 413 Content Too Large"
    guess = b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    lines = [status_line(guess) for _ in range(3)]
    assert lines[-1] == b"HTTP/1.1 429 Too Many Requests", lines
