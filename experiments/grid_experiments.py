"""Two experiments only the technology market can run (issue 13; docs/grid.md, "Experiments").

(a) Moving bits against moving electrons. One run of the market lets inference relocate; its
    placed data-centre load and its status-quo load (everything at its origin) are cleared in the
    same hours by the grid. The emissions and dispatch-cost reduction of relocation (status quo
    minus placed, all zones) is set against the reduction that more interconnector capacity
    gives with NO relocation (the status-quo load cleared with every line scaled by k): the
    scale k* that matches relocation's reduction, interpolated on a grid of k, and the MW that
    adds.

(b) A carbon price on generators only, on placement only, and on both: four runs (none; 100
    $/t on generators everywhere; 100 $/t on operators' placement; both), with total emissions
    of all zones, the data-centre load's system emissions, the relocation effect, the served
    share away from origin, mean zone price, the operators' cost and generation by technology.

Usage (from the repository root; about a minute per run-week on this machine)::

    python experiments/grid_experiments.py [--hours 168] [--out out/grid_experiments]

Writes ``bits_vs_electrons_<scenario>.csv`` (and ``..._zones.csv``: what changed in each zone,
emissions and generation by technology), ``carbon_levers.csv`` (with generation by technology)
and ``grid_experiments.md``;
``--scenario grid_carbon_generators.toml`` repeats (a) under a 100 $/t price on generators.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from abm.config.registry import GRID_RESPONSES
from abm.config.scenario import Scenario, load_scenario
from abm.data.dataset import DATA_DIR
from abm.market.run import MANIFEST, read_tables, run_market, run_model

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "experiments" / "scenarios"
SCALES = (1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)  # every line
LINE_SCALES = (1.1, 1.25, 1.5, 1.75, 3.0)  # the single line that cuts emissions most
CARBON_LEVERS = {  # name -> scenario file (experiments/scenarios/)
    "none (2024 schemes)": "baseline.toml",
    "generators only": "grid_carbon_generators.toml",
    "placement only": "carbon_price.toml",
    "both": "grid_carbon_both.toml",
}


def _run(scn: Scenario, out: Path, hours: int) -> Path:
    """Run ``scn`` into ``out``, or keep the complete run of the same scenario already there."""
    manifest = out / MANIFEST
    if manifest.exists():
        found = json.loads(manifest.read_text())
        if (found.get("status"), found.get("hours"), found.get("scenario")) == (
                "complete", hours, scn.name):
            return out
    run_market(scn, out, hours=hours, restart=True)
    return out


def clear_hours(scn: Scenario, model, loads_mw: dict[str, np.ndarray], ref_mw: np.ndarray
                ) -> dict[str, tuple[float, float, pd.DataFrame]]:
    """Emissions (kg) and dispatch cost (USD) of all zones over the run's hours for each named
    data-centre load (hours, Z), the grid prepared each hour at ``ref_mw`` (hours, Z) as in the
    run, with the scenario's grid settings (``market.grid_response``); and, per zone, its
    emissions (kg) and generation by technology (MWh) over those hours (a frame indexed by
    zone: ``emissions_kg`` and one column per technology)."""
    response = GRID_RESPONSES[scn.market.grid_response](scn, model.base, model.stamps)
    n_z = len(scn.zones)
    out = {name: [0.0, 0.0, np.zeros(n_z), np.zeros((n_z, len(response.technologies)))]
           for name in loads_mw}
    for t in range(len(ref_mw)):
        response.set_hour(t, ref_mw[t])
        for name, load in loads_mw.items():
            d = response.clear(load[t])
            acc = out[name]
            acc[0] += float(d.emissions_kg.sum())
            acc[1] += float(d.cost_usd)
            acc[2] += d.emissions_kg
            acc[3] += d.generation_mw
    zone_ids = [z.id for z in scn.zones]

    def by_zone(em: np.ndarray, gen: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(gen, index=pd.Index(zone_ids, name="zone"),
                            columns=list(response.technologies)).assign(emissions_kg=em)
    return {k: (v[0], v[1], by_zone(v[2], v[3])) for k, v in out.items()}


def zone_loads(run_dir: Path, zone_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(hours, Z) placed and status-quo data-centre grid load of a run, MW."""
    z = read_tables(run_dir, "zones")["zones"]
    placed = z.pivot(index="hour", columns="zone", values="dc_load_mw")[zone_ids].to_numpy()
    ref = z.pivot(index="hour", columns="zone", values="reference_dc_mw")[zone_ids].to_numpy()
    return placed, ref


