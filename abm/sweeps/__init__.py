"""Parameter sweeps of the market: declarative files, designs, executors, results, analysis.

A sweep file (TOML, ``docs/sweeps.md``) names a scenario, the settings that vary (dotted paths of
the scenario, the ``overrides`` of ``load_scenario``), a design (full factorial, Latin hypercube,
Sobol or Morris), replications and the outcomes to keep. ``run_sweep`` runs it on any
``concurrent.futures.Executor`` and writes one Parquet row per run as runs finish;
``analysis`` and ``report`` turn the results into sensitivity indices, figures and scenario
discovery boxes.

The names below are imported on first use, so that ``abm sweep --help`` and validating a sweep
file do not load the market (Mesa, numba).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"run_sweep": "abm.sweeps.runner", "Spec": "abm.sweeps.spec",
          "load_spec": "abm.sweeps.spec"}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)

