"""Deferrable work in the strategies (abm.market.strategies): each strategy's time-aware
behaviour on a hand-made view with hours ahead (docs/market.md, "Deferrable work")."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abm.core.flow import solve_flow
from abm.core.horizon_flow import solve_horizon_flow
from abm.market.strategies import (
    LP,
    Ahead,
    Decision,
    DecisionError,
    Greenest,
    OperatorView,
    Static,
    Threshold,
    check_decision,
)
from tests.conftest import BATCH_TEMPLATE


def view(backlog=(0.0, 0.0, 3.0), carbon_later=50.0, cost_later=20.0) -> OperatorView:
    """One class, two regions, three hours. 2 MW due each hour, held in region 0; 3 MWh of
    work waiting by default, due by the end of hour 2. Region 0 costs 50 $/MWh now and in hour
    2, ``cost_later`` in hour 1; region 1 costs 60 throughout. Carbon: region 0 100 kg/MWh now
    and in hour 2, ``carbon_later`` in hour 1; region 1 300."""
    cost = np.array([[[50.0, 60.0]], [[cost_later, 60.0]], [[50.0, 60.0]]])
    carbon = np.array([[100.0, 300.0], [carbon_later, 300.0], [100.0, 300.0]])
    ahead = Ahead(cost_usd_per_mwh=cost, carbon_kg_per_mwh=carbon, due_mw=np.full((3, 1), 2.0),
                  backlog_mwh=np.array([backlog]), planner=solve_horizon_flow)
    return OperatorView(
        operator_id="op", demand_mw=np.array([2.0]), incumbent_mw=np.array([[2.0, 0.0]]),
        feasible=np.ones((1, 2), bool), cost_usd_per_mwh=cost[0], carbon_kg_per_mwh=carbon[0],
        friction_usd_per_mw=np.zeros((1, 2)), holding_hours=24.0,
        capacity_mw=np.array([10.0, 10.0]), voll_usd_per_mwh=1000.0,
        preference=np.array([[0.0, 0.5]]),
        solver=lambda problem: Decision(*solve_flow(problem)), ahead=ahead)


def decide(strategy, v: OperatorView) -> Decision:
    return check_decision(strategy.decide(v), v, type(strategy).__name__)


def work(d: Decision, v: OperatorView) -> float:
    """The waiting work a decision runs now: placed + unserved - due (class 0)."""
    return float(d.x_mw.sum() + d.unserved_mw.sum() - v.demand_mw.sum())


def test_lp_waits_for_the_cheaper_hour_before_the_deadline() -> None:
    """Hour 1 costs 20 in region 0: the plan runs the 3 MWh then, and now only the due 2 MW."""
    d = decide(LP(), view())
    np.testing.assert_allclose(d.x_mw, [[2.0, 0.0]])
    d = decide(LP(), view(cost_later=50.0))  # no cheaper hour: it runs now (earliest first)
    np.testing.assert_allclose(d.x_mw, [[5.0, 0.0]])


def test_work_due_now_runs_now_or_is_missed() -> None:
    """Work in slot 0 cannot wait: every strategy runs it this hour (room permitting)."""
    for strategy in (LP(), Static(), Greenest(), Threshold()):
        v = view(backlog=(1.0, 0.0, 0.0))
        assert work(decide(strategy, v), v) == pytest.approx(1.0), type(strategy).__name__


def test_static_never_waits() -> None:
    d = decide(Static(), view())
    np.testing.assert_allclose(d.x_mw, [[5.0, 0.0]])


def test_greenest_waits_for_a_greener_hour_only() -> None:
    d = decide(Greenest(), view())  # hour 1 is greener in region 0: the work waits
    np.testing.assert_allclose(d.x_mw, [[2.0, 0.0]])
    d = decide(Greenest(), view(carbon_later=100.0))  # as green: it runs now
    np.testing.assert_allclose(d.x_mw, [[5.0, 0.0]])


def test_threshold_plans_when_it_re_optimises_and_runs_all_now_when_it_stays() -> None:
    """Staying (region 0) is this hour's optimum, so the threshold operator stays and runs
    all its work now, unlike the LP operator."""
    d = decide(Threshold(), view())
    np.testing.assert_allclose(d.x_mw, [[5.0, 0.0]])


def test_running_work_that_does_not_wait_is_refused() -> None:
    v = view()
    with pytest.raises(DecisionError, match="exceeds due load \\+ the work that waits"):
        check_decision(Decision(np.array([[6.0, 0.0]]), np.zeros(1)), v, "bad")
    with pytest.raises(DecisionError, match="falls short of demand"):
        check_decision(Decision(np.array([[1.0, 0.0]]), np.zeros(1)), v, "bad")


# -- in the market ---------------------------------------------------------------------------

DEFERRABLE = {"templates.batch.deferrable_share": 0.5, "templates.batch.deadline_hours": 3,
              "templates.conversational.deferrable_share": 0.3,
              "templates.conversational.deadline_hours": 2}


def one_region(name: str, hours: int, deadline: int, capacity_mw: float | None = None,
               strategy: str = "lp") -> str:
    """One operator with one 10 MW batch class half of which may wait ``deadline`` hours, in
    eu-frankfurt (of ``capacity_mw``, if given)."""
    room = f"\n[regions.set.eu-frankfurt]\ncapacity_mw = {capacity_mw}\n" if capacity_mw else ""
    return (f'[scenario]\nname = "{name}"\nstart = 2024-01-08T00:00:00\nhours = {hours}\n\n'
            f'[regions]\ninclude = ["eu-frankfurt"]\n{room}{BATCH_TEMPLATE}'
            f"deferrable_share = 0.5\ndeadline_hours = {deadline}\n\n"
            f'[[operators]]\nid = "op"\nstrategy = "{strategy}"\n\n[[operators.classes]]\n'
            'id = "b"\ntemplate = "batch"\nclient = "eu-frankfurt"\ndemand_mw = 10.0\n')


def assert_conserved(run) -> None:
    """Every hour: demand + work waiting before = served + unserved (missed included) + work
    waiting after; and the backlog's own balance."""
    m = run.model
    before = np.concatenate([[0.0], m.backlog_mwh.to_numpy()[:-1]])
    gap = m.demand_mwh + before - m.served_mwh - m.unserved_mwh - m.backlog_mwh
    scale = np.maximum(1.0, m.demand_mwh + before)
    assert (np.abs(gap) <= 1e-9 * scale).all(), gap[np.abs(gap) > 1e-9 * scale]
    b = run.backlog
    gap = before + b.work_arrived_mwh - b.work_run_mwh - b.missed_mwh - b.backlog_mwh
    assert (np.abs(gap) <= 1e-9 * scale).all()
    assert (m.unserved_mwh >= b.missed_mwh - 1e-12).all()


