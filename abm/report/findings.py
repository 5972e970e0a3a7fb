"""Findings in plain language, generated from a report's numbers (docs/reproduce.md).

A report opens with them, so that a reader who never opens the tables leaves with the right
picture: which levers move cost, emissions (each basis) and unserved demand most, the
trade-offs between them, scenarios whose results are identical to another's, each scenario
against the scenario it extends, the price of decentralisation, and the caveats that matter
(which inputs are assumptions, how long and how many runs).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from abm.config.scenario import extends_chain
from abm.data.dataset import Region, Zone
from abm.report.document import Text, bold, text
from abm.report.results import Run

OUTCOMES = (  # column of report.numbers, how a reader calls it, whether it is per MWh already
    ("cost_usd_per_mwh", "cost per MWh of demand (unserved MWh at VoLL)", True),
    ("emissions_system_kg", "system emissions", False),
    ("emissions_average_kg", "emissions attributed on average intensity", False),
    ("emissions_marginal_kg", "emissions attributed on marginal intensity", False),
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
    cols = [c for c in table.columns if not c.endswith(("_change_pct", "_change_pp"))]
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


def _intensity(table: pd.DataFrame, col: str, per_mwh: bool = False,
               reps: pd.DataFrame | None = None) -> pd.Series:
    """``col`` per MWh of demand (as it is if ``per_mwh``), relative to the baseline (first
    row), in %: with the runs of every seed (``reps``), the mean of the changes paired seed
    by seed, as the headline table shows them; else from the table's values."""
    from abm.report.replications import paired_change

    if reps is None:
        per = table[col] if per_mwh else table[col] / table.demand_mwh
        return 100 * (per / per.iloc[0] - 1)
    per = reps[col] if per_mwh else reps[col] / reps.demand_mwh
    change = paired_change(per, str(table.index[0]), relative=True)
    return change.groupby(level=0, sort=False).mean().reindex(table.index)


def findings(table: pd.DataFrame, runs: list[Run], baseline: Run,
             gaps: dict[str, pd.DataFrame] | None = None,
             reps: pd.DataFrame | None = None) -> list[Text]:
    """The report's findings, one sentence or two each (scenario names in bold).

    Args:
        table: ``report.headline_numbers`` of the runs (the baseline first; with several seeds
            per scenario, their means).
        runs: the runs, the baseline first.
        baseline: the baseline run.
        gaps: per scenario label, ``decentralisation.price_of_decentralisation`` (optional).
        reps: ``report.replicated_numbers`` of every run (optional): changes within the range
            across seeds are named as such.
    """
    out: list[Text] = []
    others = table.iloc[1:]
    base = table.iloc[0]
    demand_differs = (others.demand_mwh / base.demand_mwh - 1).abs() > 0.01
    if len(others):
        for col, name, per_mwh in OUTCOMES:
            change = _intensity(table, col, per_mwh, reps).iloc[1:]
            order = change.abs().sort_values(ascending=False, kind="stable").index
            moves = [s for s in order[:3] if abs(change[s]) >= 0.05]
            if moves:
                per = " per MWh of demand" if demand_differs.any() and not per_mwh else ""
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
        if reps is not None:
            out += _within_spread(reps, str(table.index[0]))
    for a, b in identical(table):
        out.append(text(bold(b), " gives exactly the same results as ", bold(a),
                        " over these hours: its lever does not bite here (a longer run, more "
                        "demand or a tighter setting may change that)."))
    for child, parent in parents(runs, baseline).items():
        c, p = table.loc[child], table.loc[parent]
        out.append(text(
            bold(child), " against ", bold(parent), ", the scenario it extends: cost per MWh "
            f"of demand {_pct(100 * (c.cost_usd_per_mwh / p.cost_usd_per_mwh - 1))}, system "
            "emissions "
            f"{_pct(100 * (c.emissions_system_kg / p.emissions_system_kg - 1))}, unserved "
            f"{c.unserved_mwh - p.unserved_mwh:+,.0f} MWh, served away from the origin "
            f"{100 * (c.relocated_share - p.relocated_share):+.1f} pp."))
    if gaps:
        out += _decentralisation(gaps)
    for r in runs:
        out += flexibility(r)
    return out


