"""POSIX tar (ustar, with pax records for long or non-ASCII names and big sizes)."""

from shares.archives.layout import BYTES, DATA, Entry, Layout

BLOCK = 512
MAX_OCTAL_11 = 0o77777777777  # the largest value an 11-digit size/mtime field holds
PAX_NAME = "././@PaxHeader"


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\x00" % (width - 1, value)


def _padding(length: int) -> int:
    return -length % BLOCK


def header(name: bytes, *, size: int, mtime: int, mode: int, typeflag: bytes) -> bytes:
    fields = [
        name[:100].ljust(100, b"\x00"),
        _octal(mode & 0o7777, 8),
        _octal(0, 8),  # uid
        _octal(0, 8),  # gid
        _octal(size, 12),
        _octal(mtime, 12),
        b" " * 8,  # checksum, computed over the header with this field blank
        typeflag,
        b"\x00" * 100,  # linkname
        b"ustar\x0000",
        b"\x00" * 32,  # uname
        b"\x00" * 32,  # gname
        _octal(0, 8),
        _octal(0, 8),
        b"\x00" * 155,  # prefix
    ]
    block = b"".join(fields).ljust(BLOCK, b"\x00")
    checksum = b"%06o\x00 " % sum(block)
    return block[:148] + checksum + block[156:]


def pax_record(key: str, value: str) -> bytes:
    """`LEN key=value\\n`, where LEN counts its own digits too."""
    body = f" {key}={value}\n".encode()
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


def member_headers(entry: Entry) -> bytes:
    name = entry.member_name
    encoded = name.encode("utf-8")
    records = b""
    if not name.isascii() or len(encoded) > 100:
        records += pax_record("path", name)
    size = 0 if entry.is_dir else entry.size
    if size > MAX_OCTAL_11:
        records += pax_record("size", str(size))
    mtime = min(max(entry.mtime, 0), MAX_OCTAL_11)
    out = b""
    if records:
        out += header(PAX_NAME.encode(), size=len(records), mtime=mtime, mode=0o644, typeflag=b"x")
        out += records + b"\x00" * _padding(len(records))
    fallback = name.encode("ascii", "replace")[:100]
    out += header(
        fallback,
        size=min(size, MAX_OCTAL_11) if size <= MAX_OCTAL_11 else 0,
        mtime=mtime,
        mode=entry.mode,
        typeflag=b"5" if entry.is_dir else b"0",
    )
    return out


def build(entries: list[Entry]) -> Layout:
    layout = Layout(list(entries))
    for index, entry in enumerate(entries):
        headers = member_headers(entry)
        layout.add(BYTES, len(headers), headers)
        if not entry.is_dir and entry.size:
            layout.add(DATA, entry.size, index=index)
            pad = _padding(entry.size)
            layout.add(BYTES, pad, b"\x00" * pad)
    layout.add(BYTES, 2 * BLOCK, b"\x00" * (2 * BLOCK))
    return layout.freeze()
