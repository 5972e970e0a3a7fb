"""Sweep speed-up: the same sweep of the one-week default scenario at 1 and 2 workers.

    .venv/bin/python benchmarks/sweep_speedup.py [--runs 200] [--workers 1,2] [--hours 168]

Runs a Latin-hypercube sweep (carbon price 0-200 $/t, forecast noise 0-0.3) of ``--runs`` runs,
once per worker count (1 = serially in process, N = N local processes), checks that every
worker count gives identical results, and prints wall time, runs per minute and the speed-up
over one worker. Figures are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from abm.sweeps.runner import open_executor, run_sweep
from abm.sweeps.spec import load_spec

SPEC = """
[sweep]
name = "speedup"
scenario = "default"
hours = {hours}
seed = 1
design = "lhs"
samples = {runs}

[parameters."policy.carbon_price_usd_per_t"]
range = [0.0, 200.0]

[parameters."market.forecast_noise"]
range = [0.0, 0.3]

[outcomes]
scalars = ["emissions_system_kg", "cost_usd", "moved_mwh", "relocated_share"]
"""


def main() -> None:
    """Run the benchmark and print its table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200, help="runs in the sweep (default 200)")
    ap.add_argument("--workers", default="1,2", help="worker counts to time (default 1,2)")
    ap.add_argument("--hours", type=int, default=168, help="hours per run (default 168)")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speedup.toml"
        path.write_text(SPEC.format(hours=args.hours, runs=args.runs))
        spec = load_spec(path)
        rows, frames = [], []
        for n in counts:
            out = Path(tmp) / f"w{n}"
            start = time.perf_counter()
            with open_executor(n) as (executor, describe, slots):
                run_sweep(spec, out, executor, slots=slots, describe=describe)
            wall = time.perf_counter() - start
            frames.append(pd.read_parquet(out / "results.parquet"))
            rows.append({"workers": n, "runs": args.runs, "wall_s": wall,
                         "runs_per_min": 60 * args.runs / wall})
    for other in frames[1:]:
        pd.testing.assert_frame_equal(other, frames[0], check_exact=True)
    table = pd.DataFrame(rows)
    table["speed_up"] = table.wall_s.iloc[0] / table.wall_s
    print(f"{args.runs} runs of {args.hours} h, default scenario; {os.cpu_count()} cores; "
          "results identical across worker counts")
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))


if __name__ == "__main__":
    main()
