"""The placement contract in time (abm/core/horizon.py): a hand-solved plan with deadlines in
both registered placement engines and on the market's compiled walk (abm/core/horizon_walk.py,
the path an ``lp`` operator with work takes), the reduction to the one-hour problem, and an
oracle of another algorithm (scipy's linprog on the LP written out variable by variable, not
on the engines' graph) on random small plans, for both engines and the closed form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from abm.config.registry import PLACEMENT_ENGINES
from abm.core.flow import solve_flow
from abm.core.horizon import (
    ARC_CHAIN,
    ARC_MISSED,
    ARC_WAIT,
    HorizonProblem,
    HoursAhead,
    Plan,
    check_plan,
    deferral_tie,
    edf,
    graph,
)
from abm.core.horizon_flow import solve_horizon_flow
from abm.core.horizon_lp import solve_horizon_lp
from abm.core.horizon_walk import plan_walk, solve_free_plan, solve_plan
from abm.core.problem import PlacementInputError, PlacementProblem


def engines(feasible: np.ndarray):
    """Each registered placement engine's plan for one operator (operator 0)."""
    import abm.market.engines  # noqa: F401  registers the engines

    return {name: PLACEMENT_ENGINES[name](feasible[None]) for name in PLACEMENT_ENGINES}


def two_regions_three_hours() -> HorizonProblem:
    """One class, regions A (its origin, where it holds 6 MW) and B, three hours; capacity 10
    MW each region each hour; 6 MW due each hour; 8 MWh due by the end of hour 1 and 10 MWh by
    the end of hour 2; friction 5 $/MW moved in."""
    cost = np.array([[[50.0, 80.0]], [[30.0, 60.0]], [[90.0, 20.0]]])  # (t, k, j)
    return HorizonProblem.of(
        cost, np.ones((1, 2), bool), due_mw=np.full((3, 1), 6.0),
        deferrable_mw=np.array([[0.0], [8.0], [10.0]]), voll_usd_per_mwh=1000.0,
        friction_usd_per_mw=np.full((1, 2), 5.0), incumbent_mw=np.array([[6.0, 0.0]]),
        capacity_mw=np.full((3, 2), 10.0), preference=np.array([[0.0, 0.6]]))


