"""The energy-latency frontier (docs/model.md sections 4 and 7): monotone, flat without spare
capacity, and with ERoL / CRoL equal to its finite differences."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from numpy.testing import assert_allclose

from abm.config.scenario import load_scenario
from abm.core.frontier import (
    DEFAULT_BUDGETS_MS,
    at_hour,
    frontier,
)
from abm.core.instance import compile_scenario
from abm.core.signals import mean_signals, profile_signals
from tests.test_masks import FRA, LON, VA, klass, operator, world

REQUIRED = ("budget_ms", "cost_usd", "emissions_kg", "placed_emissions_kg", "rid",
            "unserved_mwh", "erol_usd_per_ms_mwh", "crol_kg_per_ms_mwh", "realised_relocation",
            "layer_local", "layer_regional", "layer_energy", "demand_mwh")


@pytest.fixture(scope="module")
def default():
    scn = load_scenario()
    return compile_scenario(scn), mean_signals(scn)


@pytest.fixture(scope="module", params=[True, False], ids=["frictions", "no-frictions"])
def default_frontier(request, default):
    inst, sig = default
    return frontier(inst, sig, DEFAULT_BUDGETS_MS, frictions=request.param)


def _never_rises(values, rel=1e-6):
    v = np.asarray(values, dtype=float)
    return bool((np.diff(v) <= rel * np.abs(v[:-1]) + 1e-9).all())


def test_frontier_columns_and_rows(default_frontier):
    df = default_frontier
    assert set(REQUIRED) <= set(df.columns)
    assert list(df.budget_ms) == sorted(DEFAULT_BUDGETS_MS)
    assert len(df) == len(DEFAULT_BUDGETS_MS)


def test_default_frontier_cost_and_emissions_never_rise(default_frontier):
    df = default_frontier
    assert _never_rises(df.cost_usd), df.cost_usd.tolist()
    assert _never_rises(df.emissions_kg), df.emissions_kg.tolist()


def test_default_frontier_rid_never_falls_and_nothing_unserved(default_frontier):
    df = default_frontier
    assert (np.diff(df.rid) >= -1e-12).all()
    assert ((df.rid >= 0) & (df.rid <= 1)).all()
    assert (df.unserved_mwh.abs() < 1e-6).all()
    assert (df.min_emissions_unserved_mwh.abs() < 1e-6).all()


def test_default_frontier_relaxing_300_ms_beats_10_ms(default_frontier):
    df = default_frontier.set_index("budget_ms")
    assert df.cost_usd[300.0] < df.cost_usd[10.0]
    assert df.emissions_kg[300.0] < df.emissions_kg[10.0]
    assert df.rid[300.0] > df.rid[10.0]


def test_default_frontier_layers_sum_to_one_and_carbon_optimum_is_a_lower_bound(default_frontier):
    df = default_frontier
    layers = df.layer_local + df.layer_regional + df.layer_energy
    assert_allclose(layers, 1.0, atol=1e-9)
    # E*(B) is the least emission any placement achieves; the cost-optimal one emits no less
    assert (df.emissions_kg <= df.placed_emissions_kg * (1 + 1e-9) + 1e-6).all()


def test_frictions_never_lower_the_cost(default):
    inst, sig = default
    with_f = frontier(inst, sig, DEFAULT_BUDGETS_MS, frictions=True)
    without = frontier(inst, sig, DEFAULT_BUDGETS_MS, frictions=False)
    assert (without.cost_usd <= with_f.cost_usd * (1 + 1e-9)).all()
    assert (without.realised_relocation >= with_f.realised_relocation - 1e-9).all()
    # the carbon optimum does not depend on frictions
    assert_allclose(with_f.emissions_kg, without.emissions_kg, rtol=1e-9)
    assert (without.migration_usd == 0).all()


def test_budget_order_does_not_matter(default):
    inst, sig = default
    a = frontier(inst, sig, [300, 10, 50], frictions=False)
    b = frontier(inst, sig, [10, 50, 300], frictions=False)
    assert list(a.budget_ms) == [10.0, 50.0, 300.0]
    assert_allclose(a.cost_usd, b.cost_usd)


@pytest.mark.parametrize("frictions", [True, False])
def test_erol_and_crol_are_finite_differences(default, frictions):
    inst, sig = default
    df = frontier(inst, sig, DEFAULT_BUDGETS_MS, frictions=frictions)
    d = float(inst.demand_mw.sum())
    assert df.demand_mwh.iloc[0] == pytest.approx(d)
    b = df.budget_ms.to_numpy()
    for col, val in (("erol_usd_per_ms_mwh", "cost_usd"), ("crol_kg_per_ms_mwh", "emissions_kg")):
        v = df[val].to_numpy()
        expected = -(v[1:] - v[:-1]) / (b[1:] - b[:-1]) / d
        assert_allclose(df[col].to_numpy()[:-1], expected, rtol=1e-9, atol=1e-12)
        assert np.isnan(df[col].iloc[-1])
        # never rising means never negative (up to solver tolerance)
        assert (df[col].to_numpy()[:-1] >= -1e-6).all()


def test_status_quo_is_everything_at_origin(default):
    inst, _ = default
    sq = inst.status_quo_mw()
    assert_allclose(sq.sum(axis=2), inst.demand_mw)
    assert (sq[~inst.at_origin()] == 0).all()
    assert_allclose(inst.status_quo_load_mw(), sq.sum(axis=(0, 1)), rtol=1e-12)


# --- flat without spare capacity ------------------------------------------------------------------


def _no_spare_capacity(write_scenario, egress=20.0, policy=None):
    """fra holds exactly its 10 MW of local demand, lon its 20 MW, va (no local demand) 0 MW."""
    text = world(operator("op",
                          klass("eu", "berlin", 10.0, egress=egress, state=5.0),
                          klass("uk", LON, 20.0, egress=egress, state=5.0),
                          warmup_usd_per_mw=100.0),
                 regions=(FRA, LON, VA), policy=policy,
                 region_set={FRA: {"capacity_mw": 10.0}, LON: {"capacity_mw": 20.0},
                             VA: {"capacity_mw": 0.0}})
    scn = load_scenario(write_scenario(text))
    return compile_scenario(scn), mean_signals(scn)


@pytest.mark.parametrize("frictions", [True, False])
@pytest.mark.parametrize("egress", [20.0, 0.0])
def test_frontier_flat_without_spare_capacity(write_scenario, frictions, egress):
    """Every region is full of its own demand: relaxing latency cannot lower cost or carbon.

    Hand value (marginal signal, no carbon price): fra 10 * (1.5*100 + 2) + lon 20 * (80 + 5)
    = 1520 + 1700 = 3220 $/h; emissions (average) 10*1.5*400 + 20*200 = 10000 kg/h.
    """
    inst, sig = _no_spare_capacity(write_scenario, egress)
    df = frontier(inst, sig, DEFAULT_BUDGETS_MS, frictions=frictions)
    assert df.cost_usd.nunique() == 1 or np.ptp(df.cost_usd) <= 1e-9 * df.cost_usd.abs().max()
    assert df.cost_usd.iloc[0] == pytest.approx(3220.0)
    assert_allclose(df.emissions_kg, 10000.0)
    assert_allclose(df.placed_emissions_kg, 10000.0)
    assert_allclose(df.erol_usd_per_ms_mwh.iloc[:-1], 0.0, atol=1e-12)
    assert_allclose(df.crol_kg_per_ms_mwh.iloc[:-1], 0.0, atol=1e-12)
    assert (df.unserved_mwh == 0).all()
    # relocatable demand does grow (fra-lon is 10 ms away), but none can be realised profitably
    assert df.rid.iloc[-1] == pytest.approx(1.0)
    assert df.rid.iloc[0] == pytest.approx(0.0)


def test_frontier_with_spare_capacity_by_hand(write_scenario):
    """Give va 100 MW: once the budget reaches va (5 + 90 = 95 ms from berlin, 85 from London),
    all 30 MW go there if it is cheaper (no frictions): va costs 1.2*40 + 20*0.05 = 49 $/MWh
    against 152 at fra and 85 at lon, so C*(300) = 30 * 49 = 1470 $/h."""
    text = world(operator("op",
                          klass("eu", "berlin", 10.0, egress=20.0),
                          klass("uk", LON, 20.0, egress=20.0)),
                 regions=(FRA, LON, VA),
                 region_set={FRA: {"capacity_mw": 10.0}, LON: {"capacity_mw": 20.0}})
    scn = load_scenario(write_scenario(text))
    df = frontier(compile_scenario(scn), mean_signals(scn), [10, 50, 90, 100, 300],
                  frictions=False).set_index("budget_ms")
    assert df.cost_usd[10.0] == pytest.approx(3220.0)
    # at 90 ms only the London class reaches va (85 ms), which frees London for the Berlin
    # class (15 ms) at 80 + 5 + 20*0.2 = 89 $/MWh: 10 * 89 + 20 * 49
    assert df.cost_usd[90.0] == pytest.approx(890.0 + 980.0)
    assert df.cost_usd[100.0] == pytest.approx(1470.0)
    assert df.cost_usd[300.0] == pytest.approx(1470.0)
    assert df.realised_relocation[300.0] == pytest.approx(1.0)
    assert df.layer_energy[300.0] == pytest.approx(1.0)


@pytest.mark.parametrize("budgets", [[90, 300], [10, 90, 300], [300]])
def test_carbon_reduction_is_against_everything_local_whatever_the_budgets(write_scenario,
                                                                           budgets):
    """Status quo (average basis): fra 10 MW x PUE 1.5 x 400 + lon 20 x 200 = 10,000 kg/h.
    From 90 ms the London class reaches va (85 ms): 10 MW of it goes to va (1.2 x 300 = 360
    kg/MWh) and frees London for the Berlin class (15 ms), so E* = 20 x 200 + 10 x 360 =
    7,600 kg/h, a 24% reduction; at 10 ms nothing can move (0%)."""
    text = world(operator("op", klass("eu", "berlin", 10.0, egress=20.0),
                          klass("uk", LON, 20.0, egress=20.0)),
                 regions=(FRA, LON, VA),
                 region_set={FRA: {"capacity_mw": 10.0}, LON: {"capacity_mw": 20.0}})
    scn = load_scenario(write_scenario(text))
    df = frontier(compile_scenario(scn), mean_signals(scn), budgets, frictions=False)
    assert_allclose(df.status_quo_emissions_kg, 10000.0)
    expected = {10: 0.0, 90: 0.24, 300: 0.24}
    assert_allclose(df.carbon_reduction, [expected[b] for b in budgets], atol=1e-9)


def test_at_hour_uses_that_hours_demand_and_signals(default):
    """Hour 14 of the default scenario: the demand is each class's diurnal demand at 14:00 UTC
    (what the market places that hour), not the mean, and the signals are that hour's."""
    scn = load_scenario()
    inst, _ = default
    hour = 14
    inst_h, sig_h = at_hour(scn, inst, hour)
    model_demand = inst.demand_at((scn.start + dt.timedelta(hours=hour)).hour)
    assert_allclose(inst_h.demand_mw, model_demand)
    assert abs(inst_h.demand_mw.sum() / inst.demand_mw.sum() - 1.0) > 0.01
    series = profile_signals(scn)
    assert_allclose(sig_h.price_usd_per_mwh, series.price_usd_per_mwh[hour])
    assert_allclose(sig_h.avg_carbon_kg_per_mwh, series.avg_carbon_kg_per_mwh[hour])
