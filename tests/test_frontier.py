"""The energy-latency frontier (docs/model.md sections 4 and 7): monotone, flat without spare
capacity, and with ERoL / CRoL equal to its finite differences."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from abm.config.scenario import load_scenario
from abm.core.frontier import (
    DEFAULT_BUDGETS_MS,
    at_hour,
    frontier,
)
from abm.core.instance import compile_scenario
from abm.core.signals import Signals, mean_signals, profile_signals
from tests.conftest import ATYPICAL
from tests.test_masks import FRA, LON, VA, klass, operator, world

REQUIRED = ("budget_ms", "cost_usd", "served_cost_usd", "unserved_usd", "emissions_kg",
            "placed_emissions_kg", "rid",
            "unserved_mwh", "erol_usd_per_ms_mwh", "crol_kg_per_ms_mwh", "realised_relocation",
            "layer_local_share", "layer_regional_share", "layer_energy_share", "demand_mwh")


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
    layers = df.layer_local_share + df.layer_regional_share + df.layer_energy_share
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
    """Rows come in budget order whatever order the budgets are given in, and each budget is
    reported once its row is done, in that order (abm frontier releases its Ctrl-C hold
    there)."""
    inst, sig = default
    done: list[float] = []
    a = frontier(inst, sig, [300, 10, 50], frictions=False, after_budget=done.append)
    b = frontier(inst, sig, [10, 50, 300], frictions=False)
    assert list(a.budget_ms) == [10.0, 50.0, 300.0] == done
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
    assert df.layer_energy_share[300.0] == pytest.approx(1.0)


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


# --- capacity that binds: unserved demand is never avoided carbon ---------------------------------


def _short_world(write_scenario):
    """fra holds 20 MW of the Berlin class's 30 (10 MW cannot be served there), lon 20 MW of
    the London class's 20, va 15 MW and no demand of its own. No egress, VoLL 1,000 $/MWh."""
    text = world(operator("op", klass("eu", "berlin", 30.0), klass("uk", LON, 20.0)),
                 regions=(FRA, LON, VA), policy={"voll_usd_per_mwh": 1000.0},
                 region_set={FRA: {"capacity_mw": 20.0}, LON: {"capacity_mw": 20.0},
                             VA: {"capacity_mw": 15.0}})
    scn = load_scenario(write_scenario(text))
    return compile_scenario(scn), mean_signals(scn)


@pytest.mark.parametrize("frictions", [True, False])
def test_frontier_where_capacity_binds_by_hand(write_scenario, frictions):
    """Intensities per MWh of IT load (average basis): fra 1.5 x 400 = 600, lon 200, va 1.2 x 300
    = 360 kg; unit costs fra 1.5 x 100 + 2 = 152, lon 80 + 5 = 85, va 1.2 x 40 = 48 $/MWh.

    Status quo within capacity: 20 MW of the Berlin class at fra (10 MW unserved), the London
    class at lon: E_local = 20 x 600 + 20 x 200 = 16,000 kg/h.

    10 ms: only the origins are reachable (Berlin-London is 5 + 10 = 15 ms). E* serves each
    class as the status quo does: 16,000 kg/h, a reduction of 0 (before: 27.3 %, the 10 MW
    left unserved counted as avoided against E_local = 30 x 600 + 4,000 = 22,000). C* = 20 x
    152 + 20 x 85 + 10 MW unserved x 1,000 = 14,740 $/h (served 4,740).

    90 ms: Berlin reaches lon (15 ms), London reaches fra (15) and va (5 + 80 = 85). E* serves
    the same 20 + 20 MW: lon 20 x 200, va 15 x 360 (London only), fra 5 x 600 = 12,400 kg/h,
    a 22.5 % reduction. C* serves all 50 MW: va 15 x 48 + lon 20 x 85 + fra 15 x 152 =
    4,700 $/h, whose placement emits 15 x 360 + 20 x 200 + 15 x 600 = 18,400 kg/h (it serves
    10 MW more than the status quo). 300 ms (Berlin reaches va too): the same optima.
    """
    inst, sig = _short_world(write_scenario)
    df = frontier(inst, sig, [10, 90, 300], frictions=frictions).set_index("budget_ms")
    assert_allclose(df.status_quo_emissions_kg, 16000.0)
    assert_allclose(df.emissions_kg, [16000.0, 12400.0, 12400.0])
    assert_allclose(df.carbon_reduction, [0.0, 0.225, 0.225], atol=1e-12)
    assert df.rid[10.0] == 0.0
    assert_allclose(df.min_emissions_unserved_mwh, 10.0)
    assert_allclose(df.cost_usd, [14740.0, 4700.0, 4700.0])
    assert_allclose(df.served_cost_usd, [4740.0, 4700.0, 4700.0])
    assert_allclose(df.unserved_usd, [10000.0, 0.0, 0.0], atol=1e-9)
    assert_allclose(df.unserved_mwh, [10.0, 0.0, 0.0], atol=1e-9)
    assert_allclose(df.placed_emissions_kg, [16000.0, 18400.0, 18400.0])


