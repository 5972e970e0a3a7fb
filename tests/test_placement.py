"""Hand-solved instances of the placement LP (docs/model.md section 3).

Every test states its hand calculation in the docstring and asserts the exact optimum: objective,
x, unserved, moved and, where the LP dual is unique, the capacity shadow price.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from abm.core.placement import Solution, solve_placement

INF = np.inf
VOLL = 1000.0


def solve(cost, feasible=None, demand=None, capacity=None, voll=VOLL, **kw) -> Solution:
    """Call solve_placement with all-feasible / infinite-capacity defaults."""
    cost = np.asarray(cost, dtype=float)
    if feasible is None:
        feasible = np.ones(cost.shape, dtype=bool)
    if capacity is None:
        capacity = np.full((1, cost.shape[1]), INF)
    return solve_placement(cost, np.asarray(feasible, dtype=bool), np.asarray(demand, float),
                           np.asarray(capacity, dtype=float), voll, **kw)


def check(sol: Solution, *, obj, x, u, moved=None, price=None) -> None:
    assert sol.objective_usd == pytest.approx(obj, rel=1e-9, abs=1e-9)
    assert_allclose(sol.x_mw, x, rtol=0, atol=1e-9)
    assert_allclose(sol.unserved_mw, u, rtol=0, atol=1e-9)
    if moved is not None:
        assert_allclose(sol.moved_mw, moved, rtol=0, atol=1e-9)
    if price is not None:
        assert_allclose(sol.capacity_price_usd_per_mwh, price, rtol=0, atol=1e-7)


# --- basic shapes -------------------------------------------------------------------------------


def test_one_class_one_region():
    """D=10 MW, c=30 $/MWh, no capacity limit.

    x = 10, u = 0, objective = 10 * 30 = 300; nothing was there before, so moved = x = 10;
    capacity is unbounded so its price is 0.
    """
    sol = solve([[30.0]], demand=[10.0])
    check(sol, obj=300.0, x=[[10.0]], u=[0.0], moved=[[10.0]], price=[[0.0]])
    assert sol.x_mw.shape == (1, 1)
    assert sol.unserved_mw.shape == (1,)
    assert sol.moved_mw.shape == (1, 1)
    assert sol.capacity_price_usd_per_mwh.shape == (1, 1)


def test_one_class_one_region_short_capacity_prices_at_voll_minus_cost():
    """D=10, c=30, Cap=4, VoLL=1000.

    x = 4, u = 6, objective = 4*30 + 6*1000 = 6120. u > 0 so the demand dual is VoLL, and x > 0
    is basic, so c + p = VoLL: the capacity price is 1000 - 30 = 970 (unique).
    """
    sol = solve([[30.0]], demand=[10.0], capacity=[[4.0]])
    check(sol, obj=6120.0, x=[[4.0]], u=[6.0], price=[[970.0]])


def test_cheapest_region_wins():
    """D=8, c=(50, 20, 35), no capacity limit: everything at region 1.

    x = (0, 8, 0), objective = 8 * 20 = 160, prices 0.
    """
    sol = solve([[50.0, 20.0, 35.0]], demand=[8.0])
    check(sol, obj=160.0, x=[[0.0, 8.0, 0.0]], u=[0.0], price=[[0.0, 0.0, 0.0]])


def test_binding_capacity_splits_load_and_prices_the_cost_difference():
    """D=10, c=(10, 15), Cap=(4, inf).

    Fill the cheap region to capacity: x = (4, 6), objective = 4*10 + 6*15 = 130.
    Region 1 is used but unbounded, so the demand dual is 15; region 0 is basic at its bound,
    so 10 + p0 = 15: p0 = 5 (unique), p1 = 0.
    """
    sol = solve([[10.0, 15.0]], demand=[10.0], capacity=[[4.0, INF]])
    check(sol, obj=130.0, x=[[4.0, 6.0]], u=[0.0], price=[[5.0, 0.0]])


def test_capacity_given_as_one_dimensional_row():
    """Cap passed with shape (R,) is read as a single group: same answer as (1, R)."""
    sol = solve([[10.0, 15.0]], demand=[10.0], capacity=[4.0, INF])
    check(sol, obj=130.0, x=[[4.0, 6.0]], u=[0.0], price=[[5.0, 0.0]])


def test_multiple_classes_are_independent_without_capacity_limits():
    """Two classes, c = [[3, 1], [2, 5]], D = (4, 6), no capacity limit.

    Class 0 goes to region 1 (1 $/MWh), class 1 to region 0 (2 $/MWh).
    Objective = 4*1 + 6*2 = 16.
    """
    sol = solve([[3.0, 1.0], [2.0, 5.0]], demand=[4.0, 6.0])
    check(sol, obj=16.0, x=[[0.0, 4.0], [6.0, 0.0]], u=[0.0, 0.0])


def test_negative_costs_are_allowed():
    """A subsidised region: c = (-5, 10), D = 2: x = (2, 0), objective = -10."""
    sol = solve([[-5.0, 10.0]], demand=[2.0])
    check(sol, obj=-10.0, x=[[2.0, 0.0]], u=[0.0])


# --- unserved demand and masks ------------------------------------------------------------------


def test_infeasible_everywhere_all_demand_unserved_at_voll():
    """Masks forbid every pair; D = (7, 3), VoLL = 500.

    x = 0, u = (7, 3) (reported, never dropped), objective = 500 * 10 = 5000. The forbidden pairs'
    costs (even above VoLL) play no role and raise nothing.
    """
    cost = [[10.0, 900.0], [20.0, 30.0]]
    sol = solve(cost, feasible=np.zeros((2, 2), bool), demand=[7.0, 3.0], voll=500.0)
    check(sol, obj=5000.0, x=np.zeros((2, 2)), u=[7.0, 3.0], moved=np.zeros((2, 2)),
          price=np.zeros((1, 2)))


def test_zero_capacity_everywhere_all_demand_unserved():
    """Two regions with capacity 0; D = 5, VoLL = 1000.

    Nothing can be served: x = 0, u = 5, objective = 5000.
    """
    sol = solve([[10.0, 20.0]], demand=[5.0], capacity=[[0.0, 0.0]])
    check(sol, obj=5000.0, x=[[0.0, 0.0]], u=[5.0])


def test_mask_forbids_the_cheap_region():
    """c = (10, 20), F = (False, True), D = 6: the cheap region is forbidden.

    x = (0, 6), objective = 6 * 20 = 120; x at the masked pair is exactly 0.
    """
    sol = solve([[10.0, 20.0]], feasible=[[False, True]], demand=[6.0])
    check(sol, obj=120.0, x=[[0.0, 6.0]], u=[0.0])
    assert sol.x_mw[0, 0] == 0.0


def test_partly_masked_short_capacity_leaves_the_rest_unserved():
    """c = (10, 20), F = (False, True), Cap = (inf, 4), D = 6, VoLL = 1000.

    Only region 1 is allowed and it has 4 MW: x = (0, 4), u = 2,
    objective = 4*20 + 2*1000 = 2080; price at region 1 = 1000 - 20 = 980.
    """
    sol = solve([[10.0, 20.0]], feasible=[[False, True]], demand=[6.0], capacity=[[INF, 4.0]])
    check(sol, obj=2080.0, x=[[0.0, 4.0]], u=[2.0], price=[[0.0, 980.0]])


def test_zero_demand_rows():
    """D = (0, 5): class 0 has no demand; its costs may even exceed VoLL (nothing to place).

    Class 1 goes to region 0 (c=2): objective = 5 * 2 = 10. Class 0: x = 0, u = 0, moved = 0;
    class 1 had nothing before, so moved = x.
    """
    cost = [[5000.0, 7000.0], [2.0, 3.0]]
    sol = solve(cost, demand=[0.0, 5.0])
    check(sol, obj=10.0, x=[[0.0, 0.0], [5.0, 0.0]], u=[0.0, 0.0], moved=[[0, 0], [5.0, 0]])


def test_all_demand_zero():
    """D = 0 everywhere: the empty placement, objective 0."""
    sol = solve([[1.0, 2.0], [3.0, 4.0]], demand=[0.0, 0.0], capacity=[[1.0, 1.0]])
    check(sol, obj=0.0, x=np.zeros((2, 2)), u=[0.0, 0.0], moved=np.zeros((2, 2)),
          price=np.zeros((1, 2)))


# --- capacity groups: independent operators vs the planner -------------------------------------

# Two classes competing for region A (column 0); region B (column 1) is unlimited.
TWO_COST = np.array([[10.0, 12.0], [10.0, 30.0]])
TWO_DEMAND = np.array([6.0, 4.0])
TWO_CAP = np.array([[3.0, INF], [5.0, INF]])


def test_two_groups_stacked_match_two_separate_solves():
    """Group 0 = class 0 (D=6, c=(10,12), Cap_A=3); group 1 = class 1 (D=4, c=(10,30), Cap_A=5).

    Group 0 alone: x = (3, 3), objective 3*10 + 3*12 = 66, price_A = 12 - 10 = 2 (unique).
    Group 1 alone: x = (4, 0) (4 <= 5, A not binding), objective 40, price_A = 0.
    Stacked with group = (0, 1): the LP separates, objective 106, same x and prices.
    """
    stacked = solve(TWO_COST, demand=TWO_DEMAND, capacity=TWO_CAP, group=np.array([0, 1]))
    check(stacked, obj=106.0, x=[[3.0, 3.0], [4.0, 0.0]], u=[0.0, 0.0],
          price=[[2.0, 0.0], [0.0, 0.0]])
    alone = [solve(TWO_COST[i:i + 1], demand=TWO_DEMAND[i:i + 1], capacity=TWO_CAP[i:i + 1])
             for i in range(2)]
    check(alone[0], obj=66.0, x=[[3.0, 3.0]], u=[0.0], price=[[2.0, 0.0]])
    check(alone[1], obj=40.0, x=[[4.0, 0.0]], u=[0.0], price=[[0.0, 0.0]])
    assert stacked.objective_usd == pytest.approx(sum(s.objective_usd for s in alone))
    assert_allclose(stacked.x_mw, np.vstack([s.x_mw for s in alone]), atol=1e-9)
    assert_allclose(stacked.capacity_price_usd_per_mwh,
                    np.vstack([s.capacity_price_usd_per_mwh for s in alone]), atol=1e-7)


def test_group_order_does_not_matter():
    """Same as the stacked test with the groups' labels swapped: group = (1, 0), caps swapped."""
    sol = solve(TWO_COST, demand=TWO_DEMAND, capacity=TWO_CAP[::-1], group=np.array([1, 0]))
    check(sol, obj=106.0, x=[[3.0, 3.0], [4.0, 0.0]], u=[0.0, 0.0],
          price=[[0.0, 0.0], [2.0, 0.0]])


