"""Time spent writing in the default week (`abm run` as in the README), by checkpoint interval.

    .venv/bin/python benchmarks/write_time.py [--intervals 24,1] [--hours N]

Runs the shipped default scenario (its week, unless ``--hours``) into a fresh folder with
``run_market``, at the default checkpointing (every 60 s of wall time) and then every H
simulated hours for each of ``--intervals``, and reports the run's wall time, the seconds spent
in checkpoints (appending the table parts, saving the state as data, the summary and the
manifest, every file fsynced before its rename; the final one gathers each table into one
part) and their share, the number of checkpoints and the cost of one. Then, separately, the
figures ``abm run`` draws at the end. Targets (issue 12): at most 15% of the default run
writing; a kill loses at most one interval. Figures go in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from abm.cli import main as abm
from abm.config.scenario import load_scenario
from abm.market.run import CHECKPOINT_SECONDS, read_tables, run_market

TARGET_SHARE = 0.15


def measure(hours: int | None, every: int | None) -> dict:
    """Wall and write seconds of one run of the default scenario checkpointing every
    ``every`` hours (None: the default, by wall time)."""
    scn = load_scenario()
    with tempfile.TemporaryDirectory() as out:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        result = run_market(scn, Path(out), hours=hours, checkpoint_hours=every,
                            timings=timings)
        wall = time.perf_counter() - start
        rows = sum(len(t) for t in read_tables(out).values())
    n = timings["checkpoints"]
    return {"interval": f"{every} h" if every else f"{CHECKPOINT_SECONDS:g} s",
            "hours": result["hours"], "wall_s": wall, "write_s": timings["write_s"],
            "share": timings["write_s"] / wall, "checkpoints": n,
            "per_checkpoint_ms": 1e3 * timings["write_s"] / n, "rows": rows}


def figures_time(hours: int | None) -> float:
    """Seconds `abm run` spends after the run (reading the tables, drawing three figures),
    from the difference of a run with figures and the same run resumed when complete."""
    with tempfile.TemporaryDirectory() as out:
        args = ["run", "--out", out, "--quiet"] + (["--hours", str(hours)] if hours else [])
        abm(args)
        start = time.perf_counter()
        abm([*args, "--resume"])  # complete: nothing runs, the figures are drawn again
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intervals", default="24,1",
                        help="checkpoint intervals in hours to compare with the default")
    parser.add_argument("--hours", type=int, default=None,
                        help="hours to run (default: the scenario's week)")
    args = parser.parse_args()
    measure(2, None)  # compile and warm caches first
    print("interval  hours  wall s  write s  share  checkpoints  ms/checkpoint  rows")
    for every in (None, *(int(v) for v in args.intervals.split(","))):
        r = measure(args.hours, every)
        flag = "" if every else (
            "  (default; target <= 15%: " + ("met" if r["share"] <= TARGET_SHARE else "MISSED")
            + ")")
        print(f"{r['interval']:>8}  {r['hours']:>5}  {r['wall_s']:6.2f}  {r['write_s']:7.2f}"
              f"  {r['share']:5.1%}  {r['checkpoints']:>11}  {r['per_checkpoint_ms']:13.1f}"
              f"  {r['rows']:,}{flag}")
    print(f"figures at the end of `abm run`: {figures_time(args.hours):.2f} s")


if __name__ == "__main__":
    main()
