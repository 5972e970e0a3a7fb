"""Clearing the zones each hour: coupled economic dispatch over interconnectors, or merit order.

The interconnector graph (networkx) splits the zones into connected components. The zones of a
component with two or more zones clear jointly as a transport model on HiGHS: minimise
sum(offer x generation) + price cap x unserved, subject to each zone's balance
(generation + net inflow + unserved = load), 0 <= generation <= available MW and each line's
flow within its forward and backward capacity. The components' models are independent blocks
of one persistent HiGHS model (``CoupledLP``), built once: a call to HiGHS costs about 75 us
whatever the size of these small models, so one call per clearing instead of one per component
keeps the hour within its time budget, and the optimum is the same because the blocks share
no variable. Between clearings only column bounds (availability, per hour) and row bounds
(loads, per clearing) change, and HiGHS restarts from its last optimal basis. A zone's price
is the dual of its balance. An isolated zone clears by its merit order (vectorised over zones):
the cheapest units up to the load, price = offer of the unit that serves the next MW.

The marginal unit of a zone is the unit that serves the next MW of its load: the cheapest unit
with room in any zone that can still send power to it (through lines not at their limit in
that direction). Its direct factor is the zone's marginal carbon; load shedding (price cap,
factor 0) is marginal where nothing else can serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import networkx as nx
import numpy as np

from abm.core.highs import quiet_highs
from abm.data.grid_tables import Line
from abm.grid.stack import Fleet

TOLERANCE_MW = 1e-6  # a unit within 1 W of its available MW is full; a line within 1 W, congested
#: an optimal basis kept for the next clearing: basic columns, B^-1, at upper bound, row duals
type _Basis = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_DUAL_TOLERANCE = 1e-9  # USD/MWh: a reduced cost this close to 0 leaves a column at either bound


@dataclass(frozen=True)
class Network:
    """Interconnectors between Z zones: ``line_zones`` (L, 2) from/to zone indices and
    ``capacity_mw`` (L, 2) forward (from -> to) and backward MW."""

    line_ids: tuple[str, ...]
    line_zones: np.ndarray
    capacity_mw: np.ndarray
    n_zones: int

    def graph(self) -> nx.Graph:
        """The zones as nodes (0..Z-1) and the lines as edges (attribute ``line``: index)."""
        g: nx.Graph[int] = nx.Graph()
        g.add_nodes_from(range(self.n_zones))
        for i, (a, b) in enumerate(self.line_zones.tolist()):
            g.add_edge(a, b, line=i)
        return g

    def components(self) -> list[np.ndarray]:
        """Sorted zone indices of each connected component of two or more zones."""
        comps = [np.array(sorted(c)) for c in nx.connected_components(self.graph()) if len(c) > 1]
        return sorted(comps, key=lambda c: int(c[0]))


def build_network(lines: Sequence[Line], zone_ids: Sequence[str]) -> Network:
    """The lines whose two ends are both among ``zone_ids``."""
    index = {z: i for i, z in enumerate(zone_ids)}
    kept = [ln for ln in lines if ln.zone_from in index and ln.zone_to in index]
    return Network(tuple(ln.id for ln in kept),
                   np.array([[index[ln.zone_from], index[ln.zone_to]] for ln in kept],
                            dtype=np.int64).reshape(-1, 2),
                   np.array([[ln.capacity_forward_mw, ln.capacity_backward_mw] for ln in kept],
                            dtype=float).reshape(-1, 2),
                   len(zone_ids))


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
        moved_water_kg: (Z,) the part of ``emissions_kg`` that reservoir water moved between
            hours causes where it is used instead (``abm.grid.offers``; 0 at the scheduled
            release, negative where water is saved).
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
    moved_water_kg: np.ndarray

    @property
    def system_emissions_kg(self) -> float:
        """Emissions of all zones in the hour, kg CO2."""
        return float(self.emissions_kg.sum())


class CoupledLP:
    """The persistent HiGHS transport model of the zones ``zones`` (the connected components of
    two or more zones; each component is an independent block).

    Columns: the zones' units (generation), the lines between them (flow, bounds
    -backward..forward), one unserved column per zone (at the price cap). Rows: one balance per
    zone.

    After each HiGHS solve the optimal basis is kept for the hour (or the status quo the
    calibration built is adopted as one, ``set_solution``): a later clearing first recomputes
    the basic variables for its loads and bounds (x_B = B^-1 (loads - N x_N), one row per zone);
    if they are within their bounds the basis is still optimal (the duals depend on the costs
    and the basis only) and HiGHS is not called. Otherwise HiGHS re-solves.
    """

    def __init__(self, zones: np.ndarray, fleet: Fleet, network: Network,
                 offer_usd_per_mwh: np.ndarray, price_cap_usd_per_mwh: float) -> None:
        self.zones = np.asarray(zones, dtype=np.int64)
        local = np.full(fleet.n_zones, -1, dtype=np.int64)
        local[self.zones] = np.arange(len(self.zones))
        self.units = np.flatnonzero((local[fleet.zone] >= 0) & (fleet.capacity_mw > 0))
        self.lines = np.flatnonzero(local[network.line_zones[:, 0]] >= 0)
        nu, nl, nz = len(self.units), len(self.lines), len(self.zones)
        ends = local[network.line_zones[self.lines]]
        starts = np.concatenate([np.arange(nu + 1), nu + 2 * np.arange(1, nl + 1),
                                 nu + 2 * nl + np.arange(1, nz + 1)]).astype(np.int32)
        index = np.concatenate([local[fleet.zone[self.units]], ends.ravel(),
                                np.arange(nz)]).astype(np.int32)
        value = np.concatenate([np.ones(nu), np.tile([-1.0, 1.0], nl), np.ones(nz)])
        n_col = nu + nl + nz
        self.matrix = np.zeros((nz, n_col))  # dense copy for the basis check
        self.matrix[index, np.repeat(np.arange(n_col), np.diff(starts))] = value
        self.lower = np.concatenate([np.zeros(nu), -network.capacity_mw[self.lines, 1],
                                     np.zeros(nz)])
        self.upper = np.concatenate([fleet.capacity_mw[self.units],
                                     network.capacity_mw[self.lines, 0], np.full(nz, np.inf)])
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_col, nz
        self.cost = np.concatenate([offer_usd_per_mwh[self.units], np.zeros(nl),
                                    np.full(nz, float(price_cap_usd_per_mwh))])
        lp.col_cost_ = self.cost
        lp.col_lower_ = self.lower
        lp.col_upper_ = self.upper
        lp.row_lower_ = np.zeros(nz)
        lp.row_upper_ = np.zeros(nz)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = starts
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = value
        self.highs = quiet_highs()
        self.highs.passModel(lp)
        self._unit_cols = np.arange(nu, dtype=np.int32)
        self._unit_zone = local[fleet.zone[self.units]]  # each unit column's balance row
        self._rows = np.arange(nz, dtype=np.int32)
        self._zero_u = np.zeros(nu)
        self._basis: _Basis | None = None
        self.highs_calls = 0  # solves that needed HiGHS (the others kept the last basis)

    def set_offers(self, offer_usd_per_mwh: np.ndarray) -> None:
        """New unit offers (N,), USD/MWh."""
        self.cost = self.cost.copy()
        self.cost[:len(self.units)] = offer_usd_per_mwh[self.units]
        self.highs.changeColsCost(len(self.units), self._unit_cols, self.cost[:len(self.units)])
        self._basis = None  # the duals change with the costs

    def set_solution(self, generation_mw: np.ndarray, flow_mw: np.ndarray,
                     price_usd_per_mwh: np.ndarray) -> bool:
        """Adopt a known optimum of the current model, unit generation (N,), line flows (L,)
        and zone prices (Z,) (the status quo the calibration built), as the hour's basis, so
        that clearing at it or near it needs no HiGHS call. The basis: in every zone its unit
        strictly inside its bounds, or else one at a bound whose reduced cost is 0 (a
        degenerate basic column). Refused (False; HiGHS then solves) where a zone has more
        than one unit inside its bounds, a line is inside its limits or load is shed, or some
        column's reduced cost at these prices does not fit its bound (>= 0 at the lower bound,
        <= 0 at the upper one): otherwise the basis is optimal."""
        nu, nz = len(self.units), len(self.zones)
        col = np.concatenate([generation_mw[self.units], flow_mw[self.lines], np.zeros(nz)])
        dual = np.asarray(price_usd_per_mwh, dtype=float)[self.zones]
        reduced = self.cost - self.matrix.T @ dual
        tol = 1e-7 * (1.0 + np.abs(self.cost))
        inside = (col > self.lower + TOLERANCE_MW) & (col < self.upper - TOLERANCE_MW)
        if inside[nu:].any():
            return False
        basic = np.full(nz, -1)
        for z in range(nz):
            mine = self._unit_zone == z
            candidates = np.flatnonzero(mine & inside[:nu])
            if len(candidates) > 1:
                return False
            if not len(candidates):
                candidates = np.flatnonzero(mine & (np.abs(reduced[:nu]) <= tol[:nu]))
            if not len(candidates):
                return False
            basic[z] = candidates[0]
        at_lower = (col <= self.lower + TOLERANCE_MW) & (reduced >= -tol)
        at_upper = (col >= self.upper - TOLERANCE_MW) & (reduced <= tol)
        nonbasic = np.ones(len(col), dtype=bool)
        nonbasic[basic] = False
        if not (at_lower | at_upper)[nonbasic].all():
            return False
        try:
            inverse = np.linalg.inv(self.matrix[:, basic])
        except np.linalg.LinAlgError:
            return False
        self._basis = (basic, inverse, at_upper & ~at_lower, dual)
        return True

    def set_available(self, available_mw: np.ndarray) -> None:
        """This hour's available MW of every unit (N,). The hour's first HiGHS solve (where
        no known status quo was adopted, ``set_solution``) starts cold:
        where optima tie (power can go round a loop of lines at no cost), which one is returned
        depends on the starting basis, so an hour's clearings depend on that hour only (a
        resumed run clears as an uninterrupted one)."""
        self.upper[:len(self.units)] = available_mw[self.units]
        self.highs.changeColsBounds(len(self.units), self._unit_cols, self._zero_u,
                                    self.upper[:len(self.units)])
        self.highs.clearSolver()
        self._basis = None

    def set_line_limits(self, capacity_mw: np.ndarray) -> None:
        """This hour's transfer limits (L, 2) forward / backward MW of every line."""
        nu, nl = len(self.units), len(self.lines)
        cols = slice(nu, nu + nl)
        lower, upper = -capacity_mw[self.lines, 1], capacity_mw[self.lines, 0]
        if np.array_equal(lower, self.lower[cols]) and np.array_equal(upper, self.upper[cols]):
            return
        self.lower[cols], self.upper[cols] = lower, upper
        self.highs.changeColsBounds(nl, np.arange(nu, nu + nl, dtype=np.int32), lower, upper)
        self._basis = None

    def _keep(self, h: highspy.Highs, col: np.ndarray, reduced: np.ndarray, dual: np.ndarray
              ) -> _Basis | None:
        """The optimal basis HiGHS just found, to try on the next clearing (None where a row
        slack is basic or the basis matrix cannot be inverted: HiGHS is then called)."""
        status, basic = h.getBasicVariables()  # type: ignore[attr-defined]  # not in the stubs
        if status != highspy.HighsStatus.kOk or (basic < 0).any():
            return None
        try:
            inverse = np.linalg.inv(self.matrix[:, basic])
        except np.linalg.LinAlgError:
            return None
        # a nonbasic column sits at the bound its reduced cost asks for, so the basis stays
        # dual feasible when bounds move (a unit fixed at 0 last hour may not be)
        at_upper = np.where(reduced < -_DUAL_TOLERANCE, True,
                            np.where(reduced > _DUAL_TOLERANCE, False,
                                     np.abs(col - self.upper) < np.abs(col - self.lower)))
        return basic, inverse, at_upper, dual

    def _kept_basis(self, rhs: np.ndarray) -> np.ndarray | None:
        """The column values for loads ``rhs`` if the last optimal basis stays feasible."""
        if self._basis is None:
            return None
        basic, inverse, at_upper, _ = self._basis
        col = np.where(at_upper, self.upper, self.lower)
        col[basic] = 0.0
        if not np.isfinite(col).all():
            return None
        x = inverse @ (rhs - self.matrix @ col)
        lo, up = self.lower[basic], self.upper[basic]
        slack = 1e-9 * (1.0 + np.abs(x))
        if not ((x >= lo - slack) & (x <= up + slack)).all():
            return None
        col[basic] = np.clip(x, lo, up)
        return col

    def solve(self, load_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                   np.ndarray]:
        """Clear the coupled zones at zone loads (Z,); returns unit generation, line flows,
        unserved MW and price (USD/MWh) of each of ``zones``."""
        rhs = load_mw[self.zones]
        col = self._kept_basis(rhs)
        if col is None:
            h = self.highs
            h.changeRowsBounds(  # type: ignore[attr-defined]  # missing from highspy's stubs
                len(rhs), self._rows, rhs, rhs)
            h.run()
            self.highs_calls += 1
            status = h.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:  # cannot happen: shedding is free
                raise RuntimeError(f"grid clearing: HiGHS returned "
                                   f"{h.modelStatusToString(status)}")
            sol = h.getSolution()
            col = np.asarray(sol.col_value)
            dual = np.asarray(sol.row_dual)
            self._basis = self._keep(h, col, np.asarray(sol.col_dual), dual)
        else:
            assert self._basis is not None  # col came from it
            dual = self._basis[3]
        nu, nl = len(self.units), len(self.lines)
        return col[:nu], col[nu:nu + nl], col[nu + nl:], dual


