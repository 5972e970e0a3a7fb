"""Scenario reports: ``abm report`` runs (or reads) scenarios and writes HTML + Markdown.

Each scenario is either a scenario TOML file, run in memory with the market (progress on
stderr), or a folder written by ``abm run`` (``summary.json`` and the Parquet tables; its
``run.json`` names the scenario file). The report compares every scenario with a baseline:
set-up and levers, a headline table, the energy-latency frontier, execution layers, a world
map of demand shifts, zone price and carbon changes, which zones and operators gain or lose,
and data provenance and caveats. The HTML file embeds its figures (one self-contained file);
the Markdown twin links the same figures, written to ``<stem>_figures/`` beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import textwrap
from collections import Counter
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import SymLogNorm
from matplotlib.figure import Figure as MplFigure

from abm.config.scenario import Scenario, load_scenario
from abm.core.frontier import DEFAULT_BUDGETS_MS, frontier
from abm.core.instance import compile_scenario
from abm.core.metrics import LAYERS
from abm.core.signals import mean_signals
from abm.errors import InputError
from abm.files import write_atomic
from abm.market.reporters import COST_PARTS
from abm.report.decentralisation import price_of_decentralisation
from abm.report.document import (
    Bullets,
    Cell,
    Document,
    Figure,
    Section,
    Table,
    bold,
    code,
    plain,
    render_html,
    render_markdown,
    text,
)
from abm.report.figures import busiest_zone, generation_figure, map_figure, subplots
from abm.report.findings import caveats, findings, parents
from abm.report.results import Run, read_run, simulate_scenario, tqdm_progress

LAYER_COLOURS = {"local": "#c6dbef", "regional": "#6baed6", "energy": "#08519c"}


# ---------------------------------------------------------------------------------------------
# Getting results


def run_scenario(path: Path, hours: int | None = None, seed: int | None = None,
                 quiet: bool = False) -> Run:
    """Run a scenario file's market in memory (operator detail on), progress on stderr.

    Args:
        path: the scenario TOML file.
        hours: hourly steps (default: the scenario's).
        seed: the seed (default: the scenario's).
        quiet: no progress bar.
    """
    scn = load_scenario(path).with_market(operator_detail=True)
    return simulate_scenario(scn, hours, seed, tqdm_progress(f"abm report: {scn.name}", quiet))


def get_run(path: str | Path, hours: int | None = None, seed: int | None = None,
            quiet: bool = False) -> Run:
    """A run folder is read; a scenario file is run (see :func:`run_scenario`)."""
    path = Path(path)
    if path.is_dir():
        return read_run(path)
    if not path.is_file():
        raise InputError(path, "", "no such scenario file or run folder")
    return run_scenario(path, hours, seed, quiet)


# ---------------------------------------------------------------------------------------------
# Tables


HEADLINE = (  # label, unit, how to get it from a summary
    ("demand", "MWh", lambda s: s["demand_mwh"]),
    ("served", "MWh", lambda s: s["served_mwh"]),
    ("unserved", "MWh", lambda s: s["unserved_mwh"]),
    ("moved between regions", "MWh", lambda s: s["moved_mwh"]),
    ("herding: load swinging between zones", "MWh", lambda s: s["herding_mwh"]),
    ("cost (energy + carbon + rent + network + migration)", "k$",
     lambda s: s["cost_usd"] / 1e3),
    *((f"  of which {p}", "k$",
       lambda s, p=p: s.get("cost_parts_usd", {}).get(p, np.nan) / 1e3) for p in COST_PARTS),
    ("cost per MWh served", "$/MWh", lambda s: s["cost_usd"] / max(s["served_mwh"], 1e-9)),
    ("zone price paid by data-centre load", "$/MWh", lambda s: s["dc_price_usd_per_mwh"]),
    ("CO2 attributed, average", "t", lambda s: s["emissions_kg"]["average"] / 1e3),
    ("CO2 attributed, marginal", "t", lambda s: s["emissions_kg"]["marginal"] / 1e3),
    ("CO2 system", "t", lambda s: s["emissions_kg"]["system"] / 1e3),
    ("served away from origin", "%", lambda s: 100 * s["relocated_share"]),
    *((f"layer: {k}", "%", lambda s, k=k: 100 * s["layers"][k]) for k in LAYERS),
)


SHARES = ("relocated_share", "layer_local", "layer_regional", "layer_energy")


def numbers(summary: dict) -> dict[str, float]:
    """A run summary flattened to one number per quantity (MWh, $, kg, shares 0-1); the cost
    parts are NaN for runs written before the split was recorded."""
    parts = summary.get("cost_parts_usd", {})
    em = summary["emissions_kg"]
    return {
        **{k: summary[k] for k in ("demand_mwh", "served_mwh", "unserved_mwh", "moved_mwh",
                                   "cost_usd")},
        **{f"cost_{p}_usd": parts.get(p, np.nan) for p in COST_PARTS},
        **{f"emissions_{b}_kg": em[b] for b in ("average", "marginal", "system")},
        "relocation_effect_kg": summary.get("relocation_effect_kg", np.nan),
        "relocated_share": summary["relocated_share"],
        **{f"layer_{k}": summary["layers"][k] for k in LAYERS},
    }


def headline_numbers(runs: list[Run], baseline: Run) -> pd.DataFrame:
    """One row per run (the baseline first), one column per quantity of :func:`numbers`, and
    ``change_<quantity>`` against the baseline: relative in % for totals, percentage points
    for shares."""
    runs = [baseline, *[r for r in runs if r is not baseline]]
    df = pd.DataFrame([numbers(r.summary) for r in runs], index=[r.label for r in runs])
    df.index.name = "scenario"
    base = df.iloc[0]
    for col in list(df.columns):
        if col in SHARES:
            df[f"change_{col}"] = 100 * (df[col] - base[col])
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                df[f"change_{col}"] = np.where(base[col] != 0,
                                               100 * (df[col] - base[col]) / abs(base[col]),
                                               np.nan)
    return df


def headline(runs: list[Run], baseline: Run) -> Table:
    """Rows: metrics; columns: the baseline's value, then each scenario's value with its change
    against the baseline as the cell's note (relative, or percentage points for shares)."""
    others = [r for r in runs if r is not baseline]
    rows = []
    for label, unit, get in HEADLINE:
        base = get(baseline.summary)
        row = [Cell(label), Cell(unit), Cell(plain(base), numeric=True)]
        for r in others:
            v = get(r.summary)
            change = f"{v - base:+,.1f} pp" if unit == "%" else _relative(v, base)
            row.append(Cell(plain(v), change, numeric=True))
        rows.append(row)
    return Table.of(["metric", "unit", baseline.label, *[r.label for r in others]], rows)


def _relative(value: float, base: float) -> str:
    if abs(base) < 1e-9:
        return "n/a" if abs(value) < 1e-9 else f"{value:+,.1f}"
    return f"{100 * (value - base) / abs(base):+.1f}%"


def setup_table(runs: list[Run], baseline: Run) -> pd.DataFrame:
    """One row per scenario: horizon, size, and every policy or market setting, zone and region
    figure that differs from the baseline (the levers)."""
    rows = []
    for r in runs:
        scn = r.scenario
        rows.append({
            "scenario": r.label,
            "source": r.origin,
            "start (UTC)": f"{scn.start:%Y-%m-%d %H:%M}",
            "hours": r.summary["hours"],
            "seed": r.summary["seed"],
            "operators": r.summary["operators"],
            "demand (MW, mean)": _mean_mw(r),
            "levers vs baseline": "baseline" if r is baseline else "; ".join(
                _differences(baseline, r)) or "none",
        })
    return pd.DataFrame(rows)


def _mean_mw(r: Run) -> float:
    return r.summary["demand_mwh"] / max(r.summary["hours"], 1)


def _differences(base_run: Run, run: Run, limit: int = 8) -> list[str]:
    base, scn = base_run.scenario, run.scenario
    out = []
    if abs(_mean_mw(run) - _mean_mw(base_run)) > 1e-6 * _mean_mw(base_run):
        out.append(f"demand {_mean_mw(base_run):,.0f} -> {_mean_mw(run):,.0f} MW (mean)")
    for section in ("policy", "market", "grid", "population"):
        a, b = getattr(base, section), getattr(scn, section)
        if a is None or b is None:
            continue
        out += [f"{section}.{f.name} = {_short(getattr(b, f.name))}" for f in fields(a)
                if f.name != "operator_detail" and getattr(a, f.name) != getattr(b, f.name)]
    listed = [sorted(Counter(o.strategy for o in s.operators).items()) for s in (base, scn)]
    if listed[0] != listed[1]:
        out.append("listed operators' strategies " + ", ".join(f"{n} {c}" for n, c in listed[1]))
    zones = {z.id: z for z in base.zones}
    for z in scn.zones:
        if z.id in zones and z != zones[z.id]:
            changed = [f.name for f in fields(z) if f.name not in ("assumed", "overridden")
                       and getattr(z, f.name) != getattr(zones[z.id], f.name)]
            out += [f"{z.id} {c.removesuffix('_kg_per_mwh')} {_short(getattr(zones[z.id], c))} "
                    f"-> {_short(getattr(z, c))}" for c in changed]
    regions = {g.id: g for g in base.regions}
    out += [f"region {g.id} changed" for g in scn.regions if g.id in regions and g != regions[g.id]]
    if len(out) > limit:
        out = [*out[:limit], f"... and {len(out) - limit} more"]
    return out


def _short(value: object) -> str:
    if isinstance(value, tuple) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value) + "}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def zone_changes(runs: list[Run], baseline: Run) -> pd.DataFrame:
    """Per zone and scenario: data-centre grid energy (MWh), mean price ($/MWh), mean average
    and marginal carbon (g/kWh), and their changes against the baseline."""
    def means(r: Run) -> pd.DataFrame:
        z = r.tables["zones"]
        return z.groupby("zone").agg(
            dc_energy_mwh=("dc_load_mw", "sum"), price_usd_per_mwh=("price_usd_per_mwh", "mean"),
            avg_carbon_g_per_kwh=("avg_carbon_kg_per_mwh", "mean"),
            marginal_carbon_g_per_kwh=("marginal_carbon_kg_per_mwh", "mean"))

    base = means(baseline)
    parts = []
    for r in runs:
        m = means(r)
        delta = (m - base).add_prefix("change_")
        parts.append(pd.concat([m, delta], axis=1).assign(scenario=r.label).reset_index())
    return pd.concat(parts, ignore_index=True)


def operator_changes(runs: list[Run], baseline: Run) -> pd.DataFrame | None:
    """Per operator and scenario: served and unserved MWh, cost per MWh served and its change
    against the baseline; None when a run has no operator table."""
    if any("operators" not in r.tables or "cost_usd" not in r.tables["operators"]
           for r in runs):
        return None

    def totals(r: Run) -> pd.DataFrame:
        t = r.tables["operators"].groupby("operator")[
            ["served_mw", "unserved_mw", "moved_mw", "cost_usd"]].sum()
        t["cost_usd_per_mwh"] = t.cost_usd / t.served_mw.where(t.served_mw > 0)
        return t.rename(columns={"served_mw": "served_mwh", "unserved_mw": "unserved_mwh",
                                 "moved_mw": "moved_mwh"})

    base = totals(baseline)
    parts = []
    for r in runs:
        t = totals(r)
        t["change_cost_usd_per_mwh"] = t.cost_usd_per_mwh - base.cost_usd_per_mwh
        t["change_unserved_mwh"] = t.unserved_mwh - base.unserved_mwh
        parts.append(t.assign(scenario=r.label).reset_index())
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Figures (each returns PNG bytes)


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def frontier_figure(fronts: dict[str, pd.DataFrame]) -> bytes:
    """Cost C*(B) and least emissions E*(B) per MWh against the latency budget, per scenario."""
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11, 4.4))
    ends: dict = {ax1: [], ax2: []}
    for i, (label, df) in enumerate(fronts.items()):
        style = {"marker": MARKERS[i % len(MARKERS)], "linestyle": LINESTYLES[i % 4],
                 "ms": 5, "mfc": "none", "lw": 1.3, "label": label,
                 "color": f"C{i % 10}", "zorder": 3 + len(fronts) - i}
        cost = df.cost_usd / (df.demand_mwh - df.unserved_mwh)
        least = df.emissions_kg / (df.demand_mwh - df.min_emissions_unserved_mwh)
        for ax, y in ((ax1, cost), (ax2, least)):
            ax.plot(df.budget_ms, y, **style)
            ends[ax].append((float(y.iloc[-1]), label, f"C{i % 10}"))
    ax1.set_ylabel("cost C* ($ per MWh served)")
    ax2.set_ylabel("least emissions E* (kgCO2 per MWh served)")
    for ax in (ax1, ax2):
        ax.set_xlabel("latency budget B (ms, round trip), every class")
        ax.grid(alpha=0.3)
        _direct_labels(ax, ends[ax], float(max(df.budget_ms.max() for df in fronts.values())))
    ax1.legend(fontsize=7, ncol=2)
    fig.suptitle("energy-latency frontier (planner, annual-mean signals, frictions amortised)")
    return _png(fig)


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
LINESTYLES = ("-", "--", "-.", ":")


