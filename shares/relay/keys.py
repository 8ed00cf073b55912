"""Sender keys: shown once, stored only as a digest (the relay's "tripcode").

The same scheme as share tokens (shares/tokens.py): the database is searched
by digest, and the final comparison is constant-time.
"""

import re
import secrets

from shares import tokens

KEY_BYTES = 32
KEY_PREFIX = "pvk_"
KEY_SHAPE = re.compile(r"^pvk_[A-Za-z0-9_-]{43}$")
NAME_SHAPE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def mint() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def digest(key: str) -> str:
    return tokens.digest(key)


def matches(key: str, stored_digest: str) -> bool:
    return tokens.matches(key, stored_digest)


def looks_like_key(candidate: str | None) -> bool:
    return bool(candidate) and bool(KEY_SHAPE.match(candidate))


def valid_name(name: str) -> bool:
    return bool(NAME_SHAPE.match(name))
