"""The levers of a scenario against a baseline (``abm.config.differences``), the set-up table of
``abm report``: every setting that differs is listed, none that does not."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from abm.config.differences import _FRAME, ORDER, differences
from abm.config.scenario import load_scenario
from abm.config.schema import Scenario


@pytest.fixture(scope="module")
def base() -> Scenario:
    return load_scenario()


def test_every_field_of_a_scenario_is_compared_or_shown_beside_the_levers() -> None:
    """A field added to Scenario must be compared (ORDER) or be one the report shows beside
    the levers (_FRAME); otherwise a scenario could differ in it and the report say nothing."""
    names = {f.name for f in fields(Scenario)}
    assert names == set(ORDER) | _FRAME
    assert not set(ORDER) & _FRAME
    assert len(ORDER) == len(set(ORDER))


def test_a_scenario_against_itself_has_no_levers(base: Scenario) -> None:
    assert differences(base, load_scenario()) == []


def test_a_policy_setting(base: Scenario) -> None:
    other = load_scenario(overrides={"policy.carbon_price_usd_per_t": 100.0})
    assert differences(base, other) == [
        "policy.carbon_price_usd_per_t = 100 $/t (baseline 0 $/t)"]


def test_templates_and_the_listed_classes_they_change(base: Scenario) -> None:
    """Deferrable work set on a template is a lever (the report used to leave it out), and the
    listed classes it reaches are counted: the batch classes of the default's operators."""
    other = load_scenario(overrides={"templates.batch.deferrable_share": 0.3,
                                     "templates.batch.deadline_hours": 4})
    batch = [(o.id, c.id) for o in base.operators for c in o.classes if c.kind == "batch"]
    n_ops = len({o for o, _ in batch})
    where = f"in {len(batch)} classes of {n_ops} of {len(base.operators)} listed operators"
    assert differences(base, other) == [
        "templates.batch.deferrable_share = 0.3 (baseline not set)",
        "templates.batch.deadline_hours = 4 h (baseline not set)",
        f"operators.classes.deferrable_share = 0.3 (baseline 0) {where}",
        f"operators.classes.deadline_hours = 4 h (baseline 0 h) {where}"]


def test_zones_grid_rules_events_and_output_settings(base: Scenario) -> None:
    other = load_scenario(overrides={
        "zones.set.FR.price_usd_per_mwh": 70.0, "grid.moved_water": "nothing_burnt",
        "events.cut": {"zone": "DE-LU", "hours": 3, "cut_pct": 25.0, "start_hour": 5},
        "market.operator_detail": True})
    fr = next(z for z in base.zones if z.id == "FR").price_usd_per_mwh
    assert differences(base, other) == [
        "grid.moved_water = nothing_burnt (baseline displaced_unit)",
        "events: added cut (DE-LU, -25 % for 3 h from hour 5)",
        f"zones.FR.price_usd_per_mwh = 70 $/MWh (baseline {fr:g} $/MWh)"]


def test_a_shipped_price_replaced_is_not_called_nothing(base: Scenario) -> None:
    other = load_scenario(overrides={"grid.carbon_price_usd_per_t.rggi": 50.0})
    assert differences(base, other) == [
        "grid.carbon_price_usd_per_t.rggi = 50 $/t (baseline not set: shipped 2024 price)"]


def test_listed_operators_summed_up(base: Scenario) -> None:
    """The same change in every class is one line with its factor; a few different changes
    are one line each, with how many operators they are made in."""
    scaled = replace(base, operators=tuple(
        replace(o, classes=tuple(replace(c, demand_mw=3 * c.demand_mw) for c in o.classes))
        for o in base.operators))
    n = sum(len(o.classes) for o in base.operators)
    k = len(base.operators)
    assert differences(base, scaled) == [
        f"operators.classes.demand_mw x 3 in {n} classes of {k} of {k} listed operators"]
    moved = replace(base, operators=(replace(base.operators[0], strategy="greenest"),
                                     replace(base.operators[1], strategy="static"),
                                     *base.operators[2:]))
    assert differences(base, moved) == [
        f"operators.strategy = greenest (baseline lp) in 1 of {k} listed operators",
        f"operators.strategy = static (baseline lp) in 1 of {k} listed operators"]
    fewer = replace(base, operators=base.operators[1:])
    assert differences(base, fewer) == [f"operators: removed {base.operators[0].id}"]


