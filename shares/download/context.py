"""One request's share: its token parsed once, the share it opens looked up at most once.

Every gate and the view ask `of(request)`; whoever learns first whether the
token opens a share records it here, and the others use that answer.
"""

from shares import tokens
from shares.config import runtime, site_paths
from shares.download.lookup import share_for_token
from shares.handling import offload

_UNKNOWN = object()


def token_in(path: str) -> str | None:
    """The token-shaped segment of a share-shaped path below PASLA_URL_PREFIX."""
    prefix = site_paths.current().prefix
    if prefix:
        if not path.startswith(prefix + "/"):
            return None
        path = path[len(prefix) :]
    return tokens.token_segment(path)


class ShareRequest:
    """What one request's URL names, as far as it is known yet."""

    __slots__ = ("_share", "share_id", "token")

    def __init__(self, token: str | None):
        self.token = token
        # Set once the view served or answered for the share: the token was right.
        self.share_id: str | None = None
        self._share = _UNKNOWN

    @property
    def known(self) -> bool:
        """Whether the lookup by token has run in this request."""
        return self._share is not _UNKNOWN

    @property
    def share(self):
        """The share the token opens (None: it opens nothing, or nobody asked yet)."""
        return None if self._share is _UNKNOWN else self._share

    @property
    def wrong_token(self) -> bool:
        """The token was looked up and opens nothing here: a guess."""
        return self.token is not None and self._share is None

    def record(self, share) -> None:
        self._share = share

    def opened(self, share) -> None:
        self._share = share
        self.share_id = share.id

    async def lookup(self):
        if not self.known:
            lookup = runtime.current().token_lookup or share_for_token
            self._share = await offload.hop(lookup)(self.token, runtime.current().scope)
        return self._share


def of(request) -> ShareRequest:
    context = getattr(request, "pasla", None)
    if context is None:
        context = request.pasla = ShareRequest(token_in(request.path_info))
    return context
