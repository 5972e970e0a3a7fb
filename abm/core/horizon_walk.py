"""Plans over the horizon (``abm/core/horizon.py``) for a whole first-come walk, compiled with
numba: the capacity-free optimum in closed form, the exact min-cost flow only where it
overfills a region (docs/formulation.md, "Deferrable work").

Without capacity a plan separates by class, and each class's plan has a closed form. Hour t
offers a class its kept MW (region j up to the incumbent x0_kj at c_tkj, tie rank the
preference), cheapest first, then unlimited new MW at its cheapest region (c + phi, tie rank
2 + the preference), or nothing beyond VoLL, all as ``abm.core.flow``'s one-hour optimum
(``$`` within the tie tolerance count as equal, measured from the cheapest). Due load takes
its hour's options in that order (what it leaves is unserved): within an hour any MW serves
any load at the same $, and due load has no other hour. Work then takes, nearest deadline
first, the cheapest option left among the hours before its deadline, by ($, tie rank +
``deferral_tie``), or is missed at VoLL: the windows are nested (all open now), so a nearer
deadline can only use what a later one could too, and taking the cheapest first for it
costs the later work nothing. Last, each hour's work is dealt to the deadlines earliest first
(``abm.core.horizon.edf``; the tie rank is the same for every deadline: the $, each hour's MW
and the MW missed are unchanged). The repair's graph holds one chain of work nodes per class,
as ``abm.core.horizon.graph``'s.

A region-hour whose room is within the fit tolerance of zero (``_has_room``: the residue the
market's sums of MW leave in a full region) takes nothing. Where the closed form puts more in
a region-hour than the operator can get there, the plan is repaired in the same compiled walk
(``_repair``): the time-expanded min-cost flow, on the regions an optimum may use
(``_usable``, an exact cut), with each due node merged into its class-hour, by
``abm.core.horizon_flow``'s successive shortest paths, started from the closed form, with
potentials from its residual graph (distances to the sink), sends on only the overfill. Should
the potentials not settle (a near-tie the closed form settled otherwise than the flow), the
walk hands the operator back and ``plan_walk`` solves its plan afresh by
``abm.core.horizon_flow``. Plans that tie on both counts ($ and tie cost) may be settled
differently from a fresh flow (as ``abm.core.flow`` settles them: deterministically).
Checked against both horizon engines and scipy's linprog in the tests.
"""

# numba keys this file's cache on its bytes alone: digests of the modules whose names its
# compiled code uses (tools/compiled_deps.py writes them; docs/architecture.md)
# compiled with abm/core/flow.py 713c327571b5
# compiled with abm/core/horizon.py a3e9d80c3ffb
# compiled with abm/core/horizon_flow.py 2b905aca18cf
# compiled with abm/core/problem.py ad2b11bb34d7
# compiled with abm/core/problem_check.py 81693d39273b

from __future__ import annotations

import numba
import numpy as np

from abm.core.flow import _EPS, _FIT, _less_in, _place
from abm.core.horizon import (
    ARC_CHAIN,
    ARC_KEPT,
    ARC_MISSED,
    ARC_MOVED,
    ARC_ROOM,
    ARC_UNSERVED,
    ARC_WAIT,
    TIE_WAIT,
    Graph,
    HorizonProblem,
    HoursAhead,
    Plan,
    plan_of,
)
from abm.core.horizon_flow import _EPS as _FLOW_EPS
from abm.core.horizon_flow import _TIE_TOL, _augment, _residual
from abm.core.problem import (
    TIE_NEW,
    TIE_UNSERVED,
    PlacementError,
    _bad,
    _fail,
    check_arrays,
    check_capacity,
)
from abm.core.problem_check import plan_tie_tolerance_lists, region_lists

# a region is cut for a class only where cheaper ones beat it by this many tie tolerances
_CUT_MARGIN = 1e3


@numba.njit(cache=True)
def _wait_tie(t, n_t):
    """``abm.core.horizon.deferral_tie`` for scalars (compiled)."""
    return TIE_WAIT * (1.0 + t) / (2.0 * n_t)


@numba.njit(cache=True, inline="always")
def _top(work, k):
    """The latest hour whose work class k has (its chain's top node; -1: none)."""
    for h in range(work.shape[0] - 1, -1, -1):
        if work[h, k] > 0:
            return h
    return -1


@numba.njit(cache=True)
def _has_room(capacity_mw, scale_mw):
    """Whether a region-hour has room for a plan whose MW sum to ``scale_mw``: capacity above
    ``_FIT`` of that (a load fits a capacity it exceeds by that much; less room than that is
    the residue of the market's sums of MW, as a full region leaves it, and taking it would
    only overfill the region by the closed form's MW and cost a flow)."""
    return capacity_mw > _FIT * scale_mw


