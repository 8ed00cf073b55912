"""`pasla.access`: one line per request, never a token or a path."""

import functools
import logging
import re
import secrets
import time

from shares.config.logs import current_request_id
from shares.download import context
from shares.gates import request_ids
from shares.gates.base import AsyncMiddleware, is_admin_path
from shares.network import client_auth, clients
from shares.telemetry import metrics
from shares.tokens import fingerprint

access_log = logging.getLogger("pasla.access")

_PLAIN_METHOD = re.compile(r"^[A-Za-z]{1,16}$")


def describe_target(request) -> str:
    """What was asked for, never the token: a share id or a digest of the path."""
    share_id = context.of(request).share_id
    if share_id:
        return f"share:{share_id}"
    if is_admin_path(request.path_info):
        return "admin"
    return f"path#{fingerprint(request.path_info)}"


def request_id_for(request) -> str:
    """The client's X-Request-ID if request_ids finds it safe to echo and log, else one of ours."""
    offered = request.headers.get("X-Request-ID", "")
    token = context.of(request).token
    if request_ids.acceptable(offered) and not (token and token in offered):
        return offered
    return secrets.token_hex(8)


class AccessLogMiddleware(AsyncMiddleware):
    """`pasla.access`: client, method, target, status, bytes, time.

    Every line is written after the answer went out: streamed bodies when
    the stream ends (complete or cut), with the bytes actually handed to
    the server, others when the response is closed. Every response carries the
    request's X-Request-ID, and so does every log line written for it.
    """

    async def process(self, request):
        started = time.monotonic()
        request.pasla_request_id = request_id_for(request)
        current_request_id.set(request.pasla_request_id)
        response = await self.get_response(request)
        response["X-Request-ID"] = request.pasla_request_id
        if response.streaming:
            inner = response.streaming_content
            counted = self._counted if response.is_async else self._counted_sync
            transfer = getattr(response, "transfer", None)
            response.streaming_content = counted(request, response.status_code, inner, started, transfer)
        else:
            size = 0 if request.method == "HEAD" else len(response.content)
            # Written when Django closes the response, once it has been
            # sent: the line cost time before the first byte otherwise.
            response._resource_closers.append(
                functools.partial(self._log, request, response.status_code, size, started)
            )
        return response

    async def _counted(self, request, status, inner, started, transfer=None):
        sent = 0
        metrics.transfer_started()
        try:
            async for part in inner:
                yield part
                sent += len(part)
        finally:
            metrics.transfer_ended()
            # A transfer knows what left, zero-copy bytes included.
            self._log(request, status, sent if transfer is None else transfer.sent, started)

    def _counted_sync(self, request, status, inner, started, transfer=None):
        sent = 0
        metrics.transfer_started()
        try:
            for part in inner:
                yield part
                sent += len(part)
        finally:
            metrics.transfer_ended()
            # A transfer knows what left, zero-copy bytes included.
            self._log(request, status, sent if transfer is None else transfer.sent, started)

    @staticmethod
    def _log(request, status: int, size: int, started: float) -> None:
        metrics.response_sent(status, size)
        client = getattr(request, "client_ip", None) or clients.normalize_ip(request.META.get("REMOTE_ADDR"))
        method = request.method if _PLAIN_METHOD.match(request.method or "") else "-"
        cert = client_auth.fingerprint_of(getattr(request, "scope", None) or {})
        access_log.info(
            "%s %s %s %d %dB %.3fs%s",
            client or "-",
            method,
            describe_target(request),
            status,
            size,
            time.monotonic() - started,
            f" cert={cert}" if cert else "",
            extra={"pasla_safe": True, "request_id": getattr(request, "pasla_request_id", "")},
        )
