"""Demand-response events as a user reads them: one row per event called, from the run's
hourly ``events`` table (docs/market.md, "Demand-response events")."""

from __future__ import annotations

import pandas as pd

#: MWh summed over an event's hours (the hourly table's columns)
ENERGY = ("reference_mwh", "asked_mwh", "placed_mwh", "delivered_mwh", "deferred_mwh",
          "relocated_mwh", "shed_mwh")


def per_event(hourly: pd.DataFrame) -> pd.DataFrame:
    """One row per event called (an event's name and start hour; a rule's event may be
    called many times): ``event``, ``zone``, ``trigger``, ``start_hour``, ``start_utc``,
    ``end_utc`` (the start of its last hour), ``hours``, ``cut_pct``, ``asked_mw`` (per hour, on
    average) and the MWh of ``ENERGY`` over its hours."""
    columns = ["event", "zone", "trigger", "start_hour", "start_utc", "end_utc", "hours",
               "cut_pct", "asked_mw", *ENERGY]
    if hourly.empty:
        return pd.DataFrame(columns=columns)
    keys = ["start_hour", "event"]
    g = hourly.sort_values(["hour", "event"]).groupby(keys, sort=True)
    out = g.agg(zone=("zone", "first"), trigger=("trigger", "first"),
                start_utc=("time_utc", "min"), end_utc=("time_utc", "max"),
                hours=("hour", "size"), cut_pct=("cut_pct", "first"),
                **{c: (c, "sum") for c in ENERGY}).reset_index()
    out["asked_mw"] = out.asked_mwh / out.hours
    return out[columns].reset_index(drop=True)
