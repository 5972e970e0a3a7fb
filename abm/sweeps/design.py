"""Designs: the list of runs a sweep makes, with deterministic ids and seeds.

Sampling designs (Latin hypercube, Sobol, Morris) draw points in the unit cube with SALib, seeded
by the master seed; each parameter maps its unit coordinate to a value (``Parameter.value``). A
grid is the full factorial of the parameters' values. Run ``sample * replications + r`` is
replication ``r`` of design point ``sample``; the baseline runs (one per replication) follow.
Seeds derive from the master seed through ``numpy.random.SeedSequence`` spawn keys, so a run's
seed depends only on its place in the design, never on execution order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from SALib.sample import latin, morris, sobol

from abm.sweeps.spec import Spec


@dataclass(frozen=True)
class Run:
    """One run of a sweep.

    Attributes:
        run_id: index in the sweep (design runs first, then baselines).
        sample: the design point (``-1`` for a baseline run).
        replication: which replication (0-based).
        seed: the run's seed, derived from the master seed.
        values: the parameters' values at this point, by dotted path (empty for a baseline).
    """

    run_id: int
    sample: int
    replication: int
    seed: int
    values: dict[str, Any]

    @property
    def baseline(self) -> bool:
        """Whether this is a baseline run."""
        return self.sample < 0


def problem(spec: Spec) -> dict[str, Any]:
    """SALib's problem on the unit cube: one variable per parameter, bounds [0, 1]."""
    return {"num_vars": len(spec.parameters), "names": list(spec.names),
            "bounds": [[0.0, 1.0]] * len(spec.parameters)}


def sampled_design(spec: Spec) -> np.ndarray:
    """The points of a sampled design (lhs, sobol, morris) in the unit cube, shape (points,
    parameters)."""
    prob = problem(spec)
    if spec.design == "lhs":
        return latin.sample(prob, spec.samples, seed=spec.seed)
    if spec.design == "sobol":
        return sobol.sample(prob, spec.samples, calc_second_order=spec.second_order,
                            seed=spec.seed)
    if spec.design == "morris":
        return morris.sample(prob, spec.samples, num_levels=spec.levels, seed=spec.seed)
    raise ValueError(f"a {spec.design} design is not sampled")


def unit_design(spec: Spec) -> np.ndarray | None:
    """The sampled points in the unit cube, shape (points, parameters); ``None`` for a grid."""
    return None if spec.design == "grid" else sampled_design(spec)


def design_points(spec: Spec) -> list[dict[str, Any]]:
    """The parameters' values at every design point, in design order."""
    unit = unit_design(spec)
    if unit is None:
        grid = itertools.product(*(p.values for p in spec.parameters))
        return [dict(zip(spec.names, point, strict=True)) for point in grid]
    return [{p.path: p.value(float(u)) for p, u in zip(spec.parameters, row, strict=True)}
            for row in unit]


def run_seed(spec: Spec, sample: int, replication: int) -> int:
    """The seed of replication ``replication`` at design point ``sample`` (``-1``: baseline).

    With ``seeds = "common"`` every design point (and the baseline) of a replication shares its
    seed (common random numbers); with ``"independent"`` every design run has its own.
    """
    key = (replication,) if spec.seeds == "common" or sample < 0 else (replication, sample)
    return derived_seed(spec.seed, *key)


def derived_seed(master: int, *key: int) -> int:
    """The seed ``numpy.random.SeedSequence(master, spawn_key=key)`` derives (0..2^32-1): one
    per replication of a sweep, and of ``abm report --replications``."""
    return int(np.random.SeedSequence(master, spawn_key=key).generate_state(1)[0])


def runs(spec: Spec) -> list[Run]:
    """Every run of the sweep, in run-id order."""
    reps = spec.replications
    out = [Run(i * reps + r, i, r, run_seed(spec, i, r), values)
           for i, values in enumerate(design_points(spec)) for r in range(reps)]
    if spec.baseline is not None:
        out += [Run(len(out) + r, -1, r, run_seed(spec, -1, r), {}) for r in range(reps)]
    return out
