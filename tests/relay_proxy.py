"""A small TCP relay for tests: it sits where a reverse proxy or relay would.

It records every byte clients send (what the server receives), and can
flip one byte of a response body or cut the connection after some of the
body, as a hostile or broken machine in the middle would.
"""

import socket
import threading


class RelayProxy:
    def __init__(self, upstream_port: int, flip_at: int | None = None, cut_after: int | None = None):
        self.upstream_port = upstream_port
        self.flip_at = flip_at
        self.cut_after = cut_after
        self.requests = bytearray()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, served_url: str) -> str:
        return served_url.replace(f":{self.upstream_port}/", f":{self.port}/", 1)

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                self.requests += data
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(upstream)

    def _down(self, upstream: socket.socket, client: socket.socket) -> None:
        head, body_seen = b"", None
        try:
            while data := upstream.recv(65536):
                if body_seen is None:
                    head += data
                    if b"\r\n\r\n" not in head:
                        continue
                    data = head[head.index(b"\r\n\r\n") + 4 :]
                    client.sendall(head[: head.index(b"\r\n\r\n") + 4])
                    body_seen = 0
                data = bytearray(data)
                if self.flip_at is not None and body_seen <= self.flip_at < body_seen + len(data):
                    data[self.flip_at - body_seen] ^= 0x01
                if self.cut_after is not None and body_seen + len(data) >= self.cut_after:
                    client.sendall(data[: self.cut_after - body_seen])
                    break
                client.sendall(data)
                body_seen += len(data)
        except OSError:
            pass
        finally:
            _close(client)
            _close(upstream)

    def close(self) -> None:
        self._stop = True
        _close(self.listener)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
