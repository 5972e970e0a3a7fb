"""Analysis of a sweep's results: sensitivity indices and scenario discovery (PRIM).

Sensitivity follows the design, each with its own estimator: Sobol first-order and total
indices (SALib, Saltelli/Jansen estimators) for a Sobol design; Morris elementary effects (mu*,
sigma; SALib) for a Morris design; first-order indices by RBD-FAST (SALib, Tarantola et al.
2006, with Plischke's bias correction) for a Latin hypercube; and, for a full-factorial grid,
the exact analysis of variance over its levels: first order Var(E[Y | x_i]) / Var(Y) and total
1 - Var(E[Y | x_~i]) / Var(Y). Confidence intervals are 95% bootstrap intervals given as
half-widths (a grid's indices are exact for its levels and have none). Outcomes are averaged
over replications at each design point first. Every table has a ``flag`` column naming indices
whose interval is wide (half-width above ``WIDE_INTERVAL``, or above a quarter of the largest
mu* for Morris), that exceed 1, or that fall below 0 beyond their interval: estimator noise.
An index within ``BOUND_TOLERANCE`` (a share of Var(Y)) beyond 0 or 1 is rounding, not noise:
it is not flagged, and the exact analysis of variance reports it at the bound.

Scenario discovery uses PRIM (Friedman and Fisher 1999): peel a box off the parameter space,
``alpha`` of the points at a time from whichever side raises the share of target runs most, until
the box holds less than ``min_mass`` of the runs; the box reported is the densest on the
peeling trajectory that still covers ``min_coverage`` of the target runs. Each peel is chosen by
the gain in density per run removed (the "lenient" objective of the EMA workbench), so dropping a
whole category competes fairly with trimming a range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analysis
from SALib.analyze import rbd_fast
from SALib.analyze import sobol as sobol_analysis

from abm.errors import InputError, quoted
from abm.sweeps.design import problem, sampled_design
from abm.sweeps.spec import Discovery, Spec, renamed

CONF_LEVEL = 0.95
RESAMPLES = 500
WIDE_INTERVAL = 0.1  # half-width of a share index's 95% interval flagged as wide
BOUND_TOLERANCE = 1e-9  # a share index this far (of Var(Y)) beyond 0 or 1 is at the bound
RBD_HARMONICS = 10  # SALib's default M, used from 8 M points; fewer points use N // 8
RBD_MIN_POINTS = 16  # RBD-FAST with M = N // 8 >= 2 harmonics
METHODS = {"grid": "anova", "lhs": "rbd-fast", "sobol": "sobol", "morris": "morris"}
COLUMNS = {"anova": ("S1", "S1_conf", "ST", "ST_conf"), "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
           "rbd-fast": ("S1", "S1_conf"), "morris": ("mu_star", "mu_star_conf", "mu", "sigma")}
KEYS = {"anova": "ST", "sobol": "ST", "rbd-fast": "S1", "morris": "mu_star"}


@dataclass(frozen=True)
class Sensitivity:
    """Sensitivity indices of one outcome.

    Attributes:
        outcome: the outcome's column.
        method: ``sobol``, ``morris``, ``rbd-fast`` (Latin hypercube) or ``anova`` (grid).
        table: one row per parameter; Sobol and anova: ``S1, S1_conf, ST, ST_conf``; Morris:
            ``mu_star, mu_star_conf, mu, sigma`` (outcome units per full range of the
            parameter); rbd-fast: ``S1, S1_conf``. ``*_conf`` are 95% half-widths (NaN for
            anova: exact). ``flag``: why an index should not be read at face value, or "".
        key: the column that ranks parameters (``ST``, ``mu_star`` or ``S1``).
        note: why indices are missing or degenerate, if they are.
    """

    outcome: str
    method: str
    table: pd.DataFrame
    key: str
    note: str = ""


@dataclass(frozen=True)
class Range:
    """A PRIM box's limits on a numeric parameter (the parameter's own unit)."""

    low: float
    high: float


@dataclass(frozen=True)
class Box:
    """A PRIM box: parameter limits where the target is frequent.

    Attributes:
        target: what counts as a target run.
        limits: restricted parameters only: a ``Range`` for numbers sampled over a range, the
            tuple of kept values for categories and parameters with few levels.
        coverage: share of all target runs that fall in the box.
        density: share of the box's runs that are target runs.
        mass: share of all runs in the box.
        base_rate: share of target runs among all runs.
        trajectory: the peeling trajectory (``coverage, density, mass, restricted``).
        chosen: the trajectory row of the box.
    """

    target: Discovery
    limits: dict[str, Range | tuple]
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
    """Sensitivity indices of every scalar outcome, by the estimator that fits the design."""
    points = by_point(spec, results)
    return [_indices(spec, points, outcome) for outcome in spec.all_outcomes]


def _indices(spec: Spec, points: pd.DataFrame, outcome: str) -> Sensitivity:
    method = METHODS[spec.design]
    key = KEYS[method]
    empty = pd.DataFrame(np.nan, index=pd.Index(spec.names, name="parameter"),
                         columns=COLUMNS[method])
    y = points[outcome].to_numpy(float)
    expected = len(sampled_design(spec)) if spec.design in ("sobol", "morris") else None
    if expected is not None and len(points) != expected:
        note = f"needs every design point: {len(points)} of {expected} have results"
    elif expected is not None and not np.isfinite(y).all():
        note = "the outcome is missing in some runs"
    elif method == "rbd-fast" and np.isfinite(y).sum() < RBD_MIN_POINTS:
        note = f"RBD-FAST needs at least {RBD_MIN_POINTS} design points with results"
    elif not np.isfinite(y).any():
        note = "no run has this outcome"
    elif np.ptp(y[np.isfinite(y)]) == 0:
        return Sensitivity(outcome, method, _flagged(empty.fillna(0.0), method), key,
                           "the outcome does not vary")
    else:
        table = (_anova(spec, points, y) if method == "anova" else _salib(spec, points, y))
        note = ("" if method != "anova" or len(points) == _grid_size(spec) else
                f"{len(points)} of {_grid_size(spec)} grid points: the factorial is unbalanced")
        return Sensitivity(outcome, method, _flagged(table, method), key, note)
    return Sensitivity(outcome, method, _flagged(empty, method), key, note)


def _grid_size(spec: Spec) -> int:
    return int(np.prod([len(p.values) for p in spec.parameters]))


def _salib(spec: Spec, points: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
    """SALib's estimator of the design on the unit-cube sample (rows of the points present)."""
    prob = problem(spec)
    if spec.design == "sobol":
        res = sobol_analysis.analyze(prob, y, calc_second_order=spec.second_order,
                                     num_resamples=RESAMPLES, conf_level=CONF_LEVEL,
                                     seed=spec.seed)
    elif spec.design == "morris":
        res = morris_analysis.analyze(prob, sampled_design(spec), y, num_resamples=RESAMPLES,
                                      conf_level=CONF_LEVEL, num_levels=spec.levels,
                                      seed=spec.seed)
    else:
        ok = np.isfinite(y)
        x = sampled_design(spec)[points.index.to_numpy()[ok]]
        # the bootstrap resamples half the points, and the bias correction needs N > 2 M
        harmonics = min(RBD_HARMONICS, int(ok.sum()) // 8)
        res = rbd_fast.analyze(prob, x, y[ok], M=harmonics, num_resamples=RESAMPLES,
                               conf_level=CONF_LEVEL, seed=spec.seed)
    return pd.DataFrame({c: np.asarray(res[c], float) for c in COLUMNS[METHODS[spec.design]]},
                        index=pd.Index(spec.names, name="parameter"))


def _anova(spec: Spec, points: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
    """Exact first-order and total indices of a full factorial over its levels; rounding
    beyond 0 or 1 (within ``BOUND_TOLERANCE``) reported at the bound."""
    ok = np.isfinite(y)
    # centred: the variances' rounding is then a share of Var(Y), not of the mean's square
    frame = points.loc[ok, list(spec.names)].astype(str).assign(_y=y[ok] - y[ok].mean())
    var = frame._y.var(ddof=0)
    rows = {}
    for name in spec.names:
        others = [n for n in spec.names if n != name]
        main = frame.groupby(name)._y.transform("mean").var(ddof=0)
        rest = frame.groupby(others)._y.transform("mean").var(ddof=0) if others else 0.0
        rows[name] = (main / var, np.nan, 1.0 - rest / var, np.nan)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS["anova"]))
    table.index.name = "parameter"
    for col in ("S1", "ST"):
        v = table[col]
        table[col] = v.mask((v > 1) & (v <= 1 + BOUND_TOLERANCE), 1.0).mask(
            (v < 0) & (v >= -BOUND_TOLERANCE), 0.0)
    return table


