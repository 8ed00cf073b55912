"""FileSender on a real socket: exactly the range goes, and a short file is noticed."""

import asyncio
import os
import socket

import pytest
from twisted.internet.abstract import FileDescriptor

from shares.server.sending import zero_copy

MIB = 1 << 20
SIZE = 3 * MIB + 12345


class WriterBook:
    """The reactor's part FileSender touches: who wants writable events."""

    def __init__(self):
        self.writers = set()

    def addWriter(self, fd):
        self.writers.add(fd)

    def removeWriter(self, fd):
        self.writers.discard(fd)


class SocketSide(FileDescriptor):
    """Stands in for twisted.internet.tcp.Connection: a socket, and a reactor's writer book."""

    def __init__(self, sock):
        super().__init__(reactor=WriterBook())
        self.socket = sock

    def fileno(self):
        return self.socket.fileno()


def drain(sock, into: bytearray) -> None:
    try:
        while chunk := sock.recv(MIB):
            into += chunk
    except BlockingIOError:
        pass


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        theirs = socket.create_connection(listener.getsockname())
        ours, _ = listener.accept()
    return ours, theirs


def corked(sock) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK))


async def send_range(path, offset, count, kind="unix", seen_corked=None):
    """Run a FileSender to its end, reading the other side as a client would."""
    ours, theirs = socket.socketpair() if kind == "unix" else tcp_pair()
    ours.setblocking(False)
    theirs.setblocking(False)
    fd = os.open(path, os.O_RDONLY)
    transport = SocketSide(ours)
    progress = []
    try:
        done = zero_copy.FileSender(transport, fd, offset, count, progress.append).start()
        received = bytearray()
        while not done.done():
            if seen_corked is not None:
                seen_corked.append(corked(ours))
            if transport in transport.reactor.writers:
                transport.doWrite()  # what the reactor calls on a writable event
            await asyncio.sleep(0)
            drain(theirs, received)
        if seen_corked is not None:
            seen_corked.append(corked(ours))
        # What the sender leaves in the socket must go at once: a corked
        # tail would wait 200 ms for the kernel to give up on more.
        theirs.settimeout(0.1)
        while len(received) < count:
            try:
                chunk = theirs.recv(MIB)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
        return bytes(received), progress, done.result(), transport in transport.reactor.writers
    finally:
        os.close(fd)
        ours.close()
        theirs.close()


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    path = tmp_path_factory.mktemp("sender") / "payload.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


@pytest.mark.parametrize("kind", ["unix", "tcp"])
@pytest.mark.parametrize(
    "offset, count",
    [(0, SIZE), (0, 1), (1, SIZE - 1), (MIB - 3, MIB + 6), (SIZE - 1, 1), (5, 0)],
)
def test_exactly_the_range_goes(payload, offset, count, kind):
    data = payload.read_bytes()
    received, progress, problem, still_writing = asyncio.run(send_range(payload, offset, count, kind))
    assert problem is None
    assert received == data[offset : offset + count]
    assert sum(progress) == count
    assert not still_writing  # the transport is handed back idle


def test_a_file_shorter_than_the_range_ends_the_send(payload):
    data = payload.read_bytes()
    received, progress, problem, _ = asyncio.run(send_range(payload, SIZE - 1000, 5000))
    assert isinstance(problem, zero_copy.ClientGone) and str(problem) == "file ended early"
    assert received == data[-1000:] and sum(progress) == 1000


@pytest.mark.parametrize("count", [SIZE, 100])
def test_the_socket_is_corked_only_while_the_range_goes(payload, count):
    seen = []
    received, _, problem, _ = asyncio.run(send_range(payload, 0, count, "tcp", seen))
    assert problem is None and received == payload.read_bytes()[:count]
    assert seen[0] and not seen[-1]
