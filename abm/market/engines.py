"""Placement engines: how the market solves an operator's placement problem, chosen by name
(``market.solver``; ``abm.config.registry.PLACEMENT_ENGINES``).

An engine is built once per model from the operators' feasible pairs (O, K, R). The market
hands it one operator's ``PlacementProblem`` (``abm/core/problem.py``) at a time (``solve``)
and checks and commits what it returns. An engine that can also place a whole run of ``lp``
operators first come, first served in one call says so (``walks``) and implements
``first_come``: the market then uses it for every run of consecutive ``lp`` operators in the
drawn order (docs/market.md, "The compiled walk").

What an engine carries from hour to hour (HiGHS's bases) is checkpoint state: ``state`` returns
it as numeric arrays and ``restore`` takes them back (``abm/market/state.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from abm.config.registry import PLACEMENT_ENGINES
from abm.core.horizon import HorizonProblem, HoursAhead, Plan
from abm.core.problem import PlacementProblem
from abm.market.state import Arrays, StateError


class PlacementEngine:
    """Solves operators' placement problems for one market run. Subclass, implement
    ``solve`` (and, for a batched fast path, ``first_come`` with ``walks = True``), and
    register the class with ``@PLACEMENT_ENGINES.register(name, description)``.

    Args:
        feasible: (O, K, R) where each operator's classes may run (fixed for the run).
    """

    #: whether ``first_come`` places runs of ``lp`` operators in one call
    walks: ClassVar[bool] = False
    #: whether ``first_come`` also plans operators with deferrable work (its ``ahead``)
    walks_plans: ClassVar[bool] = False

    def __init__(self, feasible: np.ndarray) -> None:
        self.feasible = feasible

    def solve(self, o: int, problem: PlacementProblem) -> tuple[np.ndarray, np.ndarray]:
        """Operator ``o``'s optimum of ``problem``: (x_mw (K, R), unserved_mw (K,))."""
        raise NotImplementedError

    def plan(self, o: int, problem: HorizonProblem) -> Plan:
        """Operator ``o``'s plan over the horizon (``abm.core.horizon``): its lexicographic
        optimum."""
        raise NotImplementedError(f"{type(self).__name__} does not plan over a horizon")

    def first_come(self, order: np.ndarray, energy_usd_per_mwh: np.ndarray,
                   network_usd_per_mwh: np.ndarray, demand_mw: np.ndarray,
                   friction_usd_per_mw: np.ndarray, incumbent_mw: np.ndarray,
                   preference: np.ndarray, reserved_mw: np.ndarray, share_mw: np.ndarray,
                   available_mw: np.ndarray, voll_usd_per_mwh: float, x_mw: np.ndarray,
                   unserved_mw: np.ndarray, check: bool, ahead: HoursAhead | None = None
                   ) -> int:
        """Place the operators of ``order`` first come, first served in one call (the
        arguments of ``abm.core.flow.first_come``, with the unit cost in two parts: the
        hour's (O, R) ``energy_usd_per_mwh`` plus the (O, K, R) ``network_usd_per_mwh``
        fixed for the run, as ``abm.core.costs.unit_cost`` adds them; network, friction and
        preference are the same arrays every hour of a run; the incumbent (P,) at each
        feasible pair of ``feasible`` in ``abm.core.masks.pair_lists``'s order, all the walk
        reads of it; with ``walks_plans``, ``ahead`` for operators with deferrable work and
        the incumbent (O, K, R), as ``abm.core.horizon_walk.plan_walk``); return how many
        needed an LP."""
        raise NotImplementedError(f"{type(self).__name__} places operators one at a time")

    def state(self) -> Arrays:
        """What the engine carries from hour to hour, as numeric arrays (none by default)."""
        return {}

    def restore(self, arrays: Arrays) -> None:
        """Take back what ``state`` returned.

        Raises:
            StateError: the arrays are not what ``state`` writes.
        """
        if arrays:
            raise StateError(f"{type(self).__name__} stores no state, but the checkpoint "
                             f"holds {', '.join(sorted(arrays))}")


@PLACEMENT_ENGINES.register(
    "flow", "exact min-cost flow, compiled (numba); the first-come walk in one call (fast)")