def _flagged(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """``table`` with a ``flag`` column: wide intervals, indices above 1 or below 0."""
    flags = pd.Series("", index=table.index)

    def add(mask: pd.Series, text: str) -> None:
        flags[mask] = flags[mask].where(flags[mask] == "", flags[mask] + "; ") + text

    if method == "morris":
        scale = float(table.mu_star.max()) if table.mu_star.notna().any() else 0.0
        add(table.mu_star_conf > 0.25 * scale, "mu* interval wide")
    else:
        for col in ("S1", "ST"):
            if col not in table:
                continue
            conf = table[f"{col}_conf"].fillna(0.0)
            add(conf > WIDE_INTERVAL, f"{col} interval wide")
            add(table[col] > 1.0 + BOUND_TOLERANCE, f"{col} > 1")
            add(table[col] + conf < -BOUND_TOLERANCE, f"{col} < 0")
    return table.assign(flag=flags)


def codes(values: pd.Series, bins: int) -> np.ndarray:
    """Bin a parameter's values: its distinct values if few, else equal-count bins."""
    if values.nunique() <= bins or not pd.api.types.is_numeric_dtype(values):
        return pd.factorize(values, sort=True)[0]
    return pd.qcut(values.rank(method="first"), bins, labels=False).to_numpy()


def parse_target(text: str, outcomes: tuple[str, ...]) -> Discovery:
    """Read a discovery target such as ``saved.emissions_system_kg>0.2`` (or ``<``).

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
    if renamed(name.strip()):
        raise InputError("--target", "target", f"{renamed(name.strip())} (one name per "
                         "quantity: docs/sweeps.md)")
    if name.strip() not in outcomes or not np.isfinite(threshold):
        raise InputError("--target", "target", f"expected OUTCOME>NUMBER or OUTCOME<NUMBER with "
                         f"OUTCOME one of {', '.join(outcomes)}; got {quoted(text)}")
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
    chosen = int(cast(int, eligible.density.idxmax())) if len(eligible) else 0  # RangeIndex
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


def _limits(x: pd.DataFrame, box: np.ndarray) -> dict[str, Range | tuple]:
    """The box's restricted parameters: a numeric range, or the values (levels) it keeps."""
    out: dict[str, Range | tuple] = {}
    for col in x.columns:
        full, kept = x[col], x[col][box]
        if pd.api.types.is_numeric_dtype(full) and full.nunique() > 4:
            if kept.min() > full.min() or kept.max() < full.max():
                out[col] = Range(float(kept.min()), float(kept.max()))
        elif kept.nunique() < full.nunique():
            out[col] = tuple(sorted(pd.unique(kept).tolist(), key=str))
    return out