@dataclass(frozen=True)
class MeritOrder:
    """The zones' merit orders for one hour, and what every clearing of the hour reads.

    Attributes:
        order: (Z, U) unit indices by ascending offer, -1 padded (``Fleet.merit_order``).
        valid: (Z, U) the cell holds a unit; ``units`` (M,) those units, row by row.
        available_mw: (Z, U) their available MW; ``before_mw`` (Z, U) the MW before each.
        offer_usd_per_mwh: (Z, U) offers of the units (0 in padding).
        emission_kg_per_mwh: (Z, U) their emission factors (0 in padding).
        technology_key: (M,) zone x T + technology of ``units`` (T technologies).
        unit_emission_kg_per_mwh: (N,) every unit's emission factor this hour.
        emission_offset_kg: (Z,) added to each zone's emissions (reservoirs at their scheduled
            release emit nothing: ``abm.grid.offers``).
    """

    order: np.ndarray
    valid: np.ndarray
    units: np.ndarray
    available_mw: np.ndarray
    before_mw: np.ndarray
    offer_usd_per_mwh: np.ndarray
    emission_kg_per_mwh: np.ndarray
    technology_key: np.ndarray
    unit_emission_kg_per_mwh: np.ndarray
    emission_offset_kg: np.ndarray

    @classmethod
    def of(cls, fleet: Fleet, order: np.ndarray, offer_usd_per_mwh: np.ndarray,
           available_mw: np.ndarray, emission_kg_per_mwh: np.ndarray | None = None,
           emission_offset_kg: np.ndarray | None = None) -> MeritOrder:
        """From the merit order (Z, U), the offers and available MW of every unit (N,), and
        this hour's emission factors (N,) and offsets (Z,) (default: the fleet's, none)."""
        valid = order >= 0
        units = order[valid]
        avail = np.where(valid, available_mw[order], 0.0)
        factor = fleet.emission_kg_per_mwh if emission_kg_per_mwh is None else emission_kg_per_mwh
        return cls(order, valid, units, avail, np.cumsum(avail, axis=1) - avail,
                   np.where(valid, offer_usd_per_mwh[order], 0.0),
                   np.where(valid, factor[order], 0.0),
                   fleet.zone[units] * len(fleet.technologies) + fleet.technology[units],
                   factor, np.zeros(fleet.n_zones) if emission_offset_kg is None
                   else emission_offset_kg)


