"""The agent-based market (abm.market): reproducibility, invariants at every step, agreement
with the static core, friction, the planner's bound, herding, expansion and rent."""

from __future__ import annotations

import dataclasses

import mesa
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.config.population import _pick
from abm.config.scenario import Market, load_scenario
from abm.core.costs import unit_cost
from abm.core.instance import compile_scenario
from abm.core.placement import place
from abm.market import ComputeRegion, GridZone
from abm.market.model import MarketModel
from abm.market.pricing import RENT_RULES
from tests.conftest import ATYPICAL, BATCH_TEMPLATE, CONVERSATIONAL_TEMPLATE

# .format(state=...): GB of state per MW for the conversational and interactive classes
TEMPLATES = BATCH_TEMPLATE + CONVERSATIONAL_TEMPLATE + """
[templates.interactive]
budget_ms = 40.0
overhead_ms = 0.0
egress_gb_per_mwh = 15.0
state_gb_per_mw = {state}
stateful = true
diurnal_amplitude = 0.3
"""

# Five regions (four in Europe, one in the US), six drawn operators and two listed ones; the
# capacities (80 MW for ~100 MW of demand) bind every hour.
MARKET = """
[scenario]
name = "market"
start = 2024-01-08T00:00:00
hours = 24
seed = 7

[regions]
include = ["eu-france", "eu-sweden", "eu-frankfurt", "eu-netherlands", "us-east-va"]
[regions.set.eu-france]
capacity_mw = {cap_fr}
[regions.set.eu-sweden]
capacity_mw = {cap_se}
[regions.set.eu-frankfurt]
capacity_mw = {cap_de}
[regions.set.eu-netherlands]
capacity_mw = {cap_nl}
[regions.set.us-east-va]
capacity_mw = {cap_us}

[policy]
carbon_price_usd_per_t = 60.0

[market]
allocation = "{allocation}"
pricing = "{pricing}"
grid_response = "{grid}"
forecast_noise = 0.2
{templates}
[population]
operators = 6
total_demand_mw = 80.0
classes = [1, 3]
templates = {{ batch = 0.5, conversational = 0.3, interactive = 0.2 }}
warmup_usd_per_mw = {warmups}
internal_carbon_price_usd_per_t = [0.0, 50.0]
forecast = {forecasts}

[[operators]]
id = "alpha"
warmup_usd_per_mw = {warmup}
internal_carbon_price_usd_per_t = 40.0
forecast = "{forecast}"

[[operators.classes]]
id = "batch-de"
template = "batch"
client = "eu-frankfurt"
demand_mw = 12.0

[[operators.classes]]
id = "conv-nl"
template = "conversational"
client = "eu-netherlands"
demand_mw = 6.0

[[operators]]
id = "beta"
footprint = ["eu-france", "eu-frankfurt", "us-east-va"]
capacity_share = 0.8
warmup_usd_per_mw = {warmup}
forecast = "{forecast}"

[[operators.classes]]
id = "batch-us"
template = "batch"
client = "us-east-va"
demand_mw = 8.0

[[operators.classes]]
id = "inter-fr"
template = "interactive"
client = "eu-france"
demand_mw = 4.0
"""

TIGHT = dict(cap_fr=15.0, cap_se=10.0, cap_de=20.0, cap_nl=15.0, cap_us=20.0)
AMPLE = {k: 1e5 for k in TIGHT}
MIXED = dict(warmups="[0.0, 100.0, 400.0]", warmup=200.0, forecast="perfect",
             forecasts="{ perfect = 0.4, persistence = 0.3, noisy = 0.3 }", state=5.0)


def market_text(*, allocation="first_come", pricing="utilisation_target", grid="calibrated",
                caps=None, warmups="[0.0, 100.0, 400.0]", warmup=200.0, forecast="perfect",
                forecasts="{ perfect = 0.4, persistence = 0.3, noisy = 0.3 }", state=5.0) -> str:
    return MARKET.format(allocation=allocation, pricing=pricing, grid=grid,
                         templates=TEMPLATES.format(state=state), warmups=warmups,
                         warmup=warmup, forecast=forecast, forecasts=forecasts,
                         **(caps or TIGHT))


