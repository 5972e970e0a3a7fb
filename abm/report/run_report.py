"""Scenario reports: ``abm report`` runs (or reads) scenarios and writes HTML + Markdown.

Each scenario is either a scenario TOML file, run in memory with the market (progress on
stderr) once per seed (``--replications N``: its own seed, then seeds derived from it), or a
folder written by ``abm run`` (``summary.json`` and the Parquet tables; its ``run.json`` names
the scenario file). Every argument is checked before the first run starts. The report
compares every scenario with a baseline: findings and the caveats generated from the runs'
settings, a headline figure and tables (costs per MWh count unserved demand at VoLL), the
energy-latency frontier, execution layers, the generation of one zone, zone changes, maps,
and folded details (set-up and levers, cost parts, the price of decentralisation, grid
results, who gains and loses, provenance). Figures that compare scenarios carry bands from
the lowest to the highest seed. The HTML file embeds its figures (one self-contained file);
the Markdown twin links the same figures, written to ``<stem>_figures/`` beside it; both are
rendered from one document (:mod:`abm.report.document`).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure

from abm.config.differences import differences
from abm.config.population import realise
from abm.config.resolve import scenario_or_folder
from abm.config.scenario import Scenario, check_hours, load_scenario
from abm.core.frontier import DEFAULT_BUDGETS_MS, frontier
from abm.core.instance import compile_scenario
from abm.core.metrics import EMISSION_BASES, LAYERS, cost_usd_per_mwh
from abm.core.signals import mean_signals
from abm.errors import InputError
from abm.files import write_atomic
from abm.grid.zone_headroom import scenario_headroom
from abm.market.progress import Hold, RunProgress
from abm.market.reporters import COST_PARTS
from abm.report import comparison
from abm.report.decentralisation import price_of_decentralisation
from abm.report.document import (
    Bullets,
    Cell,
    Details,
    Document,
    Figure,
    Section,
    Table,
    Text,
    bold,
    code,
    plain,
    render_html,
    render_markdown,
    text,
)
from abm.report.figures import FLEX_COLUMNS, busiest_zone, flexibility_figure, map_figure
from abm.report.findings import caveats, findings, parents
from abm.report.headroom_figures import (
    headroom_variants_figure,
    load_sources,
    variants_table,
)
from abm.report.replications import paired_change, replication_seeds, spread
from abm.report.results import Run, read_run, simulate_scenario
from abm.report.sweep_report import shown_path

log = logging.getLogger(__name__)  # the command line shows warnings as one line each

HEAT_ZONES = 14  # zones in the heat maps: those whose data-centre energy changes most

# ---------------------------------------------------------------------------------------------
# Getting results: every argument checked first, then the runs


def run_scenario(path: Path, hours: int | None = None, seed: int | None = None,
                 quiet: bool = False, scenario: Scenario | None = None, desc: str = "",
                 hold: Hold | None = None) -> Run:
    """Run a scenario file's market in memory (operator detail on), progress on stderr.

    Args:
        path: the scenario TOML file.
        hours: hourly steps (default: the scenario's).
        seed: the seed (default: the scenario's).
        quiet: no progress bar.
        scenario: the file's scenario, already loaded (default: load ``path``).
        desc: the progress bar's label (default: the scenario's name).
        hold: a Ctrl-C held while the report loads, which the bar releases after the first
            hour (:class:`abm.market.progress.RunProgress`; a released hold holds nothing).
    """
    scn = (scenario or load_scenario(path)).with_market(operator_detail=True)
    return simulate_scenario(scn, hours, seed,
                             RunProgress(f"abm report: {desc or scn.name}", quiet=quiet,
                                         scenario=scn, hold=hold))


def get_run(path: str | Path, hours: int | None = None, seed: int | None = None,
            quiet: bool = False) -> Run:
    """A run folder is read; a scenario file or a shipped scenario's name is run (see
    :func:`run_scenario`)."""
    path = scenario_or_folder(path)
    if path.is_dir():
        return read_run(path)
    return run_scenario(path, hours, seed, quiet)


@dataclass(frozen=True)
class Planned:
    """One scenario of a report before anything runs: a scenario file, loaded and validated,
    or a run folder, read."""

    label: str
    path: Path
    scenario: Scenario
    run: Run | None = None  # a folder's run


def plan(paths: Sequence[str | Path], zone: str | None = None, hours: int | None = None
         ) -> list[Planned]:
    """Load every scenario (a file or a shipped scenario's name) and read every run folder
    (``paths[0]`` is the baseline; :func:`abm.config.resolve.scenario_or_folder`), and
    check what would otherwise fail only after the runs: names shared by two scenarios, a
    zone the baseline does not have, and ``hours`` (``--hours``) that a scenario file cannot
    run. Nothing runs.

    Raises:
        InputError: naming the file, ``--zone``, ``--hours`` or the clashing names.
    """
    planned = []
    for p in map(scenario_or_folder, paths):
        if p.is_dir():
            run = read_run(p)
            planned.append(Planned(run.label, p, run.scenario, run))
        else:
            scn = load_scenario(p)
            if hours is not None:
                check_hours("--hours", f"hours ({shown_path(p)})", scn.start, hours)
            planned.append(Planned(scn.name, p, scn))
    check_names([p.label for p in planned])
    check_zone(planned[0].scenario, zone)
    return planned


def check_names(labels: Sequence[str]) -> None:
    """Every scenario of a report needs its own name (its column, row and figure files)."""
    if len(set(labels)) != len(labels):
        shared = sorted({x for x in labels if labels.count(x) > 1})
        raise InputError("abm report", "scenarios",
                         f"two scenarios share a name ({', '.join(shared)}); give each "
                         "[scenario] name its own value")


def check_zone(baseline: Scenario, zone: str | None) -> None:
    """``zone`` (``--zone``) must be one of the baseline's grid zones."""
    zone_ids = [z.id for z in baseline.zones]
    if zone is not None and zone not in zone_ids:
        raise InputError("--zone", "zone", f"unknown zone {zone!r}; the baseline's zones: "
                         + ", ".join(zone_ids))


def run_planned(planned: Sequence[Planned], hours: int | None = None, seed: int | None = None,
                replications: int = 1, quiet: bool = False, hold: Hold | None = None
                ) -> dict[str, list[Run]]:
    """Every planned scenario's runs, by label: a folder's one run, or a file run once per
    seed of :func:`abm.report.replications.replication_seeds` (its own seed, or ``seed``,
    first). ``hold``: a Ctrl-C held while ``abm report`` loads, released after the first
    run's first hour (:func:`run_scenario`)."""
    out = {}
    for p in planned:
        if p.run is not None:
            out[p.label] = [p.run]
            continue
        seeds = replication_seeds(p.scenario.seed if seed is None else seed, replications)
        out[p.label] = [run_scenario(p.path, hours, s, quiet, p.scenario,
                                     p.label if replications == 1 else
                                     f"{p.label} (seed {i + 1}/{replications})", hold)
                        for i, s in enumerate(seeds)]
    return out


# ---------------------------------------------------------------------------------------------
# Numbers


SHARES = ("relocated_share", "layer_local_share", "layer_regional_share", "layer_energy_share")


def numbers(summary: dict, voll_usd_per_mwh: float | None = None) -> dict[str, float]:
    """A run summary's numbers, one per quantity under its one name (MWh, $, $/MWh, kg,
    kg/MWh, shares 0-1), with the costs and emissions per MWh derived from them.

    ``cost_usd_per_mwh`` is the cost per MWh of demand with unserved MWh at the value of lost
    load (:func:`abm.core.metrics.cost_usd_per_mwh`; VoLL from the summary, else
    ``voll_usd_per_mwh``); ``cost_usd_per_mwh_served`` divides the cost by served MWh only.
    """
    # the default may be None for mypy; every run summary carries voll_usd_per_mwh
    voll = float(summary.get("voll_usd_per_mwh", voll_usd_per_mwh))  # type: ignore[arg-type]
    demand, served = summary["demand_mwh"], summary["served_mwh"]
    return {
        **{k: summary[k] for k in ("demand_mwh", "served_mwh", "unserved_mwh", "moved_mwh",
                                   "cost_usd")},
        "herding_mwh": summary["herding_mwh"],
        **{f"cost_{p}_usd": summary[f"cost_{p}_usd"] for p in COST_PARTS},
        "voll_usd_per_mwh": voll,
        "cost_usd_per_mwh": cost_usd_per_mwh(summary["cost_usd"], demand,
                                             summary["unserved_mwh"], voll),
        "cost_usd_per_mwh_served": summary["cost_usd"] / served if served > 0 else np.nan,
        "dc_price_usd_per_mwh": summary["dc_price_usd_per_mwh"],
        **{f"emissions_{b}_kg": summary[f"emissions_{b}_kg"] for b in EMISSION_BASES},
        "emissions_system_kg_per_mwh": (summary["emissions_system_kg"] / demand if demand > 0
                                        else np.nan),
        "relocation_effect_kg": summary["relocation_effect_kg"],
        "relocated_share": summary["relocated_share"],
        **{f"layer_{k}_share": summary[f"layer_{k}_share"] for k in LAYERS},
    }


def run_numbers(run: Run) -> dict[str, float]:
    """:func:`numbers` of a run (VoLL from its scenario where its summary has none)."""
    return numbers(run.summary, run.scenario.policy.voll_usd_per_mwh)


def with_changes(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (one row per scenario, the baseline first) with the change of each quantity
    against the baseline: ``<quantity>_change_pct``, relative in % for totals, and
    ``<quantity>_change_pp``, in percentage points, for shares."""
    df = df.copy()
    base = df.iloc[0]
    for col in list(df.columns):
        if col in SHARES:
            df[f"{col}_change_pp"] = 100 * (df[col] - base[col])
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                df[f"{col}_change_pct"] = np.where(base[col] != 0,
                                               100 * (df[col] - base[col]) / abs(base[col]),
                                               np.nan)
    return df


def headline_numbers(runs: list[Run], baseline: Run) -> pd.DataFrame:
    """One row per run (the baseline first), one column per quantity of :func:`numbers`, and
    the change of each against the baseline (:func:`with_changes`: ``<quantity>_change_pct``
    for totals, ``<quantity>_change_pp`` for shares)."""
    runs = [baseline, *[r for r in runs if r is not baseline]]
    df = pd.DataFrame([run_numbers(r) for r in runs], index=[r.label for r in runs])
    df.index.name = "scenario"
    return with_changes(df)


def replicated_numbers(replicas: dict[str, list[Run]]) -> pd.DataFrame:
    """:func:`numbers` of every run, indexed by (scenario, replication), in report order."""
    rows = {(label, i): run_numbers(r) for label, runs in replicas.items()
            for i, r in enumerate(runs)}
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index = pd.MultiIndex.from_tuples(df.index, names=["scenario", "replication"])
    return df


@dataclass(frozen=True)
class Column:
    """A column of a comparison table: the quantity, its header (with unit), how to show it
    (a scale factor) and how it changes (``relative`` %, or ``pp`` for shares)."""

    key: str
    header: str
    scale: float = 1.0
    pp: bool = False
    difference: bool = False  # a change as a difference in the column's unit, not in %


COST_COLUMNS = (
    Column("demand_mwh", "demand (MWh)"),
    Column("unserved_mwh", "unserved (MWh)", difference=True),
    Column("cost_usd_per_mwh", "cost per MWh of demand, unserved at VoLL ($/MWh)"),
    Column("cost_usd_per_mwh_served", "cost per MWh served, served only ($/MWh)"),
    Column("dc_price_usd_per_mwh", "zone price paid by data-centre load ($/MWh)"),
    Column("relocated_share", "served away from origin (%)", 100.0, pp=True),
)
EMISSION_COLUMNS = (
    Column("emissions_system_kg", "CO2 system (t)", 1e-3),
    Column("emissions_system_kg_per_mwh", "CO2 system per MWh of demand (kg/MWh)"),
    Column("emissions_average_kg", "CO2 attributed, average (t)", 1e-3),
    Column("emissions_marginal_kg", "CO2 attributed, marginal (t)", 1e-3),
    Column("relocation_effect_kg", "relocation effect: placement minus status quo (t)", 1e-3,
           difference=True),
)
PART_COLUMNS = (
    Column("cost_usd", "cost: energy + carbon + rent + network + migration (k$)", 1e-3),
    *(Column(f"cost_{p}_usd", f"of which {p} (k$)", 1e-3) for p in COST_PARTS),
)
MOVEMENT_COLUMNS = (
    Column("moved_mwh", "moved between regions (MWh)"),
    Column("herding_mwh", "herding: load swinging between zones (MWh)"),
    *(Column(f"layer_{k}_share", f"layer {k} (%)", 100.0, pp=True) for k in LAYERS),
)


def comparison_table(reps: pd.DataFrame, baseline: str, columns: Sequence[Column]) -> Table:
    """Rows: scenarios (the baseline first); cells: the mean over seeds and, under it, the
    change against the baseline (mean of the paired changes; with several seeds, their range
    in brackets)."""
    seeds = reps.groupby(level=0, sort=False).size()
    rows = []
    for label in seeds.index:
        row = [Cell(label)]
        for c in columns:
            values = reps[c.key]
            value = values.loc[label].mean() * c.scale
            relative = not (c.pp or c.difference)
            change = paired_change(values, baseline, relative).loc[label]
            change = change if relative else change * c.scale
            if label == baseline:
                note = (f"{plain(values.loc[label].min() * c.scale)} to "
                        f"{plain(values.loc[label].max() * c.scale)}" if seeds[label] > 1 else "")
            else:
                note = _change_text(change, "pp" if c.pp else "" if c.difference else "%")
            row.append(Cell(plain(float(value)), note, numeric=True))
        rows.append(row)
    return Table.of(["scenario", *[c.header for c in columns]], rows)


def _change_text(change: pd.Series, unit: str) -> str:
    """The mean of paired changes (``unit``: "%", "pp" or "" for a difference), and their
    range when there are several."""
    finite = change.dropna()
    if finite.empty:
        return "n/a"
    text_ = f"{finite.mean():+,.1f}" + {"%": "%", "pp": " pp"}.get(unit, "")
    if len(finite) > 1:
        text_ += f" ({finite.min():+,.1f} to {finite.max():+,.1f})"
    return text_


def bands(reps: pd.DataFrame, baseline: str, key: str, relative: bool | None) -> pd.DataFrame:
    """Per scenario: ``mean``, ``lo``, ``hi`` over its seeds of ``key`` (``relative is
    None``), or of its paired change against the baseline (in %, or a difference)."""
    values = reps[key] if relative is None else paired_change(reps[key], baseline, relative)
    return spread(values)


# ---------------------------------------------------------------------------------------------
# Set-up, zones, operators


def setup(runs: list[Run], baseline: Run, replicas: dict[str, list[Run]]
          ) -> tuple[Text, Table]:
    """What every scenario shares (one sentence) and one row per scenario: its source, what
    differs between them of horizon, seeds and operators, and every setting that differs from
    the baseline (the levers)."""
    def seeds(r: Run) -> str:
        return ", ".join(str(x.summary["seed"]) for x in replicas[r.label])

    facts = {"start (UTC)": lambda r: f"{r.scenario.start:%Y-%m-%d %H:%M}",
             "hours": lambda r: str(r.summary["hours"]), "seeds": seeds,
             "operators": lambda r: str(r.summary["operators"])}
    common = {k: f(baseline) for k, f in facts.items()
              if len({f(r) for r in runs}) == 1}
    varying = [k for k in facts if k not in common]
    rows = []
    for r in runs:
        levers = ("the baseline" if r is baseline else
                  "; ".join(_differences(baseline, r)) or "none")
        rows.append([r.label, shown_path(r.origin), *[facts[k](r) for k in varying],
                     plain(_mean_mw(r)), levers])
    sentence = text("Every scenario: ", "; ".join(f"{k} {v}" for k, v in common.items()), ".") \
        if common else text()
    return sentence, Table.of(["scenario", "source", *varying, "demand (MW, mean)",
                               "levers against the baseline"], rows)


def _mean_mw(r: Run) -> float:
    return r.summary["demand_mwh"] / max(r.summary["hours"], 1)


def _differences(base_run: Run, run: Run, limit: int = 10) -> list[str]:
    """The levers of ``run`` against the baseline: its mean demand where it differs, then
    every setting of its scenario that differs (``abm.config.differences``), the first
    ``limit``."""
    out = []
    if abs(_mean_mw(run) - _mean_mw(base_run)) > 1e-6 * _mean_mw(base_run):
        out.append(f"demand {_mean_mw(base_run):,.0f} -> {_mean_mw(run):,.0f} MW (mean)")
    out += differences(base_run.scenario, run.scenario)
    if len(out) > limit:
        out = [*out[:limit], f"... and {len(out) - limit} more"]
    return out


def _zone_means(r: Run) -> pd.DataFrame:
    z = r.tables["zones"]
    return z.groupby("zone").agg(
        dc_energy_mwh=("dc_load_mw", "sum"), price_usd_per_mwh=("price_usd_per_mwh", "mean"),
        avg_carbon_g_per_kwh=("avg_carbon_kg_per_mwh", "mean"),
        marginal_carbon_g_per_kwh=("marginal_carbon_kg_per_mwh", "mean"))


def zone_changes(runs: list[Run], baseline: Run) -> pd.DataFrame:
    """Per zone and scenario: data-centre grid energy (MWh), mean price ($/MWh), mean average
    and marginal carbon (g/kWh), and their changes against the baseline."""
    base = _zone_means(baseline)
    parts = []
    for r in runs:
        m = _zone_means(r)
        delta = (m - base).add_prefix("change_")
        parts.append(pd.concat([m, delta], axis=1).assign(scenario=r.label).reset_index())
    return pd.concat(parts, ignore_index=True)


def replicated_zone_changes(replicas: dict[str, list[Run]], baseline: str) -> pd.DataFrame:
    """Per scenario, replication and zone: the changes of :func:`zone_changes` against the
    baseline's run of the same replication (its first where it has fewer)."""
    base = replicas[baseline]
    parts = []
    for label, runs in replicas.items():
        for i, r in enumerate(runs):
            z = zone_changes([r], base[min(i, len(base) - 1)])
            parts.append(z.assign(scenario=label, replication=i))
    return pd.concat(parts, ignore_index=True)


def operator_names(run: Run) -> dict[str, str]:
    """Each operator's name for a reader: a listed operator by its id, a drawn one (``gen033``)
    by what the scenario's population gave it: strategy, demand and home region."""
    scn = run.scenario
    listed = {o.id for o in scn.operators}
    drawn = realise(scn, np.random.default_rng(run.summary["seed"])).operators
    out = {}
    for o in drawn:
        if o.id in listed:
            out[o.id] = o.id
            continue
        mw = sum(k.demand_mw for k in o.classes)
        home = next((c.client for c in o.classes), "?")
        out[o.id] = f"{o.id} (drawn: {o.strategy}, {mw:,.1f} MW from {home})"
    return out


def operator_changes(runs: list[Run], baseline: Run) -> pd.DataFrame | None:
    """Per operator and scenario: served and unserved MWh, cost per MWh of demand (unserved
    at VoLL, :func:`abm.core.metrics.cost_usd_per_mwh`) and its change against the baseline;
    None when a run has no operator table."""
    if any("operators" not in r.tables or "cost_usd" not in r.tables["operators"]
           for r in runs):
        return None

    def totals(r: Run) -> pd.DataFrame:
        t = r.tables["operators"].groupby("operator")[
            ["served_mw", "unserved_mw", "moved_mw", "cost_usd"]].sum()
        voll = r.scenario.policy.voll_usd_per_mwh
        t["cost_usd_per_mwh"] = [cost_usd_per_mwh(c, s + u, u, voll) for c, s, u in
                                 zip(t.cost_usd, t.served_mw, t.unserved_mw, strict=True)]
        return t.rename(columns={"served_mw": "served_mwh", "unserved_mw": "unserved_mwh",
                                 "moved_mw": "moved_mwh"})

    base = totals(baseline)
    parts = []
    for r in runs:
        t = totals(r)
        t["change_cost_usd_per_mwh"] = t.cost_usd_per_mwh - base.cost_usd_per_mwh
        t["change_unserved_mwh"] = t.unserved_mwh - base.unserved_mwh
        t["name"] = pd.Series(operator_names(r)).reindex(t.index)
        parts.append(t.assign(scenario=r.label).reset_index())
    return pd.concat(parts, ignore_index=True)


def _gains(zones: pd.DataFrame, ops: pd.DataFrame | None, label: str) -> list[list[str]]:
    """Top gainers and losers of one scenario, each row saying which it is: the two zones
    that gain and the two that lose the most data-centre energy (beyond 0.5 MWh), the two
    operators whose cost per MWh of demand falls and the two whose cost rises the most
    (beyond 0.005 $/MWh); a row says so where no zone loses or no operator's cost rises."""
    z = zones[zones.scenario == label].sort_values("change_dc_energy_mwh")
    change = z.change_dc_energy_mwh
    rows = []
    for word, part in (("gains", z[change > _MOVED_MWH].tail(2).iloc[::-1]),
                       ("loses", z[change < -_MOVED_MWH].head(2))):
        rows += [[label, f"zone {r.zone} ({word})", f"{r.change_dc_energy_mwh:+,.0f} MWh",
                  f"price {r.change_price_usd_per_mwh:+.2f} $/MWh"]
                 for r in part.itertuples()]
        if part.empty:
            rows.append([label, "zones", f"none {word} more than {_MOVED_MWH} MWh", ""])
    if ops is not None:
        o = ops[ops.scenario == label].dropna(subset=["change_cost_usd_per_mwh"])
        o = o.sort_values("change_cost_usd_per_mwh")
        cost = o.change_cost_usd_per_mwh
        for word, part in (("cost falls", o[cost < -_COST_USD].head(2)),
                           ("cost rises", o[cost > _COST_USD].tail(2).iloc[::-1])):
            rows += [[label, f"operator {r.name} ({word})",
                      f"{r.change_cost_usd_per_mwh:+.2f} $/MWh",
                      f"unserved {r.change_unserved_mwh:+,.1f} MWh"]
                     for r in part.itertuples()]
            if part.empty:
                rows.append([label, "operators", f"no operator's {word} by more than "
                             f"{_COST_USD} $/MWh", ""])
    return rows


_MOVED_MWH = 0.5  # a zone's change in data-centre energy below this is no gain or loss
_COST_USD = 0.005  # an operator's change in cost per MWh below this is no change


def decentralisation_table(gaps: dict[str, pd.DataFrame]) -> Table:
    """One row per scenario: cost, system, average and marginal emissions and unserved MWh of
    the market and the planner, with the gap in % (and in $ for cost)."""
    rows = []
    for label, g in gaps.items():
        cost, system = g.loc["cost_usd"], g.loc["emissions_system_kg"]
        rows.append([
            label, plain(cost.market / 1e3), plain(cost.planner / 1e3),
            Cell(f"{cost.gap / 1e3:+,.1f}", f"{cost.gap_pct:+.2f}%", numeric=True),
            Cell(f"{system.gap_pct:+.2f}%", numeric=True),
            Cell(f"{g.loc['emissions_average_kg', 'gap_pct']:+.2f}%", numeric=True),
            Cell(f"{g.loc['emissions_marginal_kg', 'gap_pct']:+.2f}%", numeric=True),
            Cell(f"{g.loc['unserved_mwh', 'market']:,.1f} / "
                 f"{g.loc['unserved_mwh', 'planner']:,.1f}", numeric=True)])
    return Table.of(["scenario", "cost, market (k$)", "cost, planner (k$)",
                     "gap (k$, and %)", "gap CO2 system", "gap CO2 average",
                     "gap CO2 marginal", "unserved, market / planner (MWh)"], rows)


def grid_results(runs: list[Run], baseline: Run, top: int = 5) -> list[Table]:
    """The marginal technology of the baseline's ``top`` zones by data-centre energy (most
    frequent, with its share of hours) and every interconnector's mean flow and congested
    hours, one row per scenario; empty for runs without the technology market's tables."""
    if any("marginal_technology" not in r.tables.get("zones", pd.DataFrame()) for r in runs):
        return []
    zones = list(baseline.tables["zones"].groupby("zone").dc_load_mw.sum()
                 .sort_values(ascending=False).index[:top])
    rows = []
    for r in runs:
        z = r.tables["zones"]
        cells = [r.label]
        for zone in zones:
            counts = z[z.zone == zone].marginal_technology.value_counts(normalize=True)
            cells.append(Cell(str(counts.index[0]), f"{counts.iloc[0]:.0%} of hours")
                         if len(counts) else Cell("–"))
        rows.append(cells)
    out = [Table.of(["scenario", *zones], rows)]
    if all(len(r.tables.get("lines", ())) for r in runs):
        lines = sorted(set(runs[0].tables["lines"].line))
        rows = []
        for r in runs:
            g = r.tables["lines"].groupby("line").agg(flow=("flow_mw", "mean"),
                                                      congested=("congested", "sum"))
            rows.append([r.label, *[Cell(f"{g.flow[x]:+,.0f}", f"{g.congested[x]:.0f} h",
                                         numeric=True) if x in g.index else Cell("–")
                                    for x in lines]])
        out.append(Table.of(["scenario", *lines], rows))
    return out


# ---------------------------------------------------------------------------------------------
# Writing


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


class _Steps:
    """The post-processing bar: one tick per step, its name beside the bar."""

    def __init__(self, total: int, quiet: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="abm report: post-processing", unit="step",
                        file=sys.stderr, disable=quiet)
        self.started = False

    def __call__(self, name: str) -> None:
        """Step ``name`` starts (the one before it is done)."""
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_postfix_str(name)

    def close(self) -> None:
        if self.started:
            self.bar.update(1)
        self.bar.close()


def write_report(runs: list[Run], baseline: Run, out: Path,
                 budgets_ms=DEFAULT_BUDGETS_MS, command: str = "", zone: str | None = None,
                 replicas: dict[str, list[Run]] | None = None, quiet: bool = True
                 ) -> tuple[Path, Path]:
    """Write ``out`` (HTML, figures embedded) and its Markdown twin ``out.with_suffix('.md')``.

    Args:
        runs: every scenario, the baseline included (it is placed first).
        baseline: the run the others are compared with.
        out: the HTML file.
        budgets_ms: latency budgets of the frontier (ms).
        command: the command line that made the report, quoted in it.
        zone: the grid zone whose generation by technology is shown (default: the baseline's
            zone with the most data-centre grid energy).
        replicas: per scenario label, all its runs with different seeds, the one in ``runs``
            first (default: one run each).
        quiet: no progress bar for the post-processing.
    """
    runs = [baseline, *[r for r in runs if r is not baseline]]
    labels = [r.label for r in runs]
    check_names(labels)
    check_zone(baseline.scenario, zone)
    replicas = {r.label: list((replicas or {}).get(r.label) or [r]) for r in runs}
    zone = zone or busiest_zone(baseline.tables["zones"])
    figures_steps = 5 + all("marginal_technology" in r.tables["zones"] for r in runs) + (
        len(runs) > 1)  # headline, frontier and layers, [generation], [heat maps], maps,
    # headroom, writing
    step = _Steps(sum(len(v) for v in replicas.values()) + len(runs) + figures_steps, quiet)
    try:
        fronts = {}
        for label, reps in replicas.items():
            fronts[label] = []
            for r in reps:
                step(f"frontier: {label}")
                inst = compile_scenario(r.scenario, np.random.default_rng(r.summary["seed"]))
                fronts[label].append(frontier(inst, mean_signals(r.scenario), budgets_ms))
        gaps = {}
        for r in runs:
            step(f"price of decentralisation: {r.label}")
            gaps[r.label] = price_of_decentralisation(r)
        step("grid headroom")
        room: pd.DataFrame | str
        try:
            room = scenario_headroom(baseline.scenario)
        except InputError as exc:  # zones of the scenario's own, with no background load
            room = str(exc)
            log.warning("the report's grid headroom is not computed: %s", room)
        doc, figures, csvs = _document(runs, baseline, replicas, fronts, gaps, room, zone, out,
                                       command, step)
        step("writing")
        fig_dir = out.with_name(out.stem + "_figures")
        fig_dir.mkdir(parents=True, exist_ok=True)
        for f in figures:
            (fig_dir / f"{f.name}.png").write_bytes(f.png)
        for name, df in csvs.items():
            df.to_csv(fig_dir / name, index=False)
        md_path = out.with_suffix(".md")
        markdown, page = render_markdown(doc, fig_dir.name), render_html(doc)
        write_atomic(md_path, lambda p: p.write_text(markdown))  # the HTML last: the report
        write_atomic(out, lambda p: p.write_text(page))
    finally:
        step.close()
    return out, md_path


def _document(runs: list[Run], baseline: Run, replicas: dict[str, list[Run]],
              fronts: dict[str, list[pd.DataFrame]], gaps: dict[str, pd.DataFrame],
              room: pd.DataFrame | str, zone: str, out: Path, command: str,
              step: Callable[[str], None]
              ) -> tuple[Document, list[Figure], dict[str, pd.DataFrame]]:
    """The report as a document, its figures and the CSV files beside them."""
    labels = [r.label for r in runs]
    base = baseline.label
    fig_dir = out.stem + "_figures"
    slugs = _file_names(labels)
    seeds = max(len(v) for v in replicas.values())
    figures: list[Figure] = []

    def fig(name: str, made: MplFigure, alt: str) -> Figure:
        f = Figure(name, _png(made), alt)
        figures.append(f)
        return f

    reps = replicated_numbers(replicas)
    table = with_changes(reps.groupby(level=0, sort=False).mean())
    table.index.name = "scenario"
    zones_all = replicated_zone_changes(replicas, base)
    zones = zone_changes(runs, baseline)
    ops = operator_changes(runs, baseline)
    parent = parents(runs, baseline)
    band_note = (f"Dots and bars are means over {seeds} seeds, with a band from the lowest "
                 "to the highest seed; changes are paired run by run (same seed)."
                 if seeds > 1 else "One seed per scenario: no band (run with "
                 "--replications N for the spread across seeds).")

    sections = [Section("Findings", (
        text("Generated from the numbers below: what moves cost, emissions on each basis and "
             "unserved demand most, the trade-offs, and what to read with care."),
        Bullets(tuple(findings(table, runs, baseline, gaps, reps))),
        text(bold("Read with care"), " (from these runs' settings):"),
        Bullets(tuple(caveats(runs, replicas)))))]

    step("headline figure")
    panels = [("cost per MWh of demand, unserved at VoLL: change (%)",
               bands(reps, base, "cost_usd_per_mwh", True), True),
              ("CO2 system per MWh of demand: change (%)",
               bands(reps, base, "emissions_system_kg_per_mwh", True), True),
              ("unserved (MWh)", bands(reps, base, "unserved_mwh", None), False),
              ("served away from origin (%)",
               100 * bands(reps, base, "relocated_share", None), False)]
    sections.append(Section("Headline results against the baseline", (
        text("Each scenario against ", bold(base), ". " + band_note + " Cost per MWh of "
             "demand counts unserved MWh at the value of lost load (VoLL, "
             "policy.voll_usd_per_mwh), so leaving demand unserved never reads as cheaper; "
             "a figure per MWh served says \"served only\". System CO2 is the change in the "
             "grid's emissions that the data-centre load causes."),
        fig("headline", comparison.headline_figure(panels, seeds), "headline changes"),
        text("Under each value: its change against the baseline (% , or percentage points "
             "pp for shares)" + (", with the range over the seeds in brackets." if seeds > 1
                                 else ".")),
        comparison_table(reps, base, COST_COLUMNS),
        comparison_table(reps, base, EMISSION_COLUMNS),
        Details("Cost by part and movement of load", (
            text("Cost is what operators pay: energy (electricity at the zone price x PUE), "
                 "carbon (the carbon price, the policy's and operators' own, on the placement "
                 "signal), compute rent, network (egress and the latency penalty) and "
                 "migration (one-off friction of moves); VoLL is not in it."),
            comparison_table(reps, base, PART_COLUMNS),
            comparison_table(reps, base, MOVEMENT_COLUMNS))))))

    step("frontier and layers")
    layers = {label: pd.DataFrame([{k: r.summary[f"layer_{k}_share"] for k in LAYERS}
                                   for r in replicas[label]])
              for label in labels}
    sections.append(Section("Energy-latency frontier and execution layers", (
        text("The planner's optimum at annual-mean signals as every class's latency budget is "
             "relaxed: the cost of what the cost optimum serves and the least emissions "
             "E*(B), per MWh served (C*(B) itself counts demand left unserved at VoLL; E* "
             "serves every class as much as the status quo does, so unserved demand is never "
             "avoided carbon). Lines that coincide share a label at their right end; bands span "
             "the seeds' drawn operators. Below: the share of served MWh at the origin "
             "region, within reach of it, or beyond."),
        fig("frontier", comparison.frontier_figure(fronts), "frontier"),
        fig("layers", comparison.layers_figure(layers, baseline.scenario.regional_rtt_ms),
            "execution layers"))))

    if all("marginal_technology" in r.tables["zones"] for r in runs):
        step(f"generation in {zone}")
        mix, margin = {}, {}
        for label in labels:
            rows, strips = [], []
            for r in replicas[label]:
                z = r.tables["zones"][r.tables["zones"].zone == zone]
                cols = [c for c in z.columns if c.startswith("gen_") and c.endswith("_mw")]
                rows.append(z[cols].mean().rename(lambda c: c[4:-3]))
                strips.append(z.marginal_technology)
            mix[label] = pd.DataFrame(rows)
            margin[label] = pd.concat(strips).value_counts(normalize=True)
        sections.append(Section(f"Generation in {zone}", (
            text(f"What met the load in {zone} (the baseline's zone with the most data-centre "
                 "energy unless ", code("--zone"), " names another): mean generation by "
                 "technology, and which technology set the price in how many hours, in every "
                 "scenario."),
            fig("generation", comparison.generation_figure(mix, margin, zone),
                f"generation in {zone}"))))

    if len(runs) > 1:
        step("zone heat maps")
        heat = _heat_maps(zones_all, labels[1:], seeds)
        sections.append(Section("Zone changes", (
            text("Change against the baseline per scenario (rows) and zone (columns), for the "
                 f"{heat[0][1].shape[1]} zones whose data-centre energy changes most (colour on "
                 "a symmetric log scale; numbers only where the change is outside the range "
                 "across seeds). Every zone and value: ", code(f"{fig_dir}/zone_changes.csv"),
                 "."),
            fig("zones_energy", heat[0][0], "change in data-centre energy"),
            Details("Mean price and mean average carbon", (
                fig("zones_price", heat[1][0], "change in price"),
                fig("zones_carbon", heat[2][0], "change in average carbon"))))))

    flexible = [r for r in runs
                if "work_arrived_mwh" in r.summary or "event_called" in r.summary]
    if flexible:
        step("backlog and events")
        shown = [fig(f"flexibility_{slugs[r.label]}", flexibility_figure(
            r.model[["hour", *(c for c in FLEX_COLUMNS if c in r.model)]],
            r.tables.get("events", pd.DataFrame(columns=["hour"])),
            f"{r.label}: backlog and demand-response events", r.scenario.start),
            f"{r.label}: backlog and demand-response events") for r in flexible]
        sections.append(Section("Backlog and demand-response events", (
            text("For each scenario with deferrable work or demand-response events (its first "
                 "seed), hour by hour: the work waiting in the operators' backlogs and what "
                 "missed its deadline (unserved, at VoLL); each event's hours, shaded and "
                 "labelled with its zone and cut; and what the events delivered against the "
                 "zones' references, by deferring, relocating and shedding, MWh (docs/market.md, "
                 "\"Demand-response events\"). The findings above say it in words."),
            Details("Hour by hour", tuple(shown)))))

    step("maps")
    maps = [fig(f"map_{slugs[r.label]}", map_figure(r, baseline), f"map of {r.label}")
            for r in runs]
    seed_note = (" Maps and the tables below show each scenario's first seed "
                 f"({baseline.summary['seed']} for the baseline)." if seeds > 1 else "")
    sections.append(Section("Where demand moved", (
        text("Arrows: the largest flows of served MWh from a workload's origin grid zone to "
             "the zone where it ran (width by MWh). Circles: the baseline's data-centre grid "
             "energy per zone, and for the other scenarios its change against the baseline. "
             "Straight lines: interconnectors, width by the mean power flow, red where "
             "congested." + seed_note),
        maps[0], *([Details("The map of every other scenario", tuple(maps[1:]))]
                   if len(maps) > 1 else []))))

    sentence, levers = setup(runs, baseline, replicas)
    sections.append(Section("Set-up and levers", (
        text("Baseline: ", bold(base), ". Every scenario is the market of docs/market.md: "
             "operators place their inference load hour by hour by their strategies, compute "
             "regions answer with rent and capacity, grid zones with price and carbon. "),
        sentence, levers), folded=True))
    for child, par in parent.items():
        pair = reps.loc[[par, child]]
        sections.append(Section(f"{child} against {par}, the scenario it extends", (
            text(bold(child), " extends ", bold(par), ": against it, its own lever shows alone "
                 "(against the baseline, the parent's levers add to it)."),
            comparison_table(pair, par, COST_COLUMNS),
            comparison_table(pair, par, EMISSION_COLUMNS)), folded=True))
    sections.append(Section("The price of decentralisation", (
        text("Each scenario's market (operators deciding for themselves, capacity first come, "
             "first served) beside the planner's joint optimum for the same hours, demand, zone "
             "prices, rent and capacity: one placement LP over all operators each hour, myopic "
             "like the operators, knowing the hour's prices and taking them as given. The gap "
             "is market minus planner: what decentralised decisions cost (docs/market.md)."
             + (" First seed of each scenario." if seeds > 1 else "")),
        decentralisation_table(gaps)), folded=True))
    sections.append(_headroom_section(room, base, fig, fig_dir))
    grid_tables = grid_results(runs, baseline)
    if grid_tables:
        sections.append(Section("Grid results: marginal technology and interconnectors", (
            text("The technology on the margin in the baseline's five zones with the most "
                 "data-centre load (and its share of hours: what an extra MWh there burns), "
                 "then every interconnector's mean flow (MW, + in the line's direction) with the "
                 "hours it was congested under it."), *grid_tables), folded=True))
    if len(runs) > 1:
        gains = [row for label in labels[1:] for row in _gains(zones, ops, label)]
        note = ("" if ops is not None else " Operator results need per-operator tables: run "
                "the scenario files themselves, or runs made with market.operator_detail = "
                "true.")
        sections.append(Section("Who gains and who loses", (
            text("Per scenario, the two zones that gain and the two that lose the most "
                 "data-centre energy, and the two operators whose cost per MWh of demand "
                 "(unserved at VoLL) falls and the two whose cost rises the most, against the "
                 "baseline; a row says so where none does (all: ",
                 code(f"{fig_dir}/zone_changes.csv"), " and ",
                 code("operator_changes.csv"), "). Drawn operators are named by what the "
                 "scenario's population gave them." + note),
            Table.of(["scenario", "who", "change", "also"], gains)), folded=True))
    sections.append(Section("Data provenance", (
        text("Regions, zones, RTTs and hourly profiles come from abm/data (sources, licences "
             "and every assumption in abm/data/SOURCES.md; month x hour profiles derived from "
             "Electricity Maps data, ODbL, via HewlettPackard/green-dcc); the grid's "
             "technologies, capacities, fuels and interconnectors from abm/data/grid "
             "(docs/data.md). Country outlines: Natural Earth (public domain)."),), folded=True))

    title = (f"Scenario report: {', '.join(labels[1:])} against {base}"
             if 1 < len(runs) <= 4 else
             f"Scenario report: {len(runs) - 1} scenarios against {base}"
             if len(runs) > 4 else f"Scenario report: {base}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = text(f"Made {stamp} by GeoInference ABM",
                 *((" with ", code(command)) if command else ()),
                 ". Folded sections (set-up and levers, the price of decentralisation, grid "
                 "headroom, grid results, who gains and loses, provenance) open on a "
                 "click.")
    csvs = {"zone_changes.csv": zones}
    if isinstance(room, pd.DataFrame):
        csvs["headroom.csv"] = room
    if ops is not None:
        csvs["operator_changes.csv"] = ops
    return Document(title, intro, tuple(sections)), figures, csvs


def _headroom_section(room: pd.DataFrame | str, base: str,
                      fig: Callable[[str, MplFigure, str], Figure], fig_dir: str) -> Section:
    """The baseline's grid headroom (docs/headroom.md): the figure of every variant and share,
    and the table at the largest share; or, where it could not be computed (``room``: why),
    that and why."""
    if isinstance(room, str):
        return Section("Grid headroom", (
            text("Not computed for ", bold(base), ": ", room, ". The method needs each zone's "
                 "hourly background load: the shipped zones' shapes, or your own with ",
                 code("abm headroom --load CSV"), " (docs/headroom.md)."),), folded=True)
    share = float(room.share_pct.max())
    first = room.drop_duplicates("zone_id")
    shares = " / ".join(f"{s:g}" for s in sorted(room.share_pct.unique()))
    flat = int((first.peak_hours > room.share_pct.min() / 100 * first.series_hours).sum())
    return Section("Grid headroom", (
        text("The constant new data-centre load each of ", bold(base), "'s zones could host if "
             f"it accepted curtailment of {shares} % of its annual energy in the hours it "
             "would push the zone above its annual peak (the Duke method, Norris et al. 2025), "
             "and how much more if that load could instead relocate to zones within a latency "
             "budget or defer its work some hours (docs/headroom.md; ", code("abm headroom"),
             "). Background load of " + "; of ".join(load_sources(room)) + ". "
             f"{flat} of {len(first)} zones hold their peak more hours than the smallest "
             "share allows, and so have no headroom at it. Relocation counts each zone's "
             "neighbours' whole room, for each zone alone. Every number: ",
             code(f"{fig_dir}/headroom.csv"), "."),
        fig("headroom", headroom_variants_figure(room, f"{base}: headroom under the annual "
                                                 "peak"), "grid headroom"),
        text(f"At {share:g} % of the new load's energy curtailed (MW):"),
        Table.from_frame(variants_table(room, share).rename_axis("zone"), lambda v: f"{v:,.0f}",
                         index=True)), folded=True)


def _heat_maps(zones: pd.DataFrame, labels: list[str], seeds: int
               ) -> list[tuple[MplFigure, pd.DataFrame]]:
    """Heat maps scenario x zone of the changes in data-centre energy, price and average
    carbon (means over seeds; a number where the seeds' range excludes zero)."""
    g = zones[zones.scenario.isin(labels)].groupby(["scenario", "zone"], sort=False)
    energy = g.change_dc_energy_mwh.mean().unstack().loc[labels]
    order = energy.abs().max().sort_values(ascending=False, kind="stable").index[:HEAT_ZONES]
    out = []
    for col, title in (("change_dc_energy_mwh", "change in data-centre grid energy (MWh)"),
                       ("change_price_usd_per_mwh", "change in mean price ($/MWh)"),
                       ("change_avg_carbon_g_per_kwh",
                        "change in mean average carbon (g/kWh)")):
        mean = g[col].mean().unstack().loc[labels, order]
        lo = g[col].min().unstack().loc[labels, order]
        hi = g[col].max().unstack().loc[labels, order]
        shown = (lo > 0) | (hi < 0) if seeds > 1 else mean.notna()
        out.append((comparison.heatmap_figure(mean, shown, title), mean))
    return out


def _file_names(labels: list[str]) -> dict[str, str]:
    """Each scenario's part of its figures' file names: its name with only [A-Za-z0-9_-] kept,
    numbered when two names would give the same file."""
    slugs = [re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-")[:60] or "scenario"
             for label in labels]
    if len(set(slugs)) < len(slugs):
        slugs = [f"{i}-{slug}" for i, slug in enumerate(slugs)]
    return dict(zip(labels, slugs, strict=True))