def test_groups_with_unused_rows_of_capacity():
    """Capacity has 3 group rows but only group 2 is used: classes see only row 2.

    c = (10, 15), D = 10, row 2 = (4, inf): x = (4, 6), objective 130, price row 2 = (5, 0),
    rows 0 and 1 price 0 (they bound nothing).
    """
    cap = [[0.0, 0.0], [1.0, 1.0], [4.0, INF]]
    sol = solve([[10.0, 15.0]], demand=[10.0], capacity=cap, group=np.array([2]))
    check(sol, obj=130.0, x=[[4.0, 6.0]], u=[0.0], price=[[0, 0], [0, 0], [5.0, 0.0]])


# Scarce region A (cap 15 in total); class 0 saves 10 $/MWh at A, class 1 saves 30.
SCARCE_COST = np.array([[10.0, 20.0], [10.0, 40.0]])
SCARCE_DEMAND = np.array([10.0, 10.0])


def test_joint_group_gives_scarce_capacity_to_the_class_that_saves_most():
    """One group, Cap_A = 15, B unlimited; D = (10, 10); savings at A: 10 and 30 $/MWh.

    The planner gives A to class 1 first (10 MW), the remaining 5 MW to class 0:
    x = [[5, 5], [10, 0]], objective = 5*10 + 5*20 + 10*10 = 250.
    Class 0 is split between A and B, so price_A = 20 - 10 = 10 (unique).
    """
    sol = solve(SCARCE_COST, demand=SCARCE_DEMAND, capacity=[[15.0, INF]])
    check(sol, obj=250.0, x=[[5.0, 5.0], [10.0, 0.0]], u=[0.0, 0.0], price=[[10.0, 0.0]])


