"""Derive the shipped month x hour profile table ``abm/data/profiles.csv``.

Reads the 2024 hourly file (which must NOT be committed to the repository; it lives in
``../shared/data/``) and writes, for every grid zone in ``abm/data/zones.csv`` and each signal
(``price``, ``carbon``), 12 x 24 factors::

    factor(month, hour_utc) = mean of the series in that (month, hour_utc) cell / annual mean

so that the factors average to 1 when weighted by the hours in each cell (days in the month).
Each (zone, signal) has its basis and source in ``profiles_sources.csv`` beside it.
Zones with an hourly column get ``basis = derived``; the others get ``basis = synthetic``: the
factors of a documented similar grid, shifted by the difference in standard UTC offsets so that
local times line up (or a flat profile for regulated non-time-of-use tariffs).

Usage (from the repository root)::

    python experiments/derive_profiles.py
    python experiments/derive_profiles.py --hourly ../shared/data/hourly_2024_compact.csv \
        --out abm/data/profiles.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HOURLY = ROOT.parent / "shared" / "data" / "hourly_2024_compact.csv"
DEFAULT_OUT = ROOT / "abm" / "data" / "profiles.csv"
DEFAULT_REGIONS = ROOT / "abm" / "data" / "regions.csv"
DEFAULT_ZONES = ROOT / "abm" / "data" / "zones.csv"

EXPECTED_ROWS = 8784  # hours in 2024 (leap year)
SIGNALS = ("carbon", "price")
COLUMN_SUFFIX = {"carbon": "__ci_direct_gco2_kwh", "price": "__price_usd_mwh"}

# Standard-time UTC offsets (hours), used only to align borrowed shapes by local time.
UTC_OFFSET = {
    "US-PJM-DOM": -5,
    "US-NW-BPAT": -8,
    "US-MISO": -6,
    "US-ERCOT": -6,
    "US-CAISO": -8,
    "CA-QC": -5,
    "BR-CS": -3,
    "CL-SEN": -4,
    "IE": 0,
    "NL": 1,
    "DE-LU": 1,
    "SE3": 1,
    "FI": 2,
    "FR": 1,
    "GB": 0,
    "IN-WE": 5,
    "SG": 8,
    "JP-TK": 9,
    "KR": 9,
    "AU-NSW": 10,
    "ZA": 2,
    "AE": 4,
    "CN-SH": 8,
}

CARBON_SOURCE = (
    "Electricity Maps 2024 hourly direct carbon intensity (ODbL) via HewlettPackard/green-dcc "
    "(MIT); month x hour mean / annual mean"
)
CARBON_NOTE = {
    "IN-WE": "hourly values are 100% Electricity Maps model estimates",
    "JP-TK": "hourly values are 100% Electricity Maps model estimates",
    "SG": "8-24% of hourly values are Electricity Maps estimates",
}
PRICE_OPERATOR = {
    "US-PJM-DOM": "PJM DOM zone real-time LMP (via gridstatus, BSD-3)",
    "US-ERCOT": "ERCOT HB_HUBAVG price (via gridstatus, BSD-3)",
    "US-CAISO": "CAISO NP15 day-ahead price (via gridstatus, BSD-3)",
    "BR-CS": "ONS/CCEE PLD, SE/CO submarket",
    "CL-SEN": "CEN marginal cost at Quillota plus fixed transmission and ancillary adders",
    "DE-LU": "ENTSO-E DE-LU day-ahead price",
    "NL": "ENTSO-E NL day-ahead price",
    "FR": "ENTSO-E FR day-ahead price",
    "IN-WE": "Indian Energy Exchange day-ahead market price",
    "SG": "EMC Uniform Singapore Energy Price (USEP)",
    "JP-TK": "JEPX spot price, Tokyo area",
    "KR": "KPX system marginal price (SMP)",
    "AU-NSW": "AEMO NSW regional reference price",
    "ZA": "Eskom Megaflex time-of-use TARIFF (not a wholesale price)",
}
# green-dcc's CL-SIC 2024 price file replicates 2023.
PRICE_YEAR = {"CL-SEN": "2023 (green-dcc's 2024 file is a copy of 2023)"}

# Synthetic shapes: zone -> (donor zone or None for flat, reason).
SYNTHETIC = {
    "carbon": {
        "US-NW-BPAT": (
            "US-CAISO",
            "same WECC interconnection and time zone; NW hydro trades "
            "against CAISO's solar/gas cycle",
        ),
        "US-MISO": ("US-ERCOT", "same time zone; wind + gas + coal central-US grid"),
        "CA-QC": (
            "GB",
            "no hydro-dominated northern-hemisphere derived zone; GB is the "
            "lowest-carbon northern derived zone with winter-peaking demand; BR-CS "
            "rejected because southern-hemisphere seasons are inverted",
        ),
        "IE": ("GB", "same time zone; interconnected wind + gas system"),
        "NL": ("DE-LU", "same time zone; coupled market, gas + wind + solar"),
        "SE3": (
            "GB",
            "low-carbon northern European grid whose residual variation follows "
            "wind and fossil imports/peakers",
        ),
        "FI": (
            "GB",
            "low-carbon northern European grid whose residual variation follows "
            "wind and fossil imports/peakers",
        ),
        "FR": (
            "GB",
            "low-carbon northern European grid; residual carbon from gas peakers and "
            "imports at winter evening peaks",
        ),
        "AE": ("SG", "gas-dominated, air-conditioning-driven, small solar share"),
        "CN-SH": ("KR", "East Asian coal + nuclear + gas grid, adjacent time zone"),
    },
    "price": {
        "US-NW-BPAT": (
            "US-CAISO",
            "Mid-C trades with CAISO through the Western EIM; same time zone",
        ),
        "US-MISO": (
            "US-PJM-DOM",
            "adjacent eastern-interconnection RTO with coordinated seams and a similar LMP cycle",
        ),
        "CA-QC": (None, "Hydro-Quebec Rate L is a regulated non-time-of-use tariff"),
        "IE": ("NL", "gas-marginal north-west European day-ahead market with high wind share"),
        "GB": ("NL", "gas-marginal north-west European day-ahead market, linked by BritNed"),
        "SE3": ("DE-LU", "coupled to continental Europe through SDAC market coupling"),
        "FI": ("DE-LU", "coupled to continental Europe through SDAC market coupling"),
        "AE": (None, "DEWA tariffs are regulated slab tariffs without time-of-use"),
        "CN-SH": (
            "KR",
            "East Asian gas/coal-marginal system, adjacent time zone; Shanghai's "
            "regulated time-of-use peak/valley ratio is likely larger than this",
        ),
    },
}


def read_hourly(path: Path) -> pd.DataFrame:
    hourly = pd.read_csv(path, parse_dates=["datetime_utc"])
    if len(hourly) != EXPECTED_ROWS:
        raise ValueError(f"{path}: expected {EXPECTED_ROWS} hourly rows of 2024, got {len(hourly)}")
    ts = hourly["datetime_utc"]
    expected = pd.date_range("2024-01-01 00:00", "2024-12-31 23:00", freq="h")
    if not ts.reset_index(drop=True).equals(pd.Series(expected, name="datetime_utc")):
        raise ValueError(f"{path}: datetime_utc is not the complete hourly UTC index of 2024")
    return hourly


def month_hour_factors(values: pd.Series, ts: pd.Series, label: str) -> np.ndarray:
    """12 x 24 array of cell means divided by the annual mean."""
    values = pd.to_numeric(values, errors="raise")
    if values.isna().all():
        raise ValueError(f"{label}: column is all NaN")
    annual = values.mean()
    if not np.isfinite(annual) or annual <= 0:
        raise ValueError(f"{label}: annual mean {annual!r} is not positive")
    cells = values.groupby([ts.dt.month, ts.dt.hour]).mean()
    table = cells.unstack().reindex(index=range(1, 13), columns=range(24))
    if table.isna().any().any():
        raise ValueError(f"{label}: some (month, hour) cells have no data")
    return table.to_numpy() / annual


def shift_to_local(factors: np.ndarray, donor: str, target: str) -> np.ndarray:
    """Align a donor's UTC-hour shape with the target's local time."""
    delta = UTC_OFFSET[target] - UTC_OFFSET[donor]
    idx = (np.arange(24) + delta) % 24
    return factors[:, idx]


def derive(hourly: pd.DataFrame, regions: pd.DataFrame, zones: list[str]) -> pd.DataFrame:
    region_zone = dict(zip(regions["region_id"], regions["zone_id"], strict=True))
    ts = hourly["datetime_utc"]
    derived: dict[tuple[str, str], np.ndarray] = {}
    for column in hourly.columns:
        if column == "datetime_utc":
            continue
        signal = next((s for s, suf in COLUMN_SUFFIX.items() if column.endswith(suf)), None)
        if signal is None:
            raise ValueError(f"unrecognised hourly column {column!r}")
        region = column[: -len(COLUMN_SUFFIX[signal])]
        if region not in region_zone:
            raise ValueError(f"hourly column {column!r}: region {region!r} not in regions.csv")
        zone = region_zone[region]
        if (zone, signal) in derived:
            raise ValueError(f"two hourly columns for zone {zone} signal {signal}")
        derived[(zone, signal)] = month_hour_factors(hourly[column], ts, column)

    frames, sources = [], []
    for zone in zones:
        for signal in SIGNALS:
            if (zone, signal) in derived:
                factors = derived[(zone, signal)]
                basis = "derived"
                if signal == "carbon":
                    source = CARBON_SOURCE
                    if zone in CARBON_NOTE:
                        source += f"; {CARBON_NOTE[zone]}"
                else:
                    year = PRICE_YEAR.get(zone, "2024")
                    source = (
                        f"{PRICE_OPERATOR[zone]}, {year} hourly USD/MWh via "
                        "HewlettPackard/green-dcc "
                        "(MIT; upstream operator terms; 2-hour centred rolling mean); "
                        "month x hour mean / annual mean"
                    )
            elif zone in SYNTHETIC[signal]:
                donor, reason = SYNTHETIC[signal][zone]
                basis = "synthetic"
                if donor is None:
                    factors = np.ones((12, 24))
                    source = f"synthetic: flat profile ({reason})"
                else:
                    if (donor, signal) not in derived:
                        raise ValueError(f"donor {donor} has no derived {signal} profile")
                    factors = shift_to_local(derived[(donor, signal)], donor, zone)
                    delta = UTC_OFFSET[zone] - UTC_OFFSET[donor]
                    shift = f"; shifted {-delta:+d} h in UTC to align local time" if delta else ""
                    source = f"synthetic: shape borrowed from {donor} ({reason}){shift}"
            else:
                raise ValueError(f"zone {zone}: no hourly {signal} column and no synthetic rule")
            months, hours = np.meshgrid(np.arange(1, 13), np.arange(24), indexing="ij")
            frames.append(
                pd.DataFrame(
                    {
                        "zone_id": zone,
                        "signal": signal,
                        "month": months.ravel(),
                        "hour_utc": hours.ravel(),
                        "factor": np.round(factors.ravel(), 4),
                    }
                )
            )
            sources.append({"zone_id": zone, "signal": signal, "basis": basis, "source": source})
    return pd.concat(frames, ignore_index=True), pd.DataFrame(sources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--hourly",
        type=Path,
        default=DEFAULT_HOURLY,
        help="hourly 2024 file (default: ../shared/data/hourly_2024_compact.csv)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output CSV (default: abm/data/profiles.csv)"
    )
    parser.add_argument(
        "--regions",
        type=Path,
        default=DEFAULT_REGIONS,
        help="region table, region_id -> zone_id (default: abm/data/regions.csv)",
    )
    parser.add_argument(
        "--zones", type=Path, default=DEFAULT_ZONES, help="zone table (default: abm/data/zones.csv)"
    )
    args = parser.parse_args(argv)

    hourly = read_hourly(args.hourly)
    regions = pd.read_csv(args.regions)
    zones = pd.read_csv(args.zones)["zone_id"].tolist()
    profiles, sources = derive(hourly, regions, zones)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    profiles.to_csv(args.out, index=False, lineterminator="\n")
    sources_out = args.out.with_name(args.out.stem + "_sources.csv")
    sources.to_csv(sources_out, index=False, lineterminator="\n")
    print(f"wrote {len(profiles)} rows to {args.out} and their sources to {sources_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
