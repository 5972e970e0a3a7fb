"""Fuzz: mutated copies of the shipped scenario and sweep files give a clear one-line error or a
valid run with finite totals, never a traceback, a hang or a quoted secret (issues 12 and 22);
damaged copies of run and sweep folders give a clear one-line error or exactly the pristine
results. ``benchmarks/fuzz.py`` runs thousands of such cases; this runs a fixed sample."""

from __future__ import annotations

import collections

import pytest

from tests.fuzzing import DAMAGES, Pristine, cases, damaged_folders, folder_verdict, verdict

SCENARIO_CASES = 80
SWEEP_CASES = 60
FOLDER_CASES = 36


@pytest.mark.parametrize(("sweeps", "count"), [(False, SCENARIO_CASES), (True, SWEEP_CASES)],
                         ids=["scenarios", "sweeps"])
def test_mutated_files_give_a_clear_error_or_a_valid_run(tmp_path, sweeps, count):
    counts, failures = collections.Counter(), []
    for i, (what, src, raw) in enumerate(cases(count, seed=12, trace_dir=tmp_path,
                                               sweeps=sweeps)):
        path = tmp_path / f"case{i}.toml"
        path.write_bytes(raw)
        outcome, detail = verdict(path, sweep=sweeps, seconds=30)
        if what.startswith("limit:") and outcome == "error":
            outcome = "refused"  # a value within the limits must run
        counts[outcome] += 1
        counts["special"] += what.startswith(("control", "signals.trace = special",
                                              "extends = special"))
        if outcome not in ("ok", "error"):
            failures.append(f"{outcome}: {src.name}, {what}: {detail}")
    assert not failures, "\n".join(failures)
    assert counts["error"] > count / 2 and counts["ok"] >= 1  # the sample exercises both
    assert counts["special"] >= 5


def test_damaged_folders_give_a_clear_error_or_the_pristine_results(tmp_path):
    pristine = Pristine(tmp_path / "pristine")
    counts, failures, seen = collections.Counter(), [], set()
    for kind, what, folder in damaged_folders(FOLDER_CASES, 22, pristine, tmp_path):
        outcome, detail = folder_verdict(kind, folder, what, pristine, seconds=60)
        counts[outcome] += 1
        seen.add((kind, what.split(" ")[0]))
        if outcome not in ("ok", "error", "forged"):
            failures.append(f"{outcome}: {kind}, {detail}")
    assert not failures, "\n".join(failures)
    assert counts["error"] > FOLDER_CASES / 2 and {k for k, _ in seen} == {"whole", "cut",
                                                                          "sweep"}
    assert len({d for _, d in seen}) >= len(DAMAGES) // 2  # the sample exercises many damages
