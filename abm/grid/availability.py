"""Hourly availability of variable renewables and hydro, calibrated to the hour's average carbon.

Every wind, solar and hydro unit of a zone is available at ``min(1, s x cf)`` of its capacity,
where cf is its annual capacity factor (for solar times a clear-sky day-night shape at the
zone's location, ``daylight_shape``) and s the zone's *weather factor* of the hour (s = 1: an
average hour). Other units are available at their constant availability. These units offer at
(nearly) zero, below every fuel-burning unit, so at the zone's production P (its status-quo
load plus net exports, ``abm.grid.trade``) they serve V(s) = sum min(1, s cf) x capacity and
the rest of the stack, in merit order, serves R = P - V(s). The stack's emissions E(R) rise
piecewise-linearly with R, so the target emissions a x P (a = the production-based carbon the
zone must reach) give R* = E^-1(a P) by interpolation along the cumulative capacity and
emissions of the merit order, and s by inverting the piecewise-linear V(s) = P - R*. Both
inversions are exact (no search), vectorised over zones.
Where the target cannot be met (it needs more clean energy than the zone's installed
capacity, or more fossil than it has), s is clipped and the gap is reported, not hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from abm.grid.stack import Fleet


def _cumulative(order: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(Z, U + 1) cumulative sums of ``values`` (N,) along each zone's ``order``, from 0."""
    padded = np.where(order >= 0, values[order], 0.0)
    return np.concatenate([np.zeros((len(order), 1)), np.cumsum(padded, axis=1)], axis=1)


def _invert(x: np.ndarray, y: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per row, the abscissa where the non-decreasing piecewise-linear y(x) (rows of (Z, K)
    breakpoints, y[:, 0] = 0) first reaches ``target`` (Z,), clipped to the row's range."""
    rows = np.arange(len(x))
    t = np.minimum(np.maximum(target, 0.0), y[:, -1])  # np.clip, without its overhead
    k = np.minimum(np.maximum((y < t[:, None]).sum(axis=1), 1), y.shape[1] - 1)
    dy = y[rows, k] - y[rows, k - 1]
    frac = np.divide(t - y[rows, k - 1], dy, out=np.zeros(len(t)), where=dy > 0)
    out = x[rows, k - 1] + frac * (x[rows, k] - x[rows, k - 1])
    # a target of 0 (or one on a flat start) is met as far along as y stays at it
    flat = (y <= t[:, None]).sum(axis=1) - 1
    return np.where(t <= y[rows, k - 1], x[rows, flat], out)


DAYS_PER_MONTH = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])  # 2024


