"""ASGI entry point: Django's handler with a larger body chunk, and no thread per request.

Django splits every streamed part into `chunk_size` pieces (64 KiB by
default) and awaits a `send()` for each; with 1 MiB reads that is sixteen
round trips through daphne per read. Matching the read size roughly doubled
throughput when measured.

Django also runs each request in a ThreadSensitiveContext: a thread pool of
its own, started and joined per request, for sync code marked
thread-sensitive -- here only the request signals' database housekeeping
(which touches only that throwaway thread's connections; ours live in the
executor threads and are checked when a transfer ends) and the admin's sync
middleware. Profiling a 1 KiB download showed the thread start and join
among the largest costs before the first byte, so requests here run without
it: what thread-sensitive work remains (the admin) shares asgiref's one
thread, and the request signals no longer carry those receivers.
"""

import os

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasla_site.settings")


class LargeChunkASGIHandler(ASGIHandler):
    chunk_size = 1 << 20

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def send_response(self, response, send):
        # A zero-copy body (shares.streaming.Transfer) sends its own
        # `pasla.response.sendfile` messages between Django's start and
        # end messages, so it needs the ASGI send callable.
        if hasattr(response, "asgi_send"):
            response.asgi_send = send
        await super().send_response(response, send)


def get_application() -> ASGIHandler:
    django.setup(set_prefix=False)
    from django.core import signals
    from django.db import close_old_connections, reset_queries

    # Sync receivers make every request hop to a thread twice (see above).
    signals.request_started.disconnect(reset_queries)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    return LargeChunkASGIHandler()


application = get_application()
