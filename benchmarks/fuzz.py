"""Fuzz the input path: thousands of mutated scenario and sweep files, and what became of them.

    .venv/bin/python benchmarks/fuzz.py [--cases 10000] [--sweeps 2000] [--seed 1]
                                        [--timeout 60] [--run-every 1]

Each file is one mutation of a shipped scenario (``abm/scenarios``, ``experiments/scenarios``) or
sweep file (``experiments/sweeps``), made by ``tests/fuzzing.py``; a scenario goes through
``abm check`` and, when valid, a 2-hour run (every ``--run-every``-th valid one) whose totals must
be finite; a sweep file through ``load_spec``. Each case has a time limit (``--timeout``) and the
process a memory limit of 4 GB, so a hang or a memory blow-up is counted, not suffered. Prints the
counts (target: 0 tracebacks, 0 hangs) and every failing case. Figures are recorded in
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fuzzing import cases, verdict

MEMORY_BYTES = 4 * 2**30


def fuzz(count: int, seed: int, sweeps: bool, timeout: float, run_every: int) -> None:
    """Run ``count`` cases and print the counts and the failures."""
    counts, failures, start = collections.Counter(), [], time.monotonic()
    valid = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i, (what, src, raw) in enumerate(cases(count, seed, folder, sweeps)):
            path = folder / f"case{i}.toml"
            path.write_bytes(raw)
            outcome, detail = verdict(path, sweep=sweeps, run=False, seconds=timeout)
            if outcome == "ok" and not sweeps:
                valid += 1
                if valid % run_every == 0:
                    outcome, detail = verdict(path, seconds=timeout)
                    counts["ran"] += outcome == "ok"
            counts[outcome] += 1
            if outcome not in ("ok", "error"):
                failures.append(f"  {outcome}: {src.name}, {what}: {detail}")
                print(failures[-1], file=sys.stderr, flush=True)
                path.rename(folder.parent / f"fuzz-failure-{seed}-{i}.toml")
            if (i + 1) % 500 == 0:
                print(f"  {i + 1} cases, {dict(counts)}", file=sys.stderr, flush=True)
    kind = "sweep" if sweeps else "scenario"
    print(f"{count} {kind} files (seed {seed}) in {time.monotonic() - start:,.0f} s: "
          f"{counts['error']} clear errors, {counts['ok']} valid"
          + ("" if sweeps else f" ({counts['ran']} ran 2 h with finite totals)")
          + f", {counts['traceback']} tracebacks, {counts['hang']} hangs")
    print("\n".join(failures))


def main() -> None:
    """Fuzz scenario files, then sweep files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="scenario files (10000)")
    parser.add_argument("--sweeps", type=int, default=2_000, help="sweep files (2000)")
    parser.add_argument("--seed", type=int, default=1, help="the mutations' seed (1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case (60)")
    parser.add_argument("--run-every", type=int, default=1,
                        help="run every N-th valid scenario for 2 hours (1: all)")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    fuzz(args.cases, args.seed, False, args.timeout, args.run_every)
    fuzz(args.sweeps, args.seed, True, args.timeout, args.run_every)


if __name__ == "__main__":
    main()
