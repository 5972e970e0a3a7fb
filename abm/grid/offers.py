"""The hour's offers: which resource sets each zone's price at the status quo, and the offers
that make it clear at the hour's base price (docs/grid.md, "Prices").

Start from each zone's dispatch at its status-quo production, calibrated to its carbon
(``abm.grid.availability``) and dispatched by cost: every unit's output ``g0``. The unit that
would serve the zone's next MW there sets its price:

* **reservoir** zones (reservoir hydro with room above its scheduled release ``H0``): the
  reservoir, offering at its *water value* (the month's opportunity cost of its stored water,
  ``water_values.csv``), capped just below the cost of the cheapest other unit with room (water
  is not worth more than what would replace it). The units running at ``g0`` are *committed*:
  they all move down by one amount, where needed, to offer below the water value (they stay on
  when load falls; the reservoir moves first), and the uncommitted rest of a part-loaded unit
  is not offered this hour. An added MWh is then water moved from another hour: the reservoir's
  output above ``H0`` carries the emission factor of what that water displaces when it is used,
  the zone's fuel-burning unit whose cost is closest to the water value, or 0 if the water
  value is below every fuel-burning unit (water that would be spilled or displace carbon-free
  output); output below ``H0`` saves that much (``reservoir_factor_kg_per_mwh``). With
  ``moved_water = "nothing_burnt"`` (``[grid]``) moved water displaces nothing that burns:
  factor 0 in every reservoir zone;
* **every other zone**: its cheapest unit with room at ``g0``, the part-loaded one (a thermal
  tranche, or nuclear, wind, solar where those are marginal). Where that unit has no output
  yet (the production ends exactly where a unit's capacity does), the last running unit offers
  at its cost too, so that the price is pinned (both at their bounds, nothing else ties).

The zone's *mark-up* is the hour's base price minus the offer of that resource; every offer of
the zone moves by it, so the zone clears at its base price at the status quo while its merit
order, and so what serves any other load, is unchanged. It is a calibration, reported per zone
and hour (``Calibration.markup_usd_per_mwh``) and summarised in docs/grid.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.grid.clearing import TOLERANCE_MW, MeritOrder
from abm.grid.stack import Fleet

OFFER_STEP_USD_PER_MWH = 0.01  # the water value sits this far below the next unit with room


@dataclass(frozen=True)
class HourOffers:
    """How the hour's offers differ from the units' costs (N units, Z zones).

    Attributes:
        available_mw: (N,) available MW (reservoirs at their capacity; a part-loaded unit of a
            reservoir zone at its committed output).
        shift_usd_per_mwh: (N,) added to every unit's cost to make its offer: the zone's
            mark-up; the water value for a reservoir with room; committed units of reservoir
            zones also move below the water value.
        emission_kg_per_mwh: (N,) emission factor of each unit's output (a reservoir's: what
            its water displaces).
        emission_offset_kg: (Z,) minus the reservoirs' scheduled output times their factor, so
            a reservoir at its scheduled release emits nothing.
        markup_usd_per_mwh: (Z,) base price minus the offer of the price-setting resource.
        water_value_usd_per_mwh: (Z,) the reservoir's offer before the mark-up (NaN where no
            reservoir sets the price).
        reservoir_factor_kg_per_mwh: (Z,) emission factor of water moved (NaN likewise).
    """

    available_mw: np.ndarray
    shift_usd_per_mwh: np.ndarray
    emission_kg_per_mwh: np.ndarray
    emission_offset_kg: np.ndarray
    markup_usd_per_mwh: np.ndarray
    water_value_usd_per_mwh: np.ndarray
    reservoir_factor_kg_per_mwh: np.ndarray


def _first(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a (Z, U) mask: the first True column and whether there is one."""
    col = np.argmax(mask, axis=1)
    return col, mask[np.arange(len(mask)), col]


def displaced_factor(fleet: Fleet, cost_usd_per_mwh: np.ndarray,
                     water_value_usd_per_mwh: np.ndarray) -> np.ndarray:
    """(Z,) emission factor (kg/MWh) of what a zone's stored water displaces when it is used:
    the zone's fuel-burning unit whose cost (N,) is closest to the water value (Z,), or 0
    where the water value is below every fuel-burning unit's cost (or NaN)."""
    water = np.asarray(water_value_usd_per_mwh, dtype=float)
    out = np.zeros(fleet.n_zones)
    zones = np.flatnonzero(np.isfinite(water))
    if not len(zones):
        return out
    burns = (fleet.emission_kg_per_mwh > 0) & ~fleet.reservoir
    mine = fleet.zone[None, :] == zones[:, None]  # (reservoir zones, N)
    cost = np.where(mine & burns, cost_usd_per_mwh, np.inf)
    best = np.argmin(np.abs(cost - water[zones, None]), axis=1)
    displaces = water[zones] >= cost.min(axis=1)
    out[zones] = np.where(displaces, fleet.emission_kg_per_mwh[best], 0.0)
    return out


