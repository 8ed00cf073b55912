"""--notify URLs: a webhook pasla can reach, or one readable line saying why not."""

import pytest

from shares.operator.notify import NotifyError, validate_url


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/x",
        "https://u:p@hook.example.org:8443/a/b?c=d#e",
        "http://127.0.0.1:5000/",
        "http://[::1]:9/",
        "https://[fd00::2]/hook",
        "http://my_service/",  # container names carry underscores
        "http://example.org./",
        "http://localhost",
        "http://a:/",  # empty port: the scheme's default
    ],
)
def test_good_urls(url):
    assert validate_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/x",
        "not a url",
        "http://",
        "http://:80/",
        "http://h:99999/",
        "http://h:0/",
        "http://h:-1/",
        "http://h:\u0668\u0660/",  # Arabic-Indic 80
        "http://[::1",  # urlsplit raises
        "http://[x]/",
        "http://[v1.x]/",
        "http://[::1]x/",
        "http://[::1]:80:80/",
        "http://a.b:80:80/",
        "http://%zz/",
        "http://a..b/",
        "http://-a/",
        "http://\u00fc.example/",
        "http://a/\x1b[31m",
        "http://" + "a" * 3000,
    ],
)
def test_bad_urls_are_one_line(url):
    with pytest.raises(NotifyError) as caught:
        validate_url(url)
    message = str(caught.value)
    assert message.startswith("--notify") and "\n" not in message and "\x1b" not in message
