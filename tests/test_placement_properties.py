"""Placement LP: cross-check against scipy's linprog, and docs/model.md section 7 properties.

The linprog formulation is written independently from docs/model.md section 3, with explicit
variables x[n, j], m[n, j] and u[n], rather than the y1/y2 split used by abm.core.placement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from abm.core.placement import Solution, solve_placement

INF = np.inf
TOL = 1e-7


# --- an independent formulation in scipy.optimize.linprog ---------------------------------------


def linprog_placement(cost, feasible, demand, capacity, voll, group, phi, prev):
    """docs/model.md section 3 LP solved by linprog (HiGHS); returns the optimal objective.

    Variables (in order): x[n, j] (N*R), m[n, j] (N*R), u[n] (N).
    """
    n, r = cost.shape
    nx = n * r
    phi = np.zeros((n, r)) if phi is None else phi
    prev = np.zeros((n, r)) if prev is None else prev
    c = np.concatenate([cost.ravel(), phi.ravel(), np.full(n, voll)])
    xi = np.arange(nx).reshape(n, r)
    # sum_j x[n, j] + u[n] = D[n]
    rows = np.concatenate([np.repeat(np.arange(n), r), np.arange(n)])
    cols = np.concatenate([xi.ravel(), 2 * nx + np.arange(n)])
    a_eq = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, 2 * nx + n))
    # x[n, j] - m[n, j] <= x_prev[n, j]
    ub_rows = [np.arange(nx), np.arange(nx)]
    ub_cols = [xi.ravel(), nx + xi.ravel()]
    ub_vals = [np.ones(nx), -np.ones(nx)]
    b_ub = [prev.ravel()]
    # sum_{n in g} x[n, j] <= Cap[g, j] for finite capacities
    k = nx
    for g in range(capacity.shape[0]):
        members = np.flatnonzero(group == g)
        for j in range(r):
            if np.isfinite(capacity[g, j]) and len(members):
                ub_rows.append(np.full(len(members), k))
                ub_cols.append(xi[members, j])
                ub_vals.append(np.ones(len(members)))
                b_ub.append([capacity[g, j]])
                k += 1
    a_ub = coo_matrix((np.concatenate(ub_vals), (np.concatenate(ub_rows),
                                                 np.concatenate(ub_cols))),
                      shape=(k, 2 * nx + n))
    # x = 0 where masked; everything >= 0
    x_ub = np.where(feasible, np.inf, 0.0).ravel()
    bounds = [(0.0, b) for b in x_ub] + [(0.0, None)] * (nx + n)
    res = linprog(c, A_ub=a_ub.tocsr(), b_ub=np.concatenate(b_ub), A_eq=a_eq.tocsr(),
                  b_eq=demand, bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return res.fun


def objective_of(sol: Solution, cost, phi, voll) -> float:
    """The docs/model.md objective evaluated at the solution's own x, moved and u."""
    total = float((sol.x_mw * cost).sum() + voll * sol.unserved_mw.sum())
    if phi is not None:
        total += float((sol.moved_mw * phi).sum())
    return total


def assert_feasible(sol: Solution, feasible, demand, capacity, group, prev, tol=TOL) -> None:
    """The solution satisfies every constraint of the docs/model.md LP."""
    n, r = feasible.shape
    scale = max(1.0, float(np.max(demand, initial=0.0)))
    assert sol.x_mw.shape == (n, r)
    assert sol.unserved_mw.shape == (n,)
    assert sol.moved_mw.shape == (n, r)
    assert sol.capacity_price_usd_per_mwh.shape == capacity.shape
    assert (sol.x_mw >= 0).all()
    assert (sol.unserved_mw >= 0).all()
    assert (sol.moved_mw >= 0).all()
    assert (sol.capacity_price_usd_per_mwh >= 0).all()
    assert (sol.x_mw[~feasible] == 0).all(), "flow where the mask forbids it"
    assert_allclose(sol.x_mw.sum(axis=1) + sol.unserved_mw, demand, rtol=0, atol=tol * scale)
    prev = np.zeros((n, r)) if prev is None else prev
    assert (sol.moved_mw >= sol.x_mw - prev - tol * scale).all()
    for g in range(capacity.shape[0]):
        used = sol.x_mw[group == g].sum(axis=0)
        assert (used <= capacity[g] + tol * scale).all(), "capacity exceeded"