def _mwh(value: float) -> str:
    return f"{value:,.0f} MWh" if abs(value) >= 10 else f"{value:,.1f} MWh"


def flexibility(run: Run) -> list[Text]:
    """What a run's deferrable work and demand-response events did, in plain words, from its
    summary (``work_*_mwh``, ``missed_mwh``, ``event_*``) and its events table: the work that
    waited, what missed its deadline (unserved, at VoLL) and what still waits; what the events
    asked, what they got and how (deferred, relocated, shed), and the events whose zone's cut
    was mostly shed."""
    out: list[Text] = []
    d = run.summary
    if "work_arrived_mwh" in d:
        arrived, missed = d["work_arrived_mwh"], d["missed_mwh"]
        share = f" ({100 * missed / arrived:.1f}% of it)" if arrived else ""
        out.append(text(
            bold(run.label), f": {_mwh(arrived)} of deferrable work could wait, "
            f"{_mwh(d['work_run_mwh'])} of it ran within its deadline, "
            + (f"{_mwh(missed)}{share} missed its deadline and went unserved (at VoLL)"
               if missed > 0.05 else "none missed its deadline")
            + f", and {_mwh(d['backlog_end_mwh'])} still waited when the run ended."))
    e = {k.removeprefix("event_"): v for k, v in run.summary.items() if k.startswith("event_")}
    if e and e["called"]:
        parts = {"deferred": e["deferred_mwh"], "relocated": e["relocated_mwh"],
                 "shed": e["shed_mwh"]}
        main = max(parts, key=lambda k: parts[k])
        how = ", ".join(f"{_mwh(v)} {k}" for k, v in parts.items())
        out.append(text(
            bold(run.label), f": {e['called']} demand-response event"
            f"{'s' if e['called'] != 1 else ''} asked for {_mwh(e['asked_mwh'])} less "
            f"data-centre load and got {_mwh(e['delivered_mwh'])} less than the zones' "
            f"references ({how}); mostly {main}"
            + ("." if e["shed_mwh"] <= 0.05 else
               f", and the {_mwh(e['shed_mwh'])} shed went unserved (at VoLL).")))
        if "events" in run.tables:
            from abm.report.events import per_event

            ev = per_event(run.tables["events"])
            shed = ev[(ev.shed_mwh > 0.5 * ev.delivered_mwh) & (ev.delivered_mwh > 0.05)]
            if len(shed):
                out.append(text(
                    bold(run.label), ": most of the cut was shed (unserved, at VoLL), not "
                    "moved or deferred, in ",
                    _listing([text(f"{r.zone} (event {r.event}, hour {r.start_hour}: "
                                   f"{_mwh(r.shed_mwh)} of {_mwh(r.delivered_mwh)})")
                              for r in shed.itertuples()]), "."))
    elif e:
        out.append(text(bold(run.label), ": its demand-response rules called no event."))
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
        # unserved MWh at VoLL (abm.core.metrics.cost_usd_per_mwh): never a saving
        d_cost = (row.cost_usd_per_mwh - base.cost_usd_per_mwh) * base.demand_mwh
        lost = row.voll_usd_per_mwh * row.unserved_mwh * scale - (
            base.voll_usd_per_mwh * base.unserved_mwh)  # of which unserved MWh at VoLL
        d_sys = (row.emissions_system_kg * scale - base.emissions_system_kg) / 1e3  # t
        d_avg = row.emissions_average_kg * scale - base.emissions_average_kg
        if d_sys < -1e-6 and d_cost > 0:
            out.append(text("Trade-off in ", bold(label), f": system emissions fall by "
                            f"{-d_sys:,.0f} t for {_money(d_cost)[1:]} more, about "
                            f"${d_cost / -d_sys:,.0f} per tonne avoided (operators' cost, "
                            "carbon payments included: a transfer, not all of it a cost to "
                            "society" + ("; unserved MWh at VoLL" if abs(lost) > 0.01 * abs(
                                d_cost) else "") + ")."))
        elif d_sys > 1e-6 and d_cost < 0:
            out.append(text("Trade-off in ", bold(label), f": cost falls by "
                            f"{_money(d_cost)[1:]} but system emissions rise by {d_sys:,.0f} t "
                            "(operators' cost, carbon payments included" + (
                                "; unserved MWh at VoLL" if abs(lost) > 0.01 * abs(d_cost)
                                else "") + ")."))
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