def _direct_labels(ax, ends: list[tuple[float, str, str]], x: float) -> None:
    """Label each line at its right end, spread vertically so that labels of lines that end
    at the same value (overlapping lines) do not cover each other; lines ending at the same
    value share one label, wrapped so that a long one never squeezes the axes."""
    groups: dict[float, list[tuple[str, str]]] = {}
    for y, label, colour in ends:
        key = next((k for k in groups if abs(k - y) <= 1e-9 * max(1.0, abs(y))), y)
        groups.setdefault(key, []).append((label, colour))
    lo, hi = ax.get_ylim()
    gap = 0.055 * (hi - lo)
    placed: list[float] = []
    for y in sorted(groups):
        pos = max([y, *[p + gap for p in placed]])
        placed.append(pos)
        labels = groups[y]
        text = textwrap.fill(" = ".join(lbl for lbl, _ in labels), 40, break_on_hyphens=False)
        ax.annotate(text, (x, y), xytext=(1.04 * x, pos),
                    textcoords="data", fontsize=6.5, color=labels[0][1], va="center",
                    ha="left", annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5})
    ax.set_xlim(right=x * 1.32)


def layers_figure(runs: list[Run]) -> bytes:
    """Stacked shares of served MWh by execution layer, per scenario."""
    fig, ax = subplots(figsize=(11, 0.45 * len(runs) + 1.4))
    labels = [r.label for r in runs][::-1]
    left = np.zeros(len(runs))
    for k in LAYERS:
        v = np.array([r.summary["layers"][k] for r in runs][::-1])
        ax.barh(labels, v, left=left, color=LAYER_COLOURS[k], label=k, edgecolor="white")
        for y, (x0, w) in enumerate(zip(left, v, strict=True)):
            if w > 0.04:
                ax.text(x0 + w / 2, y, f"{w:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if k == "energy" else "black")
        left += v
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of served MWh")
    ax.legend(ncol=3, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return _png(fig)


def generation_png(run: Run, zone: str) -> bytes:
    """One run's generation in ``zone`` by technology and its marginal technology (PNG)."""
    fig = generation_figure(run.tables["zones"], zone, f"{run.label}: generation in {zone}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def zone_heatmap(zones: pd.DataFrame, labels: list[str]) -> bytes:
    """Heatmaps zone x scenario of the changes in data-centre energy, price and average carbon."""
    cols = (("change_dc_energy_mwh", "data-centre energy (MWh)"),
            ("change_price_usd_per_mwh", "mean price ($/MWh)"),
            ("change_avg_carbon_g_per_kwh", "mean average carbon (g/kWh)"))
    order = sorted(zones.zone.unique())
    fig, axes = subplots(1, 3, figsize=(12, 0.3 * len(order) + 2))
    for ax, (col, title) in zip(axes, cols, strict=True):
        grid = zones.pivot(index="zone", columns="scenario", values=col).loc[order, labels]
        lim = max(float(np.nanmax(np.abs(grid.to_numpy()))), 1e-9)
        norm = SymLogNorm(linthresh=lim / 100, vmin=-lim, vmax=lim)
        im = ax.imshow(grid.to_numpy(), cmap="RdBu_r", norm=norm, aspect="auto")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(order)), order, fontsize=7)
        for (i, j), v in np.ndenumerate(grid.to_numpy()):
            if abs(v) >= 0.01 * lim:
                ax.text(j, i, f"{v:+.0f}" if abs(v) >= 10 else f"{v:+.1f}", ha="center",
                        va="center", fontsize=5.5)
        ax.set_title(f"change in {title}", fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.6)
    return _png(fig)


# ---------------------------------------------------------------------------------------------
# Writing


CAVEATS = (
    "A stylised model, not a forecast: demand, capacity and zone loads are illustrative "
    "assumptions (docs/scenarios.md, abm/data/SOURCES.md).",
    "Marginal carbon is an assumed technology factor per zone for every zone but US-CAISO; "
    "system emissions come from a merit-order stack calibrated to the zone's mean price and "
    "average carbon (docs/market.md), so they are only as good as that calibration.",
    "Each scenario is one run with one seed; operators drawn from [population] are the same "
    "across scenarios only while the population settings and seed are the same.",
    "Hourly prices and average carbon follow 2024 month x hour profiles; marginal carbon has "
    "no hourly profile.",
    "Costs exclude the value of lost load; unserved MWh are reported on their own row.",
    "RTTs between regions are measured Azure P95 values where available, else a distance "
    "model (7 + d_km / 59 ms).",
)


def decentralisation_table(gaps: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per scenario: cost, system, average and marginal emissions and unserved MWh of
    the market and the planner, with the gap in % (and in $ for cost)."""
    rows = []
    for label, g in gaps.items():
        cost, system = g.loc["cost_usd"], g.loc["emissions_system_kg"]
        rows.append({
            "scenario": label,
            "cost, market (k$)": cost.market / 1e3, "cost, planner (k$)": cost.planner / 1e3,
            "gap (k$)": f"{cost.gap / 1e3:+,.1f}", "gap (%)": f"{cost.gap_pct:+.2f}%",
            "CO2 system, market (t)": system.market / 1e3,
            "CO2 system, planner (t)": system.planner / 1e3,
            "gap system (%)": f"{system.gap_pct:+.2f}%",
            "gap average (%)": f"{g.loc['emissions_average_kg', 'gap_pct']:+.2f}%",
            "gap marginal (%)": f"{g.loc['emissions_marginal_kg', 'gap_pct']:+.2f}%",
            "unserved, market / planner (MWh)":
                f"{g.loc['unserved_mwh', 'market']:,.1f} / {g.loc['unserved_mwh', 'planner']:,.1f}",
        })
    return pd.DataFrame(rows)


def grid_results(runs: list[Run], baseline: Run, top: int = 5) -> list[pd.DataFrame]:
    """The marginal technology of the baseline's ``top`` zones by data-centre energy (most
    frequent, with its share of hours) and every interconnector's mean flow and congested
    hours, one column per scenario; empty for runs without the technology market's tables."""
    if any("marginal_technology" not in r.tables.get("zones", pd.DataFrame()) for r in runs):
        return []
    zones = (baseline.tables["zones"].groupby("zone").dc_load_mw.sum()
             .sort_values(ascending=False).index[:top])
    margin = pd.DataFrame({"zone": zones})
    for r in runs:
        z = r.tables["zones"]
        cells = []
        for zone in zones:
            counts = z[z.zone == zone].marginal_technology.value_counts(normalize=True)
            cells.append(f"{counts.index[0]} {counts.iloc[0]:.0%}" if len(counts) else "–")
        margin[r.label] = cells
    out = [margin]
    if all(len(r.tables.get("lines", ())) for r in runs):
        lines = None
        for r in runs:
            g = r.tables["lines"].groupby("line").agg(flow=("flow_mw", "mean"),
                                                      congested=("congested", "sum"))
            col = g.apply(lambda row: f"{row.flow:+,.0f} MW, {row.congested:.0f} h", axis=1)
            lines = (col.rename(r.label).to_frame() if lines is None
                     else lines.join(col.rename(r.label)))
        out.append(lines.rename_axis("interconnector").reset_index())
    return out


def _gains(zones: pd.DataFrame, ops: pd.DataFrame | None, label: str) -> pd.DataFrame:
    """Top gainers and losers of one scenario: zones by data-centre energy, operators by cost."""
    z = zones[zones.scenario == label].sort_values("change_dc_energy_mwh")
    rows = [{"who": f"zone {r.zone}", "change": f"{r.change_dc_energy_mwh:+,.0f} MWh",
             "also": f"price {r.change_price_usd_per_mwh:+.2f} $/MWh"}
            for r in pd.concat([z.tail(2).iloc[::-1], z.head(2)]).itertuples()
            if abs(r.change_dc_energy_mwh) > 0.5]
    if ops is not None:
        o = ops[ops.scenario == label].dropna(subset=["change_cost_usd_per_mwh"])
        o = o.sort_values("change_cost_usd_per_mwh")
        rows += [{"who": f"operator {r.operator}",
                  "change": f"{r.change_cost_usd_per_mwh:+.2f} $/MWh served",
                  "also": f"unserved {r.change_unserved_mwh:+,.1f} MWh"}
                 for r in pd.concat([o.head(2), o.tail(2).iloc[::-1]]).itertuples()
                 if abs(r.change_cost_usd_per_mwh) > 0.005]
    return pd.DataFrame(rows, columns=["who", "change", "also"])


def _assumed(scn: Scenario) -> str:
    regions = sorted({f for g in scn.regions for f in g.assumed})
    zones = sorted({f for z in scn.zones for f in z.assumed})
    return (f"Assumed (not sourced) figures in these scenarios: region fields {', '.join(regions)}"
            f"; zone fields {', '.join(zones)}.")


def write_report(runs: list[Run], baseline: Run, out: Path,
                 budgets_ms=DEFAULT_BUDGETS_MS, command: str = "", zone: str | None = None
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
    """
    runs = [baseline, *[r for r in runs if r is not baseline]]
    zone_ids = [z.id for z in baseline.scenario.zones]
    if zone is not None and zone not in zone_ids:
        raise InputError("--zone", "zone", f"unknown zone {zone!r}; the baseline's zones: "
                         + ", ".join(zone_ids))
    zone = zone or busiest_zone(baseline.tables["zones"])
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise InputError("abm report", "scenarios",
                         f"two scenarios share a name ({labels}); give each [scenario] name "
                         "its own value")
    fronts = {}
    for r in runs:
        inst = compile_scenario(r.scenario)
        fronts[r.label] = frontier(inst, mean_signals(r.scenario), budgets_ms)
    zones = zone_changes(runs, baseline)
    ops = operator_changes(runs, baseline)
    slugs = _file_names(labels)
    figures: dict[str, bytes] = {
        "frontier": frontier_figure(fronts),
        "layers": layers_figure(runs),
        **{f"map_{slugs[r.label]}": _png(map_figure(r, baseline)) for r in runs},
        **{f"generation_{slugs[r.label]}": generation_png(r, zone) for r in runs
           if "marginal_technology" in r.tables["zones"]},
    }
    if len(runs) > 1:
        figures["zones"] = zone_heatmap(zones[zones.scenario != baseline.label], labels[1:])
    fig_dir = out.with_name(out.stem + "_figures")
    fig_dir.mkdir(parents=True, exist_ok=True)
    for name, png in figures.items():
        (fig_dir / f"{name}.png").write_bytes(png)
    zones.to_csv(fig_dir / "zone_changes.csv", index=False)
    if ops is not None:
        ops.to_csv(fig_dir / "operator_changes.csv", index=False)

    numbers_table = headline_numbers(runs, baseline)
    gaps = {r.label: price_of_decentralisation(r) for r in runs}
    parent = parents(runs, baseline)

    def fig(name: str) -> Figure:
        return Figure(name, figures[name], name.replace("_", " "))

    sections = [Section("Findings", (
        text("Generated from the numbers below: what moves cost, emissions on each basis and "
             "unserved demand most, the trade-offs, and the caveats that matter."),
        Bullets((*findings(numbers_table, runs, baseline, gaps),
                 *[text(c) for c in caveats(runs)]))))]
    sections.append(Section("Set-up and assumptions", (
        text("Baseline: ", bold(baseline.label), ". Every scenario is the market of "
             "docs/market.md: operators place their inference load hour by hour by their "
             "strategies (their own placement LPs unless the scenario sets another, "
             "docs/market.md), compute regions answer with rent and capacity, grid zones with "
             "price and carbon. The levers column lists every setting that differs from the "
             "baseline."),
        Table.from_frame(setup_table(runs, baseline)))))
    sections.append(Section("Headline results against the baseline", (
        text("Totals over each run; under each value the change against the baseline "
             "(percentage points, pp, for shares). Cost is what operators pay, split into its "
             "parts: energy (electricity at the zone price x PUE), carbon (the carbon price, "
             "the policy's and operators' own, on the placement signal), compute rent, network "
             "(egress and the latency penalty) and migration (one-off friction of moves); the "
             "value of lost load is not in it (unserved MWh have their own row). CO2 is given "
             "on three bases: attributed with average intensity (location-based reporting), "
             "attributed with marginal intensity, and system emissions, the change in the "
             "grid's emissions that the data-centre load causes."),
        headline(runs, baseline))))
    for child, par in parent.items():
        pair = [r for r in runs if r.label == par] + [r for r in runs if r.label == child]
        sections.append(Section(f"{child} against {par}, the scenario it extends", (
            text(bold(child), " extends ", bold(par), ": against it, its own lever shows alone "
                 "(against the baseline, the parent's levers add to it). Under each value the "
                 f"change against {par}."), headline(pair, pair[0]))))
    sections.append(Section("The price of decentralisation", (
        text("Each scenario's market (operators deciding for themselves, capacity first come, "
             "first served) beside the planner's joint optimum for the same hours, demand, zone "
             "prices, rent and capacity: one placement LP over all operators each hour, myopic "
             "like the operators (friction amortised over the holding horizon), knowing the "
             "hour's prices (no forecast error) and taking them as given; its system emissions "
             "come from clearing the grid with its load. The gap is market minus planner: what "
             "decentralised decisions cost (docs/market.md)."),
        Table.from_frame(decentralisation_table(gaps)))))
    grid_tables = grid_results(runs, baseline)
    if grid_tables:
        sections.append(Section("Grid results: marginal technology and interconnectors", (
            text("The technology on the margin in the zones with the most data-centre load "
                 "(share of hours; what an extra MWh there burns), and every interconnector's "
                 "mean flow (MW, + in the line's direction) with the hours it was congested."),
            *[Table.from_frame(t) for t in grid_tables])))
    sections.append(Section("Energy-latency frontier", (
        text("The planner's optimum at annual-mean signals as every class's latency budget is "
             "relaxed: cost C*(B) and least emissions E*(B), per MWh served (demand that no "
             "reachable capacity can serve is left out and counted in the frontier's unserved "
             "MWh). How much a scenario's levers move the frontier is the value they unlock by "
             "relaxing latency. Lines that coincide share a label at their right end."),
        fig("frontier"))))
    sections.append(Section("Execution layers", (
        text("Share of served MWh at the origin region (local), within "
             f"{baseline.scenario.regional_rtt_ms:g} ms of it (regional) or beyond "
             "(energy-oriented)."), fig("layers"))))
    sections.append(Section("Where demand moved", (
        text("Arrows: the largest flows of served MWh from a workload's origin grid zone to "
             "the zone where it ran (width by MWh). Circles: the baseline's data-centre grid "
             "energy per zone, and for the other scenarios its change against the baseline. "
             "Straight lines: interconnectors, width by the mean power flow, head pointing the "
             "way it flowed, red where the line was congested (the more hours, the darker)."),
        *[fig(f"map_{slugs[label]}") for label in labels])))
    shown = [label for label in labels if f"generation_{slugs[label]}" in figures]
    if shown:
        sections.append(Section(f"Generation in {zone}", (
            text(f"Generation in {zone} by technology hour by hour (stacked), its load "
                 "(generation plus net imports over interconnectors, black) and the technology "
                 "on the margin in every hour (strip below): what the data-centre load met. "
                 "Another zone: ", code("abm report ... --zone ZONE"), "."),
            *[fig(f"generation_{slugs[label]}") for label in shown])))
    if len(runs) > 1:
        sections.append(Section("Zone prices and carbon", (
            text("Changes against the baseline in each zone's data-centre grid energy (MWh "
                 "over the run), mean clearing price and mean average carbon intensity (colour "
                 "on a symmetric log scale, so that small changes show beside large ones). "
                 "Every zone and value: ", code(f"{fig_dir.name}/zone_changes.csv"), "."),
            fig("zones"))))
        gains = []
        for label in labels[1:]:
            g = _gains(zones, ops, label)
            gains.append(g.assign(scenario=label)[["scenario", *g.columns]])
        note = ("" if ops is not None else " Operator results need per-operator tables: run "
                "the scenario files themselves, or runs made with market.operator_detail = "
                "true.")
        sections.append(Section("Who gains and who loses", (
            text("Per scenario, the two zones that gain and the two that lose the most "
                 "data-centre energy, and the two operators whose cost per MWh served falls and "
                 "the two whose cost rises the most, against the baseline (all: ",
                 code(f"{fig_dir.name}/zone_changes.csv"), " and ",
                 code("operator_changes.csv"), ")." + note),
            Table.from_frame(pd.concat(gains, ignore_index=True)))))
    sections.append(Section("Data provenance and caveats", (
        text("Regions, zones, RTTs and hourly profiles come from abm/data (sources, licences "
             "and every assumption in abm/data/SOURCES.md; month x hour profiles derived from "
             "Electricity Maps data, ODbL, via HewlettPackard/green-dcc). Country outlines: "
             "Natural Earth (public domain). " + _assumed(baseline.scenario)),
        Bullets(tuple(text(c) for c in [*CAVEATS, *[r.warning for r in runs if r.warning]])))))

    title = (f"Scenario report: {', '.join(labels[1:])} against {baseline.label}"
             if 1 < len(runs) <= 4 else
             f"Scenario report: {len(runs) - 1} scenarios against {baseline.label}"
             if len(runs) > 4 else f"Scenario report: {baseline.label}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = text(f"Made {stamp} by GeoInference ABM",
                 *((" with ", code(command)) if command else ()),
                 ". Where each scenario comes from is in the set-up table.")
    doc = Document(title, intro, tuple(sections))
    md_path = out.with_suffix(".md")
    markdown, page = render_markdown(doc, fig_dir.name), render_html(doc)
    write_atomic(md_path, lambda p: p.write_text(markdown))  # the HTML last: it is the report
    write_atomic(out, lambda p: p.write_text(page))
    return out, md_path


def _file_names(labels: list[str]) -> dict[str, str]:
    """Each scenario's part of its figures' file names: its name with only [A-Za-z0-9_-] kept,
    numbered when two names would give the same file."""
    slugs = [re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-")[:60] or "scenario"
             for label in labels]
    if len(set(slugs)) < len(slugs):
        slugs = [f"{i}-{slug}" for i, slug in enumerate(slugs)]
    return dict(zip(labels, slugs, strict=True))


# ---------------------------------------------------------------------------------------------
# The command


def cmd_report(args: argparse.Namespace) -> int:
    """Run or read the scenarios and write the HTML report and its Markdown twin."""
    paths = [Path(p) for p in args.scenarios]
    baseline_path = Path(args.baseline) if args.baseline else paths[0]
    order = [baseline_path, *[p for p in paths if p.resolve() != baseline_path.resolve()]]
    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm") or out.is_dir():
        raise InputError(out, "", "--out must name an .html file (the Markdown twin is "
                         "written beside it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = [get_run(p, args.hours, args.seed, args.quiet) for p in order]
    command = "abm report " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
    html_path, md_path = write_report(runs, runs[0], out, args.budgets or DEFAULT_BUDGETS_MS,
                                       command, zone=args.zone)
    print(f"wrote {html_path}, {md_path} and {html_path.stem}_figures/")
    return 0
