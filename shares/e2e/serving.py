"""The server's side of an encrypted share: its ciphertext as a byte source.

`open_source()` is what shares/services.py calls for a share of kind
"e2e": the same contract as a file's or an archive's source (a reader of
any byte range, PayloadChanged if what was pinned drifted), over the
ciphertext, so Content-Length, Range, ETag and the slot rules work on
ciphertext offsets unchanged.
"""

from types import SimpleNamespace

from django.conf import settings

from shares.archives.source import open_archive
from shares.e2e import ece, keys
from shares.e2e.source import SealedSource
from shares.files import payloads


def secrets_of(share) -> keys.Secrets | None:
    return keys.load(settings.DATA_DIR, share.id, share.token_digest)


def _plain_source(record: keys.Secrets, share_id: str, lo: int, hi: int):
    """A reader of the plaintext whose bytes [lo, hi) the range needs."""
    if record.archive_format:
        pinned = SimpleNamespace(
            id=share_id,
            path=record.path,
            archive_format=record.archive_format,
            manifest=list(record.manifest),
        )
        return open_archive(pinned, lo, hi - 1)
    fd = payloads.open_verified(record.path, record.identity)
    return payloads.FileSource(fd, record.identity)


def open_source(share, start: int, end: int) -> SealedSource:
    """Ciphertext bytes start..end (inclusive); PayloadChanged if they cannot be made."""
    record = secrets_of(share)
    if record is None:
        raise payloads.PayloadChanged("no key for this encrypted share in this process")
    sealer = keys.sealer(share.id, record)
    if ece.ciphertext_size(sealer.size) != share.size:
        raise payloads.PayloadChanged("the encrypted share's size does not match its key record")
    records = ece.records_between(start, end + 1, sealer.size)
    lo = hi = 0
    if records and records.stop > 1:
        lo = ece.plain_span(max(1, records.start), sealer.size)[0]
        hi = ece.plain_span(records.stop - 1, sealer.size)[1]
    return SealedSource(_plain_source(record, share.id, lo, hi), sealer)