def daylight_shape(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """(Z, 12, 24) clear-sky shape of solar output by month and UTC hour at each zone's
    location: the sine of the sun's elevation at mid-month and mid-hour (0 at night), scaled
    so that its average over 2024 is 1. Solar's hourly capacity factor is its annual one times
    this shape (times the weather factor)."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))[:, None, None]
    lon = np.asarray(lon_deg, dtype=float)[:, None, None]
    mid_day = np.cumsum(DAYS_PER_MONTH) - DAYS_PER_MONTH / 2  # day of the year at mid-month
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284 + mid_day) / 365)[None, :, None]
    solar_hour = np.arange(24)[None, None, :] + 0.5 + lon / 15.0
    angle = np.radians(15.0 * (solar_hour - 12.0))
    sine = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(angle)
    sine = np.maximum(sine, 0.0)
    mean = (sine.mean(axis=2) * DAYS_PER_MONTH).sum(axis=1) / DAYS_PER_MONTH.sum()
    return sine / mean[:, None, None]


def zone_lat_lon(regions: Iterable, zone_ids: Sequence[str]) -> np.ndarray:
    """(Z, 2) mean latitude and longitude (degrees) of the regions (objects with ``zone``,
    ``lat``, ``lon``, as ``abm.data.dataset.Region``) in each zone, to place it for the sun."""
    regions = list(regions)
    out = np.empty((len(zone_ids), 2))
    for i, z in enumerate(zone_ids):
        mine = [(r.lat, r.lon) for r in regions if r.zone == z]
        if not mine:
            raise ValueError(f"zone {z!r} has no region to locate it (latitude, longitude)")
        out[i] = np.mean(mine, axis=0)
    return out


class AvailabilityCalibration:
    """The weather factor of each zone for one hour (see the module docstring).

    Args:
        fleet: the units.
        offer_usd_per_mwh: (N,) their offers (fixes the merit order of the other units).
        solar_shape: (Z, 12, 24) day-night shape of solar (``daylight_shape``); None: flat.
    """

    def __init__(self, fleet: Fleet, offer_usd_per_mwh: np.ndarray,
                 solar_shape: np.ndarray | None = None) -> None:
        self.fleet = fleet
        self.offer_usd_per_mwh = offer_usd_per_mwh
        self.order = fleet.merit_order(offer_usd_per_mwh)
        fixed = ~fleet.calibrated
        order = fleet.merit_order(offer_usd_per_mwh, fixed)
        available = fleet.capacity_mw * fleet.availability
        self.fixed_mw = _cumulative(order, available)
        self.fixed_kg = _cumulative(order, available * fleet.emission_kg_per_mwh)
        self.calibrated = fleet.merit_order(offer_usd_per_mwh, fleet.calibrated)  # (Z, C)
        self.solar = fleet.technology == fleet.technologies.index("solar")
        self.solar_shape = (np.ones((fleet.n_zones, 12, 24)) if solar_shape is None
                            else np.asarray(solar_shape, dtype=float))

    def capacity_factors(self, month: int, hour_utc: int) -> np.ndarray:
        """(N,) capacity factors of an average hour of this month and UTC hour: the annual
        factor, times the daylight shape for solar (month 1-12, hour 0-23)."""
        f = self.fleet
        return f.availability * np.where(self.solar,
                                         self.solar_shape[f.zone, month - 1, hour_utc], 1.0)

    def clean_curve(self, capacity_factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Breakpoints (Z, C + 1) of V(s) = sum min(1, s cf) cap over the calibrated units,
        V linear between them, and V at them (MW); the last breakpoint is the weather factor
        at which every calibrated unit is at full capacity."""
        cal = self.calibrated
        ok = cal >= 0
        cf = np.where(ok, capacity_factor[cal], 0.0)
        cap = np.where(ok, self.fleet.capacity_mw[cal], 0.0)
        bp = np.sort(np.divide(1.0, cf, out=np.zeros_like(cf), where=cf > 0), axis=1)
        breaks = np.concatenate([np.zeros((len(bp), 1)), bp], axis=1)
        return breaks, (np.minimum(1.0, breaks[:, :, None] * cf[:, None, :])
                        * cap[:, None, :]).sum(axis=2)

    def weather_factor(self, production_mw: np.ndarray,
                       target_avg_carbon_kg_per_mwh: np.ndarray,
                       clean_curve: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """(Z,) weather factor s that makes each zone emit ``target x production`` kg at its
        production (MW), clipped to what its capacity allows; ``clean_curve`` of the hour's
        capacity factors."""
        load = np.asarray(production_mw, dtype=float)
        target = np.asarray(target_avg_carbon_kg_per_mwh, dtype=float) * load
        rest = _invert(self.fixed_mw, self.fixed_kg, target)  # R* (MW) from the other units
        return _invert(*clean_curve, load - rest)

    def available_mw(self, weather_factor: np.ndarray, capacity_factor: np.ndarray
                     ) -> np.ndarray:
        """(N,) available MW of every unit at the zones' weather factors (Z,)."""
        f = self.fleet
        share = np.where(f.calibrated, np.minimum(1.0, weather_factor[f.zone] * capacity_factor),
                         f.availability)
        return f.capacity_mw * share
