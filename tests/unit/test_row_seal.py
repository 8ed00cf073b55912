from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shares.download import row_seal, tickets

KEY = row_seal.derive_key("the server's SECRET_KEY")


@dataclass
class Row:
    id: str = "a1b2c3"
    token_digest: str = "ab" * 32
    name: str = "report.pdf"
    path: str = "/home/op/report.pdf"
    kind: str = "file"
    archive_format: str = ""
    size: int = 1234
    device: int = 66306
    inode: int = 918273
    mtime_ns: int = 1_700_000_000_123_456_789
    sha256: str = ""
    manifest: list = field(default_factory=list)
    max_downloads: int = 1
    expires_at: datetime = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    seal: str = ""
    options: dict = field(default_factory=dict)


def sealed(**changes) -> Row:
    row = replace(Row(), **changes)
    row.seal = row_seal.seal(KEY, row)
    return row


@pytest.mark.parametrize(
    "fact, value",
    [
        ("id", "a1b2c4"),
        ("token_digest", "cd" * 32),
        ("name", "report.pdf "),
        ("path", "/etc/shadow"),
        ("kind", "directory"),
        ("archive_format", "zip"),
        ("size", 1235),
        ("device", 1),
        ("inode", 918274),
        ("mtime_ns", 1_700_000_000_123_456_788),
        ("sha256", "00" * 32),
        ("manifest", [["report", "d", 0, 0, 0, 0, 493]]),
        ("options", {"max_rate": 1 << 20}),
        ("max_downloads", 0),
        ("expires_at", datetime(2030, 1, 2, 3, 4, 5, 678902, tzinfo=UTC)),
    ],
)
def test_every_sealed_fact_is_covered(fact, value):
    row = sealed()
    assert row_seal.intact(KEY, row)
    setattr(row, fact, value)
    assert not row_seal.intact(KEY, row)


def test_the_same_moment_in_another_zone_is_the_same_fact():
    row = sealed()
    row.expires_at = row.expires_at.astimezone(timezone(timedelta(hours=5)))
    assert row_seal.intact(KEY, row)


@pytest.mark.parametrize("seal", ["", "0" * 64, "é" * 64, None])
def test_a_missing_or_forged_seal_fails(seal):
    row = sealed()
    row.seal = seal
    assert not row_seal.intact(KEY, row)


def test_another_secret_key_or_a_wrong_typed_fact_fails():
    row = sealed()
    assert not row_seal.intact(row_seal.derive_key("another server"), row)
    row.size = "1234x"
    assert not row_seal.intact(KEY, row)


def test_the_row_key_is_not_the_ticket_key():
    assert row_seal.derive_key("k") != tickets.derive_key("k")


def test_the_rate_cap_is_sealed_when_set_and_older_rows_still_match():
    plain = sealed()
    # Options pasla does not seal (the proxy settings, the certificate's
    # end) leave a row's facts as they were before --max-rate existed.
    assert row_seal.facts(replace(plain, options={"trust_proxy": True})) == row_seal.facts(plain)
    capped = sealed(options={"max_rate": 512 << 10})
    assert row_seal.intact(KEY, capped)
    for lifted in ({}, {"max_rate": 0}, {"max_rate": 1 << 40}, None):
        assert not row_seal.intact(KEY, replace(capped, options=lifted)), lifted
