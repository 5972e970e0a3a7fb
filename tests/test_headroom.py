"""Curtailment-enabled headroom (abm/grid/headroom.py, docs/headroom.md): hand-solved series for
the Duke method, relocation and deferral; a bisection and linear programmes (scipy's linprog,
interior point) as oracles of other algorithms on random series."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from abm.grid.headroom import (
    cap_mw,
    curtailed_mwh,
    deferral,
    deferred_headroom_mw,
    events,
    headroom_mw,
    pooled_cap_mw,
    stranded_hours,
    summer_season,
    threshold_mw,
)

# -- hand-solved -------------------------------------------------------------------------------

DAY = np.array([60.0, 70, 80, 100, 90, 75, 65, 60])  # MW, 8 hours, peak 100


def test_duke_method_on_a_hand_solved_series():
    """Background 60 70 80 100 90 75 65 60 MW under its peak of 100 MW: room 40 30 20 0 10 25 35
    40. At 0.25 of the load's energy (s H = 2 hours' worth) the sorted rooms 0 10 20 25 30 35 40
    40 give F(c_k) = (k - 2) c_k - S_k = 0, -10, -10, -5, +5, ...: the last piece is k = 4, and
    L* = S_4 / (4 - 2) = 55 / 2 = 27.5 MW; it is curtailed 27.5 + 17.5 + 7.5 + 2.5 = 55 MWh =
    0.25 x 27.5 MW x 8 h. At 1/8 (one hour's worth) only the peak hour's piece is left: the
    first k with F > 0 is 2 (F(10) = 10 - 10 = 0, F(20) = 2*20 - 30 = 10 > 0), so
    L* = S_2 / (2 - 1) = 10 MW."""
    cap = cap_mw(DAY, threshold_mw(DAY, np.ones(8, dtype=int), "annual"))
    np.testing.assert_array_equal(cap, [40, 30, 20, 0, 10, 25, 35, 40])
    assert headroom_mw(cap, 0.25) == pytest.approx(27.5, rel=1e-12)
    assert curtailed_mwh(cap, 27.5) == pytest.approx(55.0, rel=1e-12)
    assert headroom_mw(cap, 1 / 8) == pytest.approx(10.0, rel=1e-12)
    # just above L*, the budget is broken; just below, it holds
    assert curtailed_mwh(cap, 27.6) > 0.25 * 27.6 * 8
    assert curtailed_mwh(cap, 27.4) < 0.25 * 27.4 * 8


def test_a_flat_top_leaves_no_headroom_below_its_share_of_hours():
    """Three hours at the peak in ten, room 0 0 0 50 x 7: a small load is curtailed 3 L, more
    than s H L = 2.5 L at s = 0.25, so the headroom is 0; at s = 0.35 (s H = 3.5) every
    F(c_k) = (k - 3.5) c_k - S_k is <= 0 (0 0 0 -25 ... -25), so K = 10 and
    L* = 350 / (10 - 3.5)."""
    cap = np.array([0.0, 0, 0] + [50.0] * 7)
    assert headroom_mw(cap, 0.25) == 0.0
    assert headroom_mw(cap, 0.35) == pytest.approx(350 / 6.5, rel=1e-12)


def test_the_seasonal_thresholds_of_norris_et_al():
    """The peak of June-August holds from April to October, that of December-February from
    November to March; south of the equator the seasons are six months apart."""
    months = np.arange(1, 13)
    load = np.array([90.0, 80, 70, 60, 50, 65, 75, 70, 60, 55, 60, 85])  # one hour a month
    north = threshold_mw(load, months, "seasonal")
    np.testing.assert_array_equal(north, [90, 90, 90, 75, 75, 75, 75, 75, 75, 75, 90, 90])
    south = threshold_mw(load, months, "seasonal", southern=True)
    # southern summer peak: Dec-Feb (90), holding October-April; winter: Jun-Aug (75)
    np.testing.assert_array_equal(south, [90, 90, 90, 90, 75, 75, 75, 75, 75, 90, 90, 90])
    np.testing.assert_array_equal(summer_season(months, True),
                                  [1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1])
    assert (threshold_mw(load, months, "annual") == 90).all()
    # a shoulder month above its season's peak: its excess is not the new load's (min(L, .))
    cap = cap_mw(load, north)
    assert cap[0] == 0 and curtailed_mwh(cap, 5.0) == pytest.approx(
        sum(min(5.0, max(0.0, b + 5.0 - t)) for b, t in zip(load, north, strict=True)))
    with pytest.raises(ValueError, match="peak rule"):
        threshold_mw(load, months, "weekly")


def test_relocation_pools_the_room_of_zones_within_the_budget():
    """The day above may run in a neighbour whose room is 0 0 10 10 10 0 0 0: pooled room 40 30
    30 10 20 25 35 40, sorted 10 20 25 30 30 35 40 40; at s = 0.25 (s H = 2) F(c_k) = (k - 2)
    c_k - S_k is -20 -30 -30 -25 -25 -10 +10: K = 6 and L* = 150 / 4 = 37.5 MW, curtailed
    27.5 + 17.5 + 12.5 + 7.5 + 7.5 + 2.5 = 75 MWh = 0.25 x 37.5 x 8."""
    cap = np.array([40.0, 30, 20, 0, 10, 25, 35, 40])
    pooled = pooled_cap_mw(cap, np.array([[0.0, 0, 10, 10, 10, 0, 0, 0]]))
    assert headroom_mw(pooled, 0.25) == pytest.approx(37.5, rel=1e-12)
    assert curtailed_mwh(pooled, 37.5) == pytest.approx(75.0, rel=1e-12)
    np.testing.assert_array_equal(pooled_cap_mw(cap, np.empty((0, 8))), cap)


ROOM = np.array([20.0, 0, 20, 20, 40, 100])  # MW, 6 hours


def test_deferral_by_hand():
    """Room 20 0 20 20 40 100, a load of 25 MW whose work may wait 1 hour, oldest first: hour 0
    runs 20 (5 wait); hour 1 has no room (25 wait); hour 2 drops the 5 of hour 0 and runs hour
    1's 20; hour 3 drops 5, runs 20 of hour 2's; hour 4 drops 5, runs hour 3's 25 and 15 of its
    own; hour 5 runs hour 4's last 10 and its own 25. Curtailed 15, deferred 20 + 20 + 25 + 10 =
    75, drawn 20 0 20 20 40 35 (135 + 15 = 6 x 25)."""
    out = deferral(ROOM, 25.0, 1)
    assert out.curtailed_mwh == pytest.approx(15.0, abs=1e-12)
    assert out.deferred_mwh == pytest.approx(75.0, abs=1e-12)
    np.testing.assert_allclose(out.draw_mw, [20, 0, 20, 20, 40, 35], atol=1e-12)
    # no deferral: the Duke curtailment, drawn min(L, room)
    plain = deferral(ROOM, 25.0, 0)
    assert plain.curtailed_mwh == pytest.approx(curtailed_mwh(ROOM, 25.0))
    assert plain.deferred_mwh == 0.0
    np.testing.assert_allclose(plain.draw_mw, np.minimum(ROOM, 25.0))


def test_deferred_headroom_by_hand():
    """Room 20 0 20 20 40 100, s = 1/6 (one hour's worth). No deferral: sorted rooms 0 20 20 20
    40 100, F(c_k) = (k - 1) c_k - S_k = 0 0 0 0 60: L* = 60 / 3 = 20 MW. One hour: for L in
    (20, 40] the work of hours 0-3 loses L - 20 each in hours 2, 3 and 4 and the rest fits, so
    C_1(L) = 3 L - 60 <= L up to L* = 30 MW (for L <= 20, C_1 = 0). Two hours: every MWh of
    room is used by L* = 200 / (6 x 5/6) = 40 MW, where C_2 = 6 L - 200 = 40 = L."""
    assert headroom_mw(ROOM, 1 / 6) == pytest.approx(20.0, rel=1e-12)
    assert deferred_headroom_mw(ROOM, 1 / 6, 0) == pytest.approx(20.0, rel=1e-12)
    assert deferred_headroom_mw(ROOM, 1 / 6, 1) == pytest.approx(30.0, rel=1e-9)
    assert deferral(ROOM, 30.0, 1).curtailed_mwh == pytest.approx(30.0, rel=1e-12)
    assert deferred_headroom_mw(ROOM, 1 / 6, 2) == pytest.approx(40.0, rel=1e-9)


def test_stranded_hours_and_events():
    """Hours whose work has no room in its window: a zero run of length >= d + 1, or one that
    reaches the end; events are runs of hours drawing less than the load."""
    cap = np.array([5.0, 0, 0, 5, 0, 5, 0, 0])
    assert stranded_hours(cap, 0) == 5
    assert stranded_hours(cap, 1) == 3  # hour 1 (1-2), hour 6 (6-7) and hour 7 (the end)
    assert stranded_hours(cap, 2) == 2
    assert events(np.array([5.0, 0, 0, 5, 0, 5, 0, 0]), 5.0) == (5, 3)
    # a load that no small amount fits: more stranded hours than the share's worth
    assert deferred_headroom_mw(cap, 0.2, 1) == 0.0


# -- oracles: a bisection and linear programmes --------------------------------------------------

def bisection_headroom(cap: np.ndarray, share: float) -> float:
    """The largest L with C(L) <= s L H by bisection on C evaluated directly (to rounding: where
    C(L) = s L H over a whole interval, one ulp of the sum must not end it early)."""
    H = len(cap)
    lo, hi = 0.0, float(cap.max()) / (1 - share) + 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(mid - cap, 0).sum() <= share * H * mid * (1 + 1e-12):
            lo = mid
        else:
            hi = mid
    return lo


def lp_headroom(cap: np.ndarray, share: float, defer_h: int = 0,
                others: np.ndarray | None = None) -> float:
    """max L over work x[h, k] run in hour k (h <= k <= h + d) of hour h's L, runs y[w, h] in
    other zones w in hour h, and curtailment c[h]: each hour's work is L, each hour's own room
    and each other zone's room bound what runs there, sum c <= s L H."""
    H = len(cap)
    others = np.zeros((0, H)) if others is None else others
    pairs = [(h, k) for h in range(H) for k in range(h, min(H, h + defer_h + 1))]
    n_x, n_y = len(pairs), others.size
    n = 1 + n_x + n_y + H  # L, x, y, c
    c_obj = np.zeros(n)
    c_obj[0] = -1.0
    a_eq = np.zeros((H, n))
    b_eq = np.zeros(H)
    for j, (h, _) in enumerate(pairs):
        a_eq[h, 1 + j] = 1
    for w in range(others.shape[0]):
        for h in range(H):
            a_eq[h, 1 + n_x + w * H + h] = 1
    a_eq[np.arange(H), 1 + n_x + n_y + np.arange(H)] = 1
    a_eq[:, 0] = -1  # work of hour h: x + y + c = L
    a_ub = np.zeros((H + 1, n))
    for j, (_, k) in enumerate(pairs):
        a_ub[k, 1 + j] = 1  # run in hour k <= room k
    a_ub[H, 1 + n_x + n_y:] = 1
    a_ub[H, 0] = -share * H
    b_ub = np.concatenate([cap, [0.0]])
    bounds = ([(0, None)] * (1 + n_x) + [(0, v) for v in others.ravel()]
              + [(0, None)] * H)
    res = linprog(c_obj, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds,
                  method="highs-ipm")
    assert res.status == 0, res.message
    return float(res.x[0])


def lp_curtailment(cap: np.ndarray, load: float, defer_h: int) -> float:
    """The least curtailment of a load L whose work may wait d hours, by linprog."""
    H = len(cap)
    pairs = [(h, k) for h in range(H) for k in range(h, min(H, h + defer_h + 1))]
    n = len(pairs) + H
    a_eq, a_ub = np.zeros((H, n)), np.zeros((H, n))
    for j, (h, k) in enumerate(pairs):
        a_eq[h, j] = 1
        a_ub[k, j] = 1
    a_eq[np.arange(H), len(pairs) + np.arange(H)] = 1
    cost = np.concatenate([np.zeros(len(pairs)), np.ones(H)])
    res = linprog(cost, A_ub=a_ub, b_ub=cap, A_eq=a_eq, b_eq=np.full(H, load),
                  bounds=[(0, None)] * n, method="highs-ipm")
    assert res.status == 0, res.message
    return float(res.fun)


def rooms(data, hours: int) -> np.ndarray:
    """Random room per hour, MW, some hours at the peak (room 0)."""
    values = data.draw(st.lists(st.floats(0, 100), min_size=hours, max_size=hours))
    at_peak = data.draw(st.lists(st.booleans(), min_size=hours, max_size=hours))
    return np.where(at_peak, 0.0, np.round(values, 3))


def test_a_budget_met_with_equality_over_an_interval_gives_its_right_end():
    """9 hours at the peak and 9 with 0.3 MW of room, half the energy may be curtailed: C(L) =
    s L H for every L in [0, 0.3] (9 L = 0.5 * 18 * L); beyond 0.3 C rises faster, so L* = 0.3
    MW. Hypothesis found such a case (15 peak hours of 30): a bisection without a rounding
    tolerance ended early (here at 0.296875: one ulp of the sum above s L H)."""
    cap = np.array([0.0] * 9 + [0.3] * 9)
    assert headroom_mw(cap, 0.5) == pytest.approx(0.3, rel=1e-12)
    assert bisection_headroom(cap, 0.5) == pytest.approx(0.3, rel=1e-9)
    assert curtailed_mwh(cap, 0.3) == pytest.approx(0.5 * 18 * 0.3, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), hours=st.integers(2, 60), share=st.floats(0.01, 0.6))
def test_duke_headroom_matches_a_bisection_and_an_lp(data, hours, share):
    cap = rooms(data, hours)
    exact = headroom_mw(cap, share)
    assert exact == pytest.approx(bisection_headroom(cap, share), rel=1e-9, abs=1e-9)
    assert exact == pytest.approx(lp_headroom(cap, share), rel=1e-6, abs=1e-6)
    if exact > 0:  # the budget binds at L*
        assert curtailed_mwh(cap, exact) == pytest.approx(share * hours * exact, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), hours=st.integers(2, 30), share=st.floats(0.01, 0.6),
       n_others=st.integers(1, 3))
