"""The admin pages over real HTTP: the gate, login, and actions that reach the servers."""

import functools
import re
import socket
import time
from datetime import datetime

import pytest

from tests.admin_client import PASSWORD, AdminClient, login_attempt, make_admin_user
from tests.conftest import run_pasla, wait_until

OUTSIDER = "127.0.0.2"  # loopback too, but not the operator's address
# Headers that legitimately differ between two requests of one client.
VOLATILE = {"ratelimit-remaining", "ratelimit-reset", "date", "x-request-id"}


def answer(served, method, path, source, headers=None):
    resp, body = served.request(method, path, headers=headers, source=source)
    kept = sorted((k.lower(), v) for k, v in resp.getheaders() if k.lower() not in VOLATILE)
    # Error pages carry a fresh CSP nonce each time.
    body = re.sub(rb"nonce[-=\"']*[A-Za-z0-9_-]{16,}", b"NONCE", body)
    kept = [(k, re.sub(r"nonce-[A-Za-z0-9_-]+", "nonce-X", v)) for k, v in kept]
    return resp.status, kept, body


ADMIN_PATHS = [
    "/admin/",
    "/admin/login/",
    "/admin/login/?next=/admin/",
    "/admin/shares/share/",
    "/admin/static/admin/css/base.css",
    "/admin/static/admin/js/core.js",
    "/admin/jsi18n/",
    "/admin/logout/",
    "/admin/nonexistent/deeper/path",
    "/%61dmin/",  # percent-encoded: the server decodes it to /admin/
    "/admin/%2e%2e/admin/",
    "/admin/static/../login/",
]


@pytest.mark.parametrize("accept", [None, "text/html"])
def test_outsiders_get_exactly_an_unknown_paths_404(pasla, sample, accept):
    served = pasla(sample, 5)
    headers = {"Accept": accept} if accept else {}
    unknown = answer(served, "GET", "/no-such-page/x", OUTSIDER, headers)
    assert unknown[0] == 404
    for path in ADMIN_PATHS:
        assert answer(served, "GET", path, OUTSIDER, headers) == unknown, path
    # Forwarding headers are not read without --trust-proxy.
    spoofed = {**headers, "X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}
    assert answer(served, "GET", "/admin/", OUTSIDER, spoofed) == unknown
    # Other methods get what other methods get on an unknown path.
    post_unknown = answer(served, "POST", "/no-such-page/x", OUTSIDER, headers)
    assert post_unknown[0] == 405
    assert answer(served, "POST", "/admin/login/", OUTSIDER, headers) == post_unknown
    # Variants that are not the admin path are unknown paths for everyone.
    for path in ("//admin/", "/ADMIN/", "/admin", "/./admin/"):
        assert served.request("GET", path)[0].status == 404, path


def test_the_operator_reaches_the_admin_and_its_static_files(pasla, sample):
    served = pasla(sample, 5)
    resp, _ = served.request("GET", "/admin/")
    assert resp.status == 302 and resp.getheader("Location") == "/admin/login/?next=/admin/"
    resp, body = served.request("GET", "/admin/static/admin/css/base.css")
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/css" and b"body" in body
    for path in ("/admin/static/../../settings.py", "/admin/static/admin/../../__init__.py"):
        assert served.request("GET", path)[0].status == 404
    # Downloads never see the admin's cookies or CSRF machinery.
    resp, _ = served.request()
    assert resp.getheader("Set-Cookie") is None and resp.getheader("Vary") == "Accept"


def test_admin_allow_lets_a_listed_network_in(pasla, sample):
    served = pasla(sample, 5, env={"PASLA_ADMIN_ALLOW": "127.0.0.2/32"})
    assert served.request("GET", "/admin/", source=OUTSIDER)[0].status == 302
    assert served.request("GET", "/admin/", source="127.0.0.3")[0].status == 404


def test_trust_proxy_needs_both_the_proxy_and_the_client_inside(pasla, sample):
    served = pasla(sample, 5, "--trust-proxy")
    # Our own proxy on loopback forwarding an outside client: not the operator.
    resp, _ = served.request("GET", "/admin/", headers={"X-Forwarded-For": "203.0.113.5"})
    assert resp.status == 404
    resp, _ = served.request("GET", "/admin/", headers={"X-Forwarded-For": "127.0.0.1"})
    assert resp.status == 302


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PASLA_ADMIN_ALLOW", "10.0.0.0/33"),
        ("PASLA_ADMIN_ALLOW", ",".join(["10.0.0.0/8"] * 65)),
        ("PASLA_ADMIN_PATH", "../x"),
    ],
)
def test_bad_admin_settings_exit_1_with_one_line(data_dir, sample, name, value):
    result = run_pasla([sample, "--dry-run"], data_dir, env={name: value})
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and name in result.stderr


