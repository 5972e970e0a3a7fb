"""A sweep's folder: one Parquet part per finished run, the consolidated tables, the manifest.

Layout of ``DIR``:

- ``runs/part-0000042.parquet``: the row of run 42, written (to a temporary name, then renamed)
  as soon as the run finishes, so a crash of any process loses at most the runs in flight;
- ``results.parquet``: the design runs, one row per run sorted by run id: ``run_id``,
  ``sample``, ``replication``, ``seed``, one column per parameter (its dotted path), one per
  outcome, ``saved.X`` savings against the baseline and ``series.X`` lists (per hour);
- ``baseline.parquet``: the baseline runs (one per replication), when the sweep has one;
- ``manifest.json``: the sweep (as a table), its hash, design size, status and progress.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from abm.errors import InputError
from abm.files import write_atomic, write_json
from abm.sweep.spec import SAVED_PREFIX, Spec

RUNS = "runs"
RESULTS = "results.parquet"
BASELINE = "baseline.parquet"
MANIFEST = "manifest.json"
SERIES_PREFIX = "series."
ID_COLUMNS = ("run_id", "sample", "replication", "seed")


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


def part_path(out: Path, run_id: int) -> Path:
    """Where run ``run_id``'s row is written."""
    return Path(out) / RUNS / f"part-{run_id:07d}.parquet"


def write_part(out: Path, spec: Spec, row: dict[str, Any]) -> None:
    """Write one finished run's row atomically (a torn file is never left under its name)."""
    table = pa.Table.from_pylist([row], schema=schema(spec))
    write_atomic(part_path(out, row["run_id"]), lambda p: pq.write_table(table, p))


def finished_ids(out: Path) -> set[int]:
    """Run ids with a part on disk (leftover temporary files from a crash are removed)."""
    folder = Path(out) / RUNS
    for tmp in folder.glob("*.tmp"):
        tmp.unlink()
    return {int(p.stem.removeprefix("part-")) for p in folder.glob("part-*.parquet")}


def consolidate(out: Path, spec: Spec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gather the parts into ``results.parquet`` and ``baseline.parquet``; return both.

    Rows are sorted by run id, so the tables do not depend on which executor ran the runs or
    in what order they finished. Savings ``saved.X = 1 - X / X_baseline`` pair each run with
    the baseline of its replication (NaN where that baseline is missing or zero).
    """
    out = Path(out)
    files = sorted((out / RUNS).glob("part-*.parquet"))
    table = (pa.concat_tables([pq.read_table(f, schema=schema(spec)) for f in files])
             if files else schema(spec).empty_table())
    table = table.sort_by("run_id")
    is_run = pc.greater_equal(table["sample"], 0)
    runs = table.filter(is_run).to_pandas()  # integer parameters stay int64: no nulls here
    base = table.filter(pc.invert(is_run)).drop_columns(list(spec.names)).to_pandas()
    for outcome in spec.saved:
        ref = runs["replication"].map(base.set_index("replication")[outcome]).to_numpy(float)
        value = runs[outcome].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            runs[SAVED_PREFIX + outcome] = np.where(ref != 0, 1.0 - value / ref, np.nan)
    write_atomic(out / RESULTS, lambda p: runs.to_parquet(p, index=False))
    if spec.baseline is not None:
        write_atomic(out / BASELINE, lambda p: base.to_parquet(p, index=False))
    return runs, base


def read_manifest(out: Path) -> dict[str, Any]:
    """The sweep folder's manifest.

    Raises:
        InputError: if ``out`` holds no sweep.
    """
    path = Path(out) / MANIFEST
    if not path.exists():
        raise InputError(out, MANIFEST, "not a sweep folder (no manifest.json); run "
                         "`abm sweep SPEC --out DIR` first")
    return json.loads(path.read_text())


def write_manifest(out: Path, manifest: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Update the manifest with ``changes`` and a UTC time stamp; write it atomically."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest.update(changes, updated_utc=now)
    write_json(Path(out) / MANIFEST, manifest)
    return manifest
