"""The pure parts of zero-copy sends and progress accounting."""

import socket

import pytest
from twisted.internet.abstract import FileDescriptor
from twisted.internet.task import Clock

from shares.config.conf import ConfigError, limits_from_env
from shares.download import sendfile_plan
from shares.server.sending import zero_copy
from shares.telemetry.live import Board
from tests.unit.test_file_sender import SocketSide
from tests.unit.test_transports import wrapped


@pytest.mark.parametrize(
    "start, length, segment, pieces",
    [
        (0, 0, 4, []),
        (0, 1, 4, [(0, 1)]),
        (0, 4, 4, [(0, 4)]),
        (0, 9, 4, [(0, 4), (4, 4), (8, 1)]),
        (10, 5, 4, [(10, 4), (14, 1)]),
        (3, 8, 8, [(3, 8)]),
    ],
)
def test_plan_segments(start, length, segment, pieces):
    assert list(sendfile_plan.plan_segments(start, length, segment)) == pieces


def test_plan_segments_refuses_an_empty_segment():
    with pytest.raises(ValueError):
        list(sendfile_plan.plan_segments(0, 10, 0))


@pytest.mark.parametrize(
    "layers, eligible",
    [([], True), (["guard"], True), (["tls"], False), (["tls", "guard"], False), (["guard", "tls"], False)],
)
def test_zero_copy_only_without_tls(layers, eligible):
    inner = SocketSide(socket.socket())
    try:
        found = zero_copy.plain_tcp_transport(wrapped(inner, layers))
        assert (found is inner) is eligible
        if not eligible:
            assert found is None
    finally:
        inner.socket.close()


def test_a_transport_without_a_socket_is_not_eligible():
    assert zero_copy.plain_tcp_transport(FileDescriptor(reactor=Clock())) is None
    assert zero_copy.plain_tcp_transport(None) is None


def test_twisted_pending_counts_both_buffers():
    side = FileDescriptor(reactor=Clock())
    side.connected = True
    side.startWriting = lambda: None
    assert zero_copy.twisted_pending(side) == 0
    side.write(b"abc")
    side.writeSequence([b"de", b"f"])
    assert zero_copy.twisted_pending(side) == 6


def test_progress_is_batched_per_download_and_ends_with_the_transfer():
    board = Board()
    board.begin("s", 1)
    board.begin("s", 2)
    assert board.due_progress() == {}
    board.progress("s", 10, 1)
    board.progress("s", 5, 1)
    assert board.due_progress() == {1: 15}
    assert board.due_progress() == {}  # nothing moved since
    board.progress("s", 7, 2)
    board.end("s", 15, False, "1.2.3.4", 1)
    board.progress("s", 1, 1)  # a late count for a finished transfer is ignored
    assert board.due_progress() == {2: 7}
    assert board.snapshot("s").active == 1
    assert board.snapshot("s").bytes_in_flight == 8  # only download 2's bytes remain in flight


def test_zero_copy_switch_is_bounded():
    assert limits_from_env({}).zero_copy == 1
    assert limits_from_env({"PASLA_ZERO_COPY": "0"}).zero_copy == 0
    with pytest.raises(ConfigError):
        limits_from_env({"PASLA_ZERO_COPY": "2"})
