"""`manage.py pasla get URL [-o FILE] [-c]`: download a share, decrypting an encrypted one.

The body goes to a partial file beside the output (named after the URL,
so `-c` finds it before asking anything) and is renamed only once every
check passed: an encrypted share's records authenticated one by one and
its SHA-256, a plain share's Repr-Digest. A cut connection keeps the
partial file and what is needed to resume it (`-c` asks for the rest with
Range and If-Range); an altered byte, a wrong key or a wrong digest
removes it: nothing is left behind that could be taken for the file.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import ssl
import sys
import urllib.parse
from pathlib import Path

from shares import __version__
from shares.cli.parser import CliError
from shares.e2e import ece, links
from shares.e2e.stream import StreamOpener

CHUNK = 1 << 20
TIMEOUT = 60


class Failed(Exception):
    """The download cannot succeed as it is: the partial file goes."""


class Interrupted(Exception):
    """The transfer broke off: the partial file stays for `-c`."""


class Partial:
    """The partial file and its state (ETag, name, an encrypted share's head)."""

    def __init__(self, directory: Path, stem: str):
        self.data = directory / (stem + ".part")
        self.state_path = directory / (stem + ".json")

    def load(self) -> dict | None:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None

    def save(self, state: dict) -> None:
        fd = os.open(self.state_path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh)

    def size(self) -> int:
        try:
            return self.data.stat().st_size
        except FileNotFoundError:
            return 0

    def discard(self) -> None:
        for path in (self.data, self.state_path):
            path.unlink(missing_ok=True)


def _context(pin: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if pin:
        # A self-signed certificate (pasla --https) is checked by its fingerprint, after the handshake.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _request(bare: str, headers: dict, pin: str | None) -> tuple[http.client.HTTPConnection, object]:
    parts = urllib.parse.urlsplit(bare)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=TIMEOUT, context=_context(pin))
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    conn.connect()
    if pin:
        if parts.scheme != "https":
            raise Failed("--cert-sha256 needs an https:// URL")
        seen = hashlib.sha256(conn.sock.getpeercert(binary_form=True)).hexdigest()
        if not hmac.compare_digest(seen, pin):
            conn.close()
            raise Failed("the server's certificate does not have the SHA-256 given with --cert-sha256")
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    agent = f"pasla-get/{__version__}"
    conn.request("GET", target, headers={"Accept": "*/*", "User-Agent": agent, **headers})
    return conn, conn.getresponse()


def _check_status(resp, start: int) -> int:
    """The total size the response describes; Failed/Interrupted for an answer that is no body."""
    if resp.status in (429, 503):
        raise Interrupted(f"the server is busy ({resp.status} {resp.reason}); try again later")
    if resp.status == 404:
        raise Failed("no such share (the link is wrong, or the share is long gone)")
    if resp.status == 410:
        raise Failed("the share has ended (expired, stopped or used up)")
    if resp.status == 200:
        length = resp.getheader("Content-Length")
        if length is None or not length.isdigit():
            raise Failed("the server sent no Content-Length")
        return int(length)
    if resp.status == 206:
        found = (resp.getheader("Content-Range") or "").removeprefix("bytes ")
        span, _, total = found.partition("/")
        first, _, _last = span.partition("-")
        if not (first.isdigit() and total.isdigit()) or int(first) != start:
            raise Failed("the server answered the resume with another range")
        return int(total)
    raise Failed(f"the server answered {resp.status} {resp.reason}")


def _read_exactly(resp, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        piece = resp.read(count - len(data))
        if not piece:
            raise Interrupted("the connection closed before the encrypted share's metadata arrived")
        data += piece
    return bytes(data)


def _hash_prefix(path: Path, size: int) -> "hashlib._Hash":
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while size > 0:
            data = fh.read(min(CHUNK, size))
            if not data:
                break
            digest.update(data)
            size -= len(data)
    return digest


class Download:
    def __init__(self, opts):
        self.bare, self.secret = links.split(opts.url)
        self.output = Path(opts.output) if opts.output else None
        directory = self.output.parent if self.output else Path.cwd()
        self.partial = Partial(directory, links.part_stem(self.bare))
        self.pin = opts.cert_sha256.replace(":", "").lower() if opts.cert_sha256 else None
        self.resume = opts.resume
        self.progress = sys.stderr.isatty()

    def target(self, name: str | None) -> Path:
        if self.output is not None:
            path = self.output
        else:
            safe = links.safe_name(name or "")
            if safe is None:
                raise Failed("the share's file name is not a plain name to write here; give one with -o")
            path = Path.cwd() / safe
        if path.exists():
            raise Failed(f"{path} exists; remove it or name another file with -o")
        return path

    def run(self) -> Path:
        state = self.partial.load() if self.resume else None
        if state is None:
            self.partial.discard()
        if self.output is not None and self.output.exists():
            raise Failed(f"{self.output} exists; remove it or name another file with -o")
        if self.secret is not None:
            return self._encrypted(state if state and state.get("head") else None)
        return self._plain(state if state and "head" not in state else None)

    # --- an encrypted share ----------------------------------------------------

    def _encrypted(self, state) -> Path:
        opener, first, headers = None, 1, {}
        if state is not None:
            opener = ece.Opener(self.secret, base64.b64decode(state["head"]))
            first = ece.resume_record(min(self.partial.size(), opener.size))
            headers = {"Range": f"bytes={ece.record_start(first)}-", "If-Range": state["etag"]}
        conn, resp = _request(self.bare, headers, self.pin)
        try:
            total = _check_status(resp, ece.record_start(first) if headers else 0)
            if resp.status == 200:
                opener, first = None, 1
            if opener is None:
                head = _read_exactly(resp, ece.HEAD_SIZE)
                opener = ece.Opener(self.secret, head)
                state = {"head": base64.b64encode(head).decode(), "etag": resp.getheader("ETag", "")}
            if total != ece.ciphertext_size(opener.size):
                raise Failed("the server's size does not match the encrypted share's metadata")
            meta = opener.metadata
            target = self.target(state.get("name") or meta.name)
            state["name"] = target.name
            self.partial.save(state)
            keep = (first - 1) * ece.DATA_PER_RECORD
            digest = _hash_prefix(self.partial.data, keep) if keep else hashlib.sha256()
            stream = StreamOpener(opener, first)
            with open(self.partial.data, "ab") as out:
                out.truncate(keep)
                self._copy(resp, out, digest, stream, total)
                stream.finish()
                out.flush()
                os.fsync(out.fileno())
        finally:
            conn.close()
        if meta.sha256 and not hmac.compare_digest(digest.hexdigest(), meta.sha256):
            raise Failed("the decrypted file's SHA-256 differs from the one its sender recorded")
        return self._finish(target)

    # --- a plain share ---------------------------------------------------------

    def _plain(self, state) -> Path:
        have = self.partial.size() if state else 0
        headers = {"Range": f"bytes={have}-", "If-Range": state["etag"]} if state and have else {}
        conn, resp = _request(self.bare, headers, self.pin)
        try:
            total = _check_status(resp, have)
            if resp.status == 200:
                have = 0
            name = (state or {}).get("name") or links.disposition_name(resp.getheader("Content-Disposition"))
            target = self.target(name or links.url_name(self.bare))
            wanted = links.repr_digest(resp.getheader("Repr-Digest"))
            self.partial.save({"etag": resp.getheader("ETag", ""), "name": target.name})
            digest = _hash_prefix(self.partial.data, have) if have else hashlib.sha256()
            with open(self.partial.data, "ab") as out:
                out.truncate(have)
                self._copy(resp, out, digest, None, total - have)
                out.flush()
                os.fsync(out.fileno())
        finally:
            conn.close()
        if wanted and not hmac.compare_digest(digest.hexdigest(), wanted):
            raise Failed("the file's SHA-256 differs from the server's Repr-Digest")
        return self._finish(target)

    # --- both ------------------------------------------------------------------

    def _copy(self, resp, out, digest, stream, expected: int) -> None:
        """The body into `out` (decrypted when `stream` is given), hashed as it goes."""
        received = 0
        while True:
            try:
                data = resp.read(CHUNK)
            except http.client.IncompleteRead as exc:
                data = exc.partial
                if not data:
                    break
            if not data:
                break
            received += len(data)
            for piece in stream.feed(data) if stream else (data,):
                out.write(piece)
                digest.update(piece)
            if self.progress:
                sys.stderr.write(f"\r{received >> 20} MiB")
        if self.progress:
            sys.stderr.write("\r")
        cut = received < expected if stream is None else not stream.done
        if cut:
            raise Interrupted(f"the connection closed early ({received} bytes of this response arrived)")

    def _finish(self, target: Path) -> Path:
        if target.exists():
            raise Failed(f"{target} exists; remove it or name another file with -o")
        os.rename(self.partial.data, target)
        self.partial.state_path.unlink(missing_ok=True)
        return target


def run(opts) -> int:
    try:
        download = Download(opts)
    except links.LinkError as exc:
        raise CliError(str(exc)) from None
    try:
        target = download.run()
    except (Failed, ece.FormatError) as exc:
        download.partial.discard()
        raise CliError(str(exc)) from None
    except (Interrupted, OSError, http.client.HTTPException) as exc:
        kept = download.partial.size()
        if not kept:
            download.partial.discard()
        reason = str(exc) or type(exc).__name__
        hint = f"; {kept} bytes kept, run again with -c to resume" if kept else ""
        raise CliError(f"download interrupted: {reason}{hint}") from None
    print(target)
    return 0
