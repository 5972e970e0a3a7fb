"""EPA AVERT 2023's hourly marginal CO2 rates of the regions of the model's five US zones,
reduced to month x UTC-hour means (docs/data.md, "Published marginal rates of US regions").

The source is AVERT v4.3's 2023 hourly CO2 rates per AVERT region as NREL packages them for
REopt.jl (``data/emissions/AVERT_Data/AVERT_2023_CO2_lb_per_kwh.csv``, 8,760 rows, lb/kWh; not
shipped). Its hours are read as each region's local *standard* time, hour-beginning: hour 0 is
1 January 2023 00:00-01:00 local standard time (docs/data.md says why). Each hour is moved to
UTC by the region's standard offset and, the year taken as a cycle, the hours that UTC puts
into 2024 count as their month of 2023 (the last hours of 31 December local time in the
early UTC hours of January), so every month x UTC-hour cell holds the days of its month. The
shipped table holds per zone and cell the hours, the mean and the standard deviation of the
rate in kg/MWh (lb/kWh x 453.59237).

Usage (from the repository root)::

    python experiments/derive_avert_hours.py SOURCE.csv [--out OUT.csv]   # default: the table

The table: ``experiments/avert_2023_month_utc_hour.csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "avert_2023_month_utc_hour.csv"
KG_PER_MWH_PER_LB_PER_KWH = 453.59237
YEAR = 2023
#: zone -> (AVERT region column, hours UTC is ahead of the region's local standard time)
REGIONS = {"US-ERCOT": ("TE", 6),     # Texas: Central
           "US-MISO": ("MIDW", 6),    # Midwest: mostly Central (Michigan, Indiana Eastern)
           "US-NW-BPAT": ("NW", 8),   # Northwest: Pacific (its inland states Mountain)
           "US-CAISO": ("CA", 8),     # California: Pacific
           "US-PJM-DOM": ("MIDA", 5)}  # Mid-Atlantic: Eastern


def month_utc_hour_means(source: Path) -> pd.DataFrame:
    """Per zone of ``REGIONS`` and (month, UTC hour) cell: the AVERT region, the UTC offset
    (h), the hours in the cell and the mean and standard deviation (ddof 1) of the hourly rate,
    kg/MWh. A source that is not the year's 8,760 hours in order, month by month, is an
    error."""
    df = pd.read_csv(source, encoding="utf-8-sig")
    local = pd.date_range(f"{YEAR}-01-01", periods=8760, freq="h")
    if (len(df) != len(local) or not (df.Timestamp.to_numpy() == np.arange(len(local))).all()
            or not (df.Month.to_numpy() == local.month).all()):
        raise ValueError(f"{source}: expected the 8760 hours of {YEAR} in order (columns "
                         "Month, Timestamp 0-8759)")
    rows = []
    for zone, (column, offset) in REGIONS.items():
        utc = local + pd.Timedelta(hours=offset)
        kg = df[column].to_numpy(dtype=float) * KG_PER_MWH_PER_LB_PER_KWH
        cells = pd.DataFrame({"month": utc.month, "utc_hour": utc.hour, "kg": kg})
        stats = cells.groupby(["month", "utc_hour"]).kg.agg(["size", "mean", "std"])
        rows.append(pd.DataFrame({"zone": zone, "avert_region": column, "utc_offset_h": offset,
                                  "month": stats.index.get_level_values(0),
                                  "utc_hour": stats.index.get_level_values(1),
                                  "hours": stats["size"].to_numpy(),
                                  "mean_kg_per_mwh": stats["mean"].to_numpy(),
                                  "std_kg_per_mwh": stats["std"].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    """Write the month x UTC-hour table of the source file."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path, help="AVERT_2023_CO2_lb_per_kwh.csv of REopt.jl")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    table = month_utc_hour_means(args.source)
    table.to_csv(args.out, index=False, float_format="%.2f")
    print(f"wrote {args.out}: {len(table)} cells of {table.zone.nunique()} zones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
