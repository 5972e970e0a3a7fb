"""Running the market to files, as it goes, with checkpoints to resume from.

An output folder (format 3) holds:

- ``run.json``: the manifest: the run's identity (``run``, from the scenario's fingerprint,
  seed and hours), the code that made it (``code``), how far it got, every table part, the
  checkpoint and ``summary.json`` with their SHA-256, and its own checksum;
- ``tables/<table>/part-<first hour>.parquet``: the rows of ``model`` (one per hour),
  ``regions``, ``zones``, ``migrations``, ``lines`` (and ``operators`` with operator detail),
  one part per checkpoint, each tagged with the run's identity; once the run is complete, one
  part per table, ``part-complete.parquet``;
- ``checkpoint-<hours>.json`` + ``.npz``: the model's state as data (``MarketModel.state``;
  arrays and JSON, never pickle), gone once the run is complete;
- ``summary.json``: totals so far; figures at the end (``abm run``); ``.lock`` while a process
  writes.

A checkpoint (every ``checkpoint_seconds`` of wall time by default, or every
``checkpoint_hours`` hours; a run option, not part of the scenario) appends the rows since the
last one as new parts, saves the state, and replaces the manifest (atomically, after
everything it names is on disk). It so costs in proportion to the hours since the last one,
and a kill at any moment loses at most one interval: ``resume`` carries on from the last
checkpoint. When the run completes, each table's parts are gathered into one part (written
once), so the folder ends byte for byte as an uninterrupted run's however often it was
checkpointed or killed. Read tables with :func:`read_tables`, which checks every part's
checksum, identity and columns, and the summary with :func:`read_summary`. Every stored file
is read as an input is (``abm.files.read_input``) and held to its shape, so a damaged one is
an error naming it, never a traceback; resume and ``--restart`` touch only the files of this
layout (``OWN_FILE``).
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from abm.config.limits import MAX_HOURS, MAX_SEED, MAX_STATE_BYTES, MAX_STORED_BYTES
from abm.config.scenario import Scenario, load_scenario
from abm.core.metrics import EMISSION_BASES, LAYERS, cost_usd_per_mwh
from abm.errors import InputError, ResultError, quoted
from abm.files import (
    LOCK,
    check_sha256,
    folder_lock,
    parse_json,
    read_json,
    sha256_bytes,
    sync_folder,
    write_bytes,
    write_json,
)
from abm.market.events import COLUMNS as EVENT_COLUMNS
from abm.market.events import TOTALS as EVENT_TOTALS
from abm.market.fingerprint import FORMAT, code_fingerprint, fingerprint, run_identity
from abm.market.loop import run
from abm.market.model import MarketModel
from abm.market.operators import Operator
from abm.market.regions import ComputeRegion
from abm.market.reporters import (
    COST_PARTS,
    MODEL,
    OPERATOR,
    REGION,
    STEP_VALUES,
    ZONE,
)
from abm.market.state import StateError
from abm.market.zones import GridZone

log = logging.getLogger(__name__)  # the command line shows warnings as one line each

MANIFEST = "run.json"
SUMMARY = "summary.json"
TABLES = "tables"
CHECKPOINT_SECONDS = 60.0  # default checkpoint interval of a run: seconds of wall time
RUN_KEY = b"abm.run"  # Parquet metadata key of a part's run identity
COMPLETE = "part-complete.parquet"  # a complete run's one part per table
PART_NAME = re.compile(r"tables/[a-z_]+/part-(\d{6}|complete)\.parquet")
CHECKPOINT_NAME = re.compile(r"checkpoint-\d{6}\.json")
LEGACY = ("model.parquet", "regions.parquet", "zones.parquet", "migrations.parquet",
          "lines.parquet", "operators.parquet", "checkpoint.pkl")
FIGURES = ("zone_load.png", "generation.png", "emissions.png", "shifts.png")
RESTART = "run it again with --restart"  # what to do when a stored file cannot be trusted
# Files (and their temporary names, ``<name>.<pid>.tmp``) this writer makes in a run folder:
# resume and --restart remove those the manifest does not name, and only those
OWN_FILE = re.compile(r"(run\.json|summary\.json|checkpoint-\d{6}\.(json|npz)|"
                      r"(zone_load|generation|emissions|shifts)\.png|"
                      r"tables/[a-z_]+/part-(\d{6}|complete)\.parquet)(\.\d+\.tmp)?")
# The columns every part of a table carries (the reporters' names; zones also have one
# gen_<technology>_mw per technology) and those that hold text, not numbers
COLUMNS = {"model": ("hour", "time_utc", *STEP_VALUES),
           "regions": ("hour", "time_utc", *REGION), "zones": ("hour", "time_utc", *ZONE),
           "operators": ("hour", "time_utc", *OPERATOR),
           "migrations": ("hour", "time_utc", "from_region", "to_region", "mw"),
           "lines": ("hour", "time_utc", "line", "from_zone", "to_zone", "flow_mw", "congested"),
           "events": EVENT_COLUMNS}
TEXT = {"region", "zone", "marginal_technology", "operator", "strategy", "from_region",
        "to_region", "line", "from_zone", "to_zone", "event", "trigger"}
assert set(MODEL) <= set(COLUMNS["model"])


def tables(model: MarketModel) -> dict[str, pd.DataFrame]:
    """The rows the model has recorded (since it was built, or since its records were last
    taken by the run writer): one per step (and region, zone, migration, line, operator)."""
    dc = model.datacollector
    df = dc.get_model_vars_dataframe()
    hours = df["hour"].to_numpy()
    out = {"model": pd.DataFrame({"hour": hours, "time_utc": time_utc(model, hours),
                                  **{c: df[c].to_numpy() for c in df.columns if c != "hour"}})}
    for name, agent_type in (("regions", ComputeRegion), ("zones", GridZone),
                             ("operators", Operator)):
        if agent_type in dc.agenttype_reporters:
            df = dc.get_agenttype_vars_dataframe(agent_type)
            step = df.index.get_level_values("Step").to_numpy(dtype=np.int64)
            out[name] = pd.DataFrame({"hour": step - 1, "time_utc": time_utc(model, step - 1),
                                      **{c: df[c].to_numpy() for c in df.columns}})
    moves = model.operators.migrations
    moved = np.array([m[0] for m in moves], dtype=np.int64)
    out["migrations"] = pd.DataFrame({
        "hour": moved, "time_utc": time_utc(model, moved),
        "from_region": pd.Series([m[1] for m in moves], dtype=object),
        "to_region": pd.Series([m[2] for m in moves], dtype=object),
        "mw": np.array([m[3] for m in moves], dtype=np.float64)})
    out["lines"] = lines_table(model)
    if model.events:
        out["events"] = events_table(model)
    return out


def time_utc(model: MarketModel, hours: np.ndarray) -> pd.Series:
    """The UTC start of each hour of the run in ``hours`` (0 = the scenario's start), as
    time-zone-aware timestamps: every hourly table's ``time_utc`` column."""
    start = np.datetime64(model.stamps[0], "us")
    stamps = start + np.asarray(hours, dtype=np.int64) * np.timedelta64(3600_000_000, "us")
    return pd.Series(pd.DatetimeIndex(stamps).tz_localize("UTC"))


def events_table(model: MarketModel) -> pd.DataFrame:
    """Per hour and running demand-response event: what it asked of its zone, what the zone
    delivered and how (MWh of IT load; ``abm.market.events``)."""
    rows = model.events.rows
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(EVENT_COLUMNS)
    data = dict(zip(EVENT_COLUMNS, cols, strict=True))
    hours = np.array(data["hour"], dtype=np.int64)
    text = {"event", "zone", "trigger"}
    return pd.DataFrame({
        c: (hours if c == "hour" else time_utc(model, hours) if c == "time_utc"
            else np.array(v, dtype=np.int64) if c == "start_hour"
            else pd.Series(list(v), dtype="str") if c in text
            else np.array(v, dtype=np.float64))
        for c, v in data.items()})


def lines_table(model: MarketModel) -> pd.DataFrame:
    """Per hour and interconnector: flow (MW, + from ``from_zone`` to ``to_zone``) and whether
    the line is congested (at its limit in the flow's direction)."""
    names = np.array(model.grid.lines, dtype=object).reshape(-1, 3)
    line_rows = model.zones.line_rows
    n_l, n_h = len(names), len(line_rows)  # the hours since the records were taken
    rows = np.asarray(line_rows, dtype=float).reshape(-1, 2)
    hours = np.repeat(np.arange(int(model.steps) - n_h, int(model.steps)), n_l)
    return pd.DataFrame({
        "hour": hours, "time_utc": time_utc(model, hours),
        **{c: pd.Series(np.tile(names[:, i], n_h), dtype=object)
           for i, c in enumerate(("line", "from_zone", "to_zone"))},
        "flow_mw": rows[:, 0], "congested": rows[:, 1].astype(bool)})


def _waiting(df: pd.DataFrame) -> float:
    """MWh of deferrable work still waiting at the end of the rows (0 without deferral): not
    yet served nor missed, so left out of the cost per MWh of demand."""
    return float(df.backlog_mwh.iloc[-1]) if "backlog_mwh" in df and len(df) else 0.0


def summary(model: MarketModel, status: str, model_table: pd.DataFrame | None = None) -> dict:
    """Totals over the finished steps: MWh, $, kgCO2 on three bases, shares, shifts.

    Args:
        model: the model.
        status: ``running`` or ``complete``.
        model_table: every step's model row (default: the rows the model has recorded).
    """
    df = model.datacollector.get_model_vars_dataframe() if model_table is None else model_table
    served = float(df.served_mwh.sum())
    zones = [z.id for z in model.inst.scenario.zones]
    shift = model.operators.shift_mwh
    flows = [{"from_zone": zones[i], "to_zone": zones[j], "mwh": float(shift[i, j])}
             for i, j in zip(*np.nonzero(shift > 1e-9), strict=True) if i != j]
    flows.sort(key=lambda f: -f["mwh"])

    voll = float(model.inst.policy.voll_usd_per_mwh)
    grid = float(df.grid_energy_mwh.sum())

    def weighted(col: str) -> float:
        return float((df[col] * df.served_mwh).sum() / served) if served else 0.0

    result = {
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
        **{f"cost_{name}_usd": float(df[f"cost_{name}_usd"].sum()) for name in COST_PARTS},
        "voll_usd_per_mwh": voll,
        "cost_usd_per_mwh": cost_usd_per_mwh(float(df.cost_usd.sum()),
                                             float(df.demand_mwh.sum()) - _waiting(df),
                                             float(df.unserved_mwh.sum()), voll),
        "grid_energy_mwh": grid,
        "dc_price_usd_per_mwh": (float((df.dc_price_usd_per_mwh * df.grid_energy_mwh).sum()
                                       / grid) if grid else 0.0),
        **{f"emissions_{basis}_kg": float(df[f"emissions_{basis}_kg"].sum())
           for basis in EMISSION_BASES},
        "relocation_effect_kg": float(df.relocation_effect_kg.sum()),
        "relocated_share": weighted("relocated_share"),
        **{f"layer_{k}_share": weighted(f"layer_{k}_share") for k in LAYERS},
        "shifted_mwh_by_zone_pair": flows[:20],
    }
    if "backlog_mwh" in df:  # deferrable work (docs/market.md, "Deferrable work")
        result.update({
            "work_arrived_mwh": float(df.work_arrived_mwh.sum()),
            "work_run_mwh": float(df.work_run_mwh.sum()),
            "missed_mwh": float(df.missed_mwh.sum()),
            "backlog_end_mwh": _waiting(df),
        })
    if "event_called" in df:  # demand-response events (docs/market.md)
        result["event_called"] = int(df.event_called.sum())
        result.update({f"event_{name}": float(df[f"event_{name}"].sum())
                       for name in EVENT_TOTALS})
    # pandas' sums skip NaN: a NaN in any hour's row is caught here, not summed away
    numeric = df.select_dtypes("number")
    bad = [str(c) for c in numeric.columns[~np.isfinite(numeric.to_numpy()).all(axis=0)]]
    bad += [name for name, value in _numbers(result) if not np.isfinite(value)]
    if bad:
        raise ResultError(f"the run's results after {len(df)} h are not finite: "
                          f"{', '.join(dict.fromkeys(bad))}; nothing more is written")
    return result


def _numbers(tree: object, path: str = "") -> list[tuple[str, float]]:
    """Every number in a summary (nested dicts and lists) with its dotted path."""
    if isinstance(tree, dict):
        return [n for k, v in tree.items() for n in _numbers(v, f"{path}.{k}" if path else k)]
    if isinstance(tree, list):
        return [n for i, v in enumerate(tree) for n in _numbers(v, f"{path}[{i}]")]
    if isinstance(tree, int | float) and not isinstance(tree, bool):
        return [(path, float(tree))]
    return []


def simulate(scn: Scenario, seed: int | None = None, hours: int | None = None) -> dict:
    """Run the market in memory (no files) and return its summary."""
    model = MarketModel(scn, rng=seed, hours=hours)
    run(model)
    return summary(model, "complete")


# ---------------------------------------------------------------------------------------------
# The manifest and reading a run folder


SHA = str
ENTRY = {"file": str, "sha256": SHA, "rows": int, "first_hour": int, "end_hour": int}
MANIFEST_SHAPE = {
    "format": int, "run": str, "scenario": str, "scenario_source": str, "fingerprint": str,
    "seed": int, "hours": int, "code": {"version": str, "sources": str},
    "status": {"running", "complete"}, "hours_done": int, "tables": {str: [ENTRY]},
    "checkpoint": ({"file": str, "sha256": SHA}, type(None)), "summary_sha256": (SHA, type(None)),
    "sha256": SHA}
CHECKPOINT_SHAPE = {"format": int, "run": str, "hours_done": int, "arrays": str,
                    "arrays_sha256": SHA, "state": {str: object}}
SHIFT = {"from_zone": str, "to_zone": str, "mwh": float}
SUMMARY_SHAPE = {
    "scenario": str, "status": {"running", "complete"}, "seed": int, "hours": int,
    "hours_planned": int, "operators": int,
    **{k: float for k in ("demand_mwh", "served_mwh", "unserved_mwh", "moved_mwh",
                          "herding_mwh", "cost_usd", "voll_usd_per_mwh", "cost_usd_per_mwh",
                          "grid_energy_mwh", "dc_price_usd_per_mwh", "relocation_effect_kg",
                          "relocated_share", *(f"cost_{n}_usd" for n in COST_PARTS),
                          *(f"emissions_{b}_kg" for b in EMISSION_BASES),
                          *(f"layer_{k}_share" for k in LAYERS))},
    "shifted_mwh_by_zone_pair": [SHIFT]}
# with deferrable work (docs/market.md, "Deferrable work") the summary also has its totals,
# with demand-response events those of the events ("Demand-response events"), or both
_DEFERRAL = dict.fromkeys(("work_arrived_mwh", "work_run_mwh", "missed_mwh", "backlog_end_mwh"),
                          float)
_EVENTS = {"event_called": int, **{f"event_{name}": float for name in EVENT_TOTALS}}
SUMMARY_SHAPE = (SUMMARY_SHAPE, {**SUMMARY_SHAPE, **_DEFERRAL}, {**SUMMARY_SHAPE, **_EVENTS},
                 {**SUMMARY_SHAPE, **_DEFERRAL, **_EVENTS})


def _sealed(manifest: dict) -> dict:
    body = {k: v for k, v in manifest.items() if k != "sha256"}
    return {**body, "sha256": sha256_bytes(json.dumps(body, sort_keys=True).encode())}


def read_manifest(folder: Path) -> dict:
    """A run folder's manifest, checked: its own checksum, its shape (every field the reader
    uses, of its type) and that every file it names is one of the run's layout.

    Raises:
        InputError: naming ``run.json`` if it is missing, not a regular file, not JSON, of
            another format, of another shape, or its checksum does not match its content.
    """
    path = Path(folder) / MANIFEST
    if not (path.exists() or path.is_symlink()):
        raise InputError(folder, MANIFEST, "missing: not a folder written by `abm run`")
    manifest = read_json(path, MAX_STORED_BYTES, {str: object}, "a run's manifest", RESTART)
    if manifest.get("format") != FORMAT:
        found = manifest.get("format", 1)
        raise InputError(path, "format", f"is output format {quoted(found)}; this version reads "
                         f"format {FORMAT}: {RESTART}")
    if _sealed(manifest) != manifest:
        raise InputError(path, "sha256", "is damaged: its checksum does not match its content "
                         f"(edited or corrupted); it cannot be trusted: {RESTART}")
    parse_json(json.dumps(manifest).encode(), path, MANIFEST_SHAPE, RESTART)
    if not (0 <= manifest["seed"] <= MAX_SEED and 1 <= manifest["hours"] <= MAX_HOURS
            and 0 <= manifest["hours_done"] <= manifest["hours"]
            and manifest["run"] == run_identity(manifest["fingerprint"], manifest["seed"],
                                                manifest["hours"])):
        raise InputError(path, "run", "is damaged: its seed, hours and identity do not agree; "
                         f"it cannot be trusted: {RESTART}")
    names = [e["file"] for entries in manifest["tables"].values() for e in entries]
    if manifest["checkpoint"] is not None:
        names.append(manifest["checkpoint"]["file"])
    for name in names:  # files of this folder only: a forged manifest reaches nothing else
        if not PART_NAME.fullmatch(name) and not CHECKPOINT_NAME.fullmatch(name):
            raise InputError(path, "tables", f"names a file outside the run's layout: "
                             f"{quoted(name)}")
    for table, entries in manifest["tables"].items():
        if table not in COLUMNS or any(not e["file"].startswith(f"{TABLES}/{table}/")
                                       for e in entries):
            raise InputError(path, "tables", f"names a table the run does not write: "
                             f"{quoted(table)}; it cannot be trusted: {RESTART}")
    return manifest


def read_summary(folder: str | Path, manifest: dict | None = None) -> dict:
    """A run folder's ``summary.json``, its checksum checked against the manifest's.

    Raises:
        InputError: naming the file, if it is missing, damaged (one digit changed is enough),
            or of another shape; or if the run has not written one yet.
    """
    folder = Path(folder)
    manifest = read_manifest(folder) if manifest is None else manifest
    if manifest["summary_sha256"] is None:
        raise InputError(folder, SUMMARY, "the run has not finished its first checkpoint: no "
                         "summary yet; carry on with --resume")
    data = check_sha256(folder / SUMMARY, manifest["summary_sha256"], "the run's summary",
                        MAX_STORED_BYTES, RESTART)
    return parse_json(data, folder / SUMMARY, SUMMARY_SHAPE, RESTART)


def scenario_of_run(folder: str | Path) -> tuple[Scenario, dict, bool]:
    """The scenario file a run folder was made from, read again, the run's manifest, and
    whether the file still has the run's fingerprint (False: edited since the run).

    Raises:
        InputError: the manifest is missing or damaged, or the scenario file is gone.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    source = Path(manifest["scenario_source"])
    if not source.is_file():
        raise InputError(folder / MANIFEST, "scenario_source",
                         f"the run's scenario file {str(source)!r} is not there")
    scn = load_scenario(source)
    return scn, manifest, fingerprint(scn) == manifest["fingerprint"]


def run_model(folder: str | Path) -> MarketModel:
    """The model of the run in ``folder`` as it was built at the run's start (its scenario,
    population, hours, signals and grid; none of its steps): what the run's tables describe.

    Raises:
        InputError: the scenario file is gone or no longer has the run's fingerprint.
    """
    scn, manifest, same = scenario_of_run(folder)
    if not same:
        raise InputError(manifest["scenario_source"], "", "has changed since the run in "
                         f"{folder} was made (its fingerprint differs): the run cannot be "
                         "rebuilt from it; run it again")
    return MarketModel(scn, rng=manifest["seed"], hours=manifest["hours"])


def _read_part(folder: Path, entry: dict, run: str) -> pa.Table:
    path = Path(folder) / entry["file"]
    data = check_sha256(path, entry["sha256"], "this table part", MAX_STORED_BYTES, RESTART)
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError):
        raise InputError(path, "", f"is not a readable Parquet part: {RESTART}") from None
    found = (table.schema.metadata or {}).get(RUN_KEY, b"").decode(errors="replace")
    if found != run:
        raise InputError(path, "", f"belongs to run {quoted(found or '(none)', 20)}, not to this "
                         f"folder's run {run}: copied from another run; it cannot be trusted: "
                         f"{RESTART}")
    name = PART_NAME.fullmatch(entry["file"])
    table_name = entry["file"].split("/")[1]
    problem = _columns_problem(table_name, table) if name else "not a part"
    if problem is None and table.num_rows != entry["rows"]:
        problem = f"{table.num_rows} rows, the manifest says {entry['rows']}"
    if problem:
        raise InputError(path, "", f"is damaged ({problem}); it cannot be trusted: {RESTART}")
    return table


def _columns_problem(name: str, table: pa.Table) -> str | None:
    """What is wrong with the columns of a part of table ``name``, or None: each of the
    table's columns there, text where text belongs, every other one numbers (finite) or
    times."""
    missing = [c for c in COLUMNS[name] if c not in table.column_names]
    if missing:
        return f"lacks column(s) {', '.join(missing[:3])}"
    for column, kind in zip(table.column_names, table.schema.types, strict=True):
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind) or \
            pa.types.is_null(kind)
        if column in TEXT:
            if not text:
                return f"column {column} holds no text"
        elif pa.types.is_floating(kind):
            values = table[column].to_numpy(zero_copy_only=False)
            if not np.isfinite(values).all():
                return f"column {quoted(column, 40)} holds a number that is not finite"
        elif not (pa.types.is_integer(kind) or pa.types.is_boolean(kind)
                  or pa.types.is_timestamp(kind) or (text and name == "zones")):
            return f"column {quoted(column, 40)} holds neither numbers nor times"
    return None


def read_tables(folder: str | Path, *names: str) -> dict[str, pd.DataFrame]:
    """The tables of a run folder, each gathered from its parts (checksums and identity
    checked): the ``names`` asked for, or every table the run has.

    Raises:
        InputError: naming the file, if the manifest or a part is missing, damaged or from
            another run, or a table asked for is not in the run.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    listed = manifest["tables"]
    for name in names:
        if name not in listed:
            raise InputError(folder / MANIFEST, "tables", f"the run has no table {name!r}; it "
                             f"has {', '.join(sorted(listed))}")
    out = {}
    for name in names or tuple(listed):
        parts = [_read_part(folder, entry, manifest["run"]) for entry in listed[name]]
        if parts:
            try:
                table = pa.concat_tables(parts, promote_options="permissive")
            except pa.ArrowException:
                raise InputError(folder / TABLES / name, "", "its parts do not fit together "
                                 f"(their columns differ); they cannot be trusted: {RESTART}"
                                 ) from None
            out[name] = table.to_pandas().reset_index(drop=True)
        else:
            out[name] = pd.DataFrame()
    return out