@numba.njit(cache=True, inline="always")
def _levels(cost, regs, room, phi, prev, pref, voll, tol, eps, lc, lt, lcap, lj):
    """One class's options in one hour into (lc $, lt tie, lcap MW, lj region) by ($, tie):
    its kept MW within ``tol`` of the hour's cheapest (lowest first), then new MW at its
    cheapest region (lj = -1 where VoLL is cheaper: nothing beyond the kept MW), in the
    regions where it may run (``regs``, ascending) and there is room. Returns the number of
    options."""
    low = voll
    for j in regs:
        if room[j]:
            low = min(low, cost[j] + phi[j])
    best, b, b_tie = -1, voll, TIE_UNSERVED
    if voll > low + tol:
        b, b_tie = np.inf, np.inf
    for j in regs:
        c = cost[j] + phi[j]
        if room[j] and c <= low + tol and (
                TIE_NEW + pref[j] < b_tie or (TIE_NEW + pref[j] == b_tie and c < b)):
            best, b, b_tie = j, c, TIE_NEW + pref[j]
    n = 0
    for j in regs:
        if room[j] and prev[j] > eps and cost[j] <= low + tol:
            i = n
            while i > 0 and _less_in(cost[j], pref[j], lc[i - 1], lt[i - 1], tol):
                lc[i], lt[i], lcap[i], lj[i] = lc[i - 1], lt[i - 1], lcap[i - 1], lj[i - 1]
                i -= 1
            lc[i], lt[i], lcap[i], lj[i] = cost[j], pref[j], prev[j], j
            n += 1
    lc[n], lt[n], lcap[n], lj[n] = b, b_tie, np.inf, best
    return n + 1


@numba.njit(cache=True)
def free_plan(cost, starts, regions, room, due, work, phi, prev, pref, voll, tol, eps, x,
              unserved, deferred, missed, lc, lt, lcap, lj, n_lev, ptr, rest):
    """The capacity-free optimum of one plan (module docstring) into x (T, K, R), unserved
    (T, K), deferred (T, T, K) and missed (T, K), zeroed first; class k may run in
    regions[starts[k]:starts[k + 1]] (``abm.core.problem_check.region_lists``); ``room``
    (T, R): the region-hours with room (``_has_room``; the others take nothing, as in the
    graph).
    Scratch: lc, lt, lcap (T, R + 1) float, lj (T, R + 1), n_lev, ptr (T,) int, rest (T,)
    float."""
    n_t, n_k = due.shape
    x[:] = 0.0
    unserved[:] = 0.0
    deferred[:] = 0.0
    missed[:] = 0.0
    for k in range(n_k):
        for t in range(n_t):
            n_lev[t] = _levels(cost[t, k], regions[starts[k]:starts[k + 1]], room[t], phi[k],
                               prev[k], pref[k], voll, tol, eps, lc[t], lt[t], lcap[t], lj[t])
            ptr[t] = 0
            left = due[t, k]
            while left > eps:
                lev = ptr[t]
                j = lj[t, lev]
                if j < 0:
                    unserved[t, k] = left
                    break
                take = left if lcap[t, lev] >= left - eps else lcap[t, lev]
                x[t, k, j] += take
                lcap[t, lev] -= take
                left -= take
                if lcap[t, lev] <= eps:
                    ptr[t] += 1
        for h in range(n_t):  # work, nearest deadline first
            left = work[h, k]
            while left > eps:
                low = voll
                for t in range(h + 1):
                    lev = ptr[t]
                    if lj[t, lev] >= 0:
                        low = min(low, lc[t, lev])
                bt, b, b_tie = -1, np.inf, np.inf
                if voll <= low + tol:
                    b, b_tie = voll, TIE_UNSERVED
                for t in range(h + 1):
                    lev = ptr[t]
                    if lj[t, lev] < 0:
                        continue
                    c, c_tie = lc[t, lev], lt[t, lev] + _wait_tie(t, n_t)
                    if c <= low + tol and (c_tie < b_tie or (c_tie == b_tie and c < b)):
                        bt, b, b_tie = t, c, c_tie
                if bt < 0:
                    missed[h, k] = left
                    break
                lev = ptr[bt]
                take = left if lcap[bt, lev] >= left - eps else lcap[bt, lev]
                x[bt, k, lj[bt, lev]] += take
                deferred[h, bt, k] += take
                lcap[bt, lev] -= take
                left -= take
                if lcap[bt, lev] <= eps:
                    ptr[bt] += 1
        # deal each hour's work to the deadlines earliest first (``abm.core.horizon.edf``;
        # the tie rank does not tell deadlines apart: the $, each hour's MW and the MW missed
        # are unchanged)
        for h in range(n_t):
            rest[h] = work[h, k]
        for t in range(n_t):
            q = 0.0
            for h in range(t, n_t):
                q += deferred[h, t, k]
                deferred[h, t, k] = 0.0
            for h in range(t, n_t):
                take = min(q, rest[h])
                deferred[h, t, k] = take
                rest[h] -= take
                q -= take
        for h in range(n_t):
            missed[h, k] = max(rest[h], 0.0)


