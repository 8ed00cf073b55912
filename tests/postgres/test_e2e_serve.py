"""`pasla share --e2e` for `pasla serve` (PostgreSQL + Redis): two workers seal the same ciphertext."""

import os
import subprocess

import pytest

from shares.e2e import ece
from tests.conftest import MANAGE, PYTHON, base_env


@pytest.mark.postgres
def test_serve_workers_send_the_encrypted_share_pasla_get_opens(serve, postgres, tmp_path):
    backend = postgres
    original = tmp_path / "ledger.csv"
    original.write_bytes(os.urandom(3 * ece.DATA_PER_RECORD + 5))
    server = serve(backend, workers=2)
    info = server.share(original, "--e2e")
    assert info["e2e"] is True and "#k=" in info["url"] and "ledger" not in info["url"]
    assert backend.query("select name, path, kind, sha256 from shares_share")[0][1:] == ("", "e2e", "")
    bare = info["path"]
    first = server.request("GET", bare)[1]
    for _ in range(6):  # whichever worker answers, the bytes are the same
        assert server.request("GET", bare)[1] == first
    assert len(first) == ece.ciphertext_size(original.stat().st_size)
    out = tmp_path / "copy.csv"
    done = subprocess.run(
        [PYTHON, MANAGE, "pasla", "get", info["url"], "-o", out],
        env=base_env(backend.data_dir, server.env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == original.read_bytes()
    assert "ledger" not in server.stderr()
