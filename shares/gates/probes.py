"""Telling a guess at a share URL from a browser's background noise (pure).

Only a request shaped like a real link, `/<token-shaped>/<anything>`, can
be someone guessing tokens; `/favicon.ico`, `/robots.txt`,
`/apple-touch-icon*.png`, `/.well-known/...` and the like are what every
browser and crawler asks for on its own, and must never cost a strike.
"""

from shares.tokens import looks_like_token


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
