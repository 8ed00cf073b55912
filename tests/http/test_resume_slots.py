"""Part 2: a download slot belongs to one client and one representation.

A cut download resumed by the same client continues its slot; anyone else,
or a re-download of bytes already delivered, needs a new one.
"""

import hashlib
import http.client
import json
import os
import subprocess
import threading

import pytest

from tests.parallel import in_parallel

MIB = 1 << 20


@pytest.fixture
def big(tmp_path):
    """40 MiB of random bytes: larger than what loopback buffers hold at a cut."""
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(40 * MIB + 4321))
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def finished(served):
    rows = served.downloads()
    return rows and all(r["outcome"] != "in_progress" for r in rows)


def slots(served):
    return served.query(
        "select client_ip, covered, sent, complete from shares_slot where share_id = ?", served.info["id"]
    )


def test_single_use_cut_at_40_percent_resumes_with_curl_on_the_same_slot(pasla, big, tmp_path):
    served = pasla(big, 5, "--single")
    size = big.stat().st_size
    status, part = served.cut_download(int(size * 0.4))
    assert status == 200 and len(part) == int(size * 0.4)
    served.wait_until(lambda: finished(served))
    # The watchdog runs twice a second: give it the chance to (wrongly) end the share.
    served.wait_until(lambda: served.share_row()["bytes_served"] > 0)
    subprocess.run(["sleep", "1.2"], check=True)
    row = served.share_row()
    assert row["state"] == "live" and row["slots_used"] == 1
    covered = slots(served)[0]
    assert covered[3] == 0  # not complete: the slot waits for its owner

    # Someone else cannot ride on that slot: 410, with or without Range.
    other, _ = served.request(headers={"Range": f"bytes={len(part)}-"}, source="127.0.0.2")
    assert other.status == 410
    other, _ = served.request(source="127.0.0.2")
    assert other.status == 410

    out = tmp_path / "resumed.bin"
    out.write_bytes(part)
    done = subprocess.run(
        ["curl", "-sS", "-f", "-C", "-", "-o", str(out), served.url], capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert sha(out.read_bytes()) == sha(big.read_bytes())

    assert served.wait(timeout=15) == 0  # the one slot delivered everything: the share ended
    row = served.share_row()
    assert row["state"] == "exhausted" and row["slots_used"] == 1
    (slot,) = slots(served)
    assert slot[0] == "127.0.0.1" and slot[3] == 1
    assert slot[2] <= size + 16 * MIB


def test_re_downloading_covered_bytes_claims_a_new_slot(pasla, big):
    served = pasla(big, 5, 3)
    resp, body = served.request()
    assert resp.status == 200 and sha(body) == sha(big.read_bytes())
    served.wait_until(lambda: finished(served))
    assert served.share_row()["slots_used"] == 1

    # The same client fetching the middle again: those bytes were delivered.
    resp, body = served.request(headers={"Range": f"bytes={10 * MIB}-{30 * MIB}"})
    assert resp.status == 206 and len(body) == 20 * MIB + 1
    served.wait_until(lambda: finished(served))
    assert served.share_row()["slots_used"] == 2

    # A small re-fetch of the tail (a client that lost its last buffer) stays on a slot.
    size = big.stat().st_size
    resp, body = served.request(headers={"Range": f"bytes={size - MIB}-"})
    assert resp.status == 206 and body == big.read_bytes()[size - MIB :]
    served.wait_until(lambda: finished(served))
    assert served.share_row()["slots_used"] == 2


def test_head_and_unsatisfiable_ranges_never_take_a_slot(pasla, big):
    served = pasla(big, 5, "--single")
    resp, _ = served.request("HEAD")
    assert resp.status == 200
    resp, _ = served.request(headers={"Range": "bytes=999999999999-"})
    assert resp.status == 416
    assert served.share_row()["slots_used"] == 0


def test_parallel_ranges_of_one_client_share_one_slot(pasla, big):
    """aria2c -x4 style: four connections, four quarters, one slot."""
    served = pasla(big, 5, "--single")
    size = big.stat().st_size
    bounds = [(i * size // 4, (i + 1) * size // 4 - 1) for i in range(4)]

    def fetch(start, end):
        resp, body = served.request(headers={"Range": f"bytes={start}-{end}"})
        assert resp.status == 206
        return body

    parts = in_parallel(fetch, bounds)
    assert sha(b"".join(parts)) == sha(big.read_bytes())
    assert served.wait(timeout=15) == 0
    assert served.share_row()["slots_used"] == 1
    assert served.share_row()["state"] == "exhausted"


def test_parallel_full_downloads_of_one_client_cannot_exceed_the_slot(pasla, big):
    """Two simultaneous full GETs from one address share a slot, but not its bytes."""
    served = pasla(big, 5, "--single")
    size = big.stat().st_size

    def fetch():
        conn = served.connection()
        conn.request("GET", served.path)
        resp = conn.getresponse()
        got = 0
        try:
            while chunk := resp.read(MIB):
                got += len(chunk)
        except Exception:
            pass
        conn.close()
        return got

    received = in_parallel(fetch, [()] * 2)
    assert served.share_row()["slots_used"] <= 1
    assert sum(received) <= size + 16 * MIB
    assert min(received) < size  # one of them was cut off


def test_aria2c_style_open_ended_segments_use_one_slot(pasla, big):
    """Like aria2c -x4: one plain GET plus three `bytes=N-` requests, each
    connection dropped once its segment has arrived (its spill past the
    segment end is lost in buffers). As aria2c does, the plain GET is
    answered first (it tells the size), then the ranges are asked for, and
    bodies are read once all four are answered: a connection that read a
    whole segment ahead before the next one even asked would make that one
    a repeat of bytes already sent."""
    served = pasla(big, 5, "--single")
    size = big.stat().st_size
    bounds = [i * size // 4 for i in range(4)] + [size]
    first_answered = threading.Event()
    all_answered = threading.Barrier(4, timeout=30)

    def after_headers(index):
        if index == 0:
            first_answered.set()
        all_answered.wait()

    def segment(index):
        headers = {"Range": f"bytes={bounds[index]}-"} if index else {}
        if index:
            assert first_answered.wait(timeout=30)
        status, body = served.cut_download(
            bounds[index + 1] - bounds[index], headers=headers, after_headers=lambda: after_headers(index)
        )
        assert status == (206 if index else 200)
        return body

    parts = in_parallel(segment, [(i,) for i in range(4)])
    assert sha(b"".join(parts)) == sha(big.read_bytes())
    assert served.wait(timeout=15) == 0
    row = served.share_row()
    assert (row["slots_used"], row["state"]) == (1, "exhausted")
    (slot,) = slots(served)
    assert slot[3] == 1 and size <= slot[2] <= size + 16 * MIB  # re-sends stayed within the overlap


def test_simultaneous_duplicate_downloads_of_one_client_each_take_a_slot(pasla, sample):
    """Three full GETs at once from one address are three deliveries: with
    slots left each completes (the later ones move to slots of their own)."""
    served = pasla(sample, 5, 3)

    def fetch():
        resp, body = served.request()
        return resp.status, sha(body)

    results = in_parallel(fetch, [()] * 3)
    assert results == [(200, sha(sample.read_bytes()))] * 3
    assert served.wait(timeout=15) == 0  # three complete slots: the share is used up
    row = served.share_row()
    assert (row["slots_used"], row["state"]) == (3, "exhausted")
    assert [s[3] for s in slots(served)] == [1, 1, 1]


@pytest.mark.parametrize("attempt", range(4))
def test_a_duplicate_download_that_may_not_send_a_byte_gets_a_410(pasla, sample, attempt):
    """Two full GETs at once from one address on a single-use link: both
    continue the one slot, and the second may not send the file again
    (its re-send allowance is half the file). It gets a 410, not a 200
    whose body never comes."""
    served = pasla(sample, 5, "--single")

    def fetch():
        conn = served.connection()
        try:
            conn.request("GET", served.path)
            resp = conn.getresponse()
            try:
                body = resp.read()
            except (http.client.IncompleteRead, ConnectionError):
                body = b"<cut>"
            return resp.status, sha(body) if resp.status == 200 else json.loads(body)["error"]
        finally:
            conn.close()

    results = sorted(in_parallel(fetch, [()] * 2), key=lambda r: r[0])
    assert results == [(200, sha(sample.read_bytes())), (410, "gone")]
    assert served.wait(timeout=15) == 0
    assert served.share_row()["slots_used"] == 1
