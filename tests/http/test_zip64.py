"""A 5 GiB (sparse) member: ZIP64 and big tar sizes, checked through Range reads only.

Nothing close to 5 GiB is transferred or written: zipfile and tarfile read
the archive through a file object whose reads are HTTP Range requests.
"""

import io
import tarfile
import zipfile

import pytest

GIB = 1 << 30


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a served archive, one Range request per read."""

    def __init__(self, served, size):
        self.served, self.size, self.pos = served, size, 0
        self.conn = served.connection()
        self.requests = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = base + offset
        return self.pos

    def readinto(self, buffer):
        count = min(len(buffer), self.size - self.pos)
        if count <= 0:
            return 0
        self.conn.request(
            "GET", self.served.path, headers={"Range": f"bytes={self.pos}-{self.pos + count - 1}"}
        )
        resp = self.conn.getresponse()
        data = resp.read()
        assert resp.status == 206, resp.status
        buffer[: len(data)] = data
        self.pos += len(data)
        self.requests += 1
        return len(data)

    def close(self):
        self.conn.close()
        super().close()


@pytest.fixture
def huge_tree(tmp_path):
    root = tmp_path / "vm"
    (root / "disks").mkdir(parents=True)
    with open(root / "disks" / "big.img", "wb") as fh:
        fh.truncate(5 * GIB)
        fh.seek(4 * GIB + 123)
        fh.write(b"marker beyond four gibibytes")
    (root / "disks" / "zz-after.txt").write_bytes(b"after the big one\n")
    (root / "a-before.txt").write_bytes(b"before\n")
    return root


def test_zip64_archive_of_a_5_gib_sparse_file(pasla, huge_tree):
    served = pasla(huge_tree, 5)
    size = served.info["size"]
    assert size > 5 * GIB
    resp, _ = served.request("HEAD")
    assert int(resp.headers["Content-Length"]) == size
    with RangeFile(served, size) as raw, zipfile.ZipFile(io.BufferedReader(raw, 64 * 1024)) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        assert set(infos) == {
            "vm/",
            "vm/a-before.txt",
            "vm/disks/",
            "vm/disks/big.img",
            "vm/disks/zz-after.txt",
        }
        assert infos["vm/disks/big.img"].file_size == 5 * GIB
        assert infos["vm/disks/zz-after.txt"].header_offset > 4 * GIB  # needs the ZIP64 offset
        assert archive.read("vm/disks/zz-after.txt") == b"after the big one\n"
        assert archive.read("vm/a-before.txt") == b"before\n"
        # zipfile would read its way to an offset; ask the server for those bytes instead.
        local = infos["vm/disks/big.img"].header_offset
        head = served.request(headers={"Range": f"bytes={local}-{local + 29}"})[1]
        assert head[:4] == b"PK\x03\x04"
        data_at = local + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
        at = data_at + 4 * GIB + 123
        marker = served.request(headers={"Range": f"bytes={at}-{at + 27}"})[1]
        assert marker == b"marker beyond four gibibytes"
    tail = served.request(headers={"Range": "bytes=-98"})[1]
    assert tail[:4] == b"PK\x06\x06" and tail[56:60] == b"PK\x06\x07"  # zip64 end record + locator


def test_tar_of_a_5_gib_sparse_file(pasla, huge_tree):
    served = pasla(huge_tree, 5, "--archive", "tar")
    size = served.info["size"]
    with RangeFile(served, size) as raw, tarfile.open(fileobj=io.BufferedReader(raw, 64 * 1024)) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert members["vm/disks/big.img"].size == 5 * GIB
        assert archive.extractfile(members["vm/disks/zz-after.txt"]).read() == b"after the big one\n"
        big = archive.extractfile(members["vm/disks/big.img"])
        big.seek(4 * GIB + 123)
        assert big.read(28) == b"marker beyond four gibibytes"
