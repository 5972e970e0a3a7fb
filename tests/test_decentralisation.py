"""The price of decentralisation: the planner beside the market for the same hours and demand.
Where nothing couples operators the market is the planner (gap 0 on every outcome); where they
compete for scarce capacity first come, first served, the planner does at least as well on its
own objective from the same starting point."""

from __future__ import annotations

import numpy as np
import pytest

import abm
from abm.report.decentralisation import QUANTITIES, planner, price_of_decentralisation
from tests.conftest import SMALL

UNCOUPLED = SMALL.replace("hours = 3", "hours = 4") + """
[market]
grid_response = "exogenous"

[[operators]]
id = "second"
warmup_usd_per_mw = 30.0

[[operators.classes]]
id = "b"
template = "batch"
client = "us-east-va"
demand_mw = 6.0
"""


def test_market_is_the_planner_when_nothing_couples_operators(write_scenario):
    run = abm.simulate(write_scenario(UNCOUPLED), operator_detail=False)
    assert run.summary["moved_mwh"] > 0  # operators do move: the comparison is not idle
    gap = price_of_decentralisation(run)
    assert list(gap.index) == list(QUANTITIES)
    np.testing.assert_allclose(gap.market, gap.planner, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(gap.gap, 0.0, atol=1e-6)


def test_planner_beats_rationing_on_scarce_capacity(write_scenario):
    """Both operators want the cheap region (eu-sweden), which holds 8 of their 16 MW: rationed
    in proportion, each gets half; the planner gives it to the one that gains more, so the
    market pays more for the same emissions and no unserved demand: a positive price of
    decentralisation."""
    text = UNCOUPLED.replace(
        'include = ["eu-france", "eu-sweden", "eu-frankfurt", "us-east-va"]',
        'include = ["eu-france", "eu-sweden", "eu-frankfurt", "us-east-va"]\n'
        'set.eu-sweden.capacity_mw = 8.0').replace(
        'grid_response = "exogenous"', 'grid_response = "exogenous"\nallocation = "proportional"')
    run = abm.simulate(write_scenario(text), operator_detail=False)
    assert (run.regions[run.regions.region == "eu-sweden"].load_mw == 8.0).all()  # binds
    gap = price_of_decentralisation(run)
    assert gap.loc["cost_usd", "gap"] > 1.0
    assert gap.loc["cost_usd", "gap_pct"] == pytest.approx(
        100 * gap.loc["cost_usd", "gap"] / gap.loc["cost_usd", "planner"])
    hours = planner(run)
    assert len(hours) == 4 and (hours.unserved_mwh == 0).all()
