"""Demand-response events (docs/market.md, "Demand-response events"): a zone calls a cut of
its data-centre load by schedule or by rule; operators answer by relocating, deferring or
shedding; the run records each event. Hand-solved on a flat two-zone world, end to end
through ``abm run``, and a property: delivered = deferred + relocated + shed, and no MWh
appears or disappears."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abm
from abm.cli import main
from abm.config.registry import EVENT_RULES
from abm.config.scenario import load_scenario
from abm.errors import InputError
from abm.market.events import EventRule, ZoneOutlook
from tests.test_deferral import assert_conserved

# NORTH (25 $/MWh) and SOUTH (40 $/MWh), flat and unmoved by the load (exogenous); one
# operator with 20 MW of batch work whose origin is north-1, so it sits in NORTH
WORLD = """
[scenario]
name = "{name}"
start = 2024-01-08T00:00:00
hours = {hours}

[market]
grid_response = "exogenous"

[regions]
include = []

[[regions.add]]
id = "north-1"
name = "North"
lat = 50.0
lon = 10.0
zone = "NORTH"
jurisdiction = "EU"
pue = 1.0
egress_usd_per_gb = 0.0
capacity_mw = 100.0
rent_usd_per_mwh = 0.0

[[regions.add]]
id = "south-1"
name = "South"
lat = 45.0
lon = 10.0
zone = "SOUTH"
jurisdiction = "EU"
pue = 1.0
egress_usd_per_gb = 0.0
capacity_mw = {south_mw}
rent_usd_per_mwh = 0.0

[[zones.add]]
id = "NORTH"
name = "North"
avg_carbon_g_per_kwh = 400.0
marginal_carbon_g_per_kwh = 400.0
price_usd_per_mwh = 25.0
load_mw = 1000.0
profile_from = "flat"

[[zones.add]]
id = "SOUTH"
name = "South"
avg_carbon_g_per_kwh = 400.0
marginal_carbon_g_per_kwh = 400.0
price_usd_per_mwh = 40.0
load_mw = 1000.0
profile_from = "flat"

[latency]
missing = "distance"

[[operators]]
id = "op"
footprint = {footprint}

[[operators.classes]]
id = "b"
client = "north-1"
demand_mw = 20.0
budget_ms = 1000.0
overhead_ms = 0.0
egress_gb_per_mwh = 0.0
state_gb_per_mw = 0.0
stateful = false
{deferral}
{events}
"""

STORM = """
[events.storm]
zone = "NORTH"
start_hour = 1
hours = 2
cut_pct = 30
"""


def world(name: str = "dr", hours: int = 4, footprint: str = '["*"]', deferral: str = "",
          events: str = STORM, south_mw: float = 100.0) -> str:
    return WORLD.format(name=name, hours=hours, footprint=footprint, deferral=deferral,
                        events=events, south_mw=south_mw)


def assert_accounted(run) -> None:
    """Every event hour: delivered = deferred + relocated + shed; the model's hour totals
    are the table's; and no MWh appears or disappears in any hour of the run."""
    hourly = run.table("events")
    gap = hourly.delivered_mwh - hourly.deferred_mwh - hourly.relocated_mwh - hourly.shed_mwh
    assert (np.abs(gap) <= 1e-9 * np.maximum(1.0, hourly.reference_mwh)).all(), gap
    assert (hourly.placed_mwh <= hourly.reference_mwh - hourly.asked_mwh + 1e-6).all()
    by_hour = hourly.groupby("hour")[["asked_mwh", "delivered_mwh", "shed_mwh"]].sum()
    model = run.model.set_index("hour")
    for c in ("asked_mwh", "delivered_mwh", "shed_mwh"):
        np.testing.assert_allclose(model.loc[by_hour.index, f"event_{c}"], by_hour[c],
                                   rtol=1e-12, atol=1e-12)
    if "backlog_mwh" in run.model:
        assert_conserved(run)
    else:
        m = run.model
        np.testing.assert_allclose(m.demand_mwh, m.served_mwh + m.unserved_mwh, rtol=1e-12)


