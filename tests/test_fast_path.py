"""The small version of the placement benchmark, as a correctness check (not a timing): the
market's fast path (compiled min-cost flows, ``abm/core/flow.py``) gives every operator the same
objective as a scipy linprog reference solving every LP in the same order."""

from __future__ import annotations

import pytest

from benchmarks.placement import placement_case


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_path_matches_linprog_reference(seed):
    r = placement_case(operators=40, warmup=2, seed=seed)
    assert r["operators"] == 40
    assert r["max_rel_diff"] < 1e-6
    assert 0 < r["lps"] < 40  # both paths were exercised: some flows, some capacity-free optima
