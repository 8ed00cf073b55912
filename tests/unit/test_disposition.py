import re
from urllib.parse import unquote

import pytest

from shares.web.disposition import MAX_FALLBACK, ascii_fallback, content_disposition

# name -> the `filename` fallback curl -OJ saves (the exact name rides in filename*)
FALLBACKS = [
    ("plain.txt", "plain.txt"),
    ("résumé.pdf", "resume.pdf"),
    ('my "quoted"; file name.txt', "my 'quoted'; file name.txt"),
    ("back\\slash.txt", "back_slash.txt"),
    ("100% done.txt", "100_ done.txt"),
    ("semi;colon,comma.txt", "semi;colon,comma.txt"),
    (".hidden-config", ".hidden-config"),
    ("Straße “x”.txt", "Strasse 'x'.txt"),
    ("Ünïcødé – ファイル.txt", "Unicode - _.txt"),
    ("日本語.pdf", "download.pdf"),
    ("日本語", "download"),
    ("emoji 😀.png", "emoji _.png"),
    ("tab\there\x7f.txt", "tab_here_.txt"),
    ("ﬁle.txt", "file.txt"),  # compatibility ligature, NFKD spells it out
    ("file.日本", "file._"),
    ("archive.tar.gz", "archive.tar.gz"),
]


@pytest.mark.parametrize(("name", "fallback"), FALLBACKS)
def test_the_fallback_is_plain_ascii_keeping_the_extension(name, fallback):
    assert ascii_fallback(name) == fallback
    assert fallback.isascii() and not set(fallback) & set('"\\%\r\n\t')


@pytest.mark.parametrize(("name", "fallback"), FALLBACKS)
def test_both_parameters_go_out_when_the_fallback_is_not_the_name(name, fallback):
    header = content_disposition(name)
    assert header.isascii() and "\n" not in header and "\r" not in header
    if fallback == name:
        assert header == f'attachment; filename="{name}"'
    else:
        match = re.fullmatch(
            r"attachment; filename=\"([^\"\\]*)\"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)", header
        )
        assert match, header
        assert match.group(1) == fallback

        assert unquote(match.group(2), errors="strict") == name


@pytest.mark.parametrize(
    "name",
    ["x" * 251 + ".txt", "é" * 125 + ".txt", "⒇" * 80 + ".txt", "a" * 10 + "." + "b" * 240],
)
def test_long_names_get_a_fallback_that_fits_a_file_system(name):
    fallback = ascii_fallback(name)
    assert len(fallback) <= MAX_FALLBACK
    if len(name.rsplit(".", 1)[1]) < 10:
        assert fallback.endswith("." + name.rsplit(".", 1)[1])
