"""What this server process serves and whom it believes, fixed by the CLI before serving.

A one-share process (`manage.py pasla FILE`) only answers for its own share,
so two operators' processes sharing a database never serve each other's
files; a shared server (`pasla serve`) answers for every share.
"""

import dataclasses
import os
import socket


@dataclasses.dataclass(frozen=True)
class Process:
    # The share ids this process answers for; None: every share (`pasla serve`).
    scope: frozenset[str] | None = None
    trust_proxy: bool = False
    trust_header: str | None = None
    allowed_networks: tuple = ()
    # A relay's (shares/relay/runner.py): token -> what it opens here, in
    # place of the share table, for the gates' question "is this a guess?".
    token_lookup: object = None

    def ban_scope(self) -> str | None:
        """The share a wrong guess is charged to: ours when we serve exactly one.

        A shared server cannot tell which share a wrong token was aimed at, so
        its bans are server-wide (a Ban row without a share).
        """
        if self.scope is not None and len(self.scope) == 1:
            return next(iter(self.scope))
        return None


_current = Process()


def current() -> Process:
    return _current


def _install(**changes) -> None:
    global _current
    _current = dataclasses.replace(_current, **changes)


def serve_only(share_ids) -> None:
    _install(scope=frozenset(share_ids))


def configure_clients(*, trust: bool, header: str | None, networks) -> None:
    """Set how clients are identified and which networks may ask at all."""
    _install(trust_proxy=trust, trust_header=header if trust else None, allowed_networks=tuple(networks))


def look_up_tokens_with(lookup) -> None:
    _install(token_lookup=lookup)


def worker_id(pid: int | None = None, host: str | None = None) -> str:
    """This serving process as "host:pid", the name other workers know it by."""
    return f"{host or socket.gethostname()}:{pid or os.getpid()}"
