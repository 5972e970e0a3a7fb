"""Inference that can wait: deferral against relocation, swept (issue 20; docs/flexibility.md).

Two sweeps of the default week (grid zones on the technology market), each over the share of
every workload class's demand that may wait (0-50 %) x its deadline (0, 1, 4, 24 h):

- ``experiments/sweeps/flexibility.toml``: relocation as today (``flexible.toml``): *space and
  time*; its deadline-0 runs are *space only*;
- ``experiments/sweeps/flexibility_local.toml``: every class kept at its origin region
  (``flexible_local.toml``): *time only*; its deadline-0 runs move nothing (*neither*).

Then, for each mode, the case whose system emissions rise most against that mode's run without
deferral is run again with its tables, with that run, and their zones' generation by technology
compared: which technology's output rises or falls in which zone; and stepped once more to
price its moves by the stricter friction rule the doc compares with (``migration_by_shares``).

Usage (from the repository root; the time it took is written into the doc)::

    python experiments/flexibility.py [--workers 2]

The sweeps are kept in ``out/sweep-flexibility*`` and resumed there (a changed sweep or
scenario starts again). Writes ``docs/flexibility.csv`` (one row per run),
``docs/flexibility_generation.csv`` (the change in each zone's generation by technology, MWh),
``docs/flexibility_cost_parts.csv`` (the cost parts of those runs, USD),
``docs/flexibility.json`` (the sweeps' digests, what was run and how long it took),
``docs/flexibility.png`` and ``docs/flexibility_generation.png``, then rewrites the figures
of docs/flexibility.md (``experiments/docs_figures.py``, which reads the CSVs;
``tests/test_flexibility_docs.py`` checks the stored results against the sweeps' digests).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SWEEPS = {  # mode -> sweep file
    "space and time": ROOT / "experiments" / "sweeps" / "flexibility.toml",
    "time only": ROOT / "experiments" / "sweeps" / "flexibility_local.toml",
}
OUT = {"space and time": ROOT / "out" / "sweep-flexibility",
       "time only": ROOT / "out" / "sweep-flexibility-local"}
SHARE = "templates.batch.deferrable_share"  # the axis (set on every template: ``also``)
DEADLINE = "templates.batch.deadline_hours"
RESULTS = DOCS / "flexibility.csv"
GENERATION = DOCS / "flexibility_generation.csv"
COST_PARTS = DOCS / "flexibility_cost_parts.csv"
RUN_INFO = DOCS / "flexibility.json"
FIGURE = DOCS / "flexibility.png"
GENERATION_FIGURE = DOCS / "flexibility_generation.png"
COLUMNS = (  # the sweeps' outcomes, kept as the CSV's columns
    "demand_mwh", "served_mwh", "unserved_mwh", "moved_mwh", "cost_usd", "dc_price_usd_per_mwh",
    "emissions_system_kg", "relocation_effect_kg", "relocated_share", "work_arrived_mwh",
    "work_run_mwh", "missed_mwh", "backlog_end_mwh",
)


def digests(sweeps: dict[str, Path] = SWEEPS) -> dict[str, str]:
    """mode -> the digest of its sweep (the sweep file as written and its resolved scenario
    table, ``Spec.digest``): what the stored results were computed from, wherever the
    repository is."""
    from abm.sweeps.spec import load_spec

    return {mode: load_spec(path).digest() for mode, path in sweeps.items()}


def tidy(mode: str, results: pd.DataFrame) -> pd.DataFrame:
    """A sweep's results as the CSV's rows: mode, deadline (h), flexible share (%), seed and
    the outcomes (MWh, USD, kg, shares 0-1)."""
    out = pd.DataFrame({"mode": mode, "deadline_hours": results[DEADLINE].astype(int),
                        "flexible_share_pct": (100 * results[SHARE]).round(6),
                        "replication": results.replication, "seed": results.seed})
    for col in COLUMNS:
        out[col] = results[col].astype(float)
    return out.sort_values(["deadline_hours", "flexible_share_pct", "replication"])


def load_results(path: Path = RESULTS) -> pd.DataFrame:
    """The stored results (docs/flexibility.csv), every run's row."""
    return pd.read_csv(path)


