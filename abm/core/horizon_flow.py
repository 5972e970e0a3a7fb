"""A plan over the horizon (``abm/core/horizon.py``) solved exactly as a min-cost flow by
successive shortest paths, compiled with numba.

The time-expanded graph is a DAG (due and deferrable nodes, class-hours, region-hours, sink),
so the first potentials are minus each node's shortest distance to the sink, in one reverse
sweep: every supply's cheapest way to the sink then has zero reduced cost, and paths over the
zero-cost arcs, depth first, send all of it when no capacity binds. Where an arc fills,
Dijkstra on reduced costs from the nodes still holding supply moves the potentials on and
finds the next shortest path, along which as much as it takes is sent, and so on (one path a
round: a depth-first pass over the zero-cost arcs each round sends more paths a round but
scans far more arcs). Within a round, a node reached at the least distance the queue holds
(the level being settled: most rounds step the distance by nothing, or by tie cost alone,
and many nodes share it) is settled next, the last reached first, without a scan of the
queue; a scan picks the nearest only when that level is used up. Settling any node at the
least distance is Dijkstra's rule, so the distances are the same; the order reaches the sink
along paths depth first. The round stops as soon as the sink is reached at that level: no
node left could reach it shorter. The flow stays optimal throughout, so once every supply
has reached the sink (served, unserved or missed) it is the optimum. Costs are pairs compared
lexicographically, ($ per MW, tie cost per MW), with $ differences below ``tol`` (the tie
tolerance every engine shares, ``abm.core.problem_check.plan_tie_tolerance_usd_per_mwh``)
counting as ties, as in ``abm.core.flow``.
"""

# numba keys this file's cache on its bytes alone: digests of the modules whose names its
# compiled code uses (tools/compiled_deps.py writes them; docs/architecture.md)
# compiled with abm/core/flow.py 713c327571b5

from __future__ import annotations

import numba
import numpy as np

from abm.core.flow import _less, _less_in, _nearest_in
from abm.core.horizon import Graph, HorizonProblem, Plan, graph, plan_of
from abm.core.problem import PlacementError

_EPS = 1e-12  # MW: residual capacity below this is used up
_TIE_TOL = 1e-9  # tie-cost differences below this are ties (the ranks are sums of a few terms)


@numba.njit(cache=True, inline="always")
def _admissible(e, frm, to, rcap, rc, rt, pot, pot_tie, tol):
    """Whether residual arc e has room and a zero reduced cost, in $ (within tol) and tie."""
    u, w = frm[e], to[e]
    return (rcap[e] > _EPS and abs(rc[e] + pot[u] - pot[w]) <= tol
            and abs(rt[e] + pot_tie[u] - pot_tie[w]) <= _TIE_TOL)


@numba.njit(cache=True, inline="always")
def _send(path, depth, rcap, excess, s):
    """Send what node s has in excess along the residual arcs path[:depth], up to their least
    room; returns the MW sent (rooms and the excess below ``_EPS`` are used up)."""
    delta = excess[s]
    for q in range(depth):
        delta = min(delta, rcap[path[q]])
    for q in range(depth):
        e = path[q]
        rcap[e] = 0.0 if rcap[e] - delta <= _EPS else rcap[e] - delta
        rcap[e ^ 1] += delta
    excess[s] = 0.0 if excess[s] - delta <= _EPS else excess[s] - delta
    return delta


@numba.njit(cache=True, inline="always")
def _block(n, frm, to, rcap, rc, rt, pot, pot_tie, tol, start, adj, excess, dead, on, it,
           path):
    """Send excess to the sink (node n - 1) along arcs of zero reduced cost: paths depth first
    from each node with excess, each node's arcs scanned once (a node that leads nowhere is a
    dead end until the next call; one on the path is not entered again); returns the MW sent.
    Paths it misses (through a node marked dead while on another path) cost nothing: they
    are still of zero reduced cost, and the Dijkstra rounds find them at distance 0."""
    t = n - 1
    sent = 0.0
    dead[:] = False
    for v in range(n):
        it[v] = start[v]
    for s in range(t):
        while excess[s] > _EPS and not dead[s]:
            depth = 0  # path[:depth] are the arcs from s to v
            v = s
            on[s] = True
            while v != t:
                advanced = False
                while it[v] < start[v + 1]:
                    e = adj[it[v]]
                    w = to[e]
                    if not dead[w] and not on[w] and _admissible(e, frm, to, rcap, rc, rt, pot,
                                                                  pot_tie, tol):
                        path[depth] = e
                        depth += 1
                        on[w] = True
                        v = w
                        advanced = True
                        break
                    it[v] += 1
                if not advanced:
                    dead[v] = True
                    on[v] = False
                    if v == s:
                        break
                    depth -= 1
                    v = frm[path[depth]]
                    it[v] += 1
            for q in range(depth):
                on[to[path[q]]] = False
            on[s] = False
            if v != t:
                break
            sent += _send(path, depth, rcap, excess, s)
    return sent


