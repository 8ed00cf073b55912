"""Signed share rows: a row edited in the database behind pasla's back is refused.

The attacker here can write the SQLite database but not read SECRET_KEY
(it lives in the data directory's 0600 file, not in the database).
"""

import hashlib
import os
import sqlite3

import pytest

from tests.admin_client import AdminClient, make_admin_user


def tamper(served, sql: str, *params) -> None:
    with sqlite3.connect(served.data_dir / "pasla.sqlite3", timeout=10) as conn:
        conn.execute(sql, (*params, served.info["id"]))


def point_at(served, target) -> None:
    """Point the share at another file, identity and all, as a careful attacker would."""
    st = os.stat(target)
    tamper(
        served,
        "update shares_share set path = ?, size = ?, device = ?, inode = ?, mtime_ns = ? where id = ?",
        str(target),
        st.st_size,
        st.st_dev,
        st.st_ino,
        st.st_mtime_ns,
    )


def assert_refused_quietly(served, resp, body, secret_path) -> None:
    assert resp.status == 500
    assert str(secret_path).encode() not in body and secret_path.name.encode() not in body
    assert b"The file cannot be served right now" in body


@pytest.mark.parametrize("accept", ["*/*", "text/html"])
def test_a_share_pointed_at_another_file_is_refused_and_marked_broken(pasla, sample, tmp_path, accept):
    secret = tmp_path / "operator-secret.txt"
    secret.write_bytes(b"the operator's private key\n")
    served = pasla(sample, 5)
    resp, body = served.request()
    assert resp.status == 200 and body == sample.read_bytes()

    point_at(served, secret)
    resp, body = served.request(headers={"Accept": accept})
    assert_refused_quietly(served, resp, body, secret)
    assert b"private key" not in body
    assert served.share_row()["state"] == "broken"
    # And it stays refused, for downloads and the landing page alike.
    for headers in ({}, {"Accept": "text/html"}, {"Range": "bytes=0-9"}):
        resp, body = served.request(headers=headers)
        assert_refused_quietly(served, resp, body, secret)
    resp, _ = served.request("HEAD")
    assert resp.status == 500

    log = served.stderr()
    lines = [line for line in log.splitlines() if "does not match its seal" in line]
    assert len(lines) == 1, log
    assert served.info["id"] in lines[0] and "marked broken" in lines[0]
    assert str(secret) not in log and str(sample) not in lines[0] and served.token not in log
    assert served.wait(timeout=15) == 0  # a broken share has ended: its one-share server stops


# A token the attacker knows: written as its digest, it would be their own link to the file.
KNOWN_TOKEN = "A" * 22


@pytest.mark.parametrize(
    "column, value",
    [
        ("max_downloads", 50),
        ("expires_at", "2099-01-01 00:00:00"),
        ("name", "renamed.bin"),
        ("token_digest", hashlib.sha256(KNOWN_TOKEN.encode()).hexdigest()),
    ],
)
def test_editing_a_limit_the_name_or_the_token_is_caught(pasla, sample, column, value):
    served = pasla(sample, 5, 1)
    resp, _ = served.request("HEAD")
    assert resp.status == 200
    tamper(served, f"update shares_share set {column} = ? where id = ?", value)
    path = {
        "name": served.path.replace(sample.name, "renamed.bin"),
        "token_digest": f"/{KNOWN_TOKEN}/{sample.name}",
    }.get(column, served.path)
    resp, body = served.request(path=path)
    assert resp.status == 500, body[:200]
    row = served.share_row()
    assert row["state"] == "broken" and row["slots_used"] == 0  # nothing was claimed or sent


def test_an_untampered_row_keeps_serving_and_counters_may_move(pasla, sample):
    served = pasla(sample, 5, 3)
    for _ in range(2):
        resp, body = served.request()
        assert resp.status == 200 and body == sample.read_bytes()
    # Unsealed bookkeeping written elsewhere (another worker's byte count) is not tampering.
    tamper(served, "update shares_share set bytes_served = bytes_served + 1 where id = ?")
    resp, body = served.request(source="127.0.0.2")
    assert resp.status == 200 and body == sample.read_bytes()
    assert served.share_row()["state"] == "live"
    assert "does not match its seal" not in served.stderr()


def test_operator_actions_reseal_but_never_launder_an_edited_row(pasla, sample, data_dir, tmp_path):
    served = pasla(sample, 5, 1)
    make_admin_user(data_dir)
    client = AdminClient(served)
    client.login()
    status, page = client.action("share", "extend_shares", [served.info["id"]], amount=10)
    assert status == 200 and "10 more minute(s)" in page
    status, page = client.action("share", "add_downloads", [served.info["id"]], amount=2)
    assert status == 200 and "cap raised to 3" in page
    resp, body = served.request()
    assert resp.status == 200 and body == sample.read_bytes()  # the new limits carry a new seal

    secret = tmp_path / "operator-secret.txt"
    secret.write_bytes(b"not for sharing\n")
    point_at(served, secret)
    before = served.share_row()
    for action in ("extend_shares", "add_downloads"):
        status, page = client.action("share", action, [served.info["id"]], amount=5)
        assert status == 200 and "does not match its seal; not changed" in page
    after = served.share_row()
    assert (after["expires_at"], after["max_downloads"], after["seal"]) == (
        before["expires_at"],
        before["max_downloads"],
        before["seal"],
    )
    resp, body = served.request(source="127.0.0.2")
    assert resp.status == 500 and b"not for sharing" not in body
