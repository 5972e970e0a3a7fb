"""The grid market's data: technologies, fuels, efficiency tranches by fleet region, installed
capacity by zone, fuel prices and their monthly factors, reservoir hydro and its water values,
carbon schemes on generators, interconnectors and background-demand shapes.

The files and their columns are described in ``docs/grid.md`` (shipped in ``abm/data/grid/``,
every figure with its source and an ``assumed`` flag). Bad input raises ``InputError`` naming
the file, the field and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from abm.data.dataset import DATA_DIR, _number, _read_csv, _rows
from abm.data.grid_scale import Scale, apply_scales
from abm.errors import InputError, Source, quoted

GRID_DIR = DATA_DIR / "grid"
#: reads a grid table (path, required columns) with the ``[grid.scale]`` factors applied
Reader = Callable[[Path, list[str]], pd.DataFrame]
TECHNOLOGIES = ("nuclear", "hydro", "wind", "solar", "bioenergy", "other", "coal", "lignite",
                "gas_ccgt", "gas_ocgt", "oil", "other_thermal")
KINDS = ("must_run", "variable", "hydro", "thermal", "renewable")
CALIBRATED_KINDS = ("variable", "hydro")  # hourly availability set by the calibration
HOURS_PER_YEAR = 8784  # 2024
ALL_REGIONS = "all"  # tranches.csv rows that apply to every fleet region
# the tables a grid data folder must hold (docs/grid.md); fleet_regions.csv,
# fuel_price_months.csv, reservoirs.csv and water_values.csv are optional
REQUIRED_TABLES = ("technologies.csv", "fuels.csv", "tranches.csv", "capacity.csv",
                   "fuel_prices.csv", "carbon_schemes.csv", "interconnectors.csv",
                   "demand_shape.csv")


@dataclass(frozen=True)
class Technology:
    """A technology: its fuel, kind (see ``KINDS``) and variable O&M (USD/MWh electric)."""

    id: str
    fuel: str
    kind: str
    vom_usd_per_mwh: float


@dataclass(frozen=True)
class Tranche:
    """An efficiency tranche of a technology's fleet in a fleet region (``all``: every region
    without tranches of its own): share of its capacity, efficiency (MWh electric per MWh of
    fuel heat) and availability (fraction of capacity; for calibrated kinds the annual capacity
    factor used where the zone has no generation figure)."""

    technology: str
    tranche: int
    capacity_share: float
    efficiency: float
    availability: float
    region: str = ALL_REGIONS


@dataclass(frozen=True)
class Line:
    """An interconnector between two zones; capacities in MW each way."""

    id: str
    zone_from: str
    zone_to: str
    capacity_forward_mw: float
    capacity_backward_mw: float


@dataclass(frozen=True)
class CarbonScheme:
    """A carbon price on generators (USD per t CO2) and the zones it covers."""

    id: str
    jurisdiction: str
    zones: tuple[str, ...]
    price_usd_per_t: float


@dataclass(frozen=True)
class GridData:
    """Everything the grid market reads, keyed by id (see ``load_grid_data``)."""

    technologies: dict[str, Technology]
    fuel_co2_t_per_mwh_th: dict[str, float]
    tranches: tuple[Tranche, ...]
    capacity_mw: dict[tuple[str, str], float]  # (zone, technology) -> installed MW
    generation_gwh: dict[tuple[str, str], float]  # (zone, technology) -> annual GWh, where given
    availability: dict[tuple[str, str], float]  # (zone, technology) -> fraction, where given
    fuel_price_usd_per_mwh_th: dict[tuple[str, str], float]  # (zone, fuel) -> USD/MWh of heat
    schemes: dict[str, CarbonScheme]
    lines: tuple[Line, ...]
    demand_shape: dict[str, np.ndarray] = field(repr=False)  # zone -> (12, 24) factors, UTC
    source: str = str(GRID_DIR)
    zone_region: dict[str, str] = field(default_factory=dict)  # zone -> fleet region
    fuel_hub: dict[tuple[str, str], str] = field(default_factory=dict)  # (zone, fuel) -> hub
    hub_month_factor: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # (12,)
    reservoir_share: dict[str, float] = field(default_factory=dict)  # zone -> share of hydro
    water_value_usd_per_mwh: dict[str, np.ndarray] = field(default_factory=dict,
                                                           repr=False)  # zone -> (12,)

    def tranches_of(self, zone: str, technology: str) -> tuple[Tranche, ...]:
        """The efficiency tranches of ``technology`` in ``zone``'s fleet region (the region's
        own rows, else the rows for all regions)."""
        region = self.zone_region.get(zone, ALL_REGIONS)
        own = tuple(t for t in self.tranches if t.technology == technology and t.region == region)
        return own or tuple(t for t in self.tranches
                            if t.technology == technology and t.region == ALL_REGIONS)

    def fuel_month_factor(self, zone: str, fuel: str) -> np.ndarray:
        """(12,) factor of the zone's fuel price in each month of 2024 (1 where its hub has no
        monthly factors)."""
        hub = self.fuel_hub.get((zone, fuel))
        return self.hub_month_factor.get(hub, np.ones(12)) if hub is not None else np.ones(12)

    def carbon_prices(self, zone_ids: Sequence[str],
                      overrides: Mapping[str, float] | None = None) -> np.ndarray:
        """(Z,) carbon price on generators per zone, USD/t: the sum of the prices of the
        schemes covering the zone (0 where none does); ``overrides`` replaces a scheme's price
        by its id (e.g. ``{"eu_ets": 100.0}``)."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.schemes))
        if unknown:
            raise InputError(self.source, "carbon_schemes.scheme",
                             f"unknown scheme(s) {unknown}; known: {sorted(self.schemes)}")
        out = np.zeros(len(zone_ids))
        index = {z: i for i, z in enumerate(zone_ids)}
        for s in self.schemes.values():
            price = float(overrides.get(s.id, s.price_usd_per_t))
            for z in s.zones:
                if z in index:
                    out[index[z]] += price
        return out

    def shape(self, zone_ids: Sequence[str]) -> np.ndarray:
        """(Z, 12, 24) background-demand factors (month x UTC hour) of the zones."""
        missing = [z for z in zone_ids if z not in self.demand_shape]
        if missing:
            raise InputError(Path(self.source) / "demand_shape.csv", "zone_id",
                             f"no demand shape for zone(s) {missing}")
        return np.stack([self.demand_shape[z] for z in zone_ids])


