import pytest

from shares.download import tickets

KEY = tickets.derive_key("test secret")
BOUND = {"share_id": "abc123", "token_digest": "d" * 64, "client_ip": "127.0.0.1"}
NOW = 1_800_000_000
PURPOSES = (tickets.PAGE, tickets.DOWNLOAD)


def fresh(purpose=tickets.DOWNLOAD, **over):
    return tickets.issue(KEY, purpose=purpose, now=NOW, **{**BOUND, **over})


def check(ticket, purpose=tickets.DOWNLOAD, now=NOW, **over):
    return tickets.valid(KEY, ticket, purpose=purpose, now=now, **{**BOUND, **over})


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_fresh_ticket_is_valid(purpose):
    assert check(fresh(purpose), purpose, now=NOW + 5)


@pytest.mark.parametrize(
    ("issued_for", "shown_as"), [(tickets.PAGE, tickets.DOWNLOAD), (tickets.DOWNLOAD, tickets.PAGE)]
)
def test_a_ticket_is_good_for_its_own_purpose_only(issued_for, shown_as):
    """The page's ticket (in its HTML, for any scanner to read) never fetches the file."""
    assert not check(fresh(issued_for), shown_as)


def test_an_unknown_purpose_is_refused():
    with pytest.raises(ValueError):
        fresh("anything")


@pytest.mark.parametrize(
    ("change", "value"),
    [("share_id", "zzz999"), ("token_digest", "e" * 64), ("client_ip", "127.0.0.2")],
)
@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_ticket_is_bound_to_share_token_and_address(purpose, change, value):
    assert not check(fresh(purpose), purpose, **{change: value})


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize(
    ("age", "ok"), [(0, True), ("max", True), ("max+1", False), (-tickets.CLOCK_SKEW - 1, False)]
)
def test_a_ticket_lives_briefly(purpose, age, ok):
    max_age = tickets.MAX_AGES[purpose]
    age = {"max": max_age, "max+1": max_age + 1}.get(age, age)
    assert check(fresh(purpose), purpose, now=NOW + age) is ok


def test_a_download_ticket_is_shorter_lived_than_the_page():
    assert tickets.MAX_AGES[tickets.DOWNLOAD] <= 30 * 60 < tickets.MAX_AGES[tickets.PAGE] <= 24 * 3600


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
    assert not check(forged)


def test_another_key_cannot_mint_tickets():
    other = tickets.issue(tickets.derive_key("other secret"), purpose=tickets.DOWNLOAD, now=NOW, **BOUND)
    assert not check(other)


def test_tampering_with_the_time_breaks_the_mac():
    ticket = fresh()
    issued, _, mac = ticket.partition(".")
    later = f"{int(issued, 16) + 600:x}.{mac}"
    assert not check(later, now=NOW + 600)