def test_matrices_and_profiles_by_how_much_changed(base: Scenario) -> None:
    rtt = base.latency.rtt_ms.copy()
    rtt[0, 1] = rtt[1, 0] = rtt[0, 1] + 1.0
    other = replace(base, latency=replace(base.latency, rtt_ms=rtt))
    assert differences(base, other) == [f"latency.rtt_ms: 2 of {rtt.size} entries changed"]
    key = next(iter(base.profiles))
    profiles = dict(base.profiles)
    profiles[key] = np.asarray(profiles[key]) * 2.0
    lines = differences(base, replace(base, profiles=profiles))
    assert lines == [f"profiles: 1 of {len(profiles)} changed ({'/'.join(key)})"]


def test_fewer_regions_read_as_shapes_and_short_lists(base: Scenario) -> None:
    """Scenarios over other regions: the latency matrix by its shape, the region list cut
    short, the regions left out by id (not the whole matrix or list written out)."""
    keep = base.regions[:10]
    ids = tuple(r.id for r in keep)
    idx = [base.latency.index(i) for i in ids]
    latency = replace(base.latency, region_ids=ids,
                      rtt_ms=base.latency.rtt_ms[np.ix_(idx, idx)],
                      measured=base.latency.measured[np.ix_(idx, idx)])
    other = replace(base, regions=keep, latency=latency)
    lines = differences(base, other)
    n = len(base.regions)
    assert lines[0] == "regions: removed " + ", ".join(r.id for r in base.regions[10:])
    assert lines[1] == (f"latency.region_ids = {', '.join(ids[:8])}, ... (10 in all) "
                        f"(baseline {', '.join(r.id for r in base.regions[:8])}, ... ({n} in "
                        "all))")
    assert lines[2:] == [f"latency.rtt_ms: shape (10, 10) (baseline ({n}, {n}))",
                         f"latency.measured: shape (10, 10) (baseline ({n}, {n}))"]


def test_classes_added_and_numbers_of_either_type(base: Scenario) -> None:
    """A listed class added or removed is counted as such; 4 and 4.0 are the same setting."""
    first = base.operators[0]
    fewer = replace(base, operators=(replace(first, classes=first.classes[1:]),
                                     *base.operators[1:]))
    k = len(base.operators)
    assert differences(base, fewer) == [
        f"operators.classes: removed 1 classes of 1 of {k} listed operators"]
    assert differences(fewer, base) == [
        f"operators.classes: added 1 classes of 1 of {k} listed operators"]
    as_float = replace(base, market=replace(base.market, expansion_lag_hours=float(
        base.market.expansion_lag_hours)))
    assert differences(base, as_float) == []


def test_the_same_change_in_several_entries_is_one_line(base: Scenario) -> None:
    other = load_scenario(overrides={
        "templates.interactive.deadline_hours": 4, "templates.interactive.deferrable_share": 0.3,
        "templates.batch.deadline_hours": 4, "templates.batch.deferrable_share": 0.5,
        "grid.carbon_price_usd_per_t.rggi": 50.0, "grid.carbon_price_usd_per_t.eu_ets": 50.0})
    lines = differences(base, other)
    assert len(lines) == 4 + 3  # and the listed classes: deadline 4 h, shares 0.3 and 0.5
    assert sorted(lines[:4]) == sorted([
        "grid.carbon_price_usd_per_t.{rggi, eu_ets} = 50 $/t "
        "(baseline not set: shipped 2024 price)",
        "templates.{interactive, batch}.deadline_hours = 4 h (baseline not set)",
        "templates.interactive.deferrable_share = 0.3 (baseline not set)",
        "templates.batch.deferrable_share = 0.5 (baseline not set)"])
