"""Grid responses: how the zones of a scenario answer data-centre load, behind one interface.

A response is built once per run from the scenario and its hourly base signals
(``GRID_RESPONSES[name](scenario, base, stamps)``), then every hour

    response.set_hour(t, reference_dc_mw) -> HourFit   # calibrate hour t at the status quo
    response.clear(dc_mw) -> Dispatch        # clear with data-centre grid load dc_mw (Z,) MW
    response.consumed_carbon_kg_per_mwh(d)   # (Z,) average carbon of each zone's load

and the market calls ``clear`` as often as it needs counterfactuals (forecast quotes, the placed
load, no data-centre load, the status quo), so it never branches on the response type. The
data-centre load is added to each zone's own background demand, which the response owns.
A builder whose clearing runs compiled code may say which (``compiled(scenario)``: the numba
functions a run calls in its first hour), so that the progress bar says "compiling" while they
are built (``abm.market.progress.needs_compiling``).

Shipped responses (``market.grid_response``):

* ``technology``: the zones' technology merit orders cleared jointly over interconnectors
  (``abm/grid/``, docs/grid.md);
* ``calibrated``: one calibrated stack per zone, a carbon-free block then one fossil ramp
  (``abm/grid/supply.py``); ``linear``: its slope with a fixed marginal unit; ``exogenous``: the
  hour's base signals whatever the load. These have no lines: every zone is an island.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from abm.config.registry import GRID_RESPONSES
from abm.config.scenario import Scenario, check_grid_names
from abm.core.signals import Signals
from abm.data.dataset import shipped
from abm.data.grid_tables import Line
from abm.errors import InputError
from abm.grid import (
    Dispatch,
    GridData,
    GridMarket,
    build_network,
    load_grid_data,
    traced_carbon_kg_per_mwh,
)
from abm.grid.availability import zone_lat_lon
from abm.grid.clearing import compiled_loops
from abm.grid.supply import Stack, calibrate, clear


@dataclass(frozen=True)
class HourFit:
    """How close a response comes to the hour's base signals at the status quo (every zone at
    its reference load: background plus the status-quo data-centre load, all cleared
    together), arrays (Z,).

    Attributes:
        base_carbon_kg_per_mwh: the hour's base average carbon (the calibration's target).
        reference_carbon_kg_per_mwh: the consumption-based average carbon the zone reaches.
        base_price_usd_per_mwh: the hour's base price (the calibration's target, or only
            reported against where prices are not calibrated).
        reference_price_usd_per_mwh: the price the zone clears at.
    """

    base_carbon_kg_per_mwh: np.ndarray
    reference_carbon_kg_per_mwh: np.ndarray
    base_price_usd_per_mwh: np.ndarray
    reference_price_usd_per_mwh: np.ndarray


class GridResponse(Protocol):
    """What the market needs of a grid response (see the module docstring)."""

    technologies: tuple[str, ...]
    lines: tuple[tuple[str, str, str], ...]  # (line id, first zone, second zone)

    def set_hour(self, t: int, reference_dc_mw: np.ndarray) -> HourFit:
        """Prepare hour ``t`` of the run; ``reference_dc_mw`` (Z,) is the status-quo
        data-centre grid load (MW). Returns how close the hour comes to its base signals."""

    def clear(self, dc_mw: np.ndarray) -> Dispatch:
        """Clear every zone with data-centre grid load ``dc_mw`` (Z,) MW on top of its
        background demand."""

    def consumed_carbon_kg_per_mwh(self, dispatch: Dispatch) -> np.ndarray:
        """(Z,) consumption-based average carbon of a clearing (kg/MWh): what a MWh of the
        zone's load carries, imports at the mix of the zone they came from."""


CALIBRATED_TECHNOLOGIES = ("carbon_free", "fossil")


