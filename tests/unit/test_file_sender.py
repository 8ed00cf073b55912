"""FileSender on a real socket: the grant callback decides what goes, and refills rest."""

import asyncio
import os
import socket

import pytest
from twisted.internet.abstract import FileDescriptor

from shares.server import zero_copy

MIB = 1 << 20


class WriterBook:
    """The reactor's part FileSender touches: who wants writable events."""

    def __init__(self):
        self.writers = set()

    def addWriter(self, fd):
        self.writers.add(fd)

    def removeWriter(self, fd):
        self.writers.discard(fd)


class SocketSide(FileDescriptor):
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


async def send_all(path, count, grant, clock=None):
    """Run a FileSender to its end, reading the other side as a client would."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    fd = os.open(path, os.O_RDONLY)
    transport = SocketSide(ours)
    progress = []
    try:
        sender = zero_copy.FileSender(transport, fd, 0, count, progress.append, grant, clock)
        done = sender.start()
        received = bytearray()
        while not done.done():
            if transport in transport.reactor.writers:
                transport.doWrite()  # what the reactor calls on a writable event
            await asyncio.sleep(0.0002)
            drain(theirs, received)
        drain(theirs, received)
        return bytes(received), progress, done.result()
    finally:
        os.close(fd)
        ours.close()
        theirs.close()


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "payload.bin"
    path.write_bytes(os.urandom(3 * MIB + 12345))
    return path


def stop_at(limit):
    return lambda offset, count: max(0, min(count, limit - offset))


@pytest.mark.parametrize(
    "grant, expected_len, largest_call",
    [
        (None, 3 * MIB + 12345, None),  # no grant: the whole count
        (lambda offset, count: count, 3 * MIB + 12345, None),
        (lambda offset, count: min(count, 100_000), 3 * MIB + 12345, 100_000),  # small pieces
        (stop_at(MIB + 7), MIB + 7, None),  # refused from there on: the message ends early
        (stop_at(0), 0, None),  # refused at once: nothing goes
    ],
)
def test_the_grant_decides_what_goes(payload, grant, expected_len, largest_call):
    data = payload.read_bytes()
    received, progress, problem = asyncio.run(send_all(payload, len(data), grant))
    assert problem is None  # a refusal is not an error: the application knows why
    assert received == data[:expected_len]
    assert sum(progress) == expected_len
    if largest_call is not None:
        assert max(progress) <= largest_call


def test_a_refill_rests_before_the_next(payload):
    async def scenario(path, count):
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        fd = os.open(path, os.O_RDONLY)
        transport = SocketSide(ours)
        progress = []
        try:
            clock = zero_copy.RefillClock()
            sender = zero_copy.FileSender(transport, fd, 0, count, progress.append, None, clock)
            sender.start()
            transport.doWrite()  # fills the socket's buffer, not the whole count
            first = list(progress)
            transport.doWrite()  # writable again at once: it rests instead
            resting = transport not in transport.reactor.writers
            await asyncio.sleep(zero_copy.REFILL_INTERVAL * 3)
            awake = transport in transport.reactor.writers
            sender.stop()
            return first, progress, resting, awake
        finally:
            os.close(fd)
            ours.close()
            theirs.close()

    first, progress, resting, awake = asyncio.run(scenario(payload, payload.stat().st_size))
    assert len(first) == 1 and progress == first  # no second sendfile while resting
    assert resting and awake