def load(write_scenario, text: str, name: str = "scenario.toml", **changes):
    scn = load_scenario(write_scenario(text, name))
    return dataclasses.replace(scn, **changes) if changes else scn


def placement(model: MarketModel) -> np.ndarray:
    """(O, K, R) this hour's placement, from the operators."""
    return np.stack([np.array(op.x_mw, copy=True) for op in model.operators])


def unserved_of(model: MarketModel) -> np.ndarray:
    return np.stack([np.array(op.unserved_mw, copy=True) for op in model.operators])


def run(scn, seed=None, hours=None) -> MarketModel:
    model = MarketModel(scn, rng=seed, hours=hours)
    for _ in range(model.hours):
        model.step()
    return model


# -- reproducibility and population ---------------------------------------------------------


@pytest.fixture(scope="module")
def default_12h():
    return dataclasses.replace(load_scenario(), hours=12)


def test_same_seed_same_run_different_seed_different_run(default_12h):
    a, b, c = run(default_12h), run(default_12h), run(default_12h, seed=43)
    da = a.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(da, b.datacollector.get_model_vars_dataframe(),
                                  check_exact=True)
    for agent in (ComputeRegion, GridZone):
        pd.testing.assert_frame_equal(a.datacollector.get_agenttype_vars_dataframe(agent),
                                      b.datacollector.get_agenttype_vars_dataframe(agent),
                                      check_exact=True)
    assert a.operators.migrations == b.operators.migrations
    assert len(a.operators.migrations) > 0
    np.testing.assert_array_equal(placement(a), placement(b))
    # another seed draws another population and another operator order
    assert a.inst.demand_mw.shape != c.inst.demand_mw.shape or not np.array_equal(
        a.inst.demand_mw, c.inst.demand_mw)
    dc = c.datacollector.get_model_vars_dataframe()
    assert not np.allclose(da.served_mwh.to_numpy(), dc.served_mwh.to_numpy()) or \
        not np.allclose(da.cost_usd.to_numpy(), dc.cost_usd.to_numpy())


#: what the model itself holds beyond Mesa's own: the clock, the instance (and the scenario's
#: market settings and base signals it was compiled with), the grid, the agent sets, the collector,
#: the demand-response events
MODEL_HOLDS = {"hour", "hours", "stamps", "seed_value", "inst", "market", "base", "grid",
               "operators", "regions", "zones", "datacollector", "outcome", "events"}
#: arrays the model carried for its agents before they moved to the agent sets (issue 18)
BLACKBOARD = {"x_mw", "demand_mw", "prev_demand_mw", "incumbent_mw", "status_quo_mw",
              "unserved_mw", "moved_mw", "cost", "feasible", "friction", "planning_friction",
              "network_cost", "preference", "layer", "holding_hours", "voll", "migrations",
              "shift_mwh", "shift_index", "operator_cost_usd", "lp_solves", "compiled_walk",
              "capacity_mw", "available_mw", "rent_usd_per_mwh", "region_load_mw",
              "grant_ratio", "zone_dc_mw", "reference_dc_mw", "quotes", "dispatch",
              "dispatch_none", "dispatch_status_quo", "fit", "line_rows",
              "quoted_carbon_kg_per_mwh", "consumed_carbon_kg_per_mwh",
              "realised_energy_usd_per_mwh"}


def test_the_model_keeps_no_operator_region_or_zone_state(default_12h):
    """State follows behaviour: before and after a step the model holds only the clock, the
    instance, the grid, the agent sets and the collector; the operators' placements, the
    regions' capacity and rent and the zones' clearings live on the sets that own them."""
    model = MarketModel(dataclasses.replace(default_12h, hours=2))
    mesa_own = set(vars(mesa.Model(rng=0)))
    for _ in range(2):
        assert set(vars(model)) - mesa_own == MODEL_HOLDS
        model.step()
    assert not BLACKBOARD & set(vars(model))
    assert not [name for name in BLACKBOARD if hasattr(model, name)]
    for name in ("x_mw", "demand_mw", "cost_usd_per_mwh", "migrations", "shift_mwh"):
        assert hasattr(model.operators, name), name
    for name in ("capacity_mw", "rent_usd_per_mwh", "load_mw", "grant_ratio"):
        assert hasattr(model.regions, name), name
    for name in ("dc_load_mw", "price_usd_per_mwh", "line_rows"):
        assert hasattr(model.zones, name), name


