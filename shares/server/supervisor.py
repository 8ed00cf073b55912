"""The parent of `pasla serve --workers N`: binds, starts, watches, restarts.

The supervisor binds one SO_REUSEPORT socket per worker and address (so the
kernel spreads connections over the workers) and keeps its own copy of each:
when a worker dies, the connections the kernel queued on its socket wait
there for the replacement instead of being reset. It serves nothing itself.

When a worker dies unasked (SIGKILL, a crash), the supervisor closes the
history rows it left in progress, frees its slots and drops its share of the
connection counts, then starts a new worker on the same sockets. SIGTERM or
SIGINT is passed on to every worker, which drains its transfers and exits; a
second signal is passed on too (the workers then stop at once).
"""

import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger("pasla")

READY_TIMEOUT = 60.0
POLL = 0.2
# A worker that keeps dying right after its start is not restarted forever.
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0


class SupervisorError(Exception):
    pass


@dataclass
class Worker:
    index: int
    sockets: list[socket.socket]
    proc: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    def __init__(self, command: list[str], sockets_per_worker: list[list[socket.socket]], *, on_death=None):
        self.command = command
        self.workers = [Worker(i, socks) for i, socks in enumerate(sockets_per_worker)]
        self.on_death = on_death
        self.stopping = 0
        self.hostname = socket.gethostname()

    # --- starting -------------------------------------------------------------

    def _spawn(self, worker: Worker) -> int:
        """Start one worker; returns the read end of its readiness pipe."""
        read_end, write_end = os.pipe()
        fds = [s.fileno() for s in worker.sockets]
        args = [*self.command, "--worker-fds", ",".join(map(str, fds)), "--ready-fd", str(write_end)]
        try:
            worker.proc = subprocess.Popen(args, pass_fds=[*fds, write_end], stdin=subprocess.DEVNULL)
        finally:
            os.close(write_end)
        return read_end

    def _await_ready(self, pending: dict[int, Worker], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            while pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SupervisorError("workers did not become ready in time")
                ready, _, _ = select.select(list(pending), [], [], min(left, POLL))
                for fd in ready:
                    worker = pending.pop(fd)
                    if not os.read(fd, 1):
                        code = worker.proc.wait()
                        raise SupervisorError(f"worker {worker.index} exited {code} before it was ready")
                    os.close(fd)
        finally:
            for fd in pending:
                os.close(fd)

    def start(self) -> None:
        # Before anything is announced: a SIGTERM between the announcement
        # and run() must stop the workers, not kill this process alone.
        signal.signal(signal.SIGTERM, self._signal)
        signal.signal(signal.SIGINT, self._signal)
        pending = {self._spawn(worker): worker for worker in self.workers}
        self._await_ready(pending, READY_TIMEOUT)

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers if w.proc is not None]

    # --- running ----------------------------------------------------------------

    def _signal(self, signum, frame) -> None:
        self.stopping += 1
        for worker in self.workers:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._signal)
        signal.signal(signal.SIGINT, self._signal)
        status = 0
        while True:
            alive = 0
            for worker in self.workers:
                if worker.proc is None:
                    continue
                code = worker.proc.poll()
                if code is None:
                    alive += 1
                    continue
                if self.stopping:
                    worker.proc = None
                    continue
                if not self._replace(worker, code):
                    status = 1
                    self._signal(signal.SIGTERM, None)
                else:
                    alive += 1
            if self.stopping and alive == 0:
                break
            time.sleep(POLL)
        for worker in self.workers:
            for sock in worker.sockets:
                sock.close()
        return status

    def _replace(self, worker: Worker, code: int) -> bool:
        pid = worker.proc.pid
        log.warning("worker %d (pid %d) died with status %s: restarting it", worker.index, pid, code)
        if self.on_death is not None:
            try:
                self.on_death(pid, self.hostname)
            except Exception:
                log.exception("could not clean up after worker %d", pid)
        now = time.monotonic()
        worker.restarts = [t for t in worker.restarts if now - t < RESTART_WINDOW] + [now]
        if len(worker.restarts) > MAX_RESTARTS:
            log.error("worker %d keeps dying: stopping the server", worker.index)
            worker.proc = None
            return False
        read_end = self._spawn(worker)
        try:
            self._await_ready({read_end: worker}, READY_TIMEOUT)
        except SupervisorError as exc:
            log.error("%s", exc)
            return True  # polled again: it is dead, and counts as another restart
        return True


def worker_command(manage_py: str, argv: list[str]) -> list[str]:
    """The command line of a worker: the serve command as given (a worker ignores --workers)."""
    return [sys.executable, manage_py, "pasla", "serve", *argv]
