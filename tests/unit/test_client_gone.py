"""The server's word to a running request that its client left (no sockets)."""

import pytest

from shares.client_gone import LeaveNotice


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
