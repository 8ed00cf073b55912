"""Run one callable several times at once and collect what each call returned.

Unlike bare threads, an assertion that fails inside a call fails the test:
`result()` re-raises it in the test's own thread.
"""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor


def in_parallel(call: Callable, args: Sequence[tuple], timeout: float = 60) -> list:
    """Results of call(*a) for each a in args, in the order of args."""
    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        futures = [pool.submit(call, *a) for a in args]
        return [future.result(timeout=timeout) for future in futures]