def random_instance(rng: np.random.Generator):
    """A random LP: N, R in 1..6, G in 1..3, masks, finite/infinite/zero capacity, friction."""
    n, r, g = rng.integers(1, 7), rng.integers(1, 7), rng.integers(1, 4)
    cost = rng.uniform(-10.0, 200.0, (n, r))
    feasible = rng.random((n, r)) < rng.uniform(0.3, 1.0)
    demand = rng.uniform(0.0, 100.0, n) * (rng.random(n) > 0.15)
    cap = rng.uniform(0.0, 150.0, (g, r))
    cap[rng.random((g, r)) < 0.3] = INF
    cap[rng.random((g, r)) < 0.1] = 0.0
    group = rng.integers(0, g, n)
    phi = prev = None
    mode = rng.integers(0, 4)  # 0: none, 1: friction + x_prev, 2: friction only, 3: x_prev only
    if mode in (1, 2):
        phi = rng.uniform(0.0, 80.0, (n, r)) * (rng.random((n, r)) > 0.1)
    if mode in (1, 3):
        weights = rng.random((n, r)) * (rng.random((n, r)) > 0.4)
        tot = weights.sum(axis=1, keepdims=True)
        prev = np.where(tot > 0, weights / np.where(tot > 0, tot, 1.0), 0.0) * demand[:, None]
    worst = cost + (0.0 if phi is None else phi)
    voll = float(worst.max()) + rng.uniform(1.0, 2000.0)
    return cost, feasible, demand, cap, voll, group, phi, prev


@pytest.mark.parametrize("seed", range(240))
def test_matches_linprog(seed):
    rng = np.random.default_rng([20240801, seed])
    cost, feasible, demand, cap, voll, group, phi, prev = random_instance(rng)
    sol = solve_placement(cost, feasible, demand, cap, voll, group=group,
                          friction_usd_per_mw=phi, x_prev_mw=prev)
    ref = linprog_placement(cost, feasible, demand, cap, voll, group, phi, prev)
    assert sol.objective_usd == pytest.approx(ref, rel=1e-6, abs=1e-6)
    assert_feasible(sol, feasible, demand, cap, group, prev, tol=1e-7)
    # The reported objective is that of the reported (x, moved, u).
    assert objective_of(sol, cost, phi, voll) == pytest.approx(sol.objective_usd, rel=1e-6,
                                                               abs=1e-6)


# --- hypothesis strategies ----------------------------------------------------------------------

VOLL = 1000.0  # costs <= 100 and friction <= 30, so VoLL always exceeds c + phi

cap_values = st.one_of(st.just(INF), st.integers(0, 100).map(float))


@dataclass(frozen=True)
class Lp:
    cost: np.ndarray
    feasible: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    group: np.ndarray
    phi: np.ndarray | None = None
    prev: np.ndarray | None = None

    def solve(self) -> Solution:
        return solve_placement(self.cost, self.feasible, self.demand, self.capacity, VOLL,
                               group=self.group, friction_usd_per_mw=self.phi,
                               x_prev_mw=self.prev)


@st.composite
def lps(draw, *, friction: str = "maybe", min_phi: int = 0, infinite_capacity: bool = False,
        max_groups: int = 3) -> Lp:
    """Integer-valued LPs (exact optima); friction in {"none", "maybe", "always"}."""
    n = draw(st.integers(1, 5))
    r = draw(st.integers(1, 5))
    g = draw(st.integers(1, max_groups))
    ints = st.integers(0, 100).map(float)
    cost = draw(hnp.arrays(float, (n, r), elements=ints))
    feasible = draw(hnp.arrays(bool, (n, r)))
    demand = draw(hnp.arrays(float, n, elements=st.integers(0, 50).map(float)))
    if infinite_capacity:
        cap = np.full((g, r), INF)
    else:
        cap = draw(hnp.arrays(float, (g, r), elements=cap_values))
    group = draw(hnp.arrays(int, n, elements=st.integers(0, g - 1)))
    phi = prev = None
    if friction == "always" or (friction == "maybe" and draw(st.booleans())):
        phi = draw(hnp.arrays(float, (n, r), elements=st.integers(min_phi, 30).map(float)))
        prev = draw(hnp.arrays(float, (n, r), elements=st.integers(0, 20).map(float)))
        held = prev.sum(axis=1)  # the contract: a class holds at most its demand
        prev *= np.minimum(1.0, np.divide(demand, held, out=np.ones(n), where=held > 0))[:, None]
    return Lp(cost, feasible, demand, cap, group, phi, prev)


