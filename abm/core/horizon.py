"""The placement contract in time: one operator's plan over a rolling horizon of T hours,
validated once (docs/formulation.md, "Deferrable work").

Hour 0 is the hour being placed; hours 1..T-1 are forecast. Each class k has *due* load,
``due_mw[t, k]``, that runs in hour t or goes unserved (interactive work: today's problem), and
*deferrable* work, ``deferrable_mw[h, k]``, MWh whose deadline is the end of hour h, which may
run in any hour t <= h, or is missed (unserved) at VoLL. The problem is a min-cost flow on the
time-expanded graph

    due (t, k)      -> class-hour (t, k)                        due load runs in its hour
    work (h, k)     -> work (h - 1, k)                          work may run earlier
    work (t, k)     -> class-hour (t, k)                        work runs in hour t
    class-hour (t, k) -> region-hour (t, j), where feasible     $ c[t,k,j] up to x0[k,j] MW,
                                                                c + phi beyond (moved in)
    region-hour (t, j) -> sink, at most capacity[t, j] MW
    due (t, k), work (0, k) -> sink at VoLL                     unserved / missed

Each class's work is one chain of nodes: work due by the end of hour h enters node (h, k),
and flows down the chain to the hour it runs in (free, uncapacitated), so a path from (h, k)
to hour t is work of that deadline run in hour t <= h.

minimise  sum c x + sum phi max(0, x - x0) + VoLL (unserved + missed); among optima the least
tie cost (docs/model.md, "Ties"), which in time adds, per MW of deferrable work run in hour t,
a rank that runs due load before work and grows with t (run work early): ``deferral_tie``,
the same for every deadline, so the plan's costs depend on the MW of work each hour runs,
not on whose deadline it is. Which deadline's work an hour runs is earliest deadline first
(``edf``): the market takes what hour 0 runs from the backlog so (``abm.core.backlog``), and
with every window open now that realises any schedule of the chain, missing no more. With
T = 1 and no deferrable work this is exactly ``abm.core.problem.PlacementProblem``.

``graph`` lays the problem out as arcs; both engines read it (``abm.core.horizon_flow``, the
compiled successive shortest paths; ``abm.core.horizon_lp``, HiGHS), and neither is imported
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from abm.core.problem import (
    TIE_NEW,
    TIE_UNSERVED,
    PlacementInputError,
    _bad,
    _fail,
    check_capacity,
    check_shapes,
    problem_arrays,
)

TIE_WAIT = 0.5  # tie cost scale of running deferrable work later (below 1: see deferral_tie)


def deferral_tie(t: int | np.ndarray, hours: int) -> np.ndarray:
    """Tie cost per MW of deferrable work run in hour ``t`` of a ``hours``-hour plan, whatever
    its deadline: TIE_WAIT (1 + t) / (2 T), in (0, 1/4]. It is above zero (due load runs
    before work when both cannot), grows with t (run work early) and stays below 1 (serving
    comes before leaving unserved or missed). Among pieces of work it does not choose: each
    hour's work is dealt to the deadlines earliest first (``edf``)."""
    t = np.asarray(t, dtype=float)
    return TIE_WAIT * (1.0 + t) / (2.0 * hours)


