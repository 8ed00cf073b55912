"""A client's Daphne-Root-Path header changes nothing: every gate, with it present.

daphne turns that header into the ASGI root_path, which Django strips from
the path it routes. pasla routes PASLA_URL_PREFIX itself, so it drops any
root path: the gates and the URL resolver read one path. Each test runs the
same steps from two clients of equal standing, one sending the header and
one not, and expects the same answers from both.
"""

import secrets

import pytest

HEADER = "Daphne-Root-Path"
X = "/X"


def guess() -> str:
    return secrets.token_urlsafe(16)


def answers(served, source: str, steps, *, with_header: bool) -> list[int]:
    """Status of each (path, root) step from `source`; root is sent as the header or not at all."""
    statuses = []
    for path, root in steps:
        headers = {HEADER: root} if with_header else {}
        resp, body = served.request("GET", path, headers=headers, source=source)
        statuses.append(resp.status)
    return statuses


def same_with_and_without(served, steps, with_source: str, without_source: str) -> list[int]:
    sent = answers(served, with_source, steps, with_header=True)
    assert sent == answers(served, without_source, steps, with_header=False)
    return sent


def test_ban_gate(pasla, sample):
    served = pasla(sample, 5, env={"PASLA_BAN_THRESHOLD": "3"})
    link = served.path
    token = served.token
    g1, g2, g3 = guess(), guess(), guess()
    steps = [
        # The share's token under an injected prefix reaches no share.
        (f"{X}/{guess()}/sample.bin", X),
        (f"{X}/{token}/sample.bin", X),
        # Three real guesses, each with a root path that would hide its token.
        (f"/{g1}/sample.bin", f"/{g1}"),
        (f"/{g2}/sample.bin", f"/{g2}"),
        (f"/{g3}/sample.bin", f"/{g3}"),
        (link, f"/{token}"),
    ]
    assert same_with_and_without(served, steps, "127.0.0.5", "127.0.0.6") == [404, 404, 404, 404, 404, 403]
    assert served.request("GET", source="127.0.0.7")[0].status == 200


def test_rate_limit_gate(pasla, sample):
    served = pasla(sample, 5, env={"PASLA_RATE_LIMIT_MAX_REQUESTS": "3"})
    token = served.token
    steps = [(f"{X}/favicon.ico", X)] * 3 + [
        (f"{X}/{guess()}/sample.bin", X),
        (f"{X}/{token}/sample.bin", X),
        (f"/{token}/{guess()}/sample.bin", f"/{token}"),
    ]
    statuses = same_with_and_without(served, steps, "127.0.0.5", "127.0.0.6")
    # The last one holds the right token, so it is exempt: an unknown path's 404.
    assert statuses == [404, 404, 404, 429, 429, 404]


def test_token_exemption(pasla, sample):
    served = pasla(sample, 5, env={"PASLA_RATE_LIMIT_MAX_REQUESTS": "2"})
    token = served.token
    steps = [(f"{X}/favicon.ico", X)] * 2 + [
        # Exempt and served: the token the gate saw is the one the view got.
        (served.path, f"/{token}"),
        # The exempt token in front of another token routes to no share:
        # holding one link buys no unthrottled guesses at others.
        (f"/{token}/{token}/sample.bin", f"/{token}"),
        (f"/{token}/{guess()}/sample.bin", f"/{token}"),
        # A prefix that is not a token exempts nothing.
        (f"{X}/{token}/sample.bin", X),
    ]
    assert same_with_and_without(served, steps, "127.0.0.5", "127.0.0.6") == [404, 404, 200, 404, 404, 429]


def test_allowlist_gate(pasla, sample):
    served = pasla(sample, 5, "--allow-ip", "127.0.0.5", "--allow-ip", "127.0.0.6")
    token = served.token
    steps = [
        (f"{X}/{token}/sample.bin", X),
        (served.path, f"/{token}"),
        (f"{X}/admin/", X),
    ]
    assert same_with_and_without(served, steps, "127.0.0.8", "127.0.0.9") == [403, 403, 403]
    # Inside, the prefixed path is no link either, and the plain one is.
    assert same_with_and_without(served, steps[:2], "127.0.0.5", "127.0.0.6") == [404, 200]


@pytest.mark.parametrize(("inside", "expected"), [(True, [404, 200, 200]), (False, [404, 404, 404])])
def test_admin_gate(pasla, sample, inside, expected):
    allow = {"PASLA_ADMIN_ALLOW": "127.0.0.5/32,127.0.0.6/32"} if inside else {}
    served = pasla(sample, 5, env=allow)
    steps = [
        (f"{X}/admin/login/", X),  # the admin lives at one path only
        ("/admin/login/", X),
        ("/admin/login/", "/admin"),  # would have routed /login/ past the gate's eyes
    ]
    assert same_with_and_without(served, steps, "127.0.0.5", "127.0.0.6") == expected
