"""What this server process serves; set once by the runner at start.

A one-share process (`manage.py pasla FILE`) only answers for its own share,
so two operators' processes sharing a database never serve each other's
files; a shared server (`pasla serve`) answers for every share.
"""

scope: set[str] | None = None


def serve_only(share_ids: set[str]) -> None:
    global scope
    scope = set(share_ids)
