"""The dashboard's controller (no browser): what a control does, what a step does, what the
numbers are; the figures it feeds; the ``abm dashboard`` command's checks."""

from __future__ import annotations

import importlib.util
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abm.cli import main
from abm.config.registry import STRATEGIES
from abm.config.scenario import DEFAULT_SCENARIO, load_scenario
from abm.core.costs import friction
from abm.core.instance import compile_scenario
from abm.dashboard import plots, state
from abm.dashboard.state import (
    Controls,
    Dashboard,
    apply_controls,
    controls_for,
    residency_choices,
    scenario_choices,
    strategy_choices,
    totals,
)
from abm.dashboard.stored import StoredRun
from tests.conftest import SMALL

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base():
    return load_scenario()


@pytest.fixture(scope="module")
def defaults() -> Controls:
    return controls_for(DEFAULT_SCENARIO)


def test_controls_start_at_the_scenario_values(defaults):
    assert dict(defaults.budgets_ms) == {"interactive": 40.0, "conversational": 150.0,
                                         "batch": 1000.0}
    assert defaults.carbon_price_usd_per_t == 0.0
    assert defaults.residency == ("strict_eu", "sovereign_cn")
    assert defaults.friction_scale == 1.0 and defaults.forecast == "scenario"


def test_unchanged_controls_give_the_same_placement_problem(base, defaults):
    a, b = compile_scenario(base), compile_scenario(apply_controls(base, defaults))
    for name in ("budget_ms", "demand_mw", "state_gb_per_mw", "warmup_usd_per_mw", "forecast"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_policy_controls_set_the_policy(base, defaults):
    scn = apply_controls(base, Controls(**{**defaults.__dict__, "carbon_price_usd_per_t": 120.0,
                                           "residency": ("none",)}))
    assert scn.policy.carbon_price_usd_per_t == 120.0
    assert scn.policy.residency == ("none",)
    assert scn.policy.placement_signal == base.policy.placement_signal


def test_a_tier_budget_applies_to_every_class_of_that_tier(base, defaults):
    budgets = (("interactive", 80.0), ("conversational", 150.0), ("batch", 1000.0))
    inst = compile_scenario(apply_controls(base, Controls(**{**defaults.__dict__,
                                                           "budgets_ms": budgets})))
    before = compile_scenario(base)
    interactive = inst.kind == "interactive"
    assert interactive.sum() > 5  # listed and drawn classes
    assert np.all(inst.budget_ms[interactive] == 80.0)
    np.testing.assert_array_equal(inst.budget_ms[~interactive], before.budget_ms[~interactive])


def test_friction_scale_multiplies_every_friction_and_keeps_the_population(base, defaults):
    before = compile_scenario(base)
    for scale in (0.0, 2.5):
        inst = compile_scenario(apply_controls(base, Controls(**{**defaults.__dict__,
                                                               "friction_scale": scale})))
        assert inst.operator_ids == before.operator_ids
        np.testing.assert_array_equal(inst.demand_mw, before.demand_mw)
        np.testing.assert_allclose(friction(inst), scale * friction(before))


def test_forecast_mode_applies_to_every_operator(base, defaults):
    before = compile_scenario(base)
    inst = compile_scenario(apply_controls(base, Controls(**{**defaults.__dict__,
                                                           "forecast": "persistence"})))
    assert set(before.forecast) > {"persistence"}
    assert set(inst.forecast) == {"persistence"}
    np.testing.assert_array_equal(inst.demand_mw, before.demand_mw)


def test_strategy_applies_to_every_operator_and_the_menu_reads_the_registry(base, defaults):
    inst = compile_scenario(apply_controls(base, Controls(**{**defaults.__dict__,
                                                           "strategy": "greenest"})))
    assert set(inst.strategy) == {"greenest"}
    np.testing.assert_array_equal(inst.demand_mw, compile_scenario(base).demand_mw)
    assert strategy_choices() == ("scenario", *STRATEGIES.names())


def test_choices_offer_the_shipped_scenarios_and_residency_regimes(write_scenario):
    path = write_scenario(SMALL)
    choices = scenario_choices(path)
    assert next(iter(choices.values())) == str(path)
    assert str(DEFAULT_SCENARIO) in choices.values()
    regimes = residency_choices()
    assert regimes[0] == ("none",)
    assert ("strict_eu", "sovereign_cn") in regimes
    assert residency_choices(("custom",))[-1] == ("custom",)


def test_steps_run_the_market_and_the_numbers_follow():
    d = Dashboard()
    assert d.hour == 0 and d.totals()["cost_usd"] == 0.0 and d.previous_totals() is None
    assert d.step(3) == 3
    t = d.totals()
    assert d.hour == 3
    assert t["demand_mwh"] > 0 and t["cost_usd"] > 0 and t["emissions_average_kg"] > 0
    assert t["served_mwh"] + t["unserved_mwh"] == pytest.approx(t["demand_mwh"])
    voll = d.scenario.policy.voll_usd_per_mwh
    assert t == totals(d.steps, voll)
    assert d.last_hour() == totals(d.steps[-1:], voll)
    assert d.last_hour()["cost_usd"] == d.steps[-1]["cost_usd"]
    # the cost per MWh of demand counts unserved MWh at VoLL (abm.core.metrics.cost_usd_per_mwh)
    assert t["cost_usd_per_mwh"] == pytest.approx(
        (t["cost_usd"] + voll * t["unserved_mwh"]) / t["demand_mwh"])
    zones = d.zone_series()
    assert len(zones) == 3 * len(d.scenario.zones)
    assert zones.dc_load_mw.groupby(zones.hour).sum().gt(0).all()
    layers = d.layer_series()
    np.testing.assert_allclose(layers.sum(axis=1), 1.0)
    regions = d.regions()
    assert regions.load_mw.sum() == pytest.approx(t["served_mwh"] / 3, rel=0.2)


def test_flows_are_the_load_served_away_from_its_origin():
    d = Dashboard()
    assert d.flows().empty  # hour 0: every class at its origin
    d.step(2)
    flows = d.flows()
    away = (d.model.operators.x_mw * ~d.model.inst.at_origin()).sum()
    assert flows.mw.sum() == pytest.approx(away)
    assert (flows.origin != flows.region).all()
    assert flows.mw.is_monotonic_decreasing


def test_a_carbon_price_moves_load_and_changes_the_numbers():
    d = Dashboard()
    d.step(4)
    low, load_low = d.totals(), d.regions().load_mw.to_numpy()
    assert d.set_controls(carbon_price_usd_per_t=300.0)
    assert d.hour == 0  # a control change restarts the run
    d.step(4)
    high, load_high = d.totals(), d.regions().load_mw.to_numpy()
    assert high["cost_usd"] > low["cost_usd"]  # carbon is charged
    assert high["emissions_marginal_kg"] < low["emissions_marginal_kg"]  # placement signal
    assert np.abs(load_high - load_low).sum() > 10.0  # MW moved between regions
    assert d.previous_totals() == low


def test_unchanged_controls_do_not_restart_the_run():
    d = Dashboard()
    d.step(2)
    assert not d.set_controls(carbon_price_usd_per_t=0.0)
    assert d.hour == 2


def test_reset_restores_the_start_and_replays_the_same_run():
    d = Dashboard()
    start = d.regions()
    d.step(3)
    first = d.totals()
    d.reset()
    assert d.hour == 0 and d.totals()["cost_usd"] == 0.0
    assert d.regions().equals(start)
    d.step(3)
    assert d.totals() == first
    assert d.previous_totals() is None  # the comparison is with other settings only


def test_a_new_scenario_resets_the_other_controls(write_scenario):
    path = write_scenario(SMALL)
    d = Dashboard(path)
    assert d.controls.scenario == str(path)
    assert d.controls.carbon_price_usd_per_t == 100.0
    assert d.hours == 3 and d.step(5) == 3 and d.done
    d.set_controls(scenario=str(DEFAULT_SCENARIO), carbon_price_usd_per_t=50.0)
    assert d.controls.carbon_price_usd_per_t == 50.0
    assert dict(d.controls.budgets_ms)["interactive"] == 40.0
    assert d.scenario.name == "default" and d.hour == 0


def test_frontier_covers_the_tier_budgets_and_follows_the_settings():
    d = Dashboard()
    df = d.frontier
    assert {40.0, 150.0, 1000.0} <= set(df.budget_ms)
    assert df.cost_usd.is_monotonic_decreasing
    d.set_controls(carbon_price_usd_per_t=200.0)
    assert d.frontier.cost_usd.iloc[-1] > df.cost_usd.iloc[-1]


def test_time_series_have_the_run_s_dates_on_their_axis():
    """The zones' series, one zone's generation and the layers are drawn against the hours'
    UTC dates, from the run's start over its first day (issue 21, item 9); the backlog and
    events panel too (test_backlog_and_events_live_and_stored_show_the_same_and_draw)."""
    import datetime as dt

    import matplotlib.dates as mdates

    d = Dashboard()
    d.step(3)
    start = d.scenario.start
    for fig in (plots.series_figure(d.zone_series(), d.hours, start),
                plots.generation_plot(d.zone_series(), d.scenario.zones[0].id, d.hours, start),
                plots.layers_figure(d.layer_series(), d.hours, start)):
        ax = fig.axes[-1]  # the bottom one, which carries the dates
        assert ax.get_xlabel() == "time (UTC)"
        low, high = (mdates.num2date(x).replace(tzinfo=None) for x in ax.get_xlim())
        assert (low, high) == (start, start + dt.timedelta(hours=23))
        _is_png(fig)  # drawn, so the ticks are placed
        assert any(t.get_text() for t in ax.get_xticklabels())


def _is_png(fig) -> bool:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    return buffer.getvalue().startswith(b"\x89PNG")


def test_figures_draw_before_and_after_steps():
    d = Dashboard()
    start = d.scenario.start
    for _ in range(2):
        assert _is_png(plots.map_figure(d.regions(), d.flows(), "map"))
        assert _is_png(plots.series_figure(d.zone_series(), d.hours, start))
        assert _is_png(plots.layers_figure(d.layer_series(), d.hours, start))
        assert _is_png(plots.map_figure(d.regions(), d.flows(), "map", lines=d.lines(),
                                        zone_xy=d.zone_locations()))
        assert _is_png(plots.generation_plot(d.zone_series(), d.scenario.zones[0].id,
                                             d.hours, start))
        d.step(2)
    assert _is_png(plots.frontier_plot(d.frontier, d.controls.budgets_ms))
    assert plots.land_image().shape[2] == 4


def test_dashboard_command_has_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["dashboard", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--host" in out and "127.0.0.1" in out and "--port" in out and "8765" in out


def test_dashboard_command_explains_a_missing_viz_extra(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "solara" else real(name, *a))
    assert main(["dashboard"]) == 2
    err = capsys.readouterr().err
    assert "./bootstrap.sh viz" in err and "pip install -e '.[viz]'" in err


def test_dashboard_command_rejects_a_bad_scenario_before_serving(write_scenario, monkeypatch,
                                                                capsys):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    bad = write_scenario("[scenario]\nname = 'x'\nhours = 0\n")
    assert main(["dashboard", str(bad)]) == 2
    assert "hours" in capsys.readouterr().err


def test_after_a_scenario_switch_the_comparison_is_with_the_new_scenario(write_scenario):
    """Switching scenario drops the comparison run (no '+362.9% vs previous settings' against
    another scenario); the next change of a control compares within the new scenario."""
    d = Dashboard(write_scenario(SMALL))
    d.step(2)
    d.set_controls(scenario=str(DEFAULT_SCENARIO))
    d.step(2)
    assert d.previous_totals() is None
    first = d.totals()
    d.set_controls(carbon_price_usd_per_t=150.0)
    d.step(2)
    assert d.previous_totals() == first


def test_headline_changes_are_relative_for_totals_and_points_for_shares():
    pytest.importorskip("solara")
    from abm.dashboard.app import change_text

    assert change_text("cost_usd", 150.0, 100.0) == "+50.0%"
    assert change_text("relocated_share", 0.25, 0.40) == "-15.0 pp"
    assert change_text("unserved_mwh", 5.0, 0.0) is None


def test_the_menu_lists_every_shipped_and_experiment_scenario():
    """From a clone: both shipped scenarios, then every file of experiments/scenarios, each
    of which loads and runs an hour in the dashboard."""
    choices = scenario_choices()
    experiments = sorted((REPO / "experiments" / "scenarios").glob("*.toml"))
    assert len(experiments) >= 13
    assert list(choices) == ["default", "scale", *(f"experiments/{p.stem}" for p in experiments)]
    assert choices["experiments/carbon_price"] == str(experiments[[p.stem for p in experiments]
                                                                  .index("carbon_price")])
    d = Dashboard()
    d.set_controls(scenario=choices["experiments/carbon_price"])
    assert d.scenario.name == "carbon_price" and d.step(1) == 1


def test_an_installed_package_lists_the_shipped_scenarios_only(monkeypatch, tmp_path):
    """A wheel has abm/ and no clone around it: no experiments folder to list."""
    monkeypatch.setattr(state, "CLONE", tmp_path)
    monkeypatch.setattr(state, "EXPERIMENT_DIR", tmp_path / "experiments" / "scenarios")
    (tmp_path / "experiments" / "scenarios").mkdir(parents=True)  # but no pyproject.toml
    assert state.experiment_dir() is None
    assert list(scenario_choices()) == ["default", "scale"]


def test_a_stored_run_shows_what_the_live_run_showed_at_every_hour(default_run):
    """The viewer reads the run's tables; the live dashboard steps the model: same numbers."""
    view, live = StoredRun(default_run), Dashboard()
    assert view.hours == 5 and view.hour == 5  # the end first
    for hour in (1, 3, 5):
        live.step(hour - live.hour)
        view.seek(hour)
        assert view.totals() == pytest.approx(live.totals(), rel=1e-12)
        assert view.steps[-1]["cost_usd"] == pytest.approx(live.steps[-1]["cost_usd"])
        pd.testing.assert_frame_equal(view.regions(), live.regions(), check_dtype=False)
        pd.testing.assert_frame_equal(view.zone_series(), live.zone_series(), check_dtype=False)
        pd.testing.assert_frame_equal(view.layer_series(), live.layer_series())
        pd.testing.assert_frame_equal(view.lines()[["line", "flow_mw", "congested"]],
                                      live.lines()[["line", "flow_mw", "congested"]],
                                      check_dtype=False)
    moves = view.run.migrations
    assert view.flows().mw.sum() == pytest.approx(moves[moves.hour == 4].mw.sum())
    view.seek(99)
    assert view.hour == 5
    pd.testing.assert_frame_equal(view.frontier, live.frontier)


def test_a_damaged_or_foreign_folder_is_refused_in_one_line(default_run, tmp_path, capsys,
                                                            monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    assert main(["dashboard", str(tmp_path)]) == 2
    assert "run.json: missing" in capsys.readouterr().err
    copy = tmp_path / "copy"
    shutil.copytree(default_run, copy)
    part = next((copy / "tables" / "zones").glob("*.parquet"))
    part.write_bytes(part.read_bytes()[:-10])
    assert main(["dashboard", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.splitlines()) == 1


def test_the_frontier_is_solved_once_per_setting_for_every_session():
    a, b = Dashboard(), Dashboard()
    assert a.frontier is b.frontier  # the second page finds the first one's
    b.set_controls(carbon_price_usd_per_t=100.0)
    assert b.frontier is not a.frontier
    assert b.frontier.cost_usd.iloc[-1] > a.frontier.cost_usd.iloc[-1]


def test_backlog_and_events_live_and_stored_show_the_same_and_draw(write_scenario, tmp_path):
    """The flat two-zone world with deferrable work and a scheduled event (tests/test_events.py)
    in the live dashboard and as a stored run: the backlog and events panel reads the same
    numbers at every hour, the event's rows appear from its first hour, and a scenario with
    neither says so."""
    import matplotlib.dates as mdates

    from tests.test_events import world

    path = write_scenario(world(footprint='["north-1"]',
                                deferral="deferrable_share = 0.5\ndeadline_hours = 2"))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    live, view = Dashboard(str(path)), StoredRun(tmp_path / "out")
    assert list(live.flex_series().columns) == ["hour", "backlog_mwh", "missed_mwh",
                                                "event_called", "event_asked_mwh",
                                                "event_delivered_mwh", "event_deferred_mwh",
                                                "event_relocated_mwh", "event_shed_mwh"]
    for hour in (1, 2, 4):
        live.step(hour - live.hour)
        view.seek(hour)
        pd.testing.assert_frame_equal(view.flex_series(), live.flex_series())
        pd.testing.assert_frame_equal(view.events(), live.events(), check_dtype=False)
        fig = plots.flexibility_plot(live.flex_series(), live.events(), live.hours,
                                     live.scenario.start)
        assert _is_png(fig)
        ax = fig.axes[0]  # dates from the run's start, as every time series
        assert ax.get_xlabel() == "time (UTC)"
        assert mdates.num2date(ax.get_xlim()[0]).replace(tzinfo=None) == live.scenario.start
    assert live.events().hour.tolist() == [1, 2]
    np.testing.assert_allclose(live.flex_series().event_deferred_mwh, [0.0, 6.0, 6.0, 0.0],
                               atol=1e-9)
    plain = Dashboard()
    assert list(plain.flex_series().columns) == ["hour"] and plain.events().empty
    assert _is_png(plots.flexibility_plot(plain.flex_series(), plain.events(), plain.hours,
                                          plain.scenario.start))


def test_the_events_listed_read_the_rule_registry():
    scn = load_scenario(REPO / "experiments" / "scenarios" / "dr_events.toml")
    lines = state.event_lines(scn)
    assert "de_short: DE-LU -25% for 3 h from hour 30" in lines
    assert ("ercot_peak: US-ERCOT -25% for 3 h when the zone's quoted price is at least "
            "price_usd_per_mwh (price_above: price_usd_per_mwh = 100)") in lines
