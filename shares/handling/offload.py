"""Executor hops: sync_to_async wrappers made once per function, and a lean lane for the download's own rows.

sync_to_async(fn, thread_sensitive=False) runs fn on the loop's default
executor too, but wraps it in a coroutine that the view must turn into a
Task (to survive the client leaving), shields it, and copies every context
variable back after the call: three extra loop iterations per hop.
`submit` returns a
plain asyncio future instead, with the caller's context variables (the
request id for log lines) visible in the thread.

Nor does `submit` go through loop.run_in_executor: that builds a
concurrent.futures Future (a Condition and an RLock), takes the pool's
idle semaphore, and chains the result into an asyncio Future through two
more callbacks. A 1 KiB download makes two hops (lookup and settling), and
sampling the event-loop thread put that machinery at about a sixth of its
time per request. The `Lane` below is a queue and a few threads that hand
the result straight to an asyncio Future with call_soon_threadsafe.

Only for work that reads no asgiref Local (URL prefix, urlconf, active time
zone) and sets no context variable the caller reads back: sync_to_async
carries those across, this does not.
"""

import asyncio
import atexit
import contextvars
import functools
import os
import queue
import threading

from asgiref.sync import sync_to_async
from django.conf import settings


@functools.lru_cache(maxsize=64)
def hop(fn):
    """fn as a coroutine function run on the default executor (sync_to_async,
    not thread-sensitive). Made once per function: building a SyncToAsync
    inspects the function, about 13 microseconds of event-loop time."""
    return sync_to_async(fn, thread_sensitive=False)


def _resolve(future: asyncio.Future, result, error) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class Lane:
    """A few threads that run blocking calls for event loops, first come first served.

    Threads start on demand up to `size` and live as long as the process:
    each keeps its own database connection, as executor threads do. Work
    already queued when the interpreter exits still runs (its books must
    close); the threads are daemons only so that exit does not wait for a
    queue that will never be fed again.
    """

    def __init__(self, size, name: str):
        """size: the most threads, or a callable giving it when the first thread starts."""
        self._size = size
        self.name = name
        self._closed = False
        self._no_threads()
        # A child process inherits the list but not the threads.
        os.register_at_fork(after_in_child=self._no_threads)

    def _no_threads(self) -> None:
        self._queue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # written under _idle_lock, read without it
        self._idle_lock = threading.Lock()
        self._start_lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs) -> asyncio.Future:
        """fn(*args, **kwargs) on one of the lane's threads, in a copy of the current context."""
        if self._closed:
            raise RuntimeError(f"{self.name} is shut down")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((loop, future, contextvars.copy_context(), fn, args, kwargs))
        # A racy read on purpose: a thread too many or too few for a moment
        # costs nothing, a lock here would cost every request.
        if self._idle == 0 and len(self._threads) < self.size:
            self._add_thread()
        return future

    @property
    def size(self) -> int:
        if callable(self._size):
            self._size = self._size()
        return self._size

    def _add_thread(self) -> None:
        with self._start_lock:
            if len(self._threads) >= self.size:
                return
            if not self._threads:
                atexit.register(self.shutdown)
            thread = threading.Thread(
                target=self._work, name=f"{self.name}_{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        get = self._queue.get
        while True:
            with self._idle_lock:
                self._idle += 1
            item = get()
            with self._idle_lock:
                self._idle -= 1
            if item is None:
                return
            loop, future, context, fn, args, kwargs = item
            try:
                result, error = context.run(fn, *args, **kwargs), None
            except BaseException as exc:  # handed to the awaiting side, as an executor does
                result, error = None, exc
            del item, fn, args, kwargs, context
            try:
                loop.call_soon_threadsafe(_resolve, future, result, error)
            except RuntimeError:
                pass  # the loop closed meanwhile: nobody is waiting any more

    def shutdown(self) -> None:
        """Run what is queued, then stop every thread (idempotent)."""
        with self._start_lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join()


def _database_threads() -> int:
    """One thread for SQLite, four for a database server.

    SQLite takes one writer at a time, and a second thread of ours asking
    meanwhile does not queue: it sleeps in SQLite's busy handler, 1 ms at
    the least, which is more than a whole small download's database work.
    One thread keeps this process's writes in line. A server (PostgreSQL)
    locks rows, not the file, and each statement waits on the network, so
    a few threads overlap.
    """
    return 1 if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else 4


lane = Lane(_database_threads, "pasla_db")


def submit(fn, /, *args, **kwargs) -> asyncio.Future:
    """fn(*args, **kwargs) on the database lane, in a copy of the current context."""
    return lane.submit(fn, *args, **kwargs)
