import pytest

from shares.tokens import is_share_shaped, token_segment

TOKEN = "AbCdEfGhIjKlMnOpQrSt_-"  # 22 characters of the token alphabet


@pytest.mark.parametrize(
    ("path", "shaped"),
    [
        (f"/{TOKEN}/report.pdf", True),
        (f"/{TOKEN}/", True),
        (f"/{TOKEN}/a/b/c", True),
        (f"/{TOKEN}", False),  # not the shape of a link
        (f"/{TOKEN}x/report.pdf", False),
        (f"/{TOKEN[:-1]}/report.pdf", False),
        ("/favicon.ico", False),
        ("/robots.txt", False),
        ("/apple-touch-icon.png", False),
        ("/apple-touch-icon-precomposed.png", False),
        ("/apple-touch-icon-120x120-precomposed.png", False),
        ("/.well-known/security.txt", False),
        ("/.well-known/acme-challenge/AbCdEfGhIjKlMnOpQrSt_-", False),
        ("/", False),
        ("", False),
        ("//report.pdf", False),
    ],
)
def test_share_shaped(path, shaped):
    assert is_share_shaped(path) is shaped
    assert (token_segment(path) == TOKEN) is shaped
