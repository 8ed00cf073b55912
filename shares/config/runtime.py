"""What this server process serves; set once by the runner at start.

A one-share process (`manage.py pasla FILE`) only answers for its own share,
so two operators' processes sharing a database never serve each other's
files; a shared server (`pasla serve`) answers for every share.
"""

import os
import socket

scope: set[str] | None = None


def worker_id(pid: int | None = None, host: str | None = None) -> str:
    """This serving process as "host:pid", the name other workers know it by."""
    return f"{host or socket.gethostname()}:{pid or os.getpid()}"


def serve_only(share_ids: set[str]) -> None:
    global scope
    scope = set(share_ids)


# --- who may ask, and whom to believe (set by the CLI before serving) ------

trust_proxy: bool = False
trust_header: str | None = None
allowed_networks: tuple = ()
# Set by a relay (shares/relay/runner.py): token -> truthy when it opens
# something here, in place of the share table, for the rate and ban gates.
token_lookup = None


def configure_clients(*, trust: bool, header: str | None, networks) -> None:
    """Set how clients are identified and which networks may ask at all."""
    global trust_proxy, trust_header, allowed_networks
    trust_proxy = trust
    trust_header = header if trust else None
    allowed_networks = tuple(networks)


def ban_scope() -> str | None:
    """The share a wrong guess is charged to: ours when we serve exactly one.

    A shared server cannot tell which share a wrong token was aimed at, so
    its bans are server-wide (a Ban row without a share).
    """
    if scope is not None and len(scope) == 1:
        return next(iter(scope))
    return None
