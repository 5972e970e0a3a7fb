"""The specification ships in docs/model.md: nothing cites a file users do not have, and every
"docs/model.md section N" names a section that exists."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import abm
from abm.config.registry import ENTRY_POINT_GROUPS

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("abm", "tests", "docs", "benchmarks", "experiments", "tools")
           for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".md", ".toml")]
SOURCES.append(ROOT / "README.md")


def test_no_reference_to_the_unshipped_specification():
    unshipped = "MODEL" + ".md"
    bad = [str(p.relative_to(ROOT)) for p in SOURCES if unshipped in p.read_text()]
    assert not bad, f"cite docs/model.md instead of {unshipped} in {bad}"


def test_cited_sections_of_docs_model_exist():
    sections = set(re.findall(r"^## (\d+)\. ", (ROOT / "docs" / "model.md").read_text(), re.M))
    assert sections == {str(n) for n in range(1, 10)}
    for path in SOURCES:
        text = " ".join(path.read_text().split())  # a citation may break across lines
        for first, rest in re.findall(r"docs/model\.md sections? (\d+)((?:(?:-| and |, )\d+)*)",
                                      text):
            cited = {first, *re.findall(r"\d+", rest)}
            assert cited <= sections, f"{path.relative_to(ROOT)} cites section(s) {cited}"


NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
PATH = re.compile(r"(?<![\w./-])abm/[\w./*-]*[\w*]")
DOTTED = re.compile(r"(?<![\w./-])abm(?:\.[A-Za-z_]\w*)+")
# dotted names that are not modules: Parquet metadata keys, placeholders and the entry-point
# groups of the registries (abm.rent_rules, ...: abm.config.registry.ENTRY_POINT_GROUPS)
NOT_NAMES = {"abm.run", "abm.run_id", "abm.module", "abm.x.y", *ENTRY_POINT_GROUPS}


def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module of abm, or a name that the module defines or hands on
    (read from the source, nothing imported)."""
    parts = dotted.split(".")
    if len(parts) > 2 and parts[1] in abm.__all__:  # an attribute of the API: imports it (light)
        try:
            functools.reduce(getattr, parts[1:], abm)
        except AttributeError:
            return False
        return True
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        source = next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()),
                      None)
        if source is None:
            continue
        if cut == len(parts) or parts[cut].startswith("__"):
            return True
        name = re.escape(parts[cut])
        if cut + 1 < len(parts):  # an attribute of an attribute: of a class defined there
            return re.search(rf"^class {name}\b", source.read_text(), re.M) is not None
        return re.search(rf"^\s*(def|class) {name}\b|^\s*{name}\s*[:=]|\bimport\b.*\b{name}\b"
                         rf"|[\"']{name}[\"']", source.read_text(), re.M) is not None
    return False


def test_cited_module_paths_and_names_exist():
    """Every ``abm/...`` path and every dotted ``abm.x.y`` name that code, docs, notebooks and
    experiments cite exists (a file or module moved without its citations fails here)."""
    missing = set()
    for path in [*SOURCES, *NOTEBOOKS]:
        text = path.read_text()
        where = str(path.relative_to(ROOT))
        for cited in set(PATH.findall(text)):
            if not list(ROOT.glob(cited.rstrip("/"))):
                missing.add(f"{where}: {cited}")
        for cited in set(DOTTED.findall(text)):
            if cited not in NOT_NAMES and not _resolves(cited):
                missing.add(f"{where}: {cited}")
    assert not missing, "cited but not found:\n" + "\n".join(sorted(missing))
