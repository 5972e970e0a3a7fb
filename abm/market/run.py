"""Running the market to files, as it goes, with checkpoints to resume from.

An output folder (format 2) holds:

- ``run.json``: the manifest: the run's identity (``run``, from the scenario's fingerprint,
  seed and hours), how far it got, every table part and the checkpoint with its SHA-256, and
  its own checksum;
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
checksum and identity.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from abm.config.scenario import Scenario, load_scenario
from abm.core.metrics import cost_usd_per_mwh
from abm.errors import InputError, ResultError, quoted
from abm.files import (
    check_sha256,
    folder_lock,
    sha256_bytes,
    sync_folder,
    write_bytes,
    write_json,
)
from abm.market.agents import ComputeRegion, GridZone, Operator
from abm.market.fingerprint import FORMAT, fingerprint, run_identity
from abm.market.loop import run
from abm.market.model import MarketModel
from abm.market.reporters import COST_PARTS
from abm.market.state import StateError

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


def tables(model: MarketModel) -> dict[str, pd.DataFrame]:
    """The rows the model has recorded (since it was built, or since its records were last
    taken by the run writer): one per step (and region, zone, migration, line, operator)."""
    dc = model.datacollector
    df = dc.get_model_vars_dataframe()
    hours = df["hour"].to_numpy()
    stamps = pd.Series([model.stamps[h] for h in hours], dtype="datetime64[us]")
    out = {"model": pd.DataFrame({"hour": hours, "time_utc": stamps,
                                  **{c: df[c].to_numpy() for c in df.columns if c != "hour"}})}
    for name, agent_type in (("regions", ComputeRegion), ("zones", GridZone),
                             ("operators", Operator)):
        if agent_type in dc.agenttype_reporters:
            df = dc.get_agenttype_vars_dataframe(agent_type)
            step = df.index.get_level_values("Step").to_numpy(dtype=np.int64)
            out[name] = pd.DataFrame({"hour": step - 1,
                                      **{c: df[c].to_numpy() for c in df.columns}})
    moves = model.migrations
    out["migrations"] = pd.DataFrame({
        "hour": np.array([m[0] for m in moves], dtype=np.int64),
        "from_region": pd.Series([m[1] for m in moves], dtype=object),
        "to_region": pd.Series([m[2] for m in moves], dtype=object),
        "mw": np.array([m[3] for m in moves], dtype=np.float64)})
    out["lines"] = lines_table(model)
    return out


def lines_table(model: MarketModel) -> pd.DataFrame:
    """Per hour and interconnector: flow (MW, + from ``from_zone`` to ``to_zone``) and whether
    the line is congested (at its limit in the flow's direction)."""
    names = np.array(model.grid.lines, dtype=object).reshape(-1, 3)
    n_l, n_h = len(names), len(model.line_rows)  # the hours since the records were taken
    rows = np.asarray(model.line_rows, dtype=float).reshape(-1, 2)
    return pd.DataFrame({
        "hour": np.repeat(np.arange(int(model.steps) - n_h, int(model.steps)), n_l),
        **{c: pd.Series(np.tile(names[:, i], n_h), dtype=object)
           for i, c in enumerate(("line", "from_zone", "to_zone"))},
        "flow_mw": rows[:, 0], "congested": rows[:, 1].astype(bool)})


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
    shift = model.shift_mwh
    flows = [{"from_zone": zones[i], "to_zone": zones[j], "mwh": float(shift[i, j])}
             for i, j in zip(*np.nonzero(shift > 1e-9), strict=True) if i != j]
    flows.sort(key=lambda f: -f["mwh"])

    voll = float(model.inst.policy.voll_usd_per_mwh)

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
        "cost_parts_usd": {name: float(df[f"cost_{name}_usd"].sum()) for name in COST_PARTS},
        "voll_usd_per_mwh": voll,
        "cost_usd_per_mwh": cost_usd_per_mwh(float(df.cost_usd.sum()),
                                             float(df.demand_mwh.sum()),
                                             float(df.unserved_mwh.sum()), voll),
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


def _sealed(manifest: dict) -> dict:
    body = {k: v for k, v in manifest.items() if k != "sha256"}
    return {**body, "sha256": sha256_bytes(json.dumps(body, sort_keys=True).encode())}


def read_manifest(folder: Path) -> dict:
    """A run folder's manifest, checked.

    Raises:
        InputError: naming ``run.json`` if it is missing, not JSON, of another format, or its
            checksum does not match its content.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise InputError(folder, MANIFEST, "missing: not a folder written by `abm run`")
    try:
        manifest = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, "", f"is damaged: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format", 1) if isinstance(manifest, dict) else "?"
        raise InputError(path, "format", f"is output format {found}; this version reads "
                         f"format {FORMAT}: run again with --restart")
    if _sealed(manifest) != manifest:
        raise InputError(path, "sha256", "is damaged: its checksum does not match its content "
                         "(edited or corrupted); it cannot be trusted")
    names = [e["file"] for entries in manifest["tables"].values() for e in entries]
    if manifest["checkpoint"] is not None:
        names.append(manifest["checkpoint"]["file"])
    for name in names:  # files of this folder only: a forged manifest reaches nothing else
        if not PART_NAME.fullmatch(name) and not CHECKPOINT_NAME.fullmatch(name):
            raise InputError(path, "tables", f"names a file outside the run's layout: "
                             f"{quoted(name)}")
    return manifest


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
    data = check_sha256(path, entry["sha256"], "this table part")
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(path, "", f"is not a readable Parquet part ({exc})") from None
    found = (table.schema.metadata or {}).get(RUN_KEY, b"").decode(errors="replace")
    if found != run:
        raise InputError(path, "", f"belongs to run {found or '(none)'}, not to this folder's "
                         f"run {run}: copied from another run; it cannot be trusted")
    return table


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
            table = pa.concat_tables(parts, promote_options="permissive")
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
        write_json(out / SUMMARY, result, sync=False)
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
    try:
        doc = json.loads(check_sha256(path, entry["sha256"], "the checkpoint"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, "", f"is damaged: not valid JSON ({exc})") from None
    if doc.get("run") != manifest["run"] or doc.get("hours_done") != manifest["hours_done"]:
        raise InputError(path, "run", f"belongs to run {doc.get('run')} at hour "
                         f"{doc.get('hours_done')}, not to this folder's run {manifest['run']} "
                         f"at hour {manifest['hours_done']}: copied from elsewhere")
    if doc.get("arrays") != path.with_suffix(".npz").name:
        raise InputError(path, "arrays", f"names {quoted(doc.get('arrays'))}, not "
                         f"{path.with_suffix('.npz').name}")
    npz_path = out / doc["arrays"]
    data = check_sha256(npz_path, doc["arrays_sha256"], "the checkpoint's arrays")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(npz_path, "", f"is not a readable array file ({exc})") from None
    try:
        model.restore(arrays, doc["state"])
    except (StateError, KeyError, TypeError, ValueError) as exc:
        raise InputError(path, "state", f"cannot be restored: {exc}") from None


def _clear(out: Path) -> None:
    """Remove a run's outputs (and those of the older format) from ``out``."""
    for name in (MANIFEST, SUMMARY, *LEGACY):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / TABLES, ignore_errors=True)
    for path in (*out.glob("checkpoint-*"), *out.glob("*.png"), *out.glob("*.tmp")):
        path.unlink()


