"""The landing page's download ticket: `?dl=` that only the page can build.

A link-preview bot GETs the pasted URL and gets the page; the file needs a
ticket, an HMAC over (share, token digest, client address, time of issue)
under a key derived from SECRET_KEY. It is short-lived and bound to the
address that saw the page, so a copied ticket is useless elsewhere and soon
useless everywhere. No Django here: the format is tested on its own.
"""

import base64
import hashlib
import hmac

MAX_AGE = 30 * 60  # long enough for a browser to resume, short enough to go stale
CLOCK_SKEW = 60  # tickets "from the future" beyond this are refused
MAX_LENGTH = 64  # a ticket is ~35 characters; anything longer is not one of ours
_MAC_BYTES = 16


def _mac(key: bytes, share_id: str, token_digest: str, client_ip: str, issued: int) -> bytes:
    message = f"pasla-download|{share_id}|{token_digest}|{client_ip}|{issued}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def derive_key(secret_key: str) -> bytes:
    """A key for tickets only, so a ticket MAC says nothing about other uses of SECRET_KEY."""
    return hmac.new(secret_key.encode(), b"pasla download tickets v1", hashlib.sha256).digest()


def issue(key: bytes, *, share_id: str, token_digest: str, client_ip: str, now: int) -> str:
    mac = _mac(key, share_id, token_digest, client_ip, now)
    return f"{now:x}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def valid(
    key: bytes,
    ticket: str | None,
    *,
    share_id: str,
    token_digest: str,
    client_ip: str,
    now: int,
    max_age: int = MAX_AGE,
) -> bool:
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
    return hmac.compare_digest(mac, _mac(key, share_id, token_digest, client_ip, issued))
