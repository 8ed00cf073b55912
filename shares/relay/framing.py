"""The relay protocol's bytes: HTTP/1.1 heads, body framing, the listen exchange.

Pure functions and one small state machine (chunked bodies), no I/O: the
relay's backend (shares/relay/backend.py) and the sender's tunnel
(shares/relay/tunnel.py) feed them what the sockets read. docs/relay.md
describes the exchange; every limit here is bounded so that a peer cannot
make either side buffer without end.
"""

import re
from dataclasses import dataclass

# A response head from the sender (the file name header can be long) or a
# listen request head from a sender: far more than either needs.
HEAD_MAX = 32 * 1024
HEADER_COUNT_MAX = 100
CHUNK_LINE_MAX = 1024
TRAILER_MAX = 8 * 1024
# Share routes one listen may carry: a sender process serves one share.
ROUTES_MAX = 16
LISTEN_PATH = "/_relay/listen"
LEAVE_PATH = "/_relay/leave"
BACKEND_PREFIX = "/_relay/"

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
        "content-length",  # re-stated by whoever frames the body
        "expect",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_STATUS_LINE = re.compile(r"^HTTP/1\.[01] (\d{3})(?: (.*))?$")
_REQUEST_LINE = re.compile(r"^([A-Z]{1,16}) (\S{1,8192}) HTTP/1\.[01]$")


class FramingError(ValueError):
    """The peer sent something this protocol does not accept."""


Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Head:
    """One parsed head: the start line's parts and the header fields in order."""

    first: tuple[str, ...]  # (method, target) or (status, reason)
    headers: Headers

    def get(self, name: str) -> str | None:
        """The single value of a header; FramingError if it is sent twice with different values."""
        found = {value for key, value in self.headers if key.lower() == name}
        if len(found) > 1:
            raise FramingError(f"conflicting {name} headers")
        return found.pop() if found else None

    @property
    def status(self) -> int:
        return int(self.first[0])


def split_head(buffer: bytes, limit: int = HEAD_MAX) -> tuple[bytes, bytes] | None:
    """(head, rest) once the blank line has arrived, None while it has not."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > limit:
            raise FramingError("head too large")
        return None
    if end + 4 > limit:
        raise FramingError("head too large")
    return buffer[:end], buffer[end + 4 :]


def _fields(lines: list[str]) -> Headers:
    if len(lines) > HEADER_COUNT_MAX:
        raise FramingError("too many header fields")
    headers = []
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.match(name):
            raise FramingError("malformed header field")
        value = value.strip(" \t")
        if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
            raise FramingError("control character in a header value")
        headers.append((name, value))
    return headers


def _lines(head: bytes) -> list[str]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover (latin-1 decodes every byte)
        raise FramingError("undecodable head") from None
    return text.split("\r\n")


def parse_response(head: bytes) -> Head:
    lines = _lines(head)
    match = _STATUS_LINE.match(lines[0])
    if not match:
        raise FramingError("malformed status line")
    return Head((match.group(1), match.group(2) or ""), _fields(lines[1:]))


def parse_request(head: bytes) -> Head:
    lines = _lines(head)
    match = _REQUEST_LINE.match(lines[0])
    if not match:
        raise FramingError("malformed request line")
    return Head((match.group(1), match.group(2)), _fields(lines[1:]))


# --- body framing (RFC 9112 section 6.3) ------------------------------------


@dataclass(frozen=True)
class Framing:
    kind: str  # "none", "length", "chunked" or "close"
    length: int = 0


def response_framing(method: str, head: Head) -> Framing:
    """How the body of this response to `method` ends."""
    status = head.status
    if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return Framing("none")
    coding = head.get("transfer-encoding")
    if coding is not None:
        if coding.strip().lower() != "chunked":
            raise FramingError("unsupported transfer coding")
        return Framing("chunked")
    length = head.get("content-length")
    if length is not None:
        if not length.isdigit() or len(length) > 19:
            raise FramingError("malformed Content-Length")
        return Framing("length", int(length))
    return Framing("close")


class ChunkedDecoder:
    """Chunked transfer coding to body bytes; `done` once the last chunk and trailer are read."""

    def __init__(self):
        self.state = "size"
        self.left = 0
        self.line = b""
        self.trailer = 0
        self.done = False

    def feed(self, data: bytes) -> list[bytes]:
        out = []
        view = memoryview(data)
        while view and not self.done:
            if self.state == "data":
                take = view[: self.left]
                out.append(bytes(take))
                self.left -= len(take)
                view = view[len(take) :]
                if self.left == 0:
                    self.state = "data-end"
                continue
            end = bytes(view[: CHUNK_LINE_MAX + 2]).find(b"\n")
            if end < 0:
                self.line += bytes(view)
                view = view[len(view) :]
                if len(self.line) > CHUNK_LINE_MAX:
                    raise FramingError("chunk line too long")
                continue
            line, view = self.line + bytes(view[:end]), view[end + 1 :]
            self.line = b""
            if len(line) > CHUNK_LINE_MAX or not line.endswith(b"\r"):
                raise FramingError("malformed chunk line")
            self._line(line[:-1])
        return out

    def _line(self, line: bytes) -> None:
        if self.state == "data-end":
            if line:
                raise FramingError("chunk data longer than its size")
            self.state = "size"
        elif self.state == "size":
            size = line.split(b";", 1)[0].strip()
            if not size or len(size) > 15 or not all(c in b"0123456789abcdefABCDEF" for c in size):
                raise FramingError("malformed chunk size")
            self.left = int(size, 16)
            self.state = "data" if self.left else "trailer"
        else:  # trailer fields, ignored, up to the blank line
            self.trailer += len(line) + 2
            if self.trailer > TRAILER_MAX:
                raise FramingError("trailer too large")
            if not line:
                self.done = True


# --- what travels over the tunnel -------------------------------------------


def forwardable(headers: Headers) -> Headers:
    """Header fields worth passing on: not hop-by-hop, not named by Connection."""
    named = set()
    for key, value in headers:
        if key.lower() == "connection":
            named.update(part.strip().lower() for part in value.split(","))
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() not in named]


def _head_bytes(first: str, headers: Headers) -> bytes:
    lines = [first, *(f"{k}: {v}" for k, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def package_request(method: str, target: str, headers: Headers, body: bytes = b"") -> bytes:
    """The recipient's request as the sender's server will read it: one request, then close."""
    fields = forwardable(headers)
    if body or method == "POST":
        fields.append(("Content-Length", str(len(body))))
    fields.append(("Connection", "close"))
    return _head_bytes(f"{method} {target} HTTP/1.1", fields) + body


def with_prefix(package: bytes, prefix: str) -> bytes:
    """A packaged request with the sender's own URL prefix put before its path."""
    if not prefix:
        return package
    method, space, rest = package.partition(b" ")
    return method + space + prefix.encode("latin-1") + rest


