"""A run's identity: the scenario's fingerprint, equal in every process for the same scenario.

The fingerprint hashes a canonical serialisation (sorted JSON) of the validated scenario
together with the outputs' format version, so ``abm run --resume`` recognises its run in a new
process, and a report can tell whether a scenario file still matches a run made from it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from abm.config.scenario import Scenario
from abm.files import sha256_bytes, sha256_file

FORMAT = 2  # the run folder's output format version (docs/market.md)


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