def test_hand_solved_two_regions_three_hours_with_deadlines() -> None:
    """By hand: the due load takes each hour's cheapest MW (A kept at 50 and 30 in hours 0 and
    1, B at 20 + 5 in hour 2: 300 + 180 + 150). The work then takes the cheapest MW left that
    its deadline allows: B at 25 in hour 2 (4 MW, only the work due by hour 2 may wait that
    long), A moved in at 35 in hour 1 (4), at 55 in hour 0 (4), B at 65 in hour 1 (6): 100 +
    140 + 220 + 390. Total $1,480, nothing missed. Among the ways to share hours 0-1 between
    the two pieces of work (the same $ and tie cost: the tie rank is the same for every deadline),
    each hour's work is dealt earliest deadline first (``edf``): the 8 MWh due by hour 1 take
    hour 0's 4 MW and 4 of hour 1."""
    p = two_regions_three_hours()
    want_x = np.array([[[10.0, 0.0]], [[10.0, 6.0]], [[0.0, 10.0]]])
    want_y = np.zeros((3, 3, 1))
    want_y[1, 0, 0], want_y[1, 1, 0], want_y[2, 1, 0], want_y[2, 2, 0] = 4.0, 4.0, 6.0, 4.0
    plans = {name: engine.plan(0, p) for name, engine in engines(p.feasible).items()}
    plans["solve_horizon_flow"] = solve_horizon_flow(p)
    plans["solve_horizon_lp"] = solve_horizon_lp(p)
    plans["solve_plan"] = solve_plan(p)
    assert {"flow", "highs"} <= set(plans)
    for name, plan in plans.items():
        check_plan(p, plan)
        assert p.objective_usd(plan) == pytest.approx(1480.0, rel=1e-12), name
        np.testing.assert_allclose(plan.x_mw, want_x, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(plan.deferred_mw, want_y, atol=1e-9, err_msg=name)
        assert not plan.missed_mw.any() and not plan.unserved_mw.any(), name


def test_the_hand_solved_case_takes_the_flow_several_shortest_paths() -> None:
    """The hand-solved case is one the flow cannot send by its first zero-cost paths alone:
    it takes Dijkstra rounds (each sending along one shortest path), so the case above holds
    them to the hand-solved optimum."""
    from abm.core.horizon_flow import _mcf

    p = two_regions_three_hours()
    g = graph(p)
    flow = np.zeros(len(g.tail))
    rounds = _mcf(g.n_nodes, g.supply, g.tail, g.head, g.capacity, g.cost, g.tie,
                  p.tie_tolerance_usd_per_mwh(), flow)
    assert rounds >= 2
    assert float(flow @ np.where(flow > 0, g.cost, 0.0)) == pytest.approx(1480.0, rel=1e-12)


def walk_one(p: HorizonProblem, capacity_mw: np.ndarray) -> tuple[np.ndarray, ...]:
    """Hour 0 of ``p`` as the market commits it for one ``lp`` operator with work: the
    compiled first-come walk (``plan_walk``) with the operator's arrays, ``capacity_mw`` (R,)
    free; returns (x_mw (K, R), unserved_mw (K,), work run by slot (K, T), flows solved)."""
    n_t, n_k, n_r = p.shape
    network = np.zeros((1, n_k, n_r))
    energy = p.cost_usd_per_mwh[1:, :1, :].copy()  # (T - 1, 1, R): the class-free part
    network[0] = p.cost_usd_per_mwh[1] - p.cost_usd_per_mwh[1, :1] if n_t > 1 else 0.0
    ahead = HoursAhead(np.array([n_t]), energy, network, p.due_mw[1:, None, :],
                       p.deferrable_mw.T[None].copy())
    x, u = np.zeros((1, n_k, n_r)), np.zeros((1, n_k))
    flows = plan_walk(np.array([0]), p.cost_usd_per_mwh[:1], p.feasible[None],
                      p.due_mw[:1], p.friction_usd_per_mw[None], p.incumbent_mw[None],
                      p.preference[None], np.zeros((1, n_r)), capacity_mw[None],
                      capacity_mw.copy(), p.voll_usd_per_mwh, x, u, ahead)
    ran = x[0].sum(axis=1) + u[0] - p.due_mw[0]  # work run now, nearest deadline first
    work = np.minimum(p.deferrable_mw[:, 0], np.maximum(
        ran[0] - np.concatenate([[0.0], np.cumsum(p.deferrable_mw[:-1, 0])]), 0.0))
    return x[0], u[0], work[None], flows


def test_hand_solved_case_on_the_market_walk() -> None:
    """The hand-solved plan as the market places it (the compiled walk, the default
    ``market.solver = "flow"``): hour 0 runs 10 MW at A, the 6 MW due and 4 MWh of the work
    due by hour 1; its capacity-free plan overfills A and B, so the walk solves the flow.
    With room enough, the same plan is the closed form's, no flow solved."""
    p = two_regions_three_hours()
    x, u, work, flows = walk_one(p, np.full(2, 10.0))
    np.testing.assert_allclose(x, [[10.0, 0.0]], atol=1e-9)
    np.testing.assert_allclose(u, [0.0], atol=1e-12)
    np.testing.assert_allclose(work, [[0.0, 4.0, 0.0]], atol=1e-9)
    assert flows == 1
    roomy = HorizonProblem.of(p.cost_usd_per_mwh, p.feasible, p.due_mw, p.deferrable_mw,
                              voll_usd_per_mwh=p.voll_usd_per_mwh,
                              friction_usd_per_mw=p.friction_usd_per_mw,
                              incumbent_mw=p.incumbent_mw, preference=p.preference)
    x, u, work, flows = walk_one(roomy, np.full(2, 1e6))
    plan = solve_horizon_flow(roomy)
    np.testing.assert_allclose(x, plan.x_mw[0], atol=1e-9)
    assert work.sum() == pytest.approx(plan.deferred_mw[:, 0, 0].sum(), abs=1e-9)
    assert flows == 0


def test_hand_solved_closed_form_without_capacity() -> None:
    """The two-region case without capacity, by hand: each hour's cheapest MW is A kept (50,
    30) or B moved in (20 + 5 in hour 2). Due load: 6 MW each hour there (300 + 180 + 150),
    which uses up A's 6 kept MW. The work due by hour 1 (8 MWh) then runs in hour 1 at A
    moved in at 35 (not hour 0's 55); the work due by hour 2 (10) in hour 2 at B at 25:
    $ 280 + 250; total 1,160."""
    p = HorizonProblem.of(*(getattr(two_regions_three_hours(), f) for f in (
        "cost_usd_per_mwh", "feasible", "due_mw", "deferrable_mw")),
        voll_usd_per_mwh=1000.0, friction_usd_per_mw=np.full((1, 2), 5.0),
        incumbent_mw=np.array([[6.0, 0.0]]), preference=np.array([[0.0, 0.6]]))
    for name, plan in {"closed form": solve_free_plan(p), "flow": solve_horizon_flow(p),
                       "lp": solve_horizon_lp(p)}.items():
        check_plan(p, plan)
        assert p.objective_usd(plan) == pytest.approx(1160.0, rel=1e-12), name
        np.testing.assert_allclose(plan.x_mw[:, 0], [[6.0, 0.0], [14.0, 0.0], [0.0, 16.0]],
                                   atol=1e-9, err_msg=name)


def test_hand_solved_missed_deadline() -> None:
    """One region, two hours, 5 MW of room each hour, 3 MW due each hour at 10 $/MWh, VoLL
    100: 4 MWh of backlog due now and 3 due by the end of hour 1. The due load runs first (a
    tie: unserved and missed both cost VoLL). Hour 0 has 2 MW left: the work due now takes them
    (the rest, 2, is missed); hour 1's 2 MW go to the later work (1 missed). $ = 6 x 10 +
    4 x 10 + 3 x 100 = 400."""
    p = HorizonProblem.of(np.full((2, 1, 1), 10.0), np.ones((1, 1), bool),
                          due_mw=np.full((2, 1), 3.0), deferrable_mw=np.array([[4.0], [3.0]]),
                          voll_usd_per_mwh=100.0, capacity_mw=np.full((2, 1), 5.0))
    for name, plan in {**{n: e.plan(0, p) for n, e in engines(p.feasible).items()},
                       "flow": solve_horizon_flow(p), "lp": solve_horizon_lp(p)}.items():
        check_plan(p, plan)
        assert p.objective_usd(plan) == pytest.approx(400.0, rel=1e-12), name
        np.testing.assert_allclose(plan.missed_mw[:, 0], [2.0, 1.0], atol=1e-9, err_msg=name)
        np.testing.assert_allclose(plan.deferred_mw[:, :, 0], [[2.0, 0.0], [0.0, 2.0]],
                                   atol=1e-9, err_msg=name)


def test_one_hour_plan_is_the_placement_problem() -> None:
    """With one hour and no deferrable work the plan is today's placement optimum."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        k, r = rng.integers(1, 4), rng.integers(1, 5)
        cost = rng.integers(-5, 20, (k, r)).astype(float)
        feasible = rng.random((k, r)) < 0.8
        demand = rng.integers(0, 10, k).astype(float)
        prev = np.floor(rng.random((k, r)) * demand[:, None] / r)
        phi = rng.integers(0, 5, (k, r)).astype(float)
        cap = rng.integers(0, 15, r).astype(float)
        pref = rng.integers(0, 5, (k, r)) / 4
        one = PlacementProblem.of(cost, feasible, demand, voll_usd_per_mwh=12.0,
                                  friction_usd_per_mw=phi, incumbent_mw=prev, capacity_mw=cap,
                                  preference=pref)
        horizon = HorizonProblem.of(cost[None], feasible, demand[None], voll_usd_per_mwh=12.0,
                                    friction_usd_per_mw=phi, incumbent_mw=prev,
                                    capacity_mw=cap[None], preference=pref)
        x, u = solve_flow(one)
        plan = solve_horizon_flow(horizon)
        assert horizon.objective_usd(plan) == pytest.approx(one.objective_usd(x, u), abs=1e-9)
        assert horizon.tie_cost(plan) == pytest.approx(one.tie_cost(x, u), abs=1e-9)


def test_deferral_tie_runs_early() -> None:
    """The tie rank is above 0 (due load first), grows with the hour and stays below 1."""
    n = 5
    w = deferral_tie(np.arange(n), n)
    assert (w > 0).all() and (w < 1).all()
    assert 0 < deferral_tie(0, 1) < 1
    assert (np.diff(w) > 0).all()
    assert (w <= 0.25).all()
    assert deferral_tie(np.arange(n), n) == pytest.approx(0.5 * (1 + np.arange(n)) / (2 * n))


def test_hand_solved_work_runs_early_and_due_load_first() -> None:
    """By hand: one region at 10 $/MWh every hour, VoLL 100, 4 MW of room each of three
    hours; 3 MW due in hour 0; work of 2 MWh due now, 3 by the end of hour 1 and 5 by the end
    of hour 2. Every MW costs the same, so the tie rank decides: hour 0's room goes to the due
    load (3 MW) before work (1 MW), the work then fills the earliest hours (hour 0's last MW,
    4 in hour 1, 4 in hour 2: 9 of 10 MWh; 1 missed), and each hour's work is dealt to the
    deadlines earliest first: hour 0 to the work due now (1 of 2; 1 missed, as the work due
    later fits later), hour 1 to the work due by hour 1 (3) and then by hour 2 (1), hour 2 to
    the rest due by hour 2 (4). $ = 12 x 10 + 1 x 100 = 220."""
    p = HorizonProblem.of(np.full((3, 1, 1), 10.0), np.ones((1, 1), bool),
                          due_mw=np.array([[3.0], [0.0], [0.0]]),
                          deferrable_mw=np.array([[2.0], [3.0], [5.0]]),
                          voll_usd_per_mwh=100.0, capacity_mw=np.full((3, 1), 4.0))
    want_y = np.zeros((3, 3))
    want_y[0, 0], want_y[1, 1], want_y[2, 1], want_y[2, 2] = 1.0, 3.0, 1.0, 4.0
    plans_ = {**{n: e.plan(0, p) for n, e in engines(p.feasible).items()},
              "flow": solve_horizon_flow(p), "lp": solve_horizon_lp(p), "walk": solve_plan(p)}
    for name, plan in plans_.items():
        check_plan(p, plan)
        assert p.objective_usd(plan) == pytest.approx(220.0, rel=1e-12), name
        np.testing.assert_allclose(plan.x_mw[:, 0, 0], [4.0, 4.0, 4.0], atol=1e-9,
                                   err_msg=name)
        assert not plan.unserved_mw.any(), name
        np.testing.assert_allclose(plan.deferred_mw[:, :, 0], want_y, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(plan.missed_mw[:, 0], [1.0, 0.0, 0.0], atol=1e-9,
                                   err_msg=name)


def test_edf_by_hand() -> None:
    """By hand: work (2, 3, 4 MWh due by the end of hours 0, 1, 2) and 4, 1, 4 MW of work run
    in those hours: hour 0 runs the 2 due now and 2 of those due by hour 1, hour 1 the last 1
    of those, hour 2 the 4 due by hour 2; nothing missed. Dealt latest deadline first instead,
    hour 0 would run the later work and the 2 due now would be missed."""
    work = np.array([[2.0], [3.0], [4.0]])
    deferred, missed = edf(work, np.array([[4.0], [1.0], [4.0]]))
    want = np.zeros((3, 3, 1))
    want[0, 0], want[1, 0], want[1, 1], want[2, 2] = 2.0, 2.0, 1.0, 4.0
    np.testing.assert_array_equal(deferred, want)
    np.testing.assert_array_equal(missed, np.zeros((3, 1)))
    # more run than work can take: dealt as far as it goes, the rest missed
    deferred, missed = edf(np.array([[4.0], [3.0]]), np.array([[2.0], [2.0]]))
    np.testing.assert_array_equal(deferred[:, :, 0], [[2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_array_equal(missed[:, 0], [2.0, 1.0])


def latest_first(work_mw: np.ndarray, run_mw: np.ndarray) -> np.ndarray:
    """MW missed when each hour's work is dealt to the deadlines latest first (another
    dealing, for comparison with ``edf``)."""
    rest = np.array(work_mw, dtype=float)
    for t in range(len(work_mw)):
        q = np.array(run_mw[t], dtype=float)
        for h in range(len(work_mw) - 1, t - 1, -1):
            take = np.minimum(q, rest[h])
            rest[h] -= take
            q -= take
    return rest


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_edf_realises_every_schedule_of_the_chain(n_t: int, n_k: int, seed: int) -> None:
    """Any dealing y[h, t] of work to hours at or before its deadline gives the chain's
    schedule run[t] = sum_h y[h, t]; ``edf`` realises it (every MW run is dealt, none after
    its deadline, every MWh conserved) and misses no more than that dealing did; on any MW
    run at all it misses no more than dealing latest deadline first."""
    rng = np.random.default_rng(seed)
    work = rng.integers(0, 6, (n_t, n_k)).astype(float) * (rng.random((n_t, n_k)) < 0.8)
    y = np.zeros((n_t, n_t, n_k))
    for h in range(n_t):
        for k in range(n_k):
            y[h, :h + 1, k] = rng.multinomial(int(work[h, k]), np.ones(h + 2) / (h + 2))[:h + 1]
    run = y.sum(axis=0)
    deferred, missed = edf(work, run)
    np.testing.assert_allclose(deferred.sum(axis=0), run, atol=1e-12)
    assert not np.triu(np.moveaxis(deferred, 2, 0), 1).any()  # none after its deadline
    assert (deferred >= 0).all() and (missed >= 0).all()
    np.testing.assert_allclose(deferred.sum(axis=1) + missed, work, atol=1e-12)
    assert missed.sum() <= (work - y.sum(axis=1)).sum() + 1e-12
    other = rng.integers(0, 8, (n_t, n_k)).astype(float)  # any MW run at all
    assert edf(work, other)[1].sum() <= latest_first(work, other).sum() + 1e-12


@pytest.mark.parametrize(("field", "value", "message"), [
    ("due_mw", -np.ones((2, 1)), "due_mw must be finite and >= 0"),
    ("deferrable_mw", np.full((2, 1), np.nan), "deferrable_mw must be finite and >= 0"),
    ("capacity_mw", -np.ones((2, 1)), "capacity_mw must be >= 0"),
    ("deferrable_mw", np.ones((3, 1)), "deferrable_mw must have shape (2, 1)"),
])
def test_bad_input_names_the_field(field: str, value: np.ndarray, message: str) -> None:
    args = {"due_mw": np.ones((2, 1))}
    args[field] = value
    with pytest.raises(PlacementInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        HorizonProblem.of(np.ones((2, 1, 1)), np.ones((1, 1), bool), voll_usd_per_mwh=1.0,
                          **args)


def linprog_optimum(p: HorizonProblem) -> float:
    """The $ optimum by an interior-point method (scipy's ``highs-ipm``; the engines are a
    min-cost flow and a simplex) on the LP written out variable by variable, apart from the
    engines' graph: x1, x2 (T, K, R) kept / moved-in MW, y (H, T, K) work run, u (T, K)
    unserved, m (H, K) missed."""
    n_t, n_k, n_r = p.shape
    idx = {}

    def var(name, *key):
        return idx.setdefault((name, *key), len(idx))

    for t in range(n_t):
        for k in range(n_k):
            for j in range(n_r):
                var("x1", t, k, j)
                var("x2", t, k, j)
            var("u", t, k)
            var("m", t, k)
            for h in range(t, n_t):
                var("y", h, t, k)
    n = len(idx)
    c = np.zeros(n)
    upper = np.full(n, np.inf)
    for key, i in idx.items():
        name = key[0]
        if name in ("x1", "x2"):
            t, k, j = key[1:]
            if not p.feasible[k, j]:
                upper[i] = 0.0
            else:
                c[i] = p.cost_usd_per_mwh[t, k, j] + (
                    p.friction_usd_per_mw[k, j] if name == "x2" else 0.0)
                if name == "x1":
                    upper[i] = p.incumbent_mw[k, j]
        elif name in ("u", "m"):
            c[i] = p.voll_usd_per_mwh
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for t in range(n_t):
        for k in range(n_k):
            row = np.zeros(n)  # run in hour t = due served + work run in t
            for j in range(n_r):
                row[idx["x1", t, k, j]] = row[idx["x2", t, k, j]] = 1.0
            row[idx["u", t, k]] = 1.0
            for h in range(t, n_t):
                row[idx["y", h, t, k]] = -1.0
            a_eq.append(row)
            b_eq.append(p.due_mw[t, k])
            row = np.zeros(n)  # work due by h: run by h or missed
            for s in range(t + 1):
                row[idx["y", t, s, k]] = 1.0
            row[idx["m", t, k]] = 1.0
            a_eq.append(row)
            b_eq.append(p.deferrable_mw[t, k])
            # unserved at most the due load
            row = np.zeros(n)
            row[idx["u", t, k]] = 1.0
            a_ub.append(row)
            b_ub.append(p.due_mw[t, k])
        for j in range(n_r):
            if np.isfinite(p.capacity_mw[t, j]):
                row = np.zeros(n)
                for k in range(n_k):
                    row[idx["x1", t, k, j]] = row[idx["x2", t, k, j]] = 1.0
                a_ub.append(row)
                b_ub.append(p.capacity_mw[t, j])
    res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq,
                  bounds=list(zip(np.zeros(n), upper, strict=True)), method="highs-ipm")
    assert res.status == 0, res.message
    return float(res.fun)


@st.composite
def plans(draw) -> HorizonProblem:
    """Small plans on integer grids so that optima tie often: 1-4 hours, 1-3 classes, 1-3
    regions."""
    n_t = draw(st.integers(1, 4))
    n_k = draw(st.integers(1, 3))
    n_r = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cost = rng.integers(-5, 20, (n_t, n_k, n_r)).astype(float)
    if rng.random() < 0.3:  # by hour and region only: many ties
        cost = np.broadcast_to(cost[:, :1], cost.shape).copy()
    feasible = rng.random((n_k, n_r)) < 0.8
    due = rng.integers(0, 6, (n_t, n_k)).astype(float)
    work = rng.integers(0, 8, (n_t, n_k)).astype(float) * (rng.random((n_t, n_k)) < 0.7)
    prev = rng.integers(0, 4, (n_k, n_r)).astype(float)
    phi = rng.integers(0, 5, (n_k, n_r)).astype(float)
    cap = rng.integers(0, 15, (n_t, n_r)).astype(float)
    cap[rng.random((n_t, n_r)) < 0.2] = np.inf
    return HorizonProblem.of(cost, feasible, due, work,
                             voll_usd_per_mwh=float(rng.integers(0, 25)),
                             friction_usd_per_mw=phi, incumbent_mw=prev, capacity_mw=cap,
                             preference=rng.integers(0, 5, (n_k, n_r)) / 4)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_engines_match_an_oracle_of_another_algorithm(p: HorizonProblem) -> None:
    """Both engines reach linprog's $ optimum, the same tie cost, with a feasible plan that
    conserves every MWh (run + unserved + missed = due + work)."""
    want = linprog_optimum(p)
    scale = max(1.0, abs(want))
    plans_: dict[str, Plan] = {"flow": solve_horizon_flow(p), "highs": solve_horizon_lp(p),
                               "fast": solve_plan(p)}
    ties = []
    for name, plan in plans_.items():
        check_plan(p, plan)
        assert abs(p.objective_usd(plan) - want) <= 1e-7 * scale, name
        total = plan.x_mw.sum() + plan.unserved_mw.sum() + plan.missed_mw.sum()
        assert total == pytest.approx(p.due_mw.sum() + p.deferrable_mw.sum(), abs=1e-9), name
        ties.append(p.tie_cost(plan))
    assert ties[0] == pytest.approx(ties[1], abs=1e-7 * max(1.0, abs(ties[0])))
    assert ties[2] == pytest.approx(ties[0], abs=1e-7 * max(1.0, abs(ties[0])))


def without_capacity(p: HorizonProblem) -> HorizonProblem:
    """``p`` with no capacity limit (a region-hour without room stays without)."""
    cap = np.where(p.capacity_mw > 0, np.inf, 0.0)
    return HorizonProblem.of(p.cost_usd_per_mwh, p.feasible, p.due_mw, p.deferrable_mw,
                             voll_usd_per_mwh=p.voll_usd_per_mwh,
                             friction_usd_per_mw=p.friction_usd_per_mw,
                             incumbent_mw=p.incumbent_mw, capacity_mw=cap,
                             preference=p.preference)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_closed_form_is_the_capacity_free_optimum(p: HorizonProblem) -> None:
    """Properties of the closed form (``solve_free_plan``): without capacity it is the
    optimum of linprog, the flow and HiGHS (the same $ and tie cost), conserves every MWh
    and runs no work after its deadline (``check_plan``), misses work only where running it
    costs more than VoLL; with capacity its $ is never above the flow's (a relaxation), and
    where it fits the capacity it is the flow's optimum."""
    free = without_capacity(p)
    fast = solve_free_plan(free)
    check_plan(free, fast)
    want = linprog_optimum(free)
    scale = max(1.0, abs(want))
    assert abs(free.objective_usd(fast) - want) <= 1e-7 * scale
    total = fast.x_mw.sum() + fast.unserved_mw.sum() + fast.missed_mw.sum()
    assert total == pytest.approx(free.due_mw.sum() + free.deferrable_mw.sum(), abs=1e-9)
    for other in (solve_horizon_flow(free), solve_horizon_lp(free)):
        assert abs(free.objective_usd(other) - free.objective_usd(fast)) <= 1e-7 * scale
        assert free.tie_cost(other) == pytest.approx(free.tie_cost(fast), abs=1e-7)
    if fast.missed_mw.any():  # missed work had no MW below VoLL before its deadline
        c = np.where(free.feasible[None] & (free.capacity_mw[:, None, :] > 0),
                     free.cost_usd_per_mwh + free.friction_usd_per_mw[None], np.inf)
        h, k = np.nonzero(fast.missed_mw > 1e-9)
        for h_, k_ in zip(h, k, strict=True):
            assert c[:h_ + 1, k_].min(initial=np.inf) >= free.voll_usd_per_mwh - 1e-9
    capped = solve_horizon_flow(p)
    relaxed = solve_free_plan(p)
    assert p.objective_usd(relaxed) <= p.objective_usd(capped) + 1e-9 * scale
    load = relaxed.x_mw.sum(axis=1)
    if (load <= p.capacity_mw + 1e-9).all():
        assert p.objective_usd(relaxed) == pytest.approx(p.objective_usd(capped), abs=1e-7)
        assert p.tie_cost(relaxed) == pytest.approx(p.tie_cost(capped), abs=1e-7)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_the_walk_repairs_an_overfilled_plan_to_the_optimum(p: HorizonProblem) -> None:
    """With the same room every hour (what an operator in the market plans against), a plan
    whose closed form overfills a region-hour is solved by the flow started from the closed
    form (``solve_plan``, the walk's repair): linprog's $ optimum and the fresh flow's tie
    cost, a feasible plan, every MWh conserved."""
    cap = np.broadcast_to(p.capacity_mw[0], p.capacity_mw.shape)
    p = HorizonProblem.of(p.cost_usd_per_mwh, p.feasible, p.due_mw, p.deferrable_mw,
                          voll_usd_per_mwh=p.voll_usd_per_mwh,
                          friction_usd_per_mw=p.friction_usd_per_mw,
                          incumbent_mw=p.incumbent_mw, capacity_mw=cap,
                          preference=p.preference)
    fast, flow = solve_plan(p), solve_horizon_flow(p)
    check_plan(p, fast)
    want = linprog_optimum(p)
    assert abs(p.objective_usd(fast) - want) <= 1e-7 * max(1.0, abs(want))
    assert p.tie_cost(fast) == pytest.approx(p.tie_cost(flow), abs=1e-7)
    total = fast.x_mw.sum() + fast.unserved_mw.sum() + fast.missed_mw.sum()
    assert total == pytest.approx(p.due_mw.sum() + p.deferrable_mw.sum(), abs=1e-9)


