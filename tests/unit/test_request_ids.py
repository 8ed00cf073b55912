"""Which X-Request-ID values a client may have echoed and logged."""

import secrets

import pytest

from shares import tokens
from shares.gates import request_ids

TOKEN = "Abc_defGHIjkl-mnoPQRst"  # token-shaped: 22 of the urlsafe alphabet


@pytest.mark.parametrize(
    ("offered", "kept"),
    [
        ("trace-42.a:b_c", True),
        ("123e4567-e89b-12d3-a456-426614174000", True),  # a UUID
        ("123E4567-E89B-12D3-A456-426614174000", True),
        ("0f" * 16, True),  # nginx's $request_id: 32 hex digits
        ("0" * 64, True),
        ("g" * 21, True),  # one short of a token
        ("req.2024-01-01:node_7.abcdefghij", True),  # runs cut by '.' and ':'
        ("x" * 65, False),
        ("0" * 65, False),
        ("", False),
        ("a b", False),
        ("<script>", False),
        ("é", False),
        ("a\nb", False),
        (TOKEN, False),
        (f"id-{TOKEN}", False),
        (f"id.{TOKEN}.x", False),
        (f"{TOKEN[:11]}_{TOKEN[11:]}", False),  # the run is what counts, not a known token
        ("g" * 22, False),
    ],
)
def test_acceptable(offered, kept):
    assert request_ids.acceptable(offered) is kept


def test_no_minted_token_survives_as_a_request_id():
    for _ in range(2000):
        token = tokens.mint()
        for offered in (token, f"id-{token}", f"{token}.1", f"x:{token}"):
            assert not request_ids.acceptable(offered)


def test_mint_redraws_a_token_spelled_in_hex(monkeypatch):
    draws = iter(["0123456789abcdef-ABCDE", "0123456789abcdef-ABCDg"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(draws))
    assert tokens.mint() == "0123456789abcdef-ABCDg"