def _flag(value: str, path: Path, where: str) -> bool:
    flag = value.strip().lower()
    if flag not in ("true", "false"):
        raise InputError(path, where, f"expected true or false, got {quoted(value)}")
    return flag == "true"


def _choice(value: str, allowed: Sequence[str], path: Path, where: str) -> str:
    if value not in allowed:
        raise InputError(path, where, f"unknown value {quoted(value)}; allowed: "
                         f"{', '.join(allowed)}")
    return value


def _sourced(df: pd.DataFrame, path: Path) -> None:
    for i, row in _rows(df):
        if not row.source.strip():
            raise InputError(path, f"row {i + 2}.source", "every figure needs its source")
        _flag(row.assumed, path, f"row {i + 2}.assumed")


def load_grid_data(directory: Path | str | None = None, scale: tuple[Scale, ...] = (),
                   source: Source = "grid.scale") -> GridData:
    """Read and check the grid tables in ``directory`` (default: the shipped ``abm/data/grid``).

    Args:
        directory: the folder of grid tables.
        scale: factors on the tables' figures (``[grid.scale]``), applied as each table is
            read, before it is checked: as if the file said so.
        source: where ``scale`` comes from (a scenario file), named in its errors.
    """
    d = Path(directory) if directory is not None else GRID_DIR
    missing = missing_tables(d)
    if missing:
        raise InputError(d, ", ".join(missing), missing_problem(missing))

    def read(path: Path, columns: list[str]) -> pd.DataFrame:
        return apply_scales(_read_csv(path, columns), path.stem, scale, path, source)

    path = d / "technologies.csv"
    df = read(path, ["technology", "fuel", "kind", "vom_usd_per_mwh", "source", "assumed"])
    _sourced(df, path)
    techs = {}
    for i, r in _rows(df):
        t = _choice(r.technology, TECHNOLOGIES, path, f"row {i + 2}.technology")
        techs[t] = Technology(t, r.fuel, _choice(r.kind, KINDS, path, f"row {i + 2}.kind"),
                              _number(r.vom_usd_per_mwh, path, f"row {i + 2}.vom_usd_per_mwh"))
    path = d / "fuels.csv"
    df = read(path, ["fuel", "co2_t_per_mwh_th", "source", "assumed"])
    _sourced(df, path)
    fuels = {r.fuel: _number(r.co2_t_per_mwh_th, path, f"row {i + 2}.co2_t_per_mwh_th")
             for i, r in _rows(df)}
    for tech in techs.values():
        if tech.fuel not in fuels:
            raise InputError(d / "technologies.csv", f"{tech.id}.fuel",
                             f"fuel {quoted(tech.fuel)} not in fuels.csv ({', '.join(fuels)})")

    path = d / "tranches.csv"
    df = read(path, ["technology", "tranche", "capacity_share", "efficiency",
                          "availability", "source", "assumed"])
    _sourced(df, path)
    if "region" not in df.columns:  # one set of tranches for every zone
        df["region"] = ALL_REGIONS
    tranches = []
    for i, r in _rows(df):
        w = f"row {i + 2}"
        t = _choice(r.technology, tuple(techs), path, f"{w}.technology")
        eff = _number(r.efficiency, path, f"{w}.efficiency", strict=True)
        avail = _number(r.availability, path, f"{w}.availability", strict=True)
        if eff > 1 or avail > 1:
            raise InputError(path, w, "efficiency and availability must be in (0, 1]")
        if not r.region.strip():
            raise InputError(path, f"{w}.region", f"a fleet region, or {ALL_REGIONS!r}")
        tranches.append(Tranche(t, int(_number(r.tranche, path, f"{w}.tranche", minimum=1)),
                                _number(r.capacity_share, path, f"{w}.capacity_share"),
                                eff, avail, r.region.strip()))
    for t, region in sorted({(x.technology, x.region) for x in tranches}):
        total = sum(x.capacity_share for x in tranches
                    if x.technology == t and x.region == region)
        if abs(total - 1.0) > 1e-9:
            where = t if region == ALL_REGIONS else f"{t}.{region}"
            raise InputError(path, f"{where}.capacity_share",
                             f"the shares of a technology must sum to 1, got {total}")
    regions = _fleet_regions(d / "fleet_regions.csv", {x.region for x in tranches})

    path = d / "capacity.csv"
    df = read(path, ["zone_id", "technology", "capacity_mw", "generation_gwh",
                          "availability", "source", "assumed"])
    _sourced(df, path)
    capacity, generation, availability = {}, {}, {}
    for i, r in _rows(df):
        w = f"row {i + 2}"
        key = (r.zone_id, _choice(r.technology, tuple(techs), path, f"{w}.technology"))
        if key in capacity:
            raise InputError(path, w, f"duplicate row for {key}")
        capacity[key] = _number(r.capacity_mw, path, f"{w}.capacity_mw")
        if r.generation_gwh.strip():
            generation[key] = _number(r.generation_gwh, path, f"{w}.generation_gwh")
        if r.availability.strip():
            availability[key] = _number(r.availability, path, f"{w}.availability", strict=True)
            if availability[key] > 1 or techs[key[1]].kind in CALIBRATED_KINDS:
                raise InputError(path, f"{w}.availability", "a fraction in (0, 1], for "
                                 "technologies whose availability is not calibrated")

    path = d / "fuel_prices.csv"
    df = read(path, ["zone_id", "fuel", "price_usd_per_mwh_th", "source", "assumed"])
    _sourced(df, path)
    prices, hubs = {}, {}
    for i, r in _rows(df):
        w = f"row {i + 2}"
        fuel = _choice(r.fuel, tuple(fuels), path, f"{w}.fuel")
        prices[(r.zone_id, fuel)] = _number(r.price_usd_per_mwh_th, path,
                                            f"{w}.price_usd_per_mwh_th")
        if "hub" in df.columns and r.hub.strip():
            hubs[(r.zone_id, fuel)] = r.hub.strip()
    months = _monthly(d / "fuel_price_months.csv", "hub", "factor", set(hubs.values()),
                      "fuel_prices.csv hub", read)
    reservoir = _reservoirs(d / "reservoirs.csv", read)
    water = _monthly(d / "water_values.csv", "zone_id", "value_usd_per_mwh", set(reservoir),
                     "reservoirs.csv zone_id", read)

    path = d / "carbon_schemes.csv"
    df = read(path, ["scheme", "jurisdiction", "zones", "price_usd_per_t", "source",
                          "assumed"])
    _sourced(df, path)
    schemes = {}
    for i, r in _rows(df):
        w = f"row {i + 2}"
        zones = tuple(z.strip() for z in r.zones.split(";") if z.strip())  # may be none
        schemes[r.scheme] = CarbonScheme(r.scheme, r.jurisdiction, zones,
                                         _number(r.price_usd_per_t, path, f"{w}.price_usd_per_t"))

    path = d / "interconnectors.csv"
    df = read(path, ["line_id", "zone_from", "zone_to", "capacity_forward_mw",
                          "capacity_backward_mw", "source", "assumed"])
    _sourced(df, path)
    lines, pairs = [], set()
    for i, r in _rows(df):
        w = f"row {i + 2}"
        pair = frozenset((r.zone_from, r.zone_to))
        if len(pair) != 2 or pair in pairs:
            raise InputError(path, w, "a line joins two different zones, one row per pair")
        pairs.add(pair)
        lines.append(Line(r.line_id, r.zone_from, r.zone_to,
                          _number(r.capacity_forward_mw, path, f"{w}.capacity_forward_mw"),
                          _number(r.capacity_backward_mw, path, f"{w}.capacity_backward_mw")))

    path = d / "demand_shape.csv"
    df = read(path, ["zone_id", "month", "hour_utc", "factor"])
    shapes: dict[str, np.ndarray] = {}
    for zone, g in df.groupby("zone_id", sort=False):
        table = np.full((12, 24), np.nan)
        m = g.month.astype(int).to_numpy() - 1
        h = g.hour_utc.astype(int).to_numpy()
        if m.min() < 0 or m.max() > 11 or h.min() < 0 or h.max() > 23:
            raise InputError(path, f"{zone}.month/hour_utc", "month 1-12, hour_utc 0-23")
        table[m, h] = g.factor.astype(float).to_numpy()
        if np.isnan(table).any() or (table <= 0).any():
            raise InputError(path, f"{zone}.factor",
                             "every month x hour cell needs one factor > 0")
        shapes[str(zone)] = table
    missing = sorted({z for z, _ in capacity} - set(regions)) if regions else []
    if missing:
        raise InputError(d / "fleet_regions.csv", "zone_id",
                         f"no fleet region for zone(s) {missing}")
    for z, t in capacity:
        if not any(x.technology == t and x.region in (regions.get(z, ALL_REGIONS), ALL_REGIONS)
                   for x in tranches):
            raise InputError(d / "tranches.csv", f"{t}.region",
                             f"no tranches of {t} for region {regions.get(z, ALL_REGIONS)!r} "
                             f"(zone {z}) nor for {ALL_REGIONS!r}")
    return GridData(techs, fuels, tuple(tranches), capacity, generation, availability, prices,
                    schemes, tuple(lines), shapes, str(d), regions, hubs, months, reservoir,
                    water)


