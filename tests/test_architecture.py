"""docs/architecture.md tells the truth: its floors are the import contracts of pyproject.toml
(which ``lint-imports`` enforces in CI, and tests/test_contracts.py shows failing on planted
wrong imports), in the same order, and the libraries it places are where the contracts allow
them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "architecture.md").read_text()
CONTRACTS = {c["id"]: c for c in tomllib.loads((ROOT / "pyproject.toml").read_text())
             ["tool"]["importlinter"]["contracts"]}


def floors() -> list[list[str]]:
    """The paths of each line of the page's text diagram, top line first."""
    block = re.search(r"^```\n(faces .*?)^```", PAGE, re.S | re.M).group(1)
    return [re.findall(r"abm/[\w./]*", line) for line in block.splitlines()]


def module(path: str) -> str:
    """``abm/cli/`` -> ``cli``, ``abm/errors.py`` -> ``errors``."""
    return path.removeprefix("abm/").removesuffix("/").removesuffix(".py")


def test_the_two_diagrams_agree():
    mermaid = re.search(r"^```mermaid\n(.*?)^```", PAGE, re.S | re.M).group(1)
    labels = re.findall(r"abm/[\w./]*", mermaid.split("-->")[0])
    assert labels == [p for line in floors() for p in line]


def test_the_page_draws_the_floors_contract():
    """Every package and module at the top of abm/ stands on one line of the page (the package
    root, ``abm/__init__.py``, with the faces) and on one layer of the contract, and the two
    orders agree: a line above another holds only layers above the other's."""
    page = {module(p): i for i, line in enumerate(floors()) for p in line
            if p != "abm/__init__.py"}
    contract = CONTRACTS["floors"]
    layer = {m.strip(): i for i, names in enumerate(contract["layers"])
             for m in names.split("|")}
    tops = {p.stem for p in (ROOT / "abm").glob("*.py") if p.stem != "__init__"}
    tops |= {p.name for p in (ROOT / "abm").iterdir() if (p / "__init__.py").is_file()}
    assert set(page) == set(layer) == tops
    assert contract["exhaustive"], "a new top-level module must be given a floor"
    for a in page:
        for b in page:
            if page[a] < page[b]:
                assert layer[a] < layer[b], f"the page puts {a} above {b}; the contract does not"
            if layer[a] < layer[b]:
                assert page[a] <= page[b], f"the contract puts {a} above {b}; the page does not"


def test_the_page_places_the_libraries_where_the_contract_allows_them():
    """The page's sentence on Mesa, matplotlib, Solara and numba names exactly the places the
    ``libraries`` contract lets import them."""
    allowed: dict[str, set[str]] = {}
    for rule in CONTRACTS["libraries"]["ignore_imports"]:
        importer, lib = (s.strip() for s in rule.split("->"))
        path = importer.removesuffix(".**").replace(".", "/")
        allowed.setdefault(lib, set()).add(path + ("/" if importer.endswith("**") else ".py"))
    sentence = PAGE.split("Third-party libraries follow the floors:", 1)[1].split(". ", 1)[0]
    named = {c.split()[0].lower(): set(re.findall(r"`(abm/[\w./]*)`", c))
             for c in sentence.split(";")}
    assert named == allowed
