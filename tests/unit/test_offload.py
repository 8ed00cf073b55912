"""The database lane: blocking calls on its own threads, results on the event loop."""

import asyncio
import contextvars
import threading
import time

import pytest

from shares.handling.offload import Lane

request_id = contextvars.ContextVar("request_id", default="-")


def run(coroutine):
    return asyncio.run(coroutine)


def test_result_and_error_reach_the_awaiting_side():
    lane = Lane(2, "t_result")

    def fails():
        raise LookupError("no such share")

    async def main():
        value = await lane.submit(lambda a, b: a * b, 6, b=7)
        with pytest.raises(LookupError, match="no such share"):
            await lane.submit(fails)
        return value

    assert run(main()) == 42
    lane.shutdown()


def test_work_runs_off_the_loop_thread_with_the_callers_context():
    lane = Lane(1, "t_context")

    def seen():
        return threading.current_thread().name, request_id.get()

    async def main():
        request_id.set("req-7")
        return await lane.submit(seen)

    name, rid = run(main())
    assert name == "t_context_0"
    assert name != threading.current_thread().name
    assert rid == "req-7"
    lane.shutdown()


@pytest.mark.parametrize(
    ("size", "calls", "most_threads"),
    [
        (1, 20, 1),  # SQLite: one writer at a time, always the same thread
        (4, 20, 4),
    ],
)
def test_threads_never_exceed_the_size(size, calls, most_threads):
    lane = Lane(size, f"t_size{size}")
    names = set()
    gate = threading.Event()

    def work():
        names.add(threading.current_thread().name)
        gate.wait(0.05)  # overlap the calls so the lane wants more threads

    async def main():
        await asyncio.gather(*(lane.submit(work) for _ in range(calls)))

    run(main())
    assert 1 <= len(names) <= most_threads
    if size == 1:
        assert names == {"t_size1_0"}
    lane.shutdown()


def test_size_may_be_decided_when_the_first_thread_starts():
    asked = []

    def decide():
        asked.append(True)
        return 1

    lane = Lane(decide, "t_lazy")
    assert asked == []
    assert run(_submit(lane, lambda: "ok")) == "ok"
    assert asked == [True]
    assert lane.size == 1
    lane.shutdown()


async def _submit(lane, fn):
    return await lane.submit(fn)


def test_a_caller_that_stopped_waiting_does_not_stop_the_lane():
    """A client leaving cancels the awaiting side; the call itself still runs
    (it may be closing a download's books) and the next one is served."""
    lane = Lane(1, "t_cancel")
    finished = threading.Event()

    def slow():
        time.sleep(0.05)
        finished.set()

    async def main():
        future = lane.submit(slow)
        future.cancel()
        return await lane.submit(lambda: "next")

    assert run(main()) == "next"
    assert finished.wait(1)
    lane.shutdown()


def test_queued_work_still_runs_at_shutdown_even_after_its_loop_closed():
    """Books queued as the server stops are still written, though nobody awaits them."""
    lane = Lane(1, "t_shutdown")
    release = threading.Event()
    done = []

    async def main():
        lane.submit(release.wait, 5)
        for index in range(3):
            lane.submit(done.append, index)

    run(main())  # the loop is closed now; results have nowhere to go
    release.set()
    lane.shutdown()
    assert done == [0, 1, 2]
    with pytest.raises(RuntimeError, match="shut down"):
        run(_submit(lane, lambda: None))
