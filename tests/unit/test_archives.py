import io
import os
import random
import tarfile
import zipfile

import pytest

from shares.archives import pinning, tar_format
from shares.archives.source import ArchiveSource, file_crc


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "photos"
    (root / "empty").mkdir(parents=True)
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"hello\n")
    (root / "zero.bin").write_bytes(b"")
    (root / "nested" / "Ünïcødé – ファイル.txt").write_bytes(os.urandom(70_000))
    (root / "nested" / "deeper" / ("long-name-" * 15 + ".bin")).write_bytes(os.urandom(1025))
    (root / "link").symlink_to("/etc/passwd")
    return root


def whole(archive_format, root):
    root, manifest, skipped = pinning.pin_directory(root)
    layout = pinning.build_layout(archive_format, manifest)
    source = ArchiveSource(str(root), manifest, layout)
    data = source.read(0, layout.size)
    source.close()
    return data, layout, manifest, skipped


def expected_members(root):
    names = {root.name + "/"}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root.parent)
        names |= {f"{rel}/{d}/" for d in dirnames}
        names |= {f"{rel}/{f}" for f in filenames if not os.path.islink(os.path.join(dirpath, f))}
    return names


def test_zip_is_readable_and_complete(tree):
    data, layout, _, left_out = whole("zip", tree)
    assert len(data) == layout.size
    assert left_out.special == 1 and left_out.unsafe_names == []  # the symlink
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert set(archive.namelist()) == expected_members(tree)
        for info in archive.infolist():
            if not info.is_dir():
                rel = info.filename.split("/", 1)[1]
                assert archive.read(info) == (tree / rel).read_bytes()


def test_tar_is_readable_and_complete(tree):
    data, layout, _, _ = whole("tar", tree)
    assert len(data) == layout.size and len(data) % 512 == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        names = {m.name + ("/" if m.isdir() else "") for m in members}
        assert names == expected_members(tree)
        for member in members:
            if member.isfile():
                rel = member.name.split("/", 1)[1]
                assert archive.extractfile(member).read() == (tree / rel).read_bytes()


@pytest.mark.parametrize("archive_format", ["zip", "tar"])
def test_any_range_equals_the_same_bytes_of_the_whole(tree, archive_format):
    data, layout, manifest, _ = whole(archive_format, tree)
    rng = random.Random(7)
    for _ in range(200):
        start = rng.randrange(layout.size)
        count = rng.randrange(1, min(layout.size - start, 90_000) + 1)
        source = ArchiveSource(str(tree), manifest, layout)  # fresh: no CRC from a previous pass
        assert source.read(start, count) == data[start : start + count]
        source.close()


@pytest.mark.parametrize(
    ("key", "value"),
    [("path", "x"), ("path", "é" * 40), ("size", str(1 << 40)), ("path", "a" * 95)],
)
def test_pax_record_length_counts_itself(key, value):
    record = tar_format.pax_record(key, value)
    length, _, rest = record.partition(b" ")
    assert int(length) == len(record) and rest == f"{key}={value}\n".encode()


def test_tar_header_checksum_is_what_tarfile_expects():
    block = tar_format.header(b"a.txt", size=6, mtime=0, mode=0o644, typeflag=b"0")
    info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    assert info.name == "a.txt" and info.size == 6


def test_sparse_crc_matches_a_full_read(tmp_path):
    import zlib

    path = tmp_path / "sparse.bin"
    with open(path, "wb") as fh:
        fh.truncate(8 << 20)
        fh.seek(3 << 20)
        fh.write(b"data in the middle" * 1000)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert file_crc(fd, 8 << 20) == zlib.crc32(path.read_bytes())
    finally:
        os.close(fd)


def test_a_resume_mid_member_catches_up_from_a_checkpoint(tmp_path, monkeypatch):
    """The running CRC of a cut transfer leaves checkpoints; a resume far into
    the member continues from one instead of re-reading from the start."""
    import zlib

    from shares.archives import source as source_module

    monkeypatch.setattr(source_module, "CHECKPOINT_STEP", 64 * 1024)
    root = tmp_path / "cp"
    root.mkdir()
    payload = os.urandom(1_000_003)
    (root / "member.bin").write_bytes(payload)
    root, manifest, _ = pinning.pin_directory(root)
    layout = pinning.build_layout("zip", manifest)
    data_segment = next(s for s in layout.segments if s.kind == "data")
    first = ArchiveSource(str(root), manifest, layout)
    first.read(0, data_segment.offset + 400_000)  # cut at 40 % of the member
    first.close()
    key = tuple(manifest[1][1:])
    assert source_module._checkpoints[key]  # left behind by the cut transfer
    resumed = ArchiveSource(str(root), manifest, layout)
    reads = []
    real_crc = source_module.file_crc
    monkeypatch.setattr(source_module, "file_crc", lambda *a: reads.append(a) or real_crc(*a))
    rest = resumed.read(data_segment.offset + 390_000, layout.size - data_segment.offset - 390_000)
    resumed.close()
    assert reads == []  # the descriptor's CRC came from the running CRC, not a full re-read
    assert source_module._crcs[key] == zlib.crc32(payload)
    assert len(rest) == layout.size - data_segment.offset - 390_000


@pytest.mark.parametrize(
    ("name", "unsafe", "shown"),
    [
        ("plain.txt", False, "plain.txt"),
        ("Ünïcødé – ファイル.txt", False, "Ünïcødé – ファイル.txt"),
        ("red\x1b[31m.txt", True, "red\\x1b[31m.txt"),
        ("two\nlines", True, "two\\x0alines"),
        ("cr\rreturn", True, "cr\\x0dreturn"),
        ("del\x7f", True, "del\\x7f"),
        ("c1\x9bcsi", True, "c1\\x9bcsi"),
        ("tab\there", True, "tab\\x09here"),
    ],
)
def test_control_characters_are_found_and_escaped(name, unsafe, shown):
    assert pinning.has_control_characters(name) is unsafe
    assert pinning.escaped(name) == shown
    assert not pinning.has_control_characters(pinning.escaped(name))


def test_members_with_control_characters_are_left_out_with_their_subtrees(tmp_path):
    root = tmp_path / "tree"
    (root / "bad\x1bdir").mkdir(parents=True)
    (root / "bad\x1bdir" / "inner.txt").write_bytes(b"x")
    (root / "good").mkdir()
    (root / "good" / "new\nline.txt").write_bytes(b"x")
    (root / "good" / "fine.txt").write_bytes(b"x")
    _, manifest, left_out = pinning.pin_directory(root)
    assert [row[pinning.NAME] for row in manifest] == ["tree", "tree/good", "tree/good/fine.txt"]
    assert sorted(left_out.unsafe_names) == ["tree/bad\x1bdir", "tree/good/new\nline.txt"]
    (warning,) = left_out.warnings()
    assert warning.startswith("2 name(s) with control characters left out of the archive: ")
    assert "\x1b" not in warning and "\n" not in warning
