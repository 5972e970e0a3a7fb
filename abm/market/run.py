"""Running the market to files, as it goes, with checkpoints to resume from.

An output folder holds ``run.json`` (what is being run and how far it got), ``model.parquet``
(one row per step), ``regions.parquet``, ``zones.parquet``, ``migrations.parquet``,
``lines.parquet`` (and ``operators.parquet`` with operator detail), ``summary.json`` and, at the
end, figures. Every
``market.checkpoint_hours`` steps the tables are rewritten and the model is pickled to
``checkpoint.pkl`` (each file written to a temporary name and renamed, so a crash never leaves a
torn file): an interrupted run keeps every step up to its last checkpoint and ``resume`` carries
on from there, with the same results as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from abm.errors import InputError
from abm.files import write_atomic, write_json, write_parquet
from abm.market.agents import ComputeRegion, GridZone, Operator
from abm.market.model import MarketModel
from abm.scenario import Scenario

MANIFEST = "run.json"
CHECKPOINT = "checkpoint.pkl"
OUTPUTS = ("model.parquet", "regions.parquet", "zones.parquet", "migrations.parquet",
           "lines.parquet", "operators.parquet", "summary.json", CHECKPOINT, MANIFEST)


def _fingerprint(scn: Scenario) -> str:
    """Hash of the scenario file's bytes (and what it extends is resolved into the object)."""
    return hashlib.sha256(repr(scn).encode()).hexdigest()[:16]


def tables(model: MarketModel) -> dict[str, pd.DataFrame]:
    """The run's tables so far, one row per step (and region, zone, migration, operator)."""
    dc = model.datacollector
    stamps = pd.Series(model.stamps, name="time_utc")
    out = {"model": dc.get_model_vars_dataframe().reset_index(drop=True)}
    out["model"].insert(1, "time_utc", stamps[: len(out["model"])].to_numpy())
    for name, agent_type in (("regions", ComputeRegion), ("zones", GridZone),
                             ("operators", Operator)):
        if agent_type not in dc.agenttype_reporters:
            continue
        df = dc.get_agenttype_vars_dataframe(agent_type).reset_index()
        df = df.drop(columns=["AgentID"]).rename(columns={"Step": "step"})
        df.insert(0, "hour", df.pop("step").astype(int) - 1)
        out[name] = df
    out["migrations"] = pd.DataFrame(model.migrations,
                                     columns=["hour", "from_region", "to_region", "mw"])
    out["lines"] = lines_table(model)
    return out


def lines_table(model: MarketModel) -> pd.DataFrame:
    """Per hour and interconnector: flow (MW, + from ``from_zone`` to ``to_zone``) and whether
    the line is congested (at its limit in the flow's direction)."""
    lines = pd.DataFrame(list(model.grid.lines), columns=["line", "from_zone", "to_zone"])
    n_h = len(model.line_rows)
    rows = np.asarray(model.line_rows, dtype=float).reshape(-1, 2)
    out = lines.iloc[np.tile(np.arange(len(lines)), n_h)].reset_index(drop=True)
    out.insert(0, "hour", np.repeat(np.arange(n_h), len(lines)))
    out["flow_mw"] = rows[:, 0]
    out["congested"] = rows[:, 1].astype(bool)
    return out