# 60 examples: the same properties are drawn again on compiled scenarios (test_core_properties)
# and for the flow engine (test_flow), which test_flow checks against HiGHS
SETTINGS = settings(max_examples=60, deadline=None)


# --- section 7 invariants of a single LP --------------------------------------------------------


@SETTINGS
@given(lps())
def test_conservation_masks_and_capacity(lp):
    """served + unserved = demand per class; no flow where masked; capacity never exceeded."""
    sol = lp.solve()
    assert_allclose(sol.x_mw.sum(axis=1) + sol.unserved_mw, lp.demand, rtol=0, atol=TOL)
    assert (sol.x_mw[~lp.feasible] == 0.0).all()
    assert (sol.x_mw >= 0).all() and (sol.unserved_mw >= 0).all()
    for g in range(lp.capacity.shape[0]):
        assert (sol.x_mw[lp.group == g].sum(axis=0) <= lp.capacity[g] + TOL).all()
    assert_feasible(sol, lp.feasible, lp.demand, lp.capacity, lp.group, lp.prev)


@SETTINGS
@given(lps(friction="none", infinite_capacity=True))
def test_no_friction_unlimited_capacity_is_argmin(lp):
    """Each class is placed at its cheapest feasible region(s); unserved only if none exists."""
    sol = lp.solve()
    masked_cost = np.where(lp.feasible, lp.cost, INF)
    best = masked_cost.min(axis=1)
    has = np.isfinite(best) & (lp.demand > 0)
    attained = (sol.x_mw * lp.cost).sum(axis=1)
    best_finite = np.where(np.isfinite(best), best, 0.0)
    assert_allclose(attained[has], (lp.demand * best_finite)[has], rtol=1e-9, atol=1e-7)
    assert_allclose(sol.unserved_mw, np.where(has, 0.0, lp.demand), atol=TOL)
    # ties may split, but only among argmin regions
    off_argmin = lp.feasible & (lp.cost > best[:, None])
    assert (sol.x_mw[off_argmin] <= TOL).all()


@SETTINGS
@given(lps(friction="always", min_phi=0), st.integers(100, 500))
def test_higher_friction_never_increases_weighted_moves(lp, pct):
    """Scaling phi by s >= 1 never raises sum phi * m (exact LP monotonicity, also with ties).

    With heterogeneous phi the raw MW moved may rise (see test_placement's hand counterexample),
    so the weighted form is the general statement. m is taken as max(0, x - x_prev).
    """
    s = pct / 100.0
    low = lp.solve()
    high = replace(lp, phi=lp.phi * s).solve()
    w_low = (lp.phi * np.maximum(low.x_mw - lp.prev, 0.0)).sum()
    w_high = (lp.phi * np.maximum(high.x_mw - lp.prev, 0.0)).sum()
    assert w_high <= w_low + 1e-6


@SETTINGS
@given(lps(friction="always", min_phi=1), st.integers(1, 30), st.integers(100, 500))
def test_higher_uniform_friction_never_increases_moved_mw(lp, phi0, pct):
    """With the same phi on every pair, total MW moved never rises as phi is scaled up."""
    s = pct / 100.0
    flat = np.full_like(lp.cost, float(phi0))
    low = replace(lp, phi=flat).solve()
    high = replace(lp, phi=flat * s).solve()
    moved_low = np.maximum(low.x_mw - lp.prev, 0.0).sum()
    moved_high = np.maximum(high.x_mw - lp.prev, 0.0).sum()
    assert moved_high <= moved_low + 1e-6
    assert high.moved_mw.sum() <= low.moved_mw.sum() + 1e-6


@SETTINGS
@given(lps(friction="always", min_phi=0))
def test_moved_is_placement_beyond_previous(lp):
    """Reported moved = max(0, x - x_prev), also where phi = 0 (a tie the LP may split)."""
    sol = lp.solve()
    assert_allclose(sol.moved_mw, np.maximum(sol.x_mw - lp.prev, 0.0), rtol=0, atol=TOL)


@SETTINGS
@given(lps(), st.data())
def test_more_capacity_never_raises_objective(lp, data):
    extra = data.draw(hnp.arrays(float, lp.capacity.shape, elements=cap_values))
    base = lp.solve()
    more = replace(lp, capacity=lp.capacity + extra).solve()
    assert more.objective_usd <= base.objective_usd + 1e-6


@SETTINGS
@given(lps(), st.data())
def test_relaxing_a_mask_never_raises_objective(lp, data):
    extra = data.draw(hnp.arrays(bool, lp.feasible.shape))
    base = lp.solve()
    relaxed = replace(lp, feasible=lp.feasible | extra).solve()
    assert relaxed.objective_usd <= base.objective_usd + 1e-6


