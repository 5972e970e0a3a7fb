"""A scenario's own hourly trace replaces the profile signals exactly where it has data."""

from __future__ import annotations

import numpy as np
import pytest

from abm.config.scenario import load_scenario
from abm.core.signals import profile_signals
from abm.errors import InputError
from tests.conftest import SMALL

TRACE = """zone,timestamp,price_usd_per_mwh,carbon_g_per_kwh
FR,2024-01-08T00:00:00,10.0,20.0
FR,2024-01-08T01:00:00,11.0,21.0
FR,2024-01-08T02:00:00,12.0,22.0
DE-LU,2024-01-08T00:00:00,,300.0
DE-LU,2024-01-08T01:00:00,,301.0
DE-LU,2024-01-08T02:00:00,,302.0
"""


def _scenario(write_scenario, tmp_path, trace_text: str):
    (tmp_path / "trace.csv").write_text(trace_text)
    return load_scenario(write_scenario(SMALL + '\n[signals]\ntrace = "trace.csv"\n'))


def test_trace_replaces_profiles_where_it_has_data(write_scenario, tmp_path):
    scn = _scenario(write_scenario, tmp_path, TRACE)
    plain = load_scenario(write_scenario(SMALL, "plain.toml"))
    sig, base = profile_signals(scn), profile_signals(plain)
    zones = [z.id for z in scn.zones]
    fr, de, se = zones.index("FR"), zones.index("DE-LU"), zones.index("SE3")
    np.testing.assert_array_equal(sig.price_usd_per_mwh[:, fr], [10.0, 11.0, 12.0])
    np.testing.assert_array_equal(sig.avg_carbon_kg_per_mwh[:, fr], [20.0, 21.0, 22.0])
    np.testing.assert_array_equal(sig.avg_carbon_kg_per_mwh[:, de], [300.0, 301.0, 302.0])
    # DE-LU price and every SE3 series are not in the file: the profiles stay
    np.testing.assert_array_equal(sig.price_usd_per_mwh[:, de], base.price_usd_per_mwh[:, de])
    np.testing.assert_array_equal(sig.price_usd_per_mwh[:, se], base.price_usd_per_mwh[:, se])
    np.testing.assert_array_equal(sig.marginal_carbon_kg_per_mwh,
                                  base.marginal_carbon_kg_per_mwh)


def test_partly_missing_series_is_an_error(write_scenario, tmp_path):
    scn = _scenario(write_scenario, tmp_path, TRACE.replace("11.0,21.0", ",21.0"))
    with pytest.raises(InputError) as info:
        profile_signals(scn)
    assert info.value.field == "FR.price" and "1 of the scenario's 3 hours" in info.value.problem


def test_trace_must_cover_the_scenario(write_scenario, tmp_path):
    short = "\n".join(line for line in TRACE.splitlines() if "T02" not in line) + "\n"
    scn = _scenario(write_scenario, tmp_path, short)
    with pytest.raises(InputError, match="missing"):
        profile_signals(scn)


def test_missing_trace_file(write_scenario):
    with pytest.raises(InputError) as info:
        load_scenario(write_scenario(SMALL + '\n[signals]\ntrace = "nope.csv"\n'))
    assert info.value.field == "signals.trace" and "file not found" in info.value.problem
