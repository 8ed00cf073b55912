"""What a request head may announce, decided before its body (pure rules)."""

import pytest

from shares.server.request_limits import (
    ADMIN_BODY_MAX,
    FORM_BODY_MAX,
    REASONS,
    body_rule,
    method_ok,
    reason,
    refusal,
)

ADMIN = b"/admin/"


@pytest.mark.parametrize(
    ("path", "length", "refused", "cap"),
    [
        (b"/tok/file.bin", 0, False, 0),  # no body at all
        (b"/tok/file.bin", 1, False, FORM_BODY_MAX),
        (b"/tok/file.bin", FORM_BODY_MAX, False, FORM_BODY_MAX),
        (b"/tok/file.bin", FORM_BODY_MAX + 1, True, FORM_BODY_MAX),
        (b"/tok/file.bin", 1_500_000_000, True, FORM_BODY_MAX),
        (b"/tok/file.bin", None, True, FORM_BODY_MAX),  # chunked outside the admin
        (b"/admin/login/", ADMIN_BODY_MAX, False, ADMIN_BODY_MAX),
        (b"/admin/login/?next=/admin/", ADMIN_BODY_MAX + 1, True, ADMIN_BODY_MAX),
        (b"/admin/login/", None, False, ADMIN_BODY_MAX),  # chunked: read, and counted
        (b"/%61dmin/login/", FORM_BODY_MAX + 1, True, FORM_BODY_MAX),  # encoded: the stricter cap
        (b"/x?/admin/", FORM_BODY_MAX + 1, True, FORM_BODY_MAX),  # the query is not the path
        (b"/administrator", FORM_BODY_MAX + 1, True, FORM_BODY_MAX),
    ],
)
def test_body_rule(path, length, refused, cap):
    rule = body_rule(path, length, ADMIN)
    assert (rule.refuse, rule.cap) == (refused, cap)


def test_body_rule_follows_the_admin_prefix():
    assert not body_rule(b"/files/ops/login/", ADMIN_BODY_MAX, b"/files/ops/").refuse
    assert body_rule(b"/admin/login/", ADMIN_BODY_MAX, b"/files/ops/").refuse


@pytest.mark.parametrize(
    ("method", "ok"),
    [
        (b"GET", True),
        (b"HEAD", True),
        (b"POST", True),
        (b"PROPFIND", True),
        (b"get", False),
        (b"Get", False),
        (b"G3T", False),
        (b"", False),
        (b"A" * 21, False),
    ],
)
def test_methods_are_upper_case_letters(method, ok):
    assert method_ok(method) is ok


@pytest.mark.parametrize(
    ("code", "phrase"),
    [
        (413, b"Content Too Large"),
        (414, b"URI Too Long"),
        (416, b"Range Not Satisfiable"),
        (429, b"Too Many Requests"),
        (431, b"Request Header Fields Too Large"),
        (451, b"Unavailable For Legal Reasons"),
        (200, b"OK"),
        (599, None),
    ],
)
def test_reason_phrases(code, phrase):
    assert reason(code) == phrase


def test_a_refusal_is_a_whole_closing_answer():
    answer = refusal(413, "Request body too large")
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 413 " + REASONS[413]
    assert b"Connection: close" in lines
    assert b"Content-Length: %d" % len(body) in lines
    assert body == b"Request body too large\n"