def test_split_groups_cost_more_than_the_planner():
    """Same instance, but each class is its own operator with half of A (7.5 MW each).

    Class 0: x = (7.5, 2.5), cost 75 + 50 = 125, price_A = 10.
    Class 1: x = (7.5, 2.5), cost 75 + 100 = 175, price_A = 30.
    Total 300 > 250 (the planner's optimum is a lower bound).
    """
    cap = [[7.5, INF], [7.5, INF]]
    sol = solve(SCARCE_COST, demand=SCARCE_DEMAND, capacity=cap, group=np.array([0, 1]))
    check(sol, obj=300.0, x=[[7.5, 2.5], [7.5, 2.5]], u=[0.0, 0.0],
          price=[[10.0, 0.0], [30.0, 0.0]])


# --- migration friction -------------------------------------------------------------------------


def test_friction_stays_put_when_saving_below_friction():
    """D = 10, all previously at A; c = (50, 45), phi = 10 $/MW everywhere.

    Moving to B costs 45 + 10 = 55 > 50 per MW: stay. x = (10, 0), moved = 0, objective = 500.
    """
    sol = solve([[50.0, 45.0]], demand=[10.0], friction_usd_per_mw=np.array([[10.0, 10.0]]),
                x_prev_mw=np.array([[10.0, 0.0]]))
    check(sol, obj=500.0, x=[[10.0, 0.0]], u=[0.0], moved=[[0.0, 0.0]])