@numba.njit(cache=True, inline="always")
def _any_above(a, eps):
    """Whether some entry of a is above eps (no array made)."""
    for v in a:
        if v > eps:
            return True
    return False


@numba.njit(cache=True)
def _residual(n, tail, head, capacity, cost, tie):
    """The residual graph of the zero flow: arc 2i is arc i, 2i + 1 its reverse; (frm, to,
    rcap, rc, rt) per residual arc and the arcs out of each node v, adj[start[v]:start[v + 1]]."""
    n_a = len(tail)
    to = np.empty(2 * n_a, dtype=np.int64)
    frm = np.empty(2 * n_a, dtype=np.int64)
    rcap = np.empty(2 * n_a)
    rc = np.empty(2 * n_a)
    rt = np.empty(2 * n_a)
    for i in range(n_a):
        frm[2 * i], to[2 * i], rcap[2 * i], rc[2 * i], rt[2 * i] = (
            tail[i], head[i], capacity[i], cost[i], tie[i])
        frm[2 * i + 1], to[2 * i + 1], rcap[2 * i + 1], rc[2 * i + 1], rt[2 * i + 1] = (
            head[i], tail[i], 0.0, -cost[i], -tie[i])
    start = np.zeros(n + 1, dtype=np.int64)
    for e in range(2 * n_a):
        start[frm[e] + 1] += 1
    for v in range(n):
        start[v + 1] += start[v]
    fill = start[:-1].copy()
    adj = np.empty(2 * n_a, dtype=np.int64)
    for e in range(2 * n_a):
        adj[fill[frm[e]]] = e
        fill[frm[e]] += 1
    return frm, to, rcap, rc, rt, start, adj


