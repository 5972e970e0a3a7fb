"""Operator strategies (abm.market.strategies): hand-solved decisions, the learning rule, checked
decisions, strategy mixes, and the compiled walk against the agent-by-agent walk."""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.config.population import assign_strategies
from abm.config.registry import STRATEGIES
from abm.config.scenario import load_scenario
from abm.core.flow import solve_flow
from abm.core.problem import PlacementProblem, tie_preference
from abm.errors import InputError
from abm.market.loop import run as run_loop
from abm.market.model import MarketModel
from abm.market.run import tables
from abm.market.strategies import (
    Adaptive,
    Decision,
    DecisionError,
    Greenest,
    OperatorView,
    Outcome,
    Static,
    Strategy,
    Threshold,
    check_decision,
)
from abm.sweeps import load_spec
from tests.conftest import ATYPICAL
from tests.test_market import TIGHT, market_text

VOLL = 1000.0


def view(**changes) -> OperatorView:
    """Two classes, three regions. Class 0 (4 MW) sits in region 0 and may run anywhere;
    class 1 (2 MW) sits in region 1 and may not run in region 2. Region 2 is cheapest and
    greenest, region 1 next."""
    fields = dict(
        operator_id="op", demand_mw=np.array([4.0, 2.0]),
        incumbent_mw=np.array([[4.0, 0.0, 0.0], [0.0, 2.0, 0.0]]),
        feasible=np.array([[True, True, True], [True, True, False]]),
        cost_usd_per_mwh=np.array([[50.0, 40.0, 30.0], [52.0, 41.0, 31.0]]),
        carbon_kg_per_mwh=np.array([400.0, 100.0, 20.0]),
        friction_usd_per_mw=np.full((2, 3), 120.0), holding_hours=24.0,
        capacity_mw=np.array([10.0, 10.0, 3.0]), voll_usd_per_mwh=VOLL,
        preference=np.zeros((2, 3)))
    fields.update(changes)
    return OperatorView(**fields, solver=lambda problem: Decision(*solve_flow(problem)))


def test_lp_moves_what_pays_back_over_the_holding_hours():
    """Class 0 saves 20 $/MWh in region 2 against 120/24 = 5 $/MW amortised friction: it moves
    3 MW there (all region 2 has) and the last MW to region 1 (saving 10 > 5). Class 1 saves
    nothing where it may go, so it stays."""
    x, unserved = STRATEGIES["lp"]().decide(view())
    np.testing.assert_allclose(x, [[0.0, 1.0, 3.0], [0.0, 2.0, 0.0]])
    np.testing.assert_allclose(unserved, 0.0)
    # with one holding hour the 120 $/MW friction outweighs any saving: nothing moves
    x, _ = STRATEGIES["lp"]().decide(view(holding_hours=1.0))
    np.testing.assert_allclose(x, view().incumbent_mw)


