"""What the operator sees: banner, --json object, live status line."""

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.console import Console

from shares import __version__
from shares.config.durations import is_capped
from shares.human import human_bytes, human_minutes


@dataclass
class ShareView:
    """Everything the banner and --json describe, computed once at start."""

    id: str
    file: str
    name: str
    size: int
    port: int
    port_auto: bool
    minutes: float
    max_downloads: int
    sha256: str
    url_ipv4: str | None
    url_ipv6: str | None
    dry_run: bool = False
    scheme: str = "http"
    # TLS: how the certificate was obtained ("ephemeral" or "own"), its
    # SHA-256 fingerprint, and for the operator's own certificate its path
    # and expiry (an aware UTC datetime).
    cert_mode: str | None = None
    cert_fingerprint: str | None = None
    cert_source: str | None = None
    cert_expiry: datetime | None = None
    extra: dict = field(default_factory=dict)
    # One line each, shown under the URLs (and written to stderr by the caller).
    warnings: tuple[str, ...] = ()

    @property
    def url(self) -> str | None:
        return self.url_ipv4 or self.url_ipv6

    def as_json(self) -> dict:
        data = {
            "id": self.id,
            "version": __version__,
            "url": self.url,
            "url_ipv4": self.url_ipv4,
            "url_ipv6": self.url_ipv6,
            "file": self.file,
            "name": self.name,
            "size": self.size,
            "port": self.port,
            "file_sha256": self.sha256 or None,
            "expires_seconds": round(self.minutes * 60),
            "max_downloads": self.max_downloads,
            "dry_run": self.dry_run,
            "scheme": self.scheme,
            "cert_fingerprint": self.cert_fingerprint,
            "cert_source": self.cert_source,
            "cert_expiry": self.cert_expiry.isoformat() if self.cert_expiry else None,
        }
        # banner_rows are for the terminal only; everything else in extra is a JSON key.
        data.update({k: v for k, v in self.extra.items() if k != "banner_rows"})
        return data


def banner_lines(view: ShareView) -> list[tuple[str, str]]:
    rows = [
        ("ID", view.id),
        ("File", view.name),
        ("Size", human_bytes(view.size)),
        ("Port", f"{view.port}{' (auto)' if view.port_auto else ''}"),
        ("Expires", human_minutes(view.minutes)),
        ("Cap", f"max {view.max_downloads}" if is_capped(view.max_downloads) else "unlimited"),
        ("Range", "supported (resumable)"),
        ("IPv6", "yes" if view.url_ipv6 else "no"),
    ]
    rows.extend(view.extra.get("banner_rows", []))
    rows.extend(tls_rows(view))
    rows.append(("SHA-256", view.sha256 or "skipped"))
    if view.dry_run:
        rows.append(("Dry run", "nothing is served"))
    return rows


def tls_rows(view: ShareView, now: datetime | None = None) -> list[tuple[str, str]]:
    if view.scheme != "https":
        return [("HTTPS", "disabled (plain HTTP: the URL is readable on the network)")]
    if view.cert_mode == "own":
        rows = [("HTTPS", "enabled (your certificate)")]
    else:
        rows = [("HTTPS", "enabled (self-signed, ephemeral)")]
    fingerprint = view.cert_fingerprint
    rows.append(("Cert FP", f"SHA256:{fingerprint}" if fingerprint else "generated at start"))
    if view.cert_source:
        rows.append(("Cert source", view.cert_source))
    if view.cert_expiry:
        days = (view.cert_expiry - (now or datetime.now(UTC))).days
        rows.append(("Cert expiry", f"{view.cert_expiry:%Y-%m-%d} ({days} days remaining)"))
    return rows


def url_lines(view: ShareView) -> list[tuple[str, str]]:
    """The labelled URLs; a host name serving both families is one URL, shown once."""
    if view.url_ipv4 and view.url_ipv4 == view.url_ipv6:
        return [("URL ", view.url_ipv4)]
    return [(label, url) for label, url in (("IPv4", view.url_ipv4), ("IPv6", view.url_ipv6)) if url]


def print_banner(view: ShareView, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    rule = "─" * 42
    console.print(rule, markup=False)
    for label, value in banner_lines(view):
        # soft_wrap: a fingerprint broken over two lines cannot be compared by copy-paste.
        console.print(f"  {label:<12}: {value}", markup=False, soft_wrap=True)
    console.print(rule, markup=False)
    for label, url in url_lines(view):
        console.print(f"  {label} : ", end="", markup=False)
        console.print(url, style=f"link {url}", markup=False, soft_wrap=True)
    for warning in view.warnings:
        console.print(f"  Warning : {warning}", markup=False, soft_wrap=True)
    console.print(rule, markup=False)


def print_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()
