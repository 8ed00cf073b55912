"""docs/deploy.md as written: its systemd unit, its command and its environment file.

Only what cannot run here is swapped: the install path (/opt/pasla is this
checkout), this test's own database, Redis prefix and data directory, a
free port and a real secret.
"""

import json
import re
import secrets
import select
import shlex
import shutil
import signal
import subprocess

import pytest

from tests.conftest import MANAGE, PYTHON, ROOT, base_env, wait_for_value
from tests.postgres.conftest import Server, stop_server

DOC = ROOT / "docs" / "deploy.md"


def block(title: str) -> str:
    """The fenced block of deploy.md whose first line is the comment `# title …`."""
    match = re.search(r"```\w*\n# " + re.escape(title) + r"[^\n]*\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"deploy.md has no block for {title}"
    return match.group(1)


def unit_here() -> str:
    unit = block("/etc/systemd/system/pasla.service")
    return unit.replace("/opt/pasla/.venv/bin/python", PYTHON).replace("/opt/pasla/manage.py", MANAGE)


def documented_env() -> dict:
    env = {}
    for line in block("/etc/pasla/pasla.env").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


NO_SYSTEMD = shutil.which("systemd-analyze") is None


@pytest.mark.skipif(NO_SYSTEMD, reason="systemd-analyze is missing (.ci/run installs it)")
def test_systemd_accepts_the_unit_without_a_word(tmp_path):
    path = tmp_path / "pasla.service"
    path.write_text(unit_here())
    verify = ["systemd-analyze", "verify", str(path)]
    done = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    # verify exits 0 on unknown keys and bad values too; it only says so.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


@pytest.mark.postgres
def test_the_documented_service_serves_a_share_and_stops_cleanly(postgres, tmp_path, sample):
    env = documented_env()
    assert {"DATABASE_URL", "CACHE_URL", "SECRET_KEY", "PASLA_DATA_DIR", "PASLA_BIND"} <= env.keys()
    env.update(postgres.env)
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        PASLA_DATA_DIR=str(postgres.data_dir),
        PASLA_BIND="127.0.0.1:0",
    )
    (exec_start,) = [line for line in unit_here().splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    stderr_path = tmp_path / "service.err"
    proc = subprocess.Popen(
        [*argv, "--json"],  # the one addition: the port it got, on stdout
        cwd="/",
        env=base_env(postgres.data_dir, env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(stderr_path, "w"),  # noqa: SIM115
        text=True,
        start_new_session=True,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    assert ready, stderr_path.read_text()
    server = Server(proc, json.loads(proc.stdout.readline()), postgres, env, stderr_path)
    try:
        assert len(server.workers) == 4
        share = server.share(sample, 5, 2)
        assert share["url"].startswith("https://example.com/files/")
        # As nginx passes it on (the site in deploy.md): the public host,
        # the client's address, the scheme.
        headers = {"Host": "example.com", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        resp, body = server.request("GET", share["path"], headers=headers)
        assert (resp.status, body) == (200, sample.read_bytes())
        history = "select client_ip, outcome from shares_download"
        wait_for_value(lambda: postgres.query(history), [("203.0.113.9", "complete")])
        # What systemd sends on stop (KillMode=mixed: the main process).
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop_server(server)
    assert share["path"].split("/")[-2] not in server.stderr()