def test_admin_revoke_makes_the_link_410_within_a_second(pasla, sample, data_dir, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (64 << 20))
    host = pasla(sample, 5)
    target = pasla(big, 5)
    make_admin_user(data_dir)
    client = AdminClient(host)
    client.login()
    # A download in flight keeps the revoked server up (it drains), so the
    # link itself can be asked again on a connection opened before.
    downloading = socket.create_connection(("127.0.0.1", target.port), timeout=20)
    downloading.sendall(f"GET {target.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    received = len(downloading.recv(65536))
    keepalive = target.connection()
    keepalive.request("HEAD", target.path)
    first = keepalive.getresponse()
    first.read()
    assert first.status == 200

    status, page = client.action("share", "revoke_shares", [target.info["id"]])
    revoked_at = time.monotonic()
    assert status == 200 and "Revoked 1 share(s)." in page
    keepalive.request("GET", target.path)
    resp = keepalive.getresponse()
    resp.read()
    assert resp.status == 410 and time.monotonic() - revoked_at < 1
    while chunk := downloading.recv(1 << 20):
        received += len(chunk)
        if received > 64 << 20:
            break
    downloading.close()
    assert received > 64 << 20  # the running download finished
    assert target.wait(timeout=5) == 0  # the server noticed and exited cleanly
    assert target.share_row()["state"] == "revoked"
    assert host.proc.poll() is None  # the admin's own server goes on


def test_admin_lists_shares_with_live_counts_and_history(pasla, sample, data_dir):
    served = pasla(sample, 5, 3)
    served.request()
    make_admin_user(data_dir)
    client = AdminClient(served)
    client.login()
    status, _, page = client.open("shares/share/")
    assert status == 200
    assert served.info["id"] in page and "1/3" in page and "3.0 MiB" in page
    assert served.token not in page
    status, _, page = client.open(f"shares/share/{served.info['id']}/change/")
    assert status == 200 and "127.0.0.1" in page and "complete" in page
    status, _, page = client.open("shares/download/?outcome__exact=complete")
    assert status == 200 and "127.0.0.1" in page
    status, _, page = client.open("shares/share/?q=sample&state__exact=live")
    assert status == 200 and served.info["id"] in page
    assert client.open("shares/slot/")[0] == 200


def test_admin_extend_and_raise_the_cap(pasla, sample, data_dir):
    served = pasla(sample, 5, 2)
    make_admin_user(data_dir)
    client = AdminClient(served)
    client.login()
    before = datetime.fromisoformat(served.share_row()["expires_at"])
    status, page = client.action("share", "extend_shares", [served.info["id"]], amount=10)
    assert status == 200 and "10 more minute(s)" in page
    after = datetime.fromisoformat(served.share_row()["expires_at"])
    assert (after - before).total_seconds() == 600
    status, page = client.action("share", "add_downloads", [served.info["id"]], amount=3)
    assert status == 200 and "cap raised to 5" in page
    assert served.share_row()["max_downloads"] == 5
    # Without N the action explains itself and changes nothing.
    status, page = client.action("share", "extend_shares", [served.info["id"]])
    assert "Give N" in page
    assert datetime.fromisoformat(served.share_row()["expires_at"]) == after


def test_admin_unban_lets_the_client_download_again(pasla, sample, data_dir):
    served = pasla(sample, 5, env={"PASLA_BAN_THRESHOLD": "2"})
    guesser = "127.0.0.3"
    for _ in range(2):
        assert served.request("GET", "/" + "A" * 22 + "/sample.bin", source=guesser)[0].status == 404
    assert served.request(source=guesser)[0].status == 403
    [(ban_id,)] = served.query("select id from shares_ban")
    make_admin_user(data_dir)
    client = AdminClient(served)
    client.login()
    status, page = client.action("ban", "unban", [ban_id])
    assert status == 200 and "Unbanned 1 address(es)." in page
    resp, body = served.request(source=guesser)
    assert resp.status == 200 and len(body) == sample.stat().st_size
    assert served.query("select count(*) from shares_ban") == [(0,)]


def test_admin_login_and_extend_over_https(pasla, sample, data_dir):
    served = pasla(sample, 5, "--https")
    make_admin_user(data_dir)
    client = AdminClient(served)
    client.login()
    status, page = client.action("share", "extend_shares", [served.info["id"]], amount=10)
    assert status == 200 and "10 more minute(s)" in page
    # The ephemeral certificate ends an hour after the share: no further.
    status, page = client.action("share", "extend_shares", [served.info["id"]], amount=120)
    assert "cannot live past" in page


def test_the_admin_marks_a_share_whose_server_died(pasla, sample, data_dir):
    host = pasla(sample, 5)
    victim = pasla(sample, 5, "--https")
    tls = data_dir / "tls" / victim.info["id"]
    assert tls.is_dir()
    victim.proc.kill()
    victim.wait()
    make_admin_user(data_dir)
    client = AdminClient(host)
    client.login()
    status, _, page = client.open("shares/share/?state__exact=dead")
    assert status == 200 and victim.info["id"] in page and host.info["id"] not in page
    assert victim.share_row()["state"] == "dead"
    assert not tls.exists()


@pytest.mark.parametrize("prefix", ["", "/files"])
def test_admin_login_guessing_is_cut_off_per_address(pasla, sample, data_dir, prefix):
    env = {"PASLA_ADMIN_ALLOW": "127.0.0.2/32", "PASLA_ADMIN_LOGIN_ATTEMPTS": "3", "PASLA_URL_PREFIX": prefix}
    served = pasla(sample, 5, env=env)
    make_admin_user(data_dir)
    guesser = OUTSIDER  # inside PASLA_ADMIN_ALLOW here
    attempt = functools.partial(login_attempt, prefix=prefix)
    for guess in ("password", "123456", "letmein"):
        status, _, body = attempt(served, guesser, guess)
        assert status == 200 and b"correct username and password" in body
    # Past the limit even the right password is refused, unread.
    status, resp, body = attempt(served, guesser, PASSWORD)
    assert status == 429 and int(resp.getheader("Retry-After")) >= 1
    assert b"sessionid" not in (resp.getheader("Set-Cookie") or "").encode()
    assert attempt(served, guesser, "qwerty")[0] == 429
    # Another address is not held to the guesser's count...
    assert attempt(served, "127.0.0.1", PASSWORD)[0] == 302
    # ...and logging in does not use up an address's attempts.
    for _ in range(4):
        assert attempt(served, "127.0.0.1", PASSWORD)[0] == 302
    assert attempt(served, "127.0.0.1", "wrong")[0] == 200


def test_admin_login_attempts_setting_is_bounded(data_dir, sample):
    result = run_pasla([str(sample), "5"], data_dir, env={"PASLA_ADMIN_LOGIN_ATTEMPTS": "0"})
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("PASLA_ADMIN_LOGIN_ATTEMPTS must be a whole number above 0, got '0'")
    )