def listen_answer(client_ip: str, package: bytes, waiting: int) -> bytes:
    """The relay's answer to a listen: a recipient's request, with who sent it."""
    fields = [
        ("Content-Type", "application/http"),
        ("Pasla-Client", client_ip),
        ("Pasla-Waiting", str(waiting)),
        ("Content-Length", str(len(package))),
    ]
    return _head_bytes("HTTP/1.1 200 OK", fields) + package


LISTEN_HELD = b"HTTP/1.1 100 Continue\r\n\r\n"
LISTEN_IDLE = b"HTTP/1.1 204 No Content\r\n\r\n"


def refusal(status: int, reason: str, retry_after: int | None = None) -> bytes:
    body = f"{reason}\n".encode()
    fields = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    if retry_after is not None:
        fields.append(("Retry-After", str(retry_after)))
    fields.append(("Connection", "close"))
    return _head_bytes(f"HTTP/1.1 {status} {reason}", fields) + body


# --- routes: which shares a listen answers for ------------------------------


@dataclass(frozen=True)
class Route:
    digest: str  # SHA-256 hex of the share's token (shares/tokens.py)
    expires: int  # Unix time after which the relay forgets it


def format_routes(routes: list[Route]) -> str:
    return ", ".join(f"{r.digest} {r.expires}" for r in routes)


def parse_routes(value: str | None) -> list[Route]:
    if not value:
        raise FramingError("no routes")
    parts = [p.strip() for p in value.split(",")]
    if len(parts) > ROUTES_MAX:
        raise FramingError("too many routes")
    routes = []
    for part in parts:
        digest, _, expires = part.partition(" ")
        if not _DIGEST.match(digest) or not expires.isdigit() or len(expires) > 12:
            raise FramingError("malformed route")
        routes.append(Route(digest, int(expires)))
    return routes


def listen_request(host: str, base_path: str, key: str, routes: list[Route], leave: bool = False) -> bytes:
    """A sender's listen (or leave) request; `base_path` is the relay URL's path, '' or '/x'."""
    fields = [
        ("Host", host),
        ("Authorization", f"Bearer {key}"),
        ("Pasla-Routes", format_routes(routes)),
        ("Content-Length", "0"),
    ]
    if leave:
        fields.append(("Connection", "close"))
    path = base_path + (LEAVE_PATH if leave else LISTEN_PATH)
    return _head_bytes(f"POST {path} HTTP/1.1", fields)


def bearer(value: str | None) -> str | None:
    """The key of an `Authorization: Bearer KEY` header."""
    if not value or len(value) > 256:
        return None
    scheme, _, key = value.partition(" ")
    return key.strip() or None if scheme.lower() == "bearer" else None


def backend_path(target: str, prefix: str) -> str | None:
    """The backend endpoint a request line names (listen or leave), under the relay's prefix."""
    if prefix and not target.startswith(prefix + "/"):
        return None
    path = target[len(prefix) :]
    return path if path in (LISTEN_PATH, LEAVE_PATH) else None
