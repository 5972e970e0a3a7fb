"""constraints.txt, the versions ./bootstrap.sh installs (docs/reproduce.md, "Dependency
versions"): it pins every requirement the bootstrap installs, within pyproject.toml's ranges,
and the environment the tests run in is that set."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for n, line in enumerate((ROOT / "constraints.txt").read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert m, f"constraints.txt line {n}: {line!r} is not NAME==VERSION"
        name = canonicalize_name(m[1])
        assert name not in pins, f"constraints.txt line {n}: {m[1]} pinned twice"
        pins[name] = Version(m[2])
    return pins


def _bootstrap_requirements() -> list[Requirement]:
    """pyproject.toml's requirements that ``./bootstrap.sh test`` installs (its extras), with
    their markers true here."""
    extras = re.search(r'extras="\[([a-z,]+)\]"', (ROOT / "bootstrap.sh").read_text())
    assert extras, "bootstrap.sh no longer names its test extras as extras=\"[...]\""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras[1].split(","):
        lines += project["optional-dependencies"][extra]
    env = default_environment()
    reqs = [Requirement(line) for line in lines]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({**env, "extra": ""})]


def test_every_requirement_is_pinned_within_its_range() -> None:
    pins = _pins()
    for req in _bootstrap_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt does not pin {req.name} (pyproject.toml: {req})"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject.toml's {req}")


def test_the_environment_is_the_pinned_one() -> None:
    """The tests run on the versions constraints.txt pins (./bootstrap.sh installs them), so
    their figures and bytes are those CI checks."""
    pins = _pins()
    wrong = []
    for req in _bootstrap_requirements():
        name = canonicalize_name(req.name)
        have = Version(metadata.version(req.name))
        if have != pins[name]:
            wrong.append(f"{req.name} {have} (constraints.txt: {pins[name]})")
    assert not wrong, ("installed versions differ from constraints.txt; run ./bootstrap.sh "
                       "test: " + ", ".join(wrong))
