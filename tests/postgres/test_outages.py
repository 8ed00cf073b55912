"""A database or cache that cannot be reached: one line at start, 503 while serving.

The unreachable services are closed loopback ports; the cache that goes
away mid-serve is a private redis-server this test starts, stops and starts
again on the same port.
"""

import pytest

from tests.conftest import free_port, run_pasla, wait_until
from tests.postgres.conftest import Backing

CLOSED_DATABASE = {"DATABASE_URL": "postgres://pasla:s3cret-pw@127.0.0.1:{port}/pasla"}
CLOSED_CACHE = {"CACHE_URL": "redis://:s3cret-pw@127.0.0.1:{port}/0"}

COMMANDS = [
    ["list"],
    ["stop", "--all"],
    ["{file}", "5"],
    ["{file}", "5", "--dry-run"],
    ["{file}", "5", "--no-serve"],
    ["{file}", "5", "--no-serve", "--dry-run"],
    ["serve", "--bind", "127.0.0.1:0"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(("service", "env"), [("database", CLOSED_DATABASE), ("cache", CLOSED_CACHE)])
def test_an_unreachable_service_is_one_line_and_exit_1(data_dir, sample, args, service, env):
    env = {name: value.format(port=free_port()) for name, value in env.items()}
    result = run_pasla([a.format(file=sample) for a in args], data_dir, env=env, timeout=30)
    if service == "cache" and args[0] in ("list", "stop"):
        # Only the database: an operator can list and stop shares while Redis is away.
        assert (result.returncode, result.stderr) == (0, "")
        return
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"pasla: error: cannot reach the {service} ("), lines[0]
    assert "127.0.0.1:" in lines[0] and "refused" in lines[0].lower()
    assert "s3cret-pw" not in result.stderr
    assert result.stdout == ""


def outage_lines(server) -> list[str]:
    return [line for line in server.stderr().splitlines() if "the cache is" in line]


def test_a_cache_that_goes_away_while_serving_is_503_logged_once_and_recovers(
    serve, data_dir, sample, private_redis
):
    private_redis.start()
    server = serve(Backing("sqlite", data_dir, {"CACHE_URL": private_redis.url}), workers=1)
    share = server.share(sample, 5, 0)
    resp, body = server.request("GET", share["path"])
    assert (resp.status, body) == (200, sample.read_bytes())

    private_redis.stop()
    for path in [share["path"], "/unknown/path", "/"] * 7:
        resp, body = server.request("GET", path)
        assert resp.status == 503, (resp.status, body)
        assert resp.getheader("Retry-After") == "5"
        assert b"Traceback" not in body
    (line,) = outage_lines(server)
    assert "the cache is unreachable (" in line and "answering 503 until it is back" in line
    assert "Traceback" not in server.stderr()

    private_redis.start()
    wait_until(lambda: server.request("GET", share["path"])[0].status == 200, timeout=15)
    wait_until(lambda: len(outage_lines(server)) == 2)
    assert "the cache is reachable again" in outage_lines(server)[1]
    resp, body = server.request("GET", share["path"])
    assert (resp.status, body) == (200, sample.read_bytes())
    assert "Traceback" not in server.stderr()
