"""Validation of the technology market against 2024 observations (docs/grid.md, "Validation").

For every zone with an hourly 2024 series in ``../shared/data/hourly_2024_compact.csv`` (never
shipped), clears the shipped market with no data-centre load for each (month, UTC hour) cell
(the model's inputs are the same on every day of a cell, so 288 clearings give the year) and
compares, hour by hour over 2024, the model's zone price and average carbon with the observed
day-ahead / real-time price and Electricity Maps direct carbon intensity: mean, Pearson
correlation and mean absolute error per zone, and the *ceiling*: the correlation of the observed
series with its own month x hour means, the most a model that knows only month x hour cells can
reach; ``captured`` = (correlation / ceiling)^2 is the share of that explainable variance the
model captures.

Twice: the shipped market, calibrated to the zones' month x hour base prices and carbon (built
from these same 2024 series, so in sample: it shows the calibration, not skill), and the same
market with offers at cost (``calibrate_prices=False``: fuel, carbon and O&M costs, water
values), whose prices no observation was tuned to. Also: monthly prices of zones with only
monthly data (Ember, research table ``zone_prices_2024.csv``), the model's mean marginal
emission factor per zone beside every published operating-margin factor of the research table
``marginal_emission_factors.csv`` and the regional US marginal rates (EPA AVERT, NREL Cambium)
of the project's ``experiments/published_us_marginal.csv``, the timing of the US zones'
marginal factors by month x UTC hour against EPA AVERT 2023's
(``experiments/avert_2023_month_utc_hour.csv``), and the price-setting resources and mark-ups
per zone.

Usage (from the repository root)::

    python experiments/validate_grid.py [--out out/validation]   # writes validation.csv/.md
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from abm.data.dataset import DATA_DIR, shipped
from abm.grid import GridMarket, load_grid_data, traced_carbon_kg_per_mwh
from abm.grid.availability import DAYS_PER_MONTH, zone_lat_lon

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
HOURLY = SHARED / "hourly_2024_compact.csv"
PRICE_CAP = 3000.0  # USD/MWh, as the shipped scenarios' value of lost load is not read here
EUR_USD = 1.082  # the project's 2024 average (abm/data/SOURCES.md)


@functools.cache
def model_cells(calibrate_prices: bool = True,
                carbon_overrides: tuple[tuple[str, float], ...] = ()
                ) -> tuple[list[str], dict[str, np.ndarray]]:
    """Clear the shipped market at every (month, UTC hour) cell with no data-centre load (the
    status quo of the cell): prices calibrated, or offers at cost.

    Returns the zone ids and (12, 24, Z) arrays: ``price``, ``avg_carbon`` (production),
    ``traced_carbon`` (consumption), ``marginal_carbon``, ``markup``, ``water_value`` (NaN where
    no reservoir sets the price), the marginal technology name per cell
    (``marginal_technology``, object array), ``generation`` (12, 24, Z, T) and
    ``technologies``. Cached: the figures of docs/ share it.
    """
    ds = shipped()
    zone_ids = list(ds.zones)
    mean = np.array([ds.zones[z].load_mw for z in zone_ids])
    market = GridMarket.from_data(load_grid_data(), zone_ids, mean, PRICE_CAP,
                                  zone_lat_lon=zone_lat_lon(ds.regions.values(), zone_ids),
                                  carbon_overrides=dict(carbon_overrides),
                                  calibrate_prices=calibrate_prices)
    avg = np.array([ds.zones[z].avg_carbon_kg_per_mwh for z in zone_ids])
    price = np.array([ds.zones[z].price_usd_per_mwh for z in zone_ids])
    carbon_shape = np.stack([ds.profiles[z, "carbon"] for z in zone_ids], axis=-1)
    price_shape = np.stack([ds.profiles[z, "price"] for z in zone_ids], axis=-1)
    out = {k: np.zeros((12, 24, len(zone_ids))) for k in (
        "price", "avg_carbon", "traced_carbon", "marginal_carbon", "markup", "water_value",
        "base_price", "base_carbon")}
    out["marginal_technology"] = np.empty((12, 24, len(zone_ids)), dtype=object)
    out["generation"] = np.zeros((12, 24, len(zone_ids), len(market.technologies)))
    techs = market.technologies
    zero = np.zeros(len(zone_ids))
    for m in range(12):
        for h in range(24):
            cal = market.set_hour(m + 1, h, zero, avg * carbon_shape[m, h],
                                  price * price_shape[m, h])
            d = market.clear(market.background_mw)
            out["price"][m, h] = d.price_usd_per_mwh
            out["avg_carbon"][m, h] = d.avg_carbon_kg_per_mwh
            out["traced_carbon"][m, h] = traced_carbon_kg_per_mwh(d, market.hour_network)
            out["marginal_carbon"][m, h] = d.marginal_carbon_kg_per_mwh
            out["markup"][m, h] = cal.markup_usd_per_mwh
            out["water_value"][m, h] = cal.water_value_usd_per_mwh
            out["base_price"][m, h] = cal.base_price_usd_per_mwh
            out["base_carbon"][m, h] = cal.target_avg_carbon_kg_per_mwh
            out["generation"][m, h] = d.generation_mw
            out["marginal_technology"][m, h] = [techs[i] if i >= 0 else "shedding"
                                               for i in d.marginal_technology]
    out["technologies"] = techs
    return zone_ids, out


def hour_weights() -> np.ndarray:
    """(12, 24) share of 2024's hours in each month x hour cell."""
    days = DAYS_PER_MONTH.astype(float)
    return np.repeat(days[:, None], 24, axis=1) / (days.sum() * 24)


