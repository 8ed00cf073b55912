"""The share command's other modes with --via: detach, list, stop; and its refusals."""

import json
import urllib.request

import pytest

from tests.conftest import run_pasla, wait_until


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_detached_relayed_share_is_listed_and_stopped_like_any_other(relay, data_dir, sample):
    key = relay.add_sender("d")
    done = run_pasla([sample, "5", "--via", relay.base, "-d", "--json"], data_dir, env={"PASLA_VIA_KEY": key})
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["url"].startswith(relay.base + "/") and info["via"] == relay.base
    with urllib.request.urlopen(info["url"], timeout=10) as resp:
        assert resp.read() == sample.read_bytes()

    listed = json.loads(run_pasla(["list", "--json"], data_dir).stdout)
    assert [share["id"] for share in listed] == [info["id"]]
    assert run_pasla(["stop", info["id"]], data_dir).returncode == 0
    wait_until(lambda: status_of(info["url"]) == 404, timeout=15)


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["--via", "ftp://relay"], {}, "http:// or https://"),
        (["--via", "http://127.0.0.1:9"], {}, "PASLA_VIA_KEY"),
        (["--via", "http://127.0.0.1:9", "--via-key", "secret"], {}, "malformed"),
        (["--via-key", "pvk_x"], {}, "go with --via"),
        (["--via", "http://127.0.0.1:9", "--https"], {"PASLA_VIA_KEY": "pvk_" + "a" * 43}, "--https"),
        (["--via", "http://127.0.0.1:9", "--no-serve"], {"PASLA_VIA_KEY": "pvk_" + "a" * 43}, "--no-serve"),
        (
            ["--via", "http://127.0.0.1:9", "--via-ca", "x.pem"],
            {"PASLA_VIA_KEY": "pvk_" + "a" * 43},
            "https://",
        ),
    ],
)
def test_bad_via_options_are_one_line_and_exit_1(data_dir, sample, args, env, message):
    done = run_pasla([sample, "5", *args], data_dir, env=env)
    assert done.returncode == 1 and message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


def test_relay_sender_commands(relay_dir):
    added = run_pasla(["relay", "add-sender", "bob"], relay_dir)
    assert added.returncode == 0 and "pvk_" in added.stdout
    again = run_pasla(["relay", "add-sender", "bob"], relay_dir)
    assert again.returncode == 1 and "exists" in again.stderr
    assert run_pasla(["relay", "add-sender", "no good"], relay_dir).returncode == 1
    listed = json.loads(run_pasla(["relay", "senders", "--json"], relay_dir).stdout)
    assert [row["name"] for row in listed] == ["bob"] and "key" not in listed[0]
    assert run_pasla(["relay", "remove-sender", "bob"], relay_dir).returncode == 0
    assert run_pasla(["relay", "remove-sender", "bob"], relay_dir).returncode == 1
    assert run_pasla(["relay", "--workers", "2"], relay_dir).returncode == 1