@pytest.mark.parametrize("seed", [0, 5, 42])
def test_population_is_the_static_realisation(default_12h, seed):
    model = MarketModel(default_12h, rng=seed, hours=1)
    static = compile_scenario(default_12h, np.random.default_rng(seed))
    assert model.inst.operator_ids == static.operator_ids
    assert model.inst.class_ids == static.class_ids
    np.testing.assert_array_equal(model.inst.demand_mw, static.demand_mw)
    np.testing.assert_array_equal(model.inst.footprint, static.footprint)
    np.testing.assert_array_equal(model.inst.warmup_usd_per_mw, static.warmup_usd_per_mw)
    assert len(model.operators) == 50


@settings(max_examples=200, deadline=None)
@given(weights=st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1e6)), min_size=1,
                        max_size=12).filter(lambda w: sum(w) > 0),
       seed=st.integers(0, 2**32 - 1))
def test_a_population_draw_is_numpys_weighted_choice(weights, seed):
    """The population's draws (``_pick``) are ``Generator.choice(n, p=w / w.sum())``'s: the
    same names, and the generator left in the same state after each."""
    weighted = tuple((f"n{i}", w) for i, w in enumerate(weights))
    ours, numpy_s = np.random.default_rng(seed), np.random.default_rng(seed)
    w = np.array(weights)
    for _ in range(20):
        picked = _pick(ours, weighted)
        assert picked == weighted[int(numpy_s.choice(len(w), p=w / w.sum()))][0]
        assert ours.bit_generator.state == numpy_s.bit_generator.state
    with pytest.raises(ValueError, match="non-negative"):
        _pick(ours, (("a", -1.0), ("b", 2.0)))


# -- invariants at every step ---------------------------------------------------------------


def check_step_invariants(model: MarketModel) -> None:
    x = placement(model)
    unserved = unserved_of(model)
    np.testing.assert_allclose(x.sum(axis=2) + unserved, model.operators.demand_mw, atol=1e-6)
    assert (x >= -1e-9).all() and (unserved >= -1e-9).all()
    assert (x[~model.operators.feasible] == 0).all()
    capacity = np.array([r.capacity_mw for r in model.regions])
    assert (x.sum(axis=(0, 1)) <= capacity + 1e-6).all()
    assert (x.sum(axis=(0, 1)) <= model.regions.capacity_mw + 1e-6).all()
    # an operator with a capacity share never takes more than its share
    share = model.inst.capacity_share[:, None] * model.regions.capacity_mw[None, :]
    assert (x.sum(axis=1) <= share + 1e-6).all()


@pytest.mark.parametrize("allocation", ["first_come", "proportional"])
def test_invariants_at_every_step(write_scenario, allocation):
    scn = load(write_scenario, market_text(allocation=allocation))
    model = MarketModel(scn)
    binding = 0
    for _ in range(24):
        model.step()
        check_step_invariants(model)
        binding += int((model.regions.load_mw >= model.regions.capacity_mw - 1e-6).any())
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == 24
    np.testing.assert_allclose(df.demand_mwh, df.served_mwh + df.unserved_mwh, rtol=1e-9)
    assert binding == 24  # capacity binds every hour, so the test is not vacuous
    assert df.unserved_mwh.sum() > 0 and df.moved_mwh.sum() > 0
    regions = model.datacollector.get_agenttype_vars_dataframe(ComputeRegion)
    assert (regions.load_mw <= regions.capacity_mw + 1e-6).all()


