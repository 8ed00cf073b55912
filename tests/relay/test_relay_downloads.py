"""Downloads through a relay: the sender's rules and bytes, unchanged, from another process."""

import hashlib
import io
import os
import subprocess
import zipfile

from tests.conftest import wait_until
from tests.parallel import in_parallel

MIB = 1 << 20


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def curl(*args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", *map(str, args)], capture_output=True, timeout=timeout)


def test_curl_gets_the_exact_bytes_whole_and_by_range(via, relay, sample):
    served = via(sample, 5)
    assert served.url.startswith(relay.base + "/") and served.info["via"] == relay.base
    data = sample.read_bytes()

    whole = curl("-f", served.url)
    assert whole.returncode == 0, whole.stderr
    assert sha(whole.stdout) == sha(data)

    part = curl("-f", "-r", "1000-1999999", "-D", "-", served.url)
    head, _, body = part.stdout.partition(b"\r\n\r\n")
    assert b"206" in head.split(b"\r\n")[0] and b"content-range: bytes 1000-1999999/" in head.lower()
    assert body == data[1000:2000000]

    # The sender saw each request, from the recipient's own address, and kept the history.
    wait_until(
        lambda: len(served.downloads()) == 2 and all(r["outcome"] == "complete" for r in served.downloads())
    )
    assert {r["client_ip"] for r in served.downloads()} == {"127.0.0.1"}


def test_curl_resumes_a_cut_single_use_download_on_its_one_slot(via, tmp_path):
    # Big enough that what sits in the relay's socket buffers when the
    # recipient is cut (counted as sent by the sender) is far from the end.
    sample = tmp_path / "big.bin"
    sample.write_bytes(os.urandom(40 * MIB + 4321))
    served = via(sample, 5, "--single")
    size = sample.stat().st_size
    status, part = served.cut_download(int(size * 0.4))
    assert status == 200 and len(part) == int(size * 0.4)
    wait_until(lambda: served.downloads() and served.downloads()[0]["outcome"] != "in_progress")
    row = served.share_row()
    assert row["state"] == "live" and row["slots_used"] == 1

    # Another address cannot ride on that slot, through the relay either.
    other, _ = served.request(headers={"Range": f"bytes={len(part)}-"}, source="127.0.0.2")
    assert other.status == 410

    out = tmp_path / "resumed.bin"
    out.write_bytes(part)
    done = curl("-f", "-C", "-", "-o", out, served.url)
    assert done.returncode == 0, done.stderr
    assert sha(out.read_bytes()) == sha(sample.read_bytes())
    assert served.wait(timeout=15) == 0  # the one slot delivered everything: the share ended
    row = served.share_row()
    assert row["state"] == "exhausted" and row["slots_used"] == 1


def test_a_directory_comes_through_as_its_zip(via, tmp_path):
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    files = {"a.bin": os.urandom(300_000), "sub/b.txt": b"hello relay\n" * 1000}
    for name, content in files.items():
        (root / name).write_bytes(content)
    served = via(root, 5)
    assert served.url.endswith("/photos.zip")
    got = curl("-f", served.url)
    assert got.returncode == 0, got.stderr
    with zipfile.ZipFile(io.BytesIO(got.stdout)) as archive:
        assert {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")} == {
            f"photos/{k}": v for k, v in files.items()
        }


def test_max_one_and_twenty_parallel_gets_give_exactly_one_body(via, sample):
    served = via(sample, 5, "1")
    data = sample.read_bytes()

    def fetch(index):
        resp, body = served.request(source="127.0.0.2" if index % 2 else "127.0.0.3")
        return resp.status, body

    results = in_parallel(fetch, [(i,) for i in range(20)])
    full = [body for status, body in results if status == 200]
    assert len(full) == 1 and full[0] == data, sorted(status for status, _ in results)
    assert all(status == 410 for status, _ in results if status != 200)
    assert served.wait(timeout=15) == 0
    assert served.share_row()["slots_used"] == 1