def means(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over replications per mode, deadline and share, with every cell's change against
    its mode's run without deferral (deadline 0, share 0): ``<outcome>_change_pct`` for system
    emissions and cost, and ``emissions_change_t``."""
    keys = ["mode", "deadline_hours", "flexible_share_pct"]
    m = results.drop(columns=["replication", "seed"]).groupby(keys, sort=False).mean()
    m = m.reset_index()
    ref = m[(m.deadline_hours == 0) & (m.flexible_share_pct == 0)].set_index("mode")
    base_e = m["mode"].map(ref.emissions_system_kg)
    base_c = m["mode"].map(ref.cost_usd)
    m["emissions_change_t"] = (m.emissions_system_kg - base_e) / 1e3
    m["emissions_system_change_pct"] = 100 * (m.emissions_system_kg / base_e - 1)
    m["cost_change_pct"] = 100 * (m.cost_usd / base_c - 1)
    return m


def rising(m: pd.DataFrame, mode: str) -> pd.Series:
    """The mode's deferring cell (deadline > 0, share > 0) whose system emissions rise most
    against its run without deferral (or fall least, if none rises)."""
    cells = m[(m["mode"] == mode) & (m.deadline_hours > 0) & (m.flexible_share_pct > 0)]
    return cells.loc[cells.emissions_change_t.idxmax()]


def overrides(share_pct: float, deadline_hours: int) -> dict[str, float | int]:
    """The settings of one cell, on every template (as the sweeps' ``also`` sets them)."""
    out: dict[str, float | int] = {}
    for template in ("interactive", "conversational", "batch"):
        out[f"templates.{template}.deferrable_share"] = share_pct / 100
        out[f"templates.{template}.deadline_hours"] = int(deadline_hours)
    return out


def cost_parts(summary: dict) -> dict[str, float]:
    """A run summary's cost parts (USD) by part: ``cost_<part>_usd``."""
    from abm.market.reporters import COST_PARTS

    return {part: summary[f"cost_{part}_usd"] for part in COST_PARTS}


def explain(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For each mode's most emission-raising cell (:func:`rising`): the run again with its
    tables and its mode's run without deferral (same seed). Returns per zone and technology the
    change in generation (MWh over the week) with per zone the change in emissions (kg; the
    same zone total less the same background, so the change in the data-centre load's system
    emissions there); and the two runs' cost parts (USD: energy, carbon, rent, network,
    migration). Each rerun's system emissions and cost equal the sweep's (checked)."""
    from abm.api import simulate
    from abm.report.zone_effects import generation_change, technologies
    from abm.sweeps.spec import load_spec

    m = means(results)
    rows, costs = [], []
    for mode, path in SWEEPS.items():
        spec = load_spec(path)
        cell = rising(m, mode)
        runs = {}
        for label, share, deadline in (("case", cell.flexible_share_pct, cell.deadline_hours),
                                       ("reference", 0.0, 0)):
            row = results[(results["mode"] == mode) & (results.deadline_hours == deadline)
                          & (results.flexible_share_pct == share)
                          & (results.replication == 0)].iloc[0]
            run = simulate(spec.scenario, hours=spec.hours, seed=int(row.seed),
                           overrides=overrides(share, deadline), operator_detail=False)
            s = run.summary
            for got, want in ((s["emissions_system_kg"], row.emissions_system_kg),
                              (s["cost_usd"], row.cost_usd)):
                if not np.isclose(got, want, rtol=1e-6):
                    raise RuntimeError(f"{mode}, {label}: the rerun gives {got}, the sweep "
                                       f"{want}")
            costs += [{"mode": mode, "run": label, "deadline_hours": int(deadline),
                       "flexible_share_pct": float(share), "part": part, "cost_usd": usd}
                      for part, usd in cost_parts(s).items()]
            runs[label] = run.zones
        d = generation_change(runs["case"], runs["reference"])
        for zone, z in d.iterrows():
            for technology in technologies(runs["case"]):
                rows.append({"mode": mode, "deadline_hours": int(cell.deadline_hours),
                             "flexible_share_pct": float(cell.flexible_share_pct),
                             "zone": zone, "technology": technology,
                             "generation_change_mwh": float(z[technology]),
                             "zone_emissions_change_kg": float(z.emissions_kg)})
    return pd.DataFrame(rows), pd.DataFrame(costs)


def migration_by_shares(mode: str, share_pct: float, deadline_hours: int, seed: int
                        ) -> dict[str, float]:
    """One cell's run, hour by hour: its cost and its migration friction (USD over the run)
    as the market charges it (MW above the incumbent, docs/model.md "Migration friction"), and
    that friction as the same placements would pay it if a class with work were charged on
    every MW above last hour's shares of what it serves this hour (an incumbent proportional
    to the MW placed, a decision: the rule the min-cost flow cannot express, whose gap the doc
    states)."""
    from abm.api import load_scenario
    from abm.market.model import MarketModel
    from abm.sweeps.spec import load_spec

    spec = load_spec(SWEEPS[mode])
    scn = load_scenario(spec.scenario, overrides=overrides(share_pct, deadline_hours))
    model = MarketModel(scn, rng=seed, hours=spec.hours)
    ops = model.operators
    waits = (ops.deadline_hours > 0)[:, :, None]
    cost = charged = by_shares = 0.0
    for _ in range(model.hours):
        model.step()
        last, x = ops.last_x_mw, ops.x_mw
        held = last.sum(axis=2, keepdims=True)
        shares = np.divide(last, held, out=np.zeros_like(last), where=held > 0)
        moved = np.where(waits, np.maximum(x - shares * x.sum(axis=2, keepdims=True), 0.0),
                         ops.moved_mw)
        cost += float(ops.cost_usd.sum())
        charged += float((ops.moved_mw * ops.friction_usd_per_mw).sum())
        by_shares += float((moved * ops.friction_usd_per_mw).sum())
    return {"cost_usd": cost, "charged_usd": charged, "by_shares_usd": by_shares}


def migration_check(results: pd.DataFrame) -> list[dict]:
    """``migration_by_shares`` of each mode's explaining case (:func:`rising`) and of its cell
    with the largest share and the longest deadline, each stepped run's cost checked against
    the sweep's."""
    m = means(results)
    out = []
    for mode in SWEEPS:
        cells = m[m["mode"] == mode]
        case = rising(m, mode)
        top = (cells.flexible_share_pct.max(), int(cells.deadline_hours.max()))
        for share, deadline in dict.fromkeys([(case.flexible_share_pct,
                                               int(case.deadline_hours)), top]):
            row = results[(results["mode"] == mode) & (results.deadline_hours == deadline)
                          & (results.flexible_share_pct == share)
                          & (results.replication == 0)].iloc[0]
            got = migration_by_shares(mode, share, deadline, int(row.seed))
            if not np.isclose(got["cost_usd"], row.cost_usd, rtol=1e-6):
                raise RuntimeError(f"{mode}, {share:g} %, {deadline} h: stepped, the run "
                                   f"costs {got['cost_usd']} USD, in the sweep {row.cost_usd}")
            out.append({"mode": mode, "flexible_share_pct": float(share),
                        "deadline_hours": deadline,
                        **{k: round(v, 2) for k, v in got.items()}})
    return out


# -- figures -----------------------------------------------------------------------------------

PANELS = (  # column of means(), scale, label
    ("emissions_system_change_pct", 1.0, "system emissions vs no deferral (%)"),
    ("cost_change_pct", 1.0, "operators' cost vs no deferral (%)"),
    ("relocation_effect_kg", 1e-3, "relocation effect (t CO2 / week)"),
    ("missed_mwh", 1.0, "work missing its deadline (MWh / week)"),
)
COLOURS = {0: "grey", 1: "tab:blue", 4: "tab:orange", 24: "tab:green"}


def figure(results: pd.DataFrame, out: Path = FIGURE) -> None:
    """Four outcomes (rows) against the flexible share, one line per deadline, for each mode
    (columns); a band over replications where there are several."""
    import matplotlib.pyplot as plt

    m = means(results)
    lo = results.groupby(["mode", "deadline_hours", "flexible_share_pct"], sort=False)
    modes = list(SWEEPS)
    fig, axes = plt.subplots(len(PANELS), len(modes), figsize=(10, 11), sharex=True,
                             sharey="row")
    for j, mode in enumerate(modes):
        for i, (col, scale, label) in enumerate(PANELS):
            ax = axes[i, j]
            for deadline, colour in COLOURS.items():
                c = m[(m["mode"] == mode) & (m.deadline_hours == deadline)]
                style = "--" if deadline == 0 else "-"
                ax.plot(c.flexible_share_pct, c[col] * scale, style, marker="o", ms=3,
                        color=colour, label=f"deadline {deadline} h")
                if col in results and results.replication.nunique() > 1:
                    g = lo[col].agg(["min", "max"]).loc[mode].loc[deadline]
                    ax.fill_between(g.index, g["min"] * scale, g["max"] * scale,
                                    color=colour, alpha=0.2)
            ax.grid(alpha=0.3)
            ax.set_title(f"{mode}: {label}", fontsize=9)
            if i == len(PANELS) - 1:
                ax.set_xlabel("flexible (deferrable) share of demand (%)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Deferral with deadlines, with and without relocation (default week)")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def generation_figure(gen: pd.DataFrame, out: Path = GENERATION_FIGURE, zones: int = 6) -> None:
    """Per mode, the change in generation by technology (GWh) in the zones whose emissions
    change most, stacked: what deferral turns up and down, and where."""
    import matplotlib.pyplot as plt

    modes = list(dict.fromkeys(gen["mode"]))
    fig, axes = plt.subplots(1, len(modes), figsize=(11, 4.5))
    moved = gen.groupby("technology").generation_change_mwh.apply(lambda v: v.abs().max())
    techs = sorted(moved[moved > 0.5].index)  # those whose output changes anywhere
    cmap = plt.get_cmap("tab20")
    for ax, mode in zip(np.atleast_1d(axes), modes, strict=True):
        g = gen[gen["mode"] == mode]
        top = (g.drop_duplicates("zone").set_index("zone").zone_emissions_change_kg.abs()
               .sort_values(ascending=False).index[:zones])
        p = g.pivot(index="zone", columns="technology", values="generation_change_mwh")
        p = p.loc[list(top), techs] / 1e3
        pos, neg = np.zeros(len(top)), np.zeros(len(top))
        for k, tech in enumerate(techs):
            v = p[tech].to_numpy()
            ax.bar(range(len(top)), np.where(v > 0, v, 0), bottom=pos, color=cmap(k % 20),
                   label=tech)
            ax.bar(range(len(top)), np.where(v < 0, v, 0), bottom=neg, color=cmap(k % 20))
            pos, neg = pos + np.where(v > 0, v, 0), neg + np.where(v < 0, v, 0)
        ax.axhline(0, color="black", lw=0.8)
        span = max(pos.max() - neg.min(), 1e-6)
        ax.set_ylim(neg.min() - 0.05 * span, pos.max() + 0.05 * span)
        ax.set_xticks(range(len(top)), list(top), rotation=30, fontsize=8)
        first = g.iloc[0]
        ax.set_title(f"{mode}: {first.flexible_share_pct:g} % deferrable, "
                     f"{first.deadline_hours} h", fontsize=9)
        ax.set_ylabel("generation change vs no deferral (GWh / week)")
        ax.grid(alpha=0.3, axis="y")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def run(mode: str, workers: int | None) -> pd.DataFrame:
    """A mode's sweep, resumed in its folder (started again there if its sweep file or scenario
    changed), with a progress bar; its results."""
    from abm.errors import InputError
    from abm.market.progress import RunProgress
    from abm.sweeps.results import consolidate
    from abm.sweeps.runner import open_executor, run_sweep
    from abm.sweeps.spec import load_spec

    spec, out = load_spec(SWEEPS[mode]), OUT[mode]
    show = RunProgress(f"sweep {spec.name}", unit="run")
    with open_executor(workers) as (executor, describe, slots):
        try:
            run_sweep(spec, out, executor, slots=slots, describe=describe, progress=show,
                      resume=(out / "manifest.json").exists())
        except InputError:  # another sweep's folder: start again
            run_sweep(spec, out, executor, slots=slots, describe=describe, progress=show,
                      restart=True)
    show.close()
    return consolidate(out, spec)[0]


def main(argv: list[str] | None = None) -> int:
    """Run both sweeps and the explaining runs, write the results, figures and doc."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    args = p.parse_args(argv)
    parts = [tidy(mode, run(mode, args.workers)) for mode in SWEEPS]
    wall, cpu = time.perf_counter(), time.process_time()
    results = pd.concat(parts, ignore_index=True)
    results.to_csv(RESULTS, index=False, float_format="%.6f")
    gen, costs = explain(results)
    gen.to_csv(GENERATION, index=False, float_format="%.3f")
    costs.to_csv(COST_PARTS, index=False, float_format="%.2f")
    figure(results)
    generation_figure(gen)
    by_shares = migration_check(results)
    manifests = [json.loads((OUT[mode] / "manifest.json").read_text()) for mode in SWEEPS]
    info = {
        "digests": digests(),
        "runs": len(results),
        "migration_by_shares": by_shares,
        "sweeps_wall_s": round(sum(m["elapsed_s"] for m in manifests)),
        "sweeps_executor": manifests[0]["executor"],
        "explain_wall_s": round(time.perf_counter() - wall),
        "explain_cpu_s": round(time.process_time() - cpu),
        "cores": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 1),
    }
    RUN_INFO.write_text(json.dumps(info, indent=1) + "\n")
    sys.path.append(str(ROOT / "experiments"))
    import docs_figures

    names = [n for n in docs_figures.FIGURES if n.startswith("flex-")]
    status = docs_figures.main(names)
    print(f"wrote {RESULTS.name}, {GENERATION.name}, {COST_PARTS.name}, {RUN_INFO.name}, "
          f"{FIGURE.name}, {GENERATION_FIGURE.name} in docs/; {info['runs']} runs in "
          f"{info['sweeps_wall_s']} s, then {info['explain_wall_s']} s "
          f"({info['explain_cpu_s']} s CPU)")
    return status


if __name__ == "__main__":
    sys.exit(main())
