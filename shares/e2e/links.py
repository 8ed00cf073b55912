"""The pure questions of `pasla get`: what a URL carries, what a response names.

No I/O: the URL's fragment (the key of an encrypted share), the file name
a response's Content-Disposition gives, the digest its Repr-Digest gives,
and the name of the partial file a download keeps for `-c`.
"""

import base64
import binascii
import hashlib
import re
import urllib.parse

from shares.e2e import ece
from shares.files.payloads import PayloadError, validate_name

KEY_PARAM = "k"


class LinkError(ValueError):
    """A URL or a response that `pasla get` cannot use (the message is shown)."""


def encode_secret(secret: bytes) -> str:
    return base64.urlsafe_b64encode(secret).rstrip(b"=").decode("ascii")


def fragment_for(secret: bytes) -> str:
    return f"#{KEY_PARAM}={encode_secret(secret)}"


def split(url: str) -> tuple[str, bytes | None]:
    """(the URL the server sees, the key from its fragment or None)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LinkError("the URL must start with http:// or https:// and name a host")
    bare = urllib.parse.urlunsplit(parts._replace(fragment=""))
    if not parts.fragment:
        return bare, None
    fields = urllib.parse.parse_qs(parts.fragment, keep_blank_values=True)
    values = fields.get(KEY_PARAM)
    if not values:
        return bare, None
    text = values[0]
    if len(values) != 1 or not re.fullmatch(r"[A-Za-z0-9_-]{22}", text):
        raise LinkError("the key in the URL (#k=...) is not 22 base64url characters; was it cut off?")
    try:
        secret = base64.urlsafe_b64decode(text + "==")
    except (binascii.Error, ValueError):
        raise LinkError("the key in the URL (#k=...) is not base64url") from None
    if len(secret) != ece.SECRET_SIZE or encode_secret(secret) != text:
        raise LinkError("the key in the URL (#k=...) is not a pasla key")
    return bare, secret


def safe_name(name: str) -> str | None:
    """`name` if it is a plain file name to write in this directory, else None."""
    try:
        validate_name(name)
    except PayloadError:
        return None
    return None if name.startswith(".") else name


def disposition_name(header: str | None) -> str | None:
    """The file name of a Content-Disposition (filename* first), or None."""
    if not header:
        return None
    star = re.search(r"filename\*\s*=\s*UTF-8''([^;\s]+)", header, re.IGNORECASE)
    if star:
        return urllib.parse.unquote(star.group(1), errors="strict") if "%" in star.group(1) else star.group(1)
    plain = re.search(r'filename\s*=\s*"([^"\\]*)"', header, re.IGNORECASE) or re.search(
        r"filename\s*=\s*([^;\s\"]+)", header, re.IGNORECASE
    )
    return plain.group(1) if plain else None


def url_name(url: str) -> str | None:
    path = urllib.parse.urlsplit(url).path
    return urllib.parse.unquote(path.rsplit("/", 1)[-1]) or None


def repr_digest(header: str | None) -> str | None:
    """The hex SHA-256 of a `Repr-Digest: sha-256=:<base64>:`, or None."""
    if not header:
        return None
    found = re.search(r"(?:^|,)\s*sha-256\s*=\s*:([A-Za-z0-9+/=]+):", header)
    if not found:
        return None
    try:
        raw = base64.b64decode(found.group(1), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def part_stem(bare_url: str) -> str:
    """The partial file's name for a URL: found again by `-c` before any request.

    Named by the path alone (the token is in it): the same share reached by
    another address (its IPv6 URL, a proxy) resumes the same partial file.
    """
    path = urllib.parse.urlsplit(bare_url).path
    return ".pasla-" + hashlib.sha256(path.encode()).hexdigest()[:16]
