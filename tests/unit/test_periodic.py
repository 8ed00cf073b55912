"""OffLoop: a blocking job never runs twice at once, and its end is reported."""

import asyncio
import threading

from shares.server.periodic import OffLoop


def test_a_call_while_one_runs_is_skipped_and_the_next_tick_goes():
    release = threading.Event()
    calls, ends = [], []

    def job(n):
        calls.append(n)
        release.wait(5)
        return n * 10

    async def scenario():
        ended = asyncio.Event()
        runner = OffLoop(job, lambda future: (ends.append(future.result()), ended.set()))
        assert runner.submit(1)
        assert not runner.submit(2)  # the first still runs: skipped, not queued
        release.set()
        await ended.wait()
        assert not runner.busy
        ended.clear()
        assert runner.submit(3)
        await ended.wait()

    asyncio.run(scenario())
    assert calls == [1, 3] and ends == [10, 30]


def test_a_failing_call_reaches_done_and_frees_the_job():
    seen = []

    def job():
        raise RuntimeError("database away")

    async def scenario():
        ended = asyncio.Event()
        runner = OffLoop(job, lambda future: (seen.append(future.exception()), ended.set()))
        runner.submit()
        await ended.wait()
        return runner.busy

    assert asyncio.run(scenario()) is False
    assert [str(e) for e in seen] == ["database away"]


def test_without_done_a_failure_is_logged_with_what_was_tried(caplog):
    def job():
        raise RuntimeError("database away")

    async def scenario():
        runner = OffLoop(job, what="record download progress")
        runner.submit()
        while runner.busy:
            await asyncio.sleep(0.01)

    with caplog.at_level("WARNING", logger="pasla"):
        asyncio.run(scenario())
    assert [r.getMessage() for r in caplog.records] == ["could not record download progress: database away"]
