"""The shipped data: compute regions, grid zones, round-trip times, hourly profiles, residency.

Every figure comes with its source (``*_source`` columns) and a list of the fields that are
documented assumptions rather than sourced values (``assumed``); see ``abm/data/SOURCES.md``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from abm.errors import InputError, Source, quoted

DATA_DIR = Path(__file__).parent  # abm/data: the shipped tables beside their readers
JURISDICTIONS = ("US", "CA", "BR", "CL", "EU", "UK", "IN", "SG", "JP", "KR", "AU", "ZA", "AE", "CN")
SIGNALS = ("price", "carbon")


@dataclass(frozen=True)
class Zone:
    """A grid zone: annual-mean price ($/MWh), carbon intensities (kgCO2/MWh = gCO2/kWh) and
    mean demand (MW)."""

    id: str
    name: str
    avg_carbon_kg_per_mwh: float
    marginal_carbon_kg_per_mwh: float
    price_usd_per_mwh: float
    load_mw: float
    assumed: frozenset[str] = frozenset()
    overridden: frozenset[str] = frozenset()  # scenario field names a scenario set


@dataclass(frozen=True)
class Region:
    """A compute region: location, grid zone, jurisdiction, PUE, egress ($/GB), capacity (MW IT)."""

    id: str
    name: str
    lat: float
    lon: float
    zone: str
    jurisdiction: str
    pue: float
    egress_usd_per_gb: float
    capacity_mw: float
    rent_usd_per_mwh: float = 0.0
    assumed: frozenset[str] = frozenset()
    overridden: frozenset[str] = frozenset()  # scenario field names a scenario set


@dataclass(frozen=True)
class Latency:
    """Symmetric round-trip times (ms) between regions, with a measured/estimated flag per pair
    and, in a scenario, the pairs its ``[[latency.pairs]]`` gave (None: the shipped table)."""

    region_ids: tuple[str, ...]
    rtt_ms: np.ndarray = field(repr=False)
    measured: np.ndarray = field(repr=False)
    given: np.ndarray | None = field(default=None, repr=False)

    def index(self, region_id: str) -> int:
        """Row of ``region_id`` in the matrix."""
        return self.region_ids.index(region_id)


@dataclass(frozen=True)
class Dataset:
    """Everything shipped with the package, keyed by id."""

    regions: dict[str, Region]
    zones: dict[str, Zone]
    latency: Latency
    profiles: dict[tuple[str, str], np.ndarray]  # (zone, signal) -> (12, 24) factors, UTC hours
    residency: dict[str, dict[str, frozenset[str]]]


def _number(value: str | float, source: Source, fieldpath: str, *, minimum: float = 0.0,
            strict: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(source, fieldpath, f"expected a number, got {quoted(value)}") from None
    if not math.isfinite(x):
        raise InputError(source, fieldpath, f"expected a finite number, got {quoted(value)}")
    if x < minimum or (strict and x == minimum):
        op = ">" if strict else ">="
        raise InputError(source, fieldpath, f"expected a number {op} {minimum}, got {x}")
    return x


def _rows(df: pd.DataFrame) -> Iterator[tuple[int, pd.Series]]:
    """(position, row) of a table read by ``_read_csv``: its line in the file is position + 2."""
    for i, (_, row) in enumerate(df.iterrows()):
        yield i, row


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(path, ",".join(missing), f"missing column(s); required: {columns}")
    return df


def _assumed(text: str) -> frozenset[str]:
    return frozenset(s.strip() for s in text.split(";") if s.strip())


def load_zones(path: Path) -> dict[str, Zone]:
    """Read a zones table (see ``abm/data/zones.csv``)."""
    df = _read_csv(path, ["zone_id", "name", "avg_carbon_g_per_kwh",
                          "marginal_carbon_g_per_kwh", "price_usd_per_mwh", "load_mw",
                          "assumed"])
    zones = {}
    for i, row in _rows(df):
        where = f"row {i + 2}"
        zones[row.zone_id] = Zone(
            id=row.zone_id,
            name=row["name"],
            avg_carbon_kg_per_mwh=_number(
                row.avg_carbon_g_per_kwh, path, f"{where}.avg_carbon_g_per_kwh"),
            marginal_carbon_kg_per_mwh=_number(
                row.marginal_carbon_g_per_kwh, path, f"{where}.marginal_carbon_g_per_kwh"),
            price_usd_per_mwh=_number(row.price_usd_per_mwh, path, f"{where}.price_usd_per_mwh",
                                      minimum=-math.inf),
            load_mw=_number(row.load_mw, path, f"{where}.load_mw", strict=True),
            assumed=_assumed(row.assumed),
        )
    return zones


def load_regions(path: Path, zones: dict[str, Zone]) -> dict[str, Region]:
    """Read a regions table (see ``abm/data/regions.csv``); zones must already be known."""
    df = _read_csv(path, ["region_id", "name", "lat", "lon", "zone_id", "jurisdiction", "pue",
                          "egress_usd_per_gb", "capacity_mw", "assumed"])
    regions = {}
    for i, row in _rows(df):
        where = f"row {i + 2}"
        if row.zone_id not in zones:
            raise InputError(path, f"{where}.zone_id",
                             f"unknown zone {quoted(row.zone_id)}; known: {sorted(zones)}")
        if row.jurisdiction not in JURISDICTIONS:
            raise InputError(path, f"{where}.jurisdiction",
                             f"unknown jurisdiction {quoted(row.jurisdiction)}; allowed: "
                             f"{JURISDICTIONS}")
        regions[row.region_id] = Region(
            id=row.region_id,
            name=row["name"],
            lat=_number(row.lat, path, f"{where}.lat", minimum=-90.0),
            lon=_number(row.lon, path, f"{where}.lon", minimum=-180.0),
            zone=row.zone_id,
            jurisdiction=row.jurisdiction,
            pue=_number(row.pue, path, f"{where}.pue", minimum=1.0),
            egress_usd_per_gb=_number(row.egress_usd_per_gb, path, f"{where}.egress_usd_per_gb"),
            capacity_mw=_number(row.capacity_mw, path, f"{where}.capacity_mw"),
            assumed=_assumed(row.assumed),
        )
    return regions


def load_latency(path: Path, region_ids: list[str]) -> Latency:
    """Read pairwise RTTs in ms (``src,dst,rtt_ms,method``); every pair must be present."""
    df = _read_csv(path, ["src", "dst", "rtt_ms", "method"])
    index = {r: i for i, r in enumerate(region_ids)}
    n = len(region_ids)
    rtt = np.full((n, n), np.nan)
    measured = np.zeros((n, n), dtype=bool)
    np.fill_diagonal(rtt, 0.0)
    for i, row in _rows(df):
        if row.src not in index or row.dst not in index:
            continue  # pairs of regions a scenario does not use
        if row.method not in ("measured", "estimated"):
            raise InputError(path, f"row {i + 2}.method",
                             f"expected 'measured' or 'estimated', got {quoted(row.method)}")
        a, b = index[row.src], index[row.dst]
        rtt[a, b] = rtt[b, a] = _number(row.rtt_ms, path, f"row {i + 2}.rtt_ms", strict=True)
        measured[a, b] = measured[b, a] = row.method == "measured"
    missing = [(region_ids[a], region_ids[b]) for a, b in zip(*np.where(np.isnan(rtt)), strict=True)
               if a < b]
    if missing:
        raise InputError(path, "src,dst", f"no RTT for {len(missing)} pair(s), e.g. {missing[:3]}")
    return Latency(tuple(region_ids), rtt, measured)


def load_profiles(path: Path) -> dict[tuple[str, str], np.ndarray]:
    """Read month x hour (UTC) multiplicative shapes: ``zone_id,signal,month,hour_utc,factor``."""
    df = _read_csv(path, ["zone_id", "signal", "month", "hour_utc", "factor"])
    out: dict[tuple[str, str], np.ndarray] = {}
    for (zone, signal), g in df.groupby(["zone_id", "signal"], sort=True):
        if signal not in SIGNALS:
            raise InputError(path, "signal", f"unknown signal {quoted(signal)}; allowed: {SIGNALS}")
        table = np.full((12, 24), np.nan)
        m = g.month.astype(int).to_numpy() - 1
        h = g.hour_utc.astype(int).to_numpy()
        table[m, h] = g.factor.astype(float).to_numpy()
        if not np.isfinite(table).all():
            raise InputError(path, f"{zone}.{signal}",
                             "needs a finite factor for all 12 x 24 cells")
        out[str(zone), str(signal)] = table
    return out


def load_residency(path: Path) -> dict[str, dict[str, frozenset[str]]]:
    """Read residency regimes: regime -> origin jurisdiction -> allowed jurisdictions."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    regimes: dict[str, dict[str, frozenset[str]]] = {}
    for name, rules in raw.items():
        regimes[name] = {}
        for origin, allowed in rules.items():
            bad = [j for j in [origin, *allowed] if j not in JURISDICTIONS]
            if bad:
                raise InputError(path, f"{name}.{origin}",
                                 f"unknown jurisdiction(s) {bad}; allowed: {JURISDICTIONS}")
            regimes[name][origin] = frozenset(allowed)
    return regimes


@cache
def shipped() -> Dataset:
    """The dataset shipped in ``abm/data`` (cached; treat as read-only)."""
    zones = load_zones(DATA_DIR / "zones.csv")
    regions = load_regions(DATA_DIR / "regions.csv", zones)
    return Dataset(
        regions=regions,
        zones=zones,
        latency=load_latency(DATA_DIR / "latency.csv", list(regions)),
        profiles=load_profiles(DATA_DIR / "profiles.csv"),
        residency=load_residency(DATA_DIR / "residency.toml"),
    )
