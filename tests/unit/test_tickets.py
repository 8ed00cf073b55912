import pytest

from shares import tickets

KEY = tickets.derive_key("test secret")
BOUND = {"share_id": "abc123", "token_digest": "d" * 64, "client_ip": "127.0.0.1"}
NOW = 1_800_000_000


def fresh(**over):
    return tickets.issue(KEY, now=NOW, **{**BOUND, **over})


def test_a_fresh_ticket_is_valid():
    assert tickets.valid(KEY, fresh(), now=NOW + 5, **BOUND)


@pytest.mark.parametrize(
    ("change", "value"),
    [("share_id", "zzz999"), ("token_digest", "e" * 64), ("client_ip", "127.0.0.2")],
)
def test_a_ticket_is_bound_to_share_token_and_address(change, value):
    assert not tickets.valid(KEY, fresh(), now=NOW, **{**BOUND, change: value})


@pytest.mark.parametrize(
    ("age", "ok"),
    [(0, True), (tickets.MAX_AGE, True), (tickets.MAX_AGE + 1, False), (-tickets.CLOCK_SKEW - 1, False)],
)
def test_a_ticket_lives_briefly(age, ok):
    assert tickets.valid(KEY, fresh(), now=NOW + age, **BOUND) is ok


@pytest.mark.parametrize(
    "forged",
    [
        None,
        "",
        "nonsense",
        ".",
        "6b49d200.",
        "zz.AAAA",
        "6B49D200.AAAAAAAAAAAAAAAAAAAAAA",
        "6b49d200.AAAAAAAAAAAAAAAAAAAAAA",
        "x" * 500,
        "6b49d200.é",
    ],
)
def test_forgeries_are_refused(forged):
    assert not tickets.valid(KEY, forged, now=NOW, **BOUND)


def test_another_key_cannot_mint_tickets():
    other = tickets.issue(tickets.derive_key("other secret"), now=NOW, **BOUND)
    assert not tickets.valid(KEY, other, now=NOW, **BOUND)


def test_tampering_with_the_time_breaks_the_mac():
    ticket = fresh()
    issued, _, mac = ticket.partition(".")
    later = f"{int(issued, 16) + 600:x}.{mac}"
    assert not tickets.valid(KEY, later, now=NOW + 600, **BOUND)
