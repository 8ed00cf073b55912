"""A relay and the senders behind it: real `manage.py pasla` processes on loopback.

The relay has its own data directory (its own SQLite database); each sender
uses the test's usual one. A share started with `via(...)` is a Served whose
`port` is the relay's, so every request helper of tests/conftest.py goes
through the relay; the sender's own loopback port is info["sender_port"].
"""

import http.client
import json
import select
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import MANAGE, PYTHON, ROOT, base_env, free_port, run_pasla


@dataclass
class Relay:
    proc: subprocess.Popen
    port: int
    data_dir: Path
    stderr_path: Path
    info: dict

    @property
    def base(self) -> str:
        return f"{self.info['scheme']}://127.0.0.1:{self.port}"

    def add_sender(self, name: str) -> str:
        done = run_pasla(["relay", "add-sender", name, "--json"], self.data_dir)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["key"]

    def request(self, method="GET", path="/", headers=None, source=None, timeout=30):
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout, source_address=(source, 0) if source else None
        )
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            return resp, resp.read()
        finally:
            conn.close()

    def query(self, sql: str, *params):
        db = f"file:{self.data_dir / 'pasla.sqlite3'}?mode=ro"
        with sqlite3.connect(db, uri=True, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, signum=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            self.proc.wait(timeout=15)


def start_relay(data_dir: Path, log_dir: Path, port: int, args=(), env=None, timeout=30) -> Relay:
    stderr_path = log_dir / f"relay-{time.monotonic_ns()}.err"
    command = [PYTHON, MANAGE, "pasla", "relay", "--bind", f"127.0.0.1:{port}", "--json", *map(str, args)]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=base_env(data_dir, env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(stderr_path, "w"),  # noqa: SIM115
        text=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.1)[0]:
            line = proc.stdout.readline()
            if line:
                return Relay(proc, port, data_dir, stderr_path, json.loads(line))
        if proc.poll() is not None:
            raise AssertionError(f"relay exited {proc.returncode}: {stderr_path.read_text()}")
    proc.kill()
    raise AssertionError(f"relay did not start: {stderr_path.read_text()}")


@pytest.fixture
def relay_dir(tmp_path) -> Path:
    path = tmp_path / "relay-data"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@pytest.fixture
def relays(tmp_path, relay_dir):
    """Factory: relays(port=None, *args, env=None) -> Relay; all stopped at teardown."""
    started: list[Relay] = []

    def start(*args, port=None, env=None):
        relay = start_relay(relay_dir, tmp_path, port or free_port(), args, env)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        if relay.proc.poll() is None:
            relay.proc.kill()
            relay.proc.wait(timeout=10)
        relay.proc.stdout.close()


@pytest.fixture
def relay(relays) -> Relay:
    return relays()


@pytest.fixture
def via(pasla, relay):
    """Factory: via(FILE, *args, key=None, env=None) -> Served, answered through `relay`."""
    keys = {}

    def start(*args, key=None, env=None, relay_=None):
        target = relay_ or relay
        if key is None:
            key = keys.get(target.port) or keys.setdefault(target.port, target.add_sender(f"s{len(keys)}"))
        served = pasla(*args, "--via", target.base, env={"PASLA_VIA_KEY": key, **(env or {})})
        served.info["sender_port"] = served.info["port"]
        served.info["port"] = target.port
        return served

    return start


def sparse_file(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk (its bytes read as zeros) but a marked tail."""
    with open(path, "wb") as fh:
        fh.truncate(size)
        fh.seek(size - 16)
        fh.write(b"the end is here!")
    return path
