"""Share tokens: minted once, shown once, stored only as a digest.

The database is searched by digest, so the time a lookup takes depends on
the digest of what the client sent, not on how much of the real token it
guessed. The final equality check is constant-time as well.
"""

import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 16  # 128 bits, as the reference tool
TOKEN_LENGTH = 22  # urlsafe base64 of 16 bytes, no padding
# What a minted token looks like.
TOKEN_SHAPE = re.compile(rf"^[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}$")
# Hex digits and hyphens: the alphabet of UUIDs and proxies' request ids.
HEX_LIKE = re.compile(r"[0-9A-Fa-f-]+")


def mint() -> str:
    # A token never spelled in HEX_LIKE's alphabet (about one draw in 10^10)
    # can never hide in a hex request id, which is therefore safe to echo.
    while HEX_LIKE.fullmatch(token := secrets.token_urlsafe(TOKEN_BYTES)):
        pass
    return token


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def matches(token: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(token), stored_digest)


def looks_like_token(candidate: str) -> bool:
    return bool(TOKEN_SHAPE.match(candidate))


def fingerprint(text: str) -> str:
    """A short, non-reversible tag for logging something secret-bearing."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


# Only a request shaped like a real link, `/<token-shaped>/<anything>`, can be
# someone guessing tokens; `/favicon.ico`, `/robots.txt`, `/.well-known/...` and
# the like are what browsers and crawlers ask for on their own, and never strike.
def token_segment(path: str) -> str | None:
    """The token-shaped first segment of a share-shaped path, else None."""
    if not path.startswith("/"):
        return None
    first, slash, _ = path[1:].partition("/")
    if not slash or not looks_like_token(first):
        return None
    return first


def is_share_shaped(path: str) -> bool:
    return token_segment(path) is not None
