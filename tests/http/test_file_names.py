"""curl -OJ saves a share under a sensible name: the `filename` fallback (RFC 6266)."""

import os
import subprocess

import pytest

from tests.file_names import NAMES, ids


@pytest.mark.parametrize(("name", "curl_saves", "_browser_saves"), NAMES, ids=ids)
def test_curl_remote_header_name_saves_a_plain_version_of_the_name(
    pasla, tmp_path, name, curl_saves, _browser_saves
):
    source = tmp_path / "src"
    source.mkdir()
    shared = source / name
    shared.write_bytes(b"contents of " + name.encode())
    served = pasla(shared, 5)
    into = tmp_path / "into"
    into.mkdir()
    done = subprocess.run(["curl", "-sS", "-f", "-OJ", served.url], cwd=into, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert os.listdir(into) == [curl_saves]
    assert (into / curl_saves).read_bytes() == shared.read_bytes()


def test_curl_never_overwrites_a_file_with_the_served_name(pasla, tmp_path):
    """What keeps a leading-dot name from clobbering a recipient's dotfile: curl -J refuses."""
    shared = tmp_path / ".profile"
    shared.write_bytes(b"from the share\n")
    served = pasla(shared, 5)
    into = tmp_path / "home"
    into.mkdir()
    (into / ".profile").write_bytes(b"mine\n")
    done = subprocess.run(["curl", "-sS", "-OJ", served.url], cwd=into, capture_output=True, timeout=60)
    assert done.returncode != 0
    assert (into / ".profile").read_bytes() == b"mine\n"