FOSSIL = ("coal", "lignite", "gas_ccgt", "gas_ocgt", "oil", "other_thermal")
GROUPS = {"coal": ("coal", "lignite"), "gas": ("gas_ccgt", "gas_ocgt"),
          "nuclear": ("nuclear",), "wind+solar": ("wind", "solar"), "hydro": ("hydro",)}


def generation_shares(zone_ids: list[str], cells: dict) -> pd.DataFrame:
    """Per zone whose annual generation in capacity.csv is from a source (OWID / Ember 2023 or
    2022 for country zones, not capacity x an assumed capacity factor): the model's annual
    generation share of coal, gas, nuclear, wind+solar and hydro beside the source's."""
    cap = pd.read_csv(DATA_DIR / "grid" / "capacity.csv", keep_default_na=False)
    energy = (cells["generation"] * DAYS_PER_MONTH[:, None, None, None]).sum(axis=(0, 1))
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


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two series; NaN where either does not vary."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    return float(np.corrcoef(x, y)[0, 1])


def compare(zone_ids: list[str], cells: dict[str, np.ndarray], ts: pd.DatetimeIndex,
            obs: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Per zone and signal, model against observations hour by hour: means, correlation, mean
    absolute error, the ceiling (correlation of the observations with their own month x hour
    means) and ``captured`` = (correlation / ceiling)^2 (0 for a model with no variation)."""
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
            x, y, cell = x[ok], y[ok], m[ok] * 24 + h[ok]
            means = pd.Series(y).groupby(cell).transform("mean").to_numpy()
            ceiling = np.corrcoef(means, y)[0, 1]
            constant = np.ptp(x) == 0  # a model series with no variation has no correlation
            corr = _correlation(x, y)
            rows.append({"zone": z, "signal": signal, "hours": int(ok.sum()),
                         "observed_mean": y.mean(), "model_mean": x.mean(),
                         "level_miss_pct": 100 * (x.mean() / y.mean() - 1),
                         "correlation": corr, "mae": np.abs(x - y).mean(), "ceiling": ceiling,
                         "captured": 0.0 if constant else (corr / ceiling) ** 2})
    return pd.DataFrame(rows).sort_values(["signal", "zone"]).reset_index(drop=True)


def monthly_prices(zone_ids: list[str], cells: dict[str, np.ndarray],
                   path: Path = SHARED / "grid" / "zone_prices_2024.csv") -> pd.DataFrame:
    """Zones with only monthly 2024 prices (Ember, EUR/MWh, research table): per zone and
    month the observed and the model's mean price (USD/MWh, EUR at 1.082)."""
    df = pd.read_csv(path)
    rows = []
    for z in ("SE3", "FI", "GB", "IE"):
        r = df[(df.zone_or_market == z) & df.period.str.fullmatch(r"2024-\d\d")
               & (df.unit == "EUR/MWh") & df.value.notna()]
        j = zone_ids.index(z)
        for _, row in r.iterrows():
            month = int(row.period[-2:])
            rows.append({"zone": z, "month": month, "observed": row.value * EUR_USD,
                         "model": float(cells["price"][month - 1, :, j].mean())})
    return pd.DataFrame(rows)


PUBLISHED = (  # zone, label, research-table row (zone_or_market prefix, period prefix)
    *((z, "IFI OM 2021 v3.2, US", ("US", "IFI")) for z in
      ("US-PJM-DOM", "US-NW-BPAT", "US-MISO", "US-ERCOT", "US-CAISO")),
    ("US-CAISO", "SGIP/WattTime MOER 2020, PG&E", ("US-CAISO (PGE", "2020 annual")),
    ("US-CAISO", "SGIP/WattTime MOER 2020, SCE", ("US-CAISO (SCE", "2020 annual")),
    ("US-CAISO", "WattTime CAISO_NORTH, 8 Jun - 8 Jul 2023", ("US-CAISO (WattTime", "2023")),
    ("CA-QC", "IFI OM 2021 v3.2, Canada", ("CA (Canada)", "IFI")),
    ("BR-CS", "IFI OM 2021 v3.2, Brazil", ("BR (Brazil)", "IFI")),
    ("CL-SEN", "IFI OM 2021 v3.2, Chile", ("CL (Chile)", "IFI")),
    *((z, f"IFI OM 2021 v3.2, {name}", (c, "IFI")) for z, c, name in (
        ("IE", "IE (Ireland)", "Ireland"), ("NL", "NL (Netherlands)", "Netherlands"),
        ("DE-LU", "DE (Germany)", "Germany"), ("SE3", "SE (Sweden)", "Sweden"),
        ("FI", "FI (Finland)", "Finland"), ("FR", "FR (France)", "France"),
        ("GB", "GB (United Kingdom)", "United Kingdom"), ("IN-WE", "IN (India)", "India"),
        ("SG", "SG (Singapore)", "Singapore"), ("JP-TK", "JP (Japan)", "Japan"),
        ("KR", "KR (Korea", "Korea"), ("AU-NSW", "AU (Australia)", "Australia"),
        ("ZA", "ZA (South Africa)", "South Africa"), ("AE", "AE (United Arab", "UAE"),
        ("CN-SH", "CN (China", "China"))),
    *((z, f"Fleschutz et al. 2021, {y}", (c, f"{y} annual")) for z, c in (
        ("DE-LU", "DE-LU (Germany)"), ("FR", "FR"), ("GB", "GB"), ("IE", "IE"), ("NL", "NL"),
        ("FI", "FI")) for y in (2019, 2020)),
    ("IN-WE", "CEA CO2 database v20, FY2023-24 (India)", ("IN (India, all-India", "FY2023")),
    ("SG", "EMA Singapore 2017", ("SG", "2017")),
)


REGIONAL_US = ROOT / "experiments" / "published_us_marginal.csv"


def regional_us_factors(path: Path = REGIONAL_US) -> pd.DataFrame:
    """The project's table of regional US marginal emission rates (EPA AVERT, NREL Cambium;
    docs/grid.md, "Validation"): zone, source (the row's short label), g/kWh (= kg/MWh).
    A zone that is not a shipped zone, a rate that is not a positive number or a row without
    its source is an error naming the file and the line."""
    df = pd.read_csv(path, dtype={"published": str, "source": str})
    zones = set(shipped().zones)
    for line, row in enumerate(df.itertuples(index=False), start=2):
        where = f"{path.name} line {line}"
        if row.zone not in zones:
            raise ValueError(f"{where}: {row.zone!r} is not a shipped zone")
        rate = pd.to_numeric(row.kg_per_mwh, errors="coerce")
        if not (np.isfinite(rate) and rate > 0):
            raise ValueError(f"{where}: kg_per_mwh {row.kg_per_mwh!r} is not a positive number")
        if not (isinstance(row.source, str) and row.source.strip()
                and isinstance(row.published, str) and row.published.strip()):
            raise ValueError(f"{where}: a rate needs its source and its short label")
    return pd.DataFrame({"zone": df.zone, "source": df.published,
                         "published": df.kg_per_mwh.astype(float)})


def published_factors(path: Path = SHARED / "grid" / "marginal_emission_factors.csv",
                      regional: Path = REGIONAL_US) -> pd.DataFrame:
    """Every published marginal (operating-margin) factor of the research table with a value,
    mapped to the zones it stands for, and the regional US rates of ``regional_us_factors``,
    each zone's rows together (zones in the research table's order): zone, source, g/kWh."""
    df = pd.read_csv(path)
    rows = []
    for zone, label, (market, period) in PUBLISHED:
        hit = df[(df.zone_or_market == market) | df.zone_or_market.str.startswith(market + " ")
                 | df.zone_or_market.str.startswith(market)]
        hit = hit[hit.period.astype(str).str.startswith(period) & hit.value.notna()]
        if len(hit) != 1:
            raise ValueError(f"{label}: expected one row for {market!r} {period!r}, "
                             f"found {len(hit)}")
        rows.append({"zone": zone, "source": label, "published": float(hit.value.iloc[0])})
    out = pd.concat([pd.DataFrame(rows), regional_us_factors(regional)], ignore_index=True)
    order = {z: k for k, z in enumerate(dict.fromkeys(out.zone))}
    return out.sort_values("zone", key=lambda z: z.map(order), kind="stable",
                           ignore_index=True)


def marginal_shares(cells: dict[str, np.ndarray], j: int) -> pd.Series:
    """Zone ``j``'s share of the year's hours (the month x hour cells weighted by their hours)
    by the technology on its margin, largest first."""
    return (pd.Series(hour_weights().ravel()).groupby(cells["marginal_technology"][:, :, j]
                                                     .ravel()).sum()
            .sort_values(ascending=False))


def marginal_summary(zone_ids: list[str], cells: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per zone: the model's annual mean marginal emission factor (kg/MWh, hours of the month x
    hour cells), the most frequent marginal technology and its share of hours, the share of
    hours a reservoir sets the price, the mean mark-up (USD/MWh) and its mean size relative to
    the base price."""
    w = hour_weights().ravel()
    rows = []
    for j, z in enumerate(zone_ids):
        share = marginal_shares(cells, j)
        markup = cells["markup"][:, :, j].ravel()
        base = cells["base_price"][:, :, j].ravel()
        rows.append({"zone": z,
                     "model_marginal": float((cells["marginal_carbon"][:, :, j].ravel()
                                              * w).sum()),
                     "marginal_technology": share.index[0], "share": float(share.iloc[0]),
                     "reservoir_share": float((np.isfinite(cells["water_value"][:, :, j]
                                                           ).ravel() * w).sum()),
                     "markup": float((markup * w).sum()),
                     "markup_abs_pct": float(100 * (np.abs(markup) * w).sum()
                                             / (base * w).sum())})
    return pd.DataFrame(rows)


def caiso_summer_marginal(zone_ids: list[str], cells: dict[str, np.ndarray]) -> float:
    """The model's mean marginal emission factor of US-CAISO over June-July, kg/MWh (hours of
    the month x hour cells weighted by the days of June and July)."""
    j = zone_ids.index("US-CAISO")
    return float((cells["marginal_carbon"][5, :, j].mean() * 30
                  + cells["marginal_carbon"][6, :, j].mean() * 31) / 61)


def beside_published(zone_ids: list[str], cells: dict[str, np.ndarray]) -> pd.DataFrame:
    """Every published factor (``published_factors``) beside the model's mean marginal factor
    of the zone over the same part of the year (the year; June-July for WattTime's June 2023
    month), and the model's deviation from it (%)."""
    annual = marginal_summary(zone_ids, cells).set_index("zone").model_marginal
    out = published_factors()
    out["model"] = [caiso_summer_marginal(zone_ids, cells) if "Jun" in src else annual[z]
                    for z, src in zip(out.zone, out.source, strict=True)]
    out["deviation_pct"] = 100 * (out.model / out.published - 1)
    return out


