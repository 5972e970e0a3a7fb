"""``abm check`` lists every lever a scenario sets, with its value, unit, the file that sets it
and the default it replaces, read from the files and the schema (abm/config/levers.py)."""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from abm.cli import main
from abm.config.levers import levers, show, unit_of
from abm.config.schema import TABLES

SCENARIOS = Path(__file__).resolve().parents[1] / "experiments" / "scenarios"


def lever_lines(out: str, source: str) -> dict[str, str]:
    """path -> the rest of the line, of the levers ``abm check`` lists under ``source``."""
    block = out.split(f" {source} (")[1].split("\nlevers ")[0].split("\nshipped ")[0]
    return {line.split()[0]: line.split(None, 1)[1] for line in block.splitlines()[1:]}


def test_check_names_the_carbon_price_the_scenario_sets(capsys):
    assert main(["check", str(SCENARIOS / "carbon_price.toml")]) == 0
    out = capsys.readouterr().out
    assert "levers set by carbon_price.toml (1):" in out
    own = lever_lines(out, "carbon_price.toml")
    assert own == {"policy.carbon_price_usd_per_t": "100 $/t  (default 0 $/t)"}
    inherited = lever_lines(out, "default.toml")
    assert inherited["policy.residency"] == "strict_eu, sovereign_cn  (default none)"
    assert inherited["market.pricing"] == "utilisation_target  (default fixed)"
    assert "operators' carbon price 100 $/t" in out


def test_check_names_moratoria_caps_and_what_comes_from_each_parent(capsys):
    assert main(["check", str(SCENARIOS / "moratoria.toml")]) == 0
    out = capsys.readouterr().out
    own = lever_lines(out, "moratoria.toml")
    assert own["policy.moratorium"].startswith("eu-ireland, eu-netherlands, sg-singapore")
    for region in ("eu-ireland", "eu-netherlands", "sg-singapore"):
        assert own[f"policy.grid_connection_cap_mw.{region}"].startswith("100 MW")
    parent = lever_lines(out, "demand_x3.toml")
    assert parent["population.total_demand_mw"].startswith("900 MW")
    assert parent["operators"].startswith("6: atlas")
    assert "1,122 MW" in parent["operators"]  # the listed classes' demand, tripled


def test_a_generator_carbon_price_is_shown_as_set_not_as_the_operators(write_scenario, capsys):
    path = write_scenario("""
        extends = "default"
        [scenario]
        name = "eu120"
        [grid.carbon_price_usd_per_t]
        eu_ets = 120.0
        [grid.interconnectors]
        capacity_scale = 0.5
        [regions.set.eu-ireland]
        pue = 1.3
        """)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    own = lever_lines(out, "scenario.toml")
    assert own["grid.carbon_price_usd_per_t.eu_ets"] == "120 $/t  (shipped 72.49 $/t)"
    assert own["grid.interconnectors.capacity_scale"] == "0.5  (default 1)"
    assert own["regions.set.eu-ireland.pue"] == "1.3  (shipped 1.08)"
    assert "carbon price on generators ($/t): eu_ets 120," in out
    assert "operators' carbon price 0 $/t" in out and "\npolicy     carbon price" not in out


def test_an_inherited_value_the_file_sets_again_counts_as_its_own(write_scenario):
    """A file that repeats its parent's value sets it; a value at the default inherited from a
    parent is not a lever."""
    path = write_scenario('extends = "default"\n[scenario]\nname = "x"\n'
                          '[market]\npricing = "utilisation_target"\n')
    found = {lv.path: lv for lv in levers(path)}
    assert found["market.pricing"].source == "scenario.toml"
    assert found["market.grid_response"].source == "default.toml"
    assert "policy.carbon_price_usd_per_t" not in found  # default.toml sets 0, the default
    assert next(lv.source for lv in levers(path)) == "scenario.toml"  # its own first


SCALARS = [(table, f) for table, cls in TABLES.items() for f in fields(cls)
           if f.default is not MISSING and isinstance(f.default, bool | int | float | str)]


@pytest.mark.parametrize(("table", "f"), SCALARS, ids=[f"{t}.{f.name}" for t, f in SCALARS])
def test_every_setting_of_the_schema_is_listed_when_changed(write_scenario, table, f):
    """The list is the schema's: each of its scalar settings, changed, is listed with its unit
    and the schema's default (no hand-kept list of levers)."""
    key = f.metadata.get("key", f.name)
    value = (not f.default if isinstance(f.default, bool) else f.default + 1
             if isinstance(f.default, int | float) else f"not_{f.default}")
    head, _, leaf = f"{table}.{key}".rpartition(".")
    toml = {bool: str(value).lower(), str: f'"{value}"'}.get(type(value), repr(value))
    path = write_scenario(f'[scenario]\nname = "x"\n[{head}]\n{leaf} = {toml}\n')
    found = {lv.path: lv for lv in levers(path)}
    unit = f.metadata.get("unit", unit_of(f.name))
    assert found[f"{table}.{key}"].value == show(value, unit)
    assert found[f"{table}.{key}"].default == f"default {show(f.default, unit)}"


def test_units_come_from_names():
    assert unit_of("carbon_price_usd_per_t") == "$/t"
    assert unit_of("rent_step_usd_per_mwh") == "$/MWh"
    assert unit_of("warmup_usd_per_mw") == "$/MW"
    assert unit_of("latency_penalty_usd_per_ms_mwh") == "$/(ms MWh)"
    assert unit_of("expansion_lag_hours") == "h"
    assert unit_of("egress_scale") == ""
    assert show([0.0, 25.0, 100.0], "$/t") == "0, 25, 100 $/t"
    assert show(1e-4, "MW") == "0.0001 MW" and show(2500.0, "MW") == "2,500 MW"