@numba.njit(cache=True)
def _fits_plan(x, starts, regions, cap, fit, load):
    """Whether every hour of x (T, K, R) fits cap (R,), the same every hour; class k runs in
    regions[starts[k]:starts[k + 1]] only; load (R,): scratch."""
    n_t, n_k, n_r = x.shape
    for t in range(n_t):
        load[:] = 0.0
        for k in range(n_k):
            for p in range(starts[k], starts[k + 1]):
                load[regions[p]] += x[t, k, regions[p]]
        for j in range(n_r):
            if load[j] > fit and load[j] > cap[j] + fit:
                return False
    return True


@numba.njit(cache=True, inline="always")
def _arc(i, tail, head, capacity, cost, tie, flow, kind, where, u, v, cap, c, c_tie, f, code,
         a, b, d):
    tail[i], head[i], capacity[i], cost[i], tie[i], flow[i] = u, v, cap, c, c_tie, f
    kind[i], where[i, 0], where[i, 1], where[i, 2] = code, a, b, d
    return i + 1


@numba.njit(cache=True)
def _usable(cost, starts, regions, room, due, work, phi, prev, cap, tol, use):
    """Into ``use`` (T, K, R): the regions each class-hour may run in at an optimum, an exact
    cut. Region j is left out for class k in hour t where regions whose every new MW costs
    less than j's cheapest MW (by a margin far above the tie tolerance) have more room than
    the hour's whole load (its due load and all work that may still run then): at an optimum
    those cheaper regions cannot all be full, so an MW in j could move to one of them for less.
    Class k may run in regions[starts[k]:starts[k + 1]] (ascending).
    """
    n_t, n_k, n_r = cost.shape
    margin = _CUT_MARGIN * max(tol, 1e-300)
    for t in range(n_t):
        load = 0.0
        for k in range(n_k):
            load += due[t, k]
            for h in range(t, n_t):
                load += work[h, k]
        for k in range(n_k):
            regs = regions[starts[k]:starts[k + 1]]
            # q: the new-MW $ at which the cheapest regions' room first exceeds the load
            got, q = 0.0, np.inf
            for j in range(n_r):
                use[t, k, j] = False  # here: region taken into the cheapest set
            while got <= load * (1.0 + _FIT):
                b, bj = np.inf, -1
                for j in regs:
                    if room[t, j] and not use[t, k, j]:
                        c = cost[t, k, j] + phi[k, j]
                        if c < b:
                            b, bj = c, j
                if bj < 0:
                    q = np.inf
                    break
                use[t, k, bj] = True
                got += cap[bj]
                q = b
            for j in regs:  # (the other regions stay False from above)
                cheapest = cost[t, k, j] if prev[k, j] > 0 else cost[t, k, j] + phi[k, j]
                use[t, k, j] = room[t, j] and cheapest <= q + margin