def test_friction_moves_when_saving_exceeds_friction():
    """D = 10, all previously at A; c = (50, 30), phi = 10.

    Moving to B costs 30 + 10 = 40 < 50 per MW: move everything. x = (0, 10), moved = (0, 10),
    objective = 10*30 + 10*10 = 400.
    """
    sol = solve([[50.0, 30.0]], demand=[10.0], friction_usd_per_mw=np.array([[10.0, 10.0]]),
                x_prev_mw=np.array([[10.0, 0.0]]))
    check(sol, obj=400.0, x=[[0.0, 10.0]], u=[0.0], moved=[[0.0, 10.0]])


def test_friction_without_it_the_same_instance_moves():
    """Same as the stay-put test with no friction: 45 < 50, so all 10 MW go to B.

    x = (0, 10), objective 450; moved = max(0, x - x_prev) = (0, 10).
    """
    sol = solve([[50.0, 45.0]], demand=[10.0], x_prev_mw=np.array([[10.0, 0.0]]))
    check(sol, obj=450.0, x=[[0.0, 10.0]], u=[0.0], moved=[[0.0, 10.0]])


def test_friction_partial_move_bounded_by_previous_placement():
    """D = 10, only 4 MW previously at A; c = (50, 45), phi = 10.

    The 4 MW at A stay (50 < 45 + 10); the 6 new MW pay friction wherever they go:
    A costs 50 + 10 = 60, B costs 45 + 10 = 55, so they go to B.
    x = (4, 6), moved = (0, 6), objective = 4*50 + 6*55 = 530.
    """
    sol = solve([[50.0, 45.0]], demand=[10.0], friction_usd_per_mw=np.array([[10.0, 10.0]]),
                x_prev_mw=np.array([[4.0, 0.0]]))
    check(sol, obj=530.0, x=[[4.0, 6.0]], u=[0.0], moved=[[0.0, 6.0]])


def test_friction_new_demand_at_the_old_region():
    """D = 10, 4 MW previously at A; c = (40, 45), phi = 10.

    The 6 new MW: A costs 40 + 10 = 50 < B 45 + 10 = 55, so A. x = (10, 0), moved = (6, 0)
    (only the MW beyond x_prev count as moved), objective = 10*40 + 6*10 = 460.
    """
    sol = solve([[40.0, 45.0]], demand=[10.0], friction_usd_per_mw=np.array([[10.0, 10.0]]),
                x_prev_mw=np.array([[4.0, 0.0]]))
    check(sol, obj=460.0, x=[[10.0, 0.0]], u=[0.0], moved=[[6.0, 0.0]])


