"""A baseline, not a server to use: what serving a file costs with nothing but os.sendfile.

    python bench/bare_sendfile.py DIRECTORY PORT

Answers every GET for a file in DIRECTORY with a 200 and the whole file,
sent by blocking os.sendfile calls on a thread per connection; no ranges,
no keep-alive, no checks. Run as `bench/run.py --against 'python
bench/bare_sendfile.py {dir} {port}'` it shows how much of pasla's CPU per
GiB is the kernel's own cost of moving the bytes on this machine, which no
server that sends the file itself can go below.
"""

import os
import socket
import socketserver
import sys
import urllib.parse
from pathlib import Path


class FileHandler(socketserver.BaseRequestHandler):
    root: Path

    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            data = self.request.recv(65536)
            if not data or len(head) > 65536:
                return
            head += data
        target = head.split(b" ", 2)[1].decode("latin-1")
        name = urllib.parse.unquote(target.lstrip("/"))
        path = self.root / name
        if "/" in name or not path.is_file():
            self.request.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size
            )
            offset = 0
            try:
                while offset < size:
                    sent = os.sendfile(self.request.fileno(), fh.fileno(), offset, size - offset)
                    if sent == 0:
                        break
                    offset += sent
            except OSError:
                pass  # the client left


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def main() -> None:
    directory, port = Path(sys.argv[1]).resolve(), int(sys.argv[2])
    FileHandler.root = directory
    with Server(("127.0.0.1", port), FileHandler) as server:
        server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.serve_forever()


if __name__ == "__main__":
    main()
