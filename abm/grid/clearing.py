"""Clearing the zones each hour: coupled economic dispatch over interconnectors, or merit order.

The interconnector graph (networkx) splits the zones into connected components. The zones of a
component with two or more zones clear jointly as a transport model on HiGHS: minimise
sum(offer x generation) + price cap x unserved, subject to each zone's balance (generation +
net inflow + unserved = load), 0 <= generation <= available MW and each line's flow within its
forward and backward capacity (two columns: forward and backward, both >= 0). The components'
models are independent blocks of one persistent HiGHS model (``CoupledLP``), built once: a call
to HiGHS costs about 75 us whatever the size of these small models, so one call per clearing
instead of one per component keeps the hour within its time budget, and the optimum is the same
because the blocks share no variable. Between clearings only column bounds (availability, per
hour) and row bounds (loads, per clearing) change, and HiGHS restarts from its last optimal
basis. A zone's price is the dual of its balance. Where several dispatches cost the same, the
clearing returns the one of least tie cost (least line flow, then a fixed order of lines and
units: ``abm.grid.ties``), so per-zone generation, emissions, flows and congestion are unique.
An isolated zone clears by its merit order (vectorised over zones): the cheapest units up to the
load, price = offer of the unit that serves the next MW (equal offers in technology order, then
tranche, as the tie rule orders them).

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
from abm.grid.ties import TIE_TOLERANCE, safe_weights, tie_costs

TOLERANCE_MW = 1e-6  # a unit within 1 W of its available MW is full; a line within 1 W, congested
#: an optimal basis kept for the next clearing: basic columns, B^-1, at upper bound, row duals
type _Basis = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_DUAL_TOLERANCE = 1e-9  # USD/MWh: a reduced cost this close to 0 leaves a column at either bound
#: HiGHS's basis status of a column at its lower bound, basic, at its upper bound
_STATUS = np.array([highspy.HighsBasisStatus.kLower, highspy.HighsBasisStatus.kBasic,
                    highspy.HighsBasisStatus.kUpper], dtype=object)


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
    def emissions_total_kg(self) -> float:
        """Emissions of all zones in the hour, kg CO2 (the system emissions of a data-centre
        load are the difference of two of these: with minus without the load)."""
        return float(self.emissions_kg.sum())


class _KeptLP:
    """A persistent HiGHS model whose rows are the coupled zones' balances (equalities), and
    the optimal basis of its last solve.

    After each HiGHS solve the optimal basis is kept: a later solve first recomputes the basic
    variables for its right-hand side (x_B = B^-1 (rhs - N x_N), one row per zone); if they are
    within their bounds the basis is still optimal (the duals and reduced costs depend on the
    costs and the basis only) and HiGHS is not called. Otherwise HiGHS re-solves from it.

    Args:
        matrix: (Z, n) the constraint matrix (dense; a copy is kept for the basis check).
        cost, lower, upper: (n,) column costs and bounds.
    """

    def __init__(self, matrix: np.ndarray, cost: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray) -> None:
        self.matrix = matrix
        self.cost, self.lower, self.upper = cost, lower, upper
        n_row, n_col = matrix.shape
        col, row = np.nonzero(matrix.T)  # column-major
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_col, n_row
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
        lp.row_lower_ = lp.row_upper_ = np.zeros(n_row)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.searchsorted(col, np.arange(n_col + 1)).astype(np.int32)
        lp.a_matrix_.index_ = row.astype(np.int32)
        lp.a_matrix_.value_ = matrix[row, col]
        self.highs = quiet_highs()
        # no presolve: on these small models it costs more than the simplex it saves (a cold
        # solve 1.27 -> 0.45 ms of CPU, measured on benchmarks/grid.py's 30 zones)
        self.highs.setOptionValue("presolve", "off")
        # one thread: the dual simplex uses no other, and with the default (0: HiGHS picks a
        # count) every run reads the CPU topology from /sys twice instead of once (a run with
        # nothing to do: 120 -> 86 us of CPU on benchmarks/grid.py's model)
        self.highs.setOptionValue("threads", 1)
        self._one_thread = True
        self.highs.passModel(lp)
        self._rows = np.arange(n_row, dtype=np.int32)
        self._basis: _Basis | None = None
        self.basic = np.zeros(n_col, dtype=bool)  # of the last HiGHS solve (and kept basis)
        self.reduced = np.zeros(n_col)  # reduced costs of the last HiGHS solve
        self.calls = 0  # solves that needed HiGHS

    def set_costs(self, cols: np.ndarray, cost: np.ndarray) -> None:
        """New costs of columns ``cols``."""
        self.cost = self.cost.copy()
        self.cost[cols] = cost
        self.highs.changeColsCost(len(cols), cols.astype(np.int32), cost)
        self._basis = None  # the duals change with the costs

    def set_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds (arrays) of columns ``cols``; HiGHS is told of those that change."""
        changed = (lower != self.lower[cols]) | (upper != self.upper[cols])
        self.lower[cols], self.upper[cols] = lower, upper
        if changed.any():
            self.highs.changeColsBounds(int(changed.sum()), cols[changed].astype(np.int32),
                                        lower[changed], upper[changed])
        self._basis = None

    def restart(self) -> None:
        """Forget every basis: the next solve starts cold."""
        self.highs.clearSolver()
        self._basis = None

    def adopt(self, basic: np.ndarray, inverse: np.ndarray, at_upper: np.ndarray) -> None:
        """Take the basis ``basic`` (Z,) columns, B^-1, and which nonbasic columns sit at
        their upper bound as the last optimal one (the caller has checked it), and give it to
        HiGHS as the start of its next solve (a few pivots from it, not a cold start: on
        ``benchmarks/grid.py``'s 30 zones 3 simplex iterations instead of 22)."""
        self.basic[:] = False
        self.basic[basic] = True
        self._basis = (basic, inverse, at_upper, self.cost[basic] @ inverse)
        status = _STATUS[np.where(at_upper, 2, 0)]
        status[basic] = _STATUS[1]
        basis = highspy.HighsBasis()
        basis.col_status = status.tolist()
        basis.row_status = [_STATUS[0]] * len(self._rows)
        basis.valid = True
        self.highs.setBasis(basis)

    def _keep(self, col: np.ndarray, reduced: np.ndarray, dual: np.ndarray
              ) -> _Basis | None:
        """The optimal basis HiGHS just found, to try on the next solve (None where a row
        slack is basic or the basis matrix cannot be inverted: HiGHS is then called)."""
        # getBasicVariables is missing from highspy's stubs
        status, basic = self.highs.getBasicVariables()  # type: ignore[attr-defined]
        self.basic[:] = False
        if status != highspy.HighsStatus.kOk or basic.min(initial=0) < 0:
            self.basic[basic[basic >= 0]] = True
            return None
        self.basic[basic] = True
        try:
            inverse = np.linalg.inv(self.matrix[:, basic])
        except np.linalg.LinAlgError:
            return None
        # a nonbasic column sits at the bound its reduced cost asks for, so the basis stays
        # dual feasible when bounds move (a unit fixed at 0 last hour may not be)
        at_upper = (reduced < -_DUAL_TOLERANCE) | (
            (reduced <= _DUAL_TOLERANCE) & (np.abs(col - self.upper) < np.abs(col - self.lower)))
        return basic, inverse, at_upper, dual

    def _kept_basis(self, rhs: np.ndarray) -> np.ndarray | None:
        """The column values for ``rhs`` if the last optimal basis stays feasible."""
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

    def solve(self, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """The optimum at right-hand side ``rhs`` (Z,): column values, row duals, and whether
        HiGHS was called (a new basis) or the kept basis served."""
        col = self._kept_basis(rhs)
        if col is not None:
            assert self._basis is not None  # col came from it
            return col, self._basis[3], False
        h = self.highs
        h.changeRowsBounds(  # type: ignore[attr-defined]  # missing from highspy's stubs
            len(rhs), self._rows, rhs, rhs)
        if h.run() == highspy.HighsStatus.kError and self._one_thread:
            # another HiGHS of this process started HiGHS's one thread scheduler with more
            # threads, and HiGHS refuses another count: take that one
            self._one_thread = False
            h.setOptionValue("threads", 0)
            h.run()
        self.calls += 1
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:  # cannot happen: shedding is free
            raise RuntimeError(f"grid clearing: HiGHS returned {h.modelStatusToString(status)}")
        sol = h.getSolution()
        col, dual = np.array(sol.col_value, dtype=float), np.array(sol.row_dual, dtype=float)
        self.reduced = np.array(sol.col_dual, dtype=float)
        self._basis = self._keep(col, self.reduced, dual)
        return col, dual, True


class CoupledLP:
    """The coupled zones' economic dispatch on HiGHS, with its tie rule (``abm.grid.ties``).

    ``zones`` are the connected components of two or more zones; each component is an
    independent block. Columns: the zones' units (generation), each line's flow forward and
    backward (both >= 0), one unserved column per zone (at the price cap); rows: one balance per
    zone. The model minimises offer cost + eps x tie cost (eps per component,
    ``abm.grid.ties.safe_weights``), so its optimum is the cost optimum of least tie cost. After
    each HiGHS solve the basis is checked on both objectives apart: the zones' prices are the
    duals of the offer costs alone at that basis, every column it leaves at a bound must keep
    its reduced offer cost's sign (a cost optimum), and every column whose reduced offer cost is
    0 (within ``TIE_TOLERANCE`` of the largest cost: it may move among the cost optima) its
    reduced tie cost's sign (the least tie cost among them). Where HiGHS's tolerances leave the
    tie cost open, a second model (the same columns, the tie cost alone) minimises it over the
    cost optima: every column with a non-zero reduced offer cost fixed at its value, which by
    complementary slackness leaves exactly the cost optima. Should the offer-cost check fail
    (it cannot where the weight is safe), that model first solves the offer cost alone.

    Both models keep their last optimal basis (``_KeptLP``), so most clearings of an hour call
    HiGHS for neither.
    """

    def __init__(self, zones: np.ndarray, fleet: Fleet, network: Network,
                 offer_usd_per_mwh: np.ndarray, price_cap_usd_per_mwh: float) -> None:
        self.zones = np.asarray(zones, dtype=np.int64)
        local = np.full(fleet.n_zones, -1, dtype=np.int64)
        local[self.zones] = np.arange(len(self.zones))
        self.units = np.flatnonzero((local[fleet.zone] >= 0) & (fleet.capacity_mw > 0))
        self.lines = np.flatnonzero(local[network.line_zones[:, 0]] >= 0)
        nu, nl, nz = len(self.units), len(self.lines), len(self.zones)
        unit_rows = np.zeros((nz, nu))
        unit_rows[local[fleet.zone[self.units]], np.arange(nu)] = 1.0
        ends = local[network.line_zones[self.lines]]
        line_rows = np.zeros((nz, nl))
        line_rows[ends[:, 0], np.arange(nl)] = -1.0
        line_rows[ends[:, 1], np.arange(nl)] = 1.0
        component = np.full(fleet.n_zones, -1, dtype=np.int64)
        for c, comp in enumerate(network.components()):
            component[comp] = c
        unit_w, line_w, shed_w, n_lines = tie_costs(
            fleet.zone[self.units], np.stack([fleet.technology, fleet.tranche], 1)[self.units],
            network.line_zones[self.lines], [network.line_ids[i] for i in self.lines], component)
        self.tie_cost = np.concatenate([unit_w, line_w, line_w, shed_w[self.zones]])
        comp = component[self.zones]  # of each local zone
        self._col_comp = np.concatenate([comp[local[fleet.zone[self.units]]], comp[ends[:, 0]],
                                         comp[ends[:, 0]], comp])
        self._n_lines = n_lines
        self.offer_cost = np.concatenate([offer_usd_per_mwh[self.units], np.zeros(2 * nl),
                                          np.full(nz, float(price_cap_usd_per_mwh))])
        matrix = np.hstack([unit_rows, line_rows, -line_rows, np.eye(nz)])
        lower = np.zeros(nu + 2 * nl + nz)
        upper = np.concatenate([fleet.capacity_mw[self.units],
                                network.capacity_mw[self.lines, 0],
                                network.capacity_mw[self.lines, 1], np.full(nz, np.inf)])
        self.lp = _KeptLP(matrix, self._weighted(), lower, upper.copy())
        self.tie_lp = _KeptLP(matrix, self.tie_cost.copy(), lower.copy(), upper.copy())
        self._all = np.arange(len(lower))
        self._unit_cols = np.arange(nu)
        self._unit_row = local[fleet.zone[self.units]]  # each unit's balance row
        self._state: tuple | None = None  # the last HiGHS basis's prices and what it needs
        self.tie_solves = 0  # clearings the tie model settled (HiGHS's tolerances, or unsafe)

    def _weighted(self) -> np.ndarray:
        """Offer cost + eps x tie cost of every column, eps per component."""
        nu, n_comp = len(self.units), len(self._n_lines)
        scale = self._cost_scale = float(np.abs(self.offer_cost).max(initial=1.0))
        offers = np.concatenate([self.offer_cost[:nu], np.full(n_comp, self.offer_cost[-1])])
        eps = safe_weights(offers, np.concatenate([self._col_comp[:nu], np.arange(n_comp)]),
                           self._n_lines, scale)
        return self.offer_cost + eps[self._col_comp] * self.tie_cost

    @property
    def highs_calls(self) -> int:
        """Solves so far that needed HiGHS (either model; the others kept a basis)."""
        return self.lp.calls + self.tie_lp.calls

    def set_offers(self, offer_usd_per_mwh: np.ndarray) -> None:
        """New unit offers (N,), USD/MWh."""
        self.offer_cost[:len(self.units)] = offer_usd_per_mwh[self.units]
        weighted = self._weighted()
        changed = np.flatnonzero(weighted != self.lp.cost)
        if len(changed):
            self.lp.set_costs(changed, weighted[changed])

    def set_available(self, available_mw: np.ndarray) -> None:
        """This hour's available MW of every unit (N,). The hour's first solve starts cold
        (unless a known optimum is adopted, ``set_solution``: HiGHS then starts from it), so
        that an hour's clearings depend on that hour only (a resumed run clears as an
        uninterrupted one), down to the prices where the duals are not unique."""
        nu = len(self.units)
        self.lp.set_bounds(self._unit_cols, np.zeros(nu), available_mw[self.units])
        self.lp.restart()
        self.tie_lp.restart()
        self._state = None

    def set_line_limits(self, capacity_mw: np.ndarray) -> None:
        """This hour's transfer limits (L, 2) forward / backward MW of every line."""
        nu, nl = len(self.units), len(self.lines)
        cols = np.arange(nu, nu + 2 * nl)
        upper = np.concatenate([capacity_mw[self.lines, 0], capacity_mw[self.lines, 1]])
        if not np.array_equal(upper, self.lp.upper[cols]):
            self.lp.set_bounds(cols, np.zeros(2 * nl), upper)
            self._state = None

    def set_solution(self, generation_mw: np.ndarray, flow_mw: np.ndarray,
                     price_usd_per_mwh: np.ndarray) -> bool:
        """Adopt a known optimum of the current model, unit generation (N,), line flows (L,)
        and zone prices (Z,) (the status quo the calibration built), as the hour's basis, so
        that clearing at it or near it needs no HiGHS call. The basis: every line at a limit,
        in every zone its unit strictly inside its bounds, or else one at a bound whose reduced
        offer cost at these prices is 0 (a degenerate basic column). Refused (False; HiGHS then
        solves) where a zone has more than one unit inside its bounds, a line is inside its
        limits or load is shed, or the basis is not a cost optimum (``_check``). Where it is
        one but not the least tie cost among them, the tie model settles it when the hour
        clears."""
        from abm.grid import clearing_loops as loops  # numba: loaded when first needed

        nu, nz = len(self.units), len(self.zones)
        lp = self.lp
        flow = flow_mw[self.lines]
        col = np.concatenate([generation_mw[self.units], np.maximum(flow, 0.0),
                              np.maximum(-flow, 0.0), np.zeros(nz)])
        inside = (col > lp.lower + TOLERANCE_MW) & (col < lp.upper - TOLERANCE_MW)
        if inside[nu:].any():
            return False
        cost = self.offer_cost[:nu]
        reduced = cost - lp.matrix[:, :nu].T @ np.asarray(price_usd_per_mwh, dtype=float)[
            self.zones]
        zero = np.abs(reduced) <= 1e-7 * (1.0 + np.abs(cost))
        # per zone: its one unit inside its bounds, or else its first at a bound with a zero
        # reduced cost
        basic = np.empty(nz, dtype=np.int64)
        loops.status_quo_basic(inside[:nu], zero, self._unit_row, basic)
        if (basic < 0).any():
            return False
        try:
            inverse = np.linalg.inv(lp.matrix[:, basic])
        except np.linalg.LinAlgError:
            return False
        at_upper = col >= lp.upper - TOLERANCE_MW
        lp.adopt(basic, inverse, at_upper & ~(col <= lp.lower + TOLERANCE_MW))
        state = self._check(col, lp)
        if not state[1]:
            lp.restart()
            self._state = None
            return False
        self._state = state
        return True

    def _check(self, col: np.ndarray, lp: _KeptLP) -> tuple:
        """The prices of ``lp``'s last basis (duals of the offer cost alone), whether that basis
        is a cost optimum, the columns that may move among the cost optima, and whether it is
        also their least tie cost."""
        from abm.grid import clearing_loops as loops  # numba: loaded when first needed

        basis = lp._basis
        if basis is None:
            return None, False, None, False
        basic, inverse, _, _ = basis
        matrix = lp.matrix
        price = self.offer_cost[basic] @ inverse
        reduced = self.offer_cost - matrix.T @ price
        free = np.empty(len(col), dtype=bool)
        optimal, moving = loops.offer_check(col, lp.lower, lp.upper, TOLERANCE_MW, lp.basic,
                                            reduced, TIE_TOLERANCE * self._cost_scale, free)
        if not moving:  # the cost optimum is unique: nothing for the tie cost to settle
            return price, optimal, free, True
        tie_reduced = self.tie_cost - matrix.T @ (self.tie_cost[basic] @ inverse)
        least = loops.least_check(col, lp.lower, lp.upper, TOLERANCE_MW, lp.basic, free,
                                  tie_reduced, _DUAL_TOLERANCE)
        return price, optimal, free, least

    def _least_tie(self, rhs: np.ndarray, col: np.ndarray, free: np.ndarray) -> np.ndarray:
        """The least tie cost over the cost optima: ``col`` with every column not ``free``
        fixed at its value, solved by the tie model."""
        tie, lp = self.tie_lp, self.lp
        lower, upper = np.where(free, lp.lower, col), np.where(free, lp.upper, col)
        if not (np.array_equal(lower, tie.lower) and np.array_equal(upper, tie.upper)):
            tie.set_bounds(self._all, lower, upper)
        self.tie_solves += 1
        return tie.solve(rhs)[0]

    def _cost_alone(self, rhs: np.ndarray) -> tuple:
        """Where the weighted optimum failed the offer-cost check: the offer cost alone, solved
        by the tie model with its costs swapped (then swapped back), and its check."""
        tie = self.tie_lp
        tie.set_costs(self._all, self.offer_cost)
        tie.set_bounds(self._all, self.lp.lower.copy(), self.lp.upper.copy())
        col = tie.solve(rhs)[0]
        state = (col, *self._check(col, tie))
        tie.set_costs(self._all, self.tie_cost)
        return state

    def solve(self, load_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                   np.ndarray]:
        """Clear the coupled zones at zone loads (Z,): the cost optimum of least tie cost.
        Returns unit generation, line flows, unserved MW and price (USD/MWh) of each of
        ``zones``."""
        rhs = load_mw[self.zones]
        col, _, fresh = self.lp.solve(rhs)
        if fresh or self._state is None:
            self._state = self._check(col, self.lp)
        price, optimal, free, least = self._state
        if not optimal:
            exact, price, optimal, free, least = self._cost_alone(rhs)
            if not optimal:  # cannot happen: HiGHS's own optimum of the offer cost
                raise RuntimeError("grid clearing: no cost optimum HiGHS's basis confirms")
            col = exact
        if not least:
            col = self._least_tie(rhs, col, free)
        nu, nl = len(self.units), len(self.lines)
        flow = col[nu:nu + nl] - col[nu + nl:nu + 2 * nl]
        return col[:nu], flow, col[nu + 2 * nl:], price


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


def _merit_dispatch(merit: MeritOrder, load: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each zone alone: (Z, U) output of its merit order at loads (Z,) and (Z,) MW shed."""
    avail = merit.available_mw
    g_pad = np.minimum(np.maximum(load[:, None] - merit.before_mw, 0.0), avail)
    return g_pad, np.maximum(load - merit.before_mw[:, -1] - avail[:, -1], 0.0)


def compiled_loops(coupled: bool) -> tuple:
    """The compiled loops (``abm.grid.clearing_loops``, numba) that clearing the zones calls in
    every hour, so in a run's first: the unit that serves each zone's next MW and, where zones
    are coupled (a :class:`CoupledLP`), the cheapest source across lines and the check of
    HiGHS's basis on the offer cost. The others (the status quo's basis, the check on the tie
    cost) run only in some hours and compile then, in a fraction of a second."""
    from abm.grid import clearing_loops as loops  # numba: loaded when first needed

    return (loops.next_units, *((loops.cheapest_sources, loops.offer_check) if coupled else ()))


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
    from abm.grid import clearing_loops as loops  # numba: loaded when first needed

    own_unit, own_offer = np.empty(n_z, dtype=np.int64), np.empty(n_z)
    loops.next_units(merit.order, merit.valid, g_pad, merit.available_mw, TOLERANCE_MW,
                     merit.offer_usd_per_mwh, cap, own_unit, own_offer)
    a, b = network.line_zones[:, 0], network.line_zones[:, 1]
    fwd, back = network.capacity_mw[:, 0], network.capacity_mw[:, 1]
    open_fwd, open_back = flow < fwd - TOLERANCE_MW, flow > -back + TOLERANCE_MW
    if lp is not None:
        source = np.empty(n_z, dtype=np.int64)
        loops.cheapest_sources(a, b, open_fwd, open_back, own_offer, source)
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


def inflow_mw(network: Network, flow_mw: np.ndarray) -> np.ndarray:
    """(Z, Z) MW flowing from zone w (column) into zone z (row) at line flows ``flow_mw`` (L,)
    (parallel lines summed in line order)."""
    n_z = network.n_zones
    a, b = network.line_zones[:, 0], network.line_zones[:, 1]
    cells = np.concatenate([b * n_z + a, a * n_z + b])
    mw = np.concatenate([np.maximum(flow_mw, 0.0), np.maximum(-flow_mw, 0.0)])
    return np.bincount(cells, weights=mw, minlength=n_z * n_z).reshape(n_z, n_z)


def traced_carbon_kg_per_mwh(dispatch: Dispatch, network: Network) -> np.ndarray:
    """(Z,) consumption-based average carbon of each zone by flow tracing: the power in a zone
    (its generation plus what flows in) is a mix, of which its load and its exports take the
    same share, so c_z (generation_z + inflow_z) = emissions_z + sum_w flow_wz c_w, one linear
    system for all zones (kg/MWh; 0 for a zone with neither generation nor inflow). The load
    served times c, summed over zones, is the system's emissions."""
    into = inflow_mw(network, dispatch.flow_mw)
    mixed = dispatch.generation_mw.sum(axis=1) + into.sum(axis=1)
    empty = mixed <= TOLERANCE_MW
    system = np.diag(np.where(empty, 1.0, mixed)) - np.where(empty[:, None], 0.0, into)
    return np.linalg.solve(system, np.where(empty, 0.0, dispatch.emissions_kg))
