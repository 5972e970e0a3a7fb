"""The Python API for notebooks: one function per task (docs/api.md).

    import abm
    run = abm.simulate(hours=24, policy__carbon_price_usd_per_t=100)
    run.model.head(); run.summary["emissions_system_kg"]; run.plot_generation()
    abm.frontier(budgets_ms=[10, 50, 100, 300])
    abm.sweep("experiments/sweeps/quick.toml", workers=2)

Scenarios are named three ways, by the one rule of the command line too
(:func:`abm.config.resolve.scenario_file`): ``None`` (the shipped default), a shipped name
(``"default"``, ``"scale"``) or a path to a TOML file (a file wins over a shipped scenario of
its name). Settings are overridden by the dotted paths of
docs/scenarios.md, either as keywords with ``__`` for the dots
(``policy__carbon_price_usd_per_t=100``) or as a dict
(``overrides={"regions.set.eu-ireland.capacity_mw": 50}``); they are validated like the file's
own values, and a wrong one raises :class:`abm.errors.InputError` naming the field and what is
allowed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abm.config.limits import MAX_SEED
from abm.config.scenario import Scenario, check_hours
from abm.config.scenario import load_scenario as _load_file
from abm.config.scenario import shipped_scenarios as shipped_scenarios  # abm.shipped_scenarios
from abm.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from abm.report.results import Run
    from abm.sweeps.analysis import Sensitivity
    from abm.sweeps.spec import Spec


def _dotted(overrides: dict[str, Any] | None, keywords: dict[str, Any]) -> dict[str, Any]:
    """Overrides by dotted path: the dict's, then the keywords' (``__`` for each dot)."""
    out = dict(overrides or {})
    for key, value in keywords.items():
        if "__" not in key:
            raise InputError("overrides", key, "expected a dotted path written with __ for "
                             "each dot, e.g. policy__carbon_price_usd_per_t=100 (or pass "
                             "overrides={'policy.carbon_price_usd_per_t': 100})")
        out[key.replace("__", ".")] = value
    return out


def load_scenario(scenario: str | Path | None = None, *,
                  overrides: dict[str, Any] | None = None, **keywords: Any) -> Scenario:
    """A validated scenario: None (the shipped default), a shipped name or a TOML path, with
    overrides by dotted path (``policy__carbon_price_usd_per_t=100`` or
    ``overrides={"policy.carbon_price_usd_per_t": 100}``)."""
    return _load_file(scenario, overrides=_dotted(overrides, keywords))


def _scenario(scenario: str | Path | Scenario | None, overrides: dict[str, Any] | None,
              keywords: dict[str, Any]) -> Scenario:
    if isinstance(scenario, Scenario):
        if overrides or keywords:
            raise InputError("scenario", "overrides", "overrides apply to a scenario file or "
                             "name; for a Scenario object use scn.with_policy(...), "
                             "with_market(...) or with_grid(...)")
        return scenario
    return load_scenario(scenario, overrides=overrides, **keywords)


def _check(hours: int | None, seed: int | None) -> None:
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int)
                              or hours < 1):
        raise InputError("simulate", "hours", f"expected a whole number >= 1, got {hours!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed <= MAX_SEED):
        raise InputError("simulate", "seed", f"expected a whole number in 0..2^63-1, got "
                         f"{seed!r}")


def simulate(scenario: str | Path | Scenario | None = None, hours: int | None = None,
             seed: int | None = None, *, overrides: dict[str, Any] | None = None,
             operator_detail: bool = True, progress: bool = False, **keywords: Any) -> Run:
    """Run the market in memory and return a :class:`abm.report.results.Run`.

    Args:
        scenario: None (the shipped default), a shipped name, a TOML path or a Scenario.
        hours: hourly steps (default: the scenario's).
        seed: the seed of every random draw (default: the scenario's).
        overrides: settings by dotted path, e.g. ``{"policy.carbon_price_usd_per_t": 100}``.
        operator_detail: keep the per-operator table (``run.operators``).
        progress: show a progress bar (tqdm).
        **keywords: more overrides, ``__`` for each dot (``policy__carbon_price_usd_per_t=100``).

    Returns:
        The run: ``.model``, ``.regions``, ``.zones``, ``.lines``, ``.operators``,
        ``.migrations`` (DataFrames), ``.summary`` (dict), ``.market`` (the Mesa model) and
        ``plot_*`` methods returning matplotlib Figures.
    """
    from abm.market.progress import RunProgress
    from abm.report.results import simulate_scenario

    _check(hours, seed)
    scn = _scenario(scenario, overrides, keywords)
    if hours is not None:
        check_hours("simulate", "hours", scn.start, hours)
    if operator_detail:
        scn = scn.with_market(operator_detail=True)
    return simulate_scenario(scn, hours, seed,
                             RunProgress(f"abm {scn.name}", scenario=scn) if progress else None)


def headroom(scenario: str | Path | Scenario | None = None,
             shares_pct: Sequence[float] = (0.25, 0.5, 1.0), *,
             rtt_ms: Sequence[float] = (10, 50, 150), defer_h: Sequence[int] = (1, 4, 24),
             peak: str = "annual", load: str | Path | None = None, progress: bool = False,
             overrides: dict[str, Any] | None = None, **keywords: Any) -> pd.DataFrame:
    """The constant new load each grid zone can host under its peak, as ``abm headroom``
    (docs/headroom.md): the Duke method (Norris et al. 2025) on the zone's hourly background
    load over the year the scenario starts in, then the same when the load may relocate or
    defer instead of being curtailed.

    Args:
        scenario: None (the shipped default), a shipped name, a TOML path or a Scenario.
        shares_pct: curtailment shares of the new load's annual energy, %.
        rtt_ms: latency budgets (ms, round trip) within which the load may relocate.
        defer_h: hours the load's work may wait.
        peak: ``"annual"`` (the year's peak in every hour) or ``"seasonal"`` (the paper's
            summer and winter peaks; docs/headroom.md says why it is not the default).
        load: a CSV of hourly load, ``zone,timestamp,load_mw`` (MW, UTC hours), whose
            series replace the shipped month x hour shapes of its zones (the others keep
            theirs, over the file's hours).
        progress: show a progress bar (tqdm) over the zones.
        overrides: settings by dotted path, e.g. ``{"zones.set.IE.load_mw": 5000}``.
        **keywords: more overrides, ``__`` for each dot.

    Returns:
        One row per zone, variant (``curtail``, ``relocate <b> ms``, ``defer <d> h``) and
        share: ``headroom_mw``, ``headroom_pct_of_peak``, ``gain_mw`` over ``curtail``, the
        zone's ``peak_mw`` and thresholds, load factor, hours and events of reduced draw,
        curtailed, relocated and deferred MWh, and ``load_source``.
    """
    from abm.grid.zone_headroom import scenario_headroom
    from abm.market.progress import RunProgress

    scn = _scenario(scenario, overrides, keywords)
    bar = (RunProgress(f"abm headroom {scn.name}", unit="zone", compiles=False) if progress
           else None)
    return scenario_headroom(scn, shares_pct=shares_pct, rtt_budgets_ms=rtt_ms,
                             defer_hours=defer_h, peak_rule=peak, load_path=load,
                             progress=bar)


def read_run(folder: str | Path) -> Run:
    """A :class:`abm.report.results.Run` read from a folder written by ``abm run``."""
    from abm.report.results import read_run as read

    return read(folder)


def frontier(scenario: str | Path | Scenario | None = None,
             budgets_ms: Sequence[float] | None = None, *, hour: int | None = None,
             frictions: bool = True, overrides: dict[str, Any] | None = None,
             **keywords: Any) -> pd.DataFrame:
    """The energy-latency frontier as a DataFrame, one row per latency budget (as
    ``abm frontier``): cost C* ($/h), least emissions E* (kg/h), unserved (MWh/h), RID,
    layers, returns on latency and the carbon reduction against all-local.

    Args:
        scenario: None (the shipped default), a shipped name, a TOML path or a Scenario.
        budgets_ms: latency budgets in ms, round trip (default: 10 to 300).
        hour: use this hour of the scenario (its demand and signals); default: mean demand at
            annual-mean signals.
        frictions: charge migration friction (amortised) against the all-local status quo.
        overrides, **keywords: settings by dotted path, as for :func:`simulate`.
    """
    from abm.core.frontier import DEFAULT_BUDGETS_MS, at_hour
    from abm.core.frontier import frontier as solve
    from abm.core.instance import compile_scenario
    from abm.core.signals import mean_signals

    scn = _scenario(scenario, overrides, keywords)
    inst = compile_scenario(scn)
    budgets = list(DEFAULT_BUDGETS_MS if budgets_ms is None else budgets_ms)
    if not budgets or any(not b > 0 for b in budgets):
        raise InputError("frontier", "budgets_ms", f"expected positive numbers, got {budgets}")
    if hour is None:
        signals = mean_signals(scn)
    else:
        if not 0 <= hour < scn.hours:
            raise InputError("frontier", "hour", f"expected 0..{scn.hours - 1}, got {hour}")
        inst, signals = at_hour(scn, inst, hour)
    return solve(inst, signals, budgets, frictions=frictions)


def _spec(spec: str | Path | Spec) -> Spec:
    from abm.sweeps.spec import Spec, load_spec

    return spec if isinstance(spec, Spec) else load_spec(spec)


def sweep(spec: str | Path | Spec, workers: int | None = 1, *, out: str | Path | None = None,
          resume: bool = False, progress: bool = False) -> pd.DataFrame:
    """Run a sweep file (docs/sweeps.md) and return one row per run: the run's id, sample,
    replication, seed, parameter values and outcomes (and ``saved.*`` against the baseline).

    Args:
        spec: the sweep file, or a loaded :class:`abm.sweeps.spec.Spec`.
        workers: local processes (1: serially in this process; None: one per core).
        out: the sweep folder to write (kept, resumable, ``abm sweep report`` reads it);
            default: a temporary folder, removed afterwards.
        resume: carry on the sweep in ``out``.
        progress: show a progress bar (tqdm).
    """
    from abm.market.progress import RunProgress
    from abm.sweeps.results import consolidate
    from abm.sweeps.runner import open_executor, run_sweep

    spec = _spec(spec)
    show = RunProgress(f"sweep {spec.name}", unit="run")

    with tempfile.TemporaryDirectory(prefix="abm-sweep-") as tmp:
        folder = Path(out) if out is not None else Path(tmp)
        with open_executor(workers) as (executor, describe, slots):
            run_sweep(spec, folder, executor, slots=slots, describe=describe, resume=resume,
                      restart=not resume and out is None, progress=show if progress else None)
        show.close()
        return consolidate(folder, spec)[0]


def sensitivity(spec: str | Path | Spec, results: pd.DataFrame) -> list[Sensitivity]:
    """Sensitivity indices with confidence intervals of every outcome of a sweep's results
    (the method follows the design: Sobol, Morris, RBD-FAST for Latin hypercubes, ANOVA for
    grids); each item's ``.table`` has one row per parameter."""
    from abm.sweeps.analysis import sensitivity as indices

    return indices(_spec(spec), results)


def discover(spec: str | Path | Spec, results: pd.DataFrame, target: str | None = None) -> Any:
    """Scenario discovery (PRIM): the box of parameter ranges where ``target`` holds, e.g.
    ``"saved.emissions_system_kg>0.03"`` (default: the sweep file's ``[discovery]``, else the
    top quarter of the first outcome). Returns an :class:`abm.sweeps.analysis.Box`
    (``.limits``, ``.coverage``, ``.density``, ``.trajectory``)."""
    import numpy as np

    from abm.sweeps.analysis import parse_target, prim
    from abm.sweeps.spec import Discovery

    spec = _spec(spec)
    if target is not None:
        goal = parse_target(target, spec.all_outcomes)
    else:
        first = spec.all_outcomes[0]
        goal = spec.discovery or Discovery(
            first, float(np.nanquantile(results[first], 0.75)), above=True)
    return prim(results[list(spec.names)], goal, results[goal.outcome].to_numpy(float))


def compare(runs: Sequence[Run] | Mapping[str, Run], baseline: Run | None = None
            ) -> pd.DataFrame:
    """The headline numbers of several runs side by side, one row per run (the baseline first;
    default: the first run): cost and its parts (energy, carbon, rent, network, migration; $),
    emissions on three bases and the relocation effect (kg), demand, served, unserved and moved
    (MWh), shares (0-1); the change of each against the baseline in ``<quantity>_change_pct``
    (%, for totals) and ``<quantity>_change_pp`` (percentage points, for shares).

    Args:
        runs: the runs; as a dict, its keys label the rows (else each run's scenario name,
            numbered where two share one).
        baseline: the run the others are compared with (one of ``runs``).
    """
    import pandas as pd

    from abm.report.run_report import headline_numbers

    if isinstance(runs, Mapping):
        labels, items = list(runs), list(runs.values())
    else:
        items = list(runs)
        seen: dict[str, int] = {}
        labels = []
        for r in items:
            seen[r.label] = seen.get(r.label, 0) + 1
            labels.append(r.label if seen[r.label] == 1 else f"{r.label} ({seen[r.label]})")
    if not items:
        raise InputError("compare", "runs", "expected at least one run")
    base = baseline if baseline is not None else items[0]
    if not any(r is base for r in items):
        raise InputError("compare", "baseline", "expected one of the runs compared")
    df = headline_numbers(items, base)
    order = [next(i for i, r in enumerate(items) if r is base),
             *[i for i, r in enumerate(items) if r is not base]]
    df.index = pd.Index([labels[i] for i in order], name="scenario")
    return df


def write_report(runs: Sequence[Run], out: str | Path, baseline: Run | None = None, *,
                 budgets_ms: Sequence[float] | None = None, zone: str | None = None,
                 replicas: Mapping[str, Sequence[Run]] | None = None) -> Path:
    """Write the HTML report (and its Markdown twin) of ``runs`` against ``baseline``
    (default: the first run), as ``abm report``; return the HTML file's path.

    Args:
        runs: one run per scenario.
        out: the HTML file.
        baseline: the run the others are compared with.
        budgets_ms: latency budgets of the frontier (ms).
        zone: the zone whose generation is shown.
        replicas: per run label, all its runs with different seeds (the one in ``runs``
            first), for bands over seeds.
    """
    from abm.core.frontier import DEFAULT_BUDGETS_MS
    from abm.report.run_report import write_report as write

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write(list(runs), baseline or runs[0], out,
                 list(budgets_ms or DEFAULT_BUDGETS_MS), zone=zone,
                 replicas={k: list(v) for k, v in (replicas or {}).items()})[0]