def _drop_uncommitted(out: Path, manifest: dict) -> None:
    """Remove parts and checkpoint files a crash left that the manifest does not name."""
    listed = {e["file"] for entries in manifest["tables"].values() for e in entries}
    for path in (out / TABLES).glob("*/*"):
        if path.relative_to(out).as_posix() not in listed:
            path.unlink()
    keep = manifest["checkpoint"]
    for path in out.glob("checkpoint-*"):
        if keep is None or path.name.split(".")[0] != Path(keep["file"]).stem:
            path.unlink()
    for path in out.glob("*.tmp"):  # those under tables/ went with the unlisted parts
        path.unlink(missing_ok=True)


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
        progress: called as ``progress(done, total)`` after every step.
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
             "scenario_source": scn.source, "fingerprint": fp, "seed": seed, "hours": hours}
    with folder_lock(out):
        if restart:
            _clear(out)
        elif (out / MANIFEST).exists():
            found = read_manifest(out)
            if not resume:
                raise InputError(out, "", f"holds a {found['status']} run "
                                 f"({found['hours_done']} of {found['hours']} h): pass "
                                 "--resume to carry on or --restart to start again")
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
            if manifest["status"] == "complete":
                return json.loads((out / SUMMARY).read_text())
            for entries in manifest["tables"].values():  # every stored part is checked
                for entry in entries:
                    _read_part(out, entry, manifest["run"])
        else:
            manifest = {**ident, "status": "running", "hours_done": 0, "tables": {},
                        "checkpoint": None}
            _drop_uncommitted(out, manifest)
            write_json(out / MANIFEST, _sealed(manifest))
        writer = _Writer(out, manifest)
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