def edf(work_mw: np.ndarray, run_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Work (T, K) by deadline (row h: due by the end of hour h) dealt to the MW of work run
    (T, K) by hour, earliest deadline first: (deferred (h, t, K), missed (h, K)). Where the
    run MW are a schedule of the chain (hour t runs only work due by hour t or later), every
    MW run is dealt (to within rounding) and no other dealing misses less."""
    n_t, n_k = work_mw.shape
    rest = np.array(work_mw, dtype=float)
    deferred = np.zeros((n_t, n_t, n_k))
    for t in range(n_t):
        q = np.array(run_mw[t], dtype=float)
        for h in range(t, n_t):
            take = np.minimum(q, rest[h])
            deferred[h, t] = take
            rest[h] -= take
            q -= take
    return deferred, np.maximum(rest, 0.0)


@dataclass(frozen=True, eq=False)
class HorizonProblem:
    """One operator's plan over T hours; build it with ``HorizonProblem.of``. Shapes: T hours,
    K classes, R regions; MW are MWh per hourly step.

    Attributes:
        cost_usd_per_mwh: (T, K, R) $/MWh of serving class k at region j in hour t (the
            forecast beyond hour 0); finite where feasible.
        feasible: (K, R) bool, where each class may run (the same every hour).
        due_mw: (T, K) load that runs in hour t or is unserved, >= 0.
        deferrable_mw: (T, K) work due by the end of hour h, runnable in hours 0..h, >= 0.
        friction_usd_per_mw: (K, R) $ per MW run beyond the incumbent MW in any hour, >= 0.
        incumbent_mw: (K, R) MW the class holds (x0: last hour's placement, scaled to all
            it may run this hour: docs/model.md, "Migration friction"), >= 0; each hour of
            the plan may keep up to x0 at cost c before paying friction.
        capacity_mw: (T, R) MW the operator can get each hour, >= 0 (``np.inf``: no limit).
        voll_usd_per_mwh: $ per MWh unserved or missed (finite).
        preference: (K, R) tie rank in [0, 1] (``abm.core.problem.tie_preference``).
    """

    cost_usd_per_mwh: np.ndarray
    feasible: np.ndarray
    due_mw: np.ndarray
    deferrable_mw: np.ndarray
    friction_usd_per_mw: np.ndarray
    incumbent_mw: np.ndarray
    capacity_mw: np.ndarray
    voll_usd_per_mwh: float
    preference: np.ndarray

    @classmethod
    def of(cls, cost_usd_per_mwh: np.ndarray, feasible: np.ndarray, due_mw: np.ndarray,
           deferrable_mw: np.ndarray | None = None, *, voll_usd_per_mwh: float,
           friction_usd_per_mw: np.ndarray | None = None,
           incumbent_mw: np.ndarray | None = None, capacity_mw: np.ndarray | None = None,
           preference: np.ndarray | None = None) -> HorizonProblem:
        """A validated problem (contiguous float64 / bool copies); omitted deferrable work,
        friction, incumbent and preference are zeros, capacity unlimited. Raises
        ``PlacementInputError`` naming the field and the offending values."""
        if np.ndim(cost_usd_per_mwh) != 3:
            _fail("cost_usd_per_mwh", f"must be (T, K, R), got shape "
                  f"{np.shape(cost_usd_per_mwh)}")
        arrays = problem_arrays(cost_usd_per_mwh, feasible,
                                {"due_mw": due_mw, "deferrable_mw": deferrable_mw},
                                friction_usd_per_mw=friction_usd_per_mw,
                                incumbent_mw=incumbent_mw, capacity_mw=capacity_mw,
                                preference=preference)
        cost = arrays["cost_usd_per_mwh"]
        n_t, n_k, n_r = cost.shape
        want = {"feasible": (n_k, n_r), "due_mw": (n_t, n_k), "deferrable_mw": (n_t, n_k),
                "friction_usd_per_mw": (n_k, n_r), "incumbent_mw": (n_k, n_r),
                "capacity_mw": (n_t, n_r), "preference": (n_k, n_r)}
        voll = float(voll_usd_per_mwh)
        check_shapes(cost.shape, {name: (arrays[name].shape, shape)
                                  for name, shape in want.items()}, voll)
        feas = np.broadcast_to(arrays["feasible"], cost.shape)
        _bad("cost_usd_per_mwh", cost, feas & ~np.isfinite(cost), "finite where feasible")
        for name in ("due_mw", "deferrable_mw", "friction_usd_per_mw", "incumbent_mw"):
            a = arrays[name]
            _bad(name, a, ~(np.isfinite(a) & (a >= 0)), "finite and >= 0")
        pref = arrays["preference"]
        _bad("preference", pref, ~((pref >= 0) & (pref <= 1)), "in [0, 1]")
        check_capacity("capacity_mw", arrays["capacity_mw"])
        return cls(**arrays, voll_usd_per_mwh=voll)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(T, K, R)."""
        return self.cost_usd_per_mwh.shape

    def tie_tolerance_usd_per_mwh(self) -> float:
        """$ per MWh below which two of the plan's $ figures tie, in every horizon engine:
        the one-hour engines' rule over every hour
        (``abm.core.problem_check.plan_tie_tolerance_usd_per_mwh``)."""
        from abm.core.problem_check import plan_tie_tolerance_usd_per_mwh  # numba on use

        return float(plan_tie_tolerance_usd_per_mwh(
            self.cost_usd_per_mwh, self.feasible, self.due_mw, self.deferrable_mw,
            self.friction_usd_per_mw, self.voll_usd_per_mwh))

    def objective_usd(self, plan: Plan) -> float:
        """The problem's objective ($) at a plan: the sum of ``hourly_objective_usd``."""
        return float(self.hourly_objective_usd(plan).sum())

    def hourly_objective_usd(self, plan: Plan) -> np.ndarray:
        """(T,) the objective's terms ($) by hour: what runs at its cost, the friction of the
        MW above the incumbent, VoLL for the due load unserved in the hour and the work whose
        deadline is the end of it missed. Hour 0's is what the market settles for the hour
        at these costs and this friction (``abm.market.operators.Operators.settle``, with
        unserved and missed MWh at VoLL)."""
        x = plan.x_mw
        moved = np.maximum(x - self.incumbent_mw[None], 0.0)
        c = np.where(self.feasible[None], self.cost_usd_per_mwh, 0.0)
        lost = plan.unserved_mw.sum(axis=1) + plan.missed_mw.sum(axis=1)
        return ((x * c).sum(axis=(1, 2)) + (moved * self.friction_usd_per_mw[None]).sum(axis=(1, 2))
                + self.voll_usd_per_mwh * lost)

    def tie_cost(self, plan: Plan) -> float:
        """The tie-break objective at a plan: per MW the preference where it runs, + 2 where
        it is moved in, + ``deferral_tie`` for deferrable work by when it runs, 4 unserved or
        missed."""
        n_t = self.shape[0]
        moved = np.maximum(plan.x_mw - self.incumbent_mw[None], 0.0)
        wait = (plan.deferred_mw.sum(axis=0) * deferral_tie(np.arange(n_t), n_t)[:, None]).sum()
        return float((plan.x_mw * self.preference[None]).sum() + TIE_NEW * moved.sum() + wait
                     + TIE_UNSERVED * (plan.unserved_mw.sum() + plan.missed_mw.sum()))


class Plan(NamedTuple):
    """A plan over the horizon (what runs in hour 0 is committed; the rest is re-planned).

    Attributes:
        x_mw: (T, K, R) MW run per hour, class and region.
        unserved_mw: (T, K) due load not served in its hour.
        deferred_mw: (T, T, K) deferrable work due by the end of hour h (first axis) run in
            hour t (second axis), zero where t > h.
        missed_mw: (T, K) deferrable work due by the end of hour h that misses its deadline.
    """

    x_mw: np.ndarray
    unserved_mw: np.ndarray
    deferred_mw: np.ndarray
    missed_mw: np.ndarray


class HoursAhead(NamedTuple):
    """The hours ahead of every operator with deferrable work, for a first-come walk of plans
    (``abm.core.horizon_walk.plan_walk``).

    Attributes:
        hours: (O,) hours each operator's plan covers (its longest deadline + 1; 0: it has no
            deferrable work and places this hour only).
        energy_usd_per_mwh: (T - 1, O, R) forecast energy cost of hours 1.. (the class-free
            part of the unit cost, ``abm.core.costs.energy_cost``).
        network_usd_per_mwh: (O, K, R) the class's network cost (``network_cost``): hour t's
            cost is energy + network.
        due_mw: (T - 1, O, K) due load of hours 1...
        backlog_mwh: (O, K, S) work waiting by slot (slot h: due by the end of hour h).
    """

    hours: np.ndarray
    energy_usd_per_mwh: np.ndarray
    network_usd_per_mwh: np.ndarray
    due_mw: np.ndarray
    backlog_mwh: np.ndarray


class Graph(NamedTuple):
    """A ``HorizonProblem`` as a min-cost flow: nodes 0..n-1, ``supply`` at the due and
    deferrable nodes, one sink (node n - 1), arcs tail -> head with capacity (``np.inf``: none),
    $ cost and tie cost per MW; ``kind`` and ``where`` say what each arc is (``ARC_*``), to read
    a flow back into a ``Plan`` (``plan_of``)."""

    n_nodes: int
    supply: np.ndarray  # (n,) MW
    tail: np.ndarray  # (A,) int64
    head: np.ndarray
    capacity: np.ndarray  # (A,) MW
    cost: np.ndarray  # (A,) $/MWh
    tie: np.ndarray  # (A,) tie cost per MW
    kind: np.ndarray  # (A,) int8: ARC_*
    where: np.ndarray  # (A, 3) int64: (t, k, j) / (t, k, -1); a chain arc (h, k, -1)


ARC_KEPT, ARC_MOVED, ARC_DUE, ARC_WAIT, ARC_UNSERVED, ARC_MISSED, ARC_ROOM, ARC_CHAIN = range(8)


def graph(problem: HorizonProblem) -> Graph:
    """The time-expanded graph of ``problem`` (module docstring). Nodes: due (t, k), work
    (h, k) (each class's chain), class-hour (t, k), region-hour (t, j), sink; arcs only where
    MW may flow (a source with no MW has none, a pair with no incumbent no kept arc, a
    region-hour without room and a class-hour with nowhere to run none in), so every arc leads
    on to the sink."""
    p = problem
    n_t, n_k, n_r = p.shape
    due0, def0 = 0, n_t * n_k
    ch0 = 2 * n_t * n_k
    rh0 = 3 * n_t * n_k
    sink = rh0 + n_t * n_r
    supply = np.zeros(sink + 1)
    supply[due0:def0] = p.due_mw.reshape(-1)
    supply[def0:ch0] = p.deferrable_mw[::-1].reshape(-1)
    voll = p.voll_usd_per_mwh
    room = p.capacity_mw > 0  # (T, R)
    runs = (p.feasible[None] & room[:, None, :]).any(axis=2)  # (T, K): somewhere to run
    blocks = []  # (tail, head, capacity, cost, tie, kind, where) per kind of arc

    def block(tail, head, capacity, cost, tie, kind, *where):
        n = len(tail)
        blocks.append((tail, head, np.broadcast_to(capacity, n), np.broadcast_to(cost, n),
                       np.broadcast_to(tie, n), np.full(n, kind, dtype=np.int8),
                       np.stack([np.broadcast_to(w, n) for w in where], axis=1)))

    t, k = np.nonzero((p.due_mw > 0) & runs)
    block(due0 + t * n_k + k, ch0 + t * n_k + k, np.inf, 0.0, 0.0, ARC_DUE, t, k, -1)
    t, k = np.nonzero(p.due_mw > 0)
    block(due0 + t * n_k + k, np.full(len(t), sink), np.inf, voll, TIE_UNSERVED, ARC_UNSERVED,
          t, k, -1)
    # each class's chain of work nodes, (h, k) at def0 + (T - 1 - h) K + k (arcs point to
    # higher nodes), from its latest deadline down to hour 0
    top = np.where(p.deferrable_mw > 0, np.arange(n_t)[:, None], -1).max(axis=0)  # (K,)
    work = np.arange(n_t)[:, None] <= top[None]  # (T, K): chain nodes
    h, k = np.nonzero(work[1:])
    block(def0 + (n_t - 2 - h) * n_k + k, def0 + (n_t - 1 - h) * n_k + k, np.inf, 0.0, 0.0,
          ARC_CHAIN, h + 1, k, -1)
    t, k = np.nonzero(work & runs)
    block(def0 + (n_t - 1 - t) * n_k + k, ch0 + t * n_k + k, np.inf, 0.0,
          deferral_tie(t, n_t), ARC_WAIT, t, k, -1)
    k = np.flatnonzero(top >= 0)
    block(def0 + (n_t - 1) * n_k + k, np.full(len(k), sink), np.inf, voll, TIE_UNSERVED,
          ARC_MISSED, np.zeros(len(k), dtype=np.int64), k, -1)
    run = p.feasible[None] & room[:, None, :]  # (T, K, R)
    for code, has in ((ARC_KEPT, run & (p.incumbent_mw[None] > 0)), (ARC_MOVED, run)):
        t, k, j = np.nonzero(has)
        kept = code == ARC_KEPT
        block(ch0 + t * n_k + k, rh0 + t * n_r + j,
              p.incumbent_mw[k, j] if kept else np.inf,
              p.cost_usd_per_mwh[t, k, j] + (0.0 if kept else p.friction_usd_per_mw[k, j]),
              p.preference[k, j] + (0.0 if kept else TIE_NEW), code, t, k, j)
    t, j = np.nonzero(room)
    block(rh0 + t * n_r + j, np.full(len(t), sink), p.capacity_mw[t, j], 0.0, 0.0, ARC_ROOM,
          t, j, -1)
    tail, head, capacity, cost, tie, kind, where = (np.concatenate(c) for c in zip(*blocks,
                                                                                  strict=True))
    return Graph(sink + 1, supply, tail.astype(np.int64), head.astype(np.int64),
                 capacity.astype(float), cost.astype(float), tie.astype(float), kind,
                 where.astype(np.int64))


def plan_of(problem: HorizonProblem, g: Graph, flow_mw: np.ndarray) -> Plan:
    """The plan a flow on ``graph(problem)`` describes, with each source's MW summing to its
    supply exactly (served MW absorb the solver's residual, as ``abm.core.placement`` does)."""
    n_t, n_k, n_r = problem.shape
    x = np.zeros((n_t, n_k, n_r))
    unserved = np.zeros((n_t, n_k))
    ran = np.zeros((n_t, n_k))
    f = np.where(np.abs(flow_mw) < 1e-12, 0.0, flow_mw)
    idx, kind = g.where, g.kind
    for code, target in ((ARC_KEPT, x), (ARC_MOVED, x)):
        sel = kind == code
        np.add.at(target, (idx[sel, 0], idx[sel, 1], idx[sel, 2]), f[sel])
    sel = kind == ARC_UNSERVED
    unserved[idx[sel, 0], idx[sel, 1]] = f[sel]
    sel = kind == ARC_WAIT
    ran[idx[sel, 0], idx[sel, 1]] = f[sel]
    unserved = np.minimum(unserved, problem.due_mw)
    deferred, missed = edf(problem.deferrable_mw, ran)  # the work by deadline
    # the class-hour's MW run equal what reaches it: rescale x to it exactly
    reach = (problem.due_mw - unserved) + deferred.sum(axis=0)
    run = x.sum(axis=2)
    x *= np.divide(reach, run, out=np.ones_like(run), where=run > 0)[:, :, None]
    return Plan(x, unserved, deferred, missed)


def check_plan(problem: HorizonProblem, plan: Plan, tol_mw: float = 1e-6) -> None:
    """Raise ``PlacementInputError`` unless ``plan`` is feasible for ``problem``: every MW of
    due load and deferrable work run in a window it may run in, or unserved / missed, within
    the capacity, only where feasible (``tol_mw`` relative slack)."""
    p = problem
    n_t = p.shape[0]
    x, u, y, m = plan
    if (x < -tol_mw).any() or (u < -tol_mw).any() or (y < -tol_mw).any() or (m < -tol_mw).any():
        raise PlacementInputError("plan: negative MW")
    if (u > p.due_mw + tol_mw).any() or (m > p.deferrable_mw + tol_mw).any():
        raise PlacementInputError("plan: more unserved or missed than the load")
    if (x[:, ~p.feasible] > tol_mw).any():
        raise PlacementInputError("plan: MW where a class may not run")
    late = np.triu(np.ones((n_t, n_t), dtype=bool), k=1)  # t > h
    if (y[late] > tol_mw).any():
        raise PlacementInputError("plan: deferrable work run after its deadline")
    scale = np.maximum(1.0, p.due_mw.sum() + p.deferrable_mw.sum())
    if np.abs(y.sum(axis=1) + m - p.deferrable_mw).max(initial=0.0) > tol_mw * scale:
        raise PlacementInputError("plan: deferrable work run + missed differs from the work")
    if np.abs(x.sum(axis=2) - (p.due_mw - u) - y.sum(axis=0)).max(initial=0.0) > tol_mw * scale:
        raise PlacementInputError("plan: MW run differ from due load served + work run")
    if (x.sum(axis=1) > p.capacity_mw + tol_mw * np.maximum(1.0, p.capacity_mw)).any():
        raise PlacementInputError("plan: more than the capacity")