class CalibratedStacks:
    """Each zone an island with a calibrated stack (``abm/grid/supply.py``): a carbon-free block,
    then a fossil ramp with the zone's marginal factor, recalibrated every hour so that at the
    status-quo load it clears at the hour's base price and average carbon exactly.

    Args:
        scenario: the scenario (its zones' mean demand ``load_mw`` is the background).
        base: hourly base signals (T, Z).
        mode: ``merit_order`` (the fossil ramp sets price and carbon), ``linear`` (its slope,
            the marginal unit fixed) or ``exogenous`` (base signals whatever the load).
    """

    technologies = CALIBRATED_TECHNOLOGIES
    lines = ()
    #: checkpoint fields (abm/market/state.py): none carry over; ``stack`` is set every hour
    STATE: tuple[str, ...] = ()
    SCRATCH = ("stack",)

    def __init__(self, scenario: Scenario, base: Signals, mode: str) -> None:
        self.background_mw = np.array([z.load_mw for z in scenario.zones], dtype=float)
        self.base = base
        self.mode = mode
        self.stack: Stack | None = None  # the hour's, once set_hour calibrated it

    def set_hour(self, t: int, reference_dc_mw: np.ndarray) -> HourFit:
        """Calibrate hour ``t``'s stacks at background + status-quo data-centre load."""
        b = self.base
        load = self.background_mw + reference_dc_mw
        self.stack = calibrate(load, b.price_usd_per_mwh[t], b.avg_carbon_kg_per_mwh[t],
                               b.marginal_carbon_kg_per_mwh[t])
        at = clear(self.stack, load, self.mode)
        return HourFit(b.avg_carbon_kg_per_mwh[t], at.avg_kg_per_mwh, b.price_usd_per_mwh[t],
                       at.price_usd_per_mwh)

    def clear(self, dc_mw: np.ndarray) -> Dispatch:
        """Clear every zone's stack at background + ``dc_mw`` (MW)."""
        st = self.stack
        assert st is not None, "set_hour calibrates the hour's stack before clear"
        load = self.background_mw + dc_mw
        c = clear(st, load, self.mode)
        factor = st.marginal_kg_per_mwh
        fossil = np.divide(c.emissions_kg, factor, out=np.zeros_like(load), where=factor > 0)
        on_ramp = fossil > 0 if self.mode == "merit_order" else np.ones(len(load), dtype=bool)
        ramp = np.maximum(load - st.clean_mw, 0.0)  # the stack's own fossil output
        n_z = len(load)
        return Dispatch(
            load_mw=load,
            price_usd_per_mwh=c.price_usd_per_mwh,
            marginal_technology=on_ramp.astype(np.int64),  # 0 carbon_free, 1 fossil
            marginal_carbon_kg_per_mwh=c.marginal_kg_per_mwh,
            generation_mw=np.stack([load - fossil, fossil], axis=1),
            emissions_kg=c.emissions_kg,
            avg_carbon_kg_per_mwh=c.avg_kg_per_mwh,
            net_import_mw=np.zeros(n_z),
            unserved_mw=np.zeros(n_z),
            flow_mw=np.zeros(0),
            congested=np.zeros(0, dtype=bool),
            # the stack's offers: everything at the floor, the ramp's triangle above it
            cost_usd=float((st.floor_usd_per_mwh * load
                            + st.slope_usd_per_mwh_per_mw * ramp ** 2 / 2).sum()),
            moved_water_kg=np.zeros(n_z),
        )

    def consumed_carbon_kg_per_mwh(self, dispatch: Dispatch) -> np.ndarray:
        """(Z,) average carbon of the load: islands consume what they generate."""
        return dispatch.avg_carbon_kg_per_mwh


def _calibrated(mode: str):
    def build(scenario: Scenario, base: Signals, stamps: list[dt.datetime]) -> CalibratedStacks:
        return CalibratedStacks(scenario, base, mode)
    build.__doc__ = f"Calibrated stacks per zone, cleared by the {mode!r} rule."
    return build


def generator_carbon_prices(data: GridData, scenario: Scenario) -> np.ndarray:
    """(Z,) carbon price on generators per zone (USD/t): the shipped 2024 schemes covering the
    zone, with the scenario's ``grid.carbon_price_usd_per_t`` per scheme, summed; zones no
    scheme covers pay ``grid.carbon_price_elsewhere_usd_per_t``."""
    g = scenario.grid
    zone_ids = [z.id for z in scenario.zones]
    covered = {z for s in data.schemes.values() for z in s.zones}
    elsewhere = np.array([z not in covered for z in zone_ids])
    return (data.carbon_prices(zone_ids, dict(g.carbon_price_usd_per_t))
            + np.where(elsewhere, g.carbon_price_elsewhere_usd_per_t, 0.0))


