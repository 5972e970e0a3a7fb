"""Findings in plain language, generated from a report's numbers (docs/reproduce.md).

A report opens with them, so that a reader who never opens the tables leaves with the right
picture: which levers move cost, emissions (each basis) and unserved demand most, the
trade-offs between them, scenarios whose results are identical to another's, each scenario
against the scenario it extends, the price of decentralisation, and the caveats that matter
(which inputs are assumptions, how long and how many runs).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from abm.config.scenario import extends_chain
from abm.report.document import Text, bold, text
from abm.report.results import Run

OUTCOMES = (  # column of report.numbers, how a reader calls it
    ("cost_usd", "cost"),
    ("emissions_system_kg", "system emissions"),
    ("emissions_average_kg", "emissions attributed on average intensity"),
    ("emissions_marginal_kg", "emissions attributed on marginal intensity"),
)
SAME_REL = 1e-9  # results this close (relative) on every headline number are the same


def _money(usd: float) -> str:
    size = abs(usd)
    text = (f"{size / 1e6:,.2f} M" if size >= 1e6 else f"{size / 1e3:,.1f} k" if size >= 1e4
            else f"{size:,.0f}")
    return f"{'-' if usd < 0 else '+'}${text}"


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:+.1f}%"


def identical(table: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs of scenarios (earlier, later in the table's order) whose headline numbers
    (``report.numbers``) agree within ``SAME_REL``."""
    cols = [c for c in table.columns if not c.startswith("change_")]
    values = table[cols].to_numpy(float)
    pairs = []
    for i in range(len(table)):
        for j in range(i + 1, len(table)):
            a, b = values[i], values[j]
            if np.allclose(a, b, rtol=SAME_REL, atol=1e-9, equal_nan=True):
                pairs.append((table.index[i], table.index[j]))
    return pairs


def parents(runs: list[Run], baseline: Run) -> dict[str, str]:
    """For each scenario whose file extends (directly or not) another scenario in the report
    that is not the baseline: the nearest such one, by label."""
    by_file = {}
    for r in runs:
        source = Path(r.scenario.source)
        if source.is_file():
            by_file.setdefault(source.resolve(), r)
    out = {}
    for r in runs:
        source = Path(r.scenario.source)
        if r is baseline or not source.is_file():
            continue
        for ancestor in extends_chain(source):
            parent = by_file.get(ancestor)
            if parent is not None and parent is not baseline and parent is not r:
                out[r.label] = parent.label
                break
    return out


def _intensity(table: pd.DataFrame, col: str) -> pd.Series:
    """``col`` per MWh of demand, relative to the baseline (first row), in %."""
    per = table[col] / table.demand_mwh
    return 100 * (per / per.iloc[0] - 1)


def findings(table: pd.DataFrame, runs: list[Run], baseline: Run,
             gaps: dict[str, pd.DataFrame] | None = None) -> list[Text]:
    """The report's findings, one sentence or two each (scenario names in bold).

    Args:
        table: ``report.headline_numbers`` of the runs (the baseline first).
        runs: the runs, the baseline first.
        baseline: the baseline run.
        gaps: per scenario label, ``decentralisation.price_of_decentralisation`` (optional).
    """
    out: list[Text] = []
    others = table.iloc[1:]
    base = table.iloc[0]
    demand_differs = (others.demand_mwh / base.demand_mwh - 1).abs() > 0.01
    if len(others):
        for col, name in OUTCOMES:
            change = _intensity(table, col).iloc[1:]
            order = change.abs().sort_values(ascending=False, kind="stable").index
            moves = [s for s in order[:3] if abs(change[s]) >= 0.05]
            if moves:
                per = " per MWh of demand" if demand_differs.any() else ""
                out.append(text(f"Largest changes in {name}{per} against the baseline: ",
                                _listing([text(bold(s), f" {_pct(change[s])}") for s in moves]),
                                "."))
            else:
                out.append(text(f"No scenario moves {name} by as much as 0.05% against the "
                                "baseline."))
        unserved = others.unserved_mwh - base.unserved_mwh
        if (unserved.abs() > 0.5).any():
            worst = unserved.abs().idxmax()
            out.append(text("Unserved demand moves most in ", bold(worst),
                            f": {unserved[worst]:+,.0f} MWh against the baseline's "
                            f"{base.unserved_mwh:,.0f} MWh."))
        else:
            out.append(text("Unserved demand is the same in every scenario (within 0.5 MWh): "
                            f"{base.unserved_mwh:,.0f} MWh in the baseline."))
        if demand_differs.any():
            out.append(text("Demand differs in ",
                            _listing([text(bold(s)) for s in others.index[demand_differs]]),
                            ", so changes are compared per MWh of demand; their totals are in "
                            "the headline table."))
        out += _trade_offs(table)
    for a, b in identical(table):
        out.append(text(bold(b), " gives exactly the same results as ", bold(a),
                        " over these hours: its lever does not bite here (a longer run, more "
                        "demand or a tighter setting may change that)."))
    for child, parent in parents(runs, baseline).items():
        c, p = table.loc[child], table.loc[parent]
        out.append(text(
            bold(child), " against ", bold(parent), ", the scenario it extends: cost "
            f"{_pct(100 * (c.cost_usd / p.cost_usd - 1))}, system emissions "
            f"{_pct(100 * (c.emissions_system_kg / p.emissions_system_kg - 1))}, unserved "
            f"{c.unserved_mwh - p.unserved_mwh:+,.0f} MWh, served away from the origin "
            f"{100 * (c.relocated_share - p.relocated_share):+.1f} pp."))
    if gaps:
        out += _decentralisation(gaps)
    return out


