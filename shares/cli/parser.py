"""Argument grammar, kept apart from what the commands do.

Usage errors exit 1 with one line (argparse's default is 2, which the
reference reserves for a failed detach).
"""

import argparse
import sys

from shares import __version__
from shares.config import numbers, rates

SUBCOMMANDS = ("list", "stop", "purge", "admin-user", "client-cert", "serve", "share", "get")


class CliError(Exception):
    """Bad input from the operator: printed as one line, exit status 1."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CliError(message)


def share_parser() -> Parser:
    p = Parser(
        prog="manage.py pasla",
        description="Share a file, or a directory as a streamed archive, through a token URL "
        "that dies by time or by download count.",
        epilog="Subcommands: 'pasla list', 'pasla stop ID', 'pasla stop --all', "
        "'pasla purge [--older-than DAYS]', 'pasla admin-user NAME', "
        "'pasla client-cert NAME' (a client certificate for --client-ca), "
        "'pasla serve' (one server for every share), 'pasla share FILE' (same as --no-serve), "
        "'pasla get URL' (download, decrypt and check a share), "
        "'pasla relay' (a relay for senders behind NAT, see --via). "
        "Defaults for duration, max_downloads, port and TLS can be set in the config file "
        "($PASLA_CONFIG or ~/.config/pasla); tuning constants come from PASLA_* environment "
        "variables (ASCII digits; a very large value means 'never' or 'unlimited'; see README).",
    )
    p.add_argument("file", help="file or directory to share")
    # Positional defaults are None so that a value from the config file can
    # tell "not given" from "given as the default".
    p.add_argument(
        "duration",
        nargs="?",
        default=None,
        help="link lifetime: minutes (default 60), or a number with s/m/h/d, e.g. 90s, 2h (1s to 365d)",
    )
    p.add_argument("max_downloads", nargs="?", default=None, help="downloads allowed (default 0 = unlimited)")
    p.add_argument("-v", "--version", action="version", version=f"pasla {__version__}")
    p.add_argument(
        "-p",
        "--port",
        type=str,
        default=None,
        help="port to listen on (default: random 40000-50000; 0 = any free)",
    )
    family = p.add_mutually_exclusive_group()
    family.add_argument("-4", "--ipv4", action="store_true", help="IPv4 only")
    family.add_argument("-6", "--ipv6", action="store_true", help="IPv6 only")
    p.add_argument("--single", action="store_true", help="same as max_downloads=1")
    p.add_argument(
        "--allow-ip",
        action="append",
        default=[],
        metavar="CIDR",
        help="only clients in this network may download (IPv4 or IPv6; repeatable)",
    )
    p.add_argument(
        "--trust-proxy",
        action="store_true",
        default=None,  # not given: the config file's [security] trust_proxy decides
        help="behind a reverse proxy: the client is the rightmost X-Forwarded-For entry "
        "(strikes and the allowlist also apply to the proxy itself)",
    )
    p.add_argument(
        "--trust-header",
        metavar="NAME",
        default=None,
        help="with --trust-proxy, read the client from this header instead of X-Forwarded-For "
        "(e.g. CF-Connecting-IP, X-Real-IP)",
    )
    checksum = p.add_mutually_exclusive_group()
    checksum.add_argument(
        "--checksum",
        dest="checksum",
        action="store_true",
        default=None,
        help="compute SHA-256 whatever the size (default: files up to 1 GiB, never directories)",
    )
    checksum.add_argument("--no-checksum", dest="checksum", action="store_false", help="skip SHA-256")
    https = p.add_mutually_exclusive_group()
    https.add_argument(
        "--https",
        dest="https",
        action="store_true",
        default=None,
        help="serve over TLS with an ephemeral self-signed certificate",
    )
    https.add_argument(
        "--no-https",
        dest="https",
        action="store_false",
        help="force plain HTTP, even when the config file enables TLS",
    )
    p.add_argument(
        "--tls-cert",
        metavar="PATH",
        default=None,
        help="your PEM certificate (chain); needs --tls-key, implies --https",
    )
    p.add_argument(
        "--tls-key",
        metavar="PATH",
        default=None,
        help="your PEM private key; an encrypted key's password is read from PASLA_TLS_KEY_PASSWORD",
    )
    p.add_argument(
        "--client-ca",
        metavar="FILE",
        default=None,
        help="mutual TLS: every client must present a certificate signed by a CA in this PEM file "
        "(e.g. the one 'pasla client-cert' keeps); implies --https",
    )
    p.add_argument(
        "--client-cert-sha256",
        metavar="HEX",
        action="append",
        default=[],
        help="mutual TLS: accept the client certificate with this SHA-256 fingerprint "
        "(repeatable; with --client-ca the certificate must also chain to it); implies --https",
    )
    p.add_argument(
        "--archive",
        choices=("zip", "tar"),
        default=None,
        help="how a directory is served: zip (default) or tar; uncompressed, streamed, exact size",
    )
    p.add_argument(
        "--e2e",
        action="store_true",
        help="end-to-end encrypted: the key is only in the URL's #fragment, the server sends "
        "ciphertext and its database holds no key and no file name (docs/e2e.md)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout, no banner")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="validate (file, database, cache), print the URL, serve nothing",
    )
    p.add_argument(
        "-d",
        "--detach",
        action="store_true",
        help="serve in the background (log in the data dir); print the URL once it accepts connections",
    )
    p.add_argument(
        "--notify",
        metavar="URL",
        default=None,
        help="POST a small JSON event to this webhook after each download and when the share ends",
    )
    p.add_argument(
        "--public-address",
        action="store_true",
        help="ask a STUN server (PASLA_STUN_SERVER) which public address to print; "
        "by default pasla makes no outbound lookup",
    )
    p.add_argument(
        "--max-rate",
        metavar="RATE",
        default="0",
        help="cap this share's total send rate, shared fairly among its downloads: bytes a second "
        "with K/M/G = 1024-based, e.g. 500K, 5M, 1.5M (default 0: no cap; PASLA_MAX_RATE caps "
        "the whole server)",
    )
    p.add_argument(
        "--via",
        metavar="URL",
        default=None,
        help="serve through the relay at this http(s):// URL (from behind NAT); the URL printed is "
        "the relay's",
    )
    p.add_argument(
        "--via-key",
        metavar="KEY",
        default=None,
        help="the sender key from 'pasla relay add-sender' (better: PASLA_VIA_KEY, not seen in ps)",
    )
    p.add_argument(
        "--via-ca", metavar="FILE", default=None, help="PEM certificate(s) to verify an https relay by"
    )
    p.add_argument("--no-qr", action="store_true", help="do not draw the URL as a QR code in the terminal")
    p.add_argument("-q", "--quiet", action="store_true", help="no terminal bell when a download completes")
    # Set by -d on the background process it starts; not for people.
    p.add_argument("--detached-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--no-serve",
        action="store_true",
        help="create the share and print its URL for a running 'pasla serve' "
        "(PASLA_PUBLIC_URL or PASLA_BIND, plus PASLA_URL_PREFIX); serve nothing here",
    )
    return p


def serve_parser() -> Parser:
    p = Parser(
        prog="manage.py pasla serve",
        description="Serve every live share in the database (created with 'pasla share FILE' or "
        "'pasla FILE --no-serve') until stopped by SIGTERM/SIGINT.",
        epilog="Several workers need a shared cache (CACHE_URL=redis://...) so that caps, bans and "
        "rate limits hold across them; PostgreSQL (DATABASE_URL) is recommended. "
        "TLS belongs to the reverse proxy in front (see docs/deploy.md).",
    )
    p.add_argument(
        "--workers",
        type=str,
        default="1",
        metavar="N",
        help="worker processes sharing the port(s) with SO_REUSEPORT (default 1, at most 64)",
    )
    p.add_argument(
        "--bind",
        action="append",
        default=[],
        metavar="ADDR:PORT",
        help="address to listen on, [ADDR]:PORT for IPv6 (repeatable; default $PASLA_BIND or 127.0.0.1:8000)",
    )
    p.add_argument(
        "--allow-ip",
        action="append",
        default=[],
        metavar="CIDR",
        help="only clients in this network may download (repeatable)",
    )
    p.add_argument(
        "--trust-proxy",
        action="store_true",
        help="behind a reverse proxy: the client is the rightmost X-Forwarded-For entry",
    )
    p.add_argument(
        "--trust-header",
        metavar="NAME",
        default=None,
        help="with --trust-proxy, read the client from this header",
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout once every worker is ready"
    )
    # Internal: how the supervisor starts a worker on the sockets it bound.
    p.add_argument("--worker-fds", default=None, help=argparse.SUPPRESS)
    p.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)
    return p


def list_parser() -> Parser:
    p = Parser(prog="manage.py pasla list", description="List live shares.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def stop_parser() -> Parser:
    p = Parser(prog="manage.py pasla stop", description="Stop a share (unique id prefix) or all.")
    p.add_argument("id", nargs="?", help="share id or unique prefix")
    p.add_argument("--all", action="store_true", help="stop every live share")
    return p


def purge_parser() -> Parser:
    p = Parser(
        prog="manage.py pasla purge",
        description="Delete ended shares and their download history. Running servers also do this "
        "hourly for shares that ended more than PASLA_PURGE_AFTER_DAYS (default 30) days ago.",
    )
    p.add_argument(
        "--older-than",
        metavar="DAYS",
        default="0",
        help="only shares that ended more than DAYS days ago (default 0: every ended share)",
    )
    return p


def admin_user_parser() -> Parser:
    p = Parser(
        prog="manage.py pasla admin-user",
        description="Create an admin login (or set its password). The password comes from "
        "PASLA_ADMIN_PASSWORD, or is asked for on the terminal.",
    )
    p.add_argument("username", help="login name")
    return p


def client_cert_parser() -> Parser:
    p = Parser(
        prog="manage.py pasla client-cert",
        description="Make a client key and certificate for shares served with --client-ca: "
        "NAME.pem and NAME-key.pem for curl (--cert/--key), NAME.p12 for browsers (its one-time "
        "password is printed once). The CA that signs them is made on first use and kept in the "
        "data directory (client-ca/cert.pem and key.pem, 0600): pass that cert.pem to --client-ca.",
    )
    p.add_argument("name", help="the client's name (letters, digits, '.', '_', '-'; at most 64)")
    p.add_argument("--out", metavar="DIR", default=".", help="where to write the files (default: here)")
    p.add_argument("--days", metavar="N", default="365", help="validity in days (default 365, at most 3650)")
    return p


def get_parser() -> Parser:
    p = Parser(
        prog="manage.py pasla get",
        description="Download a share's file: an encrypted share (a URL ending in #k=...) is "
        "decrypted as it arrives; every download is checked (SHA-256, Repr-Digest) and only then "
        "renamed into place. Exit status 1 with one line on any error.",
    )
    p.add_argument("url", help="the share's URL, with its #k=... fragment for an encrypted share")
    p.add_argument(
        "-o", "--output", metavar="FILE", default=None, help="where to save (default: the share's name)"
    )
    p.add_argument(
        "-c", "--continue", dest="resume", action="store_true", help="resume an interrupted download"
    )
    p.add_argument(
        "--cert-sha256",
        metavar="HEX",
        default=None,
        help="https with a self-signed certificate: accept the one with this SHA-256 fingerprint",
    )
    return p


MAX_PURGE_DAYS = 36_500


def parse_days(text: str) -> float:
    days = numbers.decimal(text)
    if days is None:
        raise CliError(f"--older-than takes a number of days, got {text!r}")
    if not days <= MAX_PURGE_DAYS:
        raise CliError(f"--older-than must be between 0 and {MAX_PURGE_DAYS} days")
    return days


def parse(argv: list[str]) -> tuple[str, argparse.Namespace]:
    if argv and argv[0] == "share":
        opts = _share_opts(argv[1:])
        opts.no_serve = True
        return "share", opts
    if argv and argv[0] in SUBCOMMANDS:
        name = argv[0]
        parser = {
            "list": list_parser,
            "stop": stop_parser,
            "purge": purge_parser,
            "admin-user": admin_user_parser,
            "client-cert": client_cert_parser,
            "serve": serve_parser,
            "get": get_parser,
        }[name]()
        opts = parser.parse_args(argv[1:])
        if name == "stop" and bool(opts.id) == bool(opts.all):
            raise CliError("stop needs either a share ID or --all")
        if name == "purge":
            opts.older_than = parse_days(opts.older_than)
        return name, opts
    return "share", _share_opts(argv)


def _share_opts(argv: list[str]) -> argparse.Namespace:
    opts = share_parser().parse_args(argv)
    try:
        opts.max_rate = rates.parse_rate(opts.max_rate)
    except ValueError as exc:
        raise CliError(f"--max-rate: {exc}") from None
    return opts


def parse_port(text: str | None) -> int | None:
    if text is None:
        return None
    port = numbers.whole(text)
    if port is None or port > 65535:
        raise CliError(f"invalid port {text!r} (0-65535)")
    return port


def fail(message: str) -> int:
    sys.stderr.write(f"pasla: error: {message}\n")
    sys.stderr.flush()
    return 1