def test_friction_forced_move_when_capacity_shrinks():
    """D = 10, all previously at A, but Cap_A is now 6; c = (50, 60), phi = 10.

    6 MW stay at A, 4 MW must move to B: x = (6, 4), moved = (0, 4),
    objective = 6*50 + 4*(60 + 10) = 580. One more MW at A would save 70 - 50 = 20, and B is
    used and unbounded, so price_A = 20 (unique).
    """
    sol = solve([[50.0, 60.0]], demand=[10.0], capacity=[[6.0, INF]],
                friction_usd_per_mw=np.array([[10.0, 10.0]]), x_prev_mw=np.array([[10.0, 0.0]]))
    check(sol, obj=580.0, x=[[6.0, 4.0]], u=[0.0], moved=[[0.0, 4.0]], price=[[20.0, 0.0]])


def test_friction_forced_move_when_old_region_is_masked():
    """D = 5, all previously at A, A now forbidden; c = (1, 20), phi = (3, 7).

    Everything moves to B: x = (0, 5), moved = (0, 5), objective = 5*(20 + 7) = 135. Leaving A
    costs nothing (friction is charged on MW moved in).
    """
    sol = solve([[1.0, 20.0]], feasible=[[False, True]], demand=[5.0],
                friction_usd_per_mw=np.array([[3.0, 7.0]]), x_prev_mw=np.array([[5.0, 0.0]]))
    check(sol, obj=135.0, x=[[0.0, 5.0]], u=[0.0], moved=[[0.0, 5.0]])


def test_friction_scaled_up_can_raise_unweighted_moved_mw():
    """Heterogeneous phi: scaling it up lowers phi-weighted moves but may raise raw MW moved.

    Regions A, B, C; Cap_A = 1 (one group). Class 0: D=1, new (no x_prev), allowed at A (c=0,
    phi=1 s) or B (c=9, phi=10 s). Class 1: D=1, previously 1 MW at A, allowed at A (c=0) or
    C (c=18, phi=1 s).
    Option X: class 0 to B, class 1 stays: 9 + 10 s, moved 1 MW (weighted 10 s).
    Option Y: class 0 to A, class 1 to C: 18 + 2 s, moved 2 MW (weighted 2 s).
    s = 1: X = 19 < Y = 20 -> 1 MW moved. s = 2: X = 29 > Y = 22 -> 2 MW moved.
    So "higher friction never increases MW moved" (docs/model.md section 7) holds for phi-weighted
    moves (10 >= 4), or for raw MW only when phi is uniform across pairs.
    """
    cost = np.array([[0.0, 9.0, 0.0], [0.0, 0.0, 18.0]])
    feasible = np.array([[True, True, False], [True, False, True]])
    base_phi = np.array([[1.0, 10.0, 0.0], [1.0, 0.0, 1.0]])
    prev = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    cap = [[1.0, INF, INF]]
    one = solve(cost, feasible, [1.0, 1.0], cap, friction_usd_per_mw=base_phi, x_prev_mw=prev)
    two = solve(cost, feasible, [1.0, 1.0], cap, friction_usd_per_mw=2 * base_phi,
                x_prev_mw=prev)
    check(one, obj=19.0, x=[[0, 1, 0], [1, 0, 0]], u=[0, 0], moved=[[0, 1, 0], [0, 0, 0]])
    check(two, obj=22.0, x=[[1, 0, 0], [0, 0, 1]], u=[0, 0], moved=[[1, 0, 0], [0, 0, 1]])
    assert two.moved_mw.sum() > one.moved_mw.sum()
    assert (base_phi * two.moved_mw).sum() <= (base_phi * one.moved_mw).sum()


def test_no_friction_moved_is_placement_beyond_previous():
    """No friction given but x_prev given: moved = max(0, x - x_prev).

    D = 10, c = (50, 45), x_prev = (7, 3): x = (0, 10), moved = (0, 7), objective 450.
    """
    sol = solve([[50.0, 45.0]], demand=[10.0], x_prev_mw=np.array([[7.0, 3.0]]))
    check(sol, obj=450.0, x=[[0.0, 10.0]], u=[0.0], moved=[[0.0, 7.0]])


def test_zero_friction_moved_is_placement_beyond_previous():
    """phi = 0 given explicitly, D = 2, one region, x_prev = 1: x = 2, moved must be 2 - 1 = 1.

    The result must match the phi-omitted call (phi = 0 and no phi are the same LP). Regression:
    with phi = 0 the y1/y2 split is a tie, so reporting y2 as moved over-counted (gave 2).
    """
    kw = dict(demand=[2.0], x_prev_mw=np.array([[1.0]]))
    with_zero = solve([[0.0]], friction_usd_per_mw=np.array([[0.0]]), **kw)
    without = solve([[0.0]], **kw)
    check(without, obj=0.0, x=[[2.0]], u=[0.0], moved=[[1.0]])
    check(with_zero, obj=0.0, x=[[2.0]], u=[0.0], moved=[[1.0]])


