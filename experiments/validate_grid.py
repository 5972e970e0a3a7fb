"""Validation of the technology market against 2024 observations (docs/grid.md, "Validation").

For every zone with an hourly 2024 series in ``../shared/data/hourly_2024_compact.csv`` (never
shipped), clears the shipped market with no data-centre load for each (month, UTC hour) cell
(the model's inputs are the same on every day of a cell, so 288 clearings give the year) and
compares, hour by hour over 2024, the model's zone price and production-based average carbon
with the observed day-ahead / real-time price and Electricity Maps direct carbon intensity:
Pearson correlation and mean absolute error per zone. Also reports the model's marginal emission
factor for US-CAISO in June-July beside WattTime's measured 355 g/kWh (CAISO_NORTH, 8 June - 8
July 2023, abm/data/zones.csv).

The average carbon is calibrated to the month x hour means of the same 2024 series (docs/grid.md,
"Calibration"), so its correlation measures how much of the hourly variation the month x hour
cells explain; the price is not calibrated and is the real test.

Usage (from the repository root)::

    python experiments/validate_grid.py [--out out/validation]   # writes validation.csv/.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from abm.data.dataset import DATA_DIR, shipped
from abm.grid import GridMarket, load_grid_data, traced_carbon_kg_per_mwh
from abm.grid.availability import zone_lat_lon

ROOT = Path(__file__).resolve().parents[1]
HOURLY = ROOT.parent / "shared" / "data" / "hourly_2024_compact.csv"
PRICE_CAP = 3000.0  # USD/MWh, as the shipped scenarios' value of lost load is not read here
CAISO_MOER = 355.0  # WattTime CAISO_NORTH mean MOER, 2023-06-08..07-08 (abm/data/zones.csv)


def model_cells(carbon_overrides: dict[str, float] | None = None
                ) -> tuple[list[str], dict[str, np.ndarray]]:
    """Clear the shipped market at every (month, UTC hour) cell with no data-centre load.

    Returns the zone ids and (12, 24, Z) arrays: ``price``, ``avg_carbon``, ``marginal_carbon``
    and the marginal technology name per cell (``marginal_technology``, object array).
    """
    ds = shipped()
    zone_ids = list(ds.zones)
    mean = np.array([ds.zones[z].load_mw for z in zone_ids])
    market = GridMarket.from_data(load_grid_data(), zone_ids, mean, PRICE_CAP,
                                  zone_lat_lon=zone_lat_lon(ds.regions.values(), zone_ids),
                                  carbon_overrides=carbon_overrides)
    avg = np.array([ds.zones[z].avg_carbon_kg_per_mwh for z in zone_ids])
    price = np.array([ds.zones[z].price_usd_per_mwh for z in zone_ids])
    carbon_shape = np.stack([ds.profiles[z, "carbon"] for z in zone_ids], axis=-1)
    price_shape = np.stack([ds.profiles[z, "price"] for z in zone_ids], axis=-1)
    out = {k: np.zeros((12, 24, len(zone_ids))) for k in ("price", "avg_carbon",
                                                         "traced_carbon", "marginal_carbon")}
    out["marginal_technology"] = np.empty((12, 24, len(zone_ids)), dtype=object)
    out["generation"] = np.zeros((12, 24, len(zone_ids), len(market.technologies)))
    techs = market.technologies
    zero = np.zeros(len(zone_ids))
    for m in range(12):
        for h in range(24):
            market.set_hour(m + 1, h, zero, avg * carbon_shape[m, h], price * price_shape[m, h])
            d = market.clear(market.background_mw)
            out["price"][m, h] = d.price_usd_per_mwh
            out["avg_carbon"][m, h] = d.avg_carbon_kg_per_mwh
            out["traced_carbon"][m, h] = traced_carbon_kg_per_mwh(d, market.network)
            out["marginal_carbon"][m, h] = d.marginal_carbon_kg_per_mwh
            out["generation"][m, h] = d.generation_mw
            out["marginal_technology"][m, h] = [techs[i] if i >= 0 else "shedding"
                                               for i in d.marginal_technology]
    out["technologies"] = techs
    return zone_ids, out


FOSSIL = ("coal", "lignite", "gas_ccgt", "gas_ocgt", "oil", "other_thermal")
GROUPS = {"coal": ("coal", "lignite"), "gas": ("gas_ccgt", "gas_ocgt"),
          "nuclear": ("nuclear",), "wind+solar": ("wind", "solar"), "hydro": ("hydro",)}


def generation_shares(zone_ids: list[str], cells: dict) -> pd.DataFrame:
    """Per zone whose annual generation in capacity.csv is from a source (OWID / Ember 2023 or
    2022 for country zones, not capacity x an assumed capacity factor): the model's annual
    generation share of coal, gas, nuclear, wind+solar and hydro beside the source's."""
    cap = pd.read_csv(DATA_DIR / "grid" / "capacity.csv", keep_default_na=False)
    days = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
    energy = (cells["generation"] * days[:, None, None, None]).sum(axis=(0, 1))  # (Z, T) MWh/24
    techs = list(cells["technologies"])
    rows = []
    for z, g in cap.groupby("zone_id", sort=False):
        sourced = g[g.generation_gwh != ""]
        unmeasured = g[(g.generation_gwh == "") & g.technology.isin(FOSSIL[:-1])]
        if (sourced.empty or len(unmeasured) or
                (sourced.year.astype(str) == "capacity-based").any()):
            continue  # only zones whose fossil mix is a source's generation (not CL-SEN's split)
        obs = sourced.set_index("technology").generation_gwh.astype(float)
        j = zone_ids.index(z)
        model = pd.Series(energy[j], index=techs)
        row = {"zone": z}
        for name, members in GROUPS.items():
            row[f"{name}_observed"] = obs.reindex(members).fillna(0).sum() / obs.sum()
            row[f"{name}_model"] = model[list(members)].sum() / model.sum()
        rows.append(row)
    return pd.DataFrame(rows)


