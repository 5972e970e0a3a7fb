"""Shared fixtures: small scenario files written to a temporary folder."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (the suite is reproducible, CI included);
# `HYPOTHESIS_PROFILE=explore` draws fresh random examples on each run, to search for
# new counterexamples (README, "Tests").
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# A test whose scenario holds values far outside their typical ranges on purpose (a VoLL low
# enough to leave demand unserved, zones small enough to clear by hand): the plausibility
# warnings (abm.config.plausibility) are expected there, and say nothing about the code.
ATYPICAL = pytest.mark.filterwarnings("ignore::abm.errors.PlausibilityWarning")

BATCH_TEMPLATE = """
[templates.batch]
budget_ms = 1000.0
overhead_ms = 0.0
egress_gb_per_mwh = 30.0
state_gb_per_mw = 0.0
stateful = false
"""
CONVERSATIONAL_TEMPLATE = """
[templates.conversational]
budget_ms = 150.0
overhead_ms = 0.0
egress_gb_per_mwh = 15.0
state_gb_per_mw = {state}
stateful = false
diurnal_amplitude = 0.3
"""  # fill in {state}: GB of session state per MW moved

SMALL = """
[scenario]
name = "small"
start = 2024-01-08T00:00:00
hours = 3

[regions]
include = ["eu-france", "eu-sweden", "eu-frankfurt", "us-east-va"]

[policy]
carbon_price_usd_per_t = 100.0

""" + BATCH_TEMPLATE + """
[[operators]]
id = "op"
warmup_usd_per_mw = 10.0

[[operators.classes]]
id = "b"
template = "batch"
client = "eu-frankfurt"
demand_mw = 10.0
"""


@pytest.fixture
def write_scenario(tmp_path):
    """Write TOML text to a file and return its path."""

    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> Path:
    """An ``abm run`` folder of the shipped default scenario, its first 5 hours (the
    dashboard's viewer tests read it)."""
    from abm.config.scenario import load_scenario
    from abm.market.run import run_market

    out = tmp_path_factory.mktemp("default-run")
    run_market(load_scenario(), out, hours=5)
    return out
