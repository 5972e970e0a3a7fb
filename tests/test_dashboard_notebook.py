"""The dashboard inside Jupyter: ``abm.dashboard.show()`` executed in a fresh kernel (nbclient)
displays a widget; the same page's widget tree, built in that kernel, steps the market when its
Step button is clicked; a run folder opens read-only."""

from __future__ import annotations

import json

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

WIDGET = "application/vnd.jupyter.widget-view+json"
# runs in the kernel on the widgets that show() displayed (MODELS: their ids): what they show,
# and what the live page shows once its Step button is clicked
INSPECT = """
import json, time
import ipywidgets

def walk(widget):
    yield widget
    for child in getattr(widget, "children", None) or []:
        if isinstance(child, ipywidgets.Widget):
            yield from walk(child)

def find(root, cls):
    return [w for w in walk(root) if cls in (getattr(w, "class_", None) or "").split()]

def text(root, cls):
    return find(root, cls)[0].children[0]

live, viewer = (ipywidgets.Widget.widgets[m] for m in MODELS)
before = text(live, "run-hour")
[step] = [w for w in walk(live) if type(w).__name__ == "Btn" and "Step" in w.children]
step.click()
for _ in range(300):
    if text(live, "run-hour").startswith("hour 1 "):
        break
    time.sleep(0.1)
print(json.dumps({
    "before": before, "after": text(live, "run-hour"),
    "cost": text(live, "headline-value"),
    "figures": sum(isinstance(w, ipywidgets.Image) for w in walk(live)),
    "viewer": text(viewer, "run-folder"), "viewer_hour": text(viewer, "run-hour")}))
"""


def test_the_dashboard_shows_and_steps_in_a_jupyter_kernel(default_run):
    pytest.importorskip("solara")
    book = new_notebook(cells=[
        new_code_cell("import abm.dashboard\nabm.dashboard.show()"),
        new_code_cell(f"abm.dashboard.show({str(default_run)!r})"),
        new_code_cell("")])
    client = NotebookClient(book, timeout=180, kernel_name="python3")
    with client.setup_kernel():
        models = []
        for index, cell in enumerate(book.cells[:2]):  # each show() displays one widget
            client.execute_cell(cell, index)
            shown = [o["data"][WIDGET]["model_id"] for o in cell.outputs
                     if WIDGET in o.get("data", {})]
            assert len(shown) == 1, cell.outputs
            assert not [o for o in cell.outputs if o.get("name") == "stderr"], cell.outputs
            models += shown
        book.cells[2].source = f"MODELS = {models!r}\n" + INSPECT
        client.execute_cell(book.cells[2], 2)
    facts = json.loads(book.cells[2].outputs[-1]["text"])
    assert facts["before"].startswith("hour 0 / 168")
    assert facts["after"].startswith("hour 1 / 168")
    assert facts["cost"].startswith("$") and facts["cost"] != "$0"
    assert facts["figures"] == 6  # map, series, generation, backlog and events, layers, frontier
    assert facts["viewer"] == f"Run folder {default_run}"
    assert facts["viewer_hour"].startswith("hour 5 / 5")


def test_show_checks_its_source_first(tmp_path):
    pytest.importorskip("solara")
    from abm.dashboard import show
    from abm.errors import InputError

    with pytest.raises(InputError, match=r"run\.json: missing"):
        show(tmp_path)
    with pytest.raises(InputError, match=r"nothing\.toml': no such scenario file or run folder"):
        show(tmp_path / "nothing.toml")
