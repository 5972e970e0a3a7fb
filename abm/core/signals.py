"""Grid signals per zone: electricity price ($/MWh), average and marginal carbon (kg/MWh).

Hourly signals are the zone's annual mean times its month x hour (UTC) shape from the shipped
profiles (derived from 2024 traces, or labelled synthetic), or, where the scenario names an
hourly trace file (``[signals] trace``), that trace's values for the zones and signals it has.
Marginal carbon has no hourly data and stays at its annual value: the market's merit-order
zones make it respond to load.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from abm.config.limits import MAX_TRACE_BYTES
from abm.config.scenario import Scenario
from abm.errors import InputError


@dataclass(frozen=True)
class Signals:
    """Zone signals; arrays are (Z,) for one hour or (T, Z) for a series."""

    price_usd_per_mwh: np.ndarray
    avg_carbon_kg_per_mwh: np.ndarray
    marginal_carbon_kg_per_mwh: np.ndarray

    def at(self, t: int) -> Signals:
        """The signals of hour ``t`` of a series."""
        return Signals(self.price_usd_per_mwh[t], self.avg_carbon_kg_per_mwh[t],
                       self.marginal_carbon_kg_per_mwh[t])

    def carbon(self, basis: str) -> np.ndarray:
        """Carbon intensity on ``basis`` ('average' or 'marginal'), kg/MWh."""
        return self.avg_carbon_kg_per_mwh if basis == "average" else self.marginal_carbon_kg_per_mwh


def mean_signals(scn: Scenario) -> Signals:
    """Annual-mean signals of the scenario's zones, shape (Z,)."""
    return Signals(
        np.array([z.price_usd_per_mwh for z in scn.zones]),
        np.array([z.avg_carbon_kg_per_mwh for z in scn.zones]),
        np.array([z.marginal_carbon_kg_per_mwh for z in scn.zones]),
    )


def hour_stamps(start: dt.datetime, hours: int) -> list[dt.datetime]:
    """UTC hour stamps from ``start``."""
    return [start + dt.timedelta(hours=h) for h in range(hours)]


def profile_signals(scn: Scenario, start: dt.datetime | None = None,
                    hours: int | None = None) -> Signals:
    """Hourly signals (T, Z) from annual means and month x hour shapes."""
    stamps = hour_stamps(start or scn.start, hours or scn.hours)
    month = np.array([s.month - 1 for s in stamps])
    hour = np.array([s.hour for s in stamps])
    mean = mean_signals(scn)

    def shaped(values: np.ndarray, signal: str) -> np.ndarray:
        cols = []
        for z, v in zip(scn.zones, values, strict=True):
            table = scn.profiles.get((z.id, signal))
            if table is None:
                raise InputError(scn.source, f"zones.{z.id}",
                                 f"no hourly {signal} profile for this zone; shipped profiles "
                                 "cover the shipped zones only (bring a trace for added zones)")
            cols.append(v * table[month, hour])
        return np.stack(cols, axis=1)

    marginal = np.broadcast_to(mean.marginal_carbon_kg_per_mwh, (len(stamps), len(scn.zones)))
    price = shaped(mean.price_usd_per_mwh, "price")
    carbon = shaped(mean.avg_carbon_kg_per_mwh, "carbon")
    if scn.trace is not None:
        from abm.data.traces import check_zones, read_traces

        traces = read_traces(scn.trace, max_bytes=MAX_TRACE_BYTES).window(stamps[0], len(stamps))
        check_zones(traces, tuple(z.id for z in scn.zones))
        for i, zone in enumerate(scn.zones):
            if zone.id not in traces.zones:
                continue
            z = traces.zones.index(zone.id)
            for name, table, values in (("price", price, traces.price_usd_per_mwh[:, z]),
                                        ("carbon", carbon, traces.carbon_g_per_kwh[:, z])):
                gaps = np.isnan(values)
                if gaps.all():
                    continue  # the file has no such series for this zone: profiles stay
                if gaps.any():
                    raise InputError(scn.trace, f"{zone.id}.{name}",
                                     f"{int(gaps.sum())} of the scenario's {len(values)} hours "
                                     "have no value; give every hour or none")
                table[:, i] = values
    return Signals(price, carbon, marginal.copy())
