"""Start-up time of the ``abm`` command: ``--help``, ``check`` and validating a sweep file.

    .venv/bin/python benchmarks/startup.py [--repeat 7]

Each command runs ``--repeat`` times in a new interpreter (``python -m abm.cli ...``, as the
console script does); prints the median and the fastest wall time. Target: ``abm --help``
within 0.5 s. Figures are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "abm --help": ["-m", "abm.cli", "--help"],
    "abm run --help": ["-m", "abm.cli", "run", "--help"],
    "abm check": ["-m", "abm.cli", "check"],
    "validate a sweep file": ["-c", "from abm.sweeps import load_spec; "
                              "load_spec('experiments/sweeps/quick.toml')"],
    "import the market (for comparison)": ["-c", "import abm.market.model"],
}


def wall_times(args: list[str], repeat: int) -> list[float]:
    """Wall time in seconds of ``python ARGS``, ``repeat`` times."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Time every case and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (default: 7)")
    repeat = parser.parse_args().repeat
    wall_times(CASES["abm --help"], 1)  # warm the file cache
    print("| command | median (s) | fastest (s) |\n|---|---:|---:|")
    for name, args in CASES.items():
        t = wall_times(args, repeat)
        print(f"| {name} | {statistics.median(t):.2f} | {min(t):.2f} |", flush=True)


if __name__ == "__main__":
    main()