def _within_spread(reps: pd.DataFrame, baseline: str) -> list[Text]:
    """Scenarios whose change in cost per MWh of demand or in system emissions per MWh of
    demand has a range across seeds (paired: the same seed) that holds zero."""
    from abm.report.replications import paired_change

    counts = reps.groupby(level=0, sort=False).size()
    if counts.max() < 2:
        return []
    out = []
    for col, name in (("cost_usd_per_mwh", "cost per MWh of demand"),
                      ("emissions_system_kg_per_mwh", "system emissions per MWh of demand")):
        change = paired_change(reps[col], baseline, relative=True)
        g = change.groupby(level=0, sort=False)
        lo, hi = g.min(), g.max()
        unsure = [s for s in counts.index if s != baseline and counts[s] > 1
                  and lo[s] <= 0 <= hi[s] and hi[s] > lo[s]]
        if unsure:
            out.append(text(f"Not a finding: the change in {name} of ",
                            _listing([text(bold(s), f" ({lo[s]:+.1f}% to {hi[s]:+.1f}%)")
                                      for s in unsure]),
                            f" changes sign across the {counts.max()} seeds."))
    return out


def caveats(runs: list[Run], replicas: dict[str, list[Run]] | None = None) -> list[Text]:
    """What to read with care in these runs, generated from their settings: how the grid
    answers load, where the hourly signals come from, how unserved demand is costed, which
    inputs are assumptions, the horizon against capacity building, and the seeds.

    Args:
        runs: the runs, the baseline first.
        replicas: per label, every run of the scenario (its seeds); default: one each.
    """
    from abm.config.registry import GRID_RESPONSES

    replicas = replicas or {r.label: [r] for r in runs}
    out: list[Text] = []

    def who(group: list[str]) -> Text:
        if len(group) == len(runs):
            return text("every scenario" if len(runs) > 1 else "the scenario")
        return _listing([text(bold(s)) for s in group])

    responses: dict[str, list[str]] = {}
    for r in runs:
        responses.setdefault(r.scenario.market.grid_response, []).append(r.label)
    for name, group in responses.items():
        desc = (GRID_RESPONSES.description(name) if name in GRID_RESPONSES
                else "a response registered outside this package")
        out.append(text("Grid in ", who(group), f": the {name!r} response ({desc}). ",
                        RESPONSE_CAVEATS.get(name, "")))
    rules: dict[str, list[str]] = {}
    for r in runs:
        if r.scenario.market.grid_response == "technology":
            rules.setdefault(r.scenario.grid.moved_water, []).append(r.label)
    waits = [r.label for r in runs if r.summary.get("work_arrived_mwh", 0.0) > 0
             and r.scenario.market.grid_response == "technology"]
    if waits:
        out.append(text(
            "Deferrable work in ", who(waits), " waits for the hours the model's marginal "
            "factor and price are lowest: its carbon effect rests on when the model's margin "
            "is clean, which docs/grid.md compares hour by hour with EPA AVERT's observed "
            "margins of the US zones (\"What serves an added MWh\")."))
    for rule, group in rules.items():
        out.append(text(
            "Reservoir water moved between hours in ", who(group), f": counted as {rule!r} "
            f"(grid.moved_water: {MOVED_WATER_CAVEATS[rule]}), a modelling rule no datum "
            "settles, on which the marginal factors of reservoir zones, system emissions and "
            "the relocation effect depend (abm audit switches it: docs/audit.md)."))
    traces: dict[str, list[str]] = {}
    for r in runs:
        traces.setdefault(Path(r.scenario.trace).name if r.scenario.trace else "", []).append(
            r.label)
    for trace, group in traces.items():
        out.append(text("Hourly base prices and average carbon in ", who(group), (
            f": the trace file {trace} where it has data, the 2024 month x hour profiles "
            "elsewhere." if trace else ": 2024 month x hour profiles (abm/data), not a "
            "particular day's weather.")))
    volls: dict[float, list[str]] = {}
    for r in runs:
        volls.setdefault(r.scenario.policy.voll_usd_per_mwh, []).append(r.label)
    unserved = [r.label for r in runs if r.summary["unserved_mwh"] > 0.5]
    out.append(text(
        "Costs per MWh of demand count unserved MWh at the value of lost load (",
        _listing([text(f"{v:,.0f} $/MWh in ", who(g)) for v, g in volls.items()]),
        ", policy.voll_usd_per_mwh); totals in $ are what operators pay and exclude it; "
        "figures per MWh served say \"served only\". ",
        text("Demand goes unserved in ", _listing([text(bold(s)) for s in unserved]), ".")
        if unserved else "No scenario leaves more than 0.5 MWh unserved."))
    base = runs[0].scenario
    out.append(text(
        f"Assumptions, not sourced figures: {_assumed(base.regions, 'regions')}; "
        f"{_assumed(base.zones, 'zones')} (abm/data/SOURCES.md); operators and their demand "
        "are illustrative."))
    measured = base.latency.measured[~np.eye(len(base.latency.region_ids), dtype=bool)]
    out.append(text(f"RTTs between regions: {measured.mean():.0%} of pairs measured (Azure "
                    "P95), the rest a distance model (7 + d_km / 59 ms)."))
    hours = sorted({int(r.summary["hours"]) for r in runs})
    lag = min(r.scenario.market.expansion_lag_hours + r.scenario.market.expansion_review_hours
              for r in runs)
    if hours[0] < max(168, lag):
        out.append(text(f"Short runs ({', '.join(map(str, hours))} h): capacity ordered after "
                        f"a review ({lag} h at the earliest with review and build lag) and "
                        "weekly patterns do not show; run a week or more before drawing "
                        "conclusions."))
    seeds = {label: [int(x.summary["seed"]) for x in reps] for label, reps in replicas.items()}
    n = max(len(v) for v in seeds.values())
    single = [label for label, v in seeds.items() if len(v) == 1]
    if n == 1:
        out.append(text("One run per scenario with one seed: differences smaller than the "
                        "spread across seeds are not findings (abm report --replications N)."))
    else:
        out.append(text(f"{n} seeds per scenario (common random numbers: the same drawn "
                        "operators and forecast noise in every scenario for a given seed): "
                        "values are means, ranges from the lowest to the highest seed.",
                        text(" One run only (read from a folder) for ",
                             _listing([text(bold(s)) for s in single]), ".")
                        if single else ""))
    out += [text(r.warning) for r in runs if r.warning]
    return out


