"""The report's findings: generated from the numbers (hand-computed here), identical results
flagged, a scenario compared with the scenario it extends, and the report's new sections."""

from __future__ import annotations

import pandas as pd

import abm
from abm.core.metrics import cost_usd_per_mwh
from abm.report.findings import findings, identical, parents
from abm.report.run_report import headline_numbers, write_report
from tests.conftest import SMALL


def table(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Headline numbers by hand; the cost per MWh of demand by the one rule (VoLL 10,000)."""
    base = {"demand_mwh": 100.0, "served_mwh": 100.0, "unserved_mwh": 0.0, "moved_mwh": 0.0,
            "cost_usd": 1000.0, "emissions_average_kg": 4000.0, "emissions_marginal_kg": 9000.0,
            "emissions_system_kg": 10000.0, "relocated_share": 0.5, "voll_usd_per_mwh": 1e4}
    df = pd.DataFrame([{**base, **r} for r in rows.values()], index=list(rows))
    df["cost_usd_per_mwh"] = [cost_usd_per_mwh(r.cost_usd, r.demand_mwh, r.unserved_mwh,
                                               r.voll_usd_per_mwh) for r in df.itertuples()]
    return df


def test_trade_off_and_disagreeing_bases_by_hand():
    t = table({"base": {}, "tax": {"cost_usd": 1500.0, "emissions_system_kg": 5000.0,
                                   "emissions_average_kg": 4400.0},
               "same": {}})
    text = " ".join(map(str, findings(t, [], None)))
    # 5 t avoided for $500: $100 per tonne
    assert "Trade-off in tax: system emissions fall by 5 t for $500 more, about $100 per " \
           "tonne avoided (operators' cost, carbon payments included" in text
    assert "Largest changes in cost per MWh of demand (unserved MWh at VoLL) against the " \
           "baseline: tax +50.0%." in text
    assert "Largest changes in system emissions against the baseline: tax -50.0%." in text
    # average-attributed emissions rise 10% while the system's fall
    assert "The bases disagree in tax: emissions attributed on average intensity rise " \
           "(+10.0%)" in text
    assert "same gives exactly the same results as base" in text
    assert identical(t) == [("base", "same")]


def test_more_demand_is_compared_per_mwh():
    t = table({"base": {}, "x3": {"demand_mwh": 300.0, "cost_usd": 3300.0,
                                  "emissions_system_kg": 33000.0}})
    text = " ".join(map(str, findings(t, [], None)))
    assert "(unserved MWh at VoLL) against the baseline: x3 +10.0%" in text  # 11 vs 10 $/MWh
    assert "system emissions per MWh of demand against the baseline: x3 +10.0%" in text
    assert "Demand differs in x3" in text


def test_demand_left_unserved_never_reads_cheaper():
    """Three times the demand, 20 MWh of it unserved, $2,800 paid: per MWh of demand at zero
    cost for unserved MWh it read 6.7% cheaper (9.33 against 10 $/MWh); at VoLL it costs
    (2,800 + 20 x 10,000) / 300 = 676 $/MWh, +6,660%, and the trade-off names VoLL."""
    t = table({"base": {}, "x3": {"demand_mwh": 300.0, "served_mwh": 280.0,
                                  "unserved_mwh": 20.0, "cost_usd": 2800.0,
                                  "emissions_system_kg": 20000.0}})
    text = " ".join(map(str, findings(t, [], None)))
    assert "against the baseline: x3 +6660.0%" in text
    assert "Trade-off in x3: system emissions fall by 3 t" in text
    assert "unserved MWh at VoLL)" in text


def test_report_compares_a_scenario_with_its_parent_and_the_planner(write_scenario, tmp_path):
    base = write_scenario(SMALL, "base.toml")
    parent = write_scenario(SMALL.replace('name = "small"', 'name = "cheap"').replace(
        "carbon_price_usd_per_t = 100.0", "carbon_price_usd_per_t = 0.0"), "cheap.toml")
    child = write_scenario('extends = "cheap.toml"\n[scenario]\nname = "cheap_zero_egress"\n'
                           "[policy]\negress_scale = 0.0\n", "child.toml")
    runs = [abm.simulate(p, hours=2) for p in (base, parent, child)]
    assert parents(runs, runs[0]) == {"cheap_zero_egress": "cheap"}
    numbers = headline_numbers(runs, runs[0])
    assert (numbers.index == ["small", "cheap", "cheap_zero_egress"]).all()
    _, md = write_report(runs, runs[0], tmp_path / "r.html", budgets_ms=(20, 300))
    text = md.read_text()
    assert text.index("## Findings") < text.index("## Headline results against the baseline")
    assert "## cheap_zero_egress against cheap, the scenario it extends" in text
    assert "**cheap_zero_egress** against **cheap**, the scenario it extends" in text
    assert "## The price of decentralisation" in text
    assert "cost: energy + carbon + rent + network + migration (k$) |" in text
    assert "| of which carbon (k$) |" in text
    assert "Short runs (2 h)" in text


def test_backlog_and_events_in_plain_words_by_hand():
    """A run's deferrable work and demand-response events from its summary and events table
    (numbers by hand): the sentences say what waited, missed and still waits, what the events
    asked and got and how, and name the event whose cut was mostly shed."""
    from types import SimpleNamespace

    from abm.report.findings import flexibility

    hourly = pd.DataFrame({
        "hour": [3, 4, 9], "time_utc": pd.to_datetime(["2024-01-08T03", "2024-01-08T04",
                                                        "2024-01-08T09"], utc=True),
        "event": ["a", "a", "b"], "zone": ["DE-LU", "DE-LU", "FR"],
        "trigger": ["schedule", "schedule", "price_above"], "start_hour": [3, 3, 9],
        "cut_pct": [25.0, 25.0, 10.0], "reference_mwh": [40.0, 40.0, 100.0],
        "asked_mwh": [10.0, 10.0, 10.0], "placed_mwh": [30.0, 30.0, 88.0],
        "delivered_mwh": [10.0, 10.0, 12.0], "deferred_mwh": [2.0, 2.0, 0.0],
        "relocated_mwh": [0.0, 0.0, 12.0], "shed_mwh": [8.0, 8.0, 0.0]})
    run = SimpleNamespace(label="dr", tables={"events": hourly}, summary={
        "work_arrived_mwh": 200.0, "work_run_mwh": 180.0, "missed_mwh": 5.0,
        "backlog_end_mwh": 15.0, "event_called": 2, "event_asked_mwh": 30.0,
        "event_delivered_mwh": 32.0, "event_deferred_mwh": 4.0, "event_relocated_mwh": 12.0,
        "event_shed_mwh": 16.0})
    said = [str(t) for t in flexibility(run)]
    assert said == [
        "dr: 200 MWh of deferrable work could wait, 180 MWh of it ran within its deadline, "
        "5.0 MWh (2.5% of it) missed its deadline and went unserved (at VoLL), and 15 MWh "
        "still waited when the run ended.",
        "dr: 2 demand-response events asked for 30 MWh less data-centre load and got 32 MWh "
        "less than the zones' references (4.0 MWh deferred, 12 MWh relocated, 16 MWh shed); "
        "mostly shed, and the 16 MWh shed went unserved (at VoLL).",
        "dr: most of the cut was shed (unserved, at VoLL), not moved or deferred, in DE-LU "
        "(event a, hour 3: 16 MWh of 20 MWh)."]



def test_the_report_draws_the_backlog_and_events_against_dates(write_scenario):
    """The report's backlog and events figure of a run with deferrable work and an event is
    drawn against the run's UTC dates (issue 21, item 9): the event's shaded hours and the
    delivered bars at their dates, from the run's start."""
    import datetime as dt

    import matplotlib.dates as mdates

    from abm.report.figures import FLEX_COLUMNS, flexibility_figure
    from tests.test_events import world

    run = abm.simulate(write_scenario(world(footprint='["north-1"]', deferral=(
        "deferrable_share = 0.5\ndeadline_hours = 2"))))
    start = run.scenario.start
    fig = flexibility_figure(run.model[["hour", *(c for c in FLEX_COLUMNS if c in run.model)]],
                             run.table("events"), "dr", start)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (UTC)"
    # the event's hours, shaded (1 h or more wide, in days); the bars are 0.9 h wide
    spans = [p for p in ax.patches if p.get_width() > 0.95 / 24]
    first, last = (int(run.table("events").hour.min()), int(run.table("events").hour.max()))
    x0, x1 = spans[0].get_x(), spans[0].get_x() + spans[0].get_width()

    def when(x: float) -> dt.datetime:
        return mdates.num2date(x).replace(tzinfo=None)

    assert abs(when(x0) - (start + dt.timedelta(hours=first - 0.5))) < dt.timedelta(seconds=1)
    assert abs(when(x1) - (start + dt.timedelta(hours=last + 0.5))) < dt.timedelta(seconds=1)
    bars = [p for p in ax.patches if 0 < p.get_width() < 0.95 / 24 and p.get_height() != 0]
    assert bars and all(start <= when(b.get_x()) <= start + dt.timedelta(hours=len(run.model))
                        for b in bars)


def test_a_report_of_zones_without_background_load_says_headroom_is_not_computed(
        write_scenario, tmp_path, caplog):
    """Zones of a scenario's own have no shipped demand shape: the report is still written,
    with the backlog and events section, and its headroom section says why it has no numbers
    (it stopped with that one line after every run before)."""
    from tests.test_events import world

    run = abm.simulate(write_scenario(world(footprint='["north-1"]', deferral=(
        "deferrable_share = 0.5\ndeadline_hours = 2"))))
    _, md = write_report([run], run, tmp_path / "r.html", budgets_ms=(20, 300), quiet=True)
    text = md.read_text()
    assert "## Grid headroom" in text
    assert "Not computed for **dr**" in text and "no demand shape for zone(s)" in text
    assert "## Backlog and demand-response events" in text
    assert not (tmp_path / "r_figures" / "headroom.csv").exists()
    assert any("grid headroom is not computed" in r.getMessage() for r in caplog.records)


def test_assumed_figures_are_counted_field_by_field():
    """The caveat listed every field any zone assumes against the number of zones assuming
    anything ("load, marginal_carbon, price of 23 of 23 zones", when 5 zones assume their
    price); each field now has its own count, read here from the shipped tables' ``assumed``
    columns."""
    from pathlib import Path

    from abm.config.scenario import load_scenario
    from abm.report.findings import _assumed

    data = Path(abm.__file__).parent / "data"
    scn = load_scenario()
    for kind, entries in (("regions", scn.regions), ("zones", scn.zones)):
        table = pd.read_csv(data / f"{kind}.csv", keep_default_na=False)
        counts = table["assumed"].str.split(";").explode().loc[lambda s: s != ""].value_counts()
        expected = ", ".join(f"{name} of {n}" for name, n in sorted(counts.items()))
        assert _assumed(entries, kind) == f"{expected} of {len(table)} {kind}"


def test_who_gains_and_loses_says_which_and_when_none_does():
    """Every operator's cost fell and the two that fell least were shown as those whose cost
    "rises the most"; each row now says which it is, and where none rises a row says so."""
    from abm.report.run_report import _gains

    zones = pd.DataFrame({"scenario": "s", "zone": ["A", "B", "C", "D", "E"],
                          "change_dc_energy_mwh": [30.0, 10.0, 0.2, -5.0, 2.0],
                          "change_price_usd_per_mwh": [1.0, 0.5, 0.0, -0.25, 0.0]})
    ops = pd.DataFrame({"scenario": "s", "name": ["p", "q", "r"],
                        "change_cost_usd_per_mwh": [-9.0, -3.0, -0.001],
                        "change_unserved_mwh": [-1.0, 0.0, 0.0]})
    assert _gains(zones, ops, "s") == [
        ["s", "zone A (gains)", "+30 MWh", "price +1.00 $/MWh"],
        ["s", "zone B (gains)", "+10 MWh", "price +0.50 $/MWh"],
        ["s", "zone D (loses)", "-5 MWh", "price -0.25 $/MWh"],
        ["s", "operator p (cost falls)", "-9.00 $/MWh", "unserved -1.0 MWh"],
        ["s", "operator q (cost falls)", "-3.00 $/MWh", "unserved +0.0 MWh"],
        ["s", "operators", "no operator's cost rises by more than 0.005 $/MWh", ""]]
    gains_only = zones.assign(change_dc_energy_mwh=[3.0, 2.0, 1.0, 0.1, 0.0])
    assert _gains(gains_only, None, "s")[-1] == ["s", "zones", "none loses more than 0.5 MWh",
                                                 ""]


def test_changes_are_the_paired_means_the_headline_table_shows():
    """With several seeds the findings took the change of the means (ratio of the seeds'
    mean costs) while the headline table shows the mean of the changes paired seed by seed,
    so one report gave two numbers for one change (-37.6% and -37.8%). By hand: the baseline
    costs 10 and 30 $/MWh in seeds 0 and 1, the scenario 5 and 45: the paired changes are
    -50% and +50%, their mean 0%, while the means (20 and 25) differ by +25%. The trade-off
    in cost says which cost it counts."""
    seeds = {("base", 0): {"cost_usd": 1000.0}, ("base", 1): {"cost_usd": 3000.0},
             ("s", 0): {"cost_usd": 500.0, "emissions_system_kg": 12000.0},
             ("s", 1): {"cost_usd": 4500.0, "emissions_system_kg": 12000.0}}
    reps = table({f"{k[0]}/{k[1]}": v for k, v in seeds.items()})
    reps.index = pd.MultiIndex.from_tuples(list(seeds), names=["scenario", "replication"])
    reps["emissions_system_kg_per_mwh"] = reps.emissions_system_kg / reps.demand_mwh
    means = reps.groupby(level=0, sort=False).mean()
    text_ = " ".join(map(str, findings(means, [], None, reps=reps)))
    assert "No scenario moves cost per MWh of demand (unserved MWh at VoLL) by as much" in text_
    assert "system emissions against the baseline: s +20.0%" in text_
    text_ = " ".join(map(str, findings(table({"base": {}, "s": {
        "cost_usd": 500.0, "emissions_system_kg": 12000.0}}), [], None)))
    assert ("Trade-off in s: cost falls by $500 but system emissions rise by 2 t (operators' "
            "cost, carbon payments included)") in text_