def observed(path: Path = HOURLY) -> tuple[pd.DatetimeIndex, dict[str, dict[str, np.ndarray]]]:
    """The 2024 hourly observations by zone: {zone: {"price": (H,), "carbon": (H,)}}."""
    df = pd.read_csv(path)
    ts = pd.DatetimeIndex(pd.to_datetime(df.datetime_utc))
    regions = pd.read_csv(DATA_DIR / "regions.csv").set_index("region_id").zone_id
    out: dict[str, dict[str, np.ndarray]] = {}
    for col in df.columns[1:]:
        region, _, kind = col.partition("__")
        signal = "carbon" if kind.startswith("ci_") else "price"
        out.setdefault(regions[region], {})[signal] = df[col].to_numpy(dtype=float)
    return ts, out


def compare(zone_ids: list[str], cells: dict[str, np.ndarray], ts: pd.DatetimeIndex,
            obs: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Correlation and mean absolute error per zone and signal (model vs observed, hourly)."""
    m, h = ts.month.to_numpy() - 1, ts.hour.to_numpy()
    rows = []
    for z, series in obs.items():
        j = zone_ids.index(z)
        for signal, key in (("price", "price"), ("carbon", "avg_carbon"),
                            ("carbon (traced)", "traced_carbon")):
            series_key = signal.split(" ")[0]
            if series_key not in series or key not in cells:
                continue
            y = series[series_key]
            x = cells[key][m, h, j]
            ok = np.isfinite(y)
            x, y = x[ok], y[ok]
            constant = np.ptp(x) == 0  # a model series with no variation has no correlation
            rows.append({"zone": z, "signal": signal, "hours": int(ok.sum()),
                         "observed_mean": y.mean(), "model_mean": x.mean(),
                         "correlation": np.nan if constant else np.corrcoef(x, y)[0, 1],
                         "mae": np.abs(x - y).mean()})
    return pd.DataFrame(rows).sort_values(["signal", "zone"]).reset_index(drop=True)


def marginal_summary(zone_ids: list[str], cells: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per zone: the model's annual mean marginal emission factor (kg/MWh, cells weighted by
    the days of their month), the most frequent marginal technology and its share of hours,
    beside the zones.csv marginal figure (an assumption except US-CAISO)."""
    ds = shipped()
    days = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
    w = np.repeat(days[:, None], 24, axis=1).ravel() / (days.sum() * 24)
    rows = []
    for j, z in enumerate(zone_ids):
        techs = cells["marginal_technology"][:, :, j].ravel()
        share = pd.Series(w).groupby(techs).sum().sort_values(ascending=False)
        rows.append({"zone": z,
                     "model_marginal": float((cells["marginal_carbon"][:, :, j].ravel() * w).sum()),
                     "zones_csv_marginal": ds.zones[z].marginal_carbon_kg_per_mwh,
                     "marginal_technology": share.index[0], "share": float(share.iloc[0])})
    return pd.DataFrame(rows)


def caiso_summer_marginal(zone_ids: list[str], cells: dict[str, np.ndarray]) -> float:
    """The model's mean marginal emission factor of US-CAISO over June-July, kg/MWh (hours of
    the month x hour cells weighted by the days of June and July)."""
    j = zone_ids.index("US-CAISO")
    return float((cells["marginal_carbon"][5, :, j].mean() * 30
                  + cells["marginal_carbon"][6, :, j].mean() * 31) / 61)


def main(argv: list[str] | None = None) -> int:
    """Write the validation table (CSV and Markdown) and print it."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hourly", type=Path, default=HOURLY)
    p.add_argument("--out", type=Path, default=ROOT / "out" / "validation")
    args = p.parse_args(argv)
    zone_ids, cells = model_cells()
    ts, obs = observed(args.hourly)
    table = compare(zone_ids, cells, ts, obs)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "validation.csv", index=False)
    md = table.to_markdown(index=False, floatfmt=".2f") if _has_tabulate() else table.to_string()
    caiso = caiso_summer_marginal(zone_ids, cells)
    md += (f"\n\nUS-CAISO marginal emission factor, June-July mean: model {caiso:.0f} kg/MWh, "
           f"WattTime measured {CAISO_MOER:.0f} (CAISO_NORTH, 2023-06-08..07-08)\n")
    shares = generation_shares(zone_ids, cells)
    shares.to_csv(args.out / "generation_shares.csv", index=False)
    md += "\n" + shares.round(2).to_string(index=False) + "\n"
    marginal = marginal_summary(zone_ids, cells)
    marginal.to_csv(args.out / "marginal.csv", index=False)
    md += "\n" + marginal.to_string(index=False) + "\n"
    (args.out / "validation.md").write_text(md)
    print(md)
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
