"""The operator's config file, end to end: CLI > config file > default."""

import json

from tests import certs
from tests.conftest import run_pasla


def write_config(tmp_path, text: str):
    path = tmp_path / "pasla.ini"
    path.write_text(text)
    return {"PASLA_CONFIG": str(path)}


def dry_run(sample, data_dir, env, *args):
    done = run_pasla([sample, *args, "--dry-run", "--json"], data_dir, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_server_section_sets_defaults_and_the_cli_overrides_them(tmp_path, sample, data_dir):
    env = write_config(tmp_path, "[server]\nduration = 5\nmax_downloads = 3\nport = 0\n")
    info = dry_run(sample, data_dir, env)
    assert (info["expires_seconds"], info["max_downloads"]) == (300, 3)
    info = dry_run(sample, data_dir, env, "90s", 7)
    assert (info["expires_seconds"], info["max_downloads"]) == (90, 7)
    info = dry_run(sample, data_dir, env, "--single")
    assert info["max_downloads"] == 1


def test_the_default_location_is_home_config_pasla(tmp_path, sample, data_dir):
    home = tmp_path / "operator"
    (home / ".config").mkdir(parents=True)
    (home / ".config" / "pasla").write_text("[server]\nduration = 2h\n[tls]\nhttps = true\n")
    info = dry_run(sample, data_dir, {"HOME": str(home)})
    assert info["expires_seconds"] == 7200
    assert info["url"].startswith("https://")


def test_config_https_serves_tls_and_no_https_forces_plain(pasla, tmp_path, sample):
    env = write_config(tmp_path, "[tls]\nhttps = true\n")
    served = pasla(sample, 5, env=env)
    assert served.url.startswith("https://") and served.info["cert_fingerprint"]
    resp, body = served.https_request()
    assert resp.status == 200 and body == sample.read_bytes()

    plain = pasla(sample, 5, "--no-https", env=env)
    assert plain.url.startswith("http://") and plain.info["cert_fingerprint"] is None
    resp, body = plain.request()
    assert resp.status == 200 and body == sample.read_bytes()
    assert plain.share_row()["scheme"] == "http"


def test_config_certificate_paths_imply_https(pasla, tmp_path, sample):
    cert_file, key_file = certs.self_signed_files(tmp_path)
    env = write_config(tmp_path, f"[tls]\nhttps = false\ncert = {cert_file}\nkey = {key_file}\n")
    served = pasla(sample, 5, env=env)
    assert served.info["cert_source"] == str(cert_file)
    resp, body = served.https_request()
    assert resp.status == 200 and body == sample.read_bytes()


def refused(done, *fragments):
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pasla: error: config file"), done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_bad_config_files_exit_1_with_one_line(tmp_path, sample, data_dir):
    env = write_config(tmp_path, "[server]\nport = lots\n")
    refused(run_pasla([sample, "--json"], data_dir, env=env), "[server] port")
    env = write_config(tmp_path, "[tls]\ncert = /some/cert.pem\n")
    refused(run_pasla([sample, "--json"], data_dir, env=env), "[tls] cert needs key")
    env = {"PASLA_CONFIG": str(tmp_path / "missing.ini")}
    refused(run_pasla([sample, "--json"], data_dir, env=env), "no such file")
    assert not (data_dir / "tls").exists()


def test_config_certificate_problems_are_refused_like_flags(tmp_path, sample, data_dir):
    env = write_config(tmp_path, f"[tls]\ncert = {tmp_path / 'no.pem'}\nkey = {tmp_path / 'no.key'}\n")
    done = run_pasla([sample, "--json"], data_dir, env=env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("pasla: error: certificate") and "no such file" in done.stderr


def test_unknown_key_is_a_warning_not_a_failure(tmp_path, sample, data_dir):
    env = write_config(tmp_path, "[tls]\nhtps = true\n[update]\ncheck = false\n")
    done = run_pasla([sample, "--dry-run", "--json"], data_dir, env=env)
    assert done.returncode == 0
    assert json.loads(done.stdout)["url"].startswith("http://")
    assert "pasla: warning: config file" in done.stderr and "'htps'" in done.stderr
    assert "update" not in done.stderr


def test_dry_run_checks_an_own_certificate_without_serving(tmp_path, sample, data_dir):
    cert_file, key_file = certs.self_signed_files(tmp_path)
    done = run_pasla(
        [sample, "--tls-cert", cert_file, "--tls-key", key_file, "--dry-run", "--json"], data_dir
    )
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["url"].startswith("https://") and info["cert_source"] == str(cert_file)
    assert info["cert_fingerprint"] and info["cert_expiry"]
    ephemeral = dry_run(sample, data_dir, None, "--https")
    assert ephemeral["url"].startswith("https://") and ephemeral["cert_fingerprint"] is None
    assert not (data_dir / "tls").exists()  # nothing generated, nothing written


def test_help_names_the_tls_flags_and_the_config_file(data_dir):
    done = run_pasla(["--help"], data_dir)
    assert done.returncode == 0
    for word in (
        "--https",
        "--no-https",
        "--tls-cert",
        "--tls-key",
        "PASLA_TLS_KEY_PASSWORD",
        "~/.config/pasla",
    ):
        assert word in done.stdout


def test_security_section_sets_proxy_trust(pasla, tmp_path, sample):
    env = write_config(tmp_path, "[security]\ntrust_proxy = true\ntrust_header = CF-Connecting-IP\n")
    served = pasla(sample, 5, env=env)
    headers = {"Range": "bytes=0-0", "X-Forwarded-For": "10.1.1.1", "CF-Connecting-IP": "203.0.113.50"}
    assert served.request("GET", headers=headers)[0].status == 206
    assert served.downloads()[0]["client_ip"] == "203.0.113.50"


def test_config_trust_header_without_trust_proxy_is_refused(tmp_path, sample, data_dir):
    env = write_config(tmp_path, "[security]\ntrust_header = X-Real-IP\n")
    done = run_pasla([sample, "--json"], data_dir, env=env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == "pasla: error: --trust-header needs --trust-proxy"