class Flow(PlacementEngine):
    """``abm.core.flow``: each problem as a min-cost flow; runs of ``lp`` operators by the
    compiled first-come walk."""

    walks = True
    walks_plans = True

    def __init__(self, feasible: np.ndarray) -> None:
        super().__init__(feasible)
        # the walk's fixed arrays by feasible pair (``abm.core.flow.pack_pairs``), packed and
        # checked at first use, and the arrays they were packed from
        self._pairs: Any = None
        self._packed_from: tuple[np.ndarray, ...] = ()
        # the plans' walk's (O, K, R) unit cost, written again each hour (a new array of
        # that size each hour cost about a millisecond at 1,000 operators: fresh pages)
        self._cost: np.ndarray | None = None

    def solve(self, o: int, problem: PlacementProblem) -> tuple[np.ndarray, np.ndarray]:
        """The min-cost flow's optimum."""
        from abm.core.flow import solve_flow

        return solve_flow(problem)

    def plan(self, o: int, problem: HorizonProblem) -> Plan:
        """The time-expanded min-cost flow's optimum as the compiled walk finds it
        (``abm.core.horizon_walk.solve_plan``: the capacity-free optimum where it fits, else
        the flow started from it)."""
        from abm.core.horizon_walk import solve_plan

        return solve_plan(problem)

    def _unit_cost(self, energy_usd_per_mwh: np.ndarray,
                   network_usd_per_mwh: np.ndarray) -> np.ndarray:
        """(O, K, R) energy[:, None, :] + network (``abm.core.costs.unit_cost``), into the
        engine's buffer where both are float64 (the same sum, to the bit)."""
        energy, network = energy_usd_per_mwh, network_usd_per_mwh
        if not (energy.dtype == network.dtype == np.float64):
            return energy[:, None, :] + network
        if self._cost is None or self._cost.shape != network.shape:
            self._cost = np.empty(network.shape)
        return np.add(energy[:, None, :], network, out=self._cost)

    def first_come(self, order, energy_usd_per_mwh, network_usd_per_mwh, demand_mw,
                   friction_usd_per_mw, incumbent_mw, preference, reserved_mw, share_mw,
                   available_mw, voll_usd_per_mwh, x_mw, unserved_mw, check, ahead=None):
        """``abm.core.flow.walk`` on this run's feasible pairs (the fixed arrays packed and
        checked once, again if other arrays are passed); with ``ahead``,
        ``abm.core.horizon_walk.plan_walk`` (closed-form plans, the flow where one
        overfills a region)."""
        if ahead is not None:
            from abm.core.horizon_walk import plan_walk

            cost = self._unit_cost(energy_usd_per_mwh, network_usd_per_mwh)
            return plan_walk(order, cost, self.feasible, demand_mw, friction_usd_per_mw,
                             incumbent_mw, preference, reserved_mw, share_mw, available_mw,
                             voll_usd_per_mwh, x_mw, unserved_mw, ahead, check=check)
        from abm.core.flow import check_pairs, pack_pairs, walk

        fixed = (network_usd_per_mwh, friction_usd_per_mw, preference)
        if self._pairs is None or any(a is not b for a, b in zip(fixed, self._packed_from,
                                                                 strict=True)):
            pairs = pack_pairs(self.feasible, *fixed)
            check_pairs(self.feasible, pairs, voll_usd_per_mwh)
            self._pairs, self._packed_from = pairs, fixed
        return walk(order, energy_usd_per_mwh, self._pairs, demand_mw, incumbent_mw,
                    reserved_mw, share_mw, available_mw, voll_usd_per_mwh, x_mw, unserved_mw,
                    check=check)


@PLACEMENT_ENGINES.register(
    "highs", "a persistent HiGHS model per operator, warm-started from its last basis "
    "(slower; the cross-check)")
class HiGHS(PlacementEngine):
    """``abm.core.placement.PlacementLP``: one HiGHS model per operator, built on its feasible
    pairs at first use and warm-started from its last optimal basis, which is state (so a
    resumed run solves from the same bases)."""

    def __init__(self, feasible: np.ndarray) -> None:
        super().__init__(feasible)
        self.bases: dict[int, Any] = {}  # operator -> its last optimal basis
        self._lps: dict[int, Any] = {}  # operator -> PlacementLP, rebuilt on demand
        self._horizon_lps: dict[int, Any] = {}  # operator -> HorizonLP, rebuilt on demand

    def __getstate__(self) -> dict:
        # HiGHS objects do not pickle; the bases do, as arrays
        return {**self.__dict__, "_lps": {}, "_horizon_lps": {},
                "bases": dict(self._basis_arrays())}

    def _basis_arrays(self) -> list[tuple[int, tuple[np.ndarray, np.ndarray]]]:
        from abm.core.placement import basis_arrays

        return [(o, b if isinstance(b, tuple) else basis_arrays(b))
                for o, b in sorted(self.bases.items())]

    def lp(self, o: int):
        """Operator ``o``'s HiGHS model (its feasible pairs fix the structure)."""
        if o not in self._lps:
            from abm.core.placement import PlacementLP

            self._lps[o] = PlacementLP(self.feasible[o])
        return self._lps[o]

    def solve(self, o: int, problem: PlacementProblem) -> tuple[np.ndarray, np.ndarray]:
        """The LP's optimum (ties by the lexicographic second solve), from o's last basis."""
        sol, self.bases[o] = self.lp(o).solve_problem(problem, basis=self.bases.get(o))
        return sol.x_mw, sol.unserved_mw

    def plan(self, o: int, problem: HorizonProblem) -> Plan:
        """The horizon LP's optimum (ties by a second solve) on o's persistent HiGHS model,
        from its last basis while the graph keeps its shape (the basis is not state: a plan
        does not depend on it)."""
        if o not in self._horizon_lps:
            from abm.core.horizon_lp import HorizonLP

            self._horizon_lps[o] = HorizonLP()
        return self._horizon_lps[o].solve(problem)

    def state(self) -> Arrays:
        """Each operator's basis: ``<o>.col`` and ``<o>.row`` (int8 HiGHS statuses)."""
        out: Arrays = {}
        for o, (col, row) in self._basis_arrays():
            out[f"{o}.col"], out[f"{o}.row"] = col, row
        return out

    def restore(self, arrays: Arrays) -> None:
        """Bases from ``state``."""
        n_o = len(self.feasible)
        bases = {}
        for key, value in arrays.items():
            o, _, part = key.partition(".")
            if not (o.isdigit() and int(o) < n_o and part in ("col", "row")
                    and value.dtype == np.int8 and f"{o}.col" in arrays
                    and f"{o}.row" in arrays):
                raise StateError(f"the checkpoint's arrays hold a malformed basis {key}")
            bases[int(o)] = (arrays[f"{o}.col"].copy(), arrays[f"{o}.row"].copy())
        self.bases = bases
        self._lps = {}
        self._horizon_lps = {}
