"""The placement LP of docs/formulation.md, solved with HiGHS (highspy).

Rows are workload classes (flattened operators x classes, N of them), columns regions (R).
One LP covers any set of classes; a class belongs to a capacity group g, and each group has its
own capacity per region. One operator: one group with that operator's capacity. The planner:
all operators in one group against shared capacity. Independent operators stacked in one LP:
one group per operator (the LP separates, so each operator gets its own optimum).

Migration friction against a previous placement x_prev uses two columns per feasible pair,
x = y1 + y2 with 0 <= y1 <= x_prev at cost c and y2 >= 0 at cost c + phi. Since phi >= 0 the
solver fills y1 first, so y2 = max(0, x - x_prev) = m exactly, and no rows are added.
Infeasible pairs get no column at all.

Ties (docs/model.md, "Ties") are settled by a second, lexicographic solve: every column whose
reduced cost exceeds the tie tolerance (``abm.core.problem_check.tie_tolerance_usd_per_mwh``,
the min-cost flow's too, the largest over the column's capacity group) is fixed at its optimal
value, and every capacity row with a shadow price beyond it at its activity (complementary
slackness: what is left is the set of $ optima, near-ties included), and the tie cost
(``PlacementProblem.tie_cost``) is minimised over it, from the first solve's basis. The result
does not depend on HiGHS's pivoting; the $ objective moves by at most the tolerance per MW.
HiGHS's own dual feasibility tolerance is set to ``_TOLERANCE`` so that its first optimum is
exact to well within the tie tolerance wherever the largest $ figure is above 10 $/MWh.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from abm.core.highs import quiet_highs
from abm.core.instance import Instance
from abm.core.problem import (
    TIE_NEW,
    TIE_UNSERVED,
    PlacementError,
    PlacementProblem,
    check_arrays,
    check_capacity,
    tie_preference,
)

_ZERO = 1e-9
# HiGHS's primal and dual feasibility tolerances (MW, $/MWh; defaults 1e-7 are too loose)
_TOLERANCE = 1e-10

__all__ = ["PlacementError", "PlacementLP", "Solution", "place", "solve_lp", "solve_placement"]


@dataclass(frozen=True)
class Solution:
    """An LP optimum: MW served per class and region, MW unserved per class, objective in $."""

    x_mw: np.ndarray  # (N, R)
    unserved_mw: np.ndarray  # (N,)
    moved_mw: np.ndarray  # (N, R): MW placed beyond the previous placement
    objective_usd: float
    capacity_price_usd_per_mwh: np.ndarray  # (G, R): shadow price of capacity, >= 0


def solve_placement(
    cost: np.ndarray,
    feasible: np.ndarray,
    demand_mw: np.ndarray,
    capacity_mw: np.ndarray,
    voll_usd_per_mwh: float,
    *,
    group: np.ndarray | None = None,
    friction_usd_per_mw: np.ndarray | None = None,
    x_prev_mw: np.ndarray | None = None,
    preference: np.ndarray | None = None,
) -> Solution:
    """Minimise sum x c + sum m phi + VoLL sum u subject to demand, capacity and masks; among
    optima, the least tie cost (docs/model.md, "Ties"). Inputs are checked by the placement
    contract (``abm.core.problem.check_arrays``).

    Args:
        cost: (N, R) $/MWh of serving class n at region j for this step.
        feasible: (N, R) bool; no flow where false.
        demand_mw: (N,) demand this step (MW, i.e. MWh per hourly step).
        capacity_mw: (G, R) capacity per group and region; ``np.inf`` for none.
        voll_usd_per_mwh: value of lost load ($/MWh); demand whose cheapest feasible MW costs
            more goes unserved.
        group: (N,) int capacity group of each class; all zero if omitted.
        friction_usd_per_mw: (N, R) $ per MW moved in (phi); no friction if omitted.
        x_prev_mw: (N, R) previous placement, already rescaled to this step's demand.
        preference: (N, R) tie rank in [0, 1] (``abm.core.problem.tie_preference``); zeros if
            omitted.
    """
    cost = np.asarray(cost, dtype=float)
    n, r = cost.shape
    feasible = np.asarray(feasible, dtype=bool)
    demand = np.asarray(demand_mw, dtype=float)
    capacity = np.atleast_2d(np.asarray(capacity_mw, dtype=float))
    group = np.zeros(n, dtype=int) if group is None else np.asarray(group, dtype=int)
    friction = friction_usd_per_mw is not None or x_prev_mw is not None
    phi = np.zeros((n, r)) if friction_usd_per_mw is None else np.asarray(
        friction_usd_per_mw, dtype=float)
    prev = np.zeros((n, r)) if x_prev_mw is None else np.asarray(x_prev_mw, dtype=float)
    pref = np.zeros((n, r)) if preference is None else np.asarray(preference, dtype=float)
    check_arrays(cost, feasible, demand, phi, prev, None, voll_usd_per_mwh, pref)
    check_capacity("capacity_mw", capacity)
    lp = PlacementLP(feasible & (demand[:, None] > 0), group, friction=friction)
    return lp.solve(cost, demand, capacity, voll_usd_per_mwh, friction_usd_per_mw=phi,
                    x_prev_mw=prev, preference=pref)[0]


def solve_lp(problem: PlacementProblem) -> Solution:
    """One operator's placement problem solved by HiGHS (the reference engine; the market's
    is ``abm.core.flow.solve_flow``)."""
    return PlacementLP(problem.feasible & (problem.demand_mw[:, None] > 0)).solve_problem(
        problem)[0]


class PlacementLP:
    """A placement LP kept alive between solves (one HiGHS model per sparsity pattern).

    The columns are fixed by the feasible pairs: with friction, y1 (cost c, upper bound
    x_prev) and y2 (cost c + phi) per pair, else one x per pair; then u per class. Rows: one
    demand row per class, one capacity row per (group, region) that has a column. Each solve
    only changes costs and bounds. A solve starts from the basis it is given (a previous
    solve's, so an unchanged optimum costs no simplex iterations) or from scratch, never from
    whatever the object last held, so results depend on the inputs alone.

    Args:
        feasible: (N, R) bool; pairs without a column.
        group: (N,) capacity group of each class (default all 0).
        friction: whether solves charge migration friction against a previous placement.
    """

    def __init__(self, feasible: np.ndarray, group: np.ndarray | None = None, *,
                 friction: bool = True) -> None:
        feasible = np.asarray(feasible, dtype=bool)
        n, r = feasible.shape
        group = np.zeros(n, dtype=int) if group is None else np.asarray(group, dtype=int)
        self.shape, self.friction, self.group = (n, r), friction, group
        self.rows_n, self.cols_j = np.nonzero(feasible)
        self.feasible = np.ascontiguousarray(feasible)
        p = len(self.rows_n)
        copies = 2 if friction else 1
        pair_n = np.tile(self.rows_n, copies)
        pair_j = np.tile(self.cols_j, copies)
        self._pairs = (pair_n, pair_j)
        keys = group[pair_n] * r + pair_j
        self.cap_keys = np.unique(keys)
        cap_row = n + np.searchsorted(self.cap_keys, keys)
        n_pairs = copies * p
        self.n_col, self.n_row = n_pairs + n, n + len(self.cap_keys)
        start = np.concatenate([np.arange(0, 2 * n_pairs + 1, 2),
                                2 * n_pairs + np.arange(1, n + 1)]).astype(np.int32)
        index = np.empty(2 * n_pairs + n, dtype=np.int32)
        index[0:2 * n_pairs:2] = pair_n
        index[1:2 * n_pairs:2] = cap_row
        index[2 * n_pairs:] = np.arange(n)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n_col, self.n_row
        lp.col_cost_ = np.zeros(self.n_col)
        lp.col_lower_ = np.zeros(self.n_col)
        lp.col_upper_ = np.full(self.n_col, np.inf)
        lp.row_lower_ = np.zeros(self.n_row)
        lp.row_upper_ = np.zeros(self.n_row)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = np.ones(len(index))
        self.highs = quiet_highs()
        # demand rows must hold to well below a watt: a class of 1e-8 MW is served or unserved
        self.highs.setOptionValue("primal_feasibility_tolerance", _TOLERANCE)
        # and reduced costs to well within the tie tolerance
        self.highs.setOptionValue("dual_feasibility_tolerance", _TOLERANCE)
        self.highs.passModel(lp)
        self._cols = np.arange(self.n_col, dtype=np.int32)
        self._rows = np.arange(self.n_row, dtype=np.int32)

    def solve(self, cost: np.ndarray, demand_mw: np.ndarray, capacity_mw: np.ndarray,
              voll_usd_per_mwh: float, *, friction_usd_per_mw: np.ndarray | None = None,
              x_prev_mw: np.ndarray | None = None, preference: np.ndarray | None = None,
              basis: highspy.HighsBasis | Basis | None = None,
              ) -> tuple[Solution, highspy.HighsBasis]:
        """Solve with this step's data (shapes as ``solve_placement``), then settle ties
        (module docstring); returns the solution and the first solve's optimal basis, to
        start the next solve from (``basis_arrays`` makes it picklable; either form is
        accepted back)."""
        n, r = self.shape
        rn, cj = self.rows_n, self.cols_j
        demand = np.asarray(demand_mw, dtype=float)
        capacity = np.atleast_2d(np.asarray(capacity_mw, dtype=float))
        prev = np.zeros((n, r)) if x_prev_mw is None else np.asarray(x_prev_mw, dtype=float)
        pref = np.zeros((n, r)) if preference is None else np.asarray(preference, dtype=float)
        c = np.asarray(cost, dtype=float)[rn, cj]
        voll = float(voll_usd_per_mwh)
        phi = np.zeros((n, r)) if friction_usd_per_mw is None else np.asarray(
            friction_usd_per_mw, dtype=float)
        if self.friction:
            costs = np.concatenate([c, c + phi[rn, cj], np.full(n, voll)])
            ties = np.concatenate([pref[rn, cj], TIE_NEW + pref[rn, cj], np.full(n, TIE_UNSERVED)])
            upper = np.concatenate([prev[rn, cj], np.full(len(rn) + n, np.inf)])
        else:
            costs = np.concatenate([c, np.full(n, voll)])
            ties = np.concatenate([TIE_NEW + pref[rn, cj], np.full(n, TIE_UNSERVED)])
            upper = np.full(self.n_col, np.inf)
        h = self.highs
        h.changeColsCost(self.n_col, self._cols, costs)
        h.changeColsBounds(self.n_col, self._cols, np.zeros(self.n_col), upper)
        row_upper = np.concatenate([demand, capacity.reshape(-1)[self.cap_keys]])
        h.changeRowsBounds(  # type: ignore[attr-defined]  # missing from highspy's stubs
            self.n_row, self._rows,
            np.concatenate([demand, np.full(len(self.cap_keys), -np.inf)]), row_upper)
        h.clearSolver()  # nothing carries over from the last solve but the basis given
        if isinstance(basis, tuple):
            start = highspy.HighsBasis()
            start.col_status = [_STATUS[v] for v in basis[0]]
            start.row_status = [_STATUS[v] for v in basis[1]]
            start.valid = True
            basis = start
        if basis is not None:
            h.setBasis(basis)
        self._run()
        first = h.getSolution()
        optimal_basis = h.getBasis()
        row_dual = np.asarray(first.row_dual)
        from abm.core.problem_check import tie_tolerance_usd_per_mwh  # numba on first solve

        tol = tie_tolerance_usd_per_mwh(
            np.ascontiguousarray(cost, dtype=float), self.feasible, np.ascontiguousarray(demand),
            np.ascontiguousarray(phi if self.friction else np.zeros((n, r))), voll)
        self._settle_ties(ties, upper, first, tol)
        col = np.asarray(h.getSolution().col_value)
        col[np.abs(col) < _ZERO] = 0.0
        x = np.zeros((n, r))
        np.add.at(x, self._pairs, col[:len(self._pairs[0])])
        # HiGHS meets the demand rows to its tolerance (_TOLERANCE); make served + unserved = demand
        # exact: served MW absorb the residual, or it is unserved where nothing is served.
        unserved = np.where(col[-n:] > _TOLERANCE, np.minimum(col[-n:], demand), 0.0)
        served = x.sum(axis=1)
        scale = np.divide(demand - unserved, served, out=np.ones(n), where=served > 0)
        x *= scale[:, None]
        unserved = np.where(served > 0, unserved, demand)
        duals = np.zeros(capacity.size)
        duals[self.cap_keys] = -row_dual[n:]
        moved = np.maximum(x - prev, 0.0)
        served_cost = np.where(x > 0, np.asarray(cost, dtype=float), 0.0)
        objective = float((x * served_cost).sum() + (moved * phi).sum() * self.friction
                          + voll * unserved.sum())
        return Solution(
            x_mw=x,
            unserved_mw=unserved,
            moved_mw=moved,
            objective_usd=objective,
            capacity_price_usd_per_mwh=np.maximum(duals, 0.0).reshape(capacity.shape),
        ), optimal_basis

    def solve_problem(self, problem: PlacementProblem,
                      basis: highspy.HighsBasis | Basis | None = None,
                      ) -> tuple[Solution, highspy.HighsBasis]:
        """``solve`` for one operator's ``PlacementProblem`` (this LP built on its feasible
        pairs, one group)."""
        p = problem
        return self.solve(p.cost_usd_per_mwh, p.demand_mw, p.capacity_mw[None, :],
                          p.voll_usd_per_mwh, friction_usd_per_mw=p.friction_usd_per_mw,
                          x_prev_mw=p.incumbent_mw, preference=p.preference, basis=basis)

    def _run(self) -> None:
        h = self.highs
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise PlacementError(f"HiGHS returned {h.modelStatusToString(status)}")

    def _settle_ties(self, ties: np.ndarray, upper: np.ndarray,
                     first: highspy.HighsSolution, tol: np.ndarray) -> None:
        """Restrict the LP to its $ optima (fix what has a reduced cost or shadow price beyond
        its group's tie tolerance, from the classes' ``tol`` (N,)) and minimise the tie cost
        over them, from the current basis."""
        h, (n, r) = self.highs, self.shape
        group_tol = np.zeros(self.group.max(initial=0) + 1)
        np.maximum.at(group_tol, self.group, tol)
        col_class = np.concatenate([self._pairs[0], np.arange(n)])
        value = np.asarray(first.col_value)
        fixed = np.abs(np.asarray(first.col_dual)) > group_tol[self.group[col_class]]
        if not fixed.all():
            lower = np.where(fixed, value, 0.0)
            h.changeColsBounds(self.n_col, self._cols, lower, np.where(fixed, value, upper))
            tight = np.abs(np.asarray(first.row_dual)[n:]) > group_tol[self.cap_keys // r]
            if tight.any():
                act = np.asarray(first.row_value)[n:]
                rows = self._rows[n:][tight]
                h.changeRowsBounds(  # type: ignore[attr-defined]  # missing from highspy's stubs
                    len(rows), rows, act[tight], act[tight])
            h.changeColsCost(self.n_col, self._cols, ties)
            self._run()


Basis = tuple[np.ndarray, np.ndarray]
_STATUS = {int(s): s for s in highspy.HighsBasisStatus.__members__.values()}


def basis_arrays(basis: highspy.HighsBasis) -> Basis:
    """A HiGHS basis as plain int8 arrays (picklable, so checkpoints keep it)."""
    return (np.array([int(v) for v in basis.col_status], dtype=np.int8),
            np.array([int(v) for v in basis.row_status], dtype=np.int8))


@dataclass(frozen=True)
class Placement:
    """A placement of every class of an instance: arrays shaped (O, K, R) and (O, K)."""

    x_mw: np.ndarray
    unserved_mw: np.ndarray
    moved_mw: np.ndarray
    objective_usd: float


def place(
    inst: Instance,
    cost: np.ndarray,
    feasible: np.ndarray,
    *,
    joint: bool,
    friction: np.ndarray | None = None,
    x_prev_mw: np.ndarray | None = None,
    capacity_mw: np.ndarray | None = None,
    voll: float | None = None,
) -> Placement:
    """Place every operator's classes for one step (ties: docs/model.md, "Ties").

    Args:
        inst: the instance (demand, capacity shares, VoLL).
        cost: (O, K, R) $/MWh; feasible: (O, K, R) bool.
        joint: True for the planner (all operators against shared capacity); False for each
            operator alone against its own share of capacity (operator-local optima).
        friction: (O, K, R) $/MW moved; x_prev_mw: (O, K, R) previous placement.
        capacity_mw: (R,) capacity to place against; the instance's if omitted.
        voll: penalty per unserved MWh in the units of ``cost``; the policy's VoLL if omitted.
    """
    n_o, n_k, n_r = inst.shape
    cap = inst.capacity_mw if capacity_mw is None else np.asarray(capacity_mw, dtype=float)
    if joint:
        group, caps = np.zeros(n_o * n_k, dtype=int), cap[None, :]
    else:
        group = np.repeat(np.arange(n_o), n_k)
        caps = inst.capacity_share[:, None] * cap[None, :]
    flat = (n_o * n_k, n_r)
    sol = solve_placement(
        cost.reshape(flat), feasible.reshape(flat), inst.demand_mw.reshape(-1), caps,
        inst.policy.voll_usd_per_mwh if voll is None else voll, group=group,
        friction_usd_per_mw=None if friction is None else friction.reshape(flat),
        x_prev_mw=None if x_prev_mw is None else x_prev_mw.reshape(flat),
        preference=tie_preference(inst.at_origin(), inst.network_rtt_ms()).reshape(flat),
    )
    return Placement(sol.x_mw.reshape(n_o, n_k, n_r), sol.unserved_mw.reshape(n_o, n_k),
                     sol.moved_mw.reshape(n_o, n_k, n_r), sol.objective_usd)
