"""A relayed body moved by the kernel: splice(2) from the sender's socket to the recipient's.

Used when both sockets are plain TCP and the body has a known length (the
sender's downloads have one): bytes go sender socket -> pipe -> recipient
socket without ever being copied into Python, which is what lets a relay
keep up with a sender using sendfile. Twisted keeps owning both file
descriptors: while the pump runs, the sender transport's doRead and the
recipient transport's doWrite are replaced by ones that call `pump`, and
only one of the two is registered at a time, so a full recipient socket
stops the reading of the sender's (backpressure, by TCP, all the way back).
The headers Twisted queued for the recipient go out first.
"""

import fcntl
import os

from twisted.internet import main

from shares.server.sending import zero_copy

F_SETPIPE_SZ = 1031  # Linux
PIPE_SIZE = 1 << 20
# Most bytes one readiness event moves before the loop serves others.
TURN = 8 << 20
FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)


def available() -> bool:
    return hasattr(os, "splice")


class SplicePump:
    def __init__(self, source, target, length: int, on_moved, on_end):
        self.source = source  # the sender's Twisted TCP transport
        self.target = target  # the recipient's
        self.left = length  # bytes still to reach the recipient
        self.in_pipe = 0
        self.on_moved = on_moved  # called with each amount the recipient's socket took
        self.on_end = on_end  # called once with True (every byte moved) or False
        self.pipe = None
        self.running = False

    def start(self) -> None:
        read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.pipe = (read_end, write_end)
        try:
            fcntl.fcntl(write_end, F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # the system's default pipe size (64 KiB) works, in more steps
        self.running = True
        self.source.doRead = self._readable
        self.target.doWrite = self._writable
        self.target.startWriting()  # the queued headers first, then the pump

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        for transport, name in ((self.source, "doRead"), (self.target, "doWrite")):
            transport.__dict__.pop(name, None)
        if not self.source.disconnected:
            self.source.stopReading()
        if not self.target.disconnected and zero_copy.twisted_pending(self.target) == 0:
            self.target.stopWriting()
        for fd in self.pipe:
            os.close(fd)

    def _end(self, complete: bool):
        self.stop()
        self.on_end(complete)

    def _readable(self):
        return self.pump()

    def _writable(self):
        transport = self.target
        if zero_copy.twisted_pending(transport):
            why = type(transport).doWrite(transport)
            if why or zero_copy.twisted_pending(transport):
                return why
            transport.startWriting()  # Twisted stops writing once its buffer drained
        return self.pump()

    def pump(self):
        if not self.running:
            return None
        read_end, write_end = self.pipe
        turn = 0
        while self.left > 0:
            if turn >= TURN:
                return None  # the other connections get the loop; the reactor calls again

            if self.in_pipe == 0:
                try:
                    got = os.splice(self.source.fileno(), write_end, min(self.left, PIPE_SIZE), flags=FLAGS)
                except BlockingIOError:
                    self.target.stopWriting()
                    self.source.startReading()
                    return None
                except OSError:
                    self._end(False)
                    return main.CONNECTION_LOST
                if got == 0:  # the sender closed before the end of its body
                    self._end(False)
                    return None
                self.in_pipe = got
            try:
                moved = os.splice(read_end, self.target.fileno(), self.in_pipe, flags=FLAGS)
            except BlockingIOError:
                self.source.stopReading()
                self.target.startWriting()
                return None
            except OSError:
                self._end(False)
                return main.CONNECTION_LOST
            self.in_pipe -= moved
            self.left -= moved
            turn += moved
            self.on_moved(moved)
        self._end(True)
        return None
