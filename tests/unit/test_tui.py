"""The live terminal, rendered into a string as a terminal would show it."""

import io
import re
from datetime import UTC, datetime

import pytest
from rich.console import Console

from shares.operator import tui
from shares.operator.tui import Snapshot

URL = "https://203.0.113.7:44321/0123456789abcdefghijkl/report.pdf"


def rendered(renderable, width=100) -> str:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=True, color_system=None).print(renderable)
    return out.getvalue()


def snap(**changes) -> Snapshot:
    base = dict(
        share_id="a1b2c3",
        state="live",
        seconds_left=3599.4,
        downloads=1,
        max_downloads=3,
        bytes_served=3 << 20,
        bytes_in_flight=512 << 10,
        active=2,
        completed=1,
        last_client="198.51.100.4",
        last_finished_at=datetime(2026, 11, 23, 16, 40, 1, tzinfo=UTC).timestamp(),
    )
    base.update(changes)
    return Snapshot(**base)


def test_status_line_shows_countdown_counts_bytes_and_the_last_download():
    text = rendered(tui.render(snap(), tui.qr_for([URL])))
    assert "59m 59s left" in text
    assert "1/3 downloads" in text
    assert "3.5 MiB sent" in text  # served plus in flight
    assert "2 active" in text
    assert "last 198.51.100.4 at 16:40:01 UTC" in text
    # The QR code: the three finder patterns' top edges in half blocks, above the line.
    qr_lines = [line for line in text.splitlines() if re.search("[▀▄█]", line)]
    assert len(qr_lines) >= 15
    assert text.index(qr_lines[0]) < text.index("left")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"max_downloads": 0}, "1/∞ downloads"),
        ({"last_finished_at": 0.0}, "none finished yet"),
        ({"state": "exhausted"}, "ended (exhausted)"),
        ({"seconds_left": 59}, "0m 59s left"),
        ({"seconds_left": 90061}, "25h 01m 01s left"),
    ],
)
def test_status_line_variants(changes, expected):
    assert expected in rendered(tui.status_line(snap(**changes)))


def test_status_line_never_wraps():
    text = rendered(tui.render(snap()), width=40)  # as Live renders it
    assert len(text.rstrip("\n").splitlines()) == 1


def test_the_qr_code_decodes_to_the_url_modules():
    # Two modules per character row: the text has about half as many rows as the symbol.
    import segno

    qr = tui.qr_text(URL)
    size = segno.make(URL, error="m").symbol_size(border=2)[0]
    assert len(qr.splitlines()) == (size + 1) // 2
    assert all(len(line) == size for line in qr.splitlines())


@pytest.mark.parametrize(
    ("urls", "drawn"),
    [
        (["http://127.0.0.1:4000/t/x", "http://[::1]:4000/t/x"], False),
        (["http://localhost:4000/t/x"], False),
        ([None, "http://[2001:db8::1]:4000/t/x"], True),
        (["http://192.168.1.5:4000/t/x"], True),
        (["https://files.example.com:4000/t/x"], True),
        ([None, None], False),
    ],
)
def test_qr_is_skipped_for_loopback_only_urls(urls, drawn):
    assert (tui.qr_for(urls) is not None) is drawn


def test_not_drawn_into_a_pipe():
    assert tui.wanted(io.StringIO()) is False
