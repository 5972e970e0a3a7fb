"""Plausibility (abm/config/plausibility.py, abm/data/plausible_ranges.csv): a value far outside
its typical range warns, naming the file, the field, the range and its source; an impossible
one is an error; nothing shipped warns."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import pytest

from abm.cli import main
from abm.config.plausibility import RANGES_FILE, ranges
from abm.config.scenario import load_scenario, shipped_scenarios
from abm.errors import InputError, PlausibilityWarning
from abm.sweeps import load_spec

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((ROOT / "experiments" / "scenarios").glob("*.toml"))


def extended(write_scenario, text: str) -> Path:
    return write_scenario(f'extends = "default"\n[scenario]\nname = "x"\n{text}')


def test_a_pue_of_115_warns_naming_the_typical_range_and_its_source(write_scenario):
    path = extended(write_scenario, "[regions.set.eu-ireland]\npue = 115.0\n")
    with pytest.warns(PlausibilityWarning) as caught:
        load_scenario(path)
    (text,) = [str(w.message) for w in caught]
    assert text.startswith(f"{path}: regions.set.eu-ireland.pue: 115 is outside the typical "
                           "range, 1 to 2; is the unit right?")
    assert "Uptime Institute" in text


def test_grams_written_as_kilograms_warn(write_scenario):
    path = extended(write_scenario, "[zones.set.IE]\navg_carbon_g_per_kwh = 0.35\n")
    with pytest.warns(PlausibilityWarning, match=r"zones\.set\.IE\.avg_carbon_g_per_kwh: 0\.35 "
                      r"g/kWh is outside the typical range, 1 to 1,000 g/kWh"):
        load_scenario(path)


def test_one_warning_per_value_names_every_field_that_holds_it(write_scenario):
    path = extended(write_scenario, "[regions.all]\npue = 3.0\n")
    with pytest.warns(PlausibilityWarning) as caught:
        load_scenario(path)
    (text,) = [str(w.message) for w in caught]
    assert "regions.set.us-east-va.pue, regions.set.us-west-or.pue" in text
    assert f"and {len(load_scenario().regions) - 3} more: 3 is outside" in text


@pytest.mark.parametrize(("text", "field"), [
    ("[population]\ntotal_demand_mw = 3e9\n",
     "operators[*].classes[*].demand_mw + population.total_demand_mw"),
    ("[zones.set.DE-LU]\navg_carbon_g_per_kwh = 2400.0\n", "zones.set.DE-LU.avg_carbon_g_per_kwh"),
    ("[zones.set.DE-LU]\nload_mw = 4e7\n", "zones.set.DE-LU.load_mw"),
])
def test_an_impossible_value_is_an_error_naming_the_bound(write_scenario, text, field):
    path = extended(write_scenario, text)
    with pytest.raises(InputError, match="is impossible: expected at most") as caught:
        load_scenario(path)
    assert caught.value.field == field and "is the unit right?" in caught.value.problem


def test_3e9_mw_of_one_operators_demand_is_impossible(write_scenario):
    path = extended(write_scenario, '[[operators]]\nid = "atlas"\n[[operators.classes]]\n'
                    'id = "big"\ntemplate = "batch"\nclient = "us-east-va"\ndemand_mw = 3e9\n')
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert caught.value.field == "operators[0] (atlas).classes[*].demand_mw (summed)"


@pytest.mark.parametrize("path", [*shipped_scenarios().values(), *EXPERIMENTS],
                         ids=lambda p: p.stem)
def test_nothing_shipped_warns(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scenario(path)


def test_abm_check_warns_on_stderr_and_still_checks(write_scenario, capsys):
    path = extended(write_scenario, "[regions.set.eu-ireland]\npue = 115.0\n")
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err.startswith(f"warning: {path}: regions.set.eu-ireland.pue: 115 is outside")
    assert len(err.splitlines()) == 1 and out.rstrip().endswith("ok")
    big = extended(write_scenario, "[population]\ntotal_demand_mw = 3e9\n")
    assert main(["check", str(big)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {big}: operators[*]")


def test_a_sweep_warns_before_it_runs_and_refuses_an_impossible_range(tmp_path):
    spec = tmp_path / "s.toml"
    body = ('[sweep]\nname = "s"\nscenario = "default"\nhours = 1\nseed = 1\ndesign = "grid"\n'
            '[parameters."policy.carbon_price_usd_per_t"]\nvalues = [0.0, {top}]\n'
            '[outcomes]\nscalars = ["cost_usd"]\n')
    spec.write_text(body.format(top=900.0))
    with pytest.warns(PlausibilityWarning, match=r"policy\.carbon_price_usd_per_t: 900 \$/t"):
        load_spec(spec)
    spec.write_text(body.replace("policy.carbon_price_usd_per_t", "population.total_demand_mw")
                    .format(top=3e9).replace("[0.0,", "[300.0,"))
    with pytest.raises(InputError, match=r"population\.total_demand_mw.*is impossible"):
        load_spec(spec)


def test_the_table_is_whole_and_in_the_docs():
    """Every range has a source and typical bounds inside the possible ones; docs/scenarios.md
    lists each quantity with its typical and possible range as the table states them."""
    with open(RANGES_FILE, encoding="utf-8") as fh:
        assert [row["quantity"] for row in csv.DictReader(fh)] == list(ranges())
    doc = (ROOT / "docs" / "scenarios.md").read_text()
    for r in ranges().values():
        assert r.source.strip() and r.typical_min < r.typical_max
        assert r.possible_min <= r.typical_min and r.typical_max <= r.possible_max
        possible = ("" if math.isinf(r.possible_min) and math.isinf(r.possible_max)
                    else r.span(r.possible_min, r.possible_max))
        row = f"| `{r.quantity}` | {r.span(r.typical_min, r.typical_max)} | {possible} |"
        assert row in doc, row