def borrowed_stacks(data: GridData, scenario: Scenario) -> GridData:
    """The grid data with a stack for every zone the scenario adds: its ``profile_from`` zone's
    capacities and annual generation scaled by the ratio of mean demands, and its
    availabilities, fuel prices and their hubs, fleet region, reservoir share and water
    values, demand shape and carbon schemes (``grid.stack_from``)."""
    if not scenario.grid.stack_from:
        return data
    loads = {z.id: z.load_mw for z in (*shipped().zones.values(), *scenario.zones)}
    tables = {"capacity_mw": True, "generation_gwh": True, "availability": False,
              "fuel_price_usd_per_mwh_th": False, "fuel_hub": False}  # True: scaled
    out: dict[str, Any] = {name: dict(getattr(data, name)) for name in tables}
    by_zone: dict[str, Any] = {name: dict(getattr(data, name)) for name in (
        "demand_shape", "zone_region", "reservoir_share", "water_value_usd_per_mwh")}
    schemes = dict(data.schemes)
    for zone, donor in scenario.grid.stack_from:
        ratio = loads[zone] / loads[donor]
        for name, scaled in tables.items():
            out[name] |= {(zone, k): v * ratio if scaled else v
                          for (z, k), v in getattr(data, name).items() if z == donor}
        for table in by_zone.values():
            if donor in table:
                table[zone] = table[donor]
        schemes = {k: replace(s, zones=(*s.zones, zone)) if donor in s.zones else s
                   for k, s in schemes.items()}
    return replace(data, **out, **by_zone, schemes=schemes)


def scenario_lines(data: GridData, scenario: Scenario) -> tuple[Line, ...]:
    """The shipped interconnectors with the scenario's capacity scale and per-line capacities
    (``grid.interconnectors``)."""
    g = scenario.grid
    fixed = dict(g.interconnector_capacity_mw)
    s = g.interconnector_scale
    return tuple(replace(ln, capacity_forward_mw=fixed.get(ln.id, s * ln.capacity_forward_mw),
                         capacity_backward_mw=fixed.get(ln.id, s * ln.capacity_backward_mw))
                 for ln in data.lines)


def grid_summary(scenario: Scenario) -> str:
    """One line for ``abm check``: the carbon price on generators by scheme (USD/t, the
    scenario's where it sets one) and the interconnectors among the scenario's zones."""
    data = load_grid_data(scenario.grid.data, scenario.grid.scale, scenario.source)
    g = scenario.grid
    prices = {k: s.price_usd_per_t for k, s in data.schemes.items()} | dict(
        g.carbon_price_usd_per_t)
    zones = {z.id for z in scenario.zones}
    lines = sum(ln.zone_from in zones and ln.zone_to in zones for ln in data.lines)
    return ("carbon price on generators ($/t): "
            + ", ".join(f"{k} {v:g}" for k, v in prices.items())
            + f", elsewhere {g.carbon_price_elsewhere_usd_per_t:g}; {lines} interconnectors "
            f"(capacity x{g.interconnector_scale:g}"
            + (f", {len(g.interconnector_capacity_mw)} set by the scenario" if
               g.interconnector_capacity_mw else "") + ")"
            + (f"; {len(g.scale)} figure(s) of the grid tables scaled: "
               + ", ".join(f"{s.key} x{s.factor:g}" for s in g.scale) if g.scale else ""))


