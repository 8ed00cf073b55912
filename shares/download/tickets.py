"""The landing page's tickets: a page ticket for its button, a download ticket for the file.

A link-preview bot or mail scanner GETs the pasted URL and gets the page.
The page's button POSTs its page ticket; only that POST is answered with a
redirect to `?dl=<download ticket>`, the one GET that gets the file. Each
ticket is an HMAC over (purpose, share, token digest, client address, time
of issue) under a key derived from SECRET_KEY, so it is bound to the
address that saw the page, useless for the other purpose, and soon stale.
A scanner that follows links and GET forms never POSTs, so it never holds
a download ticket. No Django here: the format is tested on its own.
"""

import base64
import hashlib
import hmac

PAGE = "page"
DOWNLOAD = "download"
MAX_AGES = {
    PAGE: 6 * 3600,  # a tab left open for an afternoon still has a working button
    DOWNLOAD: 30 * 60,  # long enough for a browser to resume, short enough to go stale
}
MAX_AGE = MAX_AGES[DOWNLOAD]
CLOCK_SKEW = 60  # tickets "from the future" beyond this are refused
MAX_LENGTH = 64  # a ticket is ~35 characters; anything longer is not one of ours
_MAC_BYTES = 16


def _mac(key: bytes, purpose: str, share_id: str, token_digest: str, client_ip: str, issued: int) -> bytes:
    message = f"pasla-{purpose}|{share_id}|{token_digest}|{client_ip}|{issued}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def derive_key(secret_key: str) -> bytes:
    """A key for tickets only, so a ticket MAC says nothing about other uses of SECRET_KEY."""
    return hmac.new(secret_key.encode(), b"pasla download tickets v1", hashlib.sha256).digest()


def issue(key: bytes, *, purpose: str, share_id: str, token_digest: str, client_ip: str, now: int) -> str:
    if purpose not in MAX_AGES:
        raise ValueError(f"unknown ticket purpose {purpose!r}")
    mac = _mac(key, purpose, share_id, token_digest, client_ip, now)
    return f"{now:x}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def valid(
    key: bytes,
    ticket: str | None,
    *,
    purpose: str,
    share_id: str,
    token_digest: str,
    client_ip: str,
    now: int,
) -> bool:
    max_age = MAX_AGES[purpose]
    if not ticket or len(ticket) > MAX_LENGTH or not ticket.isascii():
        return False
    issued_hex, dot, mac_text = ticket.partition(".")
    if not dot or not issued_hex or len(issued_hex) > 12:
        return False
    try:
        issued = int(issued_hex, 16)
        mac = base64.urlsafe_b64decode(mac_text + "=" * (-len(mac_text) % 4))
    except ValueError:
        return False
    if not issued_hex.islower() and not issued_hex.isdigit():
        return False  # one spelling per ticket: no case variants of the same value
    if issued > now + CLOCK_SKEW or now - issued > max_age:
        return False
    return hmac.compare_digest(mac, _mac(key, purpose, share_id, token_digest, client_ip, issued))
