"""Tuning constants: environment-only, `PASLA_<NAME>`, as in the reference tool.

Every limit has a floor and a ceiling so that a typo in the environment can
not turn a defence off or make a table unbounded.
"""

import os
from dataclasses import dataclass, fields


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Limits:
    socket_timeout: float = 30.0
    header_read_timeout: float = 10.0
    transfer_stall_timeout: float = 60.0
    max_global_connections: int = 100
    max_connections_per_ip: int = 20
    max_requests_per_proxy_ip: int = 200
    max_connections_per_proxy_ip: int = 100
    rate_limit_window: float = 60.0
    rate_limit_max_requests: int = 20
    ban_threshold: int = 5
    max_banned_ips: int = 10_000
    max_tracked_ips: int = 50_000
    chunk_size: int = 1 << 20
    # Bytes a download slot may send twice (data lost in buffers when a
    # connection is cut, multi-connection overlap); capped at half the file.
    resume_overlap: int = 16 << 20
    drain_timeout: float = 300.0
    # How long `pasla -d` waits for its background server to accept connections.
    detach_timeout: float = 60.0
    # 1: the server sends files itself (os.sendfile, or the TLS file sender); 0: the read loop.
    zero_copy: int = 1
    # Failed admin logins one client address may make per window; beyond
    # them the login form answers 429 without looking at the password.
    admin_login_attempts: int = 10
    admin_login_window: float = 900.0


# (minimum, maximum) for each field; values outside are a configuration error.
BOUNDS = {
    "socket_timeout": (1, 3600),
    "header_read_timeout": (1, 600),
    "transfer_stall_timeout": (1, 3600),
    "max_global_connections": (1, 100_000),
    "max_connections_per_ip": (1, 100_000),
    "max_requests_per_proxy_ip": (1, 10_000_000),
    "max_connections_per_proxy_ip": (1, 100_000),
    "rate_limit_window": (1, 86_400),
    "rate_limit_max_requests": (1, 1_000_000),
    "ban_threshold": (1, 1000),
    "max_banned_ips": (1, 10_000_000),
    "max_tracked_ips": (1, 10_000_000),
    "chunk_size": (4096, 16 << 20),
    "resume_overlap": (0, 1 << 30),
    "drain_timeout": (0, 86_400),
    "detach_timeout": (1, 3600),
    "zero_copy": (0, 1),
    "admin_login_attempts": (1, 10_000),
    "admin_login_window": (1, 86_400),
}


def limits_from_env(environ=os.environ) -> Limits:
    values = {}
    for field in fields(Limits):
        raw = environ.get(f"PASLA_{field.name.upper()}")
        if raw is None or raw.strip() == "":
            continue
        try:
            value = field.type(raw) if field.type is not int else int(raw, 10)
        except ValueError:
            raise ConfigError(f"PASLA_{field.name.upper()} must be a number, got {raw!r}") from None
        low, high = BOUNDS[field.name]
        if not low <= value <= high:
            raise ConfigError(f"PASLA_{field.name.upper()} must be between {low} and {high}")
        values[field.name] = value
    return Limits(**values)
