"""The shipped grid-market tables (abm/data/grid/*.csv) are complete, consistent and sourced.

Read with plain pandas on purpose: these checks hold for the files whatever loader reads them
(gridcore's ``abm.grid`` loader has its own tests).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abm.data.dataset import DATA_DIR

GRID = DATA_DIR / "grid"
ROOT = Path(__file__).resolve().parents[1]
SHARED_GRID = ROOT.parent / "shared" / "data" / "grid"
TECHNOLOGIES = ("nuclear", "hydro", "wind", "solar", "bioenergy", "other", "coal", "lignite",
                "gas_ccgt", "gas_ocgt", "oil", "other_thermal")
PRICED_FUELS = {"hard_coal", "lignite", "natural_gas", "oil", "biomass", "uranium",
                "unknown_thermal"}
DAYS_2024 = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
# Direct emission factor (kg/MWh_el) every tranche must fall in: IPCC 2014 AR5 WG3 Annex III
# Table A.III.2 direct ranges (coal 670-870 for modern plants, widened to old sub-critical units;
# European hard coal units of 2010 emit ~740;
# gas CC 350-490) and UBA lignite ~1,100-1,200; a tranche outside is a unit or basis slip.
EF_RANGE = {"coal": (700, 1150), "lignite": (1000, 1250), "gas_ccgt": (320, 500),
            "gas_ocgt": (480, 700), "oil": (650, 950), "other_thermal": (500, 650),
            "nuclear": (0, 0), "bioenergy": (0, 0), "hydro": (0, 0), "wind": (0, 0),
            "solar": (0, 0), "other": (0, 0)}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(GRID / name, keep_default_na=False)


@pytest.fixture(scope="module")
def zone_ids() -> list[str]:
    return pd.read_csv(DATA_DIR / "zones.csv").zone_id.tolist()


@pytest.mark.parametrize("name", ["technologies.csv", "fuels.csv", "tranches.csv",
                                  "capacity.csv", "fuel_prices.csv", "carbon_schemes.csv",
                                  "interconnectors.csv", "demand_shape_sources.csv",
                                  "fleet_regions.csv", "fuel_price_months.csv",
                                  "reservoirs.csv", "water_values.csv"])
def test_every_row_has_a_source_and_an_assumed_flag(name):
    df = _read(name)
    assert len(df) > 0
    assert (df.source.str.strip() != "").all(), f"{name}: empty source"
    assert set(df.assumed.astype(str).str.lower()) <= {"true", "false"}, name
    assumed = df[df.assumed.astype(str).str.lower() == "true"]
    text = assumed.source + " " + (assumed.note if "note" in df else "")
    assert text.str.contains("ASSUMPTION").all(), f"{name}: assumed row without its reasoning"


def test_technologies_fuels_and_tranches_are_consistent():
    tech = _read("technologies.csv").set_index("technology")
    fuels = _read("fuels.csv").set_index("fuel")
    tr = _read("tranches.csv")
    assert tuple(tech.index) == TECHNOLOGIES
    assert set(tech.fuel) <= set(fuels.index)
    assert set(tech.kind) <= {"must_run", "variable", "hydro", "thermal", "renewable"}
    assert ((tech.vom_usd_per_mwh >= 0) & (tech.vom_usd_per_mwh <= 20)).all()
    assert ((fuels.co2_t_per_mwh_th >= 0) & (fuels.co2_t_per_mwh_th <= 0.5)).all()
    assert set(tr.technology) == set(TECHNOLOGIES)
    assert set(tr.region) == {"all", "us", "europe"}
    for (t, region), g in tr.groupby(["technology", "region"]):
        assert g.tranche.tolist() == list(range(1, len(g) + 1)), (t, region)
        assert abs(g.capacity_share.sum() - 1) < 1e-9, t
        assert ((g.efficiency > 0) & (g.efficiency <= 1)).all(), t
        assert np.allclose(g.heat_rate_btu_per_kwh * g.efficiency, 3412.14, rtol=1e-5), t
        assert ((g.availability > 0) & (g.availability <= 1)).all(), t
        assert g.efficiency.is_monotonic_decreasing, f"{t}: tranche 1 is the most efficient"
        ef = 1000 * fuels.co2_t_per_mwh_th[tech.fuel[t]] / g.efficiency
        lo, hi = EF_RANGE[t]
        assert ((ef >= lo) & (ef <= hi)).all(), f"{t}, {region}: {ef.round(0).tolist()}"


def test_every_zone_has_a_stack_that_covers_its_peak_demand(zone_ids):
    """Firm capacity (dispatchable at its availability, hydro at full capacity, no wind or solar)
    is at least the zone's peak background demand, or the zone can import the shortfall."""
    cap = _read("capacity.csv")
    tech = _read("technologies.csv").set_index("technology")
    tr = _read("tranches.csv")
    zones = pd.read_csv(DATA_DIR / "zones.csv").set_index("zone_id")
    shape = _read("demand_shape.csv")
    lines = _read("interconnectors.csv")
    assert set(cap.technology) <= set(TECHNOLOGIES)
    assert not cap.duplicated(["zone_id", "technology"]).any()
    assert set(cap.zone_id) == set(zone_ids), "every zone (and only those) has a stack"
    assert (cap.capacity_mw.astype(float) > 0).all()
    avail = tr.assign(w=tr.capacity_share * tr.availability).groupby("technology").w.sum()
    for z in zone_ids:
        firm = 0.0
        for _, r in cap[cap.zone_id == z].iterrows():
            kind = tech.kind[r.technology]
            if kind == "variable":
                continue
            a = 1.0 if kind == "hydro" else (float(r.availability) if r.availability != ""
                                             else avail[r.technology])
            firm += float(r.capacity_mw) * a
        imports = sum(float(x.capacity_backward_mw) if x.zone_from == z else
                      float(x.capacity_forward_mw)
                      for _, x in lines.iterrows() if z in (x.zone_from, x.zone_to))
        peak = zones.load_mw[z] * shape[shape.zone_id == z].factor.max()
        assert firm + imports >= peak, f"{z}: firm {firm:.0f} + imports {imports:.0f} < {peak:.0f}"