def missing_tables(directory: Path) -> list[str]:
    """The tables of ``REQUIRED_TABLES`` that folder ``directory`` lacks."""
    return [name for name in REQUIRED_TABLES
            if not ((directory / name).exists() or (directory / name).is_symlink())]


def missing_problem(missing: list[str]) -> str:
    """What to say of a grid data folder that lacks the ``missing`` tables."""
    return (f"a grid data folder needs {', '.join(REQUIRED_TABLES)} (docs/grid.md); "
            f"missing: {', '.join(missing)}")


def _fleet_regions(path: Path, known: set[str]) -> dict[str, str]:
    """zone -> fleet region from ``fleet_regions.csv`` (none if the file is absent: every
    zone uses the tranches for all regions)."""
    if not path.exists():
        return {}
    df = _read_csv(path, ["zone_id", "region", "source", "assumed"])
    _sourced(df, path)
    out = {}
    for i, r in _rows(df):
        out[r.zone_id] = _choice(r.region.strip(), tuple(sorted(known)), path,
                                 f"row {i + 2}.region")
    return out


def _reservoirs(path: Path, read: Reader) -> dict[str, float]:
    """zone -> reservoir share of its hydro capacity (none if the file is absent)."""
    if not path.exists():
        return {}
    df = read(path, ["zone_id", "reservoir_share", "source", "assumed"])
    _sourced(df, path)
    out = {}
    for i, r in _rows(df):
        share = _number(r.reservoir_share, path, f"row {i + 2}.reservoir_share", strict=True)
        if share > 1:
            raise InputError(path, f"row {i + 2}.reservoir_share", "a share in (0, 1]")
        out[r.zone_id] = share
    return out


