"""Prometheus metrics: requests by status, bytes, active transfers, bans, slot claims.

A one-share process keeps them in its own registry. `pasla serve` sets
PROMETHEUS_MULTIPROC_DIR (a fresh directory per server, in the data dir)
before any worker starts, so each worker writes its values to small
memory-mapped files there and /metrics on any worker adds them all up.

Cost on the hot path: one counter increment per response and one gauge
change at the start and end of a transfer, never anything per chunk (bytes
are counted once, when the body ends).
"""

import os

_metrics = None


def _build():
    # prometheus_client loads on first use, not on every CLI start.
    from prometheus_client import Counter, Gauge

    return {
        "requests": Counter("pasla_requests", "Responses sent, by HTTP status.", ["status"]),
        "bytes": Counter("pasla_bytes_served", "Body bytes handed to clients."),
        "active": Gauge(
            "pasla_active_transfers", "Download bodies being sent right now.", multiprocess_mode="livesum"
        ),
        "bans": Counter("pasla_bans", "Client addresses banned for wrong guesses."),
        "slots": Counter("pasla_slot_claims", "Download slots claimed (downloads counted against caps)."),
    }


def _get():
    global _metrics
    if _metrics is None:
        _metrics = _build()
    return _metrics


def response_sent(status: int, size: int) -> None:
    metrics = _get()
    metrics["requests"].labels(status=str(status)).inc()
    if size > 0:
        metrics["bytes"].inc(size)


def transfer_started() -> None:
    _get()["active"].inc()


def transfer_ended() -> None:
    _get()["active"].dec()


def banned() -> None:
    _get()["bans"].inc()


def slot_claimed() -> None:
    _get()["slots"].inc()


def exposition() -> tuple[bytes, str]:
    """The text format and its content type, for every process of this server."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    _get()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_gone(pid: int) -> None:
    """A dead worker's live gauges must stop counting (its counters stay summed)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