def test_refused_attempts_do_not_extend_the_lockout(pasla, sample, data_dir):
    env = {
        "PASLA_ADMIN_ALLOW": "127.0.0.2/32",
        "PASLA_ADMIN_LOGIN_ATTEMPTS": "2",
        "PASLA_ADMIN_LOGIN_WINDOW": "8",
    }
    served = pasla(sample, 5, env=env)
    make_admin_user(data_dir)
    # Windows are aligned to the epoch: start at the beginning of one, so
    # that all three attempts below fall in it even on a slow machine.
    wait_until(lambda: time.time() % 8 < 0.5, timeout=10, interval=0.02)
    for guess in ("password", "123456"):
        assert login_attempt(served, OUTSIDER, guess)[0] == 200
    status, resp, _ = login_attempt(served, OUTSIDER, "letmein")
    locked_at = time.monotonic()  # after the server's answer, so never early
    assert status == 429
    retry_after = int(resp.getheader("Retry-After"))
    assert retry_after >= 3  # at least half the window: room for the attempts below
    # The guesser keeps trying while locked out: each refusal says no later time.
    waits = [retry_after]
    for _ in range(5):
        time.sleep(0.3)
        status, resp, _ = login_attempt(served, OUTSIDER, "qwerty")
        assert status == 429
        waits.append(int(resp.getheader("Retry-After")))
    assert waits == sorted(waits, reverse=True), waits
    # The first Retry-After was the truth: then the right password works.
    time.sleep(max(0.0, locked_at + retry_after - time.monotonic()))
    assert login_attempt(served, OUTSIDER, PASSWORD)[0] == 302