# ---------------------------------------------------------------------------------------------
# Writing a run folder


def _arrow(df: pd.DataFrame, run: str) -> pa.Table:
    table = pa.Table.from_pandas(df, preserve_index=False)
    return table.replace_schema_metadata({**(table.schema.metadata or {}), RUN_KEY: run.encode()})


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table.combine_chunks(), buf)
    return buf.getvalue()


def _json_bytes(doc: dict) -> bytes:
    """A stored JSON file's bytes (as ``abm.files.write_json`` writes them)."""
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def _checkpoint_name(hours_done: int) -> str:
    return f"checkpoint-{hours_done:06d}"


class _Writer:
    """Appends a run's rows part by part, keeps its manifest, and gathers each table into one
    part when the run completes."""

    def __init__(self, out: Path, manifest: dict) -> None:
        self.out, self.manifest = out, manifest
        self.history: list[pd.DataFrame] = []  # the model table, for the summary

    def _store(self, name: str, file: str, table: pa.Table, first: int, done: int) -> None:
        data = _parquet_bytes(table)
        (self.out / TABLES / name).mkdir(parents=True, exist_ok=True)
        write_bytes(self.out / file, data, sync=False)
        entries = self.manifest["tables"].setdefault(name, [])
        entries[:] = [e for e in entries if e["file"] != file]
        entries.append({"file": file, "sha256": sha256_bytes(data), "rows": table.num_rows,
                        "first_hour": first, "end_hour": done})

    def checkpoint(self, model: MarketModel, status: str) -> dict:
        """Append the rows since the last checkpoint and save the state (running), or gather
        each table into one part (complete); then commit the manifest; return the summary."""
        out, manifest = self.out, self.manifest
        run, done = manifest["run"], int(model.steps)
        first = int(manifest["hours_done"])
        new = tables(model)
        model.reset_records()
        self.history.append(new["model"])
        replaced = []
        for name, df in new.items():
            if status == "complete":  # one part per table: the same bytes however it was cut
                replaced += [e["file"] for e in manifest["tables"].get(name, ())]
                parts = [_read_part(out, e, run) for e in manifest["tables"].get(name, ())]
                manifest["tables"][name] = []
                whole = pa.concat_tables([*parts, _arrow(df, run)], promote_options="permissive")
                self._store(name, f"{TABLES}/{name}/{COMPLETE}", whole, 0, done)
            elif len(df) or not manifest["tables"].get(name):  # an empty part adds nothing
                self._store(name, f"{TABLES}/{name}/part-{first:06d}.parquet", _arrow(df, run),
                            first, done)
        old = manifest["checkpoint"]
        manifest["checkpoint"] = None
        if status == "running":
            manifest["checkpoint"] = _save_state(model, out, run)
        result = summary(model, status, pd.concat(self.history, ignore_index=True))
        text = _json_bytes(result)
        write_bytes(out / SUMMARY, text, sync=False)
        manifest["summary_sha256"] = sha256_bytes(text)
        for folder in (*(out / TABLES / name for name in new), out):
            sync_folder(folder)  # every file the manifest names is on disk before it is
        manifest.update(status=status, hours_done=done)
        write_json(out / MANIFEST, _sealed(manifest))
        for file in replaced:
            (out / file).unlink(missing_ok=True)
        if old is not None and old != manifest["checkpoint"]:
            for suffix in (".json", ".npz"):
                (out / Path(old["file"]).with_suffix(suffix)).unlink(missing_ok=True)
        return result