@pytest.mark.parametrize(("solver", "allocation"), [
    ("flow", "first_come"), ("highs", "first_come"), ("flow", "proportional")])
def test_no_mwh_appears_or_disappears_in_any_hour(solver: str, allocation: str) -> None:
    """The default scenario with deferrable batch and conversational work, 8 hours, both
    engines and both allocation rules."""
    from abm.api import simulate

    run = simulate("default", hours=8, overrides={
        **DEFERRABLE, "market.solver": solver, "market.allocation": allocation})
    assert_conserved(run)
    assert run.backlog.work_arrived_mwh.sum() > 0
    s = run.summary
    assert s["work_arrived_mwh"] == pytest.approx(
        s["work_run_mwh"] + s["missed_mwh"] + s["backlog_end_mwh"], rel=1e-9)


def test_tight_capacity_misses_deadlines_and_reports_them_at_voll(write_scenario) -> None:
    """One region of 6 MW, 5 MW due each hour and 5 MWh of work an hour due within an hour:
    1 MW of room an hour, so 1 MWh of work runs an hour, nearest deadline first; what waits
    past its deadline is missed (3 MWh in hour 1, then 4 an hour), the last hour's work waits
    past the run's end (5 MWh), and each missed MWh counts as unserved at VoLL."""
    from abm.api import simulate

    text = one_region("tight", hours=4, deadline=1, capacity_mw=6.0)
    run = simulate(write_scenario(text))
    b = run.backlog
    np.testing.assert_allclose(b.work_arrived_mwh, 5.0)
    np.testing.assert_allclose(b.work_run_mwh, 1.0)
    np.testing.assert_allclose(b.missed_mwh, [0.0, 3.0, 4.0, 4.0])
    np.testing.assert_allclose(b.backlog_mwh, [4.0, 5.0, 5.0, 5.0])
    assert_conserved(run)
    np.testing.assert_allclose(run.model.unserved_mwh, b.missed_mwh)
    s = run.summary
    assert s["unserved_mwh"] == pytest.approx(11.0)
    # per MWh of the demand settled: the 5 MWh still waiting at the end are left out
    assert s["cost_usd_per_mwh"] == pytest.approx(
        (s["cost_usd"] + s["voll_usd_per_mwh"] * 11.0) / (40.0 - 5.0))


