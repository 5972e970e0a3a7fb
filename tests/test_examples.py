"""The example notebooks (examples/*.ipynb) are stored without outputs and run from top to
bottom in a fresh kernel, showing their figures (no abm module changes the inline backend)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def test_the_four_examples_are_there():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_clean_and_runs(path):
    book = nbformat.read(path, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "stored with outputs"
    NotebookClient(book, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    outputs = [o for c in code for o in c.outputs]
    for cell in code:  # a cell ending in a figure shows it, whether or not pyplot was loaded
        if "plot" in cell.source.splitlines()[-1] or "figure(" in cell.source.splitlines()[-1]:
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source
    warnings = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"
                and "Warning" in o.text]
    assert not warnings, warnings