def test_a_failed_csrf_check_is_no_login_attempt(pasla, sample, data_dir):
    served = pasla(sample, 5, env={"PASLA_ADMIN_LOGIN_ATTEMPTS": "2"})
    make_admin_user(data_dir)
    form = "csrfmiddlewaretoken=forged&username=boss&password=guess&next=/admin/"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "csrftoken=" + "x" * 32}
    statuses = [
        served.request("POST", "/admin/login/", headers=headers, body=form)[0].status for _ in range(4)
    ]
    assert statuses == [403] * 4
    # Nothing was used up: both attempts remain, and the password still works.
    assert login_attempt(served, "127.0.0.1", "wrong")[0] == 200
    assert login_attempt(served, "127.0.0.1", PASSWORD)[0] == 302


def test_the_login_count_holds_across_servers(pasla, sample, data_dir):
    env = {"PASLA_ADMIN_ALLOW": "127.0.0.2/32", "PASLA_ADMIN_LOGIN_ATTEMPTS": "3"}
    first = pasla(sample, 5, env=env)
    second = pasla(sample, 5, env=env)
    make_admin_user(data_dir)
    for guess in ("password", "123456", "letmein"):
        assert login_attempt(first, OUTSIDER, guess)[0] == 200
    # Another one-share server on the same data directory: no fresh budget.
    status, resp, _ = login_attempt(second, OUTSIDER, "qwerty")
    assert status == 429 and int(resp.getheader("Retry-After")) >= 1


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_admin_cookies_are_secure_over_https_and_last_12_hours(pasla, sample, data_dir, scheme):
    served = pasla(sample, 5, *(["--https"] if scheme == "https" else []))
    make_admin_user(data_dir)
    client = AdminClient(served)
    client.login()
    cookies = {cookie.name: cookie for cookie in client.jar}
    assert set(cookies) == {"csrftoken", "sessionid"}
    assert {name: c.secure for name, c in cookies.items()} == {
        "csrftoken": scheme == "https",
        "sessionid": scheme == "https",
    }
    assert abs(cookies["sessionid"].expires - (time.time() + 12 * 3600)) < 60
    # The session works on the next page (the jar sent it back).
    assert client.open("shares/share/")[0] == 200