@numba.njit(cache=True)
def _plan_graph(cost, starts, regions, use, due, work, phi, prev, pref, cap, voll, x, u, y, m,
                tail, head, capacity, arc_cost, tie, flow, kind, where, node):
    """The time-expanded graph of a plan (``abm.core.horizon.graph``: the same kinds of arcs
    in the same order) on the regions ``use`` (T, K, R) allows (``_usable``; read only
    within class k's regions, regions[starts[k]:starts[k + 1]], ascending), each due node
    merged into its class-hour (which then holds the due load, with an unserved arc of at
    most that load: the same paths at the same costs), with only the nodes that have arcs,
    numbered in the same order: into the arc arrays, ``kind`` (the ``ARC_*`` codes) and
    ``where`` (A, 3) as ``graph`` writes them, with the capacity-free plan (x, u, y, m) as
    its flow (region-hour to sink: at most the capacity ``cap`` (R,)). ``node`` (3 T K + T R,)
    gets the number of the node holding each due (t, k), deferrable (h, k), class-hour (t, k)
    and region-hour (t, j) (-1: none), in that layout. Returns (the number of arcs, the
    number of nodes; the sink is the last)."""
    n_t, n_k, n_r = cost.shape
    tk = n_t * n_k
    ch0, rh0 = 2 * tk, 3 * tk
    top = np.empty(n_k, dtype=np.int64)  # each class's chain's top node (``_top``)
    runs = np.empty((n_t, n_k), dtype=np.bool_)  # whether class k may run somewhere in hour t
    for k in range(n_k):
        top[k] = _top(work, k)
    n = 0
    for h in range(n_t - 1, -1, -1):  # each class's chain of work, its latest deadline first
        for k in range(n_k):
            node[tk + h * n_k + k] = -1
            if h <= top[k]:
                node[tk + h * n_k + k] = n
                n += 1
    for t in range(n_t):  # region-hours some class-hour may use (marked, numbered below)
        for j in range(n_r):
            node[rh0 + t * n_r + j] = -1
    for t in range(n_t):  # class-hours with due load or somewhere to run
        for k in range(n_k):
            runs[t, k] = False
            for p in range(starts[k], starts[k + 1]):
                if use[t, k, regions[p]]:
                    runs[t, k] = True
                    node[rh0 + t * n_r + regions[p]] = 0
            node[ch0 + t * n_k + k] = n if due[t, k] > 0 or runs[t, k] else -1
            n += node[ch0 + t * n_k + k] >= 0
            node[t * n_k + k] = node[ch0 + t * n_k + k] if due[t, k] > 0 else -1
    for t in range(n_t):
        for j in range(n_r):
            if node[rh0 + t * n_r + j] == 0:
                node[rh0 + t * n_r + j] = n
                n += 1
    sink = n
    i = 0
    for t in range(n_t):
        for k in range(n_k):
            if due[t, k] > 0:
                i = _arc(i, tail, head, capacity, arc_cost, tie, flow, kind, where,
                         node[t * n_k + k], sink, due[t, k], voll, TIE_UNSERVED, u[t, k],
                         ARC_UNSERVED, t, k, -1)
    for k in range(n_k):  # the chains: work down to the hour before, MW by the plan's y
        above = 0.0  # work due after hour h less what runs after it
        for h in range(top[k], 0, -1):
            above += work[h, k]
            for g in range(h, n_t):
                above -= y[g, h, k]
            i = _arc(i, tail, head, capacity, arc_cost, tie, flow, kind, where,
                     node[tk + h * n_k + k], node[tk + (h - 1) * n_k + k], np.inf, 0.0, 0.0,
                     max(above, 0.0), ARC_CHAIN, h, k, -1)
    for t in range(n_t):
        for k in range(n_k):
            # a class-hour with a node and no due load has somewhere to run
            if t <= top[k] and node[ch0 + t * n_k + k] >= 0 and (due[t, k] == 0 or runs[t, k]):
                ran = 0.0
                for h in range(t, n_t):
                    ran += y[h, t, k]
                i = _arc(i, tail, head, capacity, arc_cost, tie, flow, kind, where,
                         node[tk + t * n_k + k], node[ch0 + t * n_k + k], np.inf, 0.0,
                         _wait_tie(t, n_t), ran, ARC_WAIT, t, k, -1)
    for k in range(n_k):
        if top[k] >= 0:
            lost = 0.0
            for h in range(n_t):
                lost += m[h, k]
            i = _arc(i, tail, head, capacity, arc_cost, tie, flow, kind, where, node[tk + k],
                     sink, np.inf, voll, TIE_UNSERVED, lost, ARC_MISSED, 0, k, -1)
    for t in range(n_t):
        for k in range(n_k):
            for p in range(starts[k], starts[k + 1]):
                j = regions[p]
                if use[t, k, j] and prev[k, j] > 0:
                    i = _arc(i, tail, head, capacity, arc_cost, tie, flow, kind, where,
                             node[ch0 + t * n_k + k], node[rh0 + t * n_r + j], prev[k, j],
                             cost[t, k, j], pref[k, j], min(x[t, k, j], prev[k, j]), ARC_KEPT,
                             t, k, j)
    for t in range(n_t):
        for k in range(n_k):
            for p in range(starts[k], starts[k + 1]):
                j = regions[p]
                if use[t, k, j]:
                    kept = min(x[t, k, j], prev[k, j]) if prev[k, j] > 0 else 0.0
                    i = _arc(i, tail, head, capacity, arc_cost, tie, flow, kind, where,
                             node[ch0 + t * n_k + k], node[rh0 + t * n_r + j], np.inf,
                             cost[t, k, j] + phi[k, j], TIE_NEW + pref[k, j],
                             max(x[t, k, j] - kept, 0.0), ARC_MOVED, t, k, j)
    for t in range(n_t):
        for j in range(n_r):
            if node[rh0 + t * n_r + j] >= 0:
                load = 0.0
                for k in range(n_k):
                    load += x[t, k, j]
                i = _arc(i, tail, head, capacity, arc_cost, tie, flow, kind, where,
                         node[rh0 + t * n_r + j], sink, cap[j], 0.0, 0.0, min(load, cap[j]),
                         ARC_ROOM, t, j, -1)
    return i, n + 1


