"""Mixed strategies against the compiled walk: a week of the scale scenario's 1,000 operators
all on ``lp`` (one compiled walk per hour) and with 30% on other strategies (the walk split
into runs of ``lp`` operators, the others deciding one by one). Target: the mixed week costs
at most 3x the all-``lp`` week (issue 14). Results: benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/strategies.py [--hours 168]
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
MIXES = {
    "all lp": {},
    "30% non-lp (10% greenest, 10% static, 5% threshold, 5% adaptive)": {
        "population.strategies.greenest": 0.1, "population.strategies.static": 0.1,
        "population.strategies.threshold": 0.05, "population.strategies.adaptive": 0.05},
}


def week(overrides: dict, hours: int) -> tuple[float, float]:
    """(wall s, CPU s) of ``hours`` steps of the scale scenario with ``overrides``, model
    built beforehand (not timed)."""
    model = MarketModel(load_scenario(SCALE, overrides=overrides), hours=hours)
    t0, c0 = time.perf_counter(), time.process_time()
    run(model)
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=168, help="hours to step (168 = a week)")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()}, {args.hours} h of {SCALE.name}")
    base = None
    for name, overrides in MIXES.items():
        wall, cpu = week(overrides, args.hours)
        base = base or cpu
        print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU ({cpu / args.hours * 1e3:.0f} ms "
              f"per hour), {cpu / base:.2f}x the all-lp CPU time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
