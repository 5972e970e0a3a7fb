"""Writing output files so that a crash never leaves a torn one: write aside, then rename."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary name beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON with sorted keys, atomically."""
    write_atomic(path, lambda p: p.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    """Write ``df`` as Parquet without its index, atomically."""
    write_atomic(path, lambda p: df.to_parquet(p, index=False))