@numba.njit(cache=True)
def _repair(cost, starts, regions, room, due, work, phi, prev, pref, cap, voll, tol, x, u, y,
            m, use, node, tail, head, capacity, arc_cost, tie, flow, kind, where):
    """The plan's optimum against ``cap`` (R,) every hour from its capacity-free optimum
    (x, u, y, m): the time-expanded min-cost flow on the regions each class-hour may use at
    an optimum (``_usable``, into ``use``; class k may run in regions[starts[k]:starts[k +
    1]]), started from that plan, with the potentials its
    residual graph gives (distances to the sink), sending on only what overfills a
    region-hour. The graph (``_plan_graph``; arrays from ``_scratch``) and its MW
    into the arc arrays. Returns (the flow's rounds, the number of arcs); rounds -1 if it did
    not converge or the potentials did not settle (a near-tie the closed form settled
    otherwise than the flow would: the caller solves afresh)."""
    n_t, n_k = due.shape
    _usable(cost, starts, regions, room, due, work, phi, prev, cap, tol, use)
    n_a, n = _plan_graph(cost, starts, regions, use, due, work, phi, prev, pref, cap, voll, x,
                         u, y, m, tail, head, capacity, arc_cost, tie, flow, kind, where, node)
    sink = n - 1
    frm, to, rcap, rc, rt, start, adj = _residual(n, tail[:n_a], head[:n_a], capacity[:n_a],
                                                  arc_cost[:n_a], tie[:n_a])
    excess = np.zeros(n)
    for i in range(n_a):
        f = flow[i]
        rcap[2 * i] = max(capacity[i] - f, 0.0)
        rcap[2 * i + 1] = f
        excess[tail[i]] -= f
        excess[head[i]] += f
    for t in range(n_t):  # the sources: their supply, less what left them
        for k in range(n_k):
            if node[t * n_k + k] >= 0:
                excess[node[t * n_k + k]] += due[t, k]
            if node[n_t * n_k + t * n_k + k] >= 0:
                excess[node[n_t * n_k + t * n_k + k]] += work[t, k]
    excess[sink] = 0.0
    for v in range(n):
        if abs(excess[v]) <= _FLOW_EPS * n:
            excess[v] = 0.0
        elif excess[v] < 0:
            return -1, n_a
    # potentials: minus the distance to the sink on the residual graph (Bellman-Ford sweeps;
    # a sweep relaxes only the nodes with an arc into a node whose distance changed since they
    # were last relaxed: the others would change nothing, so the distances are the same)
    d, d_tie = np.full(n, np.inf), np.full(n, np.inf)
    d[sink], d_tie[sink] = 0.0, 0.0
    dirty = np.ones(n, dtype=np.bool_)
    settled = False
    for _ in range(n):  # arcs mostly point to higher nodes: few sweeps settle
        changed = False
        for v in range(sink - 1, -1, -1):
            if not dirty[v]:
                continue
            dirty[v] = False
            moved = False
            for a in range(start[v], start[v + 1]):
                e = adj[a]
                w = to[e]
                if rcap[e] <= _FLOW_EPS or d[w] == np.inf:
                    continue
                nd, nd_tie = rc[e] + d[w], rt[e] + d_tie[w]
                # shorter beyond rounding ($ within tol, tie within _TIE_TOL are equal)
                if nd < d[v] - tol or (nd <= d[v] + tol and nd_tie < d_tie[v] - _TIE_TOL):
                    d[v], d_tie[v] = nd, nd_tie
                    moved = True
            if moved:
                changed = True
                for a in range(start[v], start[v + 1]):  # the nodes with an arc into v
                    e = adj[a]
                    if rcap[e ^ 1] > _FLOW_EPS:
                        dirty[to[e]] = True
        if not changed:
            settled = True
            break
    if not settled:
        return -1, n_a
    pot, pot_tie = np.empty(n), np.empty(n)
    for v in range(n):
        if d[v] == np.inf:
            pot[v], pot_tie[v] = 0.0, 0.0
        else:
            pot[v], pot_tie[v] = -d[v], -d_tie[v]
    rounds = _augment(n, frm, to, rcap, rc, rt, start, adj, pot, pot_tie, excess, tol)
    if rounds < 0:
        return -1, n_a
    for i in range(n_a):
        f = rcap[2 * i + 1]
        flow[i] = 0.0 if abs(f) < 1e-12 else f
    return rounds, n_a


@numba.njit(cache=True)
def _scratch(n_t, n_k, n_r):
    """Arrays for ``_repair`` of plans of up to ``n_t`` hours: (use, node, tail, head,
    capacity, cost, tie, flow, kind, where), the arc arrays as long as the most arcs a plan's
    graph has."""
    most = 4 * n_t * n_k + n_t * n_t * n_k + 2 * n_t * n_k * n_r + n_t * n_r
    return (np.empty((n_t, n_k, n_r), dtype=np.bool_),
            np.empty(3 * n_t * n_k + n_t * n_r, dtype=np.int64),
            np.empty(most, dtype=np.int64), np.empty(most, dtype=np.int64), np.empty(most),
            np.empty(most), np.empty(most), np.empty(most), np.empty(most, dtype=np.int64),
            np.empty((most, 3), dtype=np.int64))


@numba.njit(cache=True)
def _now(n_k, due, kind, where, flow, n_a, x_now, u_now, ran):
    """Hour 0 of a plan's flow (``_repair``) as ``abm.core.horizon.plan_of`` reads it: x_now
    (K, R), u_now (K,) unserved and ran (K,) work run."""
    n_r = x_now.shape[1]
    x_now[:] = 0.0
    ran[:] = 0.0
    u_now[:] = 0.0
    for i in range(n_a):
        f = flow[i]
        c = kind[i]
        if (c == ARC_KEPT or c == ARC_MOVED) and where[i, 0] == 0:  # hour 0's class to region
            x_now[where[i, 1], where[i, 2]] += f
        elif c == ARC_UNSERVED and where[i, 0] == 0:  # hour 0's due load unserved
            u_now[where[i, 1]] = min(f, due[0, where[i, 1]])
        elif c == ARC_WAIT and where[i, 0] == 0:  # work run in hour 0
            ran[where[i, 1]] += f
    for k in range(n_k):
        reach = due[0, k] - u_now[k] + ran[k]
        run = 0.0
        for j in range(n_r):
            run += x_now[k, j]
        if run > 0:
            for j in range(n_r):
                x_now[k, j] *= reach / run


