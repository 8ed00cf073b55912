"""The pure parts of shares/handling/outage.py: which errors mean a service is away,
and that an outage is logged once when it starts and once when it ends."""

import logging

import pytest
import redis.exceptions
from django.db import IntegrityError, InterfaceError, OperationalError, ProgrammingError

from shares.handling import outage


def caused_by(cause: BaseException) -> Exception:
    try:
        raise cause
    except BaseException:
        try:
            raise RuntimeError("wrapped")
        except RuntimeError as exc:
            return exc


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (OperationalError("connection refused"), "database"),
        (InterfaceError("connection already closed"), "database"),
        (redis.exceptions.ConnectionError("Error 111"), "cache"),
        (redis.exceptions.TimeoutError("Timeout reading"), "cache"),
        (caused_by(OperationalError("x")), "database"),
        (caused_by(redis.exceptions.ConnectionError("x")), "cache"),
        (IntegrityError("duplicate key"), None),
        (ProgrammingError("no such table"), None),
        (redis.exceptions.ResponseError("WRONGTYPE"), None),
        (ValueError("bad"), None),
        (None, None),
    ],
)
def test_failure_kind(exc, kind):
    assert outage.failure_kind(exc) == kind


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (
            OperationalError("connection failed: refused\n\tIs the server running?"),
            "connection failed: refused",
        ),
        (OperationalError(""), "OperationalError"),
    ],
)
def test_reason_is_one_line(exc, line):
    assert outage.reason(exc) == line


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(caplog):
    outages = outage.Outages(logging.getLogger("test.outage"))
    with caplog.at_level(logging.INFO, logger="test.outage"):
        for _ in range(50):
            outages.noticed("cache", redis.exceptions.ConnectionError("Error 111"))
        assert outages.down() == ["cache"]
        outages.recovered("cache")
        outages.recovered("cache")
        outages.noticed("cache", redis.exceptions.ConnectionError("Error 111"))
    assert [r.getMessage() for r in caplog.records] == [
        "the cache is unreachable (Error 111): answering 503 until it is back",
        "the cache is reachable again",
        "the cache is unreachable (Error 111): answering 503 until it is back",
    ]


def test_django_request_tracebacks_of_an_outage_are_hidden():
    hide = outage.HideOutageTracebacks()

    def record(exc):
        return logging.LogRecord("django.request", logging.ERROR, "", 0, "x", (), (type(exc), exc, None))

    assert not hide.filter(record(redis.exceptions.ConnectionError("x")))
    assert hide.filter(record(ValueError("x")))