def test_a_scheduled_cut_relocates_when_the_operator_may_move(write_scenario) -> None:
    """30 % of NORTH's 20 MW for hours 1-2: a cap of 14 MW; the 6 MW left go to SOUTH (40
    $/MWh, far below VoLL): 12 MWh asked, delivered and relocated, none deferred or shed."""
    run = abm.simulate(write_scenario(world()))
    ev = run.events
    assert len(ev) == 1
    row = ev.iloc[0]
    assert (row.event, row.zone, row.trigger, row.start_hour, row.hours) == (
        "storm", "NORTH", "schedule", 1, 2)
    assert row.start_utc == pd.Timestamp("2024-01-08T01:00", tz="UTC")
    assert row.end_utc == pd.Timestamp("2024-01-08T02:00", tz="UTC")
    assert row.reference_mwh == pytest.approx(40.0)
    assert row.asked_mw == pytest.approx(6.0)
    for c, v in (("asked_mwh", 12.0), ("placed_mwh", 28.0), ("delivered_mwh", 12.0),
                 ("relocated_mwh", 12.0), ("deferred_mwh", 0.0), ("shed_mwh", 0.0)):
        assert row[c] == pytest.approx(v, abs=1e-9), c
    regions = run.regions.pivot(index="hour", columns="region", values="load_mw")
    np.testing.assert_allclose(regions["north-1"], [20.0, 14.0, 14.0, 20.0])
    assert_accounted(run)


def test_a_cut_sheds_where_the_operator_cannot_move_or_wait(write_scenario) -> None:
    """Footprint NORTH only, no deferrable work: the 6 MW an hour are unserved."""
    run = abm.simulate(write_scenario(world(footprint='["north-1"]')))
    row = run.events.iloc[0]
    assert (row.delivered_mwh, row.shed_mwh, row.relocated_mwh, row.deferred_mwh) == \
        pytest.approx((12.0, 12.0, 0.0, 0.0), abs=1e-9)
    np.testing.assert_allclose(run.model.unserved_mwh, [0.0, 6.0, 6.0, 0.0], atol=1e-9)
    assert_accounted(run)


def test_a_cut_defers_work_that_may_wait_and_it_runs_after(write_scenario) -> None:
    """Half of the 20 MW may wait 2 h, footprint NORTH only: before the event the flat price
    gives no reason to wait (all 20 MWh run as they come); in each event hour 10 MW are due
    and 4 MWh of work fit under the 14 MW cap, so 6 MWh wait: 12 MWh deferred, none shed;
    after it, the work waiting runs by its deadlines (none missed)."""
    deferral = "deferrable_share = 0.5\ndeadline_hours = 2"
    run = abm.simulate(write_scenario(world(footprint='["north-1"]', deferral=deferral)))
    row = run.events.iloc[0]
    assert (row.delivered_mwh, row.deferred_mwh, row.relocated_mwh, row.shed_mwh) == \
        pytest.approx((12.0, 12.0, 0.0, 0.0), abs=1e-9)
    np.testing.assert_allclose(run.model.served_mwh[:3], [20.0, 14.0, 14.0], atol=1e-9)
    assert run.model.served_mwh[3] >= 10.0 + 6.0 - 1e-9  # due load, and hour 1's work
    np.testing.assert_allclose(run.backlog.missed_mwh, 0.0, atol=1e-9)
    assert_accounted(run)


def test_the_rule_path_end_to_end_through_abm_run(write_scenario, tmp_path) -> None:
    """``price_above`` at 20 $/MWh: NORTH quotes 25 every hour, so it calls a 2-hour event at
    hour 0 and again at hour 2 when the first is over, each against the zone's last hour
    without an event (the status quo: 20 MW); half of it moves to SOUTH. ``abm run`` writes
    the events table in parts (checkpoint every hour) and ``abm.read_run`` reads back what
    the run in memory has."""
    events = ('[events.dear]\nzone = "NORTH"\nrule = "price_above"\nprice_usd_per_mwh = 20.0\n'
              "hours = 2\ncut_pct = 50\n")
    path = write_scenario(world(events=events))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet",
                 "--checkpoint-hours", "1"]) == 0
    stored, memory = abm.read_run(tmp_path / "out"), abm.simulate(path)
    pd.testing.assert_frame_equal(stored.events, memory.events)
    pd.testing.assert_frame_equal(stored.table("events"), memory.table("events"))
    ev = stored.events
    assert ev.start_hour.tolist() == [0, 2] and set(ev.trigger) == {"price_above"}
    np.testing.assert_allclose(ev.asked_mwh, 20.0)
    np.testing.assert_allclose(ev.relocated_mwh, 20.0)
    assert stored.summary["event_called"] == 2
    assert stored.summary["event_delivered_mwh"] == pytest.approx(40.0)
    assert_accounted(stored)


def test_a_price_below_the_level_calls_nothing(write_scenario) -> None:
    events = ('[events.dear]\nzone = "NORTH"\nrule = "price_above"\nprice_usd_per_mwh = 30.0\n'
              "hours = 2\ncut_pct = 50\n")
    run = abm.simulate(write_scenario(world(events=events)))
    assert run.events.empty and run.summary["event_called"] == 0


