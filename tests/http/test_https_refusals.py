"""A bad certificate setup exits 1 with one line and serves nothing: never plain HTTP."""

import datetime as dt
import socket
import sqlite3

import pytest

from tests import certs
from tests.conftest import free_port, run_pasla


def live_shares(data_dir) -> int:
    database = data_dir / "pasla.sqlite3"
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        try:
            return conn.execute("select count(*) from shares_share where state = 'live'").fetchone()[0]
        except sqlite3.OperationalError:  # no schema yet: nothing was ever created
            return 0


def assert_refused(done, data_dir, port, *fragments):
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pasla: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in done.stderr
    assert live_shares(data_dir) == 0
    assert not (data_dir / "tls").exists() or not any((data_dir / "tls").iterdir())
    # Nothing listens on the port it was told to use. (A bind probe would
    # race with other tests' client sockets taking that ephemeral port.)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def pair(tmp_path):
    return certs.self_signed_files(tmp_path)


def refusal_cases(tmp_path, pair):
    cert_file, key_file = pair
    other_cert, other_key = certs.self_signed_files(_subdir(tmp_path, "other"))
    expired_cert, expired_key = certs.self_signed_files(
        _subdir(tmp_path, "expired"),
        not_before=certs.NOW - dt.timedelta(days=30),
        not_after=certs.NOW - dt.timedelta(days=1),
    )
    future_cert, future_key = certs.self_signed_files(
        _subdir(tmp_path, "future"), not_before=certs.NOW + dt.timedelta(days=2)
    )
    garbage = certs.write(tmp_path / "garbage.pem", b"not a certificate\n", 0o644)
    unreadable = certs.write(tmp_path / "unreadable.pem", key_file.read_bytes(), 0o000)
    return {
        "cert only": (["--tls-cert", cert_file], ["--tls-cert needs --tls-key"]),
        "key only": (["--tls-key", key_file], ["--tls-key needs --tls-cert"]),
        "missing cert": (["--tls-cert", tmp_path / "nope.pem", "--tls-key", key_file], ["no such file"]),
        "missing key": (["--tls-cert", cert_file, "--tls-key", tmp_path / "nope.key"], ["no such file"]),
        "wrong key": (["--tls-cert", cert_file, "--tls-key", other_key], ["does not match"]),
        "expired": (["--tls-cert", expired_cert, "--tls-key", expired_key], ["expired on"]),
        "not yet valid": (["--tls-cert", future_cert, "--tls-key", future_key], ["not valid before"]),
        "garbage cert": (["--tls-cert", garbage, "--tls-key", key_file], ["no PEM certificate"]),
        "garbage key": (["--tls-cert", cert_file, "--tls-key", garbage], ["not a PEM private key"]),
        "directory": (["--tls-cert", tmp_path, "--tls-key", key_file], ["not a regular file"]),
        "unreadable key": (["--tls-cert", other_cert, "--tls-key", unreadable], ["permission denied"]),
        "no-https with own cert": (
            ["--no-https", "--tls-cert", cert_file, "--tls-key", key_file],
            ["--no-https cannot be combined"],
        ),
    }


def _subdir(tmp_path, name):
    path = tmp_path / name
    path.mkdir()
    return path


CASES = [
    "cert only",
    "key only",
    "missing cert",
    "missing key",
    "wrong key",
    "expired",
    "not yet valid",
    "garbage cert",
    "garbage key",
    "directory",
    "unreadable key",
    "no-https with own cert",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_certificate_setup_exits_1_and_serves_nothing(case, tmp_path, pair, sample, data_dir):
    args, fragments = refusal_cases(tmp_path, pair)[case]
    port = free_port()
    done = run_pasla([sample, 5, *args, "--json", "-p", port], data_dir, file_permissions=True)
    assert_refused(done, data_dir, port, *fragments)


def test_encrypted_key_without_password_exits_cleanly(tmp_path, sample, data_dir):
    cert_file, key_file = certs.self_signed_files(tmp_path, password=b"hunter2")
    port = free_port()
    done = run_pasla([sample, 5, "--tls-cert", cert_file, "--tls-key", key_file, "-p", port], data_dir)
    assert_refused(done, data_dir, port, "encrypted", "PASLA_TLS_KEY_PASSWORD")


def test_encrypted_key_with_a_wrong_password_exits_cleanly(tmp_path, sample, data_dir):
    cert_file, key_file = certs.self_signed_files(tmp_path, password=b"hunter2")
    port = free_port()
    done = run_pasla(
        [sample, 5, "--tls-cert", cert_file, "--tls-key", key_file, "-p", port],
        data_dir,
        env={"PASLA_TLS_KEY_PASSWORD": "hunter3"},
    )
    assert_refused(done, data_dir, port, "cannot decrypt")
    assert "hunter" not in done.stderr


def test_weak_rsa_key_is_refused_by_openssl_policy(tmp_path, sample, data_dir):
    cert_file, key_file = certs.self_signed_files(tmp_path, key=certs.rsa_key(1024))
    port = free_port()
    done = run_pasla([sample, 5, "--tls-cert", cert_file, "--tls-key", key_file, "-p", port], data_dir)
    assert_refused(done, data_dir, port, "OpenSSL refuses")


def test_failure_to_store_the_ephemeral_key_ends_the_share(tmp_path, sample, data_dir):
    (data_dir / "tls").write_text("in the way")  # the key directory cannot be made
    port = free_port()
    done = run_pasla([sample, 5, "--https", "--json", "-p", port], data_dir)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "pasla: error: cannot prepare the ephemeral certificate: File exists"
    ]
    assert live_shares(data_dir) == 0
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", port))
