"""Tuning constants: environment-only, `PASLA_<NAME>`, as in the reference tool.

A value is refused only when it means nothing: not a number, negative, or 0
where 0 has no documented meaning. Any larger value is accepted, as the
reference tool accepts it; beyond a ceiling where it already behaves as
"never" or "unlimited" it acts as that ceiling, so arithmetic, cache expiries
and buffers stay bounded whatever the environment says.
"""

import os
from dataclasses import dataclass, fields

from shares.config import numbers, rates
from shares.errors import ConfigError

# The admin's forms (login, share edits) are a few hundred bytes; Django's
# upload limits and the HTTP channel's body cap both use this.
ADMIN_BODY_MAX = 64 * 1024


@dataclass(frozen=True)
class Limits:
    socket_timeout: float = 30.0
    header_read_timeout: float = 10.0
    transfer_stall_timeout: float = 60.0
    # A download whose client takes less than min_speed bytes a second over
    # min_speed_seconds is cut (its slot stays resumable); 0 turns it off.
    min_speed: int = 10_000
    min_speed_seconds: float = 30.0
    # Bytes one client address may download in a sliding hour, across every
    # share (and every worker, through the cache); 0 turns it off.
    client_bytes_per_hour: int = 0
    # Bytes a second this server sends in all, shared fairly among its
    # downloads (shares/bandwidth/pacing.py); 0: no cap.
    max_rate: int = 0
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
    # Connection caps count an IPv6 client by the network of this many bits.
    ipv6_prefix: int = 64
    # Seconds between lease renewals (shares/operator/leases.py); another host's
    # lease is reaped after six missed ones. Every host sharing a database
    # must use the same value.
    lease_renew_interval: float = 20.0
    # Ended shares older than this many days are deleted, with their history,
    # by whichever server's background task gets there first; 0 keeps them.
    purge_after_days: float = 30.0
    # `pasla relay`: connections one sender may hold (listens and bodies in
    # flight), its bytes per second across them (0: unlimited), and how long
    # a recipient waits for the sender's answer before a 504.
    relay_sender_connections: int = 100
    relay_sender_rate: int = 0
    relay_answer_timeout: float = 30.0


YEAR = 365 * 24 * 3600  # no share outlives a year, so no timeout needs to
MANY = 10**9  # more connections, requests or rows than one machine will see


@dataclass(frozen=True)
class Rule:
    """How one field is read: its unit, whether 0 means something, its effective range."""

    unit: str  # "seconds", "days", "count", "bytes", "rate" or "switch"
    zero_ok: bool = False
    floor: float = 0  # smaller accepted values act as this
    ceiling: float = MANY  # larger accepted values act as this
    meaningful_max: float | None = None  # beyond it a value means nothing


SECONDS = Rule("seconds", ceiling=YEAR)
COUNT = Rule("count")

RULES = {
    "socket_timeout": SECONDS,
    "header_read_timeout": SECONDS,
    "transfer_stall_timeout": SECONDS,
    "min_speed": Rule("bytes", zero_ok=True, ceiling=1 << 40),
    "min_speed_seconds": SECONDS,
    "client_bytes_per_hour": Rule("bytes", zero_ok=True, ceiling=1 << 40),
    # Digits with an optional K/M/G, as --max-rate takes them (shares/bandwidth/rates.py).
    "max_rate": Rule("rate", zero_ok=True, ceiling=rates.MAX_RATE),
    "max_global_connections": COUNT,
    "max_connections_per_ip": COUNT,
    "max_requests_per_proxy_ip": COUNT,
    "max_connections_per_proxy_ip": COUNT,
    "rate_limit_window": SECONDS,
    "rate_limit_max_requests": COUNT,
    "ban_threshold": COUNT,
    "max_banned_ips": COUNT,
    "max_tracked_ips": COUNT,
    # A read buffer: tiny reads cost a system call per few bytes, huge ones
    # a huge allocation per connection, and neither changes what is sent.
    "chunk_size": Rule("bytes", floor=4096, ceiling=16 << 20),
    "resume_overlap": Rule("bytes", zero_ok=True, ceiling=1 << 40),
    "drain_timeout": Rule("seconds", zero_ok=True, ceiling=YEAR),
    "detach_timeout": SECONDS,
    "zero_copy": Rule("switch", zero_ok=True, ceiling=1),
    "admin_login_attempts": COUNT,
    "admin_login_window": SECONDS,
    # Bits of an IPv6 address that name one client (a host owns its /64).
    "ipv6_prefix": Rule("count", meaningful_max=128),
    "lease_renew_interval": SECONDS,
    # A century is "keep them"; more would overflow the date arithmetic.
    "purge_after_days": Rule("days", zero_ok=True, ceiling=36500),
    "relay_sender_connections": COUNT,
    "relay_sender_rate": Rule("bytes", zero_ok=True, ceiling=1 << 40),
    "relay_answer_timeout": SECONDS,
}

_SHOWN = 40  # characters of a refused value quoted back


def _expected(rule: Rule) -> str:
    if rule.unit == "switch":
        return "0 or 1"
    if rule.unit == "rate":
        return "bytes a second, e.g. 500K, 5M, 1.5M (K/M/G = 1024-based; 0 = no cap)"
    if rule.meaningful_max is not None:
        return f"a whole number up to {rule.meaningful_max}, above 0"
    what = (
        f"a number of {rule.unit} (digits, optionally with one '.')"
        if rule.unit in ("seconds", "days")
        else "a whole number"
    )
    return f"{what}, 0 or more" if rule.zero_ok else f"{what} above 0"


def parse_value(name: str, raw: str, rule: Rule, kind: type) -> int | float:
    """One PASLA_* value, ConfigError (one line naming the variable) if it means nothing."""
    if rule.unit == "rate":
        try:
            value = rates.parse_rate(raw)
        except ValueError:
            value = None
    else:
        value = numbers.decimal(raw) if kind is float else numbers.whole(raw)
    meaningless = value is None or (value == 0 and not rule.zero_ok)
    if rule.unit == "switch" and value not in (0, 1):
        meaningless = True
    if rule.meaningful_max is not None and value is not None and value > rule.meaningful_max:
        meaningless = True
    if meaningless:
        shown = raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "..."
        raise ConfigError(f"{name} must be {_expected(rule)}, got {shown!r}")
    effective = min(max(value, rule.floor), rule.ceiling) if value else value
    return kind(effective)


def limits_from_env(environ=os.environ) -> Limits:
    values = {}
    for field in fields(Limits):
        name = f"PASLA_{field.name.upper()}"
        raw = environ.get(name)
        if raw is None or raw.strip(" \t") == "":
            continue
        values[field.name] = parse_value(name, raw, RULES[field.name], field.type)
    return Limits(**values)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_log_level(raw: str) -> str:
    """PASLA_LOG_LEVEL: one of LOG_LEVELS, any case (WARN is WARNING); empty is INFO."""
    # ASCII first: str.upper() maps some other letters (the Turkish dotless i) onto ASCII ones.
    level = raw.strip(" \t").upper() if raw.isascii() else raw
    if level == "":
        return "INFO"
    level = "WARNING" if level == "WARN" else level
    if level not in LOG_LEVELS:
        shown = raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "..."
        raise ConfigError(f"PASLA_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {shown!r}")
    return level
