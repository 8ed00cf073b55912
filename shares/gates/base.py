"""What every gate shares: the async middleware shape, where the admin lives, and how to wait.

All middleware here is async-native: in an ASGI stack a sync-only
middleware would push every request through a thread hop.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from shares.config import site_paths
from shares.download.context import token_in
from shares.gates import admin_gate
from shares.handling import offload
from shares.handling.counters import cache_is_local

SAFE_METHODS = ("GET", "HEAD")

# Database work (and anything that may wait on it) runs on the executor.
off_loop = offload.hop


async def cache_call(fn, *args):
    """Cache work: inline for local memory, off the loop for a networked cache."""
    if cache_is_local():
        return fn(*args)
    return await off_loop(fn)(*args)


def is_admin_path(path: str) -> bool:
    # Under PASLA_URL_PREFIX like everything else.
    return admin_gate.is_admin_path(path, site_paths.current().admin)


def is_ops_path(path: str) -> bool:
    """/healthz and /metrics: monitoring, behind the same network gate as the admin."""
    return path in site_paths.current().ops


def guarded_path(request) -> bool:
    """The admin and monitoring have their own gate (loopback by default); shares have these."""
    return not (is_admin_path(request.path_info) or is_ops_path(request.path_info))


def method_allowed(request) -> bool:
    """Whether this path answers this method: the method gate and the rate gate's token exemption ask here.

    POST is answered on a share's URL only: the landing page's button.
    """
    if request.method in SAFE_METHODS or is_admin_path(request.path_info):
        return True
    return request.method == "POST" and token_in(request.path_info) is not None


class AsyncMiddleware:
    """Base for middleware with one `process(request, get_response)` coroutine."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        if not iscoroutinefunction(get_response):
            raise RuntimeError(f"{type(self).__name__} needs an async stack")
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        return await self.process(request)

    async def process(self, request):
        return await self.get_response(request)