@numba.njit(cache=True)
def _walk(order, start, hours, cost, energy_ahead, network, feasible, due, due_ahead, backlog,
          phi, prev, pref, reserved, share_cap, available, voll, x_out, unserved_out):
    """The first-come walk from ``order[start]`` (see ``plan_walk``); returns the position in
    ``order`` of the first operator whose capacity-free plan does not fit (``len(order)``
    when none), ``-1 - i`` when operator order[i]'s one-hour flow did not converge, and the
    number of one-hour flows solved."""
    n_k, n_r = cost.shape[1:]
    n_max = backlog.shape[2]
    cap = np.empty(n_r)
    c = np.empty((n_max, n_k, n_r))
    d = np.empty((n_max, n_k))
    w = np.empty((n_max, n_k))
    x = np.empty((n_max, n_k, n_r))
    u = np.empty((n_max, n_k))
    y = np.empty((n_max, n_max, n_k))
    m = np.empty((n_max, n_k))
    lc, lt, lcap = (np.empty((n_max, n_r + 1)), np.empty((n_max, n_r + 1)),
                    np.empty((n_max, n_r + 1)))
    lj = np.empty((n_max, n_r + 1), dtype=np.int64)
    n_lev = np.empty(n_max, dtype=np.int64)
    ptr = np.empty(n_max, dtype=np.int64)
    rest = np.empty(n_max)
    ran = np.empty(n_k)
    room = np.empty((n_max, n_r), dtype=np.bool_)
    starts, regions = np.empty(n_k + 1, dtype=np.int64), np.empty(n_k * n_r, dtype=np.int64)
    load = np.empty(n_r)
    use, node, tail, head, capacity, arc_cost, tie, flow, kind, where = _scratch(n_max, n_k,
                                                                                 n_r)
    flows = 0
    for i in range(start, len(order)):
        o = order[i]
        for j in range(n_r):
            cap[j] = max(min(available[j] + reserved[o, j], share_cap[o, j]), 0.0)
        n_t = hours[o]
        if n_t == 0:  # no deferrable work: the one-hour problem (abm.core.flow)
            status = _place(cost[o], feasible[o], due[o], phi[o], prev[o], pref[o], cap, voll,
                            x_out[o], unserved_out[o])
            if status < 0:
                return -1 - i, flows
            flows += status
        else:
            region_lists(feasible[o], starts, regions)
            scale = 0.0
            for k in range(n_k):
                for t in range(n_t):
                    d[t, k] = due[o, k] if t == 0 else due_ahead[t - 1, o, k]
                    w[t, k] = backlog[o, k, t]
                    scale += d[t, k] + w[t, k]
                    for p in range(starts[k], starts[k + 1]):  # c is read where feasible only
                        j = regions[p]
                        c[t, k, j] = (cost[o, k, j] if t == 0
                                      else energy_ahead[t - 1, o, j] + network[o, k, j])
            scale = max(scale, 1e-300)
            for j in range(n_r):  # a region without room takes nothing (as in the graph)
                has = _has_room(cap[j], scale)
                for t in range(n_t):
                    room[t, j] = has
            ct, dt, wt = c[:n_t], d[:n_t], w[:n_t]
            xt, ut, yt, mt = x[:n_t], u[:n_t], y[:n_t, :n_t], m[:n_t]
            tol = plan_tie_tolerance_lists(ct, starts, regions, dt, wt, phi[o], voll)
            free_plan(ct, starts, regions, room[:n_t], dt, wt, phi[o], prev[o], pref[o], voll,
                      tol, _EPS * scale, xt, ut, yt, mt, lc, lt, lcap, lj, n_lev, ptr, rest)
            if _fits_plan(xt, starts, regions, cap, _FIT * scale, load):
                for k in range(n_k):
                    unserved_out[o, k] = ut[0, k]
                    for j in range(n_r):
                        x_out[o, k, j] = xt[0, k, j]
            else:
                rounds, n_a = _repair(ct, starts, regions, room[:n_t], dt, wt, phi[o], prev[o],
                                      pref[o], cap, voll, tol, xt, ut, yt, mt, use[:n_t], node,
                                      tail, head, capacity, arc_cost, tie, flow, kind, where)
                if rounds < 0:
                    return i, flows
                _now(n_k, dt, kind, where, flow, n_a, x_out[o], unserved_out[o], ran)
                flows += 1
        for j in range(n_r):
            placed = 0.0
            for k in range(n_k):
                placed += x_out[o, k, j]
            available[j] = max(available[j] + reserved[o, j] - placed, 0.0)
    return len(order), flows


