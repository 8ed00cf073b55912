"""Time to first byte of a 2 GiB directory shared as an archive.

Builds a directory of sparse files (no real disk use), starts
`manage.py pasla DIR --json -p 0`, and times a plain GET from the request
to the first body byte, for zip and tar. Usable on its own:

    .venv/bin/python bench/first_byte_dir.py [--gib 2] [--files 8]

or from bench/run.py: `from bench.first_byte_dir import first_byte_dir`.
"""

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIB = 1 << 30


def build_tree(base: Path, total: int, files: int) -> Path:
    root = base / "bench-dir"
    (root / "nested").mkdir(parents=True)
    each = total // files
    for i in range(files):
        where = root / "nested" if i % 2 else root
        with open(where / f"part-{i:03d}.img", "wb") as fh:
            fh.truncate(each)  # sparse: no blocks written
    (root / "readme.txt").write_text("bench\n")
    return root


def _start(args: list[str], data_dir: Path) -> tuple[subprocess.Popen, dict, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASLA_")}
    env.update({"PASLA_DATA_DIR": str(data_dir), "PASLA_PUBLIC_HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"})
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "pasla", *args, "--json", "-p", "0"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    if not ready:
        proc.kill()
        raise RuntimeError("pasla did not start")
    info = json.loads(proc.stdout.readline())
    return proc, info, time.perf_counter() - began


def _first_byte(url: str) -> float:
    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    try:
        request = f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
        began = time.perf_counter()
        sock.sendall(request.encode())
        buffered = b""
        while b"\r\n\r\n" not in buffered:
            buffered += sock.recv(65536)
        head, _, body = buffered.partition(b"\r\n\r\n")
        while not body:
            body = sock.recv(65536)
        elapsed = time.perf_counter() - began
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.split(b"\r\n")[0].decode())
        return elapsed
    finally:
        sock.close()


def first_byte_dir(total: int = 2 * GIB, files: int = 8, archive_format: str = "zip") -> dict:
    """Share a sparse `total`-byte directory and time its first byte; returns figures."""
    with tempfile.TemporaryDirectory(prefix="pasla-bench-") as tmp:
        base = Path(tmp)
        root = build_tree(base, total, files)
        (base / "data").mkdir(mode=0o700)
        proc, info, startup = _start([str(root), "5", "--archive", archive_format], base / "data")
        try:
            ttfb = _first_byte(info["url"])
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        return {
            "archive": archive_format,
            "archive_bytes": info["size"],
            "entries": info.get("entries"),
            "startup_seconds": round(startup, 3),
            "first_byte_seconds": round(ttfb, 4),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2)
    parser.add_argument("--files", type=int, default=8)
    opts = parser.parse_args()
    for archive_format in ("zip", "tar"):
        print(json.dumps(first_byte_dir(int(opts.gib * GIB), opts.files, archive_format)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