def test_a_registered_rule_is_read_by_validation_and_runs(write_scenario) -> None:
    """A rule registered here (a cut whenever the run's hour is ``at``) is accepted by the
    scenario, listed by ``abm check --help``, and calls its event."""

    @EVENT_RULES.register("at_hour", "calls at hour `at` of the run")
    class AtHour(EventRule):
        parameters = ("at",)
        at: float

        def calls(self, outlook: ZoneOutlook) -> bool:
            return outlook.hour == int(self.at)

    try:
        events = ('[events.late]\nzone = "NORTH"\nrule = "at_hour"\nat = 3\nhours = 1\n'
                  "cut_pct = 25\n")
        run = abm.simulate(write_scenario(world(events=events)))
        assert "at_hour: calls at hour `at` of the run" in EVENT_RULES.help()
        missing = write_scenario(world(events=events.replace("at = 3\n", "")), "b.toml")
        with pytest.raises(InputError, match=r"events\.late\.at: is required"):
            load_scenario(missing)
    finally:
        EVENT_RULES.unregister("at_hour")
    ev = run.events
    assert ev.start_hour.tolist() == [3] and ev.trigger.tolist() == ["at_hour"]
    assert ev.relocated_mwh.iloc[0] == pytest.approx(5.0)


@pytest.mark.parametrize(("events", "field", "message"), [
    ('[events.x]\nzone = "EAST"\nstart_hour = 0\nhours = 1\ncut_pct = 10\n',
     "events.x.zone", "unknown zone 'EAST'; the scenario's zones: NORTH, SOUTH"),
    ('[events.x]\nzone = "NORTH"\nstart_hour = 0\nhours = 1\ncut_pct = 110\n',
     "events.x.cut_pct", "expected a number <= 100"),
    ('[events.x]\nzone = "NORTH"\nstart_hour = 0\nhours = 1\ncut_pct = -5\n',
     "events.x.cut_pct", "expected a number >= 0"),
    ('[events.x]\nzone = "NORTH"\nstart_hour = 3\nhours = 2\ncut_pct = 10\n',
     "events.x.hours", "ends after the run (4 h)"),
    ('[events.x]\nzone = "NORTH"\nhours = 2\ncut_pct = 10\n',
     "events.x.rule", "give one of start_hour"),
    ('[events.x]\nzone = "NORTH"\nrule = "nope"\nhours = 2\ncut_pct = 10\n',
     "events.x.rule", "allowed: price_above, reserve_below"),
    ('[events.x]\nzone = "NORTH"\nrule = "price_above"\nhours = 2\ncut_pct = 10\n',
     "events.x.price_usd_per_mwh", "is required"),
    ('[events.x]\nzone = "NORTH"\nrule = "reserve_below"\nmargin_pct = 10\nhours = 2\n'
     "cut_pct = 10\n", "events.x.rule", "needs market.grid_response = 'technology'"),
    ('[events.a]\nzone = "NORTH"\nstart_hour = 0\nhours = 2\ncut_pct = 10\n'
     '[events.b]\nzone = "NORTH"\nstart_hour = 1\nhours = 1\ncut_pct = 10\n',
     "events.b.start_hour", "overlaps event 'a' in zone NORTH (hours 0 to 1)"),
])
def test_bad_events_are_one_line_errors(write_scenario, events, field, message,
                                        capsys) -> None:
    path = write_scenario(world(events=events))
    with pytest.raises(InputError) as err:
        abm.simulate(path)
    assert err.value.field == field and message in str(err.value)
    assert "\n" not in str(err.value)
    # `abm check` refuses it too, with the same line: a scenario it accepts runs
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {err.value}\n"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(0.0, 100.0), share=st.sampled_from([0.0, 0.3, 1.0]),
       deadline=st.integers(1, 3), footprint=st.sampled_from(['["*"]', '["north-1"]']),
       room=st.floats(0.0, 30.0), solver=st.sampled_from(["flow", "highs"]),
       allocation=st.sampled_from(["first_come", "proportional"]))
