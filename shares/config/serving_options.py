"""Serving options: the CLI over the config file over built-in defaults.

Pure merging with no I/O, so each precedence rule is one row of a table
test. The CLI values arrive already parsed; None means "not given".
"""

from dataclasses import dataclass

from shares.config.config_file import FileConfig

DEFAULT_MINUTES = 60.0
DEFAULT_MAX_DOWNLOADS = 0


class OptionError(ValueError):
    pass


@dataclass(frozen=True)
class TlsChoice:
    """How to serve: 'off' (plain HTTP), 'ephemeral' or 'own' (cert and key paths)."""

    mode: str
    cert: str | None = None
    key: str | None = None
    origin: str = "default"  # "cli", "config" or "default": where the decision came from

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


@dataclass(frozen=True)
class ServingOptions:
    minutes: float
    max_downloads: int
    port: int | None
    tls: TlsChoice
    trust_proxy: bool
    trust_header: str | None


def pick(cli, file, default):
    if cli is not None:
        return cli
    if file is not None:
        return file
    return default


def resolve_tls(https: bool | None, cert: str | None, key: str | None, config: FileConfig) -> TlsChoice:
    """`https` is True for --https, False for --no-https, None for neither."""
    if (cert is None) != (key is None):
        given, missing = ("--tls-cert", "--tls-key") if cert is not None else ("--tls-key", "--tls-cert")
        raise OptionError(f"{given} needs {missing} too (give both or neither)")
    if cert is not None:
        if https is False:
            raise OptionError("--no-https cannot be combined with --tls-cert/--tls-key")
        return TlsChoice("own", cert, key, "cli")
    if https is False:
        # The one way to plain HTTP when the config file asks for TLS.
        return TlsChoice("off", origin="cli")
    if (config.cert is None) != (config.key is None):
        given, missing = ("cert", "key") if config.cert is not None else ("key", "cert")
        raise OptionError(f"config file {config.path}: [tls] {given} needs {missing} too")
    if config.cert is not None:
        # Paths in the config file imply HTTPS whatever `https =` says: a
        # certificate the operator configured is never silently unused.
        return TlsChoice("own", config.cert, config.key, "config")
    if https:
        return TlsChoice("ephemeral", origin="cli")
    if config.https:
        return TlsChoice("ephemeral", origin="config")
    return TlsChoice("off")


def resolve(
    *,
    minutes: float | None,
    max_downloads: int | None,
    port: int | None,
    https: bool | None,
    cert: str | None,
    key: str | None,
    config: FileConfig,
    trust_proxy: bool | None = None,
    trust_header: str | None = None,
) -> ServingOptions:
    return ServingOptions(
        minutes=pick(minutes, config.duration, DEFAULT_MINUTES),
        max_downloads=pick(max_downloads, config.max_downloads, DEFAULT_MAX_DOWNLOADS),
        port=pick(port, config.port, None),
        tls=resolve_tls(https, cert, key, config),
        trust_proxy=pick(trust_proxy, config.trust_proxy, False),
        trust_header=pick(trust_header, config.trust_header, None),
    )
