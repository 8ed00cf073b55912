"""A request looks its share up once, whichever gates and views ask about its token.

The server runs under tests/tools/sql_traced_manage.py, which appends every
SQLite statement the process runs to a file; each case counts the lookups
by token digest that its one request caused.
"""

import time
from pathlib import Path

import pytest

MANAGE = Path(__file__).resolve().parents[1] / "tools" / "sql_traced_manage.py"
WRONG = "A" * 22


def lookups(log: Path, since: int) -> int:
    lines = log.read_text().splitlines()[since:] if log.exists() else []
    return sum("WHERE token_digest" in line or '"token_digest" =' in line for line in lines)


def lines_in(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


# (case, method, whose token, extra headers, expected status): run in this order,
# with a rate limit of one request, so the last two arrive over the limit.
CASES = [
    ("GET", "GET", "right", {}, 200),
    ("HEAD", "HEAD", "right", {}, 200),
    ("browser GET (landing page)", "GET", "right", {"Accept": "text/html"}, 200),
    ("landing button POST", "POST", "right", {"Sec-Fetch-Site": "same-origin"}, 303),
    ("wrong token", "GET", "wrong", {}, 404),
    ("rate-limited, right token", "GET", "right", {}, 200),
    ("rate-limited, wrong token", "GET", "wrong", {}, 429),
]


def test_each_request_looks_its_share_up_once(pasla, sample, tmp_path):
    log = tmp_path / "sql.log"
    env = {
        "PASLA_TEST_SQL_LOG": str(log),
        "PASLA_RATE_LIMIT_MAX_REQUESTS": "1",
        "PASLA_BAN_THRESHOLD": "100",
    }
    served = pasla(sample, "10", "0", env=env, manage=MANAGE)
    name = served.path.split("/", 2)[2]
    counted = {}
    for case, method, whose, headers, status in CASES:
        path = served.path if whose == "right" else f"/{WRONG}/{name}"
        before = lines_in(log)
        resp, _ = served.request(method, path, headers=headers)
        assert resp.status == status, case
        # What runs after the answer (history rows, strikes) is no lookup, but give it time to show.
        time.sleep(0.3)
        counted[case] = lookups(log, before)
    assert counted == {case: 1 for case, *_ in CASES}


@pytest.mark.parametrize("path", ["/favicon.ico", "/robots.txt"])
def test_paths_without_a_token_look_nothing_up(pasla, sample, tmp_path, path):
    log = tmp_path / "sql.log"
    served = pasla(sample, "10", "0", env={"PASLA_TEST_SQL_LOG": str(log)}, manage=MANAGE)
    before = lines_in(log)
    resp, _ = served.request("GET", path)
    assert resp.status == 404
    time.sleep(0.3)
    assert lookups(log, before) == 0