def _save_state(model: MarketModel, out: Path, run: str) -> dict:
    arrays, meta = model.state()
    buf = io.BytesIO()
    np.savez_compressed(buf, allow_pickle=False, **arrays)
    name = _checkpoint_name(int(model.steps))
    npz = buf.getvalue()
    write_bytes(out / f"{name}.npz", npz, sync=False)
    doc = {"format": FORMAT, "run": run, "hours_done": int(model.steps),
           "arrays": f"{name}.npz", "arrays_sha256": sha256_bytes(npz), "state": meta}
    text = (json.dumps(doc, sort_keys=True) + "\n").encode()
    write_bytes(out / f"{name}.json", text, sync=False)
    return {"file": f"{name}.json", "sha256": sha256_bytes(text)}


def load_state(model: MarketModel, out: Path, manifest: dict) -> None:
    """Restore ``model`` (freshly built) from the run's checkpoint, every byte checked.

    Raises:
        InputError: naming the file, if the checkpoint is missing, damaged, truncated, of
            another run, or holds a state this version of the model does not store.
    """
    entry = manifest["checkpoint"]
    path = out / entry["file"]
    doc = parse_json(check_sha256(path, entry["sha256"], "the checkpoint", MAX_STORED_BYTES,
                                  RESTART), path, CHECKPOINT_SHAPE, RESTART)
    if doc.get("run") != manifest["run"] or doc.get("hours_done") != manifest["hours_done"]:
        raise InputError(path, "run", f"belongs to run {doc.get('run')} at hour "
                         f"{doc.get('hours_done')}, not to this folder's run {manifest['run']} "
                         f"at hour {manifest['hours_done']}: copied from elsewhere")
    if doc.get("arrays") != path.with_suffix(".npz").name:
        raise InputError(path, "arrays", f"names {quoted(doc.get('arrays'))}, not "
                         f"{path.with_suffix('.npz').name}")
    npz_path = out / doc["arrays"]
    data = check_sha256(npz_path, doc["arrays_sha256"], "the checkpoint's arrays",
                        MAX_STORED_BYTES, RESTART)
    arrays = load_arrays(data, npz_path, MAX_STATE_BYTES)
    try:
        model.restore(arrays, doc["state"])
    except (StateError, KeyError, TypeError, ValueError, IndexError, AttributeError,
            OverflowError) as exc:
        raise InputError(path, "state", f"cannot be restored ({exc}): {RESTART}") from None


