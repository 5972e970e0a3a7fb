"""Fuzz the input path and the stored files: thousands of mutated scenario and sweep files and
damaged run and sweep folders, and what became of them.

    .venv/bin/python benchmarks/fuzz.py [--cases 10000] [--sweeps 5000] [--folders 1000]
                                        [--seed 1] [--timeout 60] [--run-every 1]

Each file is one mutation of a shipped scenario (``abm/scenarios``, ``experiments/scenarios``) or
sweep file (``experiments/sweeps``), made by ``tests/fuzzing.py``: wrong types, missing and
unknown keys, bad numbers, ids and trace paths, special files (FIFOs, devices, folders, 3 GB
files, a file holding a secret), NUL and control characters, malformed text, and values near a
limit that must run. A scenario goes through ``abm check`` and, when valid, a 2-hour run (every
``--run-every``-th valid one; every one near a limit) whose totals must be finite; a sweep file
through ``load_spec``. Each damaged folder is a copy of a pristine run (complete or interrupted)
or sweep folder with one stored file damaged (truncated, random bytes, a flipped byte, JSON of
another shape, a forged structure with its checksums recomputed, a FIFO, a folder, a link to
/dev/zero, a 3 GB file, a zip bomb, deleted, foreign files added): read as the reports read it,
then resumed, it must give one clear line or exactly the pristine results. Each case has a time
limit (``--timeout``) and the process a memory limit of 4 GB, so a hang or a memory blow-up is
counted, not suffered. Prints the counts (target: 0 tracebacks, 0 hangs, 0 wrong reports, 0
leaks, 0 refused) and every failing case. Figures are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fuzzing import Pristine, cases, damaged_folders, folder_verdict, verdict

MEMORY_BYTES = 4 * 2**30
FAILURES = ("traceback", "hang", "wrong", "leak", "refused")


def fuzz(count: int, seed: int, sweeps: bool, timeout: float, run_every: int) -> None:
    """Run ``count`` file cases and print the counts and the failures."""
    counts, failures, start = collections.Counter(), [], time.monotonic()
    valid = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i, (what, src, raw) in enumerate(cases(count, seed, folder, sweeps)):
            path = folder / f"case{i}.toml"
            path.write_bytes(raw)
            outcome, detail = verdict(path, sweep=sweeps, run=False, seconds=timeout)
            limit = what.startswith("limit:")
            if outcome == "ok" and not sweeps:
                valid += 1
                if limit or valid % run_every == 0:
                    outcome, detail = verdict(path, seconds=timeout)
                    counts["ran"] += outcome == "ok"
            if limit and outcome == "error":
                outcome = "refused"  # within the limits: it must run
            counts[outcome] += 1
            counts["limit"] += limit
            if outcome in FAILURES:
                failures.append(f"  {outcome}: {src.name}, {what}: {detail}")
                print(failures[-1], file=sys.stderr, flush=True)
                path.rename(folder.parent / f"fuzz-failure-{seed}-{i}.toml")
            if (i + 1) % 500 == 0:
                print(f"  {i + 1} cases, {dict(counts)}", file=sys.stderr, flush=True)
    kind = "sweep" if sweeps else "scenario"
    print(f"{count} {kind} files (seed {seed}) in {time.monotonic() - start:,.0f} s: "
          f"{counts['error']} clear errors, {counts['ok']} valid"
          + ("" if sweeps else f" ({counts['ran']} ran 2 h with finite totals; "
             f"{counts['limit']} near a limit, {counts['refused']} of them refused)")
          + f", {counts['traceback']} tracebacks, {counts['hang']} hangs, "
          f"{counts['leak']} leaks")
    print("\n".join(failures))


def fuzz_folders(count: int, seed: int, timeout: float) -> None:
    """Damage ``count`` copies of pristine run and sweep folders; print counts and failures."""
    counts, failures, start = collections.Counter(), [], time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        pristine = Pristine(Path(tmp) / "pristine")
        for i, (kind, what, folder) in enumerate(damaged_folders(count, seed, pristine,
                                                                 Path(tmp))):
            outcome, detail = folder_verdict(kind, folder, what, pristine, timeout)
            counts[outcome] += 1
            counts[kind] += 1
            if outcome in FAILURES:
                failures.append(f"  {outcome}: {kind}, {detail}")
                print(failures[-1], file=sys.stderr, flush=True)
            shutil.rmtree(folder, ignore_errors=True)
            if (i + 1) % 100 == 0:
                print(f"  {i + 1} folders, {dict(counts)}", file=sys.stderr, flush=True)
    print(f"{count} damaged folders (seed {seed}; {counts['whole']} complete runs, "
          f"{counts['cut']} interrupted runs, {counts['sweep']} sweeps) in "
          f"{time.monotonic() - start:,.0f} s: {counts['error']} clear errors, {counts['ok']} "
          f"read and resumed to the pristine results, {counts['forged']} forged with their "
          f"checksums recomputed and read as forged, {counts['wrong']} wrong reports, "
          f"{counts['traceback']} tracebacks, {counts['hang']} hangs")
    print("\n".join(failures))


def main() -> None:
    """Fuzz scenario files, sweep files, then damaged folders."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="scenario files (10000)")
    parser.add_argument("--sweeps", type=int, default=5_000, help="sweep files (5000)")
    parser.add_argument("--folders", type=int, default=1_000,
                        help="damaged run and sweep folders (1000)")
    parser.add_argument("--seed", type=int, default=1, help="the mutations' seed (1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case (60)")
    parser.add_argument("--run-every", type=int, default=1,
                        help="run every N-th valid scenario for 2 hours (1: all)")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    if args.cases:
        fuzz(args.cases, args.seed, False, args.timeout, args.run_every)
    if args.sweeps:
        fuzz(args.sweeps, args.seed, True, args.timeout, args.run_every)
    if args.folders:
        fuzz_folders(args.folders, args.seed, args.timeout)


if __name__ == "__main__":
    main()
