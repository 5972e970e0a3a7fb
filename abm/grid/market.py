"""The grid market of Z zones: calibrate the hour at the status quo, then clear as often as the
hour needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from abm.config.schema import MOVED_WATER_RULES, Grid
from abm.data.grid_tables import GridData
from abm.grid.availability import AvailabilityCalibration, daylight_shape
from abm.grid.clearing import (
    CoupledLP,
    Dispatch,
    MeritOrder,
    Network,
    _merit_dispatch,
    build_network,
    clear_zones,
    traced_carbon_kg_per_mwh,
)
from abm.grid.offers import HourOffers, hour_offers
from abm.grid.stack import Fleet, build_fleet
from abm.grid.trade import production_targets, status_quo_flows

REACHED_RTOL = 1e-6
CACHED_CLEARINGS = 8  # clearings of the hour kept for repeated loads (forecast = status quo)


@dataclass(frozen=True)
class Calibration:
    """The hour's calibration at the status quo (Z zones, T technologies, L lines).

    Attributes:
        weather_factor: (Z,) factor s of variable renewables' and hydro's capacity factors.
        availability: (Z, T) available fraction of each technology's installed capacity.
        reference_load_mw: (Z,) background demand plus data-centre load with no shifting.
        target_avg_carbon_kg_per_mwh: (Z,) the hour's base average carbon (consumption).
        avg_carbon_kg_per_mwh: (Z,) consumption-based average carbon (flow tracing) of the
            status quo, all zones cleared together, under the calibration's carbon prices.
        base_price_usd_per_mwh: (Z,) the hour's base price.
        price_usd_per_mwh: (Z,) the price of the status quo, all zones cleared together, under
            the calibration's carbon prices.
        reached: (Z,) the carbon target is met (relative 1e-6, or 1e-6 kg/MWh near zero).
        weather_factor_max: (Z,) the weather factor at which every variable renewable and
            hydro unit is at full capacity (where a target out of reach clips it).
        production_mw: (Z,) what each zone produces at the status quo (load plus net exports).
        production_target_kg_per_mwh: (Z,) the production-based carbon each zone is calibrated
            to (``abm.grid.trade.production_targets``).
        markup_usd_per_mwh: (Z,) base price minus the offer of the unit that sets the price at
            the status quo (0 without price calibration; ``abm.grid.offers``).
        water_value_usd_per_mwh: (Z,) offer of the price-setting reservoir before the mark-up
            (NaN where no reservoir sets the price).
        reservoir_factor_kg_per_mwh: (Z,) emission factor of water moved between hours (NaN
            likewise).
        transfer_limit_mw: (L, 2) the lines' forward and backward limits this hour.
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
    production_mw: np.ndarray
    production_target_kg_per_mwh: np.ndarray
    markup_usd_per_mwh: np.ndarray
    water_value_usd_per_mwh: np.ndarray
    reservoir_factor_kg_per_mwh: np.ndarray
    transfer_limit_mw: np.ndarray


