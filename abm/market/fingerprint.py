"""A run's identity: the scenario's fingerprint, equal in every process for the same scenario,
and the code's, equal in every process running the same version of ``abm``.

The fingerprint hashes a canonical serialisation (sorted JSON) of the validated scenario
together with the outputs' format version, so ``abm run --resume`` recognises its run in a new
process, and a report can tell whether a scenario file still matches a run made from it. The
code's fingerprint (:func:`code_fingerprint`: the package version and a hash of every file of
the installed ``abm`` package) is stored beside it, so a run (or a sweep) is resumed only by
the code that started it: a resumed result never mixes two versions of the model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import numpy as np

from abm.config.scenario import Scenario
from abm.files import sha256_bytes, sha256_file

FORMAT = 3  # the run folder's output format version (docs/market.md)
PACKAGE = Path(__file__).resolve().parents[1]  # the installed abm package, hashed whole
DISTRIBUTION = "geoinference-abm"


def code_files() -> list[Path]:
    """Every file of the installed ``abm`` package that a run may read or execute: its
    sources, shipped data, scenarios and templates (not compiled caches), in a fixed order."""
    return sorted(p for p in PACKAGE.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


@functools.cache
def code_fingerprint() -> dict[str, str]:
    """The code a run is made by: ``{"version": the package version, "sources": hash of every
    file of the package (path and bytes)}``; equal in every process running the same code."""
    h = hashlib.sha256()
    for path in code_files():
        h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        h.update(sha256_file(path).encode())
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        version = "unknown"
    return {"version": version, "sources": h.hexdigest()[:16]}


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data in one canonical form: dataclasses as dicts of their
    fields, tuples as lists, sets sorted, dicts as sorted ``[key, value]`` pairs, arrays as
    dtype, shape and values, times as ISO text (floats keep every bit through ``repr``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return {"dtype": str(value.dtype), "shape": list(value.shape),
                "values": canonical(value.tolist())}
    if isinstance(value, set | frozenset):
        return sorted(canonical(v) for v in value)
    if isinstance(value, dict):
        return sorted([canonical(k), canonical(v)] for k, v in value.items())
    if isinstance(value, tuple | list):
        return [canonical(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"no canonical form for {type(value).__name__}")


def fingerprint(scn: Scenario) -> str:
    """Hash of the validated scenario in canonical JSON (without the file's path, with the
    bytes of a trace file it names) and the outputs' format version: equal in every process
    for the same scenario."""
    data = canonical(dataclasses.replace(scn, source=""))
    trace = sha256_file(Path(scn.trace)) if scn.trace is not None else None
    text = json.dumps({"format": FORMAT, "scenario": data, "trace_sha256": trace},
                      sort_keys=True, allow_nan=True)
    return sha256_bytes(text.encode())[:16]


def run_identity(fp: str, seed: int, hours: int) -> str:
    """The identity a run's parts and checkpoints carry: scenario fingerprint, seed, hours."""
    return sha256_bytes(f"{fp}/{seed}/{hours}".encode())[:16]
