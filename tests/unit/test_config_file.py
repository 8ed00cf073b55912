import pytest

from shares.config.config_file import ConfigFileError, FileConfig, config_path, load, parse, parse_bool

FULL = """
[server]
duration = 2h
max_downloads = 5
port = 8080

[security]
trust_proxy = yes
trust_header = CF-Connecting-IP

[tls]
https = true
cert = /etc/ssl/share.pem
key = /etc/ssl/share.key
"""


def test_every_known_key_is_read_and_typed():
    config = parse(FULL, "cfg")
    assert config == FileConfig(
        path="cfg",
        duration=120.0,
        max_downloads=5,
        port=8080,
        trust_proxy=True,
        trust_header="CF-Connecting-IP",
        https=True,
        cert="/etc/ssl/share.pem",
        key="/etc/ssl/share.key",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", FileConfig(path="cfg")),
        ("[server]\nduration = 30\n", FileConfig(path="cfg", duration=30.0)),
        ("[server]\nduration = 90s\n", FileConfig(path="cfg", duration=1.5)),
        ("[server]\nPORT = 0\n", FileConfig(path="cfg", port=0)),
        ("[server]\nmax_downloads =\n", FileConfig(path="cfg")),
        ("[tls]\nhttps = off\n", FileConfig(path="cfg", https=False)),
        ("[tls]\nhttps = On\n", FileConfig(path="cfg", https=True)),
        ("[security]\ntrust_proxy = 0\n", FileConfig(path="cfg", trust_proxy=False)),
        ("# comment\n[update]\ncheck = false\n", FileConfig(path="cfg")),
        (
            "[server]\nduration = 30   # minutes\nport = 80 ; web\n",
            FileConfig(path="cfg", duration=30.0, port=80),
        ),
        ("[tls]\ncert = ~/c.pem\nkey=~/k.pem\n", None),
    ],
)
def test_values(text, expected, monkeypatch):
    monkeypatch.setenv("HOME", "/home/op")
    config = parse(text, "cfg")
    if expected is None:
        assert (config.cert, config.key) == ("/home/op/c.pem", "/home/op/k.pem")
    else:
        assert config == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("duration = 5\n", "no section headers"),
        ("[server]\nduration = soon\n", "[server] duration: invalid duration"),
        ("[server]\nduration = 0\n", "[server] duration: duration must be positive"),
        ("[server]\nmax_downloads = -1\n", "[server] max_downloads"),
        ("[server]\nport = 70000\n", "[server] port: invalid port"),
        ("[server]\nport = http\n", "[server] port"),
        ("[tls]\nhttps = maybe\n", "[tls] https: expected true or false"),
        ("[security]\ntrust_header = Bad Header\n", "[security] trust_header"),
        ("[security]\ntrust_header = X-Real-IP: 1\n", "[security] trust_header"),
        ("[server]\nport = 1\nport = 2\n", "already exists"),
        ("[server]\n[server]\n", "already exists"),
        ("[server]\njust a line\n", "cfg"),
    ],
)
def test_bad_files_are_one_line_errors(text, fragment):
    with pytest.raises(ConfigFileError) as caught:
        parse(text, "cfg")
    message = str(caught.value)
    assert message.startswith("config file cfg")
    assert fragment in message
    assert "\n" not in message


def test_unknown_keys_in_known_sections_are_warnings():
    config = parse("[tls]\nhtps = true\n", "cfg")
    assert config.https is None
    assert config.warnings == ("config file cfg: unknown key 'htps' in [tls], ignored",)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, ("/home/op/.config/pasla", False)),
        ({"PASLA_CONFIG": ""}, ("/home/op/.config/pasla", False)),
        ({"PASLA_CONFIG": "/etc/pasla.ini"}, ("/etc/pasla.ini", True)),
    ],
)
def test_where_the_file_is_looked_up(environ, expected, tmp_path):
    from pathlib import Path

    path, explicit = config_path(environ, Path("/home/op"))
    assert (str(path), explicit) == expected


def test_missing_default_file_is_no_config(tmp_path):
    assert load({}, tmp_path) == FileConfig()


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigFileError, match="no such file"):
        load({"PASLA_CONFIG": str(tmp_path / "nope")}, tmp_path)


def test_directory_and_oversized_and_binary_files_are_errors(tmp_path):
    with pytest.raises(ConfigFileError, match="is a directory"):
        load({"PASLA_CONFIG": str(tmp_path)}, tmp_path)
    big = tmp_path / "big"
    big.write_text("[server]\n" + "# padding\n" * 10_000)
    with pytest.raises(ConfigFileError, match="larger than"):
        load({"PASLA_CONFIG": str(big)}, tmp_path)
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe[server]")
    with pytest.raises(ConfigFileError, match="not UTF-8"):
        load({"PASLA_CONFIG": str(binary)}, tmp_path)


def test_default_location_is_read(tmp_path):
    (tmp_path / ".config").mkdir()
    (tmp_path / ".config" / "pasla").write_text("[tls]\nhttps = true\n")
    assert load({}, tmp_path).https is True


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("YES", True), ("1", True), ("on", True), ("false", False), ("No", False), ("0", False)],
)
def test_parse_bool(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize(
    ("path", "fragment"),
    [("/dev/null", "not a regular file"), ("/proc/self/status", "proc pseudo filesystem")],
)
def test_special_files_are_errors(tmp_path, path, fragment):
    # (A FIFO, which would block the old reader, is tested through the CLI.)
    with pytest.raises(ConfigFileError, match=fragment):
        load({"PASLA_CONFIG": path}, tmp_path)