def bits_vs_electrons(hours: int, out: Path, scenario: str = "baseline.toml"
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Experiment (a) in ``scenario`` (a file of experiments/scenarios): relocation, then the
    status-quo load with every line scaled by k, each line alone doubled, and the line whose
    doubling cuts emissions most scaled finely. Returns the table of cases and what changed
    where: per case (``case``, ``lines``, ``interconnector_scale``) and zone, the change
    against the status quo of the zone's emissions (t) and of its generation by technology
    (GWh, one ``<technology>_gwh`` column each)."""
    scn = load_scenario(SCENARIOS / scenario)
    run_dir = _run(scn, out / "runs" / Path(scenario).stem, hours)
    model = run_model(run_dir)
    zone_ids = [z.id for z in scn.zones]
    placed, ref = zone_loads(run_dir, zone_ids)
    base = clear_hours(scn, model, {"status quo": ref, "relocation": placed}, ref)
    e0, c0, z0 = base["status quo"]
    changes = []

    def row(case: str, line: str, k: float, e: float, c: float, z: pd.DataFrame) -> dict:
        d = z - z0
        changes.append(pd.DataFrame({
            "case": case, "lines": line, "interconnector_scale": k,
            "emissions_change_t": d.pop("emissions_kg") / 1e3,
            **{f"{tech}_gwh": d[tech] / 1e3 for tech in d.columns}}).reset_index())
        return {"case": case, "lines": line, "interconnector_scale": k, "emissions_t": e / 1e3,
                "cost_usd": c, "emissions_reduction_t": (e0 - e) / 1e3,
                "cost_reduction_usd": c0 - c}

    rows = [row("relocation", "as shipped", 1.0, *base["relocation"])]
    for k in SCALES:
        rows.append(row("no relocation", "all", k, *clear_hours(
            scn.with_grid(interconnector_scale=k), model, {"sq": ref}, ref)["sq"]))
    lines = pd.read_csv(DATA_DIR / "grid" / "interconnectors.csv").set_index("line_id")

    def one_line(line: str, k: float) -> dict:
        # the line's capacity each way: k times its larger rating
        mw = k * float(lines.loc[line, ["capacity_forward_mw", "capacity_backward_mw"]].max())
        variant = scn.with_grid(interconnector_capacity_mw=((line, mw),))
        return row("no relocation", line, k, *clear_hours(variant, model, {"sq": ref}, ref)["sq"])

    doubled = [one_line(line, 2.0) for line in lines.index]
    rows += doubled
    best = max(doubled, key=lambda r: r["emissions_reduction_t"])["lines"]
    rows += [one_line(best, k) for k in LINE_SCALES]
    return pd.DataFrame(rows), pd.concat(changes, ignore_index=True)


def generation_by_technology(run_dir: Path) -> pd.Series:
    """A run's generation by technology over all zones and hours (GWh), from its zones
    table's ``gen_<technology>_mw`` columns."""
    z = read_tables(run_dir, "zones")["zones"]
    cols = [c for c in z.columns if c.startswith("gen_") and c.endswith("_mw")]
    return pd.Series({c.removeprefix("gen_").removesuffix("_mw"): z[c].sum() / 1e3
                      for c in cols})


def matching_scale(table: pd.DataFrame, lines: str, column: str) -> float:
    """The scale of ``lines`` ("all" or a line id) whose reduction with no relocation equals
    relocation's, by linear interpolation between the scales tried; nan if none reaches it."""
    target = float(table[table.case == "relocation"][column].iloc[0])
    grid = table[(table.case == "no relocation") & (table.lines == lines)]
    grid = pd.concat([table[(table.case == "no relocation") & (table.lines == "all")
                            & (table.interconnector_scale == 1.0)], grid])
    grid = grid.drop_duplicates("interconnector_scale").sort_values("interconnector_scale")
    k, r = grid.interconnector_scale.to_numpy(), grid[column].to_numpy()
    for i in range(1, len(k)):
        lo, hi = r[i - 1], r[i]
        if (lo - target) * (hi - target) <= 0 and hi != lo:
            return float(k[i - 1] + (target - lo) / (hi - lo) * (k[i] - k[i - 1]))
    return float("nan")


def carbon_levers(hours: int, out: Path) -> pd.DataFrame:
    """Experiment (b): one row per carbon lever."""
    rows = []
    for name, file in CARBON_LEVERS.items():
        scn = load_scenario(SCENARIOS / file)
        run_dir = _run(scn, out / "runs" / Path(file).stem, hours)
        t = read_tables(run_dir, "zones", "model")
        z, m = t["zones"], t["model"]
        rows.append({
            "lever": name, "scenario": file,
            "total_emissions_t": z.emissions_kg.sum() / 1e3,
            "dc_system_emissions_t": m.emissions_system_kg.sum() / 1e3,
            "relocation_effect_t": m.relocation_effect_kg.sum() / 1e3,
            "relocated_share": float((m.relocated_share * m.served_mwh).sum()
                                     / m.served_mwh.sum()),
            "mean_price_usd_per_mwh": z.price_usd_per_mwh.mean(),
            "operators_cost_usd": m.cost_usd.sum(),
            **{f"{tech}_gwh": gwh for tech, gwh in generation_by_technology(run_dir).items()},
        })
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """Run both experiments and write their tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=int, default=168)
    p.add_argument("--out", type=Path, default=ROOT / "out" / "grid_experiments")
    p.add_argument("--only", choices=("a", "b"), default=None)
    p.add_argument("--scenario", default="baseline.toml",
                   help="experiment (a)'s scenario, a file of experiments/scenarios")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    md = []
    if args.only in (None, "a"):
        a, where = bits_vs_electrons(args.hours, args.out, args.scenario)
        a.to_csv(args.out / f"bits_vs_electrons_{Path(args.scenario).stem}.csv", index=False)
        where.to_csv(args.out / f"bits_vs_electrons_{Path(args.scenario).stem}_zones.csv",
                     index=False)
        best = a[(a.case == "no relocation") & (a.lines != "all")].sort_values(
            "emissions_reduction_t").lines.iloc[-1]
        md += [f"## (a) Moving bits vs moving electrons ({args.scenario})", "",
               a.to_string(index=False), ""]
        for lines in ("all", best):
            k_e = matching_scale(a, lines, "emissions_reduction_t")
            k_c = matching_scale(a, lines, "cost_reduction_usd")
            md.append(f"scale of {lines} lines matching relocation's emissions reduction: "
                      f"{k_e:.2f}; its dispatch-cost reduction: {k_c:.2f}")
        md.append("")
    if args.only in (None, "b"):
        b = carbon_levers(args.hours, args.out)
        b.to_csv(args.out / "carbon_levers.csv", index=False)
        md += ["## (b) Carbon price on generators, placement, both", "",
               b.to_string(index=False), ""]
    text = "\n".join(md)
    (args.out / "grid_experiments.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
