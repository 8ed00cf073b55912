"""The layout docs/architecture.md draws: small modules, small folders, no package cycles."""

import ast
from pathlib import Path

SHARES = Path(__file__).resolve().parents[2] / "shares"
MAX_LINES = 400
MAX_MODULES = 15


def modules():
    return [p for p in SHARES.rglob("*.py") if "migrations" not in p.parts]


def package_of(module: str) -> str:
    """`shares.download.rows` -> `download`; a top-level module is its own package."""
    parts = module.split(".")
    if len(parts) < 2:
        return ""
    return parts[1]


def package_imports() -> dict[str, set[str]]:
    """Which shares package imports which, read from every import statement (also inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in modules():
        own = package_of(".".join(path.relative_to(SHARES.parent).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shares"):
                names = [node.module] if node.module != "shares" else [f"shares.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("shares.")]
            for name in names:
                other = package_of(name)
                if other and other != own:
                    graph.setdefault(own, set()).add(other)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_package_imports_one_that_imports_it_back():
    assert find_cycle(package_imports()) is None


def test_no_module_over_the_line_limit():
    long = {
        str(p.relative_to(SHARES)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_folder_over_the_module_limit():
    counts = {}
    for path in modules():
        counts[str(path.parent.relative_to(SHARES))] = counts.get(str(path.parent.relative_to(SHARES)), 0) + 1
    assert {folder: n for folder, n in counts.items() if n > MAX_MODULES} == {}
