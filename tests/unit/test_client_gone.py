"""The server's word to a running request that its client left (no sockets)."""

import asyncio
import contextlib

import pytest

from shares.handling.client_gone import DisconnectWatch, LeaveNotice


@pytest.mark.parametrize(
    ("steps", "calls"),
    [
        (["listen", "left"], 1),  # the usual case: told while running
        (["left", "listen"], 1),  # left before the handler listened: told at once
        (["listen", "left", "left"], 1),  # a second loss is the same loss
        (["listen", "stop", "left"], 0),  # the request was done first
        (["left"], 0),  # nobody listening, nothing to call
        (["listen"], 0),
    ],
)
def test_the_callback_runs_once_and_only_while_listening(steps, calls):
    notice, called = LeaveNotice(), []
    for step in steps:
        if step == "listen":
            notice.listen(lambda: called.append(True))
        elif step == "stop":
            notice.stop_listening()
        else:
            notice.client_left()
    assert len(called) == calls
    assert notice.left == ("left" in steps)


async def _request(watch_setup, *, finish_first=False):
    """Runs a stand-in request task under a DisconnectWatch; how it ended."""
    started = asyncio.Event()

    async def request():
        started.set()
        await asyncio.sleep(5)  # a view or a body still being sent

    task = asyncio.create_task(request())
    await started.wait()
    watch = DisconnectWatch(task)
    if finish_first:
        watch.settled = True
    await watch_setup(watch)
    await asyncio.sleep(0.01)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return "still running", watch
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return "cancelled", watch


def _messages(*items):
    queue = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    return queue.get


async def _told_by_the_server(watch):
    watch.client_left()


async def _heard_by_the_listener(watch):
    await watch.listen(_messages({"type": "http.disconnect"}))


async def _a_wrong_message(watch):
    await watch.listen(_messages({"type": "http.request", "body": b"more"}))


@pytest.mark.parametrize(
    ("setup", "finish_first", "ended", "fired", "error"),
    [
        (_told_by_the_server, False, "cancelled", True, False),
        (_heard_by_the_listener, False, "cancelled", True, False),  # Django's way, other servers
        (_a_wrong_message, False, "cancelled", True, True),  # as Django: a protocol error
        (_told_by_the_server, True, "still running", False, False),  # request done: nothing to cancel
        (_heard_by_the_listener, True, "still running", False, False),
    ],
)
def test_a_client_that_leaves_cancels_its_request(setup, finish_first, ended, fired, error):
    how, watch = asyncio.run(_request(setup, finish_first=finish_first))
    assert how == ended
    assert watch.fired is fired
    assert (watch.error is not None) is error


def test_the_cancel_waits_one_loop_turn():
    """What the lost connection woke first (a body part's wait) runs before the cancel."""
    order = []

    async def main():
        task = asyncio.create_task(asyncio.sleep(5))
        await asyncio.sleep(0)
        watch = DisconnectWatch(task)
        watch.client_left()
        order.append(("told", task.cancelling()))
        await asyncio.sleep(0)
        order.append(("next turn", task.cancelling()))
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert order == [("told", 0), ("next turn", 1)]
