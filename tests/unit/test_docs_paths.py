"""Every test the documents name as proof exists, so a moved or renamed test leaves no dead citation."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))
DOCUMENTS = ["SECURITY.md", "README.md", *DOCS]
# `tests/x.py`, `tests/x.py::name`, `tests/dir/`, or `::name` (a test in the file named last before it).
CITATION = re.compile(r"`(tests/[\w/]*(?:\.py)?)?(?:::(\w+))?[^`]*`")


def citations(text: str) -> list[tuple[str, str | None]]:
    """(path, test name or None) for each citation; `::name` borrows the file named last on the line."""
    found = []
    for line in text.splitlines():
        current = None
        for match in CITATION.finditer(line):
            path, name = match.group(1), match.group(2)
            if path:
                current = path
            if path is None and name is None:
                continue
            if path is None and current is None:
                found.append(("", name))
                continue
            found.append((path or current, name))
    return found


@pytest.mark.parametrize(
    "text, expected",
    [
        ("`tests/http/test_a.py::test_one`", [("tests/http/test_a.py", "test_one")]),
        ("`tests/a.py::test_x`, `::test_y` (note)", [("tests/a.py", "test_x"), ("tests/a.py", "test_y")]),
        ("`tests/a.py::test_x[param]`", [("tests/a.py", "test_x")]),
        ("`tests/unit/test_b.py` (table)", [("tests/unit/test_b.py", None)]),
        ("`tests/postgres/`", [("tests/postgres/", None)]),
        ("`PASLA_BIND` and `shares/web/views.py`", []),
        ("`::test_orphan`", [("", "test_orphan")]),
        ("`tests/a.py::test_x`\n`::test_y`", [("tests/a.py", "test_x"), ("", "test_y")]),
    ],
)
def test_citations_are_read_as_written(text, expected):
    assert citations(text) == expected


def _defined(path: Path, name: str) -> bool:
    return re.search(rf"^(?:async )?def {name}\(", path.read_text(), re.MULTILINE) is not None


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_cited_test_exists(document):
    dead = []
    for path, name in citations((ROOT / document).read_text()):
        target = ROOT / path
        if not path or not target.exists():
            dead.append(f"{path}::{name}" if name else path)
        elif name and not (target.is_file() and _defined(target, name)):
            dead.append(f"{path}::{name}")
    assert dead == [], f"{document} names tests that do not exist"
