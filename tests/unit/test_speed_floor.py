import pytest

from shares.server.speed_floor import SpeedWindow

# Each case: floor (B/s), window (s), observations (time, bytes taken, waiting), expected cut flags.
CASES = {
    "off: never cut": (0, 3, [(0, 1, True), (3, 1, True), (60, 1, True)], [False, False, False]),
    "no byte yet: the window has not started": (
        10_000,
        3,
        [(0, 0, True), (5, 0, True), (30, 0, True)],
        [False, False, False],
    ),
    "2 KB/s over a full window: cut": (
        10_000,
        3,
        [(0, 100, True), (1, 2_100, True), (2, 4_100, True), (3, 6_100, True)],
        [False, False, False, True],
    ),
    "below the floor but the window is not full yet": (
        10_000,
        3,
        [(0, 100, True), (2.9, 200, True)],
        [False, False],
    ),
    "50 KB/s: kept, window after window": (
        10_000,
        3,
        [(0, 1, True), (3, 150_001, True), (6, 300_001, True), (9, 450_001, True)],
        [False, False, False, False],
    ),
    "exactly the floor is kept": (10_000, 3, [(0, 1, True), (3, 30_001, True)], [False, False]),
    "a fast window, then a slow one: cut in the slow one": (
        10_000,
        3,
        [(0, 1, True), (3, 900_001, True), (6, 905_001, True)],
        [False, False, True],
    ),
    "the initial burst before the first observation is not credited": (
        10_000,
        3,
        [(0, 2_000_000, True), (3, 2_006_000, True)],
        [False, True],
    ),
    "nothing waiting for the client (the server is slow) restarts the window": (
        10_000,
        3,
        [(0, 1, True), (2, 2, False), (4, 3, True), (4.9, 3, True)],
        [False, False, False, False],
    ),
    "a stall after a restart is still cut one window later": (
        10_000,
        3,
        [(0, 1, True), (2, 2, False), (5, 3, True)],
        [False, False, True],
    ),
}


@pytest.mark.parametrize("case", CASES.keys())
def test_speed_window(case):
    floor, seconds, observations, expected = CASES[case]
    window = SpeedWindow(floor, seconds)
    got = [window.observe(now, taken, waiting) for now, taken, waiting in observations]
    assert got == expected
