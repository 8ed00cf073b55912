"""An `--e2e` body is the same ciphertext whichever way the server sends it.

Plain TCP: the server reads the sealed records and writes them to the socket
itself (shares/server/sending/source_sender.py). TLS: the TLS sender encrypts them
in large pieces. With PASLA_ZERO_COPY=0: Django streams them. Each path is
named in the debug log, so a test for one path cannot pass on another.
"""

import base64
import os

import pytest

from shares.e2e import ece
from shares.e2e.stream import StreamOpener
from tests.sockets import get_while_rewritten

PATHS = {
    "server-sent": ([], {}, "goes out by SourceSender"),
    "tls": (["--https"], {}, "goes out by TLSFileSender"),
    "streamed": ([], {"PASLA_ZERO_COPY": "0"}, None),
}
SIZE = 5 * ece.DATA_PER_RECORD + 12345  # records cut at odd places, and a short last one


def key_of(url: str) -> bytes:
    return base64.urlsafe_b64decode(url.partition("#k=")[2] + "==")


def open_all(key: bytes, whole: bytes) -> bytes:
    stream = StreamOpener(ece.Opener(key, whole[: ece.HEAD_SIZE]))
    plain = b"".join(bytes(piece) for piece in stream.feed(whole[ece.HEAD_SIZE :]))
    stream.finish()
    return plain


@pytest.mark.parametrize("path", PATHS)
def test_full_and_ranged_gets_are_the_same_ciphertext_on_every_path(pasla, tmp_path, path):
    args, env, named = PATHS[path]
    original = tmp_path / "secret.bin"
    original.write_bytes(os.urandom(SIZE))
    served = pasla(original, "--e2e", *args, env={"PASLA_LOG_LEVEL": "DEBUG", **env})
    resp, body = served.fetch()
    assert resp.status == 200 and len(body) == int(resp.getheader("Content-Length"))
    assert open_all(key_of(served.url), body) == original.read_bytes()

    for first, last in [
        (0, 0),
        (1, ece.RS + 5),
        (ece.record_start(3) - 7, len(body) - 1),
        (len(body) - 1,) * 2,
    ]:
        part, piece = served.fetch(headers={"Range": f"bytes={first}-{last}"})
        assert part.status == 206 and piece == body[first : last + 1], (first, last)
    served.wait_until(lambda: all(r["outcome"] != "in_progress" for r in served.downloads()))
    log = served.stderr()
    if named:
        assert named in log
    else:
        assert "goes out by" not in log


@pytest.mark.parametrize("path", ["server-sent", "tls"])
def test_a_plaintext_rewritten_mid_send_breaks_the_encrypted_download(pasla, tmp_path, path):
    size = 32 << 20
    original = tmp_path / "secret.bin"
    original.write_bytes(os.urandom(size))
    served = pasla(original, 1, "--e2e", *PATHS[path][0])
    tls = path == "tls"
    status, headers, body = get_while_rewritten(served, original, size, read_first=64 << 10, tls=tls)
    assert status.startswith(b"HTTP/1.1 200")
    length = int(headers[b"Content-Length"])
    assert len(body) < length, "a body mixing two plaintexts arrived as a complete response"
    served.wait_until(lambda: served.downloads()[0]["outcome"] == "failed")
    assert str(tmp_path) not in served.stderr()
