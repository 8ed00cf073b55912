"""The share command's serving options: its flags over the config file over defaults."""

from shares.cli.parser import CliError, parse_port
from shares.cli.tls_setup import warn
from shares.config import config_file, serving_options
from shares.config.durations import parse_max_downloads, parse_minutes


def serving_from(opts) -> serving_options.ServingOptions:
    """The CLI's values over the config file's over the defaults."""
    try:
        config = config_file.load()
    except config_file.ConfigFileError as exc:
        raise CliError(str(exc)) from None
    for message in config.warnings:
        warn(message)
    try:
        minutes = parse_minutes(opts.duration) if opts.duration is not None else None
        if opts.single:
            max_downloads = 1
        elif opts.max_downloads is not None:
            max_downloads = parse_max_downloads(opts.max_downloads)
        else:
            max_downloads = None
        return serving_options.resolve(
            minutes=minutes,
            max_downloads=max_downloads,
            port=parse_port(opts.port),
            https=opts.https,
            cert=opts.tls_cert,
            key=opts.tls_key,
            config=config,
            # Defaults None, so the config file's [security] can fill them in.
            trust_proxy=opts.trust_proxy,
            trust_header=opts.trust_header,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
