"""The pasla-e2e-1 format: RFC 8188 `aes128gcm` with 64 KiB records, metadata first.

    header    salt (16) | rs = 65536 (uint32, big-endian) | idlen = 0     21 bytes
    record 0  AES-128-GCM(metadata JSON | 0x01 | zero padding)            rs bytes
    record k  AES-128-GCM(plaintext[(k-1)*D, k*D) | delimiter)            rs bytes, the last shorter
    (k >= 1, D = rs - 17; the delimiter is 0x01, 0x02 on the last record)

There is always at least one data record (an empty file has one of 17
bytes), so record 0 is never the last and every size is a pure function of
the plaintext size. Keys come from the 16-byte secret with HKDF-SHA-256 as
RFC 8188 says, and record i's nonce is the base nonce XOR i: any record can
be sealed or opened on its own, which is what serves a Range request
mid-file. No Django here; docs/e2e.md describes it with test vectors.
"""

import json
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT = "pasla-e2e-1"
RS = 65536
TAG = 16
SALT_SIZE = 16
SECRET_SIZE = 16
HEADER_SIZE = SALT_SIZE + 4 + 1
DATA_PER_RECORD = RS - TAG - 1
HEAD_SIZE = HEADER_SIZE + RS  # header and metadata record: what a reader needs first
DELIMITER, LAST_DELIMITER = 1, 2
META_LIMIT = 2048  # the metadata JSON, well under a record
TYPE_LIMIT = 127  # a content type, in characters
_CEK_INFO = b"Content-Encoding: aes128gcm\x00"
_NONCE_INFO = b"Content-Encoding: nonce\x00"


class FormatError(Exception):
    """Bytes that are not pasla-e2e-1 under this key (wrong key, altered, cut short)."""


# --- sizes: everything follows from the plaintext size ------------------------