def _monthly(path: Path, key: str, value: str, needed: set[str], of: str, read: Reader
             ) -> dict[str, np.ndarray]:
    """key -> (12,) values by month from a table with columns ``key``, ``month`` (1-12),
    ``value``; every key in ``needed`` (named by ``of``) must have all 12 months. The file is
    optional where nothing needs it (``water_values.csv`` without reservoirs) or where its
    absence means the same value every month (``fuel_price_months.csv``)."""
    if not path.exists():
        if needed and of.startswith("reservoirs"):
            raise InputError(path, key, f"missing: every zone of {of} needs a water value")
        return {}
    df = read(path, [key, "month", value, "source", "assumed"])
    _sourced(df, path)
    out: dict[str, np.ndarray] = {}
    for i, r in _rows(df):
        w = f"row {i + 2}"
        month = _number(r.month, path, f"{w}.month", minimum=1)
        if month != int(month) or month > 12:
            raise InputError(path, f"{w}.month", f"a month 1-12, got {quoted(r.month)}")
        table = out.setdefault(r[key], np.full(12, np.nan))
        table[int(month) - 1] = _number(r[value], path, f"{w}.{value}")
    incomplete = sorted(k for k, v in out.items() if np.isnan(v).any())
    absent = sorted(needed - set(out))
    if incomplete or absent:
        raise InputError(path, key, f"every {key} needs 12 months; incomplete: {incomplete}"
                         + (f"; missing ({of}): {absent}" if absent else ""))
    return out


def demand_shape_basis(directory: Path | str | None = None) -> dict[str, str]:
    """zone -> how its demand shape was made (``derived`` from data or ``synthetic``), from
    ``demand_shape_sources.csv`` in ``directory`` (default: the shipped tables); empty where
    the folder has no such file (it is optional)."""
    path = (Path(directory) if directory is not None else GRID_DIR) / "demand_shape_sources.csv"
    if not path.exists():
        return {}
    df = _read_csv(path, ["zone_id", "basis"])
    return {str(r.zone_id): str(r.basis) for _, r in _rows(df)}