AVERT_HOURS = ROOT / "experiments" / "avert_2023_month_utc_hour.csv"


def avert_month_hours(path: Path = AVERT_HOURS) -> dict[str, dict[str, np.ndarray]]:
    """EPA AVERT 2023's marginal CO2 rates of the US zones' regions by month x UTC hour
    (``experiments/derive_avert_hours.py`` writes the table; docs/data.md): {zone: {"mean", "std"
    (kg/MWh), "hours": (12, 24) arrays}}. A zone that is not shipped, a month or hour out of
    range, a cell twice, a count of hours that is not a positive whole number or a rate that
    is not a finite number (a negative deviation) is an error naming the file and the line; a
    zone without all 288 cells is an error naming the file and the zone."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    zones = set(shipped().zones)
    out: dict[str, dict[str, np.ndarray]] = {}
    for line, row in enumerate(df.itertuples(index=False), start=2):
        where = f"{path.name} line {line}"
        if row.zone not in zones:
            raise ValueError(f"{where}: {row.zone!r} is not a shipped zone")
        month, hour, hours = (pd.to_numeric(v, errors="coerce")
                              for v in (row.month, row.utc_hour, row.hours))
        if not (month in range(1, 13) and hour in range(24)):
            raise ValueError(f"{where}: month {row.month!r} / utc_hour {row.utc_hour!r} is "
                             "not a month 1-12 and an hour 0-23")
        if hours not in range(1, 32):
            raise ValueError(f"{where}: hours {row.hours!r} is not a count of days 1-31")
        mean, std = (pd.to_numeric(v, errors="coerce")
                     for v in (row.mean_kg_per_mwh, row.std_kg_per_mwh))
        if not (np.isfinite(mean) and np.isfinite(std) and std >= 0):
            raise ValueError(f"{where}: mean {row.mean_kg_per_mwh!r} / std "
                             f"{row.std_kg_per_mwh!r} is not a rate and a deviation >= 0")
        cell = out.setdefault(row.zone, {k: np.full((12, 24), np.nan)
                                         for k in ("mean", "std", "hours")})
        if np.isfinite(cell["mean"][int(month) - 1, int(hour)]):
            raise ValueError(f"{where}: {row.zone} month {int(month)} hour {int(hour)} twice")
        for key, value in (("mean", mean), ("std", std), ("hours", hours)):
            cell[key][int(month) - 1, int(hour)] = value
    for zone, cell in out.items():
        if np.isnan(cell["mean"]).any():
            raise ValueError(f"{path.name}: {zone} lacks {int(np.isnan(cell['mean']).sum())} "
                             "of its 288 month x hour cells")
    return out


def daily_profiles(zone_ids: list[str], cells: dict[str, np.ndarray],
                   avert: dict[str, dict[str, np.ndarray]]
                   ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per zone of ``avert``: the model's and AVERT's daily profiles of the marginal factor,
    (24,) kg/MWh by UTC hour: each hour's mean over the months weighted by their days (the
    model's cells by 2024's days, AVERT's by its hours)."""
    days = DAYS_PER_MONTH.astype(float)
    return {z: ((cells["marginal_carbon"][:, :, zone_ids.index(z)] * days[:, None]).sum(axis=0)
                / days.sum(),
                (obs["mean"] * obs["hours"]).sum(axis=0) / obs["hours"].sum(axis=0))
            for z, obs in avert.items()}


