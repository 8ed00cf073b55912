"""The foreground server at a real terminal (a pty): banner, QR, live line, bell."""

import os
import pty
import re
import select
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import MANAGE, PYTHON, ROOT, base_env

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    def __init__(self, args, data_dir, tmp_path, public_host):
        master, slave = pty.openpty()
        self.master = master
        self.err = tmp_path / f"tty-{time.monotonic_ns()}.err"
        env = base_env(data_dir, {"PASLA_PUBLIC_HOST": public_host, "COLUMNS": "120", "TERM": "xterm"})
        self.proc = subprocess.Popen(
            [PYTHON, MANAGE, "pasla", *map(str, args), "-p", "0", "-4"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=open(self.err, "w"),  # noqa: SIM115
        )
        os.close(slave)
        self.screen = b""

    def read_until(self, pattern: bytes, timeout: float = 20) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.screen):
                return self.screen
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536)
                except OSError:
                    break
        raise AssertionError(f"{pattern!r} not shown: {self.screen[-2000:]!r}")

    def text(self) -> str:
        return ANSI.sub(b"", self.screen).decode("utf-8", "replace")

    def url(self) -> tuple[int, str]:
        match = re.search(rb"http://[\d.]+:(\d+)(/[A-Za-z0-9_-]{22}/[^\s\x1b]+)", self.screen)
        return int(match.group(1)), match.group(2).decode()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        os.close(self.master)


@pytest.fixture
def terminal(data_dir, tmp_path):
    opened = []

    def start(*args, public_host="192.0.2.10"):
        opened.append(Terminal(args, data_dir, tmp_path, public_host))
        return opened[-1]

    yield start
    for item in opened:
        item.close()
        assert "Traceback" not in item.err.read_text()


def fetch(port: int, path: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
        resp.read()
        return resp.status


def test_live_line_qr_and_bell(terminal, sample):
    term = terminal(sample, 5, 2)
    term.read_until(rb"left")
    text = term.text()
    assert "192.0.2.10" in text and "SHA-256" in text  # the banner
    assert len(re.findall(r"[▀▄█]{7}", text)) >= 5  # the QR code of the public URL
    assert re.search(r"4m 5\ds left|5m 00s left", text) and "0/2 downloads" in text
    port, path = term.url()
    assert fetch(port, path) == 200
    term.read_until(rb"\x07")  # the bell for the completed download
    term.read_until(rb"1/2 downloads")
    assert "last 127.0.0.1 at" in term.read_until(rb"last 127\.0\.0\.1").decode("utf-8", "replace")
    term.proc.send_signal(signal.SIGTERM)
    assert term.proc.wait(timeout=10) == 0
    token = path.split("/")[1]
    assert token not in term.err.read_text()


def test_quiet_no_qr_and_loopback_only_urls(terminal, sample):
    term = terminal(sample, 5, "--quiet", public_host="127.0.0.1")
    term.read_until(rb"left")
    assert not re.search(r"[▀▄]{7}", term.text())  # a loopback URL gets no QR code
    assert "Warning : every URL is loopback-only" in term.text()  # ...and the banner says why
    port, path = term.url()
    assert fetch(port, path) == 200
    term.read_until(rb"1/\S+ downloads")
    time.sleep(1.2)
    term.read_until(rb"left")
    assert b"\x07" not in term.screen
    term.proc.send_signal(signal.SIGINT)
    assert term.proc.wait(timeout=10) == 0


def test_no_qr_flag(terminal, sample):
    term = terminal(sample, 5, "--no-qr")
    term.read_until(rb"left")
    assert not re.search(r"[▀▄]{7}", term.text())