def test_a_registered_strategy_can_use_the_backlog(write_scenario) -> None:
    """A strategy registered here runs waiting work only when it falls due (slot 0): with
    room to spare, work arrives, waits out its 2-hour deadline and runs then, none missed;
    the last two hours' work still waits when the run ends."""
    from abm.api import simulate
    from abm.config.registry import STRATEGIES
    from abm.market.strategies import Strategy, stay

    class LastMinute(Strategy):
        def decide(self, view: OperatorView) -> Decision:
            if view.ahead is None:
                return stay(view)
            due_now = np.zeros_like(view.ahead.backlog_mwh)
            due_now[:, 0] = view.ahead.backlog_mwh[:, 0]
            return view.as_work(stay(view.now(due_now)))

    STRATEGIES.register("last_minute", "runs waiting work only when it falls due", LastMinute)
    try:
        text = one_region("late", hours=5, deadline=2, strategy="last_minute")
        run = simulate(write_scenario(text))
    finally:
        STRATEGIES.unregister("last_minute")
    b = run.backlog
    np.testing.assert_allclose(b.work_run_mwh, [0.0, 0.0, 5.0, 5.0, 5.0])
    np.testing.assert_allclose(b.missed_mwh, 0.0)
    np.testing.assert_allclose(b.backlog_mwh, [5.0, 10.0, 10.0, 10.0, 10.0])
    np.testing.assert_allclose(run.model.served_mwh, [5.0, 5.0, 10.0, 10.0, 10.0])
    assert_conserved(run)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(0.05, 1.0), st.integers(1, 6), st.sampled_from(["flow", "highs"]),
       st.floats(2.0, 30.0))
def test_conservation_holds_whatever_the_share_deadline_engine_and_room(
        share: float, deadline: int, solver: str, capacity_mw: float) -> None:
    """A property: the small scenario's batch class with any deferrable share and deadline,
    either engine, and a region whose capacity may bind; no MWh appears or disappears."""
    import tempfile
    from pathlib import Path

    from abm.api import simulate
    from tests.conftest import SMALL

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "small.toml"
        path.write_text(SMALL.replace("hours = 3", "hours = 6"))
        run = simulate(path, overrides={
            "templates.batch.deferrable_share": share,
            "templates.batch.deadline_hours": deadline, "market.solver": solver,
            "regions.set.eu-frankfurt.capacity_mw": capacity_mw})
    assert_conserved(run)


def test_a_run_folder_keeps_the_backlog(write_scenario, tmp_path) -> None:
    """``abm run`` writes the backlog columns and the summary's deferral; ``abm.read_run``
    reads them back as the in-memory run has them."""
    import abm
    from abm.cli import main

    path = write_scenario(one_region("folder", hours=4, deadline=2, capacity_mw=8.0))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet",
                 "--checkpoint-hours", "2"]) == 0
    stored, memory = abm.read_run(tmp_path / "out"), abm.simulate(path)
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(stored.backlog, memory.backlog)
    deferral = ("work_arrived_mwh", "work_run_mwh", "missed_mwh", "backlog_end_mwh")
    assert [stored.summary[k] for k in deferral] == [memory.summary[k] for k in deferral]
    with pytest.raises(KeyError, match="has no deferrable work"):
        _ = abm.simulate(write_scenario(one_region("none", hours=2, deadline=0),
                                        "none.toml")).backlog


# -- migration friction with deferrable work (docs/model.md, "Migration friction") ------------

def two_regions(name: str, strategy: str, hours: int = 5, extra: str = "") -> str:
    """One operator (warm-up 10 $/MW, no other friction: phi = 10 $/MW) with one 10 MW batch
    class at eu-frankfurt, half of which may wait 2 hours; eu-france may serve it too."""
    return (f'[scenario]\nname = "{name}"\nstart = 2024-01-08T00:00:00\nhours = {hours}\n\n'
            f'[regions]\ninclude = ["eu-frankfurt", "eu-france"]\n{extra}{BATCH_TEMPLATE}'
            "deferrable_share = 0.5\ndeadline_hours = 2\n\n"
            f'[[operators]]\nid = "op"\nstrategy = "{strategy}"\nwarmup_usd_per_mw = 10.0\n'
            'migration_fee_usd_per_mw = 0.0\n\n[[operators.classes]]\n'
            'id = "b"\ntemplate = "batch"\nclient = "eu-frankfurt"\ndemand_mw = 10.0\n')


