"""experiments/validate_grid.py, the comparison of the market with 2024 observations
(docs/grid.md, "Validation"), keeps working and measures what it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
HOURLY = ROOT.parent / "shared" / "data" / "hourly_2024_compact.csv"


def _script():
    spec = importlib.util.spec_from_file_location("validate_grid",
                                                  ROOT / "experiments" / "validate_grid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_scores_a_perfect_and_a_constant_model():
    """Hand check: a model equal to the observations has correlation 1 and MAE 0; a constant
    model has no correlation (nan, not a warning) and MAE = mean |y - c|."""
    v = _script()
    ts = pd.date_range("2024-01-01", periods=48, freq="h")
    y = 50 + 10 * np.sin(np.arange(48) / 3)
    cells = {"price": np.zeros((12, 24, 2)), "avg_carbon": np.full((12, 24, 2), 100.0)}
    cells["price"][0, :, 0] = y[:24]  # the model repeats day 1 on day 2
    obs = {"A": {"price": np.concatenate([y[:24], y[:24]])}, "B": {"carbon": y}}
    table = v.compare(["A", "B"], cells, ts, obs).set_index("zone")
    assert table.loc["A", "correlation"] == pytest.approx(1.0)
    assert table.loc["A", "mae"] == pytest.approx(0.0)
    assert np.isnan(table.loc["B", "correlation"])
    assert table.loc["B", "mae"] == pytest.approx(np.abs(y - 100).mean())


@pytest.mark.skipif(not HOURLY.exists(), reason="shared hourly file not available")
def test_validation_on_2024_observations():
    """Where the calibration reaches its target the model's mean average carbon is the observed
    mean (IN-WE, JP-TK within 2 %); every zone with data is scored; CAISO's summer marginal
    factor is a gas unit's (300-700 kg/MWh), to set beside WattTime's 355."""
    v = _script()
    zone_ids, cells = v.model_cells()
    ts, obs = v.observed(HOURLY)
    table = v.compare(zone_ids, cells, ts, obs)
    assert set(table.zone) == set(obs)
    carbon = table[table.signal == "carbon"].set_index("zone")
    for z in ("IN-WE", "JP-TK"):
        assert carbon.loc[z, "model_mean"] == pytest.approx(carbon.loc[z, "observed_mean"],
                                                            rel=0.02)
    assert 300 <= v.caiso_summer_marginal(zone_ids, cells) <= 700
