"""Ties decide nothing arbitrary (docs/model.md, "Ties"): among placements of equal cost both
engines return the same one, preferring, in order, keeping the incumbent, serving at the
origin, the lowest RTT; and a frontier with no possible gain relocates nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from abm.config.scenario import load_scenario
from abm.core.flow import solve_flow
from abm.core.frontier import DEFAULT_BUDGETS_MS, frontier
from abm.core.instance import compile_scenario
from abm.core.masks import masks
from abm.core.metrics import layer_shares, realised_relocation
from abm.core.placement import place as planner_place
from abm.core.placement import solve_lp
from abm.core.problem import PlacementProblem
from abm.core.problem_check import TIE_TOLERANCE
from tests.test_frontier import _no_spare_capacity

ENGINES = {
    "flow": solve_flow,
    "highs": lambda p: (lambda s: (s.x_mw, s.unserved_mw))(solve_lp(p)),
}
ORIGIN_AT_2 = np.array([[0.6, 0.55, 0.0]])  # region 2 the origin, region 1 nearer than 0


def place(engine, cost, demand, *, feasible=None, prev=None, phi=None, cap=None,
          pref=ORIGIN_AT_2, voll=1000.0):
    cost = np.asarray(cost, dtype=float)
    p = PlacementProblem.of(cost, np.ones(cost.shape, bool) if feasible is None else feasible,
                            demand, voll_usd_per_mwh=voll, friction_usd_per_mw=phi,
                            incumbent_mw=prev, capacity_mw=cap,
                            preference=np.broadcast_to(pref, cost.shape))
    return ENGINES[engine](p)


@pytest.mark.parametrize("engine", ENGINES)
def test_equal_costs_go_to_the_origin(engine):
    """Three regions at 10 $/MWh, the origin last: all 2 MW there."""
    x, _ = place(engine, [[10.0, 10.0, 10.0]], [2.0])
    np.testing.assert_allclose(x, [[0.0, 0.0, 2.0]], atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_equal_costs_keep_the_incumbent_before_the_origin(engine):
    """1.5 of 2 MW held at region 0, frictions off: they stay; the new 0.5 MW go to the
    origin."""
    x, _ = place(engine, [[10.0, 10.0, 10.0]], [2.0], prev=[[1.5, 0.0, 0.0]])
    np.testing.assert_allclose(x, [[1.5, 0.0, 0.5]], atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_equal_costs_off_origin_go_to_the_lowest_rtt(engine):
    """The origin is infeasible: region 1 (the nearer) takes it, whatever its index."""
    feasible = np.array([[True, True, False]])
    x, _ = place(engine, [[10.0, 10.0, 10.0]], [2.0], feasible=feasible)
    np.testing.assert_allclose(x, [[0.0, 2.0, 0.0]], atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_cheaper_region_still_wins(engine):
    """The rule only breaks ties: 1e-6 $/MWh cheaper at region 0 takes everything, incumbent
    and origin notwithstanding."""
    x, _ = place(engine, [[10.0 - 1e-6, 10.0, 10.0]], [2.0], prev=[[0.0, 2.0, 0.0]])
    np.testing.assert_allclose(x, [[2.0, 0.0, 0.0]], atol=1e-9)


DOCS = Path(__file__).resolve().parents[1] / "docs"
# VoLL 1000 $/MWh is the largest $ figure of these problems: the tie tolerance in $/MWh
TOL_AT_VOLL_1000 = TIE_TOLERANCE * 1000.0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("below", "expected"), [
    (0.5, [[0.0, 0.0, 2.0]]),  # a near-tie: the origin, as if equal
    (2.0, [[2.0, 0.0, 0.0]]),  # a real difference: the cheaper region
])
def test_near_ties_within_the_tolerance_are_ties_for_both_engines(engine, below, expected):
    """Region 0 cheaper than the origin (region 2) by half the tie tolerance (1e-7 $/MWh at
    VoLL 1000 $/MWh) ties, and the origin takes the 2 MW; by twice the tolerance it is
    cheaper, and takes them. Both engines (the flow's capacity-free optimum). docs/model.md
    states the tolerance."""
    text = " ".join((DOCS / "model.md").read_text().split())
    assert f"`TIE_TOLERANCE` = {TIE_TOLERANCE:g} of" in text
    x, _ = place(engine, [[10.0 - below * TOL_AT_VOLL_1000, 10.0, 10.0]], [2.0])
    np.testing.assert_allclose(x, expected, atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("below", "expected"), [
    (0.5, [[0.0, 1.0, 1.0]]),  # a near-tie: the nearer region 1, as if equal
    (2.0, [[1.0, 0.0, 1.0]]),  # a real difference: the cheaper region 0
])
def test_near_ties_are_ties_for_both_engines_where_capacity_binds(engine, below, expected):
    """The origin (9 $/MWh) has room for 1 of 2 MW; the other MW goes to region 0 or region 1
    (10 $/MWh, nearer: preference 0.55 against 0.6). Region 0 cheaper by half the tie
    tolerance ties (region 1 takes it); by twice the tolerance it wins. Both engines (the
    flow's shortest paths, past its capacity-free start)."""
    x, _ = place(engine, [[10.0 - below * TOL_AT_VOLL_1000, 10.0, 9.0]], [2.0],
                 cap=[np.inf, np.inf, 1.0])
    np.testing.assert_allclose(x, expected, atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("above", "expected"), [
    (0.5, [[0.0, 2.0, 0.0]]),  # a near-tie: the incumbent is kept
    (2.0, [[0.0, 0.0, 2.0]]),  # a real difference: it moves to the cheaper origin
])
def test_an_incumbent_within_the_tolerance_is_kept_by_both_engines(engine, above, expected):
    """2 MW held at region 1, frictions off, the origin 10 $/MWh: kept at half the tie
    tolerance above it, moved at twice."""
    x, _ = place(engine, [[20.0, 10.0 + above * TOL_AT_VOLL_1000, 10.0]], [2.0],
                 prev=[[0.0, 2.0, 0.0]])
    np.testing.assert_allclose(x, expected, atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_at_voll_serving_goes_first(engine):
    x, u = place(engine, [[10.0, 10.0, 10.0]], [2.0], voll=10.0)
    np.testing.assert_allclose(u, [0.0], atol=1e-9)
    np.testing.assert_allclose(x, [[0.0, 0.0, 2.0]], atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("shift", [0, 1, 2])
def test_full_regions_with_region_costs_keep_the_status_quo(engine, shift):
    """Three classes, each at home in its own region, each region exactly full, costs by
    region only (every full placement costs the same): the status quo, whichever way round
    the regions are numbered."""
    order = np.roll(np.arange(3), shift)
    pref = np.full((3, 3), 0.75)
    pref[np.arange(3), order] = 0.0  # class k's origin is region order[k]
    cost = np.broadcast_to(np.array([[30.0, 20.0, 10.0]]), (3, 3))
    demand = np.array([1.0, 2.0, 3.0])
    cap = np.zeros(3)
    cap[order] = demand
    x, _ = place(engine, cost, demand, cap=cap, pref=pref)
    want = np.zeros((3, 3))
    want[np.arange(3), order] = demand
    np.testing.assert_allclose(x, want, atol=1e-9)


@pytest.mark.parametrize("egress", [0.0, 20.0])
def test_frontier_with_no_possible_gain_relocates_nothing(write_scenario, egress):
    """Every region full of its own demand, frictions off: at every budget the planner keeps
    every class at its origin (it used to report up to all load relocated)."""
    inst, sig = _no_spare_capacity(write_scenario, egress=egress)
    df = frontier(inst, sig, DEFAULT_BUDGETS_MS, frictions=False)
    np.testing.assert_allclose(df.realised_relocation, 0.0, atol=1e-12)
    np.testing.assert_allclose(df.layer_local_share, 1.0, atol=1e-12)



def test_planner_with_no_possible_gain_relocates_nothing():
    """The default world with every region's capacity exactly its local demand, a 300 ms
    budget and costs by region only (as the frontier's carbon objective): every full placement
    costs the same, so the planner keeps every class at its origin (HiGHS's pivoting used to
    relocate 60% of the load, split over the regional and energy layers)."""
    inst = compile_scenario(load_scenario())
    inst = inst.with_capacity(inst.status_quo_load_mw()).with_budget(300.0)
    m = masks(inst)
    cost = np.broadcast_to(np.random.default_rng(0).uniform(20, 80, inst.shape[2]), inst.shape)
    p = planner_place(inst, cost, m.feasible, joint=True)
    assert realised_relocation(inst, p.x_mw) == 0.0
    assert layer_shares(inst, p.x_mw)["local"] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(p.x_mw, inst.status_quo_mw(), atol=1e-9)
