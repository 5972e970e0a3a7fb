"""Parameter sweeps of the market: declarative files, designs, executors, results, analysis.

A sweep file (TOML, ``docs/sweeps.md``) names a scenario, the settings that vary (dotted paths of
the scenario, the ``overrides`` of ``load_scenario``), a design (full factorial, Latin hypercube,
Sobol or Morris), replications and the outcomes to keep. ``run_sweep`` runs it on any
``concurrent.futures.Executor`` and writes one Parquet row per run as runs finish;
``analysis`` and ``report`` turn the results into sensitivity indices, figures and scenario
discovery boxes.
"""

from abm.sweep.runner import run_sweep
from abm.sweep.spec import Spec, load_spec

__all__ = ["Spec", "load_spec", "run_sweep"]
