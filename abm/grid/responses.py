"""Grid responses: how the zones of a scenario answer data-centre load, behind one interface.

A response is built once per run from the scenario and its hourly base signals
(``GRID_RESPONSES[name](scenario, base, stamps)``), then every hour

    response.set_hour(t, reference_dc_mw)   # calibrate hour t at the status-quo load
    response.clear(dc_mw) -> Dispatch        # clear with data-centre grid load dc_mw (Z,) MW

and the market calls ``clear`` as often as it needs counterfactuals (forecast quotes, the placed
load, no data-centre load, the status quo), so it never branches on the response type. The
data-centre load is added to each zone's own background demand, which the response owns.

Shipped responses (``market.grid_response``):

* ``technology``: the zones' technology merit orders cleared jointly over interconnectors
  (``abm/grid/``, docs/grid.md);
* ``calibrated``: one calibrated stack per zone, a carbon-free block then one fossil ramp
  (``abm/supply.py``); ``linear``: its slope with a fixed marginal unit; ``exogenous``: the
  hour's base signals whatever the load. These have no lines: every zone is an island.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from abm.registry import GRID_RESPONSES
from abm.scenario import Scenario
from abm.signals import Signals
from abm.supply import calibrate, clear


@dataclass(frozen=True)
class Dispatch:
    """One clearing of all zones for one hour (Z zones, T technologies, L lines).

    Attributes:
        load_mw: (Z,) load cleared.
        price_usd_per_mwh: (Z,) dual of the zone's balance (merit order: offer of the next MW).
        marginal_technology: (Z,) index into the technologies of the next MW's unit; -1 = shedding.
        marginal_carbon_kg_per_mwh: (Z,) direct factor of the next MW's unit (0 when shedding).
        generation_mw: (Z, T) generation by technology.
        emissions_kg: (Z,) direct CO2 emitted in the zone in the hour.
        avg_carbon_kg_per_mwh: (Z,) emissions / generation (production-based; 0 if none).
        net_import_mw: (Z,) power flowing in minus out.
        unserved_mw: (Z,) load shed at the price cap.
        flow_mw: (L,) signed line flow, positive from ``line_zones[:, 0]`` to ``[:, 1]``.
        congested: (L,) the flow is at its limit.
        cost_usd: dispatch cost of the hour (offers x generation + price cap x unserved).
    """

    load_mw: np.ndarray
    price_usd_per_mwh: np.ndarray
    marginal_technology: np.ndarray
    marginal_carbon_kg_per_mwh: np.ndarray
    generation_mw: np.ndarray
    emissions_kg: np.ndarray
    avg_carbon_kg_per_mwh: np.ndarray
    net_import_mw: np.ndarray
    unserved_mw: np.ndarray
    flow_mw: np.ndarray
    congested: np.ndarray
    cost_usd: float


class GridResponse(Protocol):
    """What the market needs of a grid response (see the module docstring)."""

    technologies: tuple[str, ...]
    lines: tuple[tuple[str, str, str], ...]  # (line id, first zone, second zone)

    def set_hour(self, t: int, reference_dc_mw: np.ndarray) -> None:
        """Prepare hour ``t`` of the run; ``reference_dc_mw`` (Z,) is the status-quo
        data-centre grid load (MW)."""

    def clear(self, dc_mw: np.ndarray) -> Dispatch:
        """Clear every zone with data-centre grid load ``dc_mw`` (Z,) MW on top of its
        background demand."""


CALIBRATED_TECHNOLOGIES = ("carbon_free", "fossil")


class CalibratedStacks:
    """Each zone an island with a calibrated stack (``abm/supply.py``): a carbon-free block,
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

    def __init__(self, scenario: Scenario, base: Signals, mode: str) -> None:
        self.background_mw = np.array([z.load_mw for z in scenario.zones], dtype=float)
        self.base = base
        self.mode = mode
        self.stack = None

    def set_hour(self, t: int, reference_dc_mw: np.ndarray) -> None:
        """Calibrate hour ``t``'s stacks at background + status-quo data-centre load."""
        b = self.base
        self.stack = calibrate(self.background_mw + reference_dc_mw, b.price_usd_per_mwh[t],
                               b.avg_carbon_kg_per_mwh[t], b.marginal_carbon_kg_per_mwh[t])

    def clear(self, dc_mw: np.ndarray) -> Dispatch:
        """Clear every zone's stack at background + ``dc_mw`` (MW)."""
        st = self.stack
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
        )


def _calibrated(mode: str):
    def build(scenario: Scenario, base: Signals, stamps: list[dt.datetime]) -> CalibratedStacks:
        return CalibratedStacks(scenario, base, mode)
    build.__doc__ = f"Calibrated stacks per zone, cleared by the {mode!r} rule."
    return build


GRID_RESPONSES.register("calibrated", "one calibrated stack per zone: a carbon-free block, then "
                        "a fossil ramp (abm/supply.py)", _calibrated("merit_order"))
GRID_RESPONSES.register("linear", "the calibrated stack's slope; the marginal unit never changes",
                        _calibrated("linear"))
GRID_RESPONSES.register("exogenous", "the hour's base price and carbon whatever the load",
                        _calibrated("exogenous"))

