"""Wrong guesses at the share URL ban the guesser; browser noise never does."""

import secrets

import pytest

NOISE = [
    "/favicon.ico",
    "/robots.txt",
    "/apple-touch-icon.png",
    "/apple-touch-icon-precomposed.png",
    "/apple-touch-icon-120x120-precomposed.png",
    "/.well-known/security.txt",
    "/",
    "/sitemap.xml",
]


def guess() -> str:
    """A path shaped exactly like a real link, with a token nobody minted."""
    return f"/{secrets.token_urlsafe(16)}/sample.bin"


def bans(served) -> list[tuple]:
    return served.query("select ip, share_id, strikes from shares_ban order by id")


@pytest.mark.parametrize("threshold", [1, 3])
def test_ban_lands_exactly_at_the_threshold(pasla, sample, threshold):
    served = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": str(threshold)})
    for _ in range(threshold - 1):
        assert served.request("GET", guess())[0].status == 404
    # N-1 wrong guesses: the right link still works.
    assert served.request("HEAD")[0].status == 200
    resp, _ = served.request("GET", guess())
    assert resp.status == 404  # the N-th guess is answered, and earns the ban
    assert bans(served) == [("127.0.0.1", served.info["id"], threshold)]
    for method, path in [("HEAD", None), ("GET", None), ("GET", "/favicon.ico"), ("GET", guess())]:
        resp, body = served.request(method, path)
        assert resp.status == 403, (method, path)
        assert served.token.encode() not in body
    assert served.downloads() == []


def test_browser_noise_never_bans(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": "2"})
    for path in NOISE:
        resp, _ = served.request("GET", path, headers={"Accept": "text/html"})
        assert resp.status == 404, path
    # The right token with a mangled name is the recipient, not a guesser.
    for _ in range(3):
        assert served.request("GET", f"/{served.token}/sample.bin)")[0].status == 404
    # A bare token-shaped segment is not the shape of a link either.
    assert served.request("GET", "/" + secrets.token_urlsafe(16))[0].status == 404
    assert served.request("HEAD")[0].status == 200
    assert bans(served) == []


def test_ban_is_per_client(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": "2"})
    for _ in range(2):
        served.request("GET", guess(), source="127.0.0.2")
    assert served.request("HEAD", source="127.0.0.2")[0].status == 403
    assert served.request("HEAD", source="127.0.0.1")[0].status == 200
    assert [row[0] for row in bans(served)] == ["127.0.0.2"]


def test_guessing_past_the_rate_limit_still_strikes(pasla, sample):
    """A 429 must not become a free pass to guess without strikes."""
    served = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": "4", "PASLA_RATE_LIMIT_MAX_REQUESTS": "2"})
    statuses = [served.request("GET", guess())[0].status for _ in range(4)]
    assert statuses == [404, 404, 429, 429]
    assert served.request("HEAD")[0].status == 403
    assert [row[0] for row in bans(served)] == ["127.0.0.1"]


def test_ban_table_is_bounded_oldest_first(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": "1", "PASLA_MAX_BANNED_IPS": "2"})
    for n in range(2, 6):
        served.request("GET", guess(), source=f"127.0.0.{n}")
    assert [row[0] for row in bans(served)] == ["127.0.0.4", "127.0.0.5"]


def test_tracked_clients_are_bounded_least_recent_forgotten(pasla, sample):
    """PASLA_MAX_TRACKED_IPS bounds the counters: an old strike is forgotten, not kept forever."""
    env = {"PASLA_BAN_THRESHOLD": "2", "PASLA_MAX_TRACKED_IPS": "1"}
    served = pasla(sample, 1, env=env)
    served.request("GET", guess(), source="127.0.0.2")
    for n in range(3, 13):
        served.request("GET", "/favicon.ico", source=f"127.0.0.{n}")
    served.request("GET", guess(), source="127.0.0.2")
    assert bans(served) == []  # its first strike was culled with the least recently used keys
    # With room to remember, the same two guesses ban.
    roomy = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": "2"})
    roomy.request("GET", guess(), source="127.0.0.2")
    for n in range(3, 13):
        roomy.request("GET", "/favicon.ico", source=f"127.0.0.{n}")
    roomy.request("GET", guess(), source="127.0.0.2")
    assert [row[0] for row in bans(roomy)] == ["127.0.0.2"]
