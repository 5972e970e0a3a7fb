"""Figures in the docs are written by experiments/docs_figures.py: the marked regions are
rewritten and checked by hand-made cases, every marker names a registered figure, and every
figure in the docs, cheap or slow, is what the script computes now (a stale doc fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def figures():
    return load_script(ROOT / "experiments" / "docs_figures.py")


DOC = """# A doc

Relocation cuts <!-- figure:cut -->3.1<!-- /figure --> kt.

<!-- figure:table -->
| a |
|---|
| 1 |
<!-- /figure -->

<!-- figure:other -->
kept
<!-- /figure -->
"""


def test_regions_are_rewritten_inline_and_as_blocks(figures):
    """An inline region stays inline, a block keeps its own lines, regions of figures not
    computed stay as they are; the stale ones are named, and a rewritten doc is not stale."""
    assert figures.regions(DOC) == [("cut", "3.1"), ("table", "\n| a |\n|---|\n| 1 |\n"),
                                    ("other", "\nkept\n")]
    values = {"cut": "5.5", "table": "| a |\n|---|\n| 2 |\n"}
    assert figures.stale(DOC, values) == ["cut", "table"]
    new = figures.render(DOC, values)
    assert "cuts <!-- figure:cut -->5.5<!-- /figure --> kt." in new
    assert "<!-- figure:table -->\n| a |\n|---|\n| 2 |\n<!-- /figure -->" in new
    assert "<!-- figure:other -->\nkept\n<!-- /figure -->" in new
    assert figures.stale(new, values) == []
    assert figures.render(new, values) == new


def test_an_unclosed_marker_is_an_error_and_quoted_markers_are_text(figures):
    with pytest.raises(ValueError, match="unbalanced figure markers"):
        figures.regions("<!-- figure:cut -->3.1 and no end")
    quoted = "markers: `<!-- figure:NAME -->` and `<!-- /figure -->`.\n" + DOC
    assert figures.regions(quoted) == figures.regions(DOC)
    assert figures.render(quoted, {"cut": "1"}).startswith(quoted.split("\n")[0])


def test_markdown_tables(figures):
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"zone": ["A", "B"], "x": [1.234, np.nan], "n": [3, 4]})
    assert figures.table(df, {"x": "{:.2f}"}) == (
        "| zone | x | n |\n|---|---:|---:|\n| A | 1.23 | 3 |\n| B |  | 4 |")


def test_every_marker_in_the_docs_names_a_figure_and_every_figure_is_used(figures):
    used = figures.used()
    assert set(used) <= set(figures.FIGURES), sorted(set(used) - set(figures.FIGURES))
    assert set(figures.FIGURES) <= set(used), sorted(set(figures.FIGURES) - set(used))


def _stale(figures, cheap: bool) -> None:
    """Recompute every cheap (or slow) figure that can be computed here (those reading the
    research data need ``../shared``) and compare it with every doc quoting it."""
    names = [n for n, f in figures.FIGURES.items() if f.cheap == cheap]
    values = figures.compute(names)
    assert values, "no figure could be computed"
    stale = [f"{path.relative_to(ROOT)}: {name}" for path in figures.docs()
             for name in figures.stale(path.read_text(), values)]
    assert not stale, ("stale figures (run python experiments/docs_figures.py): "
                       + ", ".join(stale))


def test_the_cheap_figures_in_the_docs_are_up_to_date(figures):
    _stale(figures, cheap=True)


def test_the_slow_figures_in_the_docs_are_up_to_date(figures):
    """The grid experiments, the adoption sweep and the other runs of the week (about a
    minute of CPU together)."""
    _stale(figures, cheap=False)


def test_only_a_rewrite_draws_a_figures_files(figures, monkeypatch, tmp_path):
    """A figure's files (its PNG, its CSV in docs/) are drawn when the docs are rewritten,
    never by ``--check`` (nor by the tests, which only compute)."""
    drawn = []
    name = "test-files-only-on-rewrite"
    monkeypatch.setitem(figures.FIGURES, name, figures.Figure(
        name, lambda: "x", True, (), lambda: drawn.append(1)))
    monkeypatch.setattr(figures, "docs", lambda: [])  # no doc is read or written
    assert figures.main(["--check", name]) == 0
    assert drawn == []
    assert figures.main([name]) == 0
    assert drawn == [1]


def test_thousands_of_usd_that_round_to_zero_print_without_a_sign(figures):
    """The flexibility doc's k USD (``_k_usd``): rounded to the nearest thousand, signed where
    asked, and a value that rounds to zero is "0 k", never "-0 k" (the by-shares figure once
    read "-0 k" for a few dollars less) nor "+0 k"."""
    assert figures._k_usd(-0.4) == figures._k_usd(0.4) == figures._k_usd(-499.0) == "0 k"
    assert figures._k_usd(-499.0, sign=True) == figures._k_usd(499.0, sign=True) == "0 k"
    assert figures._k_usd(0.0, sign=True) == "0 k"
    assert figures._k_usd(157_300.0, sign=True) == "+157 k"
    assert figures._k_usd(-1_234_600.0, sign=True) == "-1,235 k"
    assert figures._k_usd(2_681_038.71) == "2,681 k"
    assert "-0 k" not in figures.FIGURES["flex-by-shares"].compute()
