"""A plan over the horizon (``abm/core/horizon.py``) solved as one LP on HiGHS.

The LP is the time-expanded graph's min-cost flow written out: one column per arc (bounds
[0, capacity], $ cost), one equality row per node but the sink (MW out - MW in = supply). Ties
(docs/model.md, "Ties") are settled as in ``abm.core.placement``: a second solve fixes every
column with a reduced cost above the tie tolerance (``HorizonProblem.tie_tolerance_usd_per_mwh``,
the rule every engine shares) at its optimal value (all rows
are equalities, so what is left is exactly the set of $ optima) and minimises the tie cost over
it. A ``HorizonLP`` keeps one HiGHS model per graph shape and starts each solve from the last
optimal basis when the shape is the same.
"""

from __future__ import annotations

import highspy
import numpy as np

from abm.core.highs import quiet_highs
from abm.core.horizon import Graph, HorizonProblem, Plan, graph, plan_of
from abm.core.problem import PlacementError

_TOLERANCE = 1e-10  # HiGHS's primal and dual feasibility (MW, $/MWh), as abm.core.placement


class HorizonLP:
    """A HiGHS model of the horizon LP, rebuilt when the graph's shape changes and otherwise
    re-solved with new costs and bounds from its last optimal basis."""

    def __init__(self) -> None:
        self.highs = quiet_highs()
        self.highs.setOptionValue("primal_feasibility_tolerance", _TOLERANCE)
        # reduced costs to well within the tie tolerance (HiGHS's default 1e-7 is not)
        self.highs.setOptionValue("dual_feasibility_tolerance", _TOLERANCE)
        self._key: tuple | None = None
        self._basis: highspy.HighsBasis | None = None

    def _build(self, g: Graph) -> None:
        n_row = g.n_nodes - 1  # every node but the sink
        n_col = len(g.tail)
        into_sink = g.head == g.n_nodes - 1
        start = np.zeros(n_col + 1, dtype=np.int32)
        start[1:] = np.cumsum(np.where(into_sink, 1, 2))
        index = np.empty(int(start[-1]), dtype=np.int32)
        value = np.empty(int(start[-1]))
        index[start[:-1]] = g.tail
        value[start[:-1]] = 1.0
        second = start[:-1][~into_sink] + 1
        index[second] = g.head[~into_sink]
        value[second] = -1.0
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_col, n_row
        lp.col_cost_ = g.cost.copy()
        lp.col_lower_ = np.zeros(n_col)
        lp.col_upper_ = g.capacity.copy()
        lp.row_lower_ = g.supply[:-1].copy()
        lp.row_upper_ = g.supply[:-1].copy()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = value
        self.highs.clearModel()
        self.highs.passModel(lp)
        self._cols = np.arange(n_col, dtype=np.int32)
        self._rows = np.arange(n_row, dtype=np.int32)
        self._basis = None

    def solve_graph(self, g: Graph, tol: float) -> np.ndarray:
        """The lexicographic ($, tie) optimum of the flow on ``g``, reduced costs within
        ``tol`` ($/MWh, the tie tolerance) counting as zero: MW per arc."""
        key = (g.n_nodes, g.tail.tobytes(), g.head.tobytes())
        h = self.highs
        if key != self._key:
            self._build(g)
            self._key = key
        else:
            n_col = len(g.tail)
            h.changeColsCost(n_col, self._cols, g.cost)
            h.changeColsBounds(n_col, self._cols, np.zeros(n_col), g.capacity)
            h.changeRowsBounds(  # type: ignore[attr-defined]  # missing from highspy's stubs
                len(self._rows), self._rows, g.supply[:-1], g.supply[:-1])
        h.clearSolver()
        if self._basis is not None:
            h.setBasis(self._basis)
        self._run()
        self._basis = h.getBasis()
        first = h.getSolution()
        value = np.asarray(first.col_value)
        fixed = np.abs(np.asarray(first.col_dual)) > tol
        if not fixed.all():
            n_col = len(g.tail)
            h.changeColsBounds(n_col, self._cols, np.where(fixed, value, 0.0),
                               np.where(fixed, value, g.capacity))
            h.changeColsCost(n_col, self._cols, g.tie)
            self._run()
        flow = np.asarray(h.getSolution().col_value, dtype=float).copy()
        flow[np.abs(flow) < _TOLERANCE] = 0.0
        return flow

    def solve(self, problem: HorizonProblem) -> Plan:
        """The plan of ``problem`` (its lexicographic optimum)."""
        g = graph(problem)
        if len(g.tail) == 0:
            return plan_of(problem, g, np.zeros(0))
        return plan_of(problem, g, self.solve_graph(g, problem.tie_tolerance_usd_per_mwh()))

    def _run(self) -> None:
        h = self.highs
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise PlacementError(f"HiGHS returned {h.modelStatusToString(status)} for a plan "
                                 "over the horizon")


def solve_horizon_lp(problem: HorizonProblem) -> Plan:
    """One operator's plan over the horizon by HiGHS (a fresh model)."""
    return HorizonLP().solve(problem)