@numba.njit(cache=True)
def _augment(n, frm, to, rcap, rc, rt, start, adj, pot, pot_tie, excess, tol):
    """Send every node's excess to the sink (node n - 1) at least cost, from a pseudo-flow
    (``rcap``) whose residual arcs all have reduced costs >= 0 under (pot, pot_tie): first
    paths on zero-cost arcs (``_block``), then rounds of Dijkstra from the nodes with excess
    (the nodes at the least distance settled depth first, the round ended once the sink is
    reached at it: module docstring), each moving the potentials on and sending along the
    shortest path it found. Returns the number of Dijkstra rounds, or -1 if it did not
    converge."""
    n_a = len(frm) // 2
    t = n - 1
    dist, dist_tie = np.empty(n), np.empty(n)
    done = np.empty(n, dtype=np.bool_)
    dead = np.empty(n, dtype=np.bool_)
    on = np.zeros(n, dtype=np.bool_)
    it = np.empty(n, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    place = np.empty(n, dtype=np.int64)  # each queued node's place in the queue
    stack = np.empty(2 * n_a + n, dtype=np.int64)  # nodes at the least distance
    path = np.empty(n, dtype=np.int64)
    pred = np.empty(n, dtype=np.int64)  # the residual arc each node was last reached by
    left = excess.sum()
    left -= _block(n, frm, to, rcap, rc, rt, pot, pot_tie, tol, start, adj, excess, dead, on, it,
                   path)
    rounds = 0
    while left > _EPS * n and _any_above(excess, _EPS):
        rounds += 1
        if rounds > 4 * n_a + 10:
            return -1
        # Dijkstra on reduced costs from every node with excess
        dist[:], dist_tie[:] = np.inf, np.inf
        done[:] = False
        pred[:] = -1
        n_q = 0
        for v in range(n):
            if excess[v] > _EPS and v != t:
                dist[v], dist_tie[v] = 0.0, 0.0
                queue[n_q] = v
                place[v] = n_q
                n_q += 1
        n_s = 0  # stack[:n_s]: nodes reached at the least distance in the queue, settled next
        lo, lo_tie = 0.0, 0.0
        while n_q > 0:
            while n_s > 0 and done[stack[n_s - 1]]:
                n_s -= 1
            if n_s > 0:
                n_s -= 1
                i = place[stack[n_s]]
            else:
                i = _nearest_in(queue, n_q, dist, dist_tie, tol)
                lo, lo_tie = dist[queue[i]], dist_tie[queue[i]]
            v = queue[i]
            n_q -= 1
            queue[i] = queue[n_q]
            place[queue[i]] = i
            done[v] = True
            if v == t:
                break
            for a in range(start[v], start[v + 1]):
                e = adj[a]
                w = to[e]
                if rcap[e] <= _EPS or done[w]:
                    continue
                nd = dist[v] + rc[e] + pot[v] - pot[w]
                nd_tie = dist_tie[v] + rt[e] + pot_tie[v] - pot_tie[w]
                if _less_in(nd, nd_tie, dist[w], dist_tie[w], tol):
                    if dist[w] == np.inf:
                        queue[n_q] = w
                        place[w] = n_q
                        n_q += 1
                    dist[w], dist_tie[w], pred[w] = nd, nd_tie, e
                    if not _less_in(lo, lo_tie, nd, nd_tie, tol):
                        if w == t:
                            done[t] = True  # reached at the least distance left: settled
                            break
                        stack[n_s] = w
                        n_s += 1
            if done[t]:
                break
        if not done[t]:
            return -1
        for v in range(n):  # settled nodes by their distance, the others by the sink's
            if done[v]:
                pot[v] += dist[v]
                pot_tie[v] += dist_tie[v]
            else:
                pot[v] += dist[t]
                pot_tie[v] += dist_tie[t]
        # the shortest path, back from the sink to the node with excess it starts at
        depth, v = 0, t
        while pred[v] >= 0 and depth < n:
            path[depth] = pred[v]
            depth += 1
            v = frm[pred[v]]
        if depth >= n or excess[v] <= _EPS:
            return -1
        left -= _send(path, depth, rcap, excess, v)
    return rounds


@numba.njit(cache=True)
def _mcf(n, supply, tail, head, capacity, cost, tie, tol, flow):
    """Min-cost flow of ``supply`` to the sink (node n - 1) into ``flow`` (A,); returns the
    number of Dijkstra rounds, or -1 if it did not converge.

    Primal-dual: the potentials start at minus each node's lexicographic distance to the sink
    on the DAG, so every node's shortest path has zero reduced cost and paths on those arcs
    send every supply when nothing binds; where an arc fills, Dijkstra from the
    nodes with excess (reduced costs, potentials kept) finds the next zero-cost arcs.
    """
    n_a = len(tail)
    t = n - 1
    frm, to, rcap, rc, rt, start, adj = _residual(n, tail, head, capacity, cost, tie)
    # potentials: minus the distance to the sink (arcs point to higher nodes: a reverse sweep)
    pot, pot_tie = np.full(n, np.inf), np.full(n, np.inf)
    pot[t], pot_tie[t] = 0.0, 0.0
    for v in range(t - 1, -1, -1):
        for a in range(start[v], start[v + 1]):
            e = adj[a]
            w = to[e]
            if e % 2 == 0 and rcap[e] > _EPS and pot[w] < np.inf:
                if _less(rc[e] + pot[w], rt[e] + pot_tie[w], pot[v], pot_tie[v], 0.0):
                    pot[v], pot_tie[v] = rc[e] + pot[w], rt[e] + pot_tie[w]
    for v in range(n):
        if pot[v] == np.inf:  # no way on to the sink: nothing flows in (graph builds none)
            pot[v], pot_tie[v] = 0.0, 0.0
        else:
            pot[v], pot_tie[v] = -pot[v], -pot_tie[v]
    excess = supply.copy()
    excess[t] = 0.0
    rounds = _augment(n, frm, to, rcap, rc, rt, start, adj, pot, pot_tie, excess, tol)
    if rounds < 0:
        return -1
    for i in range(n_a):
        flow[i] = rcap[2 * i + 1]
    return rounds


def solve_graph(g: Graph, tol: float) -> np.ndarray:
    """The lexicographic ($, tie) min-cost flow on ``g``, $ within ``tol`` ($/MWh) counting
    as ties: MW per arc."""
    flow = np.zeros(len(g.tail))
    if len(g.tail) == 0:
        return flow
    rounds = _mcf(g.n_nodes, g.supply, g.tail, g.head, g.capacity, g.cost, g.tie, tol, flow)
    if rounds < 0:
        raise PlacementError("min-cost flow over the horizon did not converge")
    return flow


def solve_horizon_flow(problem: HorizonProblem) -> Plan:
    """One operator's plan over the horizon by min-cost flow (ties by docs/model.md's rule)."""
    g = graph(problem)
    return plan_of(problem, g, solve_graph(g, problem.tie_tolerance_usd_per_mwh()))