def test_relocation_matches_an_lp_with_a_flow_to_each_zone(data, hours, share, n_others):
    cap = rooms(data, hours)
    others = np.stack([rooms(data, hours) for _ in range(n_others)])
    exact = headroom_mw(pooled_cap_mw(cap, others), share)
    assert exact == pytest.approx(lp_headroom(cap, share, others=others), rel=1e-6, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), hours=st.integers(2, 30), defer_h=st.integers(0, 6),
       load=st.just(0.0) | st.floats(1e-3, 150))
def test_deferral_runs_as_much_as_an_lp(data, hours, defer_h, load):
    """Earliest deadline first curtails what the LP's least curtailment is; nothing appears or
    disappears: drawn + curtailed = L H, and no hour draws more than its room. (Loads are 0 or
    at least 1e-3 MW: below HiGHS's 1e-7 feasibility tolerance per row the oracle itself
    rounds, e.g. 1e-7 MW over 11 hours with no room reads as 0 MWh curtailed.)"""
    cap = rooms(data, hours)
    out = deferral(cap, load, defer_h)
    assert out.curtailed_mwh == pytest.approx(lp_curtailment(cap, load, defer_h), rel=1e-6,
                                              abs=1e-6)
    assert out.draw_mw.sum() + out.curtailed_mwh == pytest.approx(load * hours, rel=1e-9,
                                                                  abs=1e-9)
    assert (out.draw_mw <= cap + 1e-9).all() and (out.draw_mw >= -1e-9).all()
    assert 0 <= out.deferred_mwh <= out.draw_mw.sum() + 1e-9


@settings(max_examples=40, deadline=None)
@given(data=st.data(), hours=st.integers(2, 24), defer_h=st.integers(1, 5),
       share=st.floats(0.02, 0.5))
def test_deferred_headroom_matches_an_lp(data, hours, defer_h, share):
    cap = rooms(data, hours)
    exact = deferred_headroom_mw(cap, share, defer_h)
    assert exact == pytest.approx(lp_headroom(cap, share, defer_h), rel=1e-6, abs=1e-6)
    # waiting longer never lowers the headroom
    assert exact >= headroom_mw(cap, share) - 1e-9
    assert deferred_headroom_mw(cap, share, defer_h + 1) >= exact - 1e-6 * max(exact, 1.0)


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="share"):
        headroom_mw(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="share"):
        headroom_mw(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="defer_h"):
        deferral(np.ones(3), 1.0, -1)
    with pytest.raises(ValueError, match="1-D"):
        cap_mw(np.ones(3), np.ones(4))
