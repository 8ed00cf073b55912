"""A stand-in for the standalone tool's HTTPS mode, for bench/run.py --https --against.

    python bench/ssl_file_server.py DIR PORT

Serves the files of DIR at /NAME over HTTPS the way the standalone tool's
README describes its own sending: a thread per connection
(ThreadingMixIn), the stdlib `ssl` module over the socket, a TLS 1.2
minimum with ECDHE+AESGCM:ECDHE+CHACHA20 suites, an ephemeral ECDSA P-256
certificate, and the body read with `readinto` into a 256 KiB buffer that
is handed to the TLS socket with `sendall`. GET only, whole files only:
enough to time the same transfers the bench times on pasla.
"""

import datetime as dt
import http.server
import os
import shutil
import signal
import socketserver
import ssl
import sys
import tempfile
import urllib.parse
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CHUNK = 256 << 10
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"


def ephemeral_context(work: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (work / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (work / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.load_cert_chain(work / "cert.pem", work / "key.pem")
    return context


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    directory: Path

    def do_GET(self):
        name = urllib.parse.unquote(self.path.lstrip("/"))
        path = self.directory / name
        if "/" in name or not path.is_file():
            self.send_error(404)
            return
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            while True:
                got = fh.readinto(buffer)
                if not got:
                    break
                self.wfile.write(view[:got])

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    context: ssl.SSLContext

    def finish_request(self, request, client_address):
        # The handshake happens in the connection's own thread, as in the tool.
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.RequestHandlerClass(tls, client_address, self)


def main(argv: list[str]) -> int:
    directory, port = Path(argv[0]), int(argv[1])
    work = Path(tempfile.mkdtemp(prefix="ssl-file-server-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        Handler.directory = directory
        server = Server(("127.0.0.1", port), Handler)
        server.context = ephemeral_context(work)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
