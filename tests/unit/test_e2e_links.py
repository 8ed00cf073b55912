"""shares/e2e/links.py: what `pasla get` reads from a URL and from response headers."""

import pytest

from shares.e2e import links

KEY = bytes(range(16))
K = "AAECAwQFBgcICQoLDA0ODw"


@pytest.mark.parametrize(
    ("url", "bare", "secret"),
    [
        ("http://h:1/t/n.e2e#k=" + K, "http://h:1/t/n.e2e", KEY),
        ("https://h/p/t/n.e2e#x=1&k=" + K, "https://h/p/t/n.e2e", KEY),
        ("http://h:1/t/name.txt", "http://h:1/t/name.txt", None),
        ("http://h:1/t/name.txt#section", "http://h:1/t/name.txt", None),
        ("http://h:1/t/n?dl=abc#k=" + K, "http://h:1/t/n?dl=abc", KEY),
    ],
)
def test_the_key_comes_from_the_fragment_and_never_reaches_the_request(url, bare, secret):
    assert links.split(url) == (bare, secret)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://h/t/n#k=" + K,
        "http:///t/n",
        "http://h/t/n#k=" + K[:-1],  # cut off
        "http://h/t/n#k=" + K + "A",
        "http://h/t/n#k=" + K[:-1] + "x",  # non-canonical last character: not what pasla prints
        "http://h/t/n#k=" + K + "&k=" + K,
        "http://h/t/n#k=" + K.replace("A", "+"),
    ],
)
def test_a_url_pasla_did_not_print_is_refused(url):
    with pytest.raises(links.LinkError):
        links.split(url)


def test_the_fragment_round_trips():
    assert links.split("http://h/t/n" + links.fragment_for(KEY))[1] == KEY


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="report.pdf"', "report.pdf"),
        ("attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", "résumé.pdf"),
        ("attachment; filename=plain.txt", "plain.txt"),
        ("attachment", None),
        (None, None),
    ],
)
def test_the_name_of_a_plain_download_comes_from_content_disposition(header, name):
    assert links.disposition_name(header) == name


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../etc/passwd", None),
        ("a/b", None),
        (".bashrc", None),
        ("..", None),
        ("", None),
        ("bell\x07", None),
        ("x" * 256, None),
    ],
)
def test_only_plain_names_are_written_without_minus_o(name, safe):
    assert links.safe_name(name) == safe


@pytest.mark.parametrize(
    ("header", "digest"),
    [
        (
            "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:",
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        ),
        (
            "sha-512=:AAAA:, sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:",
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        ),
        ("sha-256=:AAAA:", None),
        ("sha-256=:not base64!:", None),
        ("", None),
        (None, None),
    ],
)
def test_repr_digest_gives_a_sha_256_or_nothing(header, digest):
    assert links.repr_digest(header) == digest


def test_partial_files_are_named_by_the_path_whatever_the_address():
    assert links.part_stem("http://h/t/n") == links.part_stem("http://h/t/n")
    assert links.part_stem("http://h/t/n") != links.part_stem("http://h/u/n")
    assert links.part_stem("http://h:1/t/n") == links.part_stem("https://[::1]:2/t/n")
    assert links.part_stem("http://h/t/n").startswith(".pasla-")
