"""Hourly availability of variable renewables and hydro, calibrated to the hour's average carbon.

Every wind, solar and hydro unit of a zone is available at ``min(1, s x cf)`` of its capacity,
where cf is its annual capacity factor and s the zone's *weather factor* of the hour (s = 1: an
average hour). Other units are available at their constant availability. These units offer at
(nearly) zero, below every fuel-burning unit, so at the reference load L0 they serve
V(s) = sum min(1, s cf) x capacity and the rest of the stack, in merit order, serves
R = L0 - V(s). The stack's emissions E(R) rise piecewise-linearly with R, so the target
emissions a x L0 (a = the hour's base average carbon) give R* = E^-1(a L0) by interpolation
along the cumulative capacity and emissions of the merit order, and s by inverting the
piecewise-linear V(s) = L0 - R*. Both inversions are exact (no search), vectorised over zones.
Where the target cannot be met (it needs more clean energy than the zone's installed
capacity, or more fossil than it has), s is clipped and the gap is reported, not hidden.
"""

from __future__ import annotations

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
    t = np.clip(target, 0.0, y[:, -1])
    k = np.clip((y < t[:, None]).sum(axis=1), 1, y.shape[1] - 1)
    dy = y[rows, k] - y[rows, k - 1]
    frac = np.divide(t - y[rows, k - 1], dy, out=np.zeros(len(t)), where=dy > 0)
    out = x[rows, k - 1] + frac * (x[rows, k] - x[rows, k - 1])
    # a target of 0 (or one on a flat start) is met as far along as y stays at it
    flat = (y <= t[:, None]).sum(axis=1) - 1
    return np.where(t <= y[rows, k - 1], x[rows, flat], out)


class AvailabilityCalibration:
    """The weather factor of each zone for one hour (see the module docstring).

    Args:
        fleet: the units.
        offer_usd_per_mwh: (N,) their offers (fixes the merit order of the other units).
    """

    def __init__(self, fleet: Fleet, offer_usd_per_mwh: np.ndarray) -> None:
        self.fleet = fleet
        fixed = ~fleet.calibrated
        order = fleet.merit_order(offer_usd_per_mwh, fixed)
        available = fleet.capacity_mw * fleet.availability
        self.fixed_mw = _cumulative(order, available)
        self.fixed_kg = _cumulative(order, available * fleet.emission_kg_per_mwh)
        # V(s) = sum min(1, s cf) cap is linear between the breakpoints s = 1 / cf
        cal = fleet.merit_order(offer_usd_per_mwh, fleet.calibrated)
        ok = cal >= 0
        cf = np.where(ok, fleet.availability[cal], 0.0)
        cap = np.where(ok, fleet.capacity_mw[cal], 0.0)
        bp = np.sort(np.divide(1.0, cf, out=np.zeros_like(cf), where=cf > 0), axis=1)
        self.breaks = np.concatenate([np.zeros((len(bp), 1)), bp], axis=1)
        self.clean_mw = (np.minimum(1.0, self.breaks[:, :, None] * cf[:, None, :])
                         * cap[:, None, :]).sum(axis=2)

    def weather_factor(self, reference_load_mw: np.ndarray,
                       target_avg_carbon_kg_per_mwh: np.ndarray) -> np.ndarray:
        """(Z,) weather factor s that makes each zone emit ``target x reference load`` kg at
        its reference load (MW), clipped to what its capacity allows."""
        load = np.asarray(reference_load_mw, dtype=float)
        target = np.asarray(target_avg_carbon_kg_per_mwh, dtype=float) * load
        rest = _invert(self.fixed_mw, self.fixed_kg, target)  # R* (MW) from the other units
        return _invert(self.breaks, self.clean_mw, load - rest)

    def available_mw(self, weather_factor: np.ndarray) -> np.ndarray:
        """(N,) available MW of every unit at the zones' weather factors (Z,)."""
        f = self.fleet
        share = np.where(f.calibrated, np.minimum(1.0, weather_factor[f.zone] * f.availability),
                         f.availability)
        return f.capacity_mw * share