class _World:
    """A compiled world with a short repr (hypothesis prints its arguments)."""

    def __init__(self, inst) -> None:
        self.inst = inst

    def __repr__(self) -> str:
        return "fra, lon, va; classes from berlin, london and va"


@pytest.fixture(scope="module")
def short_instance(tmp_path_factory):
    text = world(operator("op", klass("eu", "berlin", 30.0, egress=10.0),
                          klass("uk", LON, 20.0, egress=10.0), klass("us", VA, 10.0),
                          warmup_usd_per_mw=50.0),
                 regions=(FRA, LON, VA), policy={"voll_usd_per_mwh": 500.0})
    path = tmp_path_factory.mktemp("frontier") / "short.toml"
    path.write_text(text)
    return _World(compile_scenario(load_scenario(path)))


@settings(max_examples=40, deadline=None)
@given(capacity=st.lists(st.floats(0.0, 40.0), min_size=3, max_size=3),
       demand=st.lists(st.floats(0.0, 40.0), min_size=3, max_size=3),
       price=st.lists(st.floats(0.0, 200.0), min_size=3, max_size=3),
       carbon=st.lists(st.floats(0.0, 900.0), min_size=6, max_size=6),
       budgets=st.lists(st.floats(5.0, 400.0), min_size=2, max_size=5, unique=True),
       frictions=st.booleans())


@ATYPICAL  # a VoLL of 500 $/MWh, so that demand goes unserved
def test_frontier_never_rises_with_the_budget(short_instance, capacity, demand, price, carbon,
                                              budgets, frictions):
    """C*(B) (unserved at VoLL) and E*(B) (every class served as in the status quo) never rise
    as the budget grows, whatever capacity leaves unserved; E* never exceeds the status quo,
    and where no class can leave its origin the reduction is 0."""
    base = short_instance.inst
    inst = base.with_capacity(np.array(capacity)).with_demand(
        np.array(demand).reshape(base.demand_mw.shape))
    sig = Signals(np.array(price), np.array(carbon[:3]), np.array(carbon[3:]))
    df = frontier(inst, sig, budgets, frictions=frictions)
    scale = 1.0 + df.cost_usd.abs().max()
    assert (np.diff(df.cost_usd) <= 1e-9 * scale).all(), df.cost_usd.tolist()
    kg = 1.0 + df.status_quo_emissions_kg.iloc[0]
    assert (np.diff(df.emissions_kg) <= 1e-9 * kg).all(), df.emissions_kg.tolist()
    assert (df.emissions_kg <= df.status_quo_emissions_kg + 1e-9 * kg).all()
    assert_allclose(df.cost_usd, df.served_cost_usd + df.unserved_usd, rtol=1e-12)
    stuck = df.rid == 0.0  # nothing has a region other than its origin
    assert_allclose(df.emissions_kg[stuck], df.status_quo_emissions_kg[stuck], rtol=1e-9,
                    atol=1e-9)