def test_fuel_prices_cover_every_zone_and_fuel(zone_ids):
    fp = _read("fuel_prices.csv")
    assert not fp.duplicated(["zone_id", "fuel"]).any()
    assert set(zip(fp.zone_id, fp.fuel, strict=True)) == {
        (z, f) for z in zone_ids for f in PRICED_FUELS}
    assert ((fp.price_usd_per_mwh_th > 0) & (fp.price_usd_per_mwh_th < 100)).all()
    gas = fp[fp.fuel == "natural_gas"].set_index("zone_id").price_usd_per_mwh_th
    # Henry Hub 2.21 USD/MMBtu x 3.41214 = 7.54 USD/MWh (EIA): the US gas price is the sourced one
    assert gas["US-ERCOT"] == pytest.approx(2.21 * 3.41214, abs=1e-3)


def test_carbon_schemes_cover_known_zones_once(zone_ids):
    cs = _read("carbon_schemes.csv")
    assert cs.scheme.is_unique
    assert {"eu_ets", "uk_ets", "rggi", "california", "korea_ets", "china_ets"} <= set(cs.scheme)
    assert ((cs.price_usd_per_t >= 0) & (cs.price_usd_per_t <= 200)).all()
    covered: dict[str, list[str]] = {}
    for _, r in cs.iterrows():
        for z in filter(None, r.zones.split(";")):
            assert z in zone_ids, f"{r.scheme}: unknown zone {z}"
            covered.setdefault(z, []).append(r.scheme)
    total = {z: cs.set_index("scheme").price_usd_per_t[s].sum() for z, s in covered.items()}
    assert covered["GB"] == ["uk_ets", "uk_cps"]
    assert total["DE-LU"] == pytest.approx(67 * 1.082, abs=0.01)  # Veyt 67 EUR/t x 1.082
    assert "US-PJM-DOM" not in covered and "US-ERCOT" not in covered  # no scheme: price 0


def test_interconnectors_join_known_zones(zone_ids):
    lines = _read("interconnectors.csv")
    assert lines.line_id.is_unique
    assert set(lines.zone_from) | set(lines.zone_to) <= set(zone_ids)
    assert (lines.zone_from != lines.zone_to).all()
    pairs = {frozenset(p) for p in zip(lines.zone_from, lines.zone_to, strict=True)}
    assert len(pairs) == len(lines), "one row per zone pair"
    assert ((lines.capacity_forward_mw > 0) & (lines.capacity_backward_mw > 0)).all()
    assert ((lines.capacity_forward_mw < 20000) & (lines.capacity_backward_mw < 20000)).all()


def test_demand_shape_is_complete_and_averages_to_one(zone_ids):
    shape = _read("demand_shape.csv")
    src = _read("demand_shape_sources.csv")
    assert src.zone_id.tolist() == zone_ids
    assert set(src.basis) <= {"derived", "synthetic"}
    for z in zone_ids:
        g = shape[shape.zone_id == z]
        table = np.full((12, 24), np.nan)
        table[g.month - 1, g.hour_utc] = g.factor
        assert np.isfinite(table).all(), z
        assert ((table > 0.4) & (table < 1.8)).all(), z
        mean = (table * DAYS_2024[:, None]).sum() / (DAYS_2024.sum() * 24)
        assert mean == pytest.approx(1.0, abs=1e-3), z


def test_shipped_tables_are_packaged():
    """Every table shipped under abm/data (and abm/data/grid) matches a package-data glob of the
    package that holds it, so a wheel carries it."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]
    tables = [p for p in DATA_DIR.rglob("*") if p.suffix in (".csv", ".toml", ".md")]
    assert any(p.parent.name == "grid" for p in tables)
    for path in tables:
        package = ".".join(path.relative_to(ROOT).parent.parts)
        while package not in globs and "." in package:
            package = package.rpartition(".")[0]
        base = ROOT.joinpath(*package.split("."))
        assert any(path in set(base.glob(g)) for g in globs.get(package, [])), path


@pytest.mark.skipif(not SHARED_GRID.exists(), reason="../shared/data/grid not available")
def test_shipped_tables_are_reproduced_by_the_derivation_script():
    script = ROOT / "experiments" / "derive_grid_data.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
