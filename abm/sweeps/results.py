"""A sweep's folder: one Parquet part per finished run, the consolidated tables, the manifest.

Layout of ``DIR``:

- ``runs/part-0000042.<sha>.parquet``: the row of run 42, written (to a temporary name,
  flushed to disk, then renamed) as soon as the run finishes, so a crash of any process loses at
  most the runs in flight. ``<sha>`` is the first 16 hex digits of the file's SHA-256, and the
  file's Parquet metadata names its sweep (``spec_hash``) and run id: a damaged part, or one
  copied under another run's name or from another sweep, is never trusted (``--resume`` moves
  it to ``runs/damaged/`` and runs it again; reading the results names it);
- ``results.parquet``: the design runs, one row per run sorted by run id: ``run_id``,
  ``sample``, ``replication``, ``seed``, one column per parameter (its dotted path), one per
  outcome, ``saved.X`` savings against the baseline and ``series.X`` lists (per hour);
- ``baseline.parquet``: the baseline runs (one per replication), when the sweep has one;
- ``manifest.json``: the sweep (as a table), its hash, the code that runs it, design size,
  status and progress, and its own checksum: a damaged or edited manifest is an error naming
  it, never a report on a sweep it does not describe;
- ``.lock``: held (``flock``) by the process running the sweep.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from abm.config.limits import MAX_STORED_BYTES
from abm.errors import InputError
from abm.files import (
    parse_json,
    read_input,
    read_json,
    sha256_bytes,
    write_atomic,
    write_bytes,
    write_json,
)
from abm.sweeps.spec import SAVED_PREFIX, Spec, parse_spec

RUNS = "runs"
DAMAGED = "damaged"
PART = re.compile(r"part-(\d{7})\.([0-9a-f]{16})\.parquet")
SWEEP_KEY, RUN_KEY = b"abm.sweep", b"abm.run_id"
RESULTS = "results.parquet"
BASELINE = "baseline.parquet"
MANIFEST = "manifest.json"
SERIES_PREFIX = "series."
ID_COLUMNS = ("run_id", "sample", "replication", "seed")
RESTART = "carry on with `abm sweep SPEC --out DIR --resume` (which rebuilds it), or --restart"
STATUSES = {"running", "complete", "interrupted", "failed"}
#: the manifest fields of every folder of runs (a sweep's, an audit's)
PROGRESS_SHAPE = {
    "spec_hash": str, "runs_total": int, "runs_done": int, "status": STATUSES,
    "elapsed_s": float, "executor": str, "updated_utc": str,
    "code": {"version": str, "sources": str}, "sha256": str}
MANIFEST_SHAPE = {
    "name": str, "spec_file": str, "spec": {str: object}, "design": str, "design_points": int,
    "replications": int, **PROGRESS_SHAPE}


@dataclass(frozen=True)
class FolderKind:
    """What a folder of runs holds, as its manifest is checked.

    Attributes:
        kind: ``sweep`` or ``audit`` (a manifest without ``kind`` is a sweep's).
        shape: the manifest's fields (:func:`abm.files.check_shape`).
        hint: what to do with a damaged manifest.
        first: the command that makes such a folder.
    """

    kind: str
    shape: dict
    hint: str
    first: str


SWEEP = FolderKind("sweep", MANIFEST_SHAPE, RESTART, "abm sweep SPEC --out DIR")


def schema(spec: Spec) -> pa.Schema:
    """The Arrow schema of a run's row (parameters are null in baseline rows)."""
    fields = [pa.field(c, pa.int64()) for c in ID_COLUMNS]
    for p in spec.parameters:
        if p.kind in ("int", "float"):
            kind = pa.int64() if p.kind == "int" else pa.float64()
        else:
            kind = pa.bool_() if all(isinstance(v, bool) for v in p.values) else pa.string()
        fields.append(pa.field(p.path, kind))
    fields += [pa.field(o, pa.float64()) for o in spec.outcomes]
    fields += [pa.field(SERIES_PREFIX + s, pa.list_(pa.float64())) for s in spec.series]
    return pa.schema(fields)


def write_part(out: Path, row_schema: pa.Schema, row: dict[str, Any], sweep: str) -> Path:
    """Write one finished run's row (of ``row_schema``) atomically, named by its run id and
    checksum and tagged with the sweep's hash ``sweep`` and the run id; return its path."""
    table = pa.Table.from_pylist([row], schema=row_schema)
    table = table.replace_schema_metadata({SWEEP_KEY: sweep.encode(),
                                           RUN_KEY: str(row["run_id"]).encode()})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    data = buf.getvalue()
    path = Path(out) / RUNS / f"part-{row['run_id']:07d}.{sha256_bytes(data)[:16]}.parquet"
    write_bytes(path, data)
    return path


def _check_part(path: Path, row_schema: pa.Schema, sweep: str) -> tuple[int, pa.Table | str]:
    """(run id, its one-row table) of a part, or (run id or -1, why it cannot be trusted)."""
    match = PART.fullmatch(path.name)
    if match is None:
        return -1, "its name is not part-<run id>.<checksum>.parquet"
    run_id, digest = int(match[1]), match[2]
    try:
        data = read_input(path, MAX_STORED_BYTES, "a sweep's part")
    except InputError as exc:  # a FIFO, a folder, a file beyond the bound
        return run_id, exc.problem
    if sha256_bytes(data)[:16] != digest:
        return run_id, "damaged: its checksum does not match its name"
    try:
        table = pq.read_table(io.BytesIO(data), schema=row_schema)
        meta = pq.read_schema(io.BytesIO(data)).metadata or {}
    except (pa.ArrowException, OSError, ValueError):
        return run_id, "not a readable Parquet part of this sweep's columns"
    if meta.get(SWEEP_KEY) != sweep.encode():
        return run_id, "written by another sweep"
    if meta.get(RUN_KEY) != str(run_id).encode() or table.num_rows != 1 or \
            table["run_id"][0].as_py() != run_id:
        return run_id, "holds another run's row (copied under this run's name)"
    return run_id, table


def scan_parts(out: Path, row_schema: pa.Schema, sweep: str
               ) -> tuple[dict[int, pa.Table], dict[Path, str]]:
    """The parts in ``out/runs`` (rows of ``row_schema``) that can be trusted, by run id, and
    those that cannot, with why (a second part for a run already found counts as untrusted)."""
    good: dict[int, pa.Table] = {}
    bad: dict[Path, str] = {}
    for path in sorted((Path(out) / RUNS).glob("part-*.parquet")):
        run_id, got = _check_part(path, row_schema, sweep)
        if isinstance(got, str):
            bad[path] = got
        elif run_id in good:
            bad[path] = f"a second part for run {run_id}"
        else:
            good[run_id] = got
    return good, bad


def finished_ids(out: Path, row_schema: pa.Schema, sweep: str
                 ) -> tuple[set[int], dict[Path, str]]:
    """Run ids with a trusted part on disk, and the untrusted parts, moved to
    ``runs/damaged/`` so that their runs are run again (leftover temporary files from a crash
    are removed)."""
    folder = Path(out) / RUNS
    for tmp in folder.glob("*.tmp"):
        tmp.unlink()
    good, bad = scan_parts(out, row_schema, sweep)
    if bad:
        (folder / DAMAGED).mkdir(exist_ok=True)
        for path in bad:
            path.replace(folder / DAMAGED / path.name)
    return set(good), bad


def trusted_rows(out: Path, row_schema: pa.Schema, manifest: dict[str, Any], resume: str
                 ) -> pa.Table:
    """Every trusted part of the folder ``out`` as one table of ``row_schema``, sorted by run
    id (so it does not depend on which executor ran the runs or in what order they finished).

    Args:
        out: the folder (a sweep's or an audit's).
        row_schema: the schema of a run's row.
        manifest: the folder's manifest, checked (:func:`read_manifest`).
        resume: the command that carries the runs on, quoted in errors.

    Raises:
        InputError: naming the part, if one is damaged, from another folder's runs or under
            another run's name; or if a folder marked complete misses runs.
    """
    out = Path(out)
    good, bad = scan_parts(out, row_schema, manifest["spec_hash"])
    if bad:
        path, why = next(iter(bad.items()))
        raise InputError(path, "", f"{why}; it cannot be trusted: carry on with `{resume}`, "
                         "which runs it again")
    if manifest.get("status") == "complete" and len(good) != manifest["runs_total"]:
        raise InputError(out / RUNS, "", f"the folder is marked complete but holds "
                         f"{len(good)} of {manifest['runs_total']} runs (parts deleted?): carry "
                         f"on with `{resume}`")
    table = (pa.concat_tables([good[i] for i in sorted(good)]) if good
             else row_schema.empty_table())
    return table.sort_by("run_id")


def consolidate(out: Path, spec: Spec, write: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gather the parts into ``results.parquet`` and ``baseline.parquet`` (with ``write``; else
    in memory only, the folder untouched); return both.

    Raises:
        InputError: naming the part, if one is damaged, from another sweep or under another
            run's name; or if a sweep marked complete misses runs.

    Rows are sorted by run id. Savings ``saved.X = 1 - X / X_baseline`` pair each run with
    the baseline of its replication (NaN where that baseline is missing or zero).
    """
    out = Path(out)
    table = trusted_rows(out, schema(spec), read_manifest(out),
                         f"abm sweep SPEC --out {out} --resume")
    is_run = pc.greater_equal(table["sample"], 0)
    runs = table.filter(is_run).to_pandas()  # integer parameters stay int64: no nulls here
    base = table.filter(pc.invert(is_run)).drop_columns(list(spec.names)).to_pandas()
    for outcome in spec.saved:
        ref = runs["replication"].map(base.set_index("replication")[outcome]).to_numpy(float)
        value = runs[outcome].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            runs[SAVED_PREFIX + outcome] = np.where(ref != 0, 1.0 - value / ref, np.nan)
    if write:
        write_atomic(out / RESULTS, lambda p: runs.to_parquet(p, index=False))
        if spec.baseline is not None:
            write_atomic(out / BASELINE, lambda p: base.to_parquet(p, index=False))
    return runs, base


def _sealed(manifest: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in manifest.items() if k != "sha256"}
    return {**body, "sha256": sha256_bytes(json.dumps(body, sort_keys=True).encode())}


def _an(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def read_manifest(out: Path, of: FolderKind = SWEEP) -> dict[str, Any]:
    """The manifest of a folder of runs (a sweep's by default), checked: its checksum, its
    kind and its shape.

    Raises:
        InputError: naming the file, if ``out`` holds no such folder, or its manifest is not
            a regular file, not JSON (truncated, random bytes), another kind's, of another
            shape (a list, a missing field) or does not match its checksum (edited).
    """
    path = Path(out) / MANIFEST
    if not (path.exists() or path.is_symlink()):
        raise InputError(out, MANIFEST, f"not a {of.kind} folder (no manifest.json); run "
                         f"`{of.first}` first")
    manifest = read_json(path, MAX_STORED_BYTES, {str: object}, f"a {of.kind}'s manifest",
                         of.hint)
    if _sealed(manifest) != manifest:
        raise InputError(path, "sha256", "is damaged: its checksum does not match its content "
                         f"(edited or corrupted); it cannot be trusted: {of.hint}")
    found = manifest.get("kind", SWEEP.kind)
    if found != of.kind:
        raise InputError(path, "kind", f"is the manifest of {_an(found)}, not of "
                         f"{_an(of.kind)}: use another folder, or --restart")
    parse_json(json.dumps(manifest).encode(), path, of.shape, of.hint)
    if not 0 <= manifest["runs_done"] <= manifest["runs_total"]:
        raise InputError(path, "runs_done", f"is damaged (runs done beyond the total): {of.hint}")
    return manifest


def manifest_spec(out: Path, manifest: dict[str, Any]) -> Spec:
    """The sweep a checked manifest holds, validated as a sweep file is (its files are not
    looked for: the report needs none).

    Raises:
        InputError: naming the manifest, if its sweep table is not a valid sweep.
    """
    path = Path(out) / MANIFEST
    try:
        return parse_spec(manifest["spec"], str(path), Path(out), check_files=False)
    except InputError as exc:
        raise InputError(path, "spec", f"is damaged (its sweep: {exc.field}: {exc.problem}); "
                         f"{RESTART}") from None


def write_manifest(out: Path, manifest: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Update the manifest with ``changes`` and a UTC time stamp; write it atomically with its
    checksum."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest.update(changes, updated_utc=now)
    manifest.update(_sealed(manifest))
    write_json(Path(out) / MANIFEST, manifest)
    return manifest
