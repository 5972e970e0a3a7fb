"""The specification ships in docs/model.md: nothing cites a file users do not have, and every
"docs/model.md section N" names a section that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("abm", "tests", "docs", "benchmarks", "experiments")
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
