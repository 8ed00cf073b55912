import pytest

from shares.config.config_file import FileConfig
from shares.config.serving_options import OptionError, TlsChoice, resolve, resolve_tls

OWN = FileConfig(path="cfg", cert="/c.pem", key="/k.pem")
ON = FileConfig(path="cfg", https=True)
OFF = FileConfig(path="cfg", https=False)
NONE = FileConfig()


@pytest.mark.parametrize(
    ("https", "cert", "key", "config", "expected"),
    [
        (None, None, None, NONE, TlsChoice("off")),
        (True, None, None, NONE, TlsChoice("ephemeral", origin="cli")),
        (False, None, None, NONE, TlsChoice("off", origin="cli")),
        (None, None, None, ON, TlsChoice("ephemeral", origin="config")),
        (None, None, None, OFF, TlsChoice("off")),
        (True, None, None, OFF, TlsChoice("ephemeral", origin="cli")),
        (False, None, None, ON, TlsChoice("off", origin="cli")),
        (None, "/a", "/b", NONE, TlsChoice("own", "/a", "/b", "cli")),
        (True, "/a", "/b", OFF, TlsChoice("own", "/a", "/b", "cli")),
        (None, "/a", "/b", OWN, TlsChoice("own", "/a", "/b", "cli")),
        (None, None, None, OWN, TlsChoice("own", "/c.pem", "/k.pem", "config")),
        (True, None, None, OWN, TlsChoice("own", "/c.pem", "/k.pem", "config")),
        # Paths in the config file win over its own `https = false`.
        (
            None,
            None,
            None,
            FileConfig(path="cfg", https=False, cert="/c", key="/k"),
            TlsChoice("own", "/c", "/k", "config"),
        ),
        (False, None, None, OWN, TlsChoice("off", origin="cli")),
    ],
)
def test_tls_precedence(https, cert, key, config, expected):
    assert resolve_tls(https, cert, key, config) == expected


@pytest.mark.parametrize(
    ("https", "cert", "key", "config", "fragment"),
    [
        (None, "/a", None, NONE, "--tls-cert needs --tls-key"),
        (None, None, "/b", NONE, "--tls-key needs --tls-cert"),
        (True, "/a", None, OWN, "--tls-cert needs --tls-key"),
        (False, "/a", "/b", NONE, "--no-https cannot be combined"),
        (None, None, None, FileConfig(path="cfg", cert="/c"), "[tls] cert needs key"),
        (None, None, None, FileConfig(path="cfg", key="/k"), "[tls] key needs cert"),
        (True, None, None, FileConfig(path="cfg", key="/k"), "[tls] key needs cert"),
    ],
)
def test_tls_refusals(https, cert, key, config, fragment):
    with pytest.raises(OptionError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        resolve_tls(https, cert, key, config)


CONFIG = FileConfig(
    path="cfg", duration=30.0, max_downloads=5, port=8080, trust_proxy=True, trust_header="X-Real-IP"
)


@pytest.mark.parametrize(
    ("cli", "config", "expected"),
    [
        ({}, NONE, (60.0, 0, None, False, None)),
        ({}, CONFIG, (30.0, 5, 8080, True, "X-Real-IP")),
        ({"minutes": 10.0}, CONFIG, (10.0, 5, 8080, True, "X-Real-IP")),
        ({"max_downloads": 0}, CONFIG, (30.0, 0, 8080, True, "X-Real-IP")),
        ({"port": 0}, CONFIG, (30.0, 5, 0, True, "X-Real-IP")),
        ({"trust_proxy": False}, CONFIG, (30.0, 5, 8080, False, "X-Real-IP")),
        ({"trust_header": "CF-Connecting-IP"}, CONFIG, (30.0, 5, 8080, True, "CF-Connecting-IP")),
    ],
)
def test_cli_over_config_over_default(cli, config, expected):
    args = {"minutes": None, "max_downloads": None, "port": None, "https": None, "cert": None, "key": None}
    args.update(cli)
    options = resolve(**args, config=config)
    got = (options.minutes, options.max_downloads, options.port, options.trust_proxy, options.trust_header)
    assert got == expected