def _reach(step: np.ndarray) -> np.ndarray:
    """Transitive closure of a reflexive boolean relation (Z, Z), by repeated squaring."""
    reach = step
    while True:
        more = (reach.astype(np.float32) @ reach.astype(np.float32)) > 0
        if (more == reach).all():
            return reach
        reach = more


def _merit_dispatch(merit: MeritOrder, load: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each zone alone: (Z, U) output of its merit order at loads (Z,) and (Z,) MW shed."""
    avail = merit.available_mw
    g_pad = np.minimum(np.maximum(load[:, None] - merit.before_mw, 0.0), avail)
    return g_pad, np.maximum(load - merit.before_mw[:, -1] - avail[:, -1], 0.0)


def _next_unit(merit: MeritOrder, g_pad: np.ndarray, price_cap_usd_per_mwh: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """(Z,) each zone's cheapest unit with room (-1: none) and its offer (else the cap)."""
    room = merit.valid & (g_pad < merit.available_mw - TOLERANCE_MW)
    first = np.argmax(room, axis=1)
    rows = np.arange(len(first))
    has = room[rows, first]
    return (np.where(has, merit.order[rows, first], -1),
            np.where(has, merit.offer_usd_per_mwh[rows, first], price_cap_usd_per_mwh))


def clear_zones(fleet: Fleet, merit: MeritOrder, load_mw: np.ndarray, network: Network,
                lp: CoupledLP | None, price_cap_usd_per_mwh: float) -> Dispatch:
    """Clear all zones at loads ``load_mw`` (Z,): isolated zones by their merit order, the
    coupled zones jointly.

    Args:
        fleet: the units.
        merit: the hour's merit orders, offers and available MW.
        load_mw: (Z,) zone loads.
        network: the lines.
        lp: the coupled zones' model, its availability and offers already set (None: every
            zone is isolated).
        price_cap_usd_per_mwh: price of unserved load.
    """
    load = np.asarray(load_mw, dtype=float)
    cap = float(price_cap_usd_per_mwh)
    g_pad, unserved = _merit_dispatch(merit, load)
    flow = np.zeros(len(network.line_ids))
    n_z = fleet.n_zones
    if lp is not None:
        gen = np.zeros(len(fleet.zone))
        gen[merit.units] = g_pad[merit.valid]
        dual = np.full(n_z, np.nan)
        gen[lp.units], flow[lp.lines], unserved[lp.zones], dual[lp.zones] = lp.solve(load)
        g_pad = np.where(merit.valid, gen[merit.order], 0.0)
    # the unit that serves each zone's next MW: cheapest with room, in zones that can send to it
    own_unit, own_offer = _next_unit(merit, g_pad, cap)
    a, b = network.line_zones[:, 0], network.line_zones[:, 1]
    fwd, back = network.capacity_mw[:, 0], network.capacity_mw[:, 1]
    open_fwd, open_back = flow < fwd - TOLERANCE_MW, flow > -back + TOLERANCE_MW
    if lp is not None:
        step = np.eye(n_z, dtype=bool)
        step[a, b] |= open_fwd
        step[b, a] |= open_back
        source = np.argmin(np.where(_reach(step), own_offer[:, None], np.inf), axis=0)
        unit = own_unit[source]
        price = np.where(np.isnan(dual), own_offer, dual)
    else:
        unit, price = own_unit, own_offer
    n_t = len(fleet.technologies)
    generation = np.bincount(merit.technology_key, weights=g_pad[merit.valid],
                             minlength=n_z * n_t).reshape(n_z, n_t)
    emissions = (g_pad * merit.emission_kg_per_mwh).sum(axis=1) + merit.emission_offset_kg
    direct = (g_pad * np.where(merit.valid, fleet.emission_kg_per_mwh[merit.order], 0.0)).sum(1)
    produced = generation.sum(axis=1)
    net_import = (np.bincount(b, weights=flow, minlength=n_z)
                  - np.bincount(a, weights=flow, minlength=n_z))
    return Dispatch(
        load_mw=load,
        price_usd_per_mwh=price,
        marginal_technology=np.where(unit >= 0, fleet.technology[unit], -1),
        marginal_carbon_kg_per_mwh=np.where(unit >= 0, merit.unit_emission_kg_per_mwh[unit],
                                            0.0),
        generation_mw=generation,
        emissions_kg=emissions,
        avg_carbon_kg_per_mwh=np.divide(emissions, produced, out=np.zeros(n_z),
                                        where=produced > 0),
        net_import_mw=net_import,
        unserved_mw=unserved,
        flow_mw=flow,
        congested=~(open_fwd & open_back),
        cost_usd=float((g_pad * merit.offer_usd_per_mwh).sum() + cap * unserved.sum()),
        moved_water_kg=emissions - direct,
    )


def traced_carbon_kg_per_mwh(dispatch: Dispatch, network: Network) -> np.ndarray:
    """(Z,) consumption-based average carbon of each zone by flow tracing: the power in a zone
    (its generation plus what flows in) is a mix, of which its load and its exports take the
    same share, so c_z (generation_z + inflow_z) = emissions_z + sum_w flow_wz c_w, one linear
    system for all zones (kg/MWh; 0 for a zone with neither generation nor inflow). The load
    served times c, summed over zones, is the system's emissions."""
    n_z = len(dispatch.load_mw)
    a, b = network.line_zones[:, 0], network.line_zones[:, 1]
    f = dispatch.flow_mw
    into = np.zeros((n_z, n_z))  # into[z, w]: MW flowing from w into z
    np.add.at(into, (b, a), np.maximum(f, 0.0))
    np.add.at(into, (a, b), np.maximum(-f, 0.0))
    mixed = dispatch.generation_mw.sum(axis=1) + into.sum(axis=1)
    empty = mixed <= TOLERANCE_MW
    system = np.diag(np.where(empty, 1.0, mixed)) - np.where(empty[:, None], 0.0, into)
    return np.linalg.solve(system, np.where(empty, 0.0, dispatch.emissions_kg))