def avert_timing(zone_ids: list[str], cells: dict[str, np.ndarray],
                 avert: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Per zone of ``avert``, when the model's marginal factor (``model_cells``) is dirty or
    clean against AVERT's month x UTC-hour means: ``cell_correlation`` (Pearson over the 288
    cells, NaN where the model's cells do not vary), AVERT's ``cell_ceiling`` (the correlation
    a model equal to AVERT's true cell means would reach against its sampled means, the days
    of a cell taken as independent: sqrt(1 - mean over the cells of std^2 / hours / variance
    of the cell means)), the ``diurnal_correlation`` of the ``daily_profiles``, each profile's
    cleanest and dirtiest UTC hour (NaN where the model's margin is the same at every hour
    of each month) and spread
    (dirtiest - cleanest, kg/MWh), and ``avert_saving_on_model_timing``: AVERT's rate at the
    model's dirtiest hour minus at its cleanest, what moving a MWh from the one to the other
    saves by AVERT's rates (kg/MWh; AVERT's own best is its spread). How sharp AVERT's timing
    is: ``avert_profile_se``, the mean over the hours of the standard error of its profile
    (sqrt(sum over months of hours x std^2) / the hour's hours, days independent), and
    ``avert_near_cleanest`` / ``avert_near_dirtiest``, the hours (the extreme included) whose
    profile is within two standard errors of the difference from the cleanest / dirtiest, and
    whether the model's cleanest / dirtiest hour is one of them (``model_cleanest_near`` /
    ``model_dirtiest_near``; False where the model's hours are NaN)."""
    rows = []
    for z, (m_day, a_day) in daily_profiles(zone_ids, cells, avert).items():
        obs = avert[z]
        model = cells["marginal_carbon"][:, :, zone_ids.index(z)]
        noise = float((obs["std"] ** 2 / obs["hours"]).mean())
        se = np.sqrt((obs["hours"] * obs["std"] ** 2).sum(axis=0)) / obs["hours"].sum(axis=0)
        lo, hi = int(a_day.argmin()), int(a_day.argmax())
        near_lo = a_day - a_day[lo] <= 2 * np.hypot(se, se[lo])
        near_hi = a_day[hi] - a_day <= 2 * np.hypot(se, se[hi])
        flat = bool((np.ptp(model, axis=1) == 0).all())
        m_clean, m_dirty = (np.nan, np.nan) if flat else (int(m_day.argmin()),
                                                          int(m_day.argmax()))
        rows.append({"zone": z, "cell_correlation": _correlation(model.ravel(),
                                                                 obs["mean"].ravel()),
                     "cell_ceiling": float(np.sqrt(max(0.0, 1 - noise / obs["mean"].var()))),
                     "diurnal_correlation": _correlation(m_day, a_day),
                     "model_cleanest_utc": m_clean, "model_dirtiest_utc": m_dirty,
                     "avert_cleanest_utc": lo, "avert_dirtiest_utc": hi,
                     "model_spread": float(np.ptp(m_day)), "avert_spread": float(np.ptp(a_day)),
                     "avert_profile_se": float(se.mean()),
                     "avert_near_cleanest": int(near_lo.sum()),
                     "avert_near_dirtiest": int(near_hi.sum()),
                     "model_cleanest_near": not flat and bool(near_lo[m_clean]),
                     "model_dirtiest_near": not flat and bool(near_hi[m_dirty]),
                     "avert_saving_on_model_timing": (
                         np.nan if flat else float(a_day[m_dirty] - a_day[m_clean]))})
    return pd.DataFrame(rows)


def avert_profiles_figure(zone_ids: list[str], cells: dict[str, np.ndarray],
                          avert: dict[str, dict[str, np.ndarray]]) -> Figure:
    """One panel per zone of ``avert``: the model's and AVERT's ``daily_profiles`` (kg/MWh)
    against the UTC hour."""
    from matplotlib.figure import Figure

    profiles = daily_profiles(zone_ids, cells, avert)
    fig = Figure(figsize=(12, 6.5), layout="constrained")
    axes = fig.subplots(2, 3, sharex=True).ravel()
    for ax, (z, (m_day, a_day)) in zip(axes, profiles.items(), strict=False):
        ax.plot(range(24), m_day, "o-", ms=3, color="tab:blue", label="model (2024 cells)")
        ax.plot(range(24), a_day, "s-", ms=3, color="tab:orange", label="EPA AVERT 2023")
        ax.set_title(z, fontsize=10)
        ax.set_xticks(range(0, 24, 3))
        ax.grid(alpha=0.3)
    for ax in axes[len(profiles):]:
        ax.set_visible(False)
    for ax in axes[::3]:
        ax.set_ylabel("marginal CO2 (kg/MWh)")
    for ax in axes[len(profiles) - 3:len(profiles)]:
        ax.set_xlabel("UTC hour")
        ax.xaxis.set_tick_params(labelbottom=True)
    axes[0].legend(fontsize=8)
    fig.suptitle("Daily profile of the marginal factor: each UTC hour's mean over the months")
    return fig


def main(argv: list[str] | None = None) -> int:
    """Write the validation tables (CSV) of the calibrated market and of offers at cost."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hourly", type=Path, default=HOURLY)
    p.add_argument("--out", type=Path, default=ROOT / "out" / "validation")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    ts, obs = observed(args.hourly)
    for name, calibrated in (("calibrated", True), ("at_cost", False)):
        zone_ids, cells = model_cells(calibrated)
        tables = {"validation": compare(zone_ids, cells, ts, obs),
                  "monthly": monthly_prices(zone_ids, cells),
                  "marginal": marginal_summary(zone_ids, cells),
                  "published": beside_published(zone_ids, cells),
                  "generation_shares": generation_shares(zone_ids, cells),
                  "avert_timing": avert_timing(zone_ids, cells, avert_month_hours())}
        for key, table in tables.items():
            table.to_csv(args.out / f"{key}_{name}.csv", index=False)
            print(f"\n{key}, {name.replace('_', ' ')}:\n{table.round(2).to_string(index=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