MOVED_WATER_CAVEATS = {  # each grid.moved_water rule in a few words (docs/grid.md)
    "displaced_unit": "at the fuel-burning unit whose cost is closest to the water value",
    "nothing_burnt": "as displacing nothing that burns",
}

RESPONSE_CAVEATS = {  # what a reader must know of each shipped grid response
    "technology": "Prices, the marginal unit and system emissions come from clearing each "
                  "zone's merit order of technologies with interconnectors (docs/grid.md); "
                  "wind, solar and hydro availability is calibrated each hour to the 2024 "
                  "average carbon, so a carbon price changes dispatch, not the weather; storage "
                  "and must-run output are not modelled.",
    "calibrated": "Each zone is an island whose one stack is recalibrated each hour to its "
                  "base price and average carbon: system emissions are only as good as that "
                  "calibration, and marginal carbon is the zone's assumed factor "
                  "(abm/data/zones.csv).",
    "linear": "Each zone keeps the calibrated stack's slope with a fixed marginal unit: the "
              "marginal technology never changes.",
    "exogenous": "Prices and carbon ignore data-centre load: no herding, and a zone's "
                 "emissions are its load times its base average carbon (abm/grid/supply.py).",
}


def _assumed(entries: Sequence[Region | Zone], kind: str) -> str:
    """Which figures of the regions or zones are assumptions, field by field with how many
    entries assume it: ``capacity of 23, pue of 4 of 23 regions``."""
    counts = Counter(f for e in entries for f in e.assumed)
    if not counts:
        return f"none of the {len(entries)} {kind}"
    return (", ".join(f"{name} of {n}" for name, n in sorted(counts.items()))
            + f" of {len(entries)} {kind}")
