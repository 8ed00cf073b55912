"""The operator's optional INI config file: serving defaults set once.

Looked up at $PASLA_CONFIG, else ~/.config/pasla. pasla reads it and never
writes it. Precedence is CLI > config file > built-in default; this module
only parses and checks the file, the CLI does the merging.

Sections other than the ones below are ignored (a reference-tool file may
carry, say, [update]); an unknown key inside a known section is reported as
a warning, since it is most likely a typo the operator wants to hear about.
"""

import configparser
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from shares.config import numbers
from shares.config.durations import parse_max_downloads, parse_minutes
from shares.files import filesystems
from shares.network.clients import valid_header_name

MAX_CONFIG_BYTES = 64 << 10

KNOWN_KEYS = {
    "server": ("duration", "max_downloads", "port"),
    "security": ("trust_proxy", "trust_header"),
    "tls": ("https", "cert", "key"),
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigFileError(ValueError):
    pass


@dataclass(frozen=True)
class FileConfig:
    """Values the file sets; None means 'not set here, use the default'."""

    path: str | None = None
    duration: float | None = None  # minutes
    max_downloads: int | None = None
    port: int | None = None
    trust_proxy: bool | None = None
    trust_header: str | None = None
    https: bool | None = None
    cert: str | None = None
    key: str | None = None
    warnings: tuple[str, ...] = field(default=())


def config_path(environ=os.environ, home: Path | None = None) -> tuple[Path | None, bool]:
    """(path, explicit): where to look, and whether the operator named it."""
    explicit = environ.get("PASLA_CONFIG", "")
    if explicit:
        return Path(explicit).expanduser(), True
    try:
        home = home or Path.home()
    except RuntimeError:  # no home directory at all
        return None, False
    return home / ".config" / "pasla", False


def load(environ=os.environ, home: Path | None = None) -> FileConfig:
    path, explicit = config_path(environ, home)
    if path is None:
        return FileConfig()
    try:
        raw = _read_regular(path)
    except FileNotFoundError:
        if explicit:
            raise ConfigFileError(f"config file {path} (PASLA_CONFIG): no such file") from None
        return FileConfig()
    except IsADirectoryError:
        raise ConfigFileError(f"config file {path}: is a directory") from None
    except PermissionError:
        raise ConfigFileError(f"config file {path}: permission denied") from None
    except OSError as exc:
        raise ConfigFileError(f"config file {path}: {exc.strerror}") from None
    except _NotRegular as exc:
        raise ConfigFileError(f"config file {path}: {exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigFileError(f"config file {path}: larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(f"config file {path}: not UTF-8 text") from None
    return parse(text, str(path))


class _NotRegular(Exception):
    pass


def _read_regular(path: Path) -> bytes:
    """Up to MAX_CONFIG_BYTES + 1 bytes of a regular file on a real filesystem."""
    # Look before opening: open() on a FIFO would wait for a writer forever.
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError
    if not stat.S_ISREG(st.st_mode):
        raise _NotRegular("not a regular file")
    if reason := filesystems.refusal(st.st_dev, "it"):
        raise _NotRegular(reason)
    # O_NONBLOCK: the path may have been swapped for a FIFO since the look.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise _NotRegular("not a regular file")
        return fh.read(MAX_CONFIG_BYTES + 1)


def parse(text: str, path: str = "config file") -> FileConfig:
    parser = configparser.ConfigParser(
        interpolation=None, strict=True, default_section="\0none", inline_comment_prefixes=("#", ";")
    )
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ConfigFileError(f"config file {path}: {first_line}") from None

    def fail(section: str, key: str, why: str):
        return ConfigFileError(f"config file {path}: [{section}] {key}: {why}")

    values: dict = {}
    warnings = []
    for section, keys in KNOWN_KEYS.items():
        if not parser.has_section(section):
            continue
        for key, raw in parser.items(section):
            if key not in keys:
                warnings.append(f"config file {path}: unknown key {key!r} in [{section}], ignored")
                continue
            value = raw.strip()
            if value == "":
                continue  # `key =` reads as "not set"
            try:
                values[key] = _convert(key, value)
            except ValueError as exc:
                raise fail(section, key, str(exc)) from None
    return FileConfig(path=path, warnings=tuple(warnings), **values)


def _convert(key: str, value: str):
    if key == "duration":
        return parse_minutes(value)
    if key == "max_downloads":
        return parse_max_downloads(value)
    if key == "port":
        port = numbers.whole(value)
        if port is None or port > 65535:
            raise ValueError(f"invalid port {value!r} (0-65535)")
        return port
    if key in ("https", "trust_proxy"):
        return parse_bool(value)
    if key == "trust_header":
        if len(value) > 100 or not valid_header_name(value):
            raise ValueError(f"{value!r} is not a header name pasla can read (letters, digits and '-')")
        return value
    if key in ("cert", "key"):
        return os.path.expanduser(value)
    raise ValueError("unknown key")


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {value!r}")