def horizon_problem(o: int, ahead: HoursAhead, cost: np.ndarray, feasible: np.ndarray,
                    due_mw: np.ndarray, friction_usd_per_mw: np.ndarray,
                    incumbent_mw: np.ndarray, preference: np.ndarray, capacity_mw: np.ndarray,
                    voll_usd_per_mwh: float) -> HorizonProblem:
    """Operator o's ``HorizonProblem`` from the walk's arrays (``plan_walk``'s arguments),
    against ``capacity_mw`` (R,) every hour."""
    n_t = int(ahead.hours[o])
    c = np.concatenate([cost[o][None], ahead.energy_usd_per_mwh[:n_t - 1, o, None, :]
                        + ahead.network_usd_per_mwh[o][None]])
    due = np.concatenate([due_mw[o][None], ahead.due_mw[:n_t - 1, o]])
    return HorizonProblem.of(
        c, feasible[o], due, ahead.backlog_mwh[o, :, :n_t].T,
        voll_usd_per_mwh=voll_usd_per_mwh, friction_usd_per_mw=friction_usd_per_mw[o],
        incumbent_mw=incumbent_mw[o],
        capacity_mw=np.broadcast_to(capacity_mw, (n_t, len(capacity_mw))),
        preference=preference[o])


def _region_lists(feasible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, regions): class k's feasible regions of (K, R) ``feasible`` are
    regions[starts[k]:starts[k + 1]] (``abm.core.problem_check.region_lists``)."""
    n_k, n_r = feasible.shape
    starts, regions = np.empty(n_k + 1, dtype=np.int64), np.empty(n_k * n_r, dtype=np.int64)
    region_lists(np.ascontiguousarray(feasible, dtype=np.bool_), starts, regions)
    return starts, regions


def solve_free_plan(problem: HorizonProblem) -> Plan:
    """The capacity-free optimum of ``problem`` (module docstring): its capacity ignored
    but where there is no room (``_has_room``)."""
    p = problem
    n_t, n_k, n_r = p.shape
    scale = max(float(p.due_mw.sum() + p.deferrable_mw.sum()), 1e-300)
    tol = p.tie_tolerance_usd_per_mwh()
    x, u = np.zeros((n_t, n_k, n_r)), np.zeros((n_t, n_k))
    y, m = np.zeros((n_t, n_t, n_k)), np.zeros((n_t, n_k))
    free_plan(p.cost_usd_per_mwh, *_region_lists(p.feasible), _has_room(p.capacity_mw, scale),
              p.due_mw, p.deferrable_mw, p.friction_usd_per_mw, p.incumbent_mw, p.preference,
              p.voll_usd_per_mwh, tol,
              _EPS * scale, x, u, y, m, np.empty((n_t, n_r + 1)), np.empty((n_t, n_r + 1)),
              np.empty((n_t, n_r + 1)), np.empty((n_t, n_r + 1), dtype=np.int64),
              np.empty(n_t, dtype=np.int64), np.empty(n_t, dtype=np.int64), np.empty(n_t))
    return Plan(x, u, y, m)


def solve_plan(problem: HorizonProblem) -> Plan:
    """One plan's optimum as the walk finds it: the capacity-free optimum where it fits
    every region-hour's capacity, else the min-cost flow started from it (``_repair``, with
    the same room every hour) or afresh (``abm.core.horizon_flow``)."""
    from abm.core.horizon_flow import solve_horizon_flow

    p = problem
    plan = solve_free_plan(p)
    scale = max(float(p.due_mw.sum() + p.deferrable_mw.sum()), 1e-300)
    load = plan.x_mw.sum(axis=1)
    if ((load <= _FIT * scale) | (load <= p.capacity_mw + _FIT * scale)).all():
        return plan
    cap = p.capacity_mw[0]
    if (p.capacity_mw == cap[None]).all():  # the market's case: the same room every hour
        n_t, n_k, _ = p.shape
        use, node, *arcs, kind, where = _scratch(n_t, n_k, p.shape[2])
        rounds, n_a = _repair(p.cost_usd_per_mwh, *_region_lists(p.feasible),
                              _has_room(p.capacity_mw, scale), p.due_mw, p.deferrable_mw,
                              p.friction_usd_per_mw, p.incumbent_mw, p.preference, cap,
                              p.voll_usd_per_mwh, p.tie_tolerance_usd_per_mwh(), *plan, use,
                              node, *arcs, kind, where)
        if rounds >= 0:
            tail, head, capacity, cost, tie, flow = (a[:n_a] for a in arcs)
            n = max(int(tail.max(initial=0)), int(head.max(initial=0))) + 1
            supply = np.zeros(n)
            sources = node[:2 * n_t * n_k]
            supply[sources[sources >= 0]] = np.concatenate(
                [p.due_mw.ravel(), p.deferrable_mw.ravel()])[sources >= 0]
            g = Graph(n, supply, tail, head, capacity, cost, tie, kind[:n_a], where[:n_a])
            plan = plan_of(p, g, flow)
            # hour 0 as the walk commits it (the same arithmetic, to the last bit)
            _now(n_k, p.due_mw, kind, where, flow, n_a, plan.x_mw[0], plan.unserved_mw[0],
                 np.empty(n_k))
            return plan
    return solve_horizon_flow(p)


def plan_walk(order: np.ndarray, cost: np.ndarray, feasible: np.ndarray, due_mw: np.ndarray,
              friction_usd_per_mw: np.ndarray, incumbent_mw: np.ndarray,
              preference: np.ndarray, reserved_mw: np.ndarray, share_cap_mw: np.ndarray,
              available_mw: np.ndarray, voll_usd_per_mwh: float, x_mw: np.ndarray,
              unserved_mw: np.ndarray, ahead: HoursAhead, check: bool = True) -> int:
    """``abm.core.flow.first_come`` with plans over the horizon: operators in ``order`` each
    take their optimum against the capacity they can get (what they reserve plus what is still
    free, up to their share, the same every hour of a plan); an operator with deferrable work
    (``ahead.hours[o] > 0``) plans its hours ahead (its ``HorizonProblem``, ``horizon_problem``)
    and commits hour 0, the others place this hour only. A plan whose capacity-free optimum
    fits is taken as it is, the others are solved by ``abm.core.horizon_flow``.

    Args:
        order, cost, feasible, friction_usd_per_mw, incumbent_mw, preference, reserved_mw,
            share_cap_mw, available_mw, voll_usd_per_mwh, x_mw, unserved_mw, check: as
            ``abm.core.flow.first_come``.
        due_mw: (O, K) this hour's due load (all the demand of an operator without work).
        ahead: the hours ahead. What a class places beyond its due load served is work run
            this hour (the market takes it from the backlog, ``Operators.run_work``).

    Returns:
        The number of operators that needed a flow (one hour or a plan).
    """
    from abm.core.horizon_flow import solve_horizon_flow

    cost, due, phi, prev, pref, reserved, share_cap = (np.ascontiguousarray(a, dtype=np.float64)
                                                       for a in (cost, due_mw,
                                                                 friction_usd_per_mw,
                                                                 incumbent_mw, preference,
                                                                 reserved_mw, share_cap_mw))
    feasible = np.ascontiguousarray(feasible, dtype=np.bool_)
    hours = np.ascontiguousarray(ahead.hours, dtype=np.int64)
    energy, network, due_ahead, backlog = (
        np.ascontiguousarray(a, dtype=np.float64) for a in (
            ahead.energy_usd_per_mwh, ahead.network_usd_per_mwh, ahead.due_mw,
            ahead.backlog_mwh))
    voll = float(voll_usd_per_mwh)
    if check:
        check_ahead(cost, feasible, due, phi, prev, pref, share_cap, voll, hours, energy,
                    due_ahead, backlog)
        check_capacity("reserved_mw", reserved)
        check_capacity("available_mw", available_mw)
    order = np.ascontiguousarray(order, dtype=np.int64)
    i, flows = 0, 0
    while True:
        i, n = _walk(order, i, hours, cost, energy, network, feasible, due, due_ahead,
                     backlog, phi, prev, pref, reserved, share_cap, available_mw, voll, x_mw,
                     unserved_mw)
        flows += n
        if i < 0:
            raise PlacementError(f"min-cost flow did not converge for operator "
                                 f"{order[-1 - i]}")
        if i >= len(order):
            return flows
        o = order[i]
        cap = np.maximum(np.minimum(available_mw + reserved[o], share_cap[o]), 0.0)
        plan = solve_horizon_flow(horizon_problem(o, ahead, cost, feasible, due, phi, prev,
                                                  pref, cap, voll))
        x_mw[o], unserved_mw[o] = plan.x_mw[0], plan.unserved_mw[0]
        available_mw[:] = np.maximum(available_mw + reserved[o] - x_mw[o].sum(axis=0), 0.0)
        flows += 1
        i += 1


def check_ahead(cost: np.ndarray, feasible: np.ndarray, due_mw: np.ndarray, phi: np.ndarray,
                prev: np.ndarray, pref: np.ndarray, share_cap: np.ndarray, voll: float,
                hours: np.ndarray, energy: np.ndarray, due_ahead: np.ndarray,
                backlog: np.ndarray) -> None:
    """The walk's arrays against the contracts (``abm.core.problem.check_arrays`` for this
    hour, ``HorizonProblem``'s rules for the hours ahead); raises ``PlacementInputError``
    naming the field and the offending values."""
    defers = hours > 0
    # an operator with work may hold more than its due load (last hour's work ran)
    demand = np.where(defers[:, None], np.maximum(due_mw, prev.sum(axis=2)), due_mw)
    check_arrays(cost, feasible, demand, phi, prev, share_cap, voll, pref)
    if not defers.any():
        return
    if not np.isfinite(energy).all():  # (the masks only where something is wrong)
        runs = feasible.any(axis=1)[None]  # (1, O, R) regions some class may use
        _bad("energy_usd_per_mwh", energy, runs & ~np.isfinite(energy), "finite where feasible")
    for name, a in (("due_mw", due_ahead), ("backlog_mwh", backlog)):
        if not (np.isfinite(a).all() and a.min(initial=0.0) >= 0):
            _bad(name, a, ~(np.isfinite(a) & (a >= 0)), "finite and >= 0")
    if hours.max() > backlog.shape[2] or hours.max() - 1 > len(energy):
        _fail("hours", f"must be at most the backlog's {backlog.shape[2]} slots and the "
              f"{len(energy) + 1} hours ahead, got {hours.max()}")