@SETTINGS
@given(lps(max_groups=3), st.data())
def test_planner_is_a_lower_bound_on_split_capacity(lp, data):
    """One group with total capacity T <= groups each holding a share of T (shares sum to 1)."""
    g, r = lp.capacity.shape
    total = data.draw(hnp.arrays(float, r, elements=cap_values))
    weights = data.draw(hnp.arrays(float, (g, r), elements=st.integers(0, 5).map(float)))
    weights[0][weights.sum(axis=0) == 0] = 1.0
    shares = weights / weights.sum(axis=0)
    split_cap = np.where(np.isinf(total) & (shares > 0), INF,
                         shares * np.where(np.isinf(total), 0.0, total))
    assert np.allclose(np.where(np.isinf(total), 0, split_cap.sum(axis=0)),
                       np.where(np.isinf(total), 0, total))
    split = replace(lp, capacity=split_cap).solve()
    joint = replace(lp, capacity=total[None, :], group=np.zeros_like(lp.group)).solve()
    assert joint.objective_usd <= split.objective_usd + 1e-6


@SETTINGS
@given(lps())
def test_stacked_groups_separate(lp):
    """Groups in one LP give the sum of each group's LP solved alone."""
    stacked = lp.solve()
    total = 0.0
    for g in np.unique(lp.group):
        rows = lp.group == g
        alone = Lp(lp.cost[rows], lp.feasible[rows], lp.demand[rows], lp.capacity[g:g + 1],
                   np.zeros(rows.sum(), dtype=int),
                   None if lp.phi is None else lp.phi[rows],
                   None if lp.prev is None else lp.prev[rows]).solve()
        total += alone.objective_usd
    assert stacked.objective_usd == pytest.approx(total, rel=1e-9, abs=1e-6)


@SETTINGS
@given(lps(friction="none"))
def test_capacity_prices_certify_optimality(lp):
    """Without friction, prices p >= 0 and demand duals lam = min(VoLL, min_j c + p) satisfy
    complementary slackness: x > 0 only where c + p = lam, u > 0 only if lam = VoLL, and p > 0
    only where capacity binds. Together with primal feasibility this proves optimality.
    """
    sol = lp.solve()
    p = sol.capacity_price_usd_per_mwh[lp.group]  # (N, R)
    reduced = np.where(lp.feasible, lp.cost + p, INF)
    lam = np.minimum(VOLL, reduced.min(axis=1))
    served = sol.x_mw > TOL
    assert (np.abs(reduced - lam[:, None])[served] <= 1e-6).all()
    assert (np.abs(lam - VOLL)[sol.unserved_mw > TOL] <= 1e-6).all()
    for g in range(lp.capacity.shape[0]):
        used = sol.x_mw[lp.group == g].sum(axis=0)
        priced = sol.capacity_price_usd_per_mwh[g] > 1e-6
        assert_allclose(used[priced], lp.capacity[g][priced], atol=1e-6)
    # Strong duality: sum D lam - sum Cap p equals the objective (finite capacities only).
    finite = np.isfinite(lp.capacity)
    dual = (lp.demand * lam).sum() - (
        sol.capacity_price_usd_per_mwh[finite] * lp.capacity[finite]).sum()
    assert dual == pytest.approx(sol.objective_usd, rel=1e-9, abs=1e-6)


@SETTINGS
@given(lps(), st.randoms(use_true_random=False))
def test_class_and_region_order_do_not_change_objective(lp, rnd):
    n, r = lp.cost.shape
    pn = np.array(rnd.sample(range(n), n))
    pr = np.array(rnd.sample(range(r), r))
    perm = Lp(lp.cost[pn][:, pr], lp.feasible[pn][:, pr], lp.demand[pn], lp.capacity[:, pr],
              lp.group[pn], None if lp.phi is None else lp.phi[pn][:, pr],
              None if lp.prev is None else lp.prev[pn][:, pr])
    assert perm.solve().objective_usd == pytest.approx(lp.solve().objective_usd, rel=1e-9,
                                                       abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(lps())
def test_deterministic(lp):
    """Same input, identical output (bitwise)."""
    a, b = lp.solve(), lp.solve()
    for field in ("x_mw", "unserved_mw", "moved_mw", "capacity_price_usd_per_mwh"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.objective_usd == b.objective_usd
