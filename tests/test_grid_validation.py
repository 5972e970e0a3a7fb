"""experiments/validate_grid.py, the comparison of the market with 2024 observations
(docs/grid.md, "Validation"), keeps working and measures what it says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
HOURLY = ROOT.parent / "shared" / "data" / "hourly_2024_compact.csv"
FACTORS = ROOT.parent / "shared" / "data" / "grid" / "marginal_emission_factors.csv"


def _script():
    return load_script(ROOT / "experiments" / "validate_grid.py")


def test_compare_scores_a_perfect_and_a_constant_model():
    """Hand check: a model equal to the observations has correlation 1 and MAE 0; a constant
    model has no correlation (nan, not a warning), MAE = mean |y - c| and captures nothing.
    Two days whose hours differ by +d and -d around their cell mean: the cell means explain
    the series up to those, so the ceiling is corr(means, y) and a model at the means
    captures all of it."""
    v = _script()
    ts = pd.date_range("2024-01-01", periods=48, freq="h")
    y = 50 + 10 * np.sin(np.arange(48) / 3)
    cells = {"price": np.zeros((12, 24, 2)), "avg_carbon": np.full((12, 24, 2), 100.0)}
    cells["price"][0, :, 0] = y[:24]  # the model repeats day 1 on day 2
    obs = {"A": {"price": np.concatenate([y[:24], y[:24]])}, "B": {"carbon": y}}
    table = v.compare(["A", "B"], cells, ts, obs).set_index("zone")
    assert table.loc["A", "correlation"] == pytest.approx(1.0)
    assert table.loc["A", "mae"] == pytest.approx(0.0)
    assert table.loc["A", "ceiling"] == pytest.approx(1.0)
    assert table.loc["A", "captured"] == pytest.approx(1.0)
    assert np.isnan(table.loc["B", "correlation"])
    assert table.loc["B", "mae"] == pytest.approx(np.abs(y - 100).mean())
    assert table.loc["B", "captured"] == 0.0
    d = np.where(np.arange(24) % 2, 3.0, -3.0)
    base = y[:24]
    series = np.concatenate([base + d, base - d])
    cells["price"][0, :, 0] = base
    table = v.compare(["A"], cells, ts, {"A": {"price": series}}).set_index("zone")
    ceiling = np.corrcoef(np.concatenate([base, base]), series)[0, 1]
    assert table.loc["A", "ceiling"] == pytest.approx(ceiling)
    assert table.loc["A", "correlation"] == pytest.approx(ceiling)
    assert table.loc["A", "captured"] == pytest.approx(1.0)


@pytest.mark.skipif(not HOURLY.exists(), reason="shared hourly file not available")
def test_validation_on_2024_observations():
    """The calibrated market reproduces the month x hour means of the observed prices of the
    zones whose price profile is derived from them: it captures all their explainable variance
    (in sample), at cost much less; where the calibration reaches its target the model's mean
    average carbon is the observed mean (IN-WE, JP-TK within 2 %); CAISO's summer marginal
    factor is a gas unit's (300-700 kg/MWh); at least ten zones have a published factor."""
    v = _script()
    zone_ids, cells = v.model_cells()
    ts, obs = v.observed(HOURLY)
    table = v.compare(zone_ids, cells, ts, obs)
    assert set(table.zone) == set(obs)
    price = table[table.signal == "price"].set_index("zone")
    assert (price.captured > 0.99).all()
    assert (price.level_miss_pct.abs() < 1.0).all()
    cost = v.compare(*v.model_cells(False), ts, obs)
    assert cost[cost.signal == "price"].captured.median() < 0.5
    carbon = table[table.signal == "carbon"].set_index("zone")
    for z in ("IN-WE", "JP-TK"):
        assert carbon.loc[z, "model_mean"] == pytest.approx(carbon.loc[z, "observed_mean"],
                                                            rel=0.02)
    assert 300 <= v.caiso_summer_marginal(zone_ids, cells) <= 700
    published = v.beside_published(zone_ids, cells)
    assert published.zone.nunique() >= 10 and published.published.notna().all()


US_ZONES = {"US-PJM-DOM", "US-NW-BPAT", "US-MISO", "US-ERCOT", "US-CAISO"}


def test_regional_us_rates_are_the_sources_figures():
    """experiments/published_us_marginal.csv: every US zone has an AVERT and a Cambium rate;
    each AVERT rate is its source's mean lb/kWh x 453.59237 (to 0.1 kg/MWh), each Cambium rate
    names its source row (mid-case, its region, 2025) and column; labels are unique, so the
    table's rows stay apart."""
    v = _script()
    table = v.regional_us_factors()
    raw = pd.read_csv(v.REGIONAL_US)
    assert set(table.zone) == US_ZONES and table.source.is_unique
    for zone in US_ZONES:
        labels = table[table.zone == zone].source
        assert labels.str.startswith("EPA AVERT 2023").sum() == 1
        assert labels.str.startswith("NREL Cambium 2024 SRMER").sum() >= 1
    for _, row in raw.iterrows():
        if row.published.startswith("EPA AVERT"):
            lb = float(row.source.split("hourly values ")[1].split(" lb/kWh")[0])
            assert row.kg_per_mwh == pytest.approx(round(lb * 453.59237, 1), abs=1e-9)
            assert row.year == 2023
        else:
            assert "srmer_co2_c" in row.source and row.year == 2025
            assert f"row MidCase,{row.published.rsplit(', ', 1)[1]},2025" in row.source


@pytest.mark.parametrize(("field", "value", "message"), [
    ("zone", "US-TEXAS", "not a shipped zone"),
    ("kg_per_mwh", "-5", "not a positive number"),
    ("kg_per_mwh", "n/a", "not a positive number"),
    ("source", "", "needs its source"),
    ("published", "", "needs its source and its short label"),
])
def test_regional_us_rates_reject_a_bad_row(tmp_path, field, value, message):
    """A bad zone, rate, source or label is an error naming the file and the line."""
    v = _script()
    raw = pd.read_csv(v.REGIONAL_US, dtype=str)
    raw.loc[3, field] = value
    path = tmp_path / "rates.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"rates\.csv line 5: .*{message}"):
        v.regional_us_factors(path)


@pytest.mark.skipif(not FACTORS.exists(), reason="shared research table not available")
def test_published_factors_keep_each_zones_rows_together():
    """The research table's factors and the regional US rates together: none lost, and each
    zone's rows in one block, zones in the research table's order."""
    v = _script()
    both = v.published_factors()
    assert len(both) == len(v.PUBLISHED) + len(v.regional_us_factors())
    blocks = (both.zone != both.zone.shift()).sum()
    assert blocks == both.zone.nunique()
    assert list(dict.fromkeys(both.zone)) == list(dict.fromkeys(z for z, *_ in v.PUBLISHED))