class TechnologyMarket:
    """The zones' technology merit orders cleared jointly over interconnectors
    (``abm.grid.GridMarket``), with the scenario's carbon prices on generators and
    interconnector capacities; each hour calibrated at the status-quo load (docs/grid.md).

    Args:
        scenario: the scenario (zones, ``grid`` settings, VoLL as the price cap).
        base: hourly base signals (T, Z): the calibration's target average carbon and the
            price it reports against.
        stamps: the run's UTC hours (month and hour select the background demand shape).
    """

    #: checkpoint fields (abm/market/state.py): none carry over; ``set_hour`` prepares the
    #: market's hour (background, availability, merit order) again every hour
    STATE: tuple[str, ...] = ()
    SCRATCH = ("market",)

    def __init__(self, scenario: Scenario, base: Signals, stamps: list[dt.datetime]) -> None:
        data = load_grid_data(scenario.grid.data, scenario.grid.scale, scenario.source)
        check_grid_names(scenario.grid, scenario.source, data)
        observed = build_network(data.lines, [z.id for z in scenario.zones])
        data = replace(borrowed_stacks(data, scenario), lines=scenario_lines(data, scenario))
        zone_ids = [z.id for z in scenario.zones]
        stacked = {zone for zone, _ in data.capacity_mw}
        missing = [z for z in zone_ids if z not in stacked]
        if missing:
            raise InputError(scenario.source, "market.grid_response",
                             f"'technology' needs a technology stack for every zone; "
                             f"{', '.join(missing)} has none in {data.source}: add its rows "
                             "to a [grid] data folder, or choose 'calibrated'")
        # the hour's weather and bids are calibrated under the data's 2024 carbon prices and
        # lines, which produced the observed carbon and prices; the scenario's prices and
        # lines change dispatch given them
        self.market = GridMarket.from_data(
            data, zone_ids, np.array([z.load_mw for z in scenario.zones], dtype=float),
            price_cap_usd_per_mwh=scenario.policy.voll_usd_per_mwh,
            zone_lat_lon=zone_lat_lon(scenario.regions, zone_ids),
            carbon_price_usd_per_t=generator_carbon_prices(data, scenario),
            calibrate_prices=scenario.grid.calibrate_prices,
            moved_water=scenario.grid.moved_water,
            calibration_line_capacity_mw=observed.capacity_mw)
        self.technologies = self.market.technologies
        self.lines = tuple((line, zone_ids[a], zone_ids[b]) for line, (a, b) in zip(
            self.market.line_ids, self.market.line_zones, strict=True))
        self.base = base
        self.stamps = stamps

    @staticmethod
    def compiled(scenario: Scenario) -> tuple:
        """The compiled loops a run of ``scenario`` calls in its first hour
        (``abm.grid.clearing.compiled_loops``): its zones are coupled where an interconnector
        joins two of them."""
        data = load_grid_data(scenario.grid.data, scenario.grid.scale, scenario.source)
        network = build_network(data.lines, [z.id for z in scenario.zones])
        return compiled_loops(bool(network.components()))

    def set_hour(self, t: int, reference_dc_mw: np.ndarray) -> HourFit:
        """Background demand and availability of hour ``t``, calibrated at the status quo."""
        s, b = self.stamps[t], self.base
        cal = self.market.set_hour(s.month, s.hour, reference_dc_mw, b.avg_carbon_kg_per_mwh[t],
                                   b.price_usd_per_mwh[t])
        return HourFit(cal.target_avg_carbon_kg_per_mwh, cal.avg_carbon_kg_per_mwh,
                       cal.base_price_usd_per_mwh, cal.price_usd_per_mwh)

    def clear(self, dc_mw: np.ndarray) -> Dispatch:
        """Clear all zones jointly with ``dc_mw`` (Z,) on top of this hour's background."""
        return self.market.clear(self.market.background_mw + dc_mw)

    def consumed_carbon_kg_per_mwh(self, dispatch: Dispatch) -> np.ndarray:
        """(Z,) average carbon of each zone's load by flow tracing (imports at the mix of the
        zone they came from; ``abm.grid.traced_carbon_kg_per_mwh``)."""
        return traced_carbon_kg_per_mwh(dispatch, self.market.network)

    def available_mw(self) -> np.ndarray:
        """(Z,) generation each zone's own fleet can offer this hour (MW, at the hour's
        availability; what the ``reserve_below`` event rule reads)."""
        m = self.market
        return np.bincount(m.fleet.zone, weights=m.available_mw, minlength=m.fleet.n_zones)


GRID_RESPONSES.register("technology", "technology merit orders from data, carbon price on "
                        "generators, coupled clearing over interconnectors (abm/grid/)",
                        TechnologyMarket)
GRID_RESPONSES.register("calibrated", "one calibrated stack per zone: a carbon-free block, then "
                        "a fossil ramp (abm/grid/supply.py)", _calibrated("merit_order"))
GRID_RESPONSES.register("linear", "the calibrated stack's slope; the marginal unit never changes",
                        _calibrated("linear"))
GRID_RESPONSES.register("exogenous", "the hour's base price and carbon whatever the load",
                        _calibrated("exogenous"))