def test_the_status_quo_load_is_the_hours_demand_at_the_origins():
    """The status-quo load the grid is calibrated at (kept for each hour of the day once it is
    computed) is, every hour past the first day, the hour's demand at its classes' origins."""
    model = MarketModel(load_scenario(None), hours=30)
    for _ in range(30):
        model.step()
        got = model.operators.status_quo_load_mw()
        want = model.inst.with_demand(model.operators.demand_mw).status_quo_load_mw()
        assert got.tobytes() == want.tobytes()
    assert len(model.operators._status_quo) == 24


def test_what_operators_hold_is_last_hours_placement_scaled(default_12h):
    """As an hour starts, what each operator holds and the incumbent (kept by feasible pair
    for the walk and the hour's sums) are last hour's placement scaled class by class to this
    hour's demand, whole and by pair alike; demand by the hour of day is computed once and
    read-only."""
    model = MarketModel(dataclasses.replace(default_12h, hours=4))
    ops = model.operators
    for hour in range(3):
        model.step()
        placed = ops.x_mw.copy()
        model.prepare_hour(hour + 1)
        ratio = np.divide(ops.demand_mw, ops.prev_demand_mw,
                          out=np.zeros_like(ops.demand_mw), where=ops.prev_demand_mw > 0)
        np.testing.assert_array_equal(ops.last_x_mw, placed)
        np.testing.assert_array_equal(ops.held_mw, placed * ratio[:, :, None])
        np.testing.assert_array_equal(ops.incumbent_mw, ops.held_mw)
        np.testing.assert_array_equal(ops.held.incumbent_mw, ops.incumbent_mw[ops.feasible])
        np.testing.assert_array_equal(ops.held.by_operator_mw, ops.held_mw.sum(axis=1))
        np.testing.assert_array_equal(ops.demand_mw,
                                      model.inst.demand_at(model.stamps[hour + 1].hour))
        assert ops.demand_at(model.stamps[hour + 1].hour) is ops.demand_mw
        assert not ops.demand_mw.flags.writeable


# -- agreement with the static core ---------------------------------------------------------


@ATYPICAL  # 100 GW regions: capacity never binds
def test_zero_friction_exogenous_ample_capacity_matches_static_optimum(write_scenario):
    """No frictions, exogenous prices, fixed rent, ample capacity, perfect forecasts: each hour
    the market's realised placement cost is the static core's optimum for that hour."""
    text = market_text(pricing="fixed", grid="exogenous", caps=AMPLE, warmups="[0.0]",
                       warmup=0.0, forecasts="{ perfect = 1.0 }", state=0.0)
    scn = load(write_scenario, text, hours=12)
    model = MarketModel(scn)
    assert not model.operators.friction_usd_per_mw.any()
    moved = 0.0
    for t in range(12):
        model.step()
        inst = model.inst
        cost = unit_cost(inst, model.base.at(t))
        x = placement(model)
        unserved = unserved_of(model)
        realised = float((x * cost).sum() + scn.policy.voll_usd_per_mwh * unserved.sum())
        ops = model.operators
        best = place(inst.with_demand(ops.demand_mw), cost, ops.feasible, joint=True)
        assert realised == pytest.approx(best.objective_usd, rel=1e-6)
        # the collector's realised cost is the same number (no rent, no friction)
        df = model.datacollector.get_model_vars_dataframe()
        assert df.cost_usd.iloc[-1] == pytest.approx(float((x * cost).sum()), rel=1e-9)
        moved += float(df.moved_mwh.iloc[-1])
    assert moved > 0  # prices change hour to hour, so placements do move


@pytest.mark.parametrize("allocation", ["first_come", "proportional"])
def test_more_friction_never_moves_more(write_scenario, allocation):
    moved = []
    for warmup in (0.0, 100.0, 1000.0):
        text = market_text(allocation=allocation, grid="exogenous", warmups=f"[{warmup}]",
                           warmup=warmup, state=0.0)
        model = run(load(write_scenario, text, f"w{warmup}.toml"))
        phi = model.operators.friction_usd_per_mw[model.inst.valid]
        assert np.allclose(phi, warmup)
        moved.append(float(model.datacollector.get_model_vars_dataframe().moved_mwh.sum()))
    assert moved[0] >= moved[1] - 1e-6 >= moved[2] - 2e-6, moved
    assert moved[0] > moved[2] + 1.0, moved  # friction visibly damps moves


