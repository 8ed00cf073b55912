"""The URL a new user is given works from another machine, or they are told why not."""

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import time
import urllib.parse

import pytest

from tests.conftest import MANAGE, PYTHON, ROOT, base_env, run_pasla
from tests.stun_responder import Responder

WARNING = "pasla: warning: every URL is loopback-only"
DETECT = {"PASLA_PUBLIC_HOST": ""}


def route_source(*args) -> str | None:
    """The `src` the kernel reports for a route to a public address, as `ip route get` prints it."""
    if shutil.which("ip") is None:
        return None
    out = subprocess.run(["ip", *args], capture_output=True, text=True)
    match = re.search(r"\bsrc (\S+)", out.stdout)
    return match.group(1) if match else None


SRC4 = route_source("route", "get", "1.1.1.1")
SRC6 = route_source("-6", "route", "get", "2001:4860::1")
routed = pytest.mark.skipif(not (SRC4 and SRC6), reason="no default route for both families here")


def host_of(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@routed
def test_json_and_banner_print_the_routing_source_addresses(sample, data_dir):
    done = run_pasla([sample, 5, 1, "--dry-run", "--json"], data_dir, env=DETECT)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert (host_of(info["url_ipv4"]), host_of(info["url_ipv6"])) == (SRC4, SRC6)
    assert info["url"] == info["url_ipv4"]
    assert WARNING not in done.stderr

    done = run_pasla([sample, 5, 1, "--dry-run"], data_dir, env=DETECT)
    assert done.returncode == 0, done.stderr
    assert re.search(rf"IPv4 : http://{re.escape(SRC4)}:\d+/", done.stdout)
    assert re.search(rf"IPv6 : http://\[{re.escape(SRC6)}\]:\d+/", done.stdout)
    assert "Warning" not in done.stdout


@routed
def test_curl_from_the_machines_own_address_downloads_through_the_printed_urls(pasla, sample):
    served = pasla(sample, 5, 2, env=DETECT)
    assert (host_of(served.info["url_ipv4"]), host_of(served.info["url_ipv6"])) == (SRC4, SRC6)
    for url, source in ((served.info["url_ipv4"], SRC4), (served.info["url_ipv6"], SRC6)):
        done = subprocess.run(
            ["curl", "-gsS", "--fail", "--max-time", "30", "--interface", source, url],
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert sha(done.stdout) == sha(sample.read_bytes())
    served.wait_until(lambda: len(served.downloads()) == 2)
    assert sorted(row["client_ip"] for row in served.downloads()) == sorted([SRC4, SRC6])
    assert served.wait() == 0  # both slots used: the share ended


@routed
def test_the_ephemeral_certificate_names_the_printed_addresses(pasla, sample):
    served = pasla(sample, 5, "--https", env=DETECT)
    assert (host_of(served.info["url_ipv4"]), host_of(served.info["url_ipv6"])) == (SRC4, SRC6)
    context = served.tls_context()  # pinned; hostname checking stays on
    for url in (served.info["url_ipv4"], served.info["url_ipv6"]):
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30, context=context)
        try:
            conn.request("HEAD", parts.path)
            assert conn.getresponse().status == 200
        except ssl.SSLCertVerificationError as exc:
            pytest.fail(f"the certificate does not name {parts.hostname}: {exc}")
        finally:
            conn.close()


def run_isolated(args, data_dir):
    """`manage.py pasla ARGS` in a network namespace of its own: loopback only, no route."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare here")
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a network namespace here")
    return subprocess.run(
        ["unshare", "-n", PYTHON, MANAGE, "pasla", *map(str, args)],
        cwd=ROOT,
        env=base_env(data_dir, DETECT),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_without_a_route_the_operator_is_told_how_to_fix_it(sample, data_dir):
    done = run_isolated([sample, 5, 1, "--dry-run", "--json"], data_dir)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert (host_of(info["url_ipv4"]), host_of(info["url_ipv6"])) == ("127.0.0.1", "::1")
    lines = [line for line in done.stderr.splitlines() if WARNING in line]
    assert len(lines) == 1
    assert "PASLA_PUBLIC_HOST" in lines[0] and "--public-address" in lines[0]

    done = run_isolated([sample, 5, 1, "--dry-run"], data_dir)
    assert done.returncode == 0, done.stderr
    assert re.search(r"Warning : every URL is loopback-only.*PASLA_PUBLIC_HOST", done.stdout)


@pytest.mark.parametrize(
    ("value", "host4", "host6"),
    [
        ("192.0.2.9,2001:db8::9", "192.0.2.9", "2001:db8::9"),
        ("2001:db8::9, 192.0.2.9", "192.0.2.9", "2001:db8::9"),
        ("files.example.org", "files.example.org", "files.example.org"),
    ],
)
def test_public_host_names_both_families(sample, data_dir, value, host4, host6):
    done = run_pasla([sample, 5, 1, "--dry-run", "--json"], data_dir, env={"PASLA_PUBLIC_HOST": value})
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert (host_of(info["url_ipv4"]), host_of(info["url_ipv6"])) == (host4, host6)


def test_a_host_name_is_printed_for_ipv6_only_too(sample, data_dir):
    env = {"PASLA_PUBLIC_HOST": "files.example.org"}
    done = run_pasla([sample, 5, 1, "-6", "--dry-run", "--json"], data_dir, env=env)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["url_ipv4"] is None and host_of(info["url_ipv6"]) == "files.example.org"


@pytest.mark.parametrize(
    "value", ["files.example.org/x", "192.0.2.9,192.0.2.10", "a b", "192.0.2.9,files.example.org"]
)
def test_a_malformed_public_host_is_refused_in_one_line(sample, data_dir, value):
    done = run_pasla([sample, 5, 1, "--json"], data_dir, env={"PASLA_PUBLIC_HOST": value})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "PASLA_PUBLIC_HOST" in done.stderr


# --- --public-address (STUN), against a responder on loopback ------------------


@pytest.fixture
def stun_servers():
    opened = []

    def start(mapped4: str | None, mapped6: str | None):
        pair = (Responder("127.0.0.1", mapped4), Responder("::1", mapped6))
        opened.extend(pair)
        return pair

    yield start
    for responder in opened:
        responder.close()


def stun_env(*responders, public_host="") -> dict:
    return {"PASLA_PUBLIC_HOST": public_host, "PASLA_STUN_SERVER": ",".join(r.address for r in responders)}


def dry_run(sample, data_dir, env, *flags):
    done = run_pasla([sample, 5, 1, "--dry-run", "--json", *flags], data_dir, env=env)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    return (host_of(info["url_ipv4"]), host_of(info["url_ipv6"])), done.stderr


def test_public_address_prints_what_the_stun_server_saw(sample, data_dir, stun_servers):
    v4, v6 = stun_servers("203.0.113.7", "2001:db8::7")
    hosts, stderr = dry_run(sample, data_dir, stun_env(v4, v6), "--public-address")
    assert hosts == ("203.0.113.7", "2001:db8::7")
    assert (v4.requests, v6.requests) == (1, 1)
    assert "warning" not in stderr


@routed
def test_no_stun_lookup_without_the_flag(sample, data_dir, stun_servers):
    v4, v6 = stun_servers("203.0.113.7", "2001:db8::7")
    hosts, _ = dry_run(sample, data_dir, stun_env(v4, v6))
    assert hosts == (SRC4, SRC6)
    assert (v4.requests, v6.requests) == (0, 0)


def test_no_stun_lookup_for_the_families_pasla_public_host_names(sample, data_dir, stun_servers):
    v4, v6 = stun_servers("203.0.113.7", "2001:db8::7")
    hosts, _ = dry_run(sample, data_dir, stun_env(v4, v6, public_host="192.0.2.9"), "--public-address")
    assert hosts == ("192.0.2.9", "2001:db8::7")
    assert (v4.requests, v6.requests) == (0, 1)


@routed
def test_a_silent_stun_server_costs_a_bounded_wait_and_a_warning(sample, data_dir, stun_servers):
    v4, v6 = stun_servers(None, None)
    started = time.monotonic()
    hosts, stderr = dry_run(sample, data_dir, stun_env(v4, v6), "--public-address")
    assert time.monotonic() - started < 20
    assert hosts == (SRC4, SRC6)  # the kernel's answer, as without the flag
    assert (v4.requests, v6.requests) == (2, 2)  # one retry each
    assert stderr.count("--public-address: no IPv") == 2


def test_public_address_is_refused_with_no_serve(sample, data_dir):
    done = run_pasla([sample, 5, 1, "--no-serve", "--public-address"], data_dir)
    assert done.returncode == 1 and "--public-address" in done.stderr and done.stdout == ""


def test_a_detached_loopback_only_share_warns_the_operator(sample, data_dir):
    done = run_pasla(
        [sample, 5, 1, "-d", "-4", "-p", "0", "--json"], data_dir, env={"PASLA_PUBLIC_HOST": "127.0.0.1"}
    )
    info = json.loads(done.stdout)
    try:
        assert done.returncode == 0, done.stderr
        assert done.stderr.count(WARNING) == 1
    finally:
        os.kill(info["pid"], signal.SIGTERM)
