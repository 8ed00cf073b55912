"""Zero-copy sends, the part both sides agree on (no Django, no Twisted).

The server offers `EXTENSION` in a plain-TCP request's ASGI scope; a view
that serves a regular file then sends `MESSAGE`s, one per segment
(shares/server/sending/zero_copy.py has the message format and how it is sent).
"""

EXTENSION = "pasla.sendfile"
MESSAGE = "pasla.response.sendfile"
# Returns once every byte written to the connection has gone out to the
# client; calls the message's "arrived" callable if so, not if the client
# left or stalled. sendfile hands the kernel references to the page
# cache, so bytes still queued would go out as the file is *then*: the
# last byte is held back until this, and the file checked once more.
DELIVERED = "pasla.response.delivered"
# Bytes per message: the download slot is charged a segment at a time, and
# each segment is one round trip between the view and the server, so larger
# means less CPU per GiB and a coarser slot account; much larger segments let
# parallel open-ended ranges (aria2c's way) overrun the slot's re-send allowance.
SEGMENT = 4 << 20


def plan_segments(start: int, length: int, segment: int = SEGMENT):
    """[start, start + length) as consecutive (offset, count) pieces of at most `segment`."""
    if segment <= 0:
        raise ValueError("segment must be positive")
    end = start + length
    while start < end:
        count = min(segment, end - start)
        yield start, count
        start += count