@st.composite
def market_plans(draw) -> HorizonProblem:
    """Plans shaped as the market's (``benchmarks/deferral.py``): 5 hours, work due by the end
    of each, the same room every hour, $ = an hour's energy + the class's network cost on an
    integer grid (so whole levels of paths tie and the flow settles many nodes at one
    distance), the room short of the load in the cheapest regions."""
    n_k = draw(st.integers(2, 4))
    n_r = draw(st.integers(2, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_t = 5
    cost = (rng.integers(0, 6, (n_t, 1, n_r)) + rng.integers(0, 3, (1, n_k, n_r))).astype(float)
    due = rng.integers(0, 4, (n_t, n_k)).astype(float)
    work = rng.integers(0, 4, (n_t, n_k)).astype(float)
    cap = rng.integers(0, 3 * n_k, n_r).astype(float)
    return HorizonProblem.of(cost, rng.random((n_k, n_r)) < 0.9, due, work,
                             voll_usd_per_mwh=float(rng.integers(8, 20)),
                             friction_usd_per_mw=rng.integers(0, 2, (n_k, n_r)).astype(float),
                             incumbent_mw=rng.integers(0, 3, (n_k, n_r)).astype(float),
                             capacity_mw=np.broadcast_to(cap, (n_t, n_r)),
                             preference=rng.integers(0, 3, (n_k, n_r)) / 2)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(market_plans())
def test_the_repair_matches_highs_on_plans_shaped_as_the_markets(p: HorizonProblem) -> None:
    """The walk's repair (``solve_plan``) and the fresh flow, whose Dijkstra rounds settle the
    nodes at the least distance depth first and stop at the sink once reached at it
    (``abm.core.horizon_flow``), reach HiGHS's optimum on plans with many tying paths: the
    same $ and tie cost, a feasible plan."""
    want = solve_horizon_lp(p)
    scale = max(1.0, abs(p.objective_usd(want)))
    for plan in (solve_plan(p), solve_horizon_flow(p)):
        check_plan(p, plan)
        assert abs(p.objective_usd(plan) - p.objective_usd(want)) <= 1e-7 * scale
        assert p.tie_cost(plan) == pytest.approx(p.tie_cost(want), abs=1e-7)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_the_chain_graphs_flow_matches_highs(p: HorizonProblem) -> None:
    """The graph both engines read (``graph``) holds one chain of work nodes per class with
    work: a zero-cost arc from each hour's node to the hour before, down from its latest
    deadline, one missed arc (at VoLL) at its hour-0 node, work arcs from a chain node only to
    its own class-hour; every arc points to a higher node. The flow on it (successive
    shortest paths) and HiGHS on it reach the same $ and tie cost, and each plan's work is
    the chain's MW run each hour dealt earliest deadline first (``edf``)."""
    g = graph(p)
    assert (g.tail < g.head).all()
    n_t, n_k, _ = p.shape
    top = [max((h for h in range(n_t) if p.deferrable_mw[h, k] > 0), default=-1)
           for k in range(n_k)]
    chain = g.kind == ARC_CHAIN
    assert sorted(map(tuple, g.where[chain][:, :2])) == sorted(
        (h, k) for k in range(n_k) for h in range(1, top[k] + 1))
    assert (g.cost[chain] == 0).all() and (g.tie[chain] == 0).all()
    missed = g.kind == ARC_MISSED
    assert sorted(map(tuple, g.where[missed][:, :2])) == [(0, k) for k in range(n_k)
                                                          if top[k] >= 0]
    assert (g.cost[missed] == p.voll_usd_per_mwh).all()
    wait = g.kind == ARC_WAIT
    assert all(t <= top[k] for t, k in g.where[wait][:, :2])
    np.testing.assert_allclose(g.tie[wait], deferral_tie(g.where[wait][:, 0], n_t))
    flow, lp = solve_horizon_flow(p), solve_horizon_lp(p)
    scale = max(1.0, abs(p.objective_usd(lp)))
    assert abs(p.objective_usd(flow) - p.objective_usd(lp)) <= 1e-7 * scale
    assert p.tie_cost(flow) == pytest.approx(p.tie_cost(lp), abs=1e-7)
    for plan in (flow, lp):
        check_plan(p, plan)
        deferred, missed_mw = edf(p.deferrable_mw, plan.deferred_mw.sum(axis=0))
        np.testing.assert_allclose(plan.deferred_mw, deferred, atol=1e-9)
        np.testing.assert_allclose(plan.missed_mw, missed_mw, atol=1e-9)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_the_walks_cut_keeps_every_region_an_optimum_uses(p: HorizonProblem) -> None:
    """The regions the walk's repair leaves out for a class-hour (``_usable``: cheaper regions
    have more room than the hour's whole load) carry no MW in the optimum of the full graph
    (HiGHS; with the same room every hour, as in the market), and some region is kept
    wherever the class-hour may run at all."""
    from abm.core.horizon_walk import _region_lists, _usable

    cap = np.where(np.isfinite(p.capacity_mw[0]), p.capacity_mw[0], 1e6)
    p = HorizonProblem.of(p.cost_usd_per_mwh, p.feasible, p.due_mw, p.deferrable_mw,
                          voll_usd_per_mwh=p.voll_usd_per_mwh,
                          friction_usd_per_mw=p.friction_usd_per_mw,
                          incumbent_mw=p.incumbent_mw,
                          capacity_mw=np.broadcast_to(cap, p.capacity_mw.shape),
                          preference=p.preference)
    room = p.capacity_mw > 0
    use = np.empty(p.shape, dtype=bool)
    _usable(p.cost_usd_per_mwh, *_region_lists(p.feasible), room, p.due_mw, p.deferrable_mw,
            p.friction_usd_per_mw, p.incumbent_mw, cap, p.tie_tolerance_usd_per_mwh(), use)
    runs = (p.feasible[None] & room[:, None, :]).any(axis=2)
    assert (use.any(axis=2) == runs).all()
    assert not (use & ~(p.feasible[None] & room[:, None, :])).any()
    plan = solve_horizon_lp(p)
    assert (plan.x_mw[~use] <= 1e-9).all()


def test_room_within_the_fit_tolerance_of_zero_takes_nothing() -> None:
    """By hand: 10 MW due each of two hours, region A at 10 $/MWh with 1e-14 MW of room (the
    residue a full region leaves in the market's sums), B at 20 with room enough. The walk
    places all of it at B with no flow solved, which is HiGHS's optimum with A's room (to
    1e-13 MW x 10 $/MWh) and exactly its optimum with none."""
    cost = np.array([[[10.0, 20.0]], [[10.0, 20.0]]])
    room = np.array([1e-14, 50.0])
    p = HorizonProblem.of(cost, np.ones((1, 2), bool), due_mw=np.full((2, 1), 10.0),
                          deferrable_mw=np.array([[0.0], [5.0]]), voll_usd_per_mwh=100.0,
                          capacity_mw=np.broadcast_to(room, (2, 2)))
    x, _, _, flows = walk_one(p, room)
    assert flows == 0
    np.testing.assert_allclose(x, [[0.0, 15.0]], atol=1e-12)
    plan = solve_plan(p)
    assert p.objective_usd(plan) == 20.0 * 25.0
    assert p.objective_usd(plan) == pytest.approx(p.objective_usd(solve_horizon_lp(p)),
                                                  abs=1e-12)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_the_plans_tie_tolerance_is_the_one_hour_rule_over_every_hour(
        p: HorizonProblem) -> None:
    """The tolerance every horizon engine shares (taken on the walk's region lists, no arrays
    made) is, to the bit, the largest of the one-hour rule's over the hours, for the classes
    with due load or work in some hour."""
    from abm.core.problem_check import tie_tolerance_usd_per_mwh

    load = (p.due_mw + p.deferrable_mw).sum(axis=0)
    want = max(float(tie_tolerance_usd_per_mwh(
        p.cost_usd_per_mwh[t], p.feasible, load, p.friction_usd_per_mw,
        p.voll_usd_per_mwh).max()) for t in range(p.shape[0]))
    assert p.tie_tolerance_usd_per_mwh() == want


def test_the_plans_walks_unit_cost_is_the_sum_written_into_one_buffer() -> None:
    """The flow engine hands the plans' walk energy + network (``abm.core.costs.unit_cost``)
    written into one array it keeps (a new array each hour cost about a millisecond at 1,000
    operators): the same sum to the bit, the next hour's written over it; other dtypes are
    summed as numpy does."""
    from abm.market.engines import Flow

    rng = np.random.default_rng(3)
    engine = Flow(np.ones((4, 2, 3), dtype=bool))
    energy, network = rng.normal(size=(4, 3)), rng.normal(size=(4, 2, 3))
    first = engine._unit_cost(energy, network)
    np.testing.assert_array_equal(first, energy[:, None, :] + network)
    second = engine._unit_cost(2 * energy, network)
    assert second is first
    np.testing.assert_array_equal(second, 2 * energy[:, None, :] + network)
    low = engine._unit_cost(energy.astype(np.float32), network.astype(np.float32))
    assert low.dtype == np.float32 and low is not first