@pytest.mark.parametrize("allocation", ["first_come", "proportional"])
def test_planner_is_a_lower_bound_on_each_step(write_scenario, allocation):
    scn = load(write_scenario, market_text(allocation=allocation, grid="exogenous"), hours=16)
    model = MarketModel(scn)
    voll = scn.policy.voll_usd_per_mwh
    ops = model.operators
    gaps = []
    for _ in range(16):
        held = placement(model)
        held_demand = ops.demand_mw.copy()  # last hour's demand, which ``held`` serves
        capacity = model.regions.capacity_mw.copy()
        model.step()
        ratio = np.divide(ops.demand_mw, held_demand, out=np.zeros_like(held_demand),
                          where=held_demand > 0)
        x_prev = held * ratio[:, :, None]
        x = placement(model)
        moved = np.stack([np.array(op.moved_mw, copy=True) for op in model.operators])
        np.testing.assert_allclose(moved, np.maximum(x - x_prev, 0), atol=1e-6)
        unserved = unserved_of(model)
        phi = ops.planning_friction_usd_per_mw
        market = float((x * ops.cost_usd_per_mwh).sum() + (moved * phi).sum()
                       + voll * unserved.sum())
        planner = place(model.inst.with_demand(ops.demand_mw), ops.cost_usd_per_mwh, ops.feasible,
                        joint=True, friction=phi, x_prev_mw=x_prev, capacity_mw=capacity)
        assert planner.objective_usd <= market + 1e-6 * max(1.0, abs(market)), model.hour
        gaps.append(market - planner.objective_usd)
    assert max(gaps) > 1.0  # the market is not trivially optimal here


# -- capacity expansion and rent ------------------------------------------------------------

EXPANSION = """
[scenario]
name = "expansion"
start = 2024-01-08T00:00:00
hours = 14

[regions]
include = ["eu-france", "eu-sweden", "eu-frankfurt"]
[regions.set.eu-france]
capacity_mw = 8.0
[regions.set.eu-sweden]
capacity_mw = 4.0
[regions.set.eu-frankfurt]
capacity_mw = 8.0

[policy]
moratorium = ["eu-sweden"]
grid_connection_cap_mw = {{ eu-frankfurt = 10.0 }}

[market]
expansion_review_hours = {review}
expansion_lag_hours = {lag}
expansion_fraction = 0.5
expansion_threshold = 0.9

[[operators]]
id = "op"
[[operators.classes]]
id = "b"
client = "eu-france"
demand_mw = 60.0
budget_ms = 1000.0
overhead_ms = 0.0
egress_gb_per_mwh = 0.0
state_gb_per_mw = 0.0
stateful = false
"""


def region_capacity(model: MarketModel) -> pd.DataFrame:
    """(steps x regions) capacity as recorded by the collector."""
    df = model.datacollector.get_agenttype_vars_dataframe(ComputeRegion).reset_index()
    return df.pivot(index="Step", columns="region", values="capacity_mw")


@pytest.mark.parametrize(("review", "lag"), [(2, 3), (3, 5)])
def test_expansion_after_exactly_the_lag(write_scenario, review, lag):
    """Utilisation stays at 1 (demand far above capacity): the review at the end of step
    ``review`` orders 50% more, which is on line lag hours later, from step review + lag + 1."""
    model = run(load(write_scenario, EXPANSION.format(review=review, lag=lag)))
    cap = region_capacity(model)
    fr = cap["eu-france"]
    first = review + lag + 1
    assert (fr.loc[:first - 1] == 8.0).all(), fr.tolist()
    assert fr.loc[first] == 12.0, fr.tolist()
    # the second review (end of step 2 x review) comes on line lag hours after it
    second = 2 * review + lag + 1
    assert (fr.loc[first:second - 1] == 12.0).all(), fr.tolist()
    if second in fr.index:
        assert fr.loc[second] > 12.0
    # a moratorium never grows; a connection cap bounds growth
    assert (cap["eu-sweden"] == 4.0).all()
    assert cap["eu-frankfurt"].max() == pytest.approx(10.0)
    assert cap["eu-frankfurt"].iloc[-1] == pytest.approx(10.0)


