import pytest

from shares.gates import admin_gate
from shares.gates.admin_gate import GateConfigError, admitted, parse_admin_allow, parse_admin_path

DEFAULT = parse_admin_allow([])


@pytest.mark.parametrize(
    ("text", "path"),
    [("admin/", "admin/"), ("admin", "admin/"), ("/ops/pasla/", "ops/pasla/"), (" x-1_2 ", "x-1_2/")],
)
def test_admin_path(text, path):
    assert parse_admin_path(text) == path


@pytest.mark.parametrize("text", ["", "/", "a//b", "../x", "a/./b", "a b", "adm%69n", "a/" * 9, "é"])
def test_bad_admin_paths(text):
    with pytest.raises(GateConfigError):
        parse_admin_path(text)


@pytest.mark.parametrize(
    ("addresses", "networks", "ok"),
    [
        (("127.0.0.1",), DEFAULT, True),
        (("::1",), DEFAULT, True),
        # Another loopback address is another client, not the operator.
        (("127.0.0.2",), DEFAULT, False),
        (("10.1.2.3",), DEFAULT, False),
        (("10.1.2.3",), parse_admin_allow(["10.0.0.0/8"]), True),
        (("127.0.0.1",), parse_admin_allow(["10.0.0.0/8"]), True),  # loopback always
        (("2001:db8::5",), parse_admin_allow(["2001:db8::/32"]), True),
        # Behind a trusted proxy both the forwarded client and the peer must be inside.
        (("203.0.113.9", "127.0.0.1"), DEFAULT, False),
        (("127.0.0.1", "203.0.113.9"), DEFAULT, False),
        (("10.0.0.7", "127.0.0.1"), parse_admin_allow(["10.0.0.0/8"]), True),
        ((), DEFAULT, False),
        (("not-an-ip",), DEFAULT, False),
        (("0.0.0.0",), DEFAULT, False),
    ],
)
def test_admitted(addresses, networks, ok):
    assert admitted(addresses, networks) is ok


@pytest.mark.parametrize(
    "entries", [["10.0.0.0/33"], ["nonsense"], ["10.0.0.0/8"] * 65, ["10.0.0.0/8", "10.0.0.0/8/8"]]
)
def test_bad_allow_lists(entries):
    with pytest.raises(GateConfigError):
        parse_admin_allow(entries)


def test_blank_entries_are_ignored():
    assert parse_admin_allow(["", " "]) == admin_gate.LOOPBACK


@pytest.mark.parametrize(
    ("path", "admin"),
    [("/admin/", True), ("/admin/x", True), ("/admin", False), ("//admin/", False), ("/ADMIN/", False)],
)
def test_is_admin_path(path, admin):
    assert admin_gate.is_admin_path(path, "admin/") is admin
