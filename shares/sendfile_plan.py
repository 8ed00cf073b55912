"""Zero-copy sends, the part both sides agree on (no Django, no Twisted).

The server offers `EXTENSION` in a plain-TCP request's ASGI scope; a view
that serves a regular file then sends a `MESSAGE` for its range
(shares/server/zero_copy.py has the message format and how it is sent).
"""

EXTENSION = "pasla.sendfile"
MESSAGE = "pasla.response.sendfile"
