"""The hashed lock files stay in step with the ranges in requirements*.txt."""

import re
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def ranges(name: str) -> list[Requirement]:
    found = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found += ranges(line[3:].strip())
        else:
            found.append(Requirement(line))
    return found


def pins(name: str) -> dict[str, list[tuple[str, int]]]:
    """{package: [(version, number of hashes)]} for the pins that apply here."""
    found: dict[str, list[tuple[str, int]]] = {}
    current = None
    for line in (ROOT / name).read_text().splitlines():
        match = PIN.match(line)
        if match:
            package, _, version, marker = match.groups()
            current = None
            if marker is None or Marker(marker).evaluate():
                current = [version, 0]
                found.setdefault(canonicalize_name(package), []).append(current)
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            current[1] += 1
    return {k: [tuple(v) for v in versions] for k, versions in found.items()}


LOCKS = [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")]


@pytest.mark.parametrize("source, lock", LOCKS)
def test_every_range_is_pinned_inside_it_with_hashes(source, lock):
    pinned = pins(lock)
    assert pinned, f"{lock} pins nothing"
    for requirement in ranges(source):
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is in {source} but not pinned in {lock}"
        assert len(versions) == 1, f"{requirement.name} is pinned twice in {lock}"
        version, _ = versions[0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {requirement.name}=={version}, outside {source}'s {requirement.specifier}"
        )
    for package, versions in pinned.items():
        for version, hashes in versions:
            assert hashes > 0, f"{package}=={version} has no hash in {lock}"


def test_the_runtime_lock_is_the_dev_lock_minus_dev_tools():
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    for package, versions in runtime.items():
        assert dev.get(package) == versions, f"{package}: the two lock files pin different versions"
