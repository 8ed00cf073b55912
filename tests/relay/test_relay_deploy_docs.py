"""docs/deploy.md's relay as written: its systemd unit, its command, its environment file.

Swapped, as for the server's unit (tests/postgres/test_deploy_docs.py):
the install path, the data directory, a free port, and the credentials
systemd would load (a test certificate for 127.0.0.1).
"""

import json
import re
import select
import shlex
import shutil
import signal
import ssl
import subprocess
import urllib.request

import pytest

from tests.certs import self_signed_files
from tests.conftest import MANAGE, PYTHON, ROOT, base_env, run_pasla

DOC = ROOT / "docs" / "deploy.md"


def block(title: str) -> str:
    match = re.search(r"```\w*\n# " + re.escape(title) + r"[^\n]*\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"deploy.md has no block for {title}"
    return match.group(1)


def unit_here() -> str:
    unit = block("/etc/systemd/system/pasla-relay.service")
    return unit.replace("/opt/pasla/.venv/bin/python", PYTHON).replace("/opt/pasla/manage.py", MANAGE)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is missing")
def test_systemd_accepts_the_relay_unit_without_a_word(tmp_path):
    path = tmp_path / "pasla-relay.service"
    path.write_text(unit_here())
    done = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_documented_relay_serves_a_sender_and_stops_cleanly(tmp_path, data_dir, sample):
    env = dict(line.split("=", 1) for line in block("/etc/pasla/relay.env").splitlines() if "=" in line)
    assert set(env) == {"PASLA_DATA_DIR", "PASLA_BIND"}
    relay_dir = tmp_path / "relay-state"
    relay_dir.mkdir(mode=0o700)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    cert, key = self_signed_files(credentials)
    env.update(
        PASLA_DATA_DIR=str(relay_dir), PASLA_BIND="127.0.0.1:0", CREDENTIALS_DIRECTORY=str(credentials)
    )
    (exec_start,) = [line for line in unit_here().splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(
        exec_start.removeprefix("ExecStart=").replace("${CREDENTIALS_DIRECTORY}", str(credentials))
    )
    stderr_path = tmp_path / "relay.err"
    proc = subprocess.Popen(
        [*argv, "--json"],  # the one addition: the port it got, on stdout
        cwd="/",
        env=base_env(relay_dir, env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(stderr_path, "w"),  # noqa: SIM115
        text=True,
    )
    try:
        assert select.select([proc.stdout], [], [], 60)[0], stderr_path.read_text()
        info = json.loads(proc.stdout.readline())
        base = f"https://127.0.0.1:{info['port']}"
        # The documented way to add a sender: its pasla arguments, in the relay's environment.
        added = run_pasla(["relay", "add-sender", "alice", "--json"], relay_dir, env=env)
        assert "pasla relay add-sender alice" in DOC.read_text() and added.returncode == 0
        sender_key = json.loads(added.stdout)["key"]
        share = subprocess.Popen(
            [PYTHON, MANAGE, "pasla", str(sample), "5", "--via", base, "--via-ca", str(cert), "--json"],
            cwd=ROOT,
            env=base_env(data_dir, {"PASLA_VIA_KEY": sender_key}),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert select.select([share.stdout], [], [], 60)[0]
            url = json.loads(share.stdout.readline())["url"]
            context = ssl.create_default_context(cafile=str(cert))
            with urllib.request.urlopen(url, timeout=10, context=context) as resp:
                assert resp.read() == sample.read_bytes()
        finally:
            share.terminate()
            share.wait(timeout=15)
            share.stdout.close()
        proc.send_signal(signal.SIGTERM)  # what systemd sends on stop (KillMode=mixed)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert url.split("/")[-2] not in stderr_path.read_text()
