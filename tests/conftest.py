"""Shared fixtures: real `manage.py pasla` processes on real sockets.

Every server runs in its own process with its own data directory (and so
its own SQLite database), on a port the OS picks, advertising 127.0.0.1.
"""

import hashlib
import http.client
import json
import os
import select
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MANAGE = str(ROOT / "manage.py")


def base_env(data_dir: Path, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASLA_")}
    env.pop("DATABASE_URL", None)
    env.pop("CACHE_URL", None)
    env.update(
        {
            "PASLA_DATA_DIR": str(data_dir),
            "PASLA_PUBLIC_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            # A home without ~/.config/pasla: the operator's own config file
            # must not leak into tests (set PASLA_CONFIG to use one).
            "HOME": str(data_dir.parent / "home"),
        }
    )
    env.update(extra or {})
    return env


# Root reads every file whatever its mode; without these two capabilities the
# kernel checks file permissions for root as for anyone, so the permission
# tests run (not skip) in CI, which runs as root.
_FILE_PERMISSIONS_APPLY = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def unprivileged(command: list) -> list:
    """COMMAND as a process that file permissions apply to, even under root."""
    return [*_FILE_PERMISSIONS_APPLY, *command] if os.geteuid() == 0 else command


def run_pasla(
    args, data_dir: Path, env: dict | None = None, timeout: float = 60, stdin=None, file_permissions=False
):
    """Run `manage.py pasla ARGS` to completion; returns CompletedProcess (text).

    file_permissions=True runs it where file modes bind, as for a normal user.
    """
    command = [PYTHON, MANAGE, "pasla", *map(str, args)]
    return subprocess.run(
        unprivileged(command) if file_permissions else command,
        cwd=ROOT,
        env=base_env(data_dir, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL if stdin is None else stdin,
    )


def raw_connect(port: int, source: str = "127.0.0.1", timeout: float = 10) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return sock


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout: float = 10, interval: float = 0.05):
    """Poll predicate() until it is truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def port_open(port: int, proc=None, log: Path | None = None) -> bool:
    """Whether 127.0.0.1:port accepts a connection; fails at once if `proc` died first."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(log.read_text() if log else f"exited {proc.returncode}") from None
        return False


def wait_for_value(fetch, expected, timeout: float = 5, interval: float = 0.05) -> None:
    """Poll fetch() until it returns `expected`; a timeout shows the last value."""
    deadline = time.monotonic() + timeout
    while (got := fetch()) != expected:
        assert time.monotonic() < deadline, got
        time.sleep(interval)


@dataclass
class Served:
    proc: subprocess.Popen
    info: dict
    data_dir: Path
    stderr_path: Path
    extra_stdout: list = field(default_factory=list)
    pinned_context: ssl.SSLContext | None = None

    @property
    def port(self) -> int:
        return self.info["port"]

    @property
    def url(self) -> str:
        return self.info["url_ipv4"]

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

    @property
    def token(self) -> str:
        return self.path.split("/")[1]

    def connection(self, timeout: float = 30, source: str | None = None) -> http.client.HTTPConnection:
        """source: a loopback address to connect from (127.0.0.2 ... act as other clients)."""
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout, source_address=(source, 0) if source else None
        )

    def raw_socket(self, source: str = "127.0.0.1", timeout: float = 10) -> socket.socket:
        """A bare TCP connection to the server, for byte-level tests."""
        return raw_connect(self.port, source=source, timeout=timeout)

    def request(self, method="GET", path=None, headers=None, body=None, source=None):
        """One request on a fresh connection; returns (response, body bytes)."""
        conn = self.connection(source=source)
        try:
            conn.request(method, path or self.path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp, data
        finally:
            conn.close()

    def tls_context(self, context: ssl.SSLContext | None = None) -> ssl.SSLContext:
        """A client context trusting exactly the certificate this server presents.

        The certificate is fetched once and accepted only if its SHA-256
        matches `cert_fingerprint` from --json: the pinning a recipient does
        by comparing the fingerprint out of band. Pass `context` to pin into
        a context you configured yourself.
        """
        der = peer_certificate("127.0.0.1", self.port)
        assert cert_fingerprint(der) == self.info["cert_fingerprint"], "certificate does not match --json"
        context = context or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cadata=der)
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a leaf as its own trust anchor
        return context

    def https_connection(
        self, timeout: float = 30, context=None, source: str | None = None
    ) -> http.client.HTTPSConnection:
        if context is None:
            self.pinned_context = self.pinned_context or self.tls_context()
            context = self.pinned_context
        return http.client.HTTPSConnection(
            "127.0.0.1",
            self.port,
            timeout=timeout,
            context=context,
            source_address=(source, 0) if source else None,
        )

    def https_request(self, method="GET", path=None, headers=None, body=None, context=None, source=None):
        """Like request(), over TLS pinned to the server's certificate (or `context`)."""
        conn = self.https_connection(context=context, source=source)
        try:
            conn.request(method, path or self.path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp, resp.read()
        finally:
            conn.close()

    def fetch(self, method="GET", path=None, headers=None, body=None, source=None):
        """request() or https_request(), whichever the share's scheme needs."""
        if self.info.get("scheme") == "https":
            return self.https_request(method, path, headers, body, source=source)
        return self.request(method, path, headers, body, source=source)

    def cut_download(
        self, body_bytes: int, headers=None, source=None, path=None, after_headers=None
    ) -> tuple[int, bytes]:
        """GET, read `body_bytes` of the body, then drop the connection (RST).

        A modest receive buffer keeps what the server had already pushed into
        the network close to what a real reader that was cut off had lost.
        `after_headers` (if given) is called between the head and the body.
        Returns (status, the body bytes received).
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 512 * 1024)
        sock.settimeout(30)
        sock.bind((source or "127.0.0.1", 0))
        sock.connect(("127.0.0.1", self.port))
        lines = [f"GET {path or self.path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        raw = b""
        while b"\r\n\r\n" not in raw:
            data = sock.recv(65536)
            if not data:
                break
            raw += data
        head, _, body = raw.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if after_headers is not None:
            after_headers()
        while len(body) < body_bytes:
            data = sock.recv(min(1 << 20, body_bytes - len(body)))
            if not data:
                break
            body += data
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        return status, body[:body_bytes]

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.data_dir / 'pasla.sqlite3'}?mode=ro", uri=True, timeout=10)

    def query(self, sql: str, *params):
        with self.db() as conn:
            return conn.execute(sql, params).fetchall()

    def share_row(self) -> dict:
        with self.db() as conn:
            conn.row_factory = sqlite3.Row
            return dict(
                conn.execute("select * from shares_share where id = ?", (self.info["id"],)).fetchone()
            )

    def downloads(self) -> list[dict]:
        with self.db() as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(
                "select * from shares_download where share_id = ? order by id", (self.info["id"],)
            ).fetchall()
            return [dict(r) for r in rows]

    def wait_until(self, predicate, timeout: float = 10, interval: float = 0.05):
        return wait_until(predicate, timeout, interval)

    def wait(self, timeout: float = 15) -> int:
        return self.proc.wait(timeout=timeout)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout_rest(self) -> str:
        return "".join(self.extra_stdout) + (self.proc.stdout.read() if self.proc.poll() is not None else "")

    def signal(self, signum=signal.SIGTERM):
        self.proc.send_signal(signum)


def peer_certificate(host: str, port: int, timeout: float = 10) -> bytes:
    """The DER certificate a TLS server presents, unverified (verify it by fingerprint)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw, context.wrap_socket(raw) as tls:
        return tls.getpeercert(binary_form=True)


def cert_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate in pasla's colon-hex form."""
    return hashlib.sha256(der).digest().hex(":").upper()


def start_pasla(args, data_dir: Path, log_dir: Path, env=None, timeout: float = 30, manage=MANAGE) -> Served:
    """Start a foreground server with --json and wait for its one JSON line."""
    args = [str(a) for a in args]
    if "--json" not in args:
        args.append("--json")
    if "-p" not in args and "--port" not in args:
        args += ["-p", "0"]
    stderr_path = log_dir / f"pasla-{time.monotonic_ns()}.err"
    proc = subprocess.Popen(
        [PYTHON, str(manage), "pasla", *args],
        cwd=ROOT,
        env=base_env(data_dir, env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(stderr_path, "w"),  # noqa: SIM115
        text=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            line = proc.stdout.readline()
            if line:
                return Served(proc, json.loads(line), data_dir, stderr_path)
        if proc.poll() is not None:
            raise AssertionError(f"pasla exited {proc.returncode}: {stderr_path.read_text()}")
    proc.kill()
    raise AssertionError(f"pasla did not start: {stderr_path.read_text()}")


@pytest.fixture
def data_dir(tmp_path) -> Path:
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def pasla(tmp_path, data_dir):
    """Factory: pasla(FILE, *args, env=None) -> Served; all stopped at teardown."""
    started: list[Served] = []

    def start(*args, env=None, data=None, timeout=30, manage=MANAGE):
        served = start_pasla(args, data or data_dir, tmp_path, env=env, timeout=timeout, manage=manage)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait(timeout=10)
        if served.proc.stdout:
            served.proc.stdout.close()
    for served in started:
        # Whatever the test did, the secret never reaches the server's log.
        assert served.token not in served.stderr(), "the share token appeared in the server log"


@pytest.fixture
def sample(tmp_path) -> Path:
    """A 3 MiB file of random bytes (not a multiple of the 1 MiB chunk)."""
    path = tmp_path / "sample.bin"
    path.write_bytes(os.urandom(3 * (1 << 20) + 12345))
    return path


def pytest_collection_modifyitems(items):
    # Reports carry user_properties but not markers: tag the service tests.
    for item in items:
        if item.get_closest_marker("postgres") is not None:
            item.user_properties.append(("pasla_services", True))


def pytest_terminal_summary(terminalreporter):
    """One line saying how many PostgreSQL/Redis tests ran: CI must show them run, not skipped."""
    counts = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            tagged = ("pasla_services", True) in getattr(report, "user_properties", [])
            if tagged and (report.when == "call" or outcome != "passed"):
                counts[outcome] = counts.get(outcome, 0) + 1
    if counts:
        summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        terminalreporter.write_line(f"PostgreSQL/Redis tests: {summary}")