def load_arrays(data: bytes, path: Path, max_bytes: int) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file's bytes, never more than ``max_bytes`` of them unpacked:
    each member's declared size, and each array's header against it, is checked before
    anything is decompressed (a zip bomb is refused, not unpacked); no pickle is loaded.

    Raises:
        InputError: naming ``path``, if it is not a readable array file or unpacks to more
            than ``max_bytes``.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
            if sum(m.file_size for m in members) > max_bytes:
                raise InputError(path, "", f"unpacks to more than {max_bytes:,} bytes (the "
                                 "bound of abm/config/limits.py): refused; " + RESTART)
            for m in members:  # the array's header may not declare more than the member holds
                with zf.open(m) as f:
                    version = np.lib.format.read_magic(f)
                    shape, _, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                                       else np.lib.format.read_array_header_2_0(f))
                    if dtype.hasobject:
                        raise InputError(path, "", "is not a readable array file (member "
                                         f"{quoted(m.filename)} holds Python objects, which "
                                         f"are never loaded): {RESTART}")
                    if int(np.prod(shape)) * dtype.itemsize > m.file_size:
                        raise InputError(path, "", f"is damaged (member {quoted(m.filename)} "
                                         f"declares more than it holds): {RESTART}")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError, KeyError,
            TypeError, OverflowError, NotImplementedError):
        raise InputError(path, "", f"is not a readable array file: {RESTART}") from None