def summary(model: MarketModel, status: str) -> dict:
    """Totals over the finished steps: MWh, $, kgCO2 on three bases, shares, shifts."""
    df = model.datacollector.get_model_vars_dataframe()
    served = float(df.served_mwh.sum())
    zones = [z.id for z in model.inst.scenario.zones]
    shift = model.shift_mwh
    flows = [{"from_zone": zones[i], "to_zone": zones[j], "mwh": float(shift[i, j])}
             for i, j in zip(*np.nonzero(shift > 1e-9), strict=True) if i != j]
    flows.sort(key=lambda f: -f["mwh"])

    def weighted(col: str) -> float:
        return float((df[col] * df.served_mwh).sum() / served) if served else 0.0

    return {
        "scenario": model.inst.scenario.name,
        "status": status,
        "seed": model.seed_value,
        "hours": len(df),
        "hours_planned": model.hours,
        "operators": len(model.operators),
        "demand_mwh": float(df.demand_mwh.sum()),
        "served_mwh": served,
        "unserved_mwh": float(df.unserved_mwh.sum()),
        "moved_mwh": float(df.moved_mwh.sum()),
        "herding_mwh": float(df.herding_mwh.sum()),
        "cost_usd": float(df.cost_usd.sum()),
        "grid_energy_mwh": float(df.energy_mwh.sum()),
        "dc_price_usd_per_mwh": (float((df.dc_price_usd_per_mwh * df.energy_mwh).sum()
                                       / df.energy_mwh.sum()) if df.energy_mwh.sum() else 0.0),
        "emissions_kg": {"average": float(df.emissions_average_kg.sum()),
                         "marginal": float(df.emissions_marginal_kg.sum()),
                         "system": float(df.emissions_system_kg.sum())},
        "relocation_effect_kg": float(df.relocation_effect_kg.sum()),
        "relocated_share": weighted("relocated_share"),
        "layers": {k: weighted(f"layer_{k}") for k in ("local", "regional", "energy")},
        "shifted_mwh_by_zone_pair": flows[:20],
    }


def simulate(scn: Scenario, seed: int | None = None, hours: int | None = None) -> dict:
    """Run the market in memory (no files) and return its summary."""
    model = MarketModel(scn, rng=seed, hours=hours)
    for _ in range(model.hours):
        model.step()
    return summary(model, "complete")


def _save(model: MarketModel, out: Path, manifest: dict, status: str) -> dict:
    for name, df in tables(model).items():
        write_parquet(out / f"{name}.parquet", df)
    result = summary(model, status)
    write_json(out / "summary.json", result)
    write_atomic(out / CHECKPOINT, lambda p: p.write_bytes(pickle.dumps(model)))
    write_json(out / MANIFEST, {**manifest, "status": status, "hours_done": int(model.steps)})
    return result


def run_market(scn: Scenario, out: Path, *, hours: int | None = None, seed: int | None = None,
               resume: bool = False, restart: bool = False,
               progress: Callable[[int, int], None] | None = None) -> dict:
    """Run (or resume) the market into ``out``; return the summary.

    Args:
        scn: the scenario.
        out: output folder (created).
        hours: steps to run (default: the scenario's hours).
        seed: the run's seed (default: the scenario's seed).
        resume: carry on an interrupted run in ``out``.
        restart: discard whatever run is in ``out`` and start again.
        progress: called as ``progress(done, total)`` after every step.
    """
    out = Path(out)
    hours = hours or scn.hours
    seed = scn.seed if seed is None else seed
    manifest = {"scenario": scn.name, "scenario_source": scn.source,
                "fingerprint": _fingerprint(scn), "seed": seed, "hours": hours}
    existing = out / MANIFEST
    if restart:
        for name in OUTPUTS:
            (out / name).unlink(missing_ok=True)
        for fig in out.glob("*.png"):
            fig.unlink()
    elif existing.exists():
        found = json.loads(existing.read_text())
        if not resume:
            raise InputError(out, "", f"holds a {found.get('status', 'unknown')} run "
                             f"({found.get('hours_done')} of {found.get('hours')} h): pass "
                             "--resume to carry on or --restart to start again")
        same = {k: found.get(k) for k in manifest} == manifest
        if not same:
            raise InputError(out, MANIFEST, "holds a run of another scenario, seed or horizon; "
                             "pass --restart to replace it")
    elif resume:
        raise InputError(out, "", "no run to resume here (no run.json)")
    out.mkdir(parents=True, exist_ok=True)

    if resume and (out / CHECKPOINT).exists():
        model = pickle.loads((out / CHECKPOINT).read_bytes())
    else:
        model = MarketModel(scn, rng=seed, hours=hours)
        write_json(out / MANIFEST, {**manifest, "status": "running", "hours_done": 0})
    every = scn.market.checkpoint_hours
    result = summary(model, "running") if model.steps else {}
    while model.steps < hours:
        model.step()
        if progress:
            progress(int(model.steps), hours)
        if model.steps % every == 0 and model.steps < hours:
            result = _save(model, out, manifest, "running")
    if model.steps >= hours:
        result = _save(model, out, manifest, "complete")
    return result
