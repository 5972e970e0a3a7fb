"""The grid market of Z zones: calibrate the hour, then clear as often as the hour needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from abm.data.grid_tables import GridData
from abm.grid.availability import AvailabilityCalibration, daylight_shape
from abm.grid.clearing import (
    CoupledLP,
    Dispatch,
    MeritOrder,
    Network,
    build_network,
    clear_alone,
    clear_zones,
)
from abm.grid.stack import Fleet, build_fleet

REACHED_RTOL = 1e-6
CACHED_CLEARINGS = 8  # clearings of the hour kept for repeated loads (forecast = status quo)


@dataclass(frozen=True)
class Calibration:
    """The hour's calibration (Z zones, T technologies).

    Attributes:
        weather_factor: (Z,) factor s of variable renewables' and hydro's capacity factors.
        availability: (Z, T) available fraction of each technology's installed capacity.
        reference_load_mw: (Z,) background demand plus data-centre load with no shifting.
        target_avg_carbon_kg_per_mwh: (Z,) the hour's base average carbon.
        avg_carbon_kg_per_mwh: (Z,) reached at the reference load, each zone alone, under the
            calibration's carbon prices.
        base_price_usd_per_mwh: (Z,) the hour's base price (reported against, not forced).
        price_usd_per_mwh: (Z,) the price at the reference load, each zone alone, under the
            calibration's carbon prices.
        reached: (Z,) the target is met (relative 1e-6, or 1e-6 kg/MWh near zero).
        weather_factor_max: (Z,) the weather factor at which every variable renewable and
            hydro unit is at full capacity (where a target out of reach clips it).
    """

    weather_factor: np.ndarray
    availability: np.ndarray
    reference_load_mw: np.ndarray
    target_avg_carbon_kg_per_mwh: np.ndarray
    avg_carbon_kg_per_mwh: np.ndarray
    base_price_usd_per_mwh: np.ndarray
    price_usd_per_mwh: np.ndarray
    reached: np.ndarray
    weather_factor_max: np.ndarray


class GridMarket:
    """Supply stacks, interconnectors and the clearing of Z zones.

    Args:
        fleet: the generating units.
        network: the interconnectors.
        demand_shape: (Z, 12, 24) background demand / mean demand by month and UTC hour.
        mean_load_mw: (Z,) mean background demand.
        carbon_price_usd_per_t: (Z,) carbon price on generators.
        price_cap_usd_per_mwh: price of unserved load (VoLL); clearing never fails.
        calibration_carbon_price_usd_per_t: (Z,) the generators' carbon price under which the
            hours to reproduce were observed (2024): the availability calibration orders the
            stack with it, so that a policy scenario changes dispatch given the hour's
            weather instead of re-calibrating the weather (default: the clearing's price).
        solar_shape: (Z, 12, 24) day-night shape of solar (``daylight_shape``); None: flat.
    """

    def __init__(self, fleet: Fleet, network: Network, demand_shape: np.ndarray,
                 mean_load_mw: np.ndarray, carbon_price_usd_per_t: np.ndarray,
                 price_cap_usd_per_mwh: float,
                 calibration_carbon_price_usd_per_t: np.ndarray | None = None,
                 solar_shape: np.ndarray | None = None) -> None:
        self.fleet = fleet
        self.network = network
        self.demand_shape = np.asarray(demand_shape, dtype=float)
        self.mean_load_mw = np.asarray(mean_load_mw, dtype=float)
        self.price_cap_usd_per_mwh = float(price_cap_usd_per_mwh)
        self.components = network.components()
        self.available_mw = fleet.capacity_mw * fleet.availability
        self.background_mw = self.mean_load_mw.copy()
        self._lp: CoupledLP | None = None  # the coupled zones' model, built on first clearing
        calibration_carbon = (carbon_price_usd_per_t if calibration_carbon_price_usd_per_t is None
                              else calibration_carbon_price_usd_per_t)
        self.calibration = AvailabilityCalibration(fleet, fleet.offers(calibration_carbon),
                                                   solar_shape)
        self.set_carbon_prices(carbon_price_usd_per_t)

    @classmethod
    def from_data(cls, data: GridData, zone_ids: Sequence[str], mean_load_mw: np.ndarray,
                  price_cap_usd_per_mwh: float, *, zone_lat_lon: np.ndarray,
                  carbon_price_usd_per_t: np.ndarray | None = None,
                  carbon_overrides: Mapping[str, float] | None = None) -> GridMarket:
        """The market of ``zone_ids`` from grid data. The generator carbon price is
        ``carbon_price_usd_per_t`` or else the data's schemes with ``carbon_overrides``; the
        calibration uses the data's (2024) scheme prices. ``zone_lat_lon`` (Z, 2), degrees,
        places each zone for solar's day-night shape."""
        carbon = (data.carbon_prices(zone_ids, carbon_overrides)
                  if carbon_price_usd_per_t is None else carbon_price_usd_per_t)
        where = np.asarray(zone_lat_lon, dtype=float).reshape(len(zone_ids), 2)
        return cls(build_fleet(data, zone_ids), build_network(data.lines, zone_ids),
                   data.shape(zone_ids), mean_load_mw, carbon, price_cap_usd_per_mwh,
                   calibration_carbon_price_usd_per_t=data.carbon_prices(zone_ids),
                   solar_shape=daylight_shape(where[:, 0], where[:, 1]))

    @property
    def technologies(self) -> tuple[str, ...]:
        """Technology names, in the order of ``Dispatch.generation_mw``'s columns."""
        return self.fleet.technologies

    @property
    def line_ids(self) -> tuple[str, ...]:
        """Line names, in the order of ``Dispatch.flow_mw``."""
        return self.network.line_ids

    @property
    def line_zones(self) -> np.ndarray:
        """(L, 2) from / to zone index of each line."""
        return self.network.line_zones

    @property
    def line_capacity_mw(self) -> np.ndarray:
        """(L, 2) forward / backward capacity of each line, MW."""
        return self.network.capacity_mw

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_lp"] = None  # HiGHS models do not pickle; rebuilt on the next clearing
        return state

    def set_carbon_prices(self, carbon_price_usd_per_t: np.ndarray) -> None:
        """Set the generators' carbon price (Z,), USD/t: new offers and merit orders (the
        calibration keeps its own)."""
        self.carbon_price_usd_per_t = np.asarray(carbon_price_usd_per_t, dtype=float).copy()
        self.offer_usd_per_mwh = self.fleet.offers(self.carbon_price_usd_per_t)
        self.order = self.fleet.merit_order(self.offer_usd_per_mwh)
        self._new_merit()
        if self._lp is not None:
            self._lp.set_offers(self.offer_usd_per_mwh)

    def _new_merit(self) -> None:
        """The merit order of the current offers and available MW; no clearing kept."""
        self.merit = MeritOrder.of(self.fleet, self.order, self.offer_usd_per_mwh,
                                   self.available_mw)
        self._dispatches: dict[bytes, Dispatch] = {}

    def _model(self) -> CoupledLP | None:
        """The coupled zones' HiGHS model (None if no two zones are connected)."""
        if self._lp is None and self.components:
            self._lp = CoupledLP(np.concatenate(self.components), self.fleet, self.network,
                                 self.offer_usd_per_mwh, self.price_cap_usd_per_mwh)
            self._lp.set_available(self.available_mw)
        return self._lp

    @property
    def highs_calls(self) -> int:
        """Clearings so far that called HiGHS (the others kept the last optimal basis)."""
        return self._lp.highs_calls if self._lp is not None else 0

    def set_hour(self, month: int, hour_utc: int, reference_dc_mw: np.ndarray,
                 base_avg_carbon_kg_per_mwh: np.ndarray, base_price_usd_per_mwh: np.ndarray
                 ) -> Calibration:
        """Set the hour's background demand and calibrate its availability.

        Args:
            month: 1-12.
            hour_utc: 0-23.
            reference_dc_mw: (Z,) data-centre grid load with no shifting, MW.
            base_avg_carbon_kg_per_mwh: (Z,) the hour's base average carbon to reproduce.
            base_price_usd_per_mwh: (Z,) the hour's base price (reported against).
        """
        self.background_mw = self.mean_load_mw * self.demand_shape[:, month - 1, hour_utc]
        load = self.background_mw + np.asarray(reference_dc_mw, dtype=float)
        target = np.asarray(base_avg_carbon_kg_per_mwh, dtype=float)
        cal = self.calibration
        cf = cal.capacity_factors(month, hour_utc)
        curve = cal.clean_curve(cf)
        s = cal.weather_factor(load, target, curve)
        self.available_mw = cal.available_mw(s, cf)
        self._new_merit()
        if self._lp is not None:
            self._lp.set_available(self.available_mw)
        # how close the calibration came, each zone alone, under the calibration's offers
        same = np.array_equal(cal.offer_usd_per_mwh, self.offer_usd_per_mwh)
        merit = self.merit if same else MeritOrder.of(self.fleet, cal.order,
                                                      cal.offer_usd_per_mwh, self.available_mw)
        avg_alone, price_alone = clear_alone(merit, load, self.price_cap_usd_per_mwh)
        f = self.fleet
        n_z, n_t = f.n_zones, len(f.technologies)
        key = f.zone * n_t + f.technology
        cap = np.bincount(key, weights=f.capacity_mw, minlength=n_z * n_t)
        avail = np.bincount(key, weights=self.available_mw, minlength=n_z * n_t)
        reached = np.abs(avg_alone - target) <= REACHED_RTOL * np.maximum(
            target, 1.0)
        return Calibration(
            weather_factor=s,
            availability=np.divide(avail, cap, out=np.zeros_like(cap),
                                   where=cap > 0).reshape(n_z, n_t),
            reference_load_mw=load,
            target_avg_carbon_kg_per_mwh=target,
            avg_carbon_kg_per_mwh=avg_alone,
            base_price_usd_per_mwh=np.asarray(base_price_usd_per_mwh, dtype=float),
            price_usd_per_mwh=price_alone,
            reached=reached,
            weather_factor_max=curve[0][:, -1],
        )

    def clear(self, load_mw: np.ndarray) -> Dispatch:
        """Clear all zones at total loads ``load_mw`` (Z,) MW (background + data centres).

        Clearing again at the same loads within the hour returns the same (read-only)
        dispatch without solving again."""
        load = np.asarray(load_mw, dtype=float)
        if load.shape != (self.fleet.n_zones,):
            raise ValueError(f"load_mw: expected shape ({self.fleet.n_zones},), got {load.shape}")
        key = load.tobytes()
        if key not in self._dispatches:
            d = clear_zones(self.fleet, self.merit, load, self.network, self._model(),
                            self.price_cap_usd_per_mwh)
            for value in vars(d).values():
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
            if len(self._dispatches) >= CACHED_CLEARINGS:
                self._dispatches.clear()
            self._dispatches[key] = d
        return self._dispatches[key]
