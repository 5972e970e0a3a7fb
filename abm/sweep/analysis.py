"""Analysis of a sweep's results: sensitivity indices and scenario discovery (PRIM).

Sensitivity follows the design: Sobol first-order and total indices (SALib, Saltelli
estimators) for a Sobol design, Morris elementary effects (mu*, sigma) for a Morris design, and
the first-order index as a correlation ratio (variance of the binned conditional mean over the
variance) for grids and Latin hypercubes. Confidence intervals are 95% bootstrap intervals,
given as half-widths. Outcomes are averaged over replications at each design point first.

Scenario discovery uses PRIM (Friedman and Fisher 1999): peel a box off the parameter space,
``alpha`` of the points at a time from whichever side raises the share of target runs most, until
the box holds less than ``min_mass`` of the runs; the box reported is the densest on the
peeling trajectory that still covers ``min_coverage`` of the target runs. Each peel is chosen by
the gain in density per run removed (the "lenient" objective of the EMA workbench), so dropping a
whole category competes fairly with trimming a range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analysis
from SALib.analyze import sobol as sobol_analysis

from abm.errors import InputError
from abm.sweep.design import problem, unit_design
from abm.sweep.spec import Discovery, Spec

CONF_LEVEL = 0.95
RESAMPLES = 500
_Z = 1.959963984540054  # normal quantile of the 95% interval


@dataclass(frozen=True)
class Sensitivity:
    """Sensitivity indices of one outcome.

    Attributes:
        outcome: the outcome's column.
        method: ``sobol``, ``morris`` or ``first-order``.
        table: one row per parameter; Sobol: ``S1, S1_conf, ST, ST_conf``; Morris: ``mu_star,
            mu_star_conf, mu, sigma`` (outcome units per full range of the parameter);
            first-order: ``S1, S1_conf``. ``*_conf`` are 95% half-widths.
        key: the column that ranks parameters (``ST``, ``mu_star`` or ``S1``).
        note: why indices are missing or degenerate, if they are.
    """

    outcome: str
    method: str
    table: pd.DataFrame
    key: str
    note: str = ""


@dataclass(frozen=True)
class Box:
    """A PRIM box: parameter limits where the target is frequent.

    Attributes:
        target: what counts as a target run.
        limits: restricted parameters only: (low, high) for numbers, the kept values otherwise.
        coverage: share of all target runs that fall in the box.
        density: share of the box's runs that are target runs.
        mass: share of all runs in the box.
        base_rate: share of target runs among all runs.
        trajectory: the peeling trajectory (``coverage, density, mass, restricted``).
        chosen: the trajectory row of the box.
    """

    target: Discovery
    limits: dict[str, tuple[float, float] | tuple]
    coverage: float
    density: float
    mass: float
    base_rate: float
    trajectory: pd.DataFrame
    chosen: int


def by_point(spec: Spec, results: pd.DataFrame) -> pd.DataFrame:
    """Outcomes averaged over replications, one row per design point (``sample``), sorted."""
    cols = [c for c in spec.all_outcomes if c in results]
    values = results.groupby("sample")[list(spec.names)].first()
    return values.join(results.groupby("sample")[cols].mean()).sort_index()


def sensitivity(spec: Spec, results: pd.DataFrame) -> list[Sensitivity]:
    """Sensitivity indices of every scalar outcome, by the method that fits the design."""
    points = by_point(spec, results)
    expected = len(unit_design(spec)) if spec.design in ("sobol", "morris") else None
    out = []
    for outcome in spec.all_outcomes:
        y = points[outcome].to_numpy(float)
        if spec.design in ("sobol", "morris"):
            key = "ST" if spec.design == "sobol" else "mu_star"
            empty = _empty(spec, ("S1", "S1_conf", "ST", "ST_conf") if key == "ST"
                           else ("mu_star", "mu_star_conf", "mu", "sigma"))
            if len(points) != expected or not np.isfinite(y).all():
                note = (f"needs every design point: {len(points)} of {expected} have results"
                        if len(points) != expected else "the outcome is missing in some runs")
                out.append(Sensitivity(outcome, spec.design, empty, key, note))
            elif np.ptp(y) == 0:
                out.append(Sensitivity(outcome, spec.design, empty.fillna(0.0), key,
                                       "the outcome does not vary"))
            else:
                out.append(Sensitivity(outcome, spec.design, _salib(spec, y), key))
        else:
            out.append(_first_order(spec, points, outcome))
    return out


def _empty(spec: Spec, columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(np.nan, index=pd.Index(spec.names, name="parameter"), columns=columns)


def _salib(spec: Spec, y: np.ndarray) -> pd.DataFrame:
    prob = problem(spec)
    if spec.design == "sobol":
        res = sobol_analysis.analyze(prob, y, calc_second_order=spec.second_order,
                                     num_resamples=RESAMPLES, conf_level=CONF_LEVEL,
                                     seed=spec.seed)
        cols = ("S1", "S1_conf", "ST", "ST_conf")
    else:
        res = morris_analysis.analyze(prob, unit_design(spec), y, num_resamples=RESAMPLES,
                                      conf_level=CONF_LEVEL, num_levels=spec.levels,
                                      seed=spec.seed)
        cols = ("mu_star", "mu_star_conf", "mu", "sigma")
    return pd.DataFrame({c: np.asarray(res[c], float) for c in cols},
                        index=pd.Index(spec.names, name="parameter"))


def codes(values: pd.Series, bins: int) -> np.ndarray:
    """Bin a parameter's values: its distinct values if few, else equal-count bins."""
    if values.nunique() <= bins or not pd.api.types.is_numeric_dtype(values):
        return pd.factorize(values, sort=True)[0]
    return pd.qcut(values.rank(method="first"), bins, labels=False).to_numpy()


