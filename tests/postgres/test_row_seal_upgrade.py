"""Upgrading to sealed share rows: rows written before seals existed are sealed
once by the migration and keep serving; a row written afterwards without
pasla (a forged share) is refused. On SQLite and on PostgreSQL."""

import hashlib
import json
import os
import secrets
import subprocess
from datetime import UTC, datetime, timedelta

from tests.conftest import MANAGE, PYTHON, ROOT, base_env


def migrate_to(backing, target: str) -> None:
    done = subprocess.run(
        [PYTHON, MANAGE, "migrate", "shares", target, "--verbosity", "0"],
        cwd=ROOT,
        env=base_env(backing.data_dir, backing.env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def insert_share(backing, path, name: str, seal: str | None = None) -> str:
    """A share row as pasla 0009 wrote it (seal None), or a forged one; returns its token."""
    token = secrets.token_urlsafe(16)
    st = os.stat(path)
    now = datetime.now(UTC)
    columns, values = ("", "") if seal is None else (", seal", ", ?")
    backing.execute(
        "insert into shares_share (id, token_digest, name, path, kind, archive_format, size, device, inode, "
        "mtime_ns, sha256, manifest, created_at, expires_at, state, max_downloads, slots_used, bytes_served, "
        f"hostname, process_stamp, scheme, cert_fingerprint, options{columns}) "
        "values (?, ?, ?, ?, 'file', '', ?, ?, ?, ?, '', ?, ?, ?, 'live', 0, 0, 0, "
        f"'', '', 'http', '', ?{values})",
        secrets.token_hex(3),
        hashlib.sha256(token.encode()).hexdigest(),
        name,
        str(path),
        st.st_size,
        st.st_dev,
        st.st_ino,
        st.st_mtime_ns,
        json.dumps([]),
        backing.timestamp(now),
        backing.timestamp(now + timedelta(hours=1)),
        json.dumps({}),
        *(() if seal is None else (seal,)),
    )
    return token


def test_rows_from_before_seals_are_sealed_once_and_keep_serving(serve, backend, sample, tmp_path):
    migrate_to(backend, "0009")
    old_token = insert_share(backend, sample, sample.name)
    migrate_to(backend, "0010")
    [(seal,)] = backend.query("select seal from shares_share")
    assert len(seal) == 64

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"never shared\n")
    # Written after the upgrade, not by pasla: whoever wrote it cannot compute a seal.
    forged_token = insert_share(backend, secret, secret.name, seal=secrets.token_hex(32))

    server = serve(backend, workers=1)
    server.tokens += [old_token, forged_token]
    resp, body = server.request("GET", f"/{old_token}/{sample.name}")
    assert resp.status == 200 and body == sample.read_bytes()
    resp, body = server.request("GET", f"/{forged_token}/{secret.name}")
    assert resp.status == 500 and b"never shared" not in body and b"secret.txt" not in body
    states = dict(backend.query("select name, state from shares_share"))
    assert states == {sample.name: "live", secret.name: "broken"}
    # The seal is written once: serving did not rewrite it.
    assert backend.query("select seal from shares_share where name = ?", sample.name) == [(seal,)]