# --- input validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("voll", "x", "u", "obj"), [
    (19.0, [[0.4, 0.0]], [0.6], 0.4 * 5 + 0.6 * 19),
    (20.0, [[0.4, 0.6]], [0.0], 0.4 * 5 + 0.6 * 20),  # a tie: serving goes first
    (-1.0, [[0.0, 0.0]], [1.0], -1.0),
])
def test_voll_below_the_cheapest_free_mw_leaves_demand_unserved(voll, x, u, obj):
    """Costs (5, 20), region 0 holds 0.4 of 1 MW: the other 0.6 MW costs 20 at region 1 or
    VoLL unserved, whichever is cheaper."""
    sol = solve([[5.0, 20.0]], demand=[1.0], voll=voll, capacity=[[0.4, INF]])
    check(sol, obj=obj, x=x, u=u)


def test_voll_against_keeping_the_incumbent():
    """1 MW held at region 1 (20 $/MWh), region 0 at 5 + 30 friction: keep it at VoLL 24
    (objective 20); unserve it at VoLL 19 (objective 19)."""
    kw = dict(demand=[1.0], friction_usd_per_mw=np.array([[30.0, 0.0]]),
              x_prev_mw=np.array([[0.0, 1.0]]))
    check(solve([[5.0, 20.0]], voll=24.0, **kw), obj=20.0, x=[[0.0, 1.0]], u=[0.0])
    check(solve([[5.0, 20.0]], voll=19.0, **kw), obj=19.0, x=[[0.0, 0.0]], u=[1.0])


def test_voll_ignores_masked_pairs():
    """The 5000 $/MWh pair is masked, so VoLL = 100 > 20 is fine: x = (0, 3), objective 60."""
    sol = solve([[5000.0, 20.0]], feasible=[[False, True]], demand=[3.0], voll=100.0)
    check(sol, obj=60.0, x=[[0.0, 3.0]], u=[0.0])


@pytest.mark.parametrize("demand", [[-1.0], [np.nan], [np.inf]])
def test_bad_demand_raises(demand):
    with pytest.raises(ValueError, match="demand"):
        solve([[1.0]], demand=demand)


def test_negative_capacity_raises():
    with pytest.raises(ValueError, match="capacity"):
        solve([[1.0, 2.0]], demand=[1.0], capacity=[[5.0, -0.5]])


def test_negative_friction_raises():
    with pytest.raises(ValueError, match="friction"):
        solve([[1.0, 2.0]], demand=[1.0], friction_usd_per_mw=np.array([[0.0, -1.0]]),
              x_prev_mw=np.array([[1.0, 0.0]]))


def test_inputs_are_not_modified():
    """The solver must not write into its arguments."""
    cost = np.array([[10.0, 15.0]])
    feasible = np.array([[True, True]])
    demand = np.array([10.0])
    cap = np.array([[4.0, INF]])
    phi = np.array([[1.0, 2.0]])
    prev = np.array([[3.0, 7.0]])
    copies = [a.copy() for a in (cost, feasible, demand, cap, phi, prev)]
    solve_placement(cost, feasible, demand, cap, VOLL, friction_usd_per_mw=phi, x_prev_mw=prev)
    for a, b in zip((cost, feasible, demand, cap, phi, prev), copies, strict=True):
        assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("cost", "capacity", "friction"),
    [([[np.nan]], [[1.0]], None), ([[1.0]], [[np.nan]], None), ([[1.0]], [[1.0]], [[np.nan]])],
    ids=["nan cost", "nan capacity", "nan friction"],
)
def test_nan_inputs_raise(cost, capacity, friction):
    """NaN is never read as 'unlimited' or 'unused': it is an error."""
    with pytest.raises(ValueError):
        solve_placement(cost, [[True]], [1.0], capacity, 100.0, friction_usd_per_mw=friction,
                        x_prev_mw=[[0.0]])