def test_expanded_capacity_is_usable_when_on_line(write_scenario):
    """New capacity is used in the hour it is on line (a regression: it once sat idle for an
    hour because operators were capped by a stale copy of the capacities)."""
    model = run(load(write_scenario, EXPANSION.format(review=2, lag=3)))
    df = model.datacollector.get_agenttype_vars_dataframe(ComputeRegion).reset_index()
    fr = df[df.region == "eu-france"].set_index("Step")
    # demand (60 MW) far exceeds capacity: every MW on line is used
    np.testing.assert_allclose(fr.load_mw, fr.capacity_mw)


def rent_scenario(pricing: str) -> str:
    return f"""
[scenario]
name = "rent"
start = 2024-01-08T00:00:00
hours = 10

[regions]
include = ["eu-france", "eu-sweden"]
[regions.set.eu-france]
capacity_mw = 10.0
rent_usd_per_mwh = 5.0
[regions.set.eu-sweden]
capacity_mw = 10.0
rent_usd_per_mwh = 30.0

[market]
pricing = "{pricing}"
rent_target_utilisation = 0.8
rent_step_usd_per_mwh = 10.0
rent_floor_usd_per_mwh = 2.0

[[operators]]
id = "op"
footprint = ["eu-france"]
[[operators.classes]]
id = "b"
client = "eu-france"
demand_mw = 50.0
budget_ms = 1000.0
overhead_ms = 0.0
egress_gb_per_mwh = 0.0
state_gb_per_mw = 0.0
stateful = false
"""


def region_rent(model: MarketModel) -> pd.DataFrame:
    df = model.datacollector.get_agenttype_vars_dataframe(ComputeRegion).reset_index()
    return df.pivot(index="Step", columns="region", values="rent_usd_per_mwh")


def test_utilisation_target_rent_rises_when_busy_and_falls_to_floor_when_idle(write_scenario):
    model = run(load(write_scenario, rent_scenario("utilisation_target")))
    rent = region_rent(model)
    # eu-france is full (utilisation 1 > 0.8): +10 x 0.2 = +2 $/MWh per hour
    np.testing.assert_allclose(rent["eu-france"].to_numpy(), 5.0 + 2.0 * np.arange(1, 11))
    # eu-sweden is idle: -8 $/MWh per hour down to the 2 $/MWh floor, then stays there
    np.testing.assert_allclose(rent["eu-sweden"].to_numpy()[:4], [22.0, 14.0, 6.0, 2.0])
    assert (rent["eu-sweden"].to_numpy()[3:] == 2.0).all()


def test_fixed_rent_never_changes(write_scenario):
    model = run(load(write_scenario, rent_scenario("fixed")))
    rent = region_rent(model)
    assert (rent["eu-france"] == 5.0).all() and (rent["eu-sweden"] == 30.0).all()


def test_rent_rules_directly():
    market = Market(rent_target_utilisation=0.5, rent_step_usd_per_mwh=4.0,
                    rent_floor_usd_per_mwh=1.0)
    rule = RENT_RULES["utilisation_target"]
    assert rule(10.0, 1.0, market) == pytest.approx(12.0)
    assert rule(10.0, 0.5, market) == pytest.approx(10.0)
    assert rule(10.0, 0.0, market) == pytest.approx(8.0)
    assert rule(1.5, 0.0, market) == 1.0
    for u in (0.0, 0.3, 1.0):
        assert RENT_RULES["fixed"](7.0, u, market) == 7.0


# -- proportional rationing -----------------------------------------------------------------


