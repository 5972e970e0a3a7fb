"""Fuzz: mutated copies of the shipped scenario and sweep files give a clear one-line error or a
valid run with finite totals, never a traceback or a hang (issue 12). ``benchmarks/fuzz.py``
runs thousands of such files; this runs a fixed sample of them."""

from __future__ import annotations

import collections

import pytest

from tests.fuzzing import cases, verdict

SCENARIO_CASES = 60
SWEEP_CASES = 40


@pytest.mark.parametrize(("sweeps", "count"), [(False, SCENARIO_CASES), (True, SWEEP_CASES)],
                         ids=["scenarios", "sweeps"])
def test_mutated_files_give_a_clear_error_or_a_valid_run(tmp_path, sweeps, count):
    counts, failures = collections.Counter(), []
    for i, (what, src, raw) in enumerate(cases(count, seed=12, trace_dir=tmp_path,
                                               sweeps=sweeps)):
        path = tmp_path / f"case{i}.toml"
        path.write_bytes(raw)
        outcome, detail = verdict(path, sweep=sweeps, seconds=30)
        counts[outcome] += 1
        if outcome not in ("ok", "error"):
            failures.append(f"{outcome}: {src.name}, {what}: {detail}")
    assert not failures, "\n".join(failures)
    assert counts["error"] > count / 2 and counts["ok"] >= 1  # the sample exercises both
