"""The interactive dashboard (``abm dashboard``, or :func:`show` in a notebook): a Solara page
over a pure controller.

``state`` computes everything shown of a live run (no solara) and ``stored`` of an ``abm run``
folder; ``plots`` draws it with matplotlib; ``app`` is the Solara page (needs the optional
``viz`` extra); ``server`` serves it in this process behind host, origin and session checks;
the ``abm dashboard`` subcommand that serves it is ``abm/cli/dashboard.py``.
"""

from __future__ import annotations

from pathlib import Path


def show(source: str | Path | None = None) -> None:
    """Show the dashboard in a Jupyter notebook, under the cell: the live page on a scenario
    file (default: the shipped default scenario), or the read-only viewer of a folder written
    by ``abm run``. Needs the optional ``viz`` extra; the notebook needs ipywidgets (Jupyter
    Lab or Notebook 7 have it).

    Args:
        source: a scenario TOML file or an ``abm run`` folder.

    Raises:
        InputError: the scenario file or the run folder cannot be read (checked first).
    """
    from IPython.display import display

    from abm.dashboard.app import App
    from abm.dashboard.stored import check_source

    display(App(check_source(source), embedded=True))
