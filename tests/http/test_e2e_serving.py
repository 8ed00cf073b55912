"""What the server of an `--e2e` share sends, stores and logs: ciphertext only, never the key."""

import base64
import json
import os
import subprocess

from shares.e2e import ece
from tests.conftest import MANAGE, PYTHON, base_env, run_pasla
from tests.relay_proxy import RelayProxy

NAME = "quarterly-secret-plan.txt"
# 1 MiB of a recognisable plaintext: any 64-byte window of it is findable.
PATTERN = b"".join(b"pasla plaintext line %06d, nobody in the middle reads this\n" % i for i in range(17476))[
    : 1 << 20
]


def found(haystack: bytes, data: bytes = PATTERN) -> bool:
    """Whether any 64-byte window of `data` (taken every 4 KiB) is in `haystack`."""
    return any(data[i : i + 64] in haystack for i in range(0, len(data) - 64, 4096))


def stored_bytes(data_dir) -> bytes:
    """Every byte of the database and its journal files."""
    return b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("pasla.sqlite3"))


def test_the_server_sees_sends_stores_and_logs_no_plaintext_and_no_key(pasla, tmp_path, data_dir):
    original = tmp_path / NAME
    original.write_bytes(PATTERN)
    served = pasla(original, "--e2e")
    bare, _, key_text = served.url.partition("#k=")
    key = base64.urlsafe_b64decode(key_text + "==")
    size = ece.ciphertext_size(len(PATTERN))

    resp, body = served.request()
    assert resp.status == 200 and len(body) == size == int(resp.getheader("Content-Length"))
    assert not found(body)
    assert NAME.encode() not in body and "quarterly" not in str(resp.headers)
    assert resp.getheader("Content-Type") == "application/octet-stream"

    # Random access: any range is that slice of the whole, encrypted where it lies.
    start = ece.record_start(7) + 123
    part, piece = served.request(headers={"Range": f"bytes={start}-{start + 99_999}"})
    assert part.status == 206 and piece == body[start : start + 100_000]
    assert part.getheader("Content-Range") == f"bytes {start}-{start + 99_999}/{size}"
    assert part.getheader("ETag") == resp.getheader("ETag")

    # pasla get through a relay that records what the server is sent.
    proxy = RelayProxy(served.port)
    try:
        done = subprocess.run(
            [PYTHON, MANAGE, "pasla", "get", proxy.url(served.url), "-o", tmp_path / "copy.txt"],
            env=base_env(data_dir),
            capture_output=True,
            timeout=60,
        )
    finally:
        proxy.close()
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "copy.txt").read_bytes() == PATTERN
    sent_to_server = bytes(proxy.requests)
    assert b"GET /" in sent_to_server
    for form in (key_text.encode(), key, key.hex().encode(), b"#k="):
        assert form not in sent_to_server

    served.wait_until(lambda: all(r["outcome"] != "in_progress" for r in served.downloads()))
    database = stored_bytes(data_dir)
    log = served.stderr().encode()
    for where in (database, log):
        assert not found(where)
        assert NAME.encode() not in where and b"quarterly" not in where
        assert key_text.encode() not in where and key not in where and key.hex().encode() not in where
    assert "pasla.access" in served.stderr()  # the access log is there, and was checked
    row = served.share_row()
    assert (row["kind"], row["path"], row["sha256"], row["manifest"]) == ("e2e", "", "", "[]")
    assert row["name"].endswith(".e2e") and row["size"] == size

    listed = run_pasla(["list", "--json"], data_dir)
    assert listed.returncode == 0 and served.info["id"] in listed.stdout
    assert "quarterly" not in listed.stdout and str(tmp_path) not in listed.stdout


def test_the_kind_is_sealed_so_the_row_cannot_be_turned_plain(pasla, tmp_path, data_dir):
    """Whoever can write the database cannot make the server send the file in clear."""
    import sqlite3

    original = tmp_path / NAME
    original.write_bytes(PATTERN)
    served = pasla(original, "--e2e")
    with sqlite3.connect(data_dir / "pasla.sqlite3") as db:
        db.execute(
            "update shares_share set kind = 'file', path = ?, size = ? where id = ?",
            (str(original), len(PATTERN), served.info["id"]),
        )
    resp, body = served.request()
    assert resp.status == 500 and not found(body)


def test_a_share_without_its_key_record_is_refused(tmp_path, data_dir):
    """`pasla share --e2e` leaves a 0600 key record for `pasla serve`; without it, nothing is served."""
    original = tmp_path / NAME
    original.write_bytes(b"x" * 1000)
    done = run_pasla(["share", original, "--e2e", "--json"], data_dir)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    record = data_dir / "e2e" / f"{info['id']}.json"
    assert oct(record.stat().st_mode & 0o777) == "0o600"
    assert oct((data_dir / "e2e").stat().st_mode & 0o777) == "0o700"
    key_text = info["url"].partition("#k=")[2]
    assert key_text and NAME.encode() not in stored_bytes(data_dir)
    stopped = run_pasla(["stop", info["id"]], data_dir)
    assert stopped.returncode == 0, stopped.stderr
    run_pasla(["list"], data_dir)  # housekeeping: an ended share's key record goes
    assert not record.exists()
    assert not os.listdir(data_dir / "e2e")


def test_the_page_and_its_worker_use_no_slot_and_allow_only_their_own_script(pasla, tmp_path):
    original = tmp_path / NAME
    original.write_bytes(PATTERN)
    served = pasla(original, "--e2e", "--single")
    bot = {"User-Agent": "Slackbot-LinkExpanding 1.0", "Accept": "text/html"}
    page, html = served.request(headers=bot)
    assert page.status == 200 and b'id="e2e"' in html
    assert not found(html) and NAME.encode() not in html
    csp = page.getheader("Content-Security-Policy")
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert "default-src 'none'" in csp and "script-src 'nonce-" in csp and "unsafe" not in csp
    assert html.count(b"<script") == html.count(f'<script nonce="{nonce}"'.encode()) == 1
    assert b"http://" not in html.split(b"<script", 1)[1] and b"https://" not in html.split(b"<script", 1)[1]
    worker, script = served.request(
        path=served.path + "?pasla-worker=1", headers={"Service-Worker": "script"}
    )
    assert worker.status == 200 and worker.getheader("Content-Type").startswith("text/javascript")
    assert b"respondWith" in script and worker.getheader("Content-Security-Policy").startswith(
        "default-src 'none'"
    )
    # The head embedded in the page is the ciphertext's first bytes: no byte of the file.
    head = base64.b64decode(html.split(b'data-head="')[1].split(b'"')[0])
    assert len(head) == ece.HEAD_SIZE
    row = served.share_row()
    assert row["slots_used"] == 0 and served.downloads() == []
    _, body = served.request()
    assert body[: ece.HEAD_SIZE] == head
