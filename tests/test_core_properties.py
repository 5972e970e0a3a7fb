"""Properties any correct placement has (docs/model.md section 7, without the market), on instances
drawn with hypothesis.

Instances are a compiled pinned world (``tests.test_masks.world``: Frankfurt, London, Virginia,
Tokyo; two operators, five classes, strict EU residency, one stateful class) whose demands,
capacities, budgets, capacity shares, warm-ups and zone signals are redrawn per example with
``dataclasses.replace``; one property also draws the numbers into the TOML text itself.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from abm.config.scenario import load_scenario, parse_scenario
from abm.core.costs import friction, unit_cost
from abm.core.instance import compile_scenario
from abm.core.masks import masks
from abm.core.placement import place, solve_placement
from abm.core.signals import Signals, mean_signals
from tests.test_masks import FRA, LON, TOK, VA, klass, operator, world

FOUR = (FRA, LON, VA, TOK)
SETTINGS = settings(max_examples=50, deadline=None, database=None)
TOL = 1e-6


def _base_text(**zone_set) -> str:
    return world(
        operator("a",
                 klass("i", "berlin", 10.0, 40.0, egress=15.0, state=50.0, stateful=True,
                       replicas=[TOK]),
                 klass("b", LON, 20.0, egress=30.0),
                 klass("c", VA, 15.0, 150.0, egress=15.0, state=5.0),
                 internal_carbon_price_usd_per_t=20.0, warmup_usd_per_mw=100.0),
        operator("z",
                 klass("b", TOK, 10.0, egress=30.0),
                 klass("c", "berlin", 5.0, 150.0, egress=15.0, state=5.0),
                 warmup_usd_per_mw=50.0, migration_fee_usd_per_mw=10.0,
                 latency_penalty_usd_per_ms_mwh=0.01),
        regions=FOUR, policy={"residency": ["strict_eu"], "carbon_price_usd_per_t": 30.0},
        zone_set=zone_set)


def _compile(text: str):
    return compile_scenario(parse_scenario(tomllib.loads(text), "<hypothesis>"))


BASE = _compile(_base_text())
N_OP, K, R = BASE.shape
Z = len(BASE.scenario.zones)


def _floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


# Zero, or at least 1 kW: HiGHS's primal tolerance (1e-7) swallows smaller demands, see
# test_tiny_demand_is_reported_unserved_or_served.
DEMAND = st.one_of(st.just(0.0), _floats(1e-3, 60.0))


@st.composite
def drawn(draw, capacity=None):
    """(instance, signals) with redrawn demand, capacity, budgets, shares and zone signals."""
    demand = draw(arrays(float, (N_OP, K), elements=DEMAND))
    cap = (np.full(R, capacity) if capacity is not None
           else draw(arrays(float, R, elements=_floats(0.0, 80.0))))
    budget = draw(arrays(float, (N_OP, K), elements=_floats(5.0, 400.0)))
    share = draw(arrays(float, N_OP, elements=_floats(0.05, 1.0)))
    inst = replace(BASE.with_demand(demand).with_capacity(cap),
                   budget_ms=np.where(BASE.valid, budget, 0.0), capacity_share=share)
    sig = Signals(draw(arrays(float, Z, elements=_floats(-20.0, 200.0))),
                  draw(arrays(float, Z, elements=_floats(0.0, 900.0))),
                  draw(arrays(float, Z, elements=_floats(0.0, 900.0))))
    return inst, sig


def _prev(draw, inst):
    """A previous placement of the same demand spread over all regions (even infeasible ones)."""
    w = draw(arrays(float, (N_OP, K, R), elements=_floats(0.0, 1.0))) + 1e-3
    return inst.demand_mw[:, :, None] * w / w.sum(axis=2, keepdims=True)


def _check_basic(inst, p, feasible, joint):
    """Conservation, masks and capacity."""
    assert p.x_mw.shape == (N_OP, K, R) and p.unserved_mw.shape == (N_OP, K)
    assert (p.x_mw >= -TOL).all() and (p.unserved_mw >= -TOL).all()
    np.testing.assert_allclose(p.x_mw.sum(axis=2) + p.unserved_mw, inst.demand_mw, atol=TOL)
    assert (p.x_mw[~feasible] == 0).all()
    if joint:
        assert (p.x_mw.sum(axis=(0, 1)) <= inst.capacity_mw + TOL).all()
    else:
        cap = inst.capacity_share[:, None] * inst.capacity_mw[None, :]
        assert (p.x_mw.sum(axis=1) <= cap + TOL).all()


@SETTINGS
@given(data=st.data(), joint=st.booleans(), with_friction=st.booleans())
def test_conservation_masks_and_capacity(data, joint, with_friction):
    inst, sig = data.draw(drawn())
    m = masks(inst)
    kw = {}
    if with_friction:
        kw = {"friction": friction(inst), "x_prev_mw": _prev(data.draw, inst)}
    p = place(inst, unit_cost(inst, sig), m.feasible, joint=joint, **kw)
    _check_basic(inst, p, m.feasible, joint)
    # demand with no feasible region at all is entirely unserved
    none = ~m.feasible.any(axis=2)
    np.testing.assert_allclose(p.unserved_mw[none], inst.demand_mw[none], atol=TOL)
    # moved is what exceeds the previous placement
    prev = kw.get("x_prev_mw", np.zeros((N_OP, K, R)))
    np.testing.assert_allclose(p.moved_mw, np.maximum(p.x_mw - prev, 0.0), atol=TOL)


@SETTINGS
@given(data=st.data(), joint=st.booleans())
def test_unlimited_capacity_no_friction_is_the_per_class_argmin(data, joint):
    """Capacity 1e6, no friction, exogenous prices: each class is served at min c over F."""
    inst, sig = data.draw(drawn(capacity=1e6))
    m = masks(inst)
    c = unit_cost(inst, sig)
    p = place(inst, c, m.feasible, joint=joint)
    _check_basic(inst, p, m.feasible, joint)
    for o in range(N_OP):
        for k in range(K):
            f = m.feasible[o, k]
            d = inst.demand_mw[o, k]
            if not f.any() or d == 0:
                assert p.x_mw[o, k].sum() == 0
                assert abs(p.unserved_mw[o, k] - d) <= TOL
                continue
            best = c[o, k][f].min()
            served_cost = float(p.x_mw[o, k] @ c[o, k])
            assert abs(served_cost - d * best) <= TOL * max(1.0, abs(d * best))
            assert p.unserved_mw[o, k] <= TOL
            # no load on a region dearer than the argmin
            assert (p.x_mw[o, k][c[o, k] > best + 1e-7] <= TOL).all()


@SETTINGS
@given(data=st.data(), warmup=_floats(0.0, 500.0), extra=_floats(0.0, 2000.0))
def test_higher_friction_never_moves_more_planner(data, warmup, extra):
    """Joint placement, one warm-up for all operators raised by ``extra``: MW moved never rise."""
    inst, sig = data.draw(drawn())
    prev = _prev(data.draw, inst)
    m = masks(inst)
    c = unit_cost(inst, sig)
    moved = []
    for w in (warmup, warmup + extra):
        iw = replace(inst, warmup_usd_per_mw=np.full(N_OP, w))
        p = place(iw, c, m.feasible, joint=True, friction=friction(iw), x_prev_mw=prev)
        _check_basic(iw, p, m.feasible, True)
        moved.append(p.moved_mw.sum())
    assert moved[1] <= moved[0] + 1e-5 * max(1.0, moved[0])


@SETTINGS
@given(data=st.data(), scale=_floats(1.0, 20.0))
def test_higher_friction_never_moves_more_per_operator(data, scale):
    """Independent operators, each operator's warm-up scaled up: its MW moved never rise."""
    inst, sig = data.draw(drawn())
    prev = _prev(data.draw, inst)
    m = masks(inst)
    c = unit_cost(inst, sig)
    moved = []
    for s in (1.0, scale):
        iw = replace(inst, warmup_usd_per_mw=inst.warmup_usd_per_mw * s)
        p = place(iw, c, m.feasible, joint=False, friction=friction(iw), x_prev_mw=prev)
        _check_basic(iw, p, m.feasible, False)
        moved.append(p.moved_mw.sum(axis=(1, 2)))
    assert (moved[1] <= moved[0] + 1e-5 * np.maximum(1.0, moved[0])).all()