def background_mw(mean_load_mw: np.ndarray, demand_shape: np.ndarray, month: np.ndarray | int,
                  hour_utc: np.ndarray | int) -> np.ndarray:
    """Background demand, MW: each zone's mean demand times its month x UTC-hour shape.

    Args:
        mean_load_mw: (Z,) mean background demand.
        demand_shape: (Z, 12, 24) background demand / mean demand by month and UTC hour.
        month: 1-12, one hour's or (H,) hours'.
        hour_utc: 0-23, likewise.

    Returns:
        (Z,) for one hour, (H, Z) for H hours.
    """
    shape = np.asarray(demand_shape, dtype=float)
    if np.ndim(month) == 0 and np.ndim(hour_utc) == 0:  # one hour: no fancy indexing
        return np.asarray(mean_load_mw, dtype=float) * shape[:, month - 1, hour_utc]
    cells = shape[:, np.asarray(month) - 1, np.asarray(hour_utc)]
    return np.asarray(mean_load_mw, dtype=float) * np.moveaxis(cells, 0, -1)


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
            hours to reproduce were observed (2024): the calibration orders the stack and sets
            its mark-ups with it, so that a policy scenario changes dispatch given the hour's
            weather and bids instead of re-calibrating them (default: the clearing's price).
        solar_shape: (Z, 12, 24) day-night shape of solar (``daylight_shape``); None: flat.
        water_value_usd_per_mwh: (Z, 12) each zone's water value by month (NaN: no
            reservoir; default none).
        calibrate_prices: each zone clears at the hour's base price at the status quo (the
            flows its base prices imply, its carbon traced through them, a mark-up on its
            offers: docs/grid.md); False: offers at cost, each zone calibrated on its own.
        calibration_line_capacity_mw: (L, 2) the lines' capacities in the observed year, which
            the calibration's flows use (default: the clearing's); a scenario's other
            capacities change the clearing given the calibrated hour.
        moved_water: what reservoir water moved between hours displaces, one of
            ``MOVED_WATER_RULES`` (``abm.grid.offers``; docs/grid.md).
    """

    def __init__(self, fleet: Fleet, network: Network, demand_shape: np.ndarray,
                 mean_load_mw: np.ndarray, carbon_price_usd_per_t: np.ndarray,
                 price_cap_usd_per_mwh: float,
                 calibration_carbon_price_usd_per_t: np.ndarray | None = None,
                 solar_shape: np.ndarray | None = None,
                 water_value_usd_per_mwh: np.ndarray | None = None,
                 calibrate_prices: bool = True,
                 calibration_line_capacity_mw: np.ndarray | None = None,
                 moved_water: str = Grid.moved_water) -> None:
        if moved_water not in MOVED_WATER_RULES:
            raise ValueError(f"moved_water is {moved_water!r}, not one of "
                             f"{', '.join(MOVED_WATER_RULES)}")
        self.moved_water = moved_water
        self.fleet = fleet
        self.network = network
        self.demand_shape = np.asarray(demand_shape, dtype=float)
        self.mean_load_mw = np.asarray(mean_load_mw, dtype=float)
        self.price_cap_usd_per_mwh = float(price_cap_usd_per_mwh)
        self.components = network.components()
        self.available_mw = fleet.capacity_mw * fleet.availability
        self.background_mw = self.mean_load_mw.copy()
        self.calibrate_prices = bool(calibrate_prices)
        self.water_value_usd_per_mwh = (np.full((fleet.n_zones, 12), np.nan)
                                        if water_value_usd_per_mwh is None
                                        else np.asarray(water_value_usd_per_mwh, dtype=float))
        self.line_limit_mw = np.array(network.capacity_mw, dtype=float).reshape(-1, 2)
        self.calibration_network = network if calibration_line_capacity_mw is None else replace(
            network, capacity_mw=np.asarray(calibration_line_capacity_mw,
                                            dtype=float).reshape(-1, 2))
        # the most each zone's fleet can produce (fixed units at their availability)
        self.max_output_mw = np.bincount(
            fleet.zone, weights=fleet.capacity_mw * np.where(fleet.calibrated, 1.0,
                                                             fleet.availability),
            minlength=fleet.n_zones)
        self._lp: CoupledLP | None = None  # the coupled zones' model, built on first clearing
        self.calibration_carbon_price_usd_per_t = np.asarray(
            carbon_price_usd_per_t if calibration_carbon_price_usd_per_t is None
            else calibration_carbon_price_usd_per_t, dtype=float)
        self.solar_shape = solar_shape
        self._calibrations: dict[int | None, AvailabilityCalibration] = {}
        self.month: int | None = None
        self.offers: HourOffers | None = None  # the hour's (None before the first set_hour)
        self.set_carbon_prices(carbon_price_usd_per_t)

    @classmethod
    def from_data(cls, data: GridData, zone_ids: Sequence[str], mean_load_mw: np.ndarray,
                  price_cap_usd_per_mwh: float, *, zone_lat_lon: np.ndarray,
                  carbon_price_usd_per_t: np.ndarray | None = None,
                  carbon_overrides: Mapping[str, float] | None = None,
                  calibrate_prices: bool = True,
                  calibration_line_capacity_mw: np.ndarray | None = None,
                  moved_water: str = Grid.moved_water) -> GridMarket:
        """The market of ``zone_ids`` from grid data. The generator carbon price is
        ``carbon_price_usd_per_t`` or else the data's schemes with ``carbon_overrides``; the
        calibration uses the data's (2024) scheme prices and ``calibration_line_capacity_mw``
        (default: the data's lines). ``zone_lat_lon`` (Z, 2), degrees, places each zone for
        solar's day-night shape; ``moved_water`` as in :class:`GridMarket`."""
        carbon = (data.carbon_prices(zone_ids, carbon_overrides)
                  if carbon_price_usd_per_t is None else carbon_price_usd_per_t)
        where = np.asarray(zone_lat_lon, dtype=float).reshape(len(zone_ids), 2)
        water = np.array([data.water_value_usd_per_mwh.get(z, np.full(12, np.nan))
                          for z in zone_ids], dtype=float).reshape(len(zone_ids), 12)
        return cls(build_fleet(data, zone_ids), build_network(data.lines, zone_ids),
                   data.shape(zone_ids), mean_load_mw, carbon, price_cap_usd_per_mwh,
                   calibration_carbon_price_usd_per_t=data.carbon_prices(zone_ids),
                   solar_shape=daylight_shape(where[:, 0], where[:, 1]),
                   water_value_usd_per_mwh=water, calibrate_prices=calibrate_prices,
                   calibration_line_capacity_mw=calibration_line_capacity_mw,
                   moved_water=moved_water)

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
        """(L, 2) forward / backward capacity of each line this hour (its transfer limit), MW."""
        return self.line_limit_mw

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_lp"] = None  # HiGHS models do not pickle; rebuilt on the next clearing
        return state

    def calibration_for(self, month: int | None) -> AvailabilityCalibration:
        """The availability calibration under the calibration's carbon prices and the fuel
        prices of ``month`` (1-12; None: annual)."""
        if month not in self._calibrations:
            self._calibrations[month] = AvailabilityCalibration(
                self.fleet, self.fleet.offers(self.calibration_carbon_price_usd_per_t, month),
                self.solar_shape)
        return self._calibrations[month]

    def set_carbon_prices(self, carbon_price_usd_per_t: np.ndarray) -> None:
        """Set the generators' carbon price (Z,), USD/t: new offers and merit orders (the
        calibration keeps its own)."""
        self.carbon_price_usd_per_t = np.asarray(carbon_price_usd_per_t, dtype=float).copy()
        self._set_offers()

    def _set_offers(self) -> None:
        """The clearing's offers: the units' costs under the clearing's carbon prices and the
        month's fuel prices, moved as the hour's calibration says; new merit order."""
        offers = self.fleet.offers(self.carbon_price_usd_per_t, self.month)
        emission, offset = self.fleet.emission_kg_per_mwh, None
        if self.offers is not None:
            h = self.offers
            offers = offers + h.shift_usd_per_mwh
            emission, offset = h.emission_kg_per_mwh, h.emission_offset_kg
        self.offer_usd_per_mwh = offers
        self.order = self.fleet.merit_order(offers)
        self.merit = MeritOrder.of(self.fleet, self.order, offers, self.available_mw, emission,
                                   offset)
        self._dispatches: dict[bytes, Dispatch] = {}
        if self._lp is not None:
            self._lp.set_offers(offers)

    def _model(self) -> CoupledLP | None:
        """The coupled zones' HiGHS model (None if no two zones are connected)."""
        if self._lp is None and self.components:
            self._lp = CoupledLP(np.concatenate(self.components), self.fleet, self.network,
                                 self.offer_usd_per_mwh, self.price_cap_usd_per_mwh)
            self._lp.set_line_limits(self.line_limit_mw)
            self._lp.set_available(self.available_mw)
        return self._lp

    @property
    def highs_calls(self) -> int:
        """Clearings so far that called HiGHS (the others kept the last optimal basis)."""
        return self._lp.highs_calls if self._lp is not None else 0

    def set_hour(self, month: int, hour_utc: int, reference_dc_mw: np.ndarray,
                 base_avg_carbon_kg_per_mwh: np.ndarray, base_price_usd_per_mwh: np.ndarray
                 ) -> Calibration:
        """Set the hour's background demand and calibrate it at the status quo.

        Args:
            month: 1-12.
            hour_utc: 0-23.
            reference_dc_mw: (Z,) data-centre grid load with no shifting, MW.
            base_avg_carbon_kg_per_mwh: (Z,) the hour's base average carbon to reproduce.
            base_price_usd_per_mwh: (Z,) the hour's base price to reproduce (with
                ``calibrate_prices``; otherwise reported against).
        """
        self.background_mw = background_mw(self.mean_load_mw, self.demand_shape, month, hour_utc)
        load = self.background_mw + np.asarray(reference_dc_mw, dtype=float)
        target = np.asarray(base_avg_carbon_kg_per_mwh, dtype=float)
        price = np.asarray(base_price_usd_per_mwh, dtype=float)
        cal = self.calibration_for(month)
        observed = self.calibration_network
        if self.calibrate_prices:
            flow, limit = status_quo_flows(observed, price, load, self.max_output_mw, target)
        else:
            flow, limit = np.zeros(len(observed.line_ids)), observed.capacity_mw.copy()
        # the scenario's lines keep the share of their capacity the hour leaves them
        ratio = np.divide(limit, observed.capacity_mw, out=np.ones_like(limit),
                          where=observed.capacity_mw > 0)
        scenario_limit = self.network.capacity_mw * ratio
        produced, produced_target = production_targets(observed, flow, load, target)
        cf = cal.capacity_factors(month, hour_utc)
        curve = cal.clean_curve(cf)
        s = cal.weather_factor(produced, produced_target, curve)
        available = cal.available_mw(s, cf)
        merit = MeritOrder.of(self.fleet, cal.order, cal.offer_usd_per_mwh, available)
        g0, _ = _merit_dispatch(merit, produced)
        offers = hour_offers(self.fleet, merit, g0, self.water_value_usd_per_mwh[:, month - 1],
                             price if self.calibrate_prices else None,
                             moved_water=self.moved_water)
        self.offers = offers
        self.available_mw = offers.available_mw
        self.month = month
        # how close it came: the status quo, all zones together, under the observed carbon
        # prices and lines; then the scenario's
        scenario = self.carbon_price_usd_per_t
        same = (np.array_equal(scenario, self.calibration_carbon_price_usd_per_t)
                and np.array_equal(scenario_limit, limit))
        self.carbon_price_usd_per_t = self.calibration_carbon_price_usd_per_t
        lp = self._model()  # built now, so that the first hour clears as every later one
        self._set_limits(limit)
        if self.calibrate_prices and lp is not None:  # the status quo is known
            generation = np.zeros(len(self.fleet.zone))
            generation[merit.units] = g0[merit.valid]
            lp.set_solution(generation, flow, price)
        status_quo = self.clear(load)  # kept where the scenario is the observed year
        reached_carbon = traced_carbon_kg_per_mwh(status_quo, self.hour_network)
        transfer = self.line_limit_mw.copy()
        if not same:
            self.carbon_price_usd_per_t = scenario
            self._set_limits(scenario_limit)
        f = self.fleet
        n_z, n_t = f.n_zones, len(f.technologies)
        key = f.zone * n_t + f.technology
        cap = np.bincount(key, weights=f.capacity_mw, minlength=n_z * n_t)
        avail = np.bincount(key, weights=self.available_mw, minlength=n_z * n_t)
        reached = np.abs(reached_carbon - target) <= REACHED_RTOL * np.maximum(target, 1.0)
        return Calibration(
            weather_factor=s,
            availability=np.divide(avail, cap, out=np.zeros_like(cap),
                                   where=cap > 0).reshape(n_z, n_t),
            reference_load_mw=load,
            target_avg_carbon_kg_per_mwh=target,
            avg_carbon_kg_per_mwh=reached_carbon,
            base_price_usd_per_mwh=price,
            price_usd_per_mwh=status_quo.price_usd_per_mwh.copy(),
            reached=reached,
            weather_factor_max=curve[0][:, -1],
            production_mw=produced,
            production_target_kg_per_mwh=produced_target,
            markup_usd_per_mwh=offers.markup_usd_per_mwh,
            water_value_usd_per_mwh=offers.water_value_usd_per_mwh,
            reservoir_factor_kg_per_mwh=offers.reservoir_factor_kg_per_mwh,
            transfer_limit_mw=transfer,
        )

    def _set_limits(self, limit_mw: np.ndarray) -> None:
        """This hour's transfer limits (L, 2) MW and availability in the HiGHS model, and the
        offers under the current carbon prices (no clearing kept)."""
        self.line_limit_mw = limit_mw
        if self._lp is not None:
            self._lp.set_line_limits(limit_mw)
            self._lp.set_available(self.available_mw)
        self._set_offers()

    @property
    def hour_network(self) -> Network:
        """The interconnectors with this hour's transfer limits (built once per limits)."""
        net = self.__dict__.get("_hour_network")
        if net is None or net.capacity_mw is not self.line_limit_mw:
            net = self._hour_network = replace(self.network, capacity_mw=self.line_limit_mw)
        return net

    def clear(self, load_mw: np.ndarray) -> Dispatch:
        """Clear all zones at total loads ``load_mw`` (Z,) MW (background + data centres).

        Clearing again at the same loads within the hour returns the same (read-only)
        dispatch without solving again."""
        load = np.asarray(load_mw, dtype=float)
        if load.shape != (self.fleet.n_zones,):
            raise ValueError(f"load_mw: expected shape ({self.fleet.n_zones},), got {load.shape}")
        key = load.tobytes()
        if key not in self._dispatches:
            d = clear_zones(self.fleet, self.merit, load, self.hour_network, self._model(),
                            self.price_cap_usd_per_mwh)
            for value in vars(d).values():
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
            if len(self._dispatches) >= CACHED_CLEARINGS:
                self._dispatches.clear()
            self._dispatches[key] = d
        return self._dispatches[key]
