"""Scenario settings that say a published set-up in a few keys: capacity as a multiple of local
demand or unlimited, ``[regions.all]``, the price-free carbon-only objective; and what
``abm check`` reports as set by the scenario against shipped assumptions."""

from __future__ import annotations

import numpy as np
import pytest

from abm.cli import main
from abm.config.scenario import load_scenario
from abm.core.costs import unit_cost
from abm.core.instance import compile_scenario
from abm.core.signals import mean_signals
from abm.errors import InputError
from tests.conftest import CONVERSATIONAL_TEMPLATE, SMALL

# SMALL: one 10 MW batch class from eu-frankfurt; add a 4 MW conversational one from eu-france
TWO = SMALL + CONVERSATIONAL_TEMPLATE.format(state=0.0) + """
[[operators.classes]]
id = "c"
template = "conversational"
client = "eu-france"
demand_mw = 4.0
"""
REGIONS = ["eu-france", "eu-sweden", "eu-frankfurt", "us-east-va"]


def add(text: str, extra: str) -> str:
    """``text`` with ``extra`` TOML: keys under a ``[policy]`` or ``[regions]`` header that
    ``text`` already has go into that table; other tables are appended."""
    for header in ("[policy]\n", "[regions]\n"):
        if extra.startswith(header):
            keys, _, rest = extra[len(header):].partition("\n[")
            text = text.replace(header, header + keys.rstrip("\n") + "\n", 1)
            extra = "[" + rest if rest else ""
    return text + "\n" + extra


def compiled(write_scenario, extra: str):
    return compile_scenario(load_scenario(write_scenario(add(TWO, extra))))


def test_capacity_as_a_multiple_of_local_demand(write_scenario):
    inst = compiled(write_scenario, '[regions]\ncapacity = "local_demand"\n'
                                    "capacity_per_local_demand = 2.5\n")
    cap = dict(zip(inst.region_ids, inst.capacity_mw, strict=True))
    assert cap == {"eu-france": 10.0, "eu-sweden": 0.0, "eu-frankfurt": 25.0, "us-east-va": 0.0}


def test_unlimited_capacity_holds_all_demand_at_its_peak(write_scenario):
    """10 MW batch (flat) + 4 MW conversational (amplitude 0.3): 10 + 4 x 1.3 = 15.2 MW."""
    inst = compiled(write_scenario, '[regions]\ncapacity = "unlimited"\n')
    np.testing.assert_allclose(inst.capacity_mw, 15.2)


def test_regions_all_sets_every_region_and_set_still_wins(write_scenario):
    inst = compiled(write_scenario, "\n[regions.all]\npue = 1.0\negress_usd_per_gb = 0.0\n"
                                    "[regions.set.eu-sweden]\npue = 1.3\n")
    pue = dict(zip(inst.region_ids, inst.pue, strict=True))
    assert pue == {"eu-france": 1.0, "eu-sweden": 1.3, "eu-frankfurt": 1.0, "us-east-va": 1.0}
    assert (inst.egress_usd_per_gb == 0.0).all()


@pytest.mark.parametrize(("extra", "field", "message"), [
    ("[regions]\ncapacity_per_local_demand = 2.0\n", "regions.capacity_per_local_demand",
     "only with capacity"),
    ('[regions]\ncapacity = "local_demand"\n', "regions.capacity_per_local_demand", "is required"),
    ('[regions]\ncapacity = "local_demand"\ncapacity_per_local_demand = 0.0\n',
     "regions.capacity_per_local_demand", "> 0"),
    ('[regions]\ncapacity = "infinite"\n', "regions.capacity", "listed, unlimited, local_demand"),
    ('[regions]\ncapacity = "unlimited"\n[regions.set.eu-france]\ncapacity_mw = 3.0\n',
     "regions.capacity", "eu-france"),
    ("[regions.all]\nzone = \"FR\"\n", "regions.all.zone", "pue, egress_usd_per_gb"),
    ("[regions.all]\npue = 0.9\n", "regions.all.pue", ">= 1.0"),
    ('[policy]\nobjective = "profit"\n', "policy.objective", "cost, carbon"),
])
def test_bad_settings_name_the_field_and_what_is_allowed(write_scenario, extra, field, message):
    with pytest.raises(InputError) as err:
        load_scenario(write_scenario(add(TWO, extra)))
    assert field in str(err.value) and message in str(err.value)


def test_carbon_objective_is_price_free(write_scenario):
    """c = PUE x tau x mu: with 100 $/t on marginal carbon, a region's cost per MWh is
    PUE x 0.1 x marginal g/kWh, whatever its price, rent, egress or the latency penalty."""
    text = TWO.replace("[policy]\n", '[policy]\nobjective = "carbon"\n') + \
        "\n[regions.set.eu-sweden]\nrent_usd_per_mwh = 30.0\n"
    scn = load_scenario(write_scenario(text))
    inst = compile_scenario(scn)
    sig = mean_signals(scn)
    cost = unit_cost(inst, sig)
    expected = inst.pue * 100.0 * sig.marginal_carbon_kg_per_mwh[inst.zone_index] / 1e3
    np.testing.assert_allclose(cost[0, 0], expected)
    np.testing.assert_allclose(cost[0, 1], expected)
    priced = unit_cost(compile_scenario(scn.with_policy(objective="cost")), sig)
    assert (priced[0, 0] > cost[0, 0]).all()


def test_check_shows_what_the_scenario_set_not_as_shipped_assumptions(write_scenario, capsys):
    """eu-frankfurt's capacity is a shipped assumption; once the scenario sets it, check lists
    it under what the scenario set, with the value, and no longer as an assumption."""
    assert main(["check", str(write_scenario(SMALL))]) == 0
    before = capsys.readouterr().out
    assert "eu-frankfurt.capacity" in before.split("shipped assumptions")[1]
    text = SMALL + "\n[regions.set.eu-frankfurt]\ncapacity_mw = 12.0\n[zones.set.FR]\n" \
        "price_usd_per_mwh = 70.0\n"
    assert main(["check", str(write_scenario(text))]) == 0
    out = capsys.readouterr().out
    own = out.split("levers set by scenario.toml")[1].split("shipped assumptions")[0]
    assert "regions.set.eu-frankfurt.capacity_mw  12 MW  (shipped " in own
    assert "zones.set.FR.price_usd_per_mwh        70 $/MWh  (shipped " in own
    assumed = out.split("shipped assumptions")[1]
    assert "eu-frankfurt.capacity" not in assumed and "FR.price" not in assumed