def _tidy(out: Path, keep: set[str]) -> None:
    """Remove the files of this writer's layout (``OWN_FILE``: manifest, summary, figures,
    checkpoints, table parts, their temporary names; the older format's) in ``out`` that
    ``keep`` does not name. Every other file or folder is left alone and named in a warning."""
    foreign: list[str] = []

    def own(entry: Path, name: str) -> bool:
        return not entry.is_dir() and (OWN_FILE.fullmatch(name) is not None or name in LEGACY)

    for entry in sorted(out.iterdir()):
        name = entry.name
        if name in keep or name in (TABLES, LOCK):
            continue
        if own(entry, name):
            entry.unlink()
        else:
            foreign.append(name)
    tables = out / TABLES
    for folder in sorted(tables.iterdir()) if tables.is_dir() else ():
        if not folder.is_dir() or folder.is_symlink():
            foreign.append(folder.relative_to(out).as_posix())
            continue
        for entry in sorted(folder.iterdir()):
            name = entry.relative_to(out).as_posix()
            if name in keep:
                continue
            if own(entry, name):
                entry.unlink()
            else:
                foreign.append(name + ("/" if entry.is_dir() else ""))
        if folder.name in COLUMNS and not any(folder.iterdir()):
            folder.rmdir()
    if foreign:
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        log.warning("%s: not written by abm run, left alone: %s%s", out,
                    ", ".join(quoted(f, 60) for f in foreign[:5]), more)


