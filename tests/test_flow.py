"""The market's min-cost-flow placement (``abm/flow.py``) gives every operator an LP optimum:
hand-solved cases, random instances against HiGHS, and the compiled first-come walk against
the same walk in Python. Also: HiGHS warm starts (``market.solver = "highs"``) are exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.flow import first_come, solve_flow
from abm.placement import PlacementLP, basis_arrays, solve_placement

VOLL = 1000.0


def _objective(x, unserved, cost, phi, prev):
    return float((x * cost).sum() + (np.maximum(x - prev, 0.0) * phi).sum()
                 + VOLL * unserved.sum())


def _instance(rng: np.random.Generator, k: int | None = None, r: int | None = None):
    k = int(rng.integers(1, 6)) if k is None else k
    r = int(rng.integers(2, 7)) if r is None else r
    cost = rng.integers(-5, 20, (k, r)) + rng.random((k, r)) * 0.01
    feasible = rng.random((k, r)) < 0.75
    phi = rng.integers(0, 5, (k, r)).astype(float)
    demand = rng.integers(0, 10, k).astype(float) * rng.random(k)
    prev = rng.random((k, r)) * feasible * (rng.random((k, r)) < 0.6)
    total = prev.sum(axis=1)
    prev *= np.divide(demand, total, out=np.zeros_like(demand), where=total > 0)[:, None]
    # capacities: some exactly what the incumbents hold (full regions), some scarce (some
    # zero), some ample
    cap = np.where(rng.random(r) < 0.4, prev.sum(axis=0) * rng.choice([1.0, 0.5, 1.2], r),
                   rng.integers(0, 12, r).astype(float))
    return cost, feasible, demand, phi, prev, cap


def test_hand_solved_two_classes_share_a_cheap_region():
    """Region 0 ($10) holds 1 MW, region 1 is dearer: class A (20 at region 1) keeps region
    0, class B (12 at region 1) yields it. Optimum 10 + 12 = 22."""
    cost = np.array([[10.0, 20.0], [10.0, 12.0]])
    x, u = solve_flow(cost, np.ones((2, 2), bool), np.array([1.0, 1.0]), np.zeros((2, 2)),
                      np.zeros((2, 2)), np.array([1.0, np.inf]), VOLL)
    np.testing.assert_array_equal(x, [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(u, [0.0, 0.0])


def test_hand_solved_swap_pays_for_the_friction():
    """B holds region 0 (1 MW, cap 1); A is new. Keep B, A to region 1: 10 + (20 + 5) = 35.
    Swap (A in at 10 + 5, B out to 12 + 5): 15 + 17 = 32, the optimum."""
    cost = np.array([[10.0, 20.0], [10.0, 12.0]])
    prev = np.array([[0.0, 0.0], [1.0, 0.0]])
    x, u = solve_flow(cost, np.ones((2, 2), bool), np.array([1.0, 1.0]), np.full((2, 2), 5.0),
                      prev, np.array([1.0, np.inf]), VOLL)
    np.testing.assert_array_equal(x, [[1.0, 0.0], [0.0, 1.0]])
    assert _objective(x, u, cost, np.full((2, 2), 5.0), prev) == 32.0


def test_hand_solved_no_room_is_unserved():
    """Region 0 is the only feasible one and holds 0.4 of 1 MW: 0.6 MW unserved."""
    x, u = solve_flow(np.array([[10.0, 1.0]]), np.array([[True, False]]), np.array([1.0]),
                      np.zeros((1, 2)), np.zeros((1, 2)), np.array([0.4, 5.0]), VOLL)
    np.testing.assert_allclose(x, [[0.4, 0.0]])
    np.testing.assert_allclose(u, [0.6])


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_flow_equals_highs_optimum(seed):
    """Feasible (masks, capacity, demand balance) and as cheap as HiGHS's optimum."""
    cost, feasible, demand, phi, prev, cap = _instance(np.random.default_rng(seed))
    x, u = solve_flow(cost, feasible, demand, phi, prev, cap, VOLL)
    ref = solve_placement(cost, feasible, demand, cap[None, :], VOLL,
                          friction_usd_per_mw=phi, x_prev_mw=prev)
    assert (x >= 0).all() and (u >= 0).all()
    assert not x[~feasible].any()
    assert (x.sum(axis=0) <= cap + 1e-9).all()
    np.testing.assert_allclose(x.sum(axis=1) + u, demand, atol=1e-9)
    assert _objective(x, u, cost, phi, prev) == pytest.approx(ref.objective_usd, rel=1e-9,
                                                              abs=1e-9)


def test_first_come_walk_equals_the_walk_in_python():
    """The compiled walk gives each operator what ``solve_flow`` gives it against the capacity
    left by those before it (reserved plus free, up to its share), bit for bit."""
    rng = np.random.default_rng(3)
    n_o, n_k, n_r = 30, 4, 5
    parts = [_instance(rng, n_k, n_r) for _ in range(n_o)]
    cost, feasible, demand, phi, prev, _ = (np.array(a) for a in zip(*parts, strict=True))
    reserved = prev.sum(axis=1) * 0.9
    share_cap = np.full((n_o, n_r), 8.0)
    free = np.array([0.0, 1.0, 3.0, 0.5, 20.0])
    order = rng.permutation(n_o)
    x, u = np.zeros((n_o, n_k, n_r)), np.zeros((n_o, n_k))
    available = free.copy()
    flows = first_come(order, cost, feasible, demand, phi, prev, reserved, share_cap,
                       available, VOLL, x, u)
    left = free.copy()
    solved = 0
    for o in order:
        cap = np.maximum(np.minimum(left + reserved[o], share_cap[o]), 0.0)
        xo, uo = solve_flow(cost[o], feasible[o], demand[o], phi[o], prev[o], cap, VOLL)
        np.testing.assert_array_equal(x[o], xo)
        np.testing.assert_array_equal(u[o], uo)
        solved += bool((xo.sum(axis=0) < _free_load(cost[o], feasible[o], demand[o], phi[o],
                                                     prev[o]) - 1e-9).any())
        left = np.maximum(left + reserved[o] - xo.sum(axis=0), 0.0)
    np.testing.assert_array_equal(available, left)
    assert flows >= solved > 0  # some operators did not fit their capacity-free optimum


def _free_load(cost, feasible, demand, phi, prev):
    """(R,) load of the capacity-free optimum (the flow with unlimited capacity)."""
    x, _ = solve_flow(cost, feasible, demand, phi, prev, np.full(cost.shape[1], np.inf), VOLL)
    return x.sum(axis=0)


def test_warm_start_from_a_basis_reaches_the_same_optimum():
    """A persistent HiGHS LP warm-started from the previous basis (kept live or as plain
    arrays) gives the optimum of a cold solve, bit for bit in both warm forms."""
    rng = np.random.default_rng(7)
    cost, feasible, demand, phi, prev, cap = _instance(rng, 4, 5)
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