def _ratio(code: np.ndarray, y: np.ndarray) -> float:
    var = y.var()
    if var == 0:
        return 0.0
    counts = np.bincount(code)
    means = np.bincount(code, weights=y) / np.maximum(counts, 1)
    return float((counts * (means - y.mean()) ** 2).sum() / len(y) / var)


def _first_order(spec: Spec, points: pd.DataFrame, outcome: str) -> Sensitivity:
    ok = np.isfinite(points[outcome].to_numpy(float))
    y = points[outcome].to_numpy(float)[ok]
    bins = max(2, min(10, int(np.sqrt(max(len(y), 1)))))
    rng = np.random.default_rng(spec.seed)
    rows = {}
    for name in spec.names:
        code = codes(points[name][ok], bins)
        boot = [_ratio(code[i], y[i]) for i in
                (rng.integers(0, len(y), len(y)) for _ in range(RESAMPLES))] if len(y) else [0]
        rows[name] = (_ratio(code, y) if len(y) else np.nan, _Z * float(np.std(boot)))
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["S1", "S1_conf"])
    table.index.name = "parameter"
    note = "" if len(y) > 2 * bins else f"only {len(y)} points: indices are rough"
    return Sensitivity(outcome, "first-order", table, "S1", note)


def parse_target(text: str, outcomes: tuple[str, ...]) -> Discovery:
    """Read a discovery target such as ``saved.emissions_kg.system>0.2`` (or ``<``).

    Raises:
        InputError: naming ``--target`` when the text is not ``OUTCOME>NUMBER`` or
            ``OUTCOME<NUMBER`` with a kept outcome.
    """
    op = ">" if ">" in text else "<"
    name, _, number = text.partition(op)
    try:
        threshold = float(number)
    except ValueError:
        threshold = float("nan")
    if name.strip() not in outcomes or not np.isfinite(threshold):
        raise InputError("--target", "target", f"expected OUTCOME>NUMBER or OUTCOME<NUMBER with "
                         f"OUTCOME one of {', '.join(outcomes)}; got {text!r}")
    return Discovery(name.strip(), threshold, above=op == ">")


def prim(x: pd.DataFrame, target: Discovery, y: np.ndarray, *, alpha: float = 0.05,
         min_mass: float = 0.05, min_coverage: float = 0.5) -> Box:
    """Find the box of parameter values where ``y`` (the outcome) meets ``target``.

    Args:
        x: one column per parameter (numbers or categories), one row per run.
        target: the outcome threshold.
        y: the outcome per run (NaN never counts as a target run).
        alpha: share of the box's runs peeled at each step.
        min_mass: stop peeling when the box would hold less than this share of runs.
        min_coverage: the chosen box must cover at least this share of the target runs.
    """
    hit = (y > target.threshold) if target.above else (y < target.threshold)
    hit = hit & np.isfinite(y)
    n, total = len(hit), int(hit.sum())
    inside = np.ones(n, bool)
    steps = [inside]
    while True:
        best, best_score = None, (-np.inf, 0)
        for col in x.columns:
            for cut in _peels(x[col], inside, alpha):
                if cut.sum() < max(min_mass * n, 1) or cut.sum() == inside.sum():
                    continue
                # gain in density per run peeled ("lenient" objective of the EMA workbench):
                # a peel that drops a whole category must earn its size
                score = ((hit[cut].mean() - hit[inside].mean()) / (inside.sum() - cut.sum()),
                         int(cut.sum()))
                if score > best_score:
                    best, best_score = cut, score
        if best is None:
            break
        inside = best
        steps.append(inside)
    traj = pd.DataFrame({
        "coverage": [hit[s].sum() / total if total else 0.0 for s in steps],
        "density": [hit[s].mean() for s in steps],
        "mass": [s.mean() for s in steps],
        "restricted": [len(_limits(x, s)) for s in steps]})
    eligible = traj[traj.coverage >= min_coverage]
    chosen = int(eligible.density.idxmax()) if len(eligible) else 0
    box = steps[chosen]
    return Box(target, _limits(x, box), float(traj.coverage[chosen]),
               float(traj.density[chosen]), float(traj.mass[chosen]),
               total / n if n else 0.0, traj, chosen)


def _peels(values: pd.Series, inside: np.ndarray, alpha: float) -> list[np.ndarray]:
    """Candidate boxes: ``inside`` without its lowest or highest ``alpha`` (or one category)."""
    v = values.to_numpy()
    cur = v[inside]
    if not pd.api.types.is_numeric_dtype(values) or values.nunique() <= 4:
        return [inside & (v != c) for c in pd.unique(cur)] if len(pd.unique(cur)) > 1 else []
    distinct = np.unique(cur)
    if len(distinct) < 2:
        return []
    lo = max(np.quantile(cur, alpha), distinct[1])  # peel at least the lowest value
    hi = min(np.quantile(cur, 1 - alpha), distinct[-2])
    return [inside & (v >= lo), inside & (v <= hi)]


def _limits(x: pd.DataFrame, box: np.ndarray) -> dict[str, tuple]:
    """The box's restricted parameters: numeric (low, high), or the categories it keeps."""
    out: dict[str, tuple] = {}
    for col in x.columns:
        full, kept = x[col], x[col][box]
        if pd.api.types.is_numeric_dtype(full) and full.nunique() > 4:
            if kept.min() > full.min() or kept.max() < full.max():
                out[col] = (float(kept.min()), float(kept.max()))
        elif kept.nunique() < full.nunique():
            out[col] = tuple(sorted(pd.unique(kept).tolist(), key=str))
    return out