def hour_offers(fleet: Fleet, merit: MeritOrder, dispatch_mw: np.ndarray,
                water_value_usd_per_mwh: np.ndarray, base_price_usd_per_mwh: np.ndarray | None,
                *, moved_water: str) -> HourOffers:
    """The hour's offers (see the module docstring).

    Args:
        fleet: the units.
        merit: each zone's merit order by cost, with the calibrated availability.
        dispatch_mw: (Z, U) each zone's output along ``merit`` at its status-quo production.
        water_value_usd_per_mwh: (Z,) the month's water value of each zone's reservoir (NaN:
            none).
        base_price_usd_per_mwh: (Z,) the prices to reproduce; None: no mark-up (offers at
            cost, water at its value).
        moved_water: what moved reservoir water displaces (``abm.config.schema.Grid``):
            ``displaced_unit`` (:func:`displaced_factor`) or ``nothing_burnt`` (factor 0).

    A reservoir can give up to its installed capacity in the hour.
    """
    n_z = fleet.n_zones
    rows = np.arange(n_z)
    order, valid = merit.order, merit.valid
    unit = np.where(valid, order, 0)
    cost_pad = merit.offer_usd_per_mwh
    avail_pad = merit.available_mw.copy()
    reservoir_pad = valid & fleet.reservoir[unit]
    power = fleet.capacity_mw[unit]
    room_res = reservoir_pad & (power > avail_pad + TOLERANCE_MW) & (avail_pad > TOLERANCE_MW)
    res_col, has_res = _first(room_res)
    water = np.asarray(water_value_usd_per_mwh, dtype=float)
    res_zone = has_res & np.isfinite(water)

    # reservoir zones: the part-loaded unit keeps its committed output only
    g0 = dispatch_mw
    partial = valid & ~reservoir_pad & (g0 > TOLERANCE_MW) & (g0 < avail_pad - TOLERANCE_MW)
    avail_pad = np.where(partial & res_zone[:, None], g0, avail_pad)
    room = valid & ~reservoir_pad & (g0 < avail_pad - TOLERANCE_MW)
    own_col, own = _first(room)  # the cheapest other unit with room
    next_cost = np.where(own, cost_pad[rows, own_col], np.inf)
    water_eff = np.where(res_zone, np.minimum(water, next_cost - OFFER_STEP_USD_PER_MWH),
                         np.nan)
    committed = valid & ~reservoir_pad & (g0 > TOLERANCE_MW)
    top = np.where(committed, cost_pad, -np.inf).max(axis=1)
    lower = np.where(res_zone, np.maximum(top - (water_eff - OFFER_STEP_USD_PER_MWH), 0.0),
                     0.0)

    # the price-setting resource's offer, before the mark-up
    setter = np.where(res_zone, water_eff, np.where(own, next_cost, np.nan))
    n = len(fleet.zone)
    shift_pad = np.where(committed, -lower[:, None], 0.0)
    res_units = order[rows[res_zone], res_col[res_zone]]
    if base_price_usd_per_mwh is None:
        markup = np.zeros(n_z)
    else:
        markup = np.where(np.isfinite(setter),
                          np.asarray(base_price_usd_per_mwh, dtype=float) - setter, 0.0)
        # a setter with no output yet leaves the price anywhere between the last running
        # unit's offer and its own: that unit offers at the setter's cost too, pinning it
        empty = ~res_zone & own & (g0[rows, own_col] <= TOLERANCE_MW)
        running = valid & (g0 > TOLERANCE_MW) & (np.arange(order.shape[1]) < own_col[:, None])
        last = order.shape[1] - 1 - np.argmax(running[:, ::-1], axis=1)
        pin = empty & running.any(axis=1)
        shift_pad[rows[pin], last[pin]] += (cost_pad[rows, own_col] - cost_pad[rows, last])[pin]

    available = np.zeros(n)
    available[merit.units] = avail_pad[valid]
    available[res_units] = power[rows[res_zone], res_col[res_zone]]
    shift = markup[fleet.zone].copy()
    shift[merit.units] += shift_pad[valid]
    cost = _cost(merit, n)
    shift[res_units] = (water_eff + markup)[res_zone] - cost[res_units]
    factor = (np.zeros(n_z) if moved_water == "nothing_burnt"
              else displaced_factor(fleet, cost, water))
    emission = fleet.emission_kg_per_mwh.copy()
    emission[res_units] = factor[res_zone]
    offset = np.zeros(n_z)
    offset[res_zone] = -avail_pad[rows[res_zone], res_col[res_zone]] * factor[res_zone]
    return HourOffers(available, shift, emission, offset, markup, water_eff,
                      np.where(res_zone, factor, np.nan))


def _cost(merit: MeritOrder, n: int) -> np.ndarray:
    """(N,) the merit order's offers per unit."""
    out = np.zeros(n)
    out[merit.units] = merit.offer_usd_per_mwh[merit.valid]
    return out