def test_proportional_allocation_runs_and_rations(write_scenario):
    scn = load(write_scenario, market_text(allocation="proportional"), hours=12)
    model = MarketModel(scn)
    for _ in range(12):
        model.step()
        check_step_invariants(model)
        assert (model.regions.grant_ratio <= 1.0).all() and (model.regions.grant_ratio >= 0).all()
    assert (model.regions.grant_ratio < 1.0).any()  # some region was oversubscribed
    df = model.datacollector.get_model_vars_dataframe()
    np.testing.assert_allclose(df.demand_mwh, df.served_mwh + df.unserved_mwh, rtol=1e-9)


# -- herding --------------------------------------------------------------------------------

HERD_REGIONS = ("eu-france", "eu-frankfurt", "eu-netherlands", "eu-sweden", "eu-finland")
HERD_ZONES = ("FR", "DE-LU", "NL", "SE3", "FI")


def herd_text(seed: int, warmup: float) -> str:
    regions = "".join(f"[regions.set.{r}]\ncapacity_mw = 1000.0\n" for r in HERD_REGIONS)
    zones = "".join(f"[zones.set.{z}]\nload_mw = 300.0\nprice_usd_per_mwh = 60.0\n"
                    f"avg_carbon_g_per_kwh = 200.0\nmarginal_carbon_g_per_kwh = 400.0\n"
                    for z in HERD_ZONES)
    return f"""
[scenario]
name = "herd"
start = 2024-01-08T00:00:00
hours = 48
seed = {seed}

[regions]
include = {list(HERD_REGIONS)}
{regions}
[zones]
{zones}
[market]
pricing = "fixed"
grid_response = "calibrated"
allocation = "first_come"

[templates.batch]
budget_ms = 1000.0
overhead_ms = 0.0
egress_gb_per_mwh = 0.0
state_gb_per_mw = 0.0
stateful = false

[population]
operators = 10
total_demand_mw = 100.0
classes = [1, 1]
templates = {{ batch = 1.0 }}
clients = "uniform"
warmup_usd_per_mw = [{warmup}]
forecast = {{ perfect = 1.0 }}
"""


def herding_mw(model: MarketModel) -> float:
    """Max over zones of the mean absolute hour-to-hour change of data-centre grid load."""
    z = model.datacollector.get_agenttype_vars_dataframe(GridZone).reset_index()
    dc = z.pivot(index="Step", columns="zone", values="dc_load_mw")
    return float(dc.diff().abs().mean().max())


@pytest.mark.parametrize("seed", [1, 3, 11])
def test_friction_damps_herding(write_scenario, seed):
    """Five European regions on small grid zones (300 MW each, 3x the 100 MW of batch demand),
    equal annual price (60 $/MWh) and carbon (200 avg, 400 marginal), merit-order grids,
    perfect forecasts (which quote last hour's data-centre load), first come, 48 h.

    Zero friction: everyone piles into the cheapest zone, its price jumps, everyone leaves:
    herding (max over zones of the mean |hour-to-hour change| of DC load) is 101, 135 and
    83 MW for seeds 1, 3 and 11 (all ~100-135 MW of grid load moving each hour).
    Warm-up friction of 500 $/MW (holding 24 h, i.e. ~21 $/MW per hour of planning friction):
    0.0, 13.3 and 0.2 MW.
    """
    calm = run(load(write_scenario, herd_text(seed, 500.0), "calm.toml"))
    wild = run(load(write_scenario, herd_text(seed, 0.0), "wild.toml"))
    assert np.allclose(wild.operators.friction_usd_per_mw[wild.inst.valid], 0.0)
    h_wild, h_calm = herding_mw(wild), herding_mw(calm)
    assert h_wild > 50.0, h_wild  # at least half the DC demand swings each hour
    assert h_calm < 0.5 * h_wild, (h_calm, h_wild)
    assert h_calm < 25.0, h_calm
    moved = [float(m.datacollector.get_model_vars_dataframe().moved_mwh.sum())
             for m in (wild, calm)]
    assert moved[1] < moved[0]
