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