def test_static_stays_and_is_cut_pro_rata_to_capacity():
    """Demand grows to 6 MW for class 0 (incumbent 4 MW in region 0): it scales up in place;
    region 0 offers 3 MW only, so it is cut to 3 MW and 3 MW go unserved."""
    v = view(demand_mw=np.array([6.0, 2.0]), capacity_mw=np.array([3.0, 10.0, 3.0]))
    x, unserved = Static().decide(v)
    np.testing.assert_allclose(x, [[3.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    np.testing.assert_allclose(unserved, [3.0, 0.0])


def test_greenest_fills_the_greenest_feasible_region_first():
    """Class 0 takes region 2's 3 MW, then 1 MW of region 1's 2 MW; class 1 may not use
    region 2: it takes the 1 MW left in region 1 and region 0 for the rest."""
    x, unserved = Greenest().decide(view(capacity_mw=np.array([10.0, 2.0, 3.0])))
    np.testing.assert_allclose(x, [[0.0, 1.0, 3.0], [1.0, 1.0, 0.0]])
    np.testing.assert_allclose(unserved, 0.0)
    x, unserved = Greenest().decide(view(capacity_mw=np.array([0.5, 2.0, 3.0])))
    np.testing.assert_allclose(x, [[0.0, 1.0, 3.0], [0.5, 1.0, 0.0]])
    np.testing.assert_allclose(unserved, [0.0, 0.5])


def test_greenest_breaks_carbon_ties_by_the_contracts_tie_rule():
    """One class of 10 MW with origin region 2; regions 0-2 have equal carbon (50 kg/MWh),
    region 3 is greener but offers 1 MW; region 2 (the origin) offers 5 MW. It holds 3 MW in
    region 0. Region 3 takes 1 MW; among the tied regions it keeps its 3 MW in region 0
    (incumbent), then fills the origin (5 MW), then region 1 (10 ms, before region 0's
    30 ms) with the last 1 MW. The single-class fill is the lexicographic optimum (carbon,
    then tie cost): the flow engine on carbon as cost gives the same."""
    preference = tie_preference(np.array([[False, False, True, False]]),
                                np.array([[30.0, 10.0, 0.0, 5.0]]))
    v = view(demand_mw=np.array([10.0]), incumbent_mw=np.array([[3.0, 0.0, 0.0, 0.0]]),
             feasible=np.ones((1, 4), dtype=bool), cost_usd_per_mwh=np.zeros((1, 4)),
             carbon_kg_per_mwh=np.array([50.0, 50.0, 50.0, 10.0]),
             friction_usd_per_mw=np.zeros((1, 4)),
             capacity_mw=np.array([np.inf, np.inf, 5.0, 1.0]), preference=preference)
    x, unserved = Greenest().decide(v)
    np.testing.assert_allclose(x, [[3.0, 1.0, 5.0, 1.0]])
    np.testing.assert_allclose(unserved, 0.0)
    carbon_first = PlacementProblem.of(
        v.carbon_kg_per_mwh[None, :], v.feasible, v.demand_mw, voll_usd_per_mwh=VOLL,
        incumbent_mw=v.incumbent_mw, capacity_mw=v.capacity_mw, preference=preference)
    np.testing.assert_allclose(solve_flow(carbon_first)[0], x)
    # with nothing held, the origin first: 1 MW region 3, 5 MW origin, 4 MW region 1
    x, _ = Greenest().decide(replace(v, incumbent_mw=np.zeros((1, 4))))
    np.testing.assert_allclose(x, [[0.0, 4.0, 5.0, 1.0]])


def test_threshold_moves_only_for_a_large_enough_saving():
    """Staying costs 4 x 50 + 2 x 41 = 282 $; the LP costs 40 + 90 + 82 + 4 x 5 = 232 $: a
    saving of 50 $, 17.7% of staying."""
    v = view()
    assert v.problem().objective_usd(*Static().decide(v)) == pytest.approx(282.0)
    assert v.problem().objective_usd(*v.lp()) == pytest.approx(232.0)
    moves, stays = Threshold(), Threshold()
    moves.saving_share, stays.saving_share = 0.17, 0.18
    np.testing.assert_allclose(moves.decide(v).x_mw, v.lp().x_mw)
    np.testing.assert_allclose(stays.decide(v).x_mw, v.incumbent_mw)


@st.composite
def views(draw) -> OperatorView:
    """Random hours of one operator: up to 4 classes and 5 regions, any feasibility, costs
    and carbon with ties, capacities from none to ample, incumbents up to demand."""
    k, r = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    nums = functools.partial(hnp.arrays, float, elements=st.integers(0, 20).map(float))
    demand = nums(k)
    share = hnp.arrays(float, (k, r), elements=st.integers(0, 4).map(float))
    held = draw(share)
    held = np.divide(held, held.sum(axis=1, keepdims=True), out=np.zeros_like(held),
                     where=held.sum(axis=1, keepdims=True) > 0)
    d = draw(demand)
    return view(demand_mw=d, incumbent_mw=held * d[:, None] * draw(st.sampled_from([0.5, 1.0])),
                feasible=draw(hnp.arrays(bool, (k, r))), cost_usd_per_mwh=draw(nums((k, r))),
                carbon_kg_per_mwh=draw(nums(r)), friction_usd_per_mw=draw(nums((k, r))),
                capacity_mw=draw(nums(r)), preference=np.zeros((k, r)))


@settings(max_examples=60, deadline=None)
@given(views(), st.sampled_from(STRATEGIES.names()))
def test_every_strategy_decides_a_placement_the_market_can_commit(v, name):
    """Whatever the hour, a shipped strategy's decision is feasible, within the capacity and
    places or leaves unserved exactly the demand (``check_decision`` raises otherwise)."""
    check_decision(STRATEGIES[name]().decide(v), v, name)


def outcome(paid: float, cost: float) -> Outcome:
    """An hour in which the operator served 1 MW in region 0 (cost per MWh ``cost``)."""
    return Outcome(np.array([[1.0, 0.0]]), np.full((1, 2), cost), paid)


@pytest.mark.parametrize(("paid", "cost", "factor"), [(12.0, 10.0, 1 / 1.5),
                                                      (8.0, 10.0, 1.5), (10.0, 10.0, 1.0)])
def test_adaptive_moves_its_horizon_against_the_regret(paid, cost, factor):
    """After a window where it paid more than staying put would have cost, H shrinks by
    1 + step; less, H grows; the same, H stays."""
    s = Adaptive()
    s.decide(view())  # H starts at the view's holding hours
    s.learn(outcome(0.0, cost))  # the window's anchor hour
    for _ in range(s.window_hours):
        assert s.holding_hours == 24.0
        s.learn(outcome(paid, cost))
    assert s.holding_hours == pytest.approx(24.0 * factor)


def test_adaptive_operators_learn_in_a_market(write_scenario):
    """After a 24 h window, adaptive operators have moved their horizon off the policy's 24 h
    (checkpoints keep what they learned: tests/test_checkpoint.py)."""
    model = run(load_scenario(write_scenario(mixed_text("{ adaptive = 1.0 }"))), 30)
    ops = [o for o in model.operators.by_index if o.strategy_name == "adaptive"]
    assert len(ops) == 6
    assert any(o.strategy.holding_hours != 24.0 for o in ops)
    assert all(o.strategy.min_hours <= o.strategy.holding_hours <= o.strategy.max_hours
               for o in ops)


def test_adaptive_horizon_stays_within_bounds():
    s = Adaptive()
    s.holding_hours = 1.2
    for _ in range(3 * (s.window_hours + 1)):
        s.learn(outcome(20.0, 10.0))
    assert s.holding_hours == s.min_hours


class Overfill(Strategy):
    """Puts everything in region 2, whatever it may hold."""

    def decide(self, view: OperatorView) -> Decision:
        x = np.zeros(view.feasible.shape)
        x[:, 2] = view.demand_mw
        return Decision(x, np.zeros_like(view.demand_mw))


def test_a_bad_decision_is_an_error_naming_strategy_operator_and_fault():
    v = view()
    with pytest.raises(DecisionError, match=r"'overfill' \(operator op\).*may not run.*"
                                              r"more than the capacity"):
        check_decision(Overfill().decide(v), v, "overfill")
    with pytest.raises(DecisionError, match="expected x_mw"):
        check_decision(Decision(np.zeros(3), np.zeros(2)), v, "overfill")


def test_the_view_is_read_only():
    scn = load_scenario(None, overrides={"population.operators": 4})
    model = MarketModel(scn, hours=2)
    model.step()
    v = model.operators.by_index[0].view(model.regions.capacity_mw)
    with pytest.raises(ValueError, match="read-only"):
        v.incumbent_mw[0, 0] = 1.0
    assert model.operators.x_mw.flags.writeable and model.operators.incumbent_mw.flags.writeable


@pytest.mark.parametrize("n", [1, 7, 50])
def test_strategies_are_assigned_in_exact_shares(n):
    shares = (("lp", 0.4), ("greenest", 0.3), ("static", 0.3))
    got = assign_strategies(np.random.default_rng(1), shares, n)
    counts = pd.Series(got).value_counts()
    for name, share in shares:
        assert abs(counts.get(name, 0) - share * n) < 1
    assert len(got) == n


def mixed_text(mix: str, strategy: str = "lp") -> str:
    text = market_text(caps=TIGHT).replace("[population]", f"[population]\nstrategies = {mix}")
    return text.replace('id = "beta"', f'id = "beta"\nstrategy = "{strategy}"')


@pytest.mark.parametrize(("mix", "strategy", "match"), [
    ("{ greenest = 0.7, static = 0.4 }", "lp", "population.strategies: shares must add up"),
    ("{ lp = 0.5, static = 0.3 }", "lp", "population.strategies: shares must add up"),
    ("{ gren = 0.5 }", "lp", r"population.strategies.gren: unknown strategy; allowed: lp, "),
    ("{ greenest = 0.5 }", "myopic", r"operators\[1\].strategy: .*'myopic'.*greenest"),
])
def test_bad_strategy_settings_name_the_field(write_scenario, mix, strategy, match):
    with pytest.raises(InputError, match=match):
        load_scenario(write_scenario(mixed_text(mix, strategy)))


def test_strategy_parameters_are_set_by_the_scenario(write_scenario):
    text = mixed_text("{ threshold = 0.5, adaptive = 0.5 }") + """
[strategies.threshold]
saving_share = 0.25
[strategies.adaptive]
window_hours = 12
"""
    model = MarketModel(load_scenario(write_scenario(text)), hours=1)
    got = {o.strategy_name: o.strategy for o in model.operators.by_index}
    assert got["threshold"].saving_share == 0.25 and Threshold().saving_share == 0.1
    assert got["adaptive"].window_hours == 12 and got["adaptive"].step == 0.5


@pytest.mark.parametrize(("table", "match"), [
    ("[strategies.threshold]\nshare = 0.2", r"strategies.threshold.share: unknown parameter of "
                                            r"threshold; allowed: saving_share"),
    ("[strategies.static]\nx = 1.0", r"strategies.static.x: .*allowed: \(none\)"),
    ("[strategies.threshold]\nsaving_share = 0.0", r"saving_share: expected a number > 0"),
    ("[strategies.greeny]\nx = 1.0", r"strategies.greeny: unknown strategy"),
])
def test_bad_strategy_parameters_name_the_field(write_scenario, table, match):
    with pytest.raises(InputError, match=match):
        load_scenario(write_scenario(mixed_text("{ threshold = 0.5 }") + "\n" + table + "\n"))


def run(scn, hours: int, compiled: bool = True) -> MarketModel:
    model = MarketModel(scn, hours=hours)
    model.operators.compiled_walk = compiled
    for _ in range(hours):
        model.step()
    return model


def test_all_lp_compiled_walk_equals_the_agent_by_agent_walk(write_scenario):
    """The fast path is an implementation of the agents' behaviour: an all-lp market gives
    the same placements, hour by hour, whether the compiled walk or each agent's strategy
    places (binding capacities, mixed forecasts and frictions)."""
    scn = load_scenario(write_scenario(market_text(caps=TIGHT)))
    fast, slow = run(scn, 12), run(scn, 12, compiled=False)
    assert fast.operators.lp.all()
    np.testing.assert_array_equal(fast.operators.x_mw, slow.operators.x_mw)
    np.testing.assert_array_equal(fast.operators.unserved_mw, slow.operators.unserved_mw)
    pd.testing.assert_frame_equal(fast.datacollector.get_model_vars_dataframe(),
                                  slow.datacollector.get_model_vars_dataframe())


def test_compiled_walk_plans_as_the_agents_do_with_deferrable_work(write_scenario):
    """The compiled walk of plans (``abm.core.horizon_walk``: the closed form, the flow
    where it overfills a region) is an implementation of the ``lp`` agents' plan over the
    hours ahead: binding capacities, half the batch and 30% of the conversational work
    deferrable by 3 and 2 hours (one operator has neither), 12 hours; the same placements,
    work run, backlog and outcomes as each agent's strategy planning by the flow engine (to
    rounding), and fewer flows solved."""
    work = {"templates.batch.deferrable_share": 0.5, "templates.batch.deadline_hours": 3,
            "templates.conversational.deferrable_share": 0.3,
            "templates.conversational.deadline_hours": 2}
    scn = load_scenario(write_scenario(market_text(caps=TIGHT)), overrides=work)
    fast, slow = run(scn, 12), run(scn, 12, compiled=False)
    # one walk places operators with work (plans) and one without (this hour only)
    assert fast.operators.lp.all() and 0 < fast.operators.defers.sum() < len(fast.operators)
    assert fast.operators.lp_solves < slow.operators.lp_solves
    for name in ("x_mw", "unserved_mw", "backlog_mwh", "work_run_mwh"):
        np.testing.assert_allclose(getattr(fast.operators, name),
                                   getattr(slow.operators, name), rtol=1e-9, atol=1e-9,
                                   err_msg=name)
    pd.testing.assert_frame_equal(fast.datacollector.get_model_vars_dataframe(),
                                  slow.datacollector.get_model_vars_dataframe(),
                                  check_exact=False, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("allocation", ["first_come", "proportional"])
def test_a_mixed_market_keeps_its_invariants_and_each_strategy_its_rule(write_scenario,
                                                                        allocation):
    mix = "{ greenest = 0.25, static = 0.25, threshold = 0.25, adaptive = 0.25 }"
    text = mixed_text(mix, "static").replace('allocation = "first_come"',
                                             f'allocation = "{allocation}"')
    scn = load_scenario(write_scenario(text))
    model = MarketModel(scn, hours=8)
    ops = model.operators.by_index
    names = [o.strategy_name for o in ops]
    assert names[1] == "static" and names[0] == "lp"
    # 6 drawn at 1.5 each: the largest remainders tie, the first listed get the extra one
    assert sorted(names[2:]) == ["adaptive", "greenest", "greenest", "static", "static",
                                 "threshold"]
    for _ in range(8):
        model.step()
        x = model.operators.x_mw
        np.testing.assert_allclose(x.sum(axis=2) + model.operators.unserved_mw,
                                   model.operators.demand_mw, atol=1e-6)
        assert (x.sum(axis=(0, 1)) <= model.regions.capacity_mw + 1e-6).all()
        assert (x[~model.operators.feasible] <= 1e-9).all()
        for o in ops:  # static operators serve only where they served last hour
            if o.strategy_name == "static":
                assert (o.x_mw[model.operators.incumbent_mw[o.index] <= 0] <= 1e-9).all()
    assert model.outcome["herding_mwh"] >= 0.0


def test_the_operators_table_names_each_operators_strategy(write_scenario):
    mix = "{ greenest = 0.25, static = 0.25, threshold = 0.25, adaptive = 0.25 }"
    scn = load_scenario(write_scenario(mixed_text(mix, "static")))
    model = MarketModel(scn.with_market(operator_detail=True), hours=2)
    run_loop(model)
    ops = tables(model)["operators"]
    assert list(ops.columns[:4]) == ["hour", "time_utc", "operator", "strategy"]
    expected = {o.operator_id: o.strategy_name for o in model.operators.by_index}
    assert len(set(expected.values())) == 5 and len(ops) == 2 * len(expected)
    assert dict(zip(ops.operator, ops.strategy, strict=True)) == expected


def test_the_registry_lists_the_shipped_strategies():
    assert STRATEGIES.names() == ("lp", "static", "greenest", "threshold", "adaptive")


def test_docs_list_every_registered_strategy():
    text = (Path(__file__).resolve().parents[1] / "docs" / "market.md").read_text()
    section = text.split("## Strategies")[1].split("\n## ")[0]
    table = re.findall(r"^\| `(\w+)`(?: \(default\))? \| ", section, re.M)
    assert tuple(table) == STRATEGIES.names()


def test_mixed_strategies_scenario_and_adoption_sweep_load():
    root = Path(__file__).resolve().parents[1] / "experiments"
    scenario = load_scenario(root / "scenarios" / "mixed_strategies.toml")
    model = MarketModel(scenario, hours=1)
    counts = pd.Series([o.strategy_name for o in model.operators.by_index]).value_counts()
    assert counts.to_dict() == {"lp": 20, "greenest": 15, "static": 15}  # of all 50 operators
    # the listed operators it restates are the default's but for their strategy
    default = {op.id: op for op in load_scenario().operators}
    for op in scenario.operators:
        assert replace(op, strategy="lp") == default[op.id]
    spec = load_spec(root / "sweeps" / "adoption.toml")
    assert {"herding_mwh", "dc_price_usd_per_mwh"} <= set(spec.outcomes)


@ATYPICAL  # 100 GW regions: capacity never binds
def test_herding_counts_zone_swings_not_demand_cycles(write_scenario):
    """All static with ample capacity: demand follows its daily cycle, nothing moves, herding
    is zero; all lp: herding is at most the MW moved (x the largest PUE), and positive."""
    static = mixed_text("{ static = 1.0 }", "static").replace(
        'id = "alpha"', 'id = "alpha"\nstrategy = "static"')
    ample = {f"regions.set.{r}.capacity_mw": 1e5 for r in
             ("eu-france", "eu-sweden", "eu-frankfurt", "eu-netherlands", "us-east-va")}
    model = run(load_scenario(write_scenario(static), overrides=ample), 6)
    df = model.datacollector.get_model_vars_dataframe()
    assert df.demand_mwh.std() > 0 and (df.herding_mwh == 0).all() and (df.moved_mwh == 0).all()
    model = run(load_scenario(write_scenario(market_text(caps=TIGHT))), 6)
    df = model.datacollector.get_model_vars_dataframe()
    assert df.herding_mwh.sum() > 0
    assert (df.herding_mwh <= df.moved_mwh * model.inst.pue.max() + 1e-9).all()
