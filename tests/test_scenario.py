"""Scenario files: the shipped default loads; every kind of bad input gets one clear error."""

from __future__ import annotations

import re

import pytest

from abm.config.scenario import load_scenario
from abm.errors import InputError
from tests.conftest import ATYPICAL, SMALL


def test_default_scenario_loads():
    scn = load_scenario()
    assert scn.name == "default"
    assert len(scn.regions) == 23
    assert scn.hours == 168
    assert sum(k.demand_mw for o in scn.operators for k in o.classes) == pytest.approx(374.0)


def test_small_scenario_fields(write_scenario):
    scn = load_scenario(write_scenario(SMALL))
    assert scn.region_ids == ("eu-france", "eu-sweden", "eu-frankfurt", "us-east-va")
    (op,) = scn.operators
    assert op.footprint == scn.region_ids  # "*" by default
    (k,) = op.classes
    assert (k.kind, k.budget_ms, k.egress_gb_per_mwh, k.stateful) == ("batch", 1000.0, 30.0, False)
    assert scn.policy.carbon_price_at("EU") == 100.0
    # RTT comes from the shipped matrix and is symmetric with a zero diagonal
    assert (scn.latency.rtt_ms == scn.latency.rtt_ms.T).all()
    assert scn.latency.rtt_ms.diagonal().tolist() == [0.0] * 4


@ATYPICAL  # a negative annual price, to show it is read
def test_overrides_and_extends(write_scenario):
    write_scenario(SMALL, "base.toml")
    child = write_scenario("""
        extends = "base.toml"
        [scenario]
        name = "child"
        [regions.set.eu-sweden]
        capacity_mw = 7.5
        [zones.set.FR]
        price_usd_per_mwh = -3.0
        [policy]
        carbon_price_by_jurisdiction = { US = 5.0 }
    """, "child.toml")
    scn = load_scenario(child)
    assert scn.name == "child" and scn.hours == 3  # inherited
    assert {r.id: r.capacity_mw for r in scn.regions}["eu-sweden"] == 7.5
    assert {z.id: z.price_usd_per_mwh for z in scn.zones}["FR"] == -3.0
    assert scn.policy.carbon_price_usd_per_t == 100.0
    assert scn.policy.carbon_price_at("US") == 5.0


def test_added_region_with_distance_model(write_scenario):
    path = write_scenario(SMALL + """
        [[regions.add]]
        id = "no-oslo"
        name = "Norway (Oslo)"
        lat = 59.91
        lon = 10.75
        zone = "SE3"
        jurisdiction = "EU"
        pue = 1.1
        egress_usd_per_gb = 0.02
        capacity_mw = 50.0
        [latency]
        missing = "distance"
    """)
    scn = load_scenario(path)
    i, j = scn.region_ids.index("no-oslo"), scn.region_ids.index("eu-sweden")
    # about 417 km Oslo-Stockholm: 7 + 417/59 = 14.07 ms
    assert scn.latency.rtt_ms[i, j] == pytest.approx(7 + 417 / 59, abs=0.3)
    assert not scn.latency.measured[i, j]


