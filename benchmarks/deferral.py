"""Deferrable work at scale: hours of the scale scenario's 1,000 operators without deferral and
with 30% of every class's demand deferrable up to 4 h (every operator then plans over 5 hours,
``lp``: one time-expanded min-cost flow each, placed one by one), CPU time per step and the
year projected from it. Target (issue 20): the year with deferral within 300 s of CPU.
Results: benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/deferral.py [--hours 6]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from abm.config.scenario import load_scenario
from abm.market import MarketModel
from abm.market.loop import run

SCALE = Path(__file__).resolve().parents[1] / "abm" / "scenarios" / "scale.toml"
TEMPLATES = ("interactive", "conversational", "batch")
CASES = {
    "no deferral": {},
    "30% deferrable up to 4 h": {
        **{f"templates.{t}.deferrable_share": 0.3 for t in TEMPLATES},
        **{f"templates.{t}.deadline_hours": 4 for t in TEMPLATES}},
}
YEAR_HOURS = 8784


def cpu_per_step(overrides: dict, hours: int) -> float:
    """CPU seconds per step over ``hours`` steps after a first (compiling) one, the model
    built beforehand (not timed)."""
    model = MarketModel(load_scenario(SCALE, overrides=overrides), hours=hours + 1)
    run(model, 1)
    c0 = time.process_time()
    run(model)
    return (time.process_time() - c0) / hours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=6, help="hours to time (after the first)")
    args = parser.parse_args(argv)
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| case | CPU ms per step | year projected (s of CPU) |")
    print("|---|---:|---:|")
    for name, overrides in CASES.items():
        step = cpu_per_step(overrides, args.hours)
        print(f"| {name} | {step * 1e3:,.0f} | {step * YEAR_HOURS:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