@SETTINGS
@given(data=st.data(), with_friction=st.booleans())
def test_planner_is_a_lower_bound_on_independent_operators(data, with_friction):
    """Shares 1/O each: the joint LP relaxes the per-operator capacity split."""
    inst, sig = data.draw(drawn())
    inst = replace(inst, capacity_share=np.full(N_OP, 1.0 / N_OP))
    m = masks(inst)
    c = unit_cost(inst, sig)
    kw = {"friction": friction(inst), "x_prev_mw": _prev(data.draw, inst)} if with_friction else {}
    planner = place(inst, c, m.feasible, joint=True, **kw)
    alone = place(inst, c, m.feasible, joint=False, **kw)
    _check_basic(inst, planner, m.feasible, True)
    _check_basic(inst, alone, m.feasible, False)
    assert planner.objective_usd <= alone.objective_usd + 1e-7 * max(1.0, abs(alone.objective_usd))
    assert planner.unserved_mw.sum() <= alone.unserved_mw.sum() + TOL


@settings(max_examples=25, deadline=None, database=None)
@given(prices=st.lists(st.integers(-10, 200), min_size=4, max_size=4),
       carbon=st.lists(st.integers(0, 900), min_size=4, max_size=4),
       budget=st.integers(10, 300))
def test_argmin_from_drawn_scenario_text(prices, carbon, budget):
    """The full pipeline from TOML: zone prices and marginal carbon drawn into the scenario, the
    default unlimited-ish capacity raised to 1e6 MW; every class lands on its cheapest feasible
    region and nothing is unserved where something is feasible."""
    zones = ("DE-LU", "GB", "US-PJM-DOM", "JP-TK")
    text = _base_text(**{z: {"price_usd_per_mwh": float(p), "marginal_carbon_g_per_kwh": float(g)}
                         for z, p, g in zip(zones, prices, carbon, strict=True)})
    inst = _compile(text).with_budget(budget).with_capacity(np.full(R, 1e6))
    sig = mean_signals(inst.scenario)
    assert sorted(sig.price_usd_per_mwh.tolist()) == sorted(float(p) for p in prices)
    m = masks(inst)
    c = unit_cost(inst, sig)
    p = place(inst, c, m.feasible, joint=True)
    has = m.feasible.any(axis=2)
    best = np.where(has, np.where(m.feasible, c, np.inf).min(axis=2), 0.0)
    np.testing.assert_allclose((p.x_mw * c).sum(axis=2)[has], (inst.demand_mw * best)[has],
                               rtol=1e-9, atol=TOL)
    assert (p.unserved_mw[has] <= TOL).all()
    np.testing.assert_allclose(p.unserved_mw[~has], inst.demand_mw[~has], atol=TOL)


@pytest.mark.parametrize("demand", [1e-7, 6e-8, 1e-8])
def test_tiny_demand_is_reported_unserved_or_served(demand):
    """One class, two regions, unlimited capacity: all demand must be served (or unserved)."""
    sol = solve_placement(np.array([[16.79, 20.0]]), np.ones((1, 2), dtype=bool),
                          np.array([demand]), np.array([[np.inf, np.inf]]), 10_000.0)
    assert sol.x_mw.sum() + sol.unserved_mw.sum() == pytest.approx(demand, rel=1e-6)


def test_base_world_is_what_the_docstring_says():
    assert BASE.shape == (2, 3, 4)
    assert not BASE.valid[1, 2]
    m = masks(BASE)
    # the stateful Berlin class (budget 40: fra 5, lon 15) may run at fra only (tok is a replica
    # but 235 ms away)
    np.testing.assert_array_equal(m.feasible[0, 0], [True, False, False, False])
    # strict EU keeps the Berlin conversational class out of Virginia
    assert not m.legal[1, 1, 2]
    # a default-scenario round trip works with the same helpers
    assert load_scenario().name == "default"
