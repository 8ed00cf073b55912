"""Directory archives for generated trees: the announced size is what streams,
any Range slice is the same slice of the whole stream, and the whole is an
archive that zipfile/tarfile read back to the tree's own bytes."""

import io
import itertools
import os
import tarfile
import tempfile
import unicodedata
import zipfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from shares.archives import pinning
from shares.archives.source import ArchiveSource

# Each file gets its own mtime: two generated files that reuse an inode and a
# size must not look like the same pinned member to the process-wide CRC cache.
_mtimes = itertools.count(1_600_000_000_000_000_000, 1_000_003)


# Names with control characters are left out on purpose (tests/http/test_archive_names.py).
def _plain(name: str) -> bool:
    printable = not any(unicodedata.category(c) == "Cc" for c in name)
    return printable and name not in (".", "..") and len(name.encode()) <= 200


member_names = st.one_of(
    st.text(alphabet="abcxyz019._- ", min_size=1, max_size=12),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/\\\x00"), min_size=1, max_size=8),
    st.sampled_from(["Ünïcødé – ファイル.txt", "x" * 120, ".hidden", "a b", "'q'\"", "%41"]),
).filter(
    lambda n: (
        n not in (".", "..")
        and len(n.encode()) <= 200
        and not any(unicodedata.category(c) == "Cc" for c in n)
    )
)
block_edges = st.sampled_from([511, 512, 513, 1024, 1536]).map(lambda n: (b"0123456789abcdef" * 96)[:n])
contents = st.one_of(
    st.binary(max_size=300), st.binary(min_size=2000, max_size=5000), st.just(b""), block_edges
)
trees = st.recursive(
    contents,
    lambda children: st.dictionaries(member_names, children, max_size=4),
    max_leaves=10,
).filter(lambda tree: isinstance(tree, dict))
slices = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 9000)), min_size=1, max_size=8)


def write(directory: Path, tree: dict, files: dict) -> None:
    for name, node in tree.items():
        path = directory / name
        if isinstance(node, dict):
            path.mkdir()
            write(path, node, files)
        else:
            path.write_bytes(node)
            stamp = next(_mtimes)
            os.utime(path, ns=(stamp, stamp))
            files[str(path)] = node


def read_back(archive_format: str, data: bytes) -> dict[str, bytes]:
    if archive_format == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() is None
            return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


def check(archive_format: str, tree: dict, cuts) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "shared"
        root.mkdir()
        files: dict[str, bytes] = {}
        write(root, tree, files)
        root, manifest, left_out = pinning.pin_directory(root)
        assert not left_out
        layout = pinning.build_layout(archive_format, manifest)

        source = ArchiveSource(str(root), manifest, layout)
        whole = source.read(0, layout.size)
        source.close()
        assert len(whole) == layout.size  # the size announced is the size streamed

        # The same bytes again, as the download loop reads them: in chunks.
        source, streamed, step = ArchiveSource(str(root), manifest, layout), [], 1500
        for offset in range(0, layout.size, step):
            streamed.append(source.read(offset, min(step, layout.size - offset)))
        source.close()
        assert b"".join(streamed) == whole

        for fraction, count in cuts:
            start = int(fraction * layout.size)
            count = min(count, layout.size - start)
            fresh = ArchiveSource(str(root), manifest, layout)  # a resume: no CRC carried over
            assert fresh.read(start, count) == whole[start : start + count], (start, count)
            fresh.close()

        expected = {"shared/" + os.path.relpath(p, root): data for p, data in files.items()}
        assert read_back(archive_format, whole) == expected


@given(trees, slices)
def test_zip_size_slices_and_contents(tree, cuts):
    check("zip", tree, cuts)


@given(trees, slices)
def test_tar_size_slices_and_contents(tree, cuts):
    check("tar", tree, cuts)
