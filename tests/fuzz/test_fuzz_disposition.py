"""Content-Disposition for any name a share can have (RFC 6266, RFC 8187).

Read two ways: as a browser does (strict parameters, `filename*` first) and
as `curl -OJ` does (`filename` only, up to the next quote, no unescaping).
Either way the saved name must be safe; the browser's must be the exact name.
"""

import re
from urllib.parse import unquote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shares.files.payloads import PayloadError, validate_name

try:
    from shares.web.disposition import content_disposition

    CURL_SAFE_BUILDER = True
except ImportError:  # the header builder is being rewritten; until then views uses Django's
    from django.utils.http import content_disposition_header

    CURL_SAFE_BUILDER = False

    def content_disposition(name: str) -> str:
        return content_disposition_header(True, name)


TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
QUOTED = r'"(?:[^"\\]|\\.)*"'
PARAM = re.compile(rf"\s*;\s*({TOKEN})\s*=\s*({TOKEN}|{QUOTED})")
EXT_VALUE = re.compile(r"^(?i:utf-8)'[A-Za-z0-9-]*'((?:%[0-9A-Fa-f]{2}|[!#$&+.^_`|~0-9A-Za-z-])*)$")


def shareable(name: str) -> bool:
    try:
        validate_name(name)
    except PayloadError:
        return False
    return True


names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(
    shareable
)
tricky = st.sampled_from(
    ['a"b.txt', "100%.txt", "x;y=z.pdf", "it's.txt", "..a", ". ", "\u202etxt.exe", "e\u0301.txt"]
)


def parameters(header: str) -> tuple[str, list[tuple[str, str]]]:
    """(disposition type, [(name, raw value)]) of a header every byte of which was parsed."""
    match = re.match(rf"^({TOKEN})", header)
    assert match, header
    params, at = [], match.end()
    while at < len(header):
        found = PARAM.match(header, at)
        assert found, f"unparseable from {header[at:]!r}"
        params.append((found.group(1).lower(), found.group(2)))
        at = found.end()
    return match.group(1).lower(), params


def unquote_rfc(value: str) -> str:
    if value.startswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def decode_ext(value: str) -> str:
    match = EXT_VALUE.match(value)
    assert match, f"not an RFC 8187 ext-value: {value!r}"
    return unquote(match.group(1), encoding="utf-8", errors="strict")


def curl_reads(header: str) -> str | None:
    """What curl -OJ saves: `filename=` up to the next quote (or ';'), then the last path part."""
    at = header.find("filename=")
    if at < 0:
        return None
    rest = header[at + len("filename=") :]
    value = rest[1:].split('"', 1)[0] if rest.startswith('"') else rest.split(";", 1)[0]
    return re.split(r"[/\\]", value)[-1]


def safe(saved: str) -> bool:
    return bool(saved) and saved not in (".", "..") and not re.search(r"[/\\\x00-\x1f\x7f]", saved)


@given(st.one_of(names, tricky))
@example("a" * 200 + "\u00e9" * 27)
def test_a_browser_saves_exactly_the_name_and_any_fallback_is_safe(name):
    header = content_disposition(name)
    assert re.fullmatch(r"[\x20-\x7e]+", header), "a header value must be printable ASCII"
    kind, params = parameters(header)
    assert kind == "attachment"
    plain = [unquote_rfc(value) for key, value in params if key == "filename"]
    extended = [decode_ext(value) for key, value in params if key == "filename*"]
    assert len(plain) <= 1 and (plain or extended)
    for fallback in plain:
        assert fallback.isascii() and safe(fallback), fallback
    browser = extended[0] if extended else plain[0]
    assert browser == name
    assert all(value == name for value in extended)  # a second filename* must say the same


@pytest.mark.skipif(not CURL_SAFE_BUILDER, reason="Django's builder escapes quotes, which curl keeps")
@given(st.one_of(names, tricky))
@example('a"b.txt')
def test_curl_dash_oj_saves_a_safe_name_without_unescaping(name):
    header = content_disposition(name)
    saved = curl_reads(header)
    if saved is None:
        return  # no filename parameter: curl -OJ falls back to the URL's last segment
    plain = [unquote_rfc(value) for key, value in parameters(header)[1] if key == "filename"]
    assert safe(saved) and saved == plain[0]