def data_records(size: int) -> int:
    """How many data records a plaintext of `size` bytes takes (at least one)."""
    return max(1, -(-size // DATA_PER_RECORD))


def ciphertext_size(size: int) -> int:
    """The exact number of bytes served for a plaintext of `size` bytes."""
    if size < 0:
        raise ValueError("negative size")
    count = data_records(size)
    last = size - (count - 1) * DATA_PER_RECORD
    return HEAD_SIZE + (count - 1) * RS + last + 1 + TAG


def plaintext_size(total: int) -> int:
    """ciphertext_size()'s inverse; ValueError for a size no plaintext has."""
    body = total - HEAD_SIZE
    if body < 1 + TAG:
        raise ValueError("too short for pasla-e2e-1")
    full, last = divmod(body, RS)
    if last == 0:  # the last record is a full one
        full, last = full - 1, RS
    if last < 1 + TAG:
        raise ValueError("not a size pasla-e2e-1 produces")
    size = full * DATA_PER_RECORD + last - 1 - TAG
    if ciphertext_size(size) != total:
        raise ValueError("not a size pasla-e2e-1 produces")
    return size


def record_start(index: int) -> int:
    """Ciphertext offset of record `index` (0 is the metadata record)."""
    return HEADER_SIZE + index * RS


def record_length(index: int, size: int) -> int:
    """Ciphertext length of record `index` for a plaintext of `size` bytes."""
    if index == 0:
        return RS
    lo, hi = plain_span(index, size)
    return hi - lo + 1 + TAG


def plain_span(index: int, size: int) -> tuple[int, int]:
    """The plaintext bytes [lo, hi) that data record `index` (>= 1) carries."""
    if not 1 <= index <= data_records(size):
        raise IndexError(index)
    lo = (index - 1) * DATA_PER_RECORD
    return lo, min(size, lo + DATA_PER_RECORD)


def records_between(start: int, end: int, size: int) -> range:
    """The records a ciphertext range [start, end) touches (the header is no record)."""
    last = data_records(size)
    if end <= HEADER_SIZE or start >= end:
        return range(0)
    first = max(0, (start - HEADER_SIZE) // RS)
    final = min(last, (end - 1 - HEADER_SIZE) // RS)
    return range(first, final + 1)


def resume_record(have: int) -> int:
    """The data record a reader holding `have` plaintext bytes continues from
    (a partial record is read again: only whole records were authenticated)."""
    return have // DATA_PER_RECORD + 1


# --- keys ----------------------------------------------------------------------


def _expand(secret: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


@dataclass(frozen=True)
class Keys:
    cek: bytes
    base_nonce: bytes

    @classmethod
    def derive(cls, secret: bytes, salt: bytes) -> "Keys":
        if len(secret) != SECRET_SIZE or len(salt) != SALT_SIZE:
            raise ValueError("a pasla-e2e-1 secret and salt are 16 bytes each")
        return cls(_expand(secret, salt, _CEK_INFO, 16), _expand(secret, salt, _NONCE_INFO, 12))

    def nonce(self, index: int) -> bytes:
        """RFC 8188: the base nonce XOR the record's sequence number."""
        mixed = int.from_bytes(self.base_nonce, "big") ^ index
        return mixed.to_bytes(12, "big")


def header(salt: bytes) -> bytes:
    return salt + struct.pack(">IB", RS, 0)


def parse_header(data: bytes) -> bytes:
    """The salt of a pasla-e2e-1 header; FormatError for anything else."""
    if len(data) < HEADER_SIZE:
        raise FormatError("the encrypted stream is shorter than its header")
    rs, idlen = struct.unpack(">IB", data[SALT_SIZE:HEADER_SIZE])
    if rs != RS or idlen != 0:
        raise FormatError("not a pasla-e2e-1 stream (record size or key id differs)")
    return bytes(data[:SALT_SIZE])


# --- metadata ------------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    name: str
    size: int
    sha256: str  # hex, or "" when the sender skipped it (--no-checksum)
    content_type: str

    def encode(self) -> bytes:
        """Canonical JSON: sorted keys, no spaces, UTF-8 (one spelling per value)."""
        value = {
            "content_type": self.content_type,
            "format": FORMAT,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
        }
        data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        if len(data) > META_LIMIT:
            raise ValueError("metadata too long")
        return data

    @classmethod
    def decode(cls, data: bytes) -> "Metadata":
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise FormatError("the metadata record is not JSON") from None
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            raise FormatError("the metadata record names another format")
        name, size, digest, kind = (value.get(k) for k in ("name", "size", "sha256", "content_type"))
        if not (isinstance(name, str) and isinstance(digest, str) and isinstance(kind, str)):
            raise FormatError("the metadata record has fields of the wrong type")
        if type(size) is not int or size < 0 or len(kind) > TYPE_LIMIT:
            raise FormatError("the metadata record has fields out of range")
        if digest and (len(digest) != 64 or digest.strip("0123456789abcdef")):
            raise FormatError("the metadata record's SHA-256 is not 64 hex digits")
        return cls(name, size, digest, kind)


# --- records -------------------------------------------------------------------


class Sealer:
    """Seals the records of one plaintext under one secret and salt."""

    def __init__(self, secret: bytes, salt: bytes, metadata: Metadata):
        self.keys = Keys.derive(secret, salt)
        self.aead = AESGCM(self.keys.cek)
        self.head = header(salt)
        self.size = metadata.size
        self.records = data_records(metadata.size)
        meta = metadata.encode()
        self._meta_plain = meta + bytes([DELIMITER]) + bytes(RS - TAG - 1 - len(meta))

    def record(self, index: int, data: bytes = b"") -> bytes:
        """Record `index`; a data record's `data` is its plain_span() of the plaintext."""
        slot = bytearray(len(data) + 1)
        slot[: len(data)] = data
        out = bytearray(RS)
        return bytes(out[: self.seal_into(index, memoryview(slot), memoryview(out))])

    def seal_into(self, index: int, slot: memoryview, out: memoryview) -> int:
        """record() written to the start of `out`; returns its length.

        A data record's plaintext is already in slot[:-1] (its plain_span(),
        read there by the caller) and its delimiter goes into the last byte;
        record 0 ignores `slot`. encrypt_into() allocates nothing and
        releases the GIL, where encrypt() holds it for the whole record.
        """
        if index == 0:
            plain = self._meta_plain
        else:
            lo, hi = plain_span(index, self.size)
            if len(slot) != hi - lo + 1:
                raise ValueError("record data of the wrong length")
            slot[-1] = LAST_DELIMITER if index == self.records else DELIMITER
            plain = slot
        length = len(plain) + TAG
        self.aead.encrypt_into(self.keys.nonce(index), plain, None, out[:length])
        return length


class Opener:
    """Opens the records of one stream; every failure is a FormatError."""

    def __init__(self, secret: bytes, head: bytes):
        if len(head) < HEAD_SIZE:
            raise FormatError("the encrypted stream ends inside its metadata record")
        self.keys = Keys.derive(secret, parse_header(head))
        self.aead = AESGCM(self.keys.cek)
        plain = self._open(0, head[HEADER_SIZE:HEAD_SIZE])
        meta = plain.rstrip(b"\x00")
        if not meta or meta[-1] != DELIMITER:
            raise FormatError("the metadata record is not padded as pasla-e2e-1 pads it")
        self.metadata = Metadata.decode(meta[:-1])
        self.size = self.metadata.size
        self.records = data_records(self.size)

    def _open(self, index: int, data: bytes) -> bytes:
        try:
            return self.aead.decrypt(self.keys.nonce(index), bytes(data), None)
        except InvalidTag:
            if index == 0:
                raise FormatError("wrong key, or the encrypted stream was altered") from None
            raise FormatError(f"record {index} was altered (authentication failed)") from None

    def record(self, index: int, data: bytes) -> bytes:
        """The plaintext of data record `index`, checked to be exactly what the sealer made."""
        out = bytearray(max(0, len(data) - TAG))
        return bytes(out[: self.record_into(index, data, memoryview(out))])

    def record_into(self, index: int, data, out: memoryview) -> int:
        """record() written to the start of `out` (one byte more than the
        plaintext, for its delimiter); returns the plaintext's length. On a
        FormatError `out` holds unauthenticated bytes: the caller drops them."""
        lo, hi = plain_span(index, self.size)
        if len(data) != hi - lo + 1 + TAG:
            raise FormatError(f"record {index} is cut short")
        count = hi - lo
        try:
            self.aead.decrypt_into(self.keys.nonce(index), data, None, out[: count + 1])
        except InvalidTag:
            raise FormatError(f"record {index} was altered (authentication failed)") from None
        wanted = LAST_DELIMITER if index == self.records else DELIMITER
        if out[count] != wanted:
            raise FormatError(f"record {index} is out of place (its delimiter says otherwise)")
        return count
