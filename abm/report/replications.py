"""Scenarios run with several seeds (``abm report --replications N``): their seeds, and the
statistics a report shows over them (the mean, the lowest and the highest value).

Replication 0 is the scenario's own seed (so one replication is the scenario as its file
says); replication r > 0 has the seed ``SeedSequence(seed, spawn_key=(r,))`` derives, as a
sweep's replications do (docs/sweeps.md). Scenarios that share a seed share it in every
replication (common random numbers: the same drawn operators and forecast noise), so a
scenario's change against the baseline is taken run by run with the same replication number.
"""

from __future__ import annotations

import pandas as pd

from abm.sweeps.design import derived_seed


def replication_seeds(seed: int, n: int) -> list[int]:
    """The seeds of ``n`` replications of a scenario whose own seed is ``seed``."""
    return [seed, *(derived_seed(seed, r) for r in range(1, n))]


def spread(values: pd.Series) -> pd.DataFrame:
    """Per scenario (the first index level, in order): ``mean``, ``lo`` and ``hi`` of
    ``values`` (indexed by scenario and replication) over the replications."""
    g = values.groupby(level=0, sort=False)
    return pd.DataFrame({"mean": g.mean(), "lo": g.min(), "hi": g.max()})


def paired_change(values: pd.Series, baseline: str, relative: bool) -> pd.Series:
    """Each run's change against the baseline's run of the same replication (the baseline's
    mean where it has fewer replications, e.g. a run folder): in % of the baseline's value if
    ``relative`` (NaN where that is 0), else the difference.

    Args:
        values: indexed by (scenario, replication).
        baseline: the baseline's scenario label.
        relative: % change rather than a difference.
    """
    base = values.loc[baseline]
    reps = values.index.get_level_values(1)
    ref = pd.Series([base.get(r, base.mean()) for r in reps], index=values.index)
    if relative:
        return 100 * (values - ref) / ref.abs().where(ref != 0)
    return values - ref
