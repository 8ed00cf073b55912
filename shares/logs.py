"""Logging helpers that keep tokens out of log lines."""

import logging
import re

from shares.tokens import fingerprint

# A path segment that could be a token: anything between slashes that is
# long enough to be secret-bearing.
_PATH_IN_MESSAGE = re.compile(r"/[^\s/]{8,}(?:/[^\s]*)?")


def redact_path(path: str) -> str:
    return f"<path#{fingerprint(path)}>"


class RedactRequestPaths(logging.Filter):
    """Replace anything path-shaped in a record with a short fingerprint.

    Django and daphne put `request.path` into messages and args of their
    error records; the path of a share URL is its token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "pasla_safe", False):
            return True
        message = record.getMessage()
        redacted = _PATH_IN_MESSAGE.sub(lambda m: redact_path(m.group(0)), message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if hasattr(record, "request"):
            record.request = None
        return True
