"""CPU time of a year run, projected from two shorter ``abm run``s of the same scenario.

Runs ``abm run SCENARIO --hours H`` in a child process for two lengths (default 24 and 72
hours), takes each child's CPU time (user + system, the operating system's accounting) and
projects the scenario's year linearly: the start-up and the last checkpoint and figures (the
intercept) plus the year's hours at the cost of an hour between the two runs (the slope). A
first one-hour run, not counted, compiles what numba has not cached yet.

The projection reads the hours at the start of the scenario's period. Where later hours cost
more (at scale, tighter regions mean more operators whose placement needs a flow), it
understates the year: ``scale10k.toml`` projected 587-631 s from January's hours and ran its
year in 752 s. ``--year`` runs the whole scenario instead and reports its CPU time.
Results: benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/year_cpu.py benchmarks/scale10k.toml [--hours 24 72 | --year]
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import tempfile

from abm.config.scenario import load_scenario


def child_cpu_s(scenario: str, hours: int) -> float:
    """CPU seconds (user + system) of ``abm run scenario --hours hours`` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "abm.cli", "run", scenario, "--hours", str(hours),
                        "--out", out, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", help="scenario TOML file")
    parser.add_argument("--hours", type=int, nargs=2, default=(24, 72), metavar=("SHORT", "LONG"),
                        help="the two run lengths (default: 24 72)")
    parser.add_argument("--year", action="store_true",
                        help="run the whole scenario instead of projecting it (as long as "
                             "its CPU time)")
    args = parser.parse_args(argv)
    short, long = sorted(args.hours)
    if short < 1 or long <= short:
        parser.error("--hours: two different lengths of at least 1 hour")
    year = load_scenario(args.scenario).hours
    child_cpu_s(args.scenario, 1)  # numba's compilation, once, not counted
    if args.year:
        print(f"running all {year:,} h of {args.scenario} ...", flush=True)
        print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
        print(f"{args.scenario}: {year:,} h run: {child_cpu_s(args.scenario, year):,.0f} s of CPU")
        return 0
    cpu = {h: child_cpu_s(args.scenario, h) for h in (short, long)}
    per_hour = (cpu[long] - cpu[short]) / (long - short)
    fixed = cpu[short] - short * per_hour
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{args.scenario}: {short} h {cpu[short]:.1f} s, {long} h {cpu[long]:.1f} s of CPU; "
          f"{per_hour * 1e3:.1f} ms per hour, {fixed:.1f} s fixed; "
          f"{year:,} h projected: {fixed + year * per_hour:,.0f} s of CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
