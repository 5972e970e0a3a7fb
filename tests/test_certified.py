"""The market's shortcuts past the LP are exact: whenever ``certified_optimum`` or
``uncapacitated_optimum`` answers, its placement is feasible and as cheap as HiGHS's optimum."""

from __future__ import annotations

import numpy as np
import pytest

from abm.placement import PlacementLP, certified_optimum, solve_placement, uncapacitated_optimum

VOLL = 1000.0


def _instance(rng: np.random.Generator):
    k, r = int(rng.integers(1, 5)), int(rng.integers(2, 6))
    cost = rng.integers(0, 20, (k, r)) + rng.random((k, r)) * 0.01
    feasible = rng.random((k, r)) < 0.8
    phi = rng.integers(0, 5, (k, r)).astype(float)
    demand = rng.integers(1, 10, k).astype(float)
    prev = rng.random((k, r)) * feasible * (rng.random((k, r)) < 0.6)
    total = prev.sum(axis=1)
    prev *= np.divide(demand, total, out=np.zeros_like(demand), where=total > 0)[:, None]
    # capacities: some exactly what the incumbents hold (full regions), some scarce, some ample
    cap = np.where(rng.random(r) < 0.4, prev.sum(axis=0) * rng.choice([1.0, 0.5, 1.2], r),
                   rng.integers(0, 30, r).astype(float))
    return cost, feasible, demand, phi, prev, cap


def _objective(x, moved, unserved, cost, phi):
    return float((x * cost).sum() + (moved * phi).sum() + VOLL * unserved.sum())


@pytest.mark.parametrize("seed", range(4))
def test_certified_optimum_is_an_optimum(seed):
    rng = np.random.default_rng(seed)
    answered = blocked_cases = 0
    for _ in range(750):
        cost, feasible, demand, phi, prev, cap = _instance(rng)
        cand = certified_optimum(cost, feasible, demand, phi, prev, cap)
        if cand is None:
            continue
        answered += 1
        free = uncapacitated_optimum(cost, feasible, demand, phi, prev)
        blocked_cases += bool((free.x_mw.sum(axis=0) > cap + 1e-9).any())
        ref = solve_placement(cost, feasible, demand, cap[None, :], VOLL,
                              friction_usd_per_mw=phi, x_prev_mw=prev)
        assert (cand.x_mw.sum(axis=0) <= cap + 1e-7).all()
        assert not cand.x_mw[~feasible].any()
        np.testing.assert_allclose(cand.x_mw.sum(axis=1) + cand.unserved_mw, demand)
        assert _objective(cand.x_mw, cand.moved_mw, cand.unserved_mw, cost, phi) == \
            pytest.approx(ref.objective_usd, rel=1e-9, abs=1e-9)
    # the screen must actually fire, also where capacity blocks the capacity-free optimum
    assert answered > 100 and blocked_cases > 10


def test_warm_start_from_a_basis_reaches_the_same_optimum():
    """A persistent LP warm-started from the previous basis (kept live or as plain arrays)
    gives the optimum of a cold solve, bit for bit in both warm forms."""
    from abm.placement import basis_arrays

    rng = np.random.default_rng(7)
    cost, feasible, demand, phi, prev, cap = _instance(rng)
    lp = PlacementLP(feasible)
    _, basis = lp.solve(cost, demand, cap[None, :], VOLL, friction_usd_per_mw=phi, x_prev_mw=prev)
    cost2 = cost + rng.random(cost.shape)
    cold = solve_placement(cost2, feasible, demand, cap[None, :], VOLL,
                           friction_usd_per_mw=phi, x_prev_mw=prev)
    live, _ = lp.solve(cost2, demand, cap[None, :], VOLL, friction_usd_per_mw=phi,
                       x_prev_mw=prev, basis=basis)
    again, _ = PlacementLP(feasible).solve(cost2, demand, cap[None, :], VOLL,
                                           friction_usd_per_mw=phi, x_prev_mw=prev,
                                           basis=basis_arrays(basis))
    assert live.objective_usd == pytest.approx(cold.objective_usd, rel=1e-12)
    np.testing.assert_array_equal(live.x_mw, again.x_mw)
