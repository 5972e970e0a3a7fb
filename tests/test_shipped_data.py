"""Checks on the data tables shipped in abm/data/ (see abm/data/SOURCES.md)."""

from __future__ import annotations

import calendar
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "abm" / "data"
HOURLY = Path(__file__).resolve().parents[2] / "shared" / "data" / "hourly_2024_compact.csv"
DERIVE = REPO / "experiments" / "derive_profiles.py"

ZONE_FIGURES = {
    "avg_carbon": ("avg_carbon_g_per_kwh", "avg_carbon_source"),
    "marginal_carbon": ("marginal_carbon_g_per_kwh", "marginal_carbon_source"),
    "price": ("price_usd_per_mwh", "price_source"),
    "load": ("load_mw", "load_source"),
}
REGION_FIGURES = {
    "pue": ("pue", "pue_source"),
    "egress": ("egress_usd_per_gb", "egress_source"),
    "capacity": ("capacity_mw", "capacity_source"),
}
JURISDICTIONS = {"US", "CA", "BR", "CL", "EU", "UK", "IN", "SG", "JP", "KR", "AU", "ZA", "AE", "CN"}


@pytest.fixture(scope="module")
def zones() -> pd.DataFrame:
    return pd.read_csv(DATA / "zones.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def regions() -> pd.DataFrame:
    return pd.read_csv(DATA / "regions.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def latency() -> pd.DataFrame:
    return pd.read_csv(DATA / "latency.csv")


@pytest.fixture(scope="module")
def profiles() -> pd.DataFrame:
    return pd.read_csv(DATA / "profiles.csv")


def _assumed(value) -> set[str]:
    if not isinstance(value, str) or not value.strip():
        return set()
    return {item.strip() for item in value.split(";") if item.strip()}


def _check_figures(table: pd.DataFrame, figures: dict[str, tuple[str, str]], key: str) -> None:
    for _, row in table.iterrows():
        assumed = _assumed(row["assumed"])
        assert assumed <= set(figures), f"{row[key]}: unknown assumed fields {assumed}"
        for name, (value_col, source_col) in figures.items():
            value = row[value_col]
            assert pd.notna(value) and np.isfinite(float(value)), f"{row[key]}: {value_col} blank"
            source = row[source_col]
            assert isinstance(source, str) and source.strip(), f"{row[key]}: {source_col} blank"
            is_assumption = source.startswith("ASSUMPTION")
            assert is_assumption == (name in assumed), (
                f"{row[key]}: {name} assumed flag and {source_col} disagree"
            )


def test_zones(zones):
    assert len(zones) == 23
    assert zones["zone_id"].is_unique
    _check_figures(zones, ZONE_FIGURES, "zone_id")
    assert (zones["avg_carbon_g_per_kwh"] > 0).all()
    assert (zones["marginal_carbon_g_per_kwh"] >= zones["avg_carbon_g_per_kwh"]).all()
    assert (zones["price_usd_per_mwh"] > 0).all()


def test_regions(regions, zones):
    assert len(regions) == 23
    assert regions["region_id"].is_unique
    assert set(regions["zone_id"]) <= set(zones["zone_id"])
    assert set(regions["jurisdiction"]) <= JURISDICTIONS
    _check_figures(regions, REGION_FIGURES, "region_id")
    assert regions["lat"].between(-90, 90).all()
    assert regions["lon"].between(-180, 180).all()
    assert regions["pue"].between(1.0, 2.0).all()
    assert (regions["egress_usd_per_gb"] > 0).all()
    assert (regions["capacity_mw"] > 0).all()


def test_latency(latency, regions):
    ids = set(regions["region_id"])
    assert set(latency["src"]) | set(latency["dst"]) <= ids
    pairs = {frozenset(p) for p in zip(latency["src"], latency["dst"], strict=True)}
    assert len(latency) == 253
    assert pairs == {frozenset(p) for p in itertools.combinations(sorted(ids), 2)}
    assert set(latency["method"]) <= {"measured", "estimated"}
    assert (latency["rtt_ms"] > 0).all()
    assert latency["source"].fillna("").str.strip().ne("").all()


def test_profiles(profiles, zones):
    assert set(profiles["signal"]) == {"price", "carbon"}
    sources = pd.read_csv(DATA / "profiles_sources.csv", keep_default_na=False)
    assert set(sources["basis"]) <= {"derived", "synthetic"}
    assert sources["source"].str.strip().ne("").all()
    assert (sources["basis"] == "synthetic").eq(sources["source"].str.startswith("synthetic")).all()
    keys = set(zip(sources["zone_id"], sources["signal"], strict=True))
    assert keys == set(itertools.product(zones["zone_id"], ("price", "carbon")))
    assert set(profiles["zone_id"]) == set(zones["zone_id"])
    factor = profiles["factor"].to_numpy(dtype=float)
    assert np.isfinite(factor).all()
    assert (factor > -5).all()
    hours_in_month = profiles["month"].map(lambda m: calendar.monthrange(2024, m)[1])
    for zone in zones["zone_id"]:
        for signal in ("price", "carbon"):
            sel = (profiles["zone_id"] == zone) & (profiles["signal"] == signal)
            cell = profiles.loc[sel]
            assert len(cell) == 12 * 24, (zone, signal)
            cells = set(zip(cell["month"], cell["hour_utc"], strict=True))
            assert cells == set(itertools.product(range(1, 13), range(24))), (zone, signal)
            weights = hours_in_month[sel]
            mean = float(np.average(cell["factor"], weights=weights))
            assert abs(mean - 1.0) < 1e-2, (zone, signal, mean)


@pytest.mark.skipif(not HOURLY.exists(), reason="shared hourly file not available")
def test_profiles_reproducible(tmp_path):
    module = load_script(DERIVE)
    out = tmp_path / "profiles.csv"
    assert module.main(["--hourly", str(HOURLY), "--out", str(out)]) == 0
    assert out.read_bytes() == (DATA / "profiles.csv").read_bytes()
    shipped_sources = (DATA / "profiles_sources.csv").read_bytes()
    assert (tmp_path / "profiles_sources.csv").read_bytes() == shipped_sources
