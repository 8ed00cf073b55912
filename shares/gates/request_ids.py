"""Which client-sent X-Request-ID values are kept (pure).

A kept id is echoed on the response and written to every log line of the
request, so it must be plain text and must never be able to carry a share
token: any run of the token alphabet as long as a token is refused, except
in hex ids (UUIDs, nginx's `$request_id`), an alphabet tokens are never
minted in (shares/tokens.py).
"""

import re

from shares import tokens

MAX_LENGTH = 64
_PLAIN = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_LENGTH}}}")
_TOKEN_RUN = re.compile(rf"[A-Za-z0-9_-]{{{tokens.TOKEN_LENGTH},}}")


def acceptable(offered: str) -> bool:
    if not _PLAIN.fullmatch(offered):
        return False
    return bool(tokens.HEX_LIKE.fullmatch(offered)) or _TOKEN_RUN.search(offered) is None