class LastMinute:
    """Runs waiting work only when it falls due (slot 0), where the class runs (``stay``), or
    with ``elsewhere`` in the region the class did not run in last hour (its due load stays)."""

    def __init__(self, elsewhere: bool) -> None:
        self.elsewhere = elsewhere

    def __call__(self, view: OperatorView) -> Decision:
        from abm.market.strategies import stay

        due_now = np.zeros_like(view.ahead.backlog_mwh)
        due_now[:, 0] = view.ahead.backlog_mwh[:, 0]
        if not self.elsewhere:
            return view.as_work(stay(view.now(due_now)))
        x = np.zeros(view.feasible.shape)
        x[:, 0] = view.demand_mw  # eu-frankfurt is region 0 of the two
        x[:, 1] = due_now.sum(axis=1)
        return Decision(x, np.zeros_like(view.demand_mw))


def friction_by_hour(write_scenario, elsewhere: bool) -> np.ndarray:
    from abm.api import simulate
    from abm.config.registry import STRATEGIES
    from abm.market.strategies import Strategy

    decide_ = LastMinute(elsewhere)

    class Late(Strategy):
        def decide(self, view: OperatorView) -> Decision:
            return decide_(view)

    STRATEGIES.register("late_test", "runs waiting work when it falls due", Late)
    try:
        run = simulate(write_scenario(two_regions("late", "late_test")))
    finally:
        STRATEGIES.unregister("late_test")
    assert run.summary["missed_mwh"] == 0.0
    assert run.market.inst.region_ids[0] == "eu-frankfurt"
    np.testing.assert_allclose(run.model.served_mwh, [5.0, 5.0, 10.0, 10.0, 10.0])
    return run.model.cost_migration_usd.to_numpy()


def test_work_run_later_where_its_class_runs_pays_no_friction(write_scenario) -> None:
    """5 MW due an hour and 5 MWh of work that waits 2 hours, then runs in eu-frankfurt where
    the class runs: the load there goes 5, 5, 10, 10, 10 MW, and no hour pays friction (work
    run later in place is not a move; charging the 5 MW more in hour 2 against last hour's
    5 MW would bill 50 $ an hour from hour 2)."""
    np.testing.assert_array_equal(friction_by_hour(write_scenario, elsewhere=False), 0.0)


def test_work_moved_to_another_region_pays_its_friction(write_scenario) -> None:
    """The same work run in eu-france instead when it falls due: hour 2 moves 5 MW into
    eu-france, 5 x 10 $/MW = 50 $; hours 3 and 4 keep 5 MW there (held since hour 2), free."""
    np.testing.assert_allclose(friction_by_hour(write_scenario, elsewhere=True),
                               [0.0, 0.0, 50.0, 0.0, 0.0])


def test_the_plans_hour_is_what_the_market_settles(write_scenario) -> None:
    """An ``lp`` operator with work, perfect forecasts on an exogenous grid (the cleared
    signals are the forecast) and friction not amortised (holding_hours = 1): every hour, the
    plan's objective for hour 0 (cost at the forecast, friction against its incumbent, VoLL
    for what is lost) is the hour's settled cost ($, energy, carbon, rent, network, friction)
    to rounding, with a region of 12 MW so that work queues and the placement changes."""
    from abm.api import simulate
    from abm.config.registry import STRATEGIES
    from abm.market.strategies import LP

    planned: list[float] = []

    class Recording(LP):
        def decide(self, view: OperatorView) -> Decision:
            plan = view.ahead.planner(view.horizon_problem())
            planned.append(float(view.horizon_problem().hourly_objective_usd(plan)[0]))
            return Decision(plan.x_mw[0], plan.unserved_mw[0])

    STRATEGIES.register("recording_test", "lp, recording its plans", Recording)
    room = "\n[regions.set.eu-frankfurt]\ncapacity_mw = 12.0\n"
    text = two_regions("plan", "recording_test", hours=12, extra=room)
    text += "\n[policy]\nholding_hours = 1.0\n\n[market]\ngrid_response = \"exogenous\"\n"
    try:
        run = simulate(write_scenario(text))
    finally:
        STRATEGIES.unregister("recording_test")
    m = run.model
    settled = (m.cost_usd + run.summary["voll_usd_per_mwh"] * m.unserved_mwh).to_numpy()
    np.testing.assert_allclose(planned, settled, rtol=1e-12, atol=1e-9)
    assert m.cost_migration_usd.sum() > 0  # the case moves: the friction term is exercised