def _clear(out: Path) -> None:
    """Remove a run's outputs (and those of the older format) from ``out``; anything else
    stays."""
    _tidy(out, set())


def _drop_uncommitted(out: Path, manifest: dict) -> None:
    """Remove the parts, checkpoint files and temporary files a crash left that the manifest
    does not name (files of the run's own layout only)."""
    keep = {e["file"] for entries in manifest["tables"].values() for e in entries}
    keep |= {MANIFEST, SUMMARY, *FIGURES}
    if manifest["checkpoint"] is not None:
        stem = Path(manifest["checkpoint"]["file"]).stem
        keep |= {f"{stem}.json", f"{stem}.npz"}
    _tidy(out, keep)


def run_market(scn: Scenario, out: Path, *, hours: int | None = None, seed: int | None = None,
               resume: bool = False, restart: bool = False,
               checkpoint_hours: int | None = None,
               checkpoint_seconds: float = CHECKPOINT_SECONDS,
               progress: Callable[[int, int], None] | None = None,
               timings: dict[str, float] | None = None) -> dict:
    """Run (or resume) the market into ``out``; return the summary.

    Args:
        scn: the scenario.
        out: output folder (created; locked while this runs).
        hours: steps to run (default: the scenario's hours).
        seed: the run's seed (default: the scenario's seed).
        resume: carry on an interrupted run in ``out`` from its last checkpoint.
        restart: discard whatever run is in ``out`` and start again.
        checkpoint_hours: append the tables and save the state every this many hours (the
            folder's parts are then the same in every run); if None, ...
        checkpoint_seconds: ... after the first hour that ends this many seconds of wall time
            after the last checkpoint (a kill loses at most about that much work).
        progress: called as ``progress(done, total)`` once before the first step (``done``:
            the hours a resumed run has already) and after every step
            (``abm.market.progress.RunProgress``).
        timings: if given, receives ``write_s``, the seconds spent writing checkpoints, and
            ``checkpoints``, how many were written.

    Raises:
        InputError: ``out`` holds a run and neither flag is given, holds another run, another
            process writes into it, or a stored file is damaged (named in the message).
    """
    out = Path(out)
    hours = hours or scn.hours
    seed = scn.seed if seed is None else seed
    if checkpoint_hours is not None and checkpoint_hours < 1:
        raise InputError("--checkpoint-hours", "checkpoint_hours",
                         f"expected a whole number >= 1, got {checkpoint_hours}")
    if not checkpoint_seconds > 0:
        raise InputError("--checkpoint-seconds", "checkpoint_seconds",
                         f"expected a number of seconds > 0, got {checkpoint_seconds}")
    fp = fingerprint(scn)
    ident = {"format": FORMAT, "run": run_identity(fp, seed, hours), "scenario": scn.name,
             "scenario_source": scn.source, "fingerprint": fp, "seed": seed, "hours": hours,
             "code": code_fingerprint()}
    with folder_lock(out):
        if restart:
            _clear(out)
        elif (out / MANIFEST).exists():
            found = read_manifest(out)
            if not resume:
                raise InputError(out, "", f"holds a {found['status']} run "
                                 f"({found['hours_done']} of {found['hours']} h): pass "
                                 "--resume to carry on or --restart to start again")
            if found["code"] != ident["code"]:
                made, now = found["code"], ident["code"]
                raise InputError(out / MANIFEST, "code", "was made by other code (abm "
                                 f"{quoted(made['version'], 20)}, sources "
                                 f"{quoted(made['sources'], 20)}; this is abm {now['version']}, "
                                 f"sources {now['sources']}): a resumed run would mix two "
                                 "versions of the model; pass --restart to run it again")
            if {k: found.get(k) for k in ident if k != "scenario_source"} != {
                    k: v for k, v in ident.items() if k != "scenario_source"}:
                raise InputError(out / MANIFEST, "fingerprint", "holds a run of another "
                                 "scenario, seed or horizon; pass --restart to replace it")
        elif resume:
            raise InputError(out, "", "no run to resume here (no run.json)")
        elif any((out / name).exists() for name in LEGACY):
            raise InputError(out, "", "holds a run of an older output format; pass --restart")

        if resume:
            manifest = {**found, "scenario_source": scn.source}
            _drop_uncommitted(out, manifest)
            for entries in manifest["tables"].values():  # every stored part is checked
                for entry in entries:
                    _read_part(out, entry, manifest["run"])
            if manifest["status"] == "complete":
                return read_summary(out, manifest)
        else:
            manifest = {**ident, "status": "running", "hours_done": 0, "tables": {},
                        "checkpoint": None, "summary_sha256": None}
            if not restart:  # cleared above (and what is not the run's named there, once)
                _drop_uncommitted(out, manifest)
            write_json(out / MANIFEST, _sealed(manifest))
        writer = _Writer(out, manifest)
        if progress:
            progress(int(manifest["hours_done"]), hours)
        model = MarketModel(scn, rng=seed, hours=hours)
        if manifest["checkpoint"] is not None:
            load_state(model, out, manifest)
            writer.history.append(read_tables(out, "model")["model"])
        clock = {"spent": 0.0, "count": 0, "last": time.monotonic()}
        result: dict = {}

        def after_step(model: MarketModel) -> None:
            """Progress, and a checkpoint when one is due (always after the last hour)."""
            if progress:
                progress(int(model.steps), hours)
            due = (model.steps % checkpoint_hours == 0 if checkpoint_hours
                   else time.monotonic() - clock["last"] >= checkpoint_seconds)
            if due or model.steps == hours:
                start = time.monotonic()
                result.update(writer.checkpoint(
                    model, "complete" if model.steps == hours else "running"))
                clock["last"] = time.monotonic()
                clock["spent"] += clock["last"] - start
                clock["count"] += 1

        run(model, on_step=after_step)
        if timings is not None:
            timings.update(write_s=clock["spent"], checkpoints=int(clock["count"]))
        return result
