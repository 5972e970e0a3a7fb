"""The report's findings: generated from the numbers (hand-computed here), identical results
flagged, a scenario compared with the scenario it extends, and the report's new sections."""

from __future__ import annotations

import pandas as pd

import abm
from abm.report.findings import findings, identical, parents
from abm.report.run_report import headline_numbers, write_report
from tests.conftest import SMALL


def table(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    base = {"demand_mwh": 100.0, "served_mwh": 100.0, "unserved_mwh": 0.0, "moved_mwh": 0.0,
            "cost_usd": 1000.0, "emissions_average_kg": 4000.0, "emissions_marginal_kg": 9000.0,
            "emissions_system_kg": 10000.0, "relocated_share": 0.5}
    return pd.DataFrame([{**base, **r} for r in rows.values()], index=list(rows))


def test_trade_off_and_disagreeing_bases_by_hand():
    t = table({"base": {}, "tax": {"cost_usd": 1500.0, "emissions_system_kg": 5000.0,
                                   "emissions_average_kg": 4400.0},
               "same": {}})
    text = " ".join(map(str, findings(t, [], None)))
    # 5 t avoided for $500: $100 per tonne
    assert "Trade-off in tax: system emissions fall by 5 t for $500 more, about $100 per " \
           "tonne avoided (operators' cost, carbon payments included" in text
    assert "Largest changes in cost against the baseline: tax +50.0%." in text
    assert "Largest changes in system emissions against the baseline: tax -50.0%." in text
    # average-attributed emissions rise 10% while the system's fall
    assert "The bases disagree in tax: emissions attributed on average intensity rise " \
           "(+10.0%)" in text
    assert "same gives exactly the same results as base" in text
    assert identical(t) == [("base", "same")]


def test_more_demand_is_compared_per_mwh():
    t = table({"base": {}, "x3": {"demand_mwh": 300.0, "cost_usd": 3300.0,
                                  "emissions_system_kg": 30000.0}})
    text = " ".join(map(str, findings(t, [], None)))
    assert "per MWh of demand against the baseline: x3 +10.0%" in text  # 11 vs 10 $/MWh
    assert "Demand differs in x3" in text


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
    assert text.index("## Findings") < text.index("## Set-up and assumptions")
    assert "## cheap_zero_egress against cheap, the scenario it extends" in text
    assert "**cheap_zero_egress** against **cheap**, the scenario it extends" in text
    assert "## The price of decentralisation" in text
    assert "| cost (energy + carbon + rent + network + migration) | k$ |" in text
    assert "|   of which carbon | k$ |" in text
    assert "Short runs (2 h)" in text