def _listing(items: list[Text]) -> Text:
    """``items`` joined with commas."""
    out = text()
    for i, item in enumerate(items):
        out += text(", " if i else "", item)
    return out


def _trade_offs(table: pd.DataFrame) -> list[Text]:
    """Scenarios that cut system emissions at a cost (with the cost per tonne avoided), that
    cut cost but emit more, and where the accounting bases disagree."""
    base = table.iloc[0]
    out: list[Text] = []
    for label, row in table.iloc[1:].iterrows():
        scale = base.demand_mwh / row.demand_mwh  # compare at the baseline's demand
        d_cost = row.cost_usd * scale - base.cost_usd
        d_sys = (row.emissions_system_kg * scale - base.emissions_system_kg) / 1e3  # t
        d_avg = row.emissions_average_kg * scale - base.emissions_average_kg
        if d_sys < -1e-6 and d_cost > 0:
            out.append(text("Trade-off in ", bold(label), f": system emissions fall by "
                            f"{-d_sys:,.0f} t for {_money(d_cost)[1:]} more, about "
                            f"${d_cost / -d_sys:,.0f} per tonne avoided (operators' cost, "
                            "carbon payments included: a transfer, not all of it a cost to "
                            "society)."))
        elif d_sys > 1e-6 and d_cost < 0:
            out.append(text("Trade-off in ", bold(label), f": cost falls by "
                            f"{_money(d_cost)[1:]} but system emissions rise by {d_sys:,.0f} t."))
        if d_avg * d_sys < 0 and abs(d_avg) > 1e-3 * base.emissions_average_kg:
            out.append(text("The bases disagree in ", bold(label), ": emissions attributed on "
                            f"average intensity {'fall' if d_avg < 0 else 'rise'} "
                            f"({_pct(100 * d_avg / base.emissions_average_kg)}) while the grid's "
                            f"system emissions {'fall' if d_sys < 0 else 'rise'}: average-based "
                            "reporting would mislead here."))
    return out


def _decentralisation(gaps: dict[str, pd.DataFrame]) -> list[Text]:
    cost = {s: g.loc["cost_usd"] for s, g in gaps.items()}
    worst = max(cost, key=lambda s: cost[s].gap_pct)
    best = min(cost, key=lambda s: cost[s].gap_pct)
    out = text(f"The price of decentralisation: the market costs {_pct(cost[worst].gap_pct)} "
               f"({_money(cost[worst].gap)}) against the planner's joint optimum for the same "
               "hours and demand in ", bold(worst))
    if best != worst:
        out += text(f", {_pct(cost[best].gap_pct)} in ", bold(best))
    sys_gap = {s: g.loc["emissions_system_kg", "gap_pct"] for s, g in gaps.items()}
    out += text("; system emissions differ from the planner's by ",
                _listing([text(f"{_pct(v)} ({s})") for s, v in sys_gap.items()]), ".")
    more = {s: g.loc["unserved_mwh", "gap"] for s, g in gaps.items()
            if g.loc["unserved_mwh", "gap"] > 0.5}
    if more:
        out += text(" The planner serves more demand in ",
                    _listing([text(bold(s), f" ({v:,.0f} MWh)") for s, v in more.items()]),
                    ": there its cost includes demand the market leaves unserved, so a "
                    "negative cost gap is no saving.")
    return [out]


def caveats(runs: list[Run]) -> list[str]:
    """The caveats that matter for these runs: assumed inputs in use, horizon, seeds."""
    out = []
    for r in runs[:1]:
        scn = r.scenario
        regions = sorted({f for g in scn.regions for f in g.assumed})
        zones = sorted({f for z in scn.zones for f in z.assumed})
        n_regions = sum(bool(g.assumed) for g in scn.regions)
        n_zones = sum(bool(z.assumed) for z in scn.zones)
        out.append(f"Assumptions, not sourced figures: {', '.join(regions) or 'none'} of "
                   f"{n_regions} of {len(scn.regions)} regions and {', '.join(zones) or 'none'}"
                   f" of {n_zones} of {len(scn.zones)} zones (abm/data/SOURCES.md); operators "
                   "and their demand are illustrative.")
    hours = sorted({int(r.summary["hours"]) for r in runs})
    if hours[0] < 168:
        out.append(f"Short runs ({', '.join(map(str, hours))} h): capacity built after "
                   "decisions (72 h lag by default), learning and weekly patterns do not show; "
                   "run a week or more before drawing conclusions.")
    out.append("One run per scenario with one seed: differences smaller than the spread across "
               "seeds (a sweep with replications, docs/sweeps.md) are not findings.")
    return out