def _error(write_scenario, text: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(write_scenario(text))
    return info.value


BAD_CASES = [
    # (description, replacement of a line of SMALL, expected field, words in the message)
    ("unknown key", ('id = "op"', 'id = "op"\ncolour = "red"'), "operators[0].colour",
     "unknown key"),
    ("wrong type", ("demand_mw = 10.0", 'demand_mw = "ten"'),
     "operators[0].classes[0].demand_mw", "expected a number"),
    ("negative demand", ("demand_mw = 10.0", "demand_mw = -1.0"),
     "operators[0].classes[0].demand_mw", ">= 0"),
    ("NaN", ("demand_mw = 10.0", "demand_mw = nan"),
     "operators[0].classes[0].demand_mw", "finite"),
    ("infinite", ("carbon_price_usd_per_t = 100.0", "carbon_price_usd_per_t = inf"),
     "policy.carbon_price_usd_per_t", "finite"),
    ("negative capacity", ("[policy]", "[regions.set.eu-france]\ncapacity_mw = -5.0\n[policy]"),
     "regions.set.eu-france.capacity_mw", ">= 0"),
    ("unknown jurisdiction", ("[policy]", "[policy]\ncarbon_price_by_jurisdiction = { XX = 1.0 }"),
     "policy.carbon_price_by_jurisdiction.XX", "unknown jurisdiction"),
    ("unknown residency regime", ("[policy]", '[policy]\nresidency = ["gdpr_max"]'),
     "policy.residency", "allowed: none, strict_eu, sovereign_cn, custom"),
    ("unknown region", ('include = ["eu-france",', 'include = ["mars-1", "eu-france",'),
     "regions.include", "unknown region"),
    ("unknown client", ('client = "eu-frankfurt"', 'client = "atlantis"'),
     "operators[0].classes[0].client", "allowed"),
    ("unknown template", ('template = "batch"', 'template = "bulk"'),
     "operators[0].classes[0].template", "unknown template"),
    ("missing field", ("demand_mw = 10.0", ""), "operators[0].classes[0].demand_mw", "required"),
    ("bad choice", ("[policy]", '[policy]\nplacement_signal = "lifecycle"'),
     "policy.placement_signal", "allowed: marginal, average"),
    ("bad moved-water rule", ("[policy]", '[grid]\nmoved_water = "spilled"\n[policy]'),
     "grid.moved_water", "allowed: displaced_unit, nothing_burnt"),
    ("zero hours", ("hours = 3", "hours = 0"), "scenario.hours", ">= 1"),
    ("capacity share above one", ('id = "op"', 'id = "op"\ncapacity_share = 1.5'),
     "operators[0].capacity_share", "<= 1"),
    ("PUE below one", ("[policy]", "[regions.set.eu-france]\npue = 0.9\n[policy]"),
     "regions.set.eu-france.pue", ">= 1"),
]


@pytest.mark.parametrize(("what", "edit", "field", "words"), BAD_CASES,
                         ids=[c[0] for c in BAD_CASES])
def test_bad_input_names_file_field_and_allowed(write_scenario, what, edit, field, words):
    old, new = edit
    assert old in SMALL, what
    err = _error(write_scenario, SMALL.replace(old, new, 1))
    assert err.field == field
    assert words in err.problem
    assert err.source.endswith("scenario.toml")
    assert str(err).startswith(err.source)


@pytest.mark.parametrize(("table", "allowed"), [
    ("regions.set.eu-ireland", "capacity_mw, egress_usd_per_gb, jurisdiction, lat, lon, name, pue, "
                               "rent_usd_per_mwh, zone"),
    ("zones.set.IE", "avg_carbon_g_per_kwh, load_mw, marginal_carbon_g_per_kwh, name, "
                     "price_usd_per_mwh"),
    ("templates.batch", "budget_ms, deadline_hours, deferrable_share, diurnal_amplitude, "
                        "egress_gb_per_mwh, overhead_ms, state_gb_per_mw, stateful"),
    ("grid", "calibrate_prices, carbon_price_elsewhere_usd_per_t, carbon_price_usd_per_t, data, "
             "interconnectors, moved_water, scale"),
    ("signals", "trace"),
    ("market", "allocation, expansion_fraction, expansion_lag_hours, expansion_review_hours, "
               "expansion_threshold, forecast_noise, grid_response, operator_detail, pricing, "
               "rent_floor_usd_per_mwh, rent_step_usd_per_mwh, rent_target_utilisation, solver"),
])
def test_an_unknown_key_lists_every_key_allowed_there(table, allowed):
    """Keys the file may leave out are allowed too, and listed (they were once missing from
    the list unless the file gave them: an empty list for regions.set.ID); a key no longer
    allowed (market.checkpoint_hours) is not."""
    with pytest.raises(InputError) as info:
        load_scenario(overrides={f"{table}.colour": 1})
    assert info.value.field == f"{table}.colour"
    assert info.value.problem == f"unknown key; allowed here: {allowed}"


def test_region_missing_from_latency_data(write_scenario):
    err = _error(write_scenario, SMALL + """
        [[regions.add]]
        id = "no-oslo"
        name = "Norway (Oslo)"
        lat = 59.91
        lon = 10.75
        zone = "SE3"
        jurisdiction = "EU"
        pue = 1.1
        egress_usd_per_gb = 0.02
        capacity_mw = 50.0
    """)
    assert err.field == "latency.pairs"
    assert "no-oslo" in err.problem and "latency.missing = 'distance'" in err.problem


def test_added_region_with_unknown_jurisdiction(write_scenario):
    err = _error(write_scenario, SMALL + """
        [[regions.add]]
        id = "x"
        name = "X"
        lat = 0.0
        lon = 0.0
        zone = "SE3"
        jurisdiction = "Atlantis"
        pue = 1.1
        egress_usd_per_gb = 0.02
        capacity_mw = 50.0
    """)
    assert err.field == "regions.add[0].jurisdiction"
    assert "allowed: US, CA" in err.problem


def test_not_toml_and_missing_file(write_scenario, tmp_path):
    err = _error(write_scenario, "[scenario\nname=")
    assert "not valid TOML" in err.problem
    with pytest.raises(InputError, match=re.escape("nope.toml': no such scenario file, and no "
                                                   "shipped scenario of that name (shipped: "
                                                   "default, scale)")):
        load_scenario(tmp_path / "nope.toml")


def test_circular_extends(write_scenario):
    write_scenario('extends = "b.toml"\n', "a.toml")
    path = write_scenario('extends = "a.toml"\n', "b.toml")
    with pytest.raises(InputError, match="circular"):
        load_scenario(path)


def test_cli_reports_error_without_traceback(write_scenario, capsys):
    from abm.cli import main

    path = write_scenario(SMALL.replace("demand_mw = 10.0", "demand_mw = -1.0"))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "operators[0].classes[0].demand_mw" in err


def test_deferral_settings_reach_listed_and_drawn_classes(write_scenario):
    """A template's deferrable share and deadline go to the classes that use it, listed or
    drawn; a class's own setting wins; everything else stays interactive (0, 0)."""
    import numpy as np

    from abm.core.instance import compile_scenario

    text = SMALL.replace("stateful = false", "stateful = false\ndeferrable_share = 0.3\n"
                         "deadline_hours = 2", 1) + """
[[operators.classes]]
id = "own"
template = "batch"
client = "eu-frankfurt"
demand_mw = 5.0
deadline_hours = 1

[population]
operators = 3
total_demand_mw = 10.0
"""
    inst = compile_scenario(load_scenario(write_scenario(text)))
    listed = inst.operator_ids.index("op")
    np.testing.assert_array_equal(inst.deferrable_share[listed, :2], [0.3, 0.3])
    np.testing.assert_array_equal(inst.deadline_hours[listed, :2], [2, 1])
    drawn = [o for o, i in enumerate(inst.operator_ids) if i.startswith("gen")]
    assert (inst.deferrable_share[drawn][inst.valid[drawn]] == 0.3).all()
    assert (inst.deadline_hours[drawn][inst.valid[drawn]] == 2).all()
    assert (inst.deadline_hours[~inst.valid] == 0).all()
