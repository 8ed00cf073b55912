"""Logging helpers that keep tokens out of log lines."""

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

from shares.tokens import fingerprint

# A path segment that could be a token: anything between slashes that is
# long enough to be secret-bearing.
_PATH_IN_MESSAGE = re.compile(r"/[^\s/]{8,}(?:/[^\s]*)?")


def redact_path(path: str) -> str:
    return f"<path#{fingerprint(path)}>"


# The X-Request-ID of the request being handled; asgiref carries context
# variables into the executor threads, so ORM-side log lines get it too.
current_request_id: ContextVar[str] = ContextVar("pasla_request_id", default="")


class RedactRequestPaths(logging.Filter):
    """Replace anything path-shaped in a record with a short fingerprint.

    Django and daphne put `request.path` into messages and args of their
    error records; the path of a share URL is its token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id.get()
        if getattr(record, "pasla_safe", False):
            return True
        message = record.getMessage()
        redacted = _PATH_IN_MESSAGE.sub(lambda m: redact_path(m.group(0)), message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if hasattr(record, "request"):
            record.request = None
        return True


class JsonLines(logging.Formatter):
    """PASLA_LOG_FORMAT=json: one JSON object per line, for log collectors.

    Runs after the redaction filter, so the message is already token-free.
    """

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            data["request_id"] = request_id
        if record.exc_info:
            data["exception"] = redact_paths_in(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def redact_paths_in(text: str) -> str:
    return _PATH_IN_MESSAGE.sub(lambda m: redact_path(m.group(0)), text)