def test_delivered_is_deferred_relocated_and_shed_whatever_the_answer(
        cut, share, deadline, footprint, room, solver, allocation) -> None:
    """A property: any cut, deferrable share and deadline, footprint, room in SOUTH, engine
    and allocation rule; a schedule and a rule in the same zone; the split adds up to what
    was delivered, the zone holds no more than its cap, no MWh appears or disappears."""
    import tempfile
    from pathlib import Path

    deferral = (f"deferrable_share = {share}\ndeadline_hours = {deadline}" if share else "")
    events = (f'{STORM.replace("cut_pct = 30", f"cut_pct = {cut}")}\n[events.dear]\n'
              f'zone = "NORTH"\nrule = "price_above"\nprice_usd_per_mwh = 20.0\nhours = 1\n'
              f"cut_pct = {cut / 2}\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.toml"
        path.write_text(world(hours=5, footprint=footprint, deferral=deferral, events=events,
                              south_mw=room))
        run = abm.simulate(path, overrides={"market.solver": solver,
                                            "market.allocation": allocation})
    assert_accounted(run)
    ev = run.events
    assert set(ev.trigger) == {"schedule", "price_above"}
    assert (ev.asked_mwh <= ev.delivered_mwh + 1e-6).all()


def test_event_settings_are_sweep_axes_and_their_outcomes_sweep_outcomes(write_scenario,
                                                                          tmp_path) -> None:
    """``events.storm.cut_pct`` as a sweep parameter; the summary's ``event_*`` as outcomes,
    and ``missed_mwh`` 0 for runs without deferrable work."""
    scenario = write_scenario(world())
    spec = tmp_path / "sweep.toml"
    spec.write_text(f'[sweep]\nname = "dr"\nscenario = "{scenario}"\nseed = 1\ndesign = "grid"\n'
                    '[parameters."events.storm.cut_pct"]\nvalues = [0.0, 50.0]\n'
                    '[outcomes]\nscalars = ["event_delivered_mwh", "event_relocated_mwh", '
                    '"missed_mwh"]\nseries = ["event_asked_mwh"]\n')
    results = abm.sweep(spec, workers=1, out=tmp_path / "out").sort_values(
        "events.storm.cut_pct")
    np.testing.assert_allclose(results["event_delivered_mwh"], [0.0, 20.0], atol=1e-9)
    np.testing.assert_allclose(results["event_relocated_mwh"], [0.0, 20.0], atol=1e-9)
    np.testing.assert_allclose(results["missed_mwh"], 0.0)
    assert results["series.event_asked_mwh"].iloc[1] == pytest.approx([0.0, 10.0, 10.0, 0.0])


def test_the_reserve_margin_is_the_fleet_over_the_quoted_load() -> None:
    """(available - load) / load: 110 MW of fleet for 100 MW of load is a 10 % margin;
    reserve_below calls under its margin, price_above at or over its price."""
    import datetime as dt

    from abm.market.events import PriceAbove, ReserveBelow

    look = ZoneOutlook(zone="Z", hour=0, time_utc=dt.datetime(2024, 1, 1), price_usd_per_mwh=80.0,
                       load_mw=100.0, shed_mw=0.0, available_mw=110.0)
    assert look.reserve_margin_pct == pytest.approx(10.0)
    assert ReserveBelow(margin_pct=10.5).calls(look)
    assert not ReserveBelow(margin_pct=10.0).calls(look)
    assert PriceAbove(price_usd_per_mwh=80.0).calls(look)
    assert not PriceAbove(price_usd_per_mwh=80.01).calls(look)


def test_reserve_below_on_the_technology_market() -> None:
    """The default scenario's technology grid: a margin no zone reaches calls an event in
    DE-LU at hour 0 and again when it is over, one no zone falls below calls none; the
    accounting holds on the coupled grid."""
    def run(margin: float):
        return abm.simulate("default", hours=3, overrides={
            "population.operators": 4, "events.r.zone": "DE-LU",
            "events.r.rule": "reserve_below", "events.r.margin_pct": margin,
            "events.r.hours": 2, "events.r.cut_pct": 20.0})

    always, never = run(1e9), run(-100.0)
    assert always.events.start_hour.tolist() == [0, 2]
    assert never.events.empty and never.summary["event_called"] == 0
    assert_accounted(always)


def test_the_schedule_path_through_abm_run_resumes_to_the_same_bytes(write_scenario,
                                                                      tmp_path) -> None:
    """A scheduled event across a checkpoint (hours 1-2, checkpoints every hour): ``abm run``
    interrupted after hour 2 and resumed writes the events table an uninterrupted run writes,
    byte for byte, and its parts are checksummed like every table's."""
    from abm.market.run import read_manifest, run_market
    from tests.test_market_run import Interrupt

    deferral = "deferrable_share = 0.5\ndeadline_hours = 2"
    path = write_scenario(world(footprint='["north-1"]', deferral=deferral))
    assert main(["run", str(path), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    scn = load_scenario(path)
    with pytest.raises(KeyboardInterrupt):
        run_market(scn, tmp_path / "cut", checkpoint_hours=1, progress=Interrupt(3))
    manifest = read_manifest(tmp_path / "cut")
    assert manifest["hours_done"] == 2 and manifest["tables"]["events"]
    assert main(["run", str(path), "--out", str(tmp_path / "cut"), "--quiet", "--resume"]) == 0
    part = "tables/events/part-complete.parquet"
    assert (tmp_path / "cut" / part).read_bytes() == (tmp_path / "whole" / part).read_bytes()
    row = abm.read_run(tmp_path / "cut").events.iloc[0]
    assert (row.delivered_mwh, row.deferred_mwh) == pytest.approx((12.0, 12.0), abs=1e-9)
