"""ASGI entry point: Django's handler with a larger body chunk, and no thread per request.

Django splits every streamed part into `chunk_size` pieces (64 KiB by
default), copying each, and awaits a `send()` for each; with 1 MiB reads
that is sixteen round trips through daphne per read. The chunk here is
PASLA_CHUNK_SIZE's ceiling, so no read (an --e2e one is four chunks) is cut.

Django also runs each request in a ThreadSensitiveContext: a thread pool of
its own, started and joined per request, for sync code marked thread-
sensitive -- here only the request signals' database housekeeping (which
touches only that throwaway thread's connections; ours live in the executor
threads and are checked when a transfer ends) and the admin's sync
middleware. Starting and joining that thread is among the largest costs
before a small file's first byte, so requests here run without it: what
thread-sensitive work remains (the admin) shares asgiref's one thread, and
the request signals no longer carry those receivers.

Two more thread hops per request are skipped when they have nothing to do
on a thread (shares/handling/inline_work.py): logging an error answer that the
`django.request` logger drops anyway, and closing a response whose close is
in-memory work only. `handle` and `get_response_async` are Django 5.2's
with only those two calls changed.
"""

import asyncio
import os

import django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import set_script_prefix, set_urlconf
from django.utils.log import log_response

from shares.config.conf import RULES
from shares.handling import client_gone, inline_work

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasla_site.settings")


class PaslaASGIHandler(ASGIHandler):
    chunk_size = int(RULES["chunk_size"].ceiling)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # PASLA_URL_PREFIX is routed by the URLconf itself, so no root path is
        # ever right, least of all daphne's from a client's Daphne-Root-Path
        # header: the gates and the URL resolver must read the same path.
        if scope.get("root_path"):
            scope = {**scope, "root_path": ""}
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close)()
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client left during the response
            return response

        # Django's disconnect handling, same outcome, cheaper: Django runs
        # the request in a second task and waits for whichever of it and a
        # listener task ends first. Here the request runs in this task and
        # is cancelled when the client leaves: told directly by pasla's
        # server (shares/handling/client_gone.py), or else by a listener task.
        watch = client_gone.DisconnectWatch(asyncio.current_task())
        notice = (scope.get("extensions") or {}).get(client_gone.EXTENSION)
        listener = None
        if notice is not None:
            notice.listen(watch.client_left)
        else:
            listener = asyncio.create_task(watch.listen(receive))
        try:
            response = await process_request(request, send)
        except asyncio.CancelledError:
            if not watch.fired:
                raise  # not the client: the server is stopping this request
            watch.task.uncancel()
            if watch.error is not None:
                body_file.close()
                raise watch.error from None
            await signals.request_finished.asend(sender=self.__class__)
            body_file.close()
            return
        finally:
            watch.settled = True
            if notice is not None:
                notice.stop_listening()
            if listener is not None:
                listener.cancel()
        if watch.fired:
            # The client left while the answer was being sent; process_request
            # let that cancellation go, as Django's does.
            watch.task.uncancel()

        if inline_work.close_is_quick(response):
            response.close()
        else:
            await sync_to_async(response.close)()
        body_file.close()

    async def get_response_async(self, request):
        set_urlconf(settings.ROOT_URLCONF)
        response = await self._middleware_chain(request)
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            args = ("%s: %s", response.reason_phrase, request.path)
            if inline_work.log_is_dropped(response):
                log_response(*args, response=response, request=request)
            else:
                log = sync_to_async(log_response, thread_sensitive=False)
                await log(*args, response=response, request=request)
        return response

    async def send_response(self, response, send):
        # A zero-copy body (shares.download.streaming.Transfer) sends its own
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
    return PaslaASGIHandler()


application = get_application()
