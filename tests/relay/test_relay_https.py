"""A relay serving HTTPS: recipients and senders verify its certificate."""

import hashlib
import subprocess

from tests.certs import self_signed_files
from tests.conftest import run_pasla


def test_an_https_relay_is_verified_by_the_sender_with_via_ca(relays, via, sample, tmp_path, data_dir):
    cert, key = self_signed_files(tmp_path)
    relay = relays("--tls-cert", cert, "--tls-key", key)
    assert relay.base.startswith("https://")

    sender_key = relay.add_sender("alice")
    refused = run_pasla(
        [sample, "5", "--via", relay.base, "-p", "0", "--json"], data_dir, env={"PASLA_VIA_KEY": sender_key}
    )
    assert refused.returncode == 1 and "--via-ca" in refused.stderr  # the system's CAs do not vouch for it

    served = via(sample, 5, "--via-ca", cert, key=sender_key, relay_=relay)
    assert served.url.startswith(relay.base + "/")
    got = subprocess.run(
        ["curl", "-sS", "-f", "--cacert", str(cert), served.url], capture_output=True, timeout=60
    )
    assert got.returncode == 0, got.stderr
    assert hashlib.sha256(got.stdout).digest() == hashlib.sha256(sample.read_bytes()).digest()
    plain = subprocess.run(["curl", "-sS", served.url.replace("https://", "http://")], capture_output=True)
    assert plain.returncode != 0 or not plain.stdout.startswith(sample.read_bytes()[:100])


def test_behind_a_proxy_the_relay_passes_the_forwarded_address_to_the_sender(relays, via, sample):
    relay = relays("--trust-proxy")
    served = via(sample, 5, relay_=relay)
    resp, body = served.request(headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
    assert resp.status == 200 and body == sample.read_bytes()
    assert [row["client_ip"] for row in served.downloads()] == ["198.51.100.7"]
