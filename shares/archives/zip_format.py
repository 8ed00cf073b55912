"""ZIP of stored entries, ZIP64 where a size or offset needs it.

Every non-empty file has a data descriptor after its data (flag bit 3), so a
local header never needs the file's CRC: the first byte goes out at once and
each CRC is computed as the data streams past. Offsets stay computable
because descriptors have a fixed size. The central directory at the end
repeats everything, which is what unzip, 7-Zip, Windows and macOS read.
"""

import struct
import time

from shares.archives.layout import BYTES, CENTRAL, DATA, DESCRIPTOR, Entry, Layout

LIMIT32 = 0xFFFFFFFF
LIMIT16 = 0xFFFF
FLAG_DESCRIPTOR = 0x0008
FLAG_UTF8 = 0x0800
MADE_BY = (3 << 8) | 45  # Unix, spec 4.5
ZIP64_EXTRA = 0x0001


def dos_datetime(mtime: int) -> tuple[int, int]:
    year, month, day, hour, minute, second = time.localtime(max(mtime, 0))[:6]
    if year < 1980:
        return 0, (0 << 9) | (1 << 5) | 1
    if year > 2107:
        year, month, day, hour, minute, second = 2107, 12, 31, 23, 59, 58
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


class ZipLayout(Layout):
    def plan(self) -> None:
        self.offsets: list[int] = []
        self.names = [e.member_name.encode("utf-8") for e in self.entries]
        self.stamps = [dos_datetime(e.mtime) for e in self.entries]

    def has_descriptor(self, index: int) -> bool:
        entry = self.entries[index]
        return not entry.is_dir and entry.size > 0

    def is_zip64(self, index: int) -> bool:
        return self.entries[index].size >= LIMIT32

    def flags(self, index: int) -> int:
        return FLAG_UTF8 | (FLAG_DESCRIPTOR if self.has_descriptor(index) else 0)

    def version_needed(self, index: int) -> int:
        return 45 if self.is_zip64(index) or self.offsets[index] >= LIMIT32 else 20

    def local_header(self, index: int) -> bytes:
        name = self.names[index]
        mod_time, mod_date = self.stamps[index]
        extra = b""
        sizes = 0
        if self.is_zip64(index):
            # With a descriptor the real sizes come later: zeros here.
            extra = struct.pack("<HHQQ", ZIP64_EXTRA, 16, 0, 0)
            sizes = LIMIT32
        return (
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                self.version_needed(index),
                self.flags(index),
                0,  # stored
                mod_time,
                mod_date,
                0,
                sizes,
                sizes,
                len(name),
                len(extra),
            )
            + name
            + extra
        )

    def descriptor_length(self, index: int) -> int:
        return 24 if self.is_zip64(index) else 16

    def descriptor(self, index: int, crc: int) -> bytes:
        size = self.entries[index].size
        if self.is_zip64(index):
            return struct.pack("<IIQQ", 0x08074B50, crc, size, size)
        return struct.pack("<IIII", 0x08074B50, crc, size, size)

    def _central_extra(self, index: int) -> bytes:
        values = []
        if self.is_zip64(index):
            values += [self.entries[index].size] * 2
        if self.offsets[index] >= LIMIT32:
            values.append(self.offsets[index])
        if not values:
            return b""
        return struct.pack(f"<HH{len(values)}Q", ZIP64_EXTRA, 8 * len(values), *values)

    def central_record_length(self, index: int) -> int:
        return 46 + len(self.names[index]) + len(self._central_extra(index))

    def central_record(self, index: int, crc: int) -> bytes:
        entry = self.entries[index]
        name = self.names[index]
        extra = self._central_extra(index)
        mod_time, mod_date = self.stamps[index]
        size32 = LIMIT32 if self.is_zip64(index) else (0 if entry.is_dir else entry.size)
        attributes = ((0o040000 if entry.is_dir else 0o100000) | (entry.mode & 0o7777)) << 16
        if entry.is_dir:
            attributes |= 0x10  # MS-DOS directory bit
        return (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                MADE_BY,
                self.version_needed(index),
                self.flags(index),
                0,
                mod_time,
                mod_date,
                crc,
                size32,
                size32,
                len(name),
                len(extra),
                0,  # comment
                0,  # disk
                0,  # internal attributes
                attributes,
                min(self.offsets[index], LIMIT32),
            )
            + name
            + extra
        )

    def end_records(self) -> bytes:
        count = len(self.entries)
        zip64 = count >= LIMIT16 or self.cd_offset >= LIMIT32 or self.cd_size >= LIMIT32
        out = b""
        if zip64:
            zip64_end_offset = self.cd_offset + self.cd_size
            out += struct.pack(
                "<IQHHIIQQQQ", 0x06064B50, 44, MADE_BY, 45, 0, 0, count, count, self.cd_size, self.cd_offset
            )
            out += struct.pack("<IIQI", 0x07064B50, 0, zip64_end_offset, 1)
        out += struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            min(count, LIMIT16),
            min(count, LIMIT16),
            min(self.cd_size, LIMIT32),
            min(self.cd_offset, LIMIT32),
            0,
        )
        return out

    def central(self, crc_of) -> bytes:
        """The central directory and end records; `crc_of(index)` gives each file's CRC."""
        records = [
            self.central_record(i, crc_of(i) if self.has_descriptor(i) else 0)
            for i in range(len(self.entries))
        ]
        return b"".join(records) + self.end_records()


def build(entries: list[Entry]) -> ZipLayout:
    layout = ZipLayout(list(entries))
    layout.plan()
    for index, entry in enumerate(entries):
        layout.offsets.append(layout.size)
        local = layout.local_header(index)
        layout.add(BYTES, len(local), local)
        if layout.has_descriptor(index):
            layout.add(DATA, entry.size, index=index)
            layout.add(DESCRIPTOR, layout.descriptor_length(index), index=index)
    layout.cd_offset = layout.size
    layout.cd_size = sum(layout.central_record_length(i) for i in range(len(entries)))
    layout.add(CENTRAL, layout.cd_size + len(layout.end_records()))
    return layout.freeze()
