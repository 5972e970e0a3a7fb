"""One operator's placement problem (``abm/core/problem.py``) solved exactly as a min-cost flow,
compiled with numba.

The problem of docs/formulation.md for one operator is a transportation problem: classes k
supply their demand d_k, regions j take at most cap_j, and class k reaches region j (where
feasible) along an arc whose cost is convex in two pieces: c_kj per MW up to the incumbent MW
x0_kj, c_kj + phi_kj beyond (the MW moved in). Unserved demand is an arc from every class to
the sink at VoLL, which may be below a class's cheapest MW (then it goes unserved by choice).

Costs are pairs compared lexicographically: ($ per MW, tie cost per MW), the tie cost of
docs/model.md ("Ties": the preference where the incumbent is kept, 2 + the preference where
MW move in, 4 unserved), so among the $ optima the flow finds the least tie cost: the
placement is fixed by the rule, not by the order of the search (which settles only what ties
on both counts, deterministically). $ per MW within ``tol`` count as ties: the tolerance HiGHS
uses too (``abm.core.problem_check.tie_tolerance_usd_per_mwh``, ``TIE_TOLERANCE`` of the
largest $ figure), so both engines settle near-ties alike. MW below ``eps`` (1e-14 of the
operator's demand) count as nothing, so the flow converges the same way on a kW and on a TW of
demand.

Without capacity the problem separates by class and has a closed-form optimum: each class's
price p_k is the cheaper of its cheapest new MW and VoLL; every incumbent MW with c <= p_k
stays, the rest goes to the new MW (or unserved), all up to ``tol`` (near-ties go to the tie
cost). Most operators, most hours, it fits and nothing else is needed. Where it puts MW in
a region with no room at all (one that operators before it filled), that region is dropped
and the capacity-free optimum of the rest taken (exact: such a region can take nothing),
which is enough for about half of the operators that do not fit. Where new MW overfill a
region whose room its incumbents fill, or its incumbents alone overfill a region (rationed),
the region is closed to new MW in the same way (the incumbents that lose least by leaving a
rationed one leaving first), and the result kept if prices on those regions' room prove it
optimal (a dual check; else the flow finds what swaps are worth it). Where it overfills a
region it is still a min-cost pseudo-flow (potentials -p_k for classes, 0 for regions and the
sink: no residual arc has a negative reduced cost), and successive shortest paths (Dijkstra on
reduced costs, potentials kept) send each region's excess on to the sink, pushing the classes
that value it least into their next-best regions or unserved; the flow stays optimal after
every augmentation, so when no excess is left it is the optimum. With about 40 nodes a path
takes microseconds, against a fraction of a millisecond for a HiGHS call of the same LP; the
market's whole first-come walk runs in compiled code (``first_come``). Checked against HiGHS
and networkx's network simplex in the tests and ``benchmarks/oracle_check.py``.
"""

# numba keys this file's cache on its bytes alone: digests of the modules whose names its
# compiled code uses (tools/compiled_deps.py writes them; docs/architecture.md)
# compiled with abm/core/problem.py ad2b11bb34d7
# compiled with abm/core/problem_check.py 81693d39273b

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numba
import numpy as np

from abm.core.masks import pair_lists
from abm.core.problem import (
    INCUMBENT_TOLERANCE,
    TIE_NEW,
    TIE_UNSERVED,
    PlacementError,
    PlacementProblem,
    check_arrays,
    check_capacity,
)
from abm.core.problem_check import TIE_TOLERANCE, class_tie_tolerance, region_lists

# MW tolerances, relative to the operator's demand (its total MW, the scale of every flow):
# exact at any size, from a kW to a TW (rounding in sums of MW is ~1e-16 of that scale)
_EPS = 1e-14  # residual capacity below this share of the demand is used up
_FIT = 1e-11  # a load fits a capacity it exceeds by at most this share of the demand


@numba.njit(cache=True)
def _less(a, a_tie, b, b_tie, tol):
    """(a, a_tie) < (b, b_tie) lexicographically, $ within tol counting as equal."""
    return a < b - tol or (a <= b + tol and a_tie < b_tie)


@numba.njit(cache=True)
def _nearest(queue, n_q, dist, dist_tie, tol):
    """The position in queue[:n_q] of the node nearest by (dist, dist_tie), the first of
    equals."""
    i = 0
    for q in range(1, n_q):
        if _less(dist[queue[q]], dist_tie[queue[q]], dist[queue[i]], dist_tie[queue[i]], tol):
            i = q
    return i


# The walk's helpers are inlined into their callers (numba's ``inline="always"``): called, each
# took a dozen array arguments per call, and the walk calls them tens of thousands of times an
# hour (a tenth of a late hour's walk at 10,000 operators; the same arithmetic, so the same
# bits). ``_less`` and ``_nearest`` stay separate functions; ``_less_in`` and ``_nearest_in``
# are the same functions compiled inline, for the searches here and in abm.core.horizon_flow
# and horizon_walk (as separate calls they took about a tenth of a repair's time there).
_less_in = numba.njit(inline="always")(_less.py_func)
_nearest_in = numba.njit(inline="always")(_nearest.py_func)


@numba.njit(cache=True, inline="always")
def _settle(k, starts, regions, demand, kept, best, b, b_tie, x, unserved, price, price_tie):
    """Class k's capacity-free MW once its incumbents within tolerance are in x[k] (kept MW
    in all): scaled down to its demand where they exceed it (within the contract's
    tolerance), the rest of its demand to region ``best`` (new MW), or unserved where best is
    -1 (VoLL is cheapest); its dual (price, price_tie)[k] = (b, b_tie). ``_greedy`` and
    ``_free_pairs`` end each class with it."""
    if kept > demand[k]:  # an incumbent above demand within the contract's tolerance
        for p in range(starts[k], starts[k + 1]):
            j = regions[p]
            x[k, j] *= demand[k] / kept
    rest = max(demand[k] - kept, 0.0)
    unserved[k] = 0.0
    if best >= 0:
        x[k, best] += rest
    else:
        unserved[k] = rest
    price[k], price_tie[k] = b, b_tie


@numba.njit(cache=True, inline="always")
def _greedy(cost, starts, regions, demand, phi, prev, pref, voll, x, unserved, price,
            price_tie, eps, tol, shut, closing):
    """Capacity-free optimum of one operator into x (K, R) and unserved (K,); class k may
    run in regions[starts[k]:starts[k + 1]] (ascending); (price, price_tie) (K,) get each
    class's new MW (or VoLL), its dual: the least tie cost among those within tol of the
    cheapest (measured from the cheapest, as HiGHS's reduced costs are, so near-ties do not
    chain). With ``closing``, regions j with shut[j] (R,) take no new MW (their incumbents
    stay as anywhere else: ``_closed``; without, shut is not read), and only the classes
    whose new MW a shut region may draw (one within tol of its price) are taken again: for
    the others nothing changes."""
    n_k, n_r = cost.shape
    for k in range(n_k):
        if closing:
            hit = False
            for p in range(starts[k], starts[k + 1]):
                j = regions[p]
                hit = hit or (shut[j] and cost[k, j] + phi[k, j] <= price[k] + tol)
            if not hit:
                continue
        low = voll
        for p in range(starts[k], starts[k + 1]):
            j = regions[p]
            if not (closing and shut[j]):
                low = min(low, cost[k, j] + phi[k, j])
        best, b, b_tie = -1, voll, TIE_UNSERVED
        if voll > low + tol:
            b, b_tie = np.inf, np.inf
        for p in range(starts[k], starts[k + 1]):
            j = regions[p]
            c = cost[k, j] + phi[k, j]
            if not (closing and shut[j]) and c <= low + tol and (
                    TIE_NEW + pref[k, j] < b_tie or (TIE_NEW + pref[k, j] == b_tie and c < b)):
                best, b, b_tie = j, c, TIE_NEW + pref[k, j]
        kept = 0.0
        for j in range(n_r):
            x[k, j] = 0.0
        for p in range(starts[k], starts[k + 1]):
            j = regions[p]
            # an incumbent MW ties below any new MW or unserved one: kept within tol of them
            if prev[k, j] > eps and cost[k, j] <= low + tol:
                x[k, j] = prev[k, j]
                kept += prev[k, j]
        _settle(k, starts, regions, demand, kept, best, b, b_tie, x, unserved, price,
                price_tie)


@numba.njit(cache=True, inline="always")
def _load(x, starts, regions, load):
    """load (R,) = x (K, R) summed over classes, class by class in order (as ``x[:, j].sum()``
    adds them: the MW outside a class's regions are zero)."""
    load[:] = 0.0
    for k in range(x.shape[0]):
        for p in range(starts[k], starts[k + 1]):
            load[regions[p]] += x[k, regions[p]]


@numba.njit(cache=True, inline="always")
def _fits(load, cap, fit):
    for j in range(len(load)):
        if load[j] > cap[j] + fit:
            return False
    return True


@numba.njit(cache=True, inline="always")
def _in_arc(c, phi, pref, x, prev, eps):
    """($, tie) per MW of one more MW on an arc, and the MW it takes at that cost: c up to
    the incumbent MW, c + phi beyond."""
    if x < prev - eps:
        return c, pref, prev - x
    return c + phi, TIE_NEW + pref, np.inf


@numba.njit(cache=True, inline="always")
def _out_arc(c, phi, pref, x, prev, eps):
    """($, tie) per MW saved by one MW less on an arc, and the MW it gives up at that."""
    if x > prev + eps:
        return c + phi, TIE_NEW + pref, x - prev
    return c, pref, x


@numba.njit(cache=True, inline="always")
def _relax(v, nd, nd_tie, u, dist, dist_tie, pred, queue, n_q, tol):
    """Offer node v the distance (nd, nd_tie) through u; returns the new queue length."""
    if _less_in(nd, nd_tie, dist[v], dist_tie[v], tol):
        if pred[v] < 0:  # first reached
            queue[n_q] = v
            n_q += 1
        dist[v], dist_tie[v], pred[v] = nd, nd_tie, u
    return n_q


@numba.njit(cache=True, inline="always")
def _add(x, prev, delta, eps):
    """x + delta, snapped to the incumbent MW where it reaches the kink."""
    return prev if x < prev - eps and prev - x - delta <= eps else x + delta


@numba.njit(cache=True, inline="always")
def _remove(x, prev, delta, eps):
    """x - delta, snapped to the incumbent MW or to zero where it reaches them."""
    if x > prev + eps and x - prev - delta <= eps:
        return prev
    return 0.0 if x - delta <= eps else x - delta


@numba.njit(cache=True)
def _repair(cost, starts, regions, phi, prev, pref, cap, voll, tol, eps, x, unserved, price,
            price_tie, inflow, work, nodes, done):
    """Turn the capacity-free optimum in (x, unserved) into the capacitated one; returns the
    number of augmenting paths, or -1 if it did not converge.

    The capacity-free optimum is a min-cost pseudo-flow with potentials -price (classes), 0
    (regions, sink): every residual arc has a reduced cost >= 0 (lexicographically, $ then
    tie). What it puts above a region's capacity is excess at that region, sent on to the sink
    along shortest residual paths (pushing classes out of the region, into others or
    unserved) until none is left. Nodes: classes 0..K-1, regions K..K+R-1, sink K+R. Class k
    may run in regions[starts[k]:starts[k + 1]]; inflow (R,) holds the MW placed in each
    region (``_load``) and is used up. work (5, >= K + R + 1), nodes (2, >= K + R + 1) and
    done (>= K + R + 1,) are scratch.
    """
    n_k, n_r = cost.shape
    n = n_k + n_r + 1
    t = n - 1
    pot, pot_tie, out, dist, dist_tie = work[0], work[1], work[2], work[3], work[4]
    pred, queue = nodes[0], nodes[1]  # queue: nodes reached and not yet settled
    pot[:n], pot_tie[:n] = 0.0, 0.0
    for k in range(n_k):
        pot[k], pot_tie[k] = -price[k], -price_tie[k]
    for j in range(n_r):  # MW each region passes to the sink
        out[j] = min(inflow[j], cap[j])
    paths = 0
    while True:
        e = -1
        for j in range(n_r):
            if inflow[j] - out[j] > eps:
                e = n_k + j
                break
        if e < 0:
            break
        paths += 1
        if paths > 20 * n:
            return -1
        dist[:n], dist_tie[:n] = np.inf, np.inf
        done[:n] = False
        pred[:n] = -1
        dist[e], dist_tie[e] = 0.0, 0.0
        queue[0], n_q = e, 1
        while n_q > 0:
            i = _nearest_in(queue, n_q, dist, dist_tie, tol)
            v = queue[i]
            if v == t:
                break
            n_q -= 1
            queue[i] = queue[n_q]
            done[v] = True
            dv, dv_tie = dist[v], dist_tie[v]
            if v < n_k:  # a class: into a region, or unserved to the sink
                k = v
                for p in range(starts[k], starts[k + 1]):
                    j = regions[p]
                    r = n_k + j
                    if not done[r]:
                        c, c_tie, _ = _in_arc(cost[k, j], phi[k, j], pref[k, j], x[k, j],
                                              prev[k, j], eps)
                        nd = dv + c + pot[k] - pot[r]
                        nd_tie = dv_tie + c_tie + pot_tie[k] - pot_tie[r]
                        n_q = _relax(r, nd, nd_tie, k, dist, dist_tie, pred, queue, n_q, tol)
                nd = dv + voll + pot[k] - pot[t]
                nd_tie = dv_tie + TIE_UNSERVED + pot_tie[k] - pot_tie[t]
                n_q = _relax(t, nd, nd_tie, k, dist, dist_tie, pred, queue, n_q, tol)
            else:  # a region: to the sink if it has room, or push a class out
                j = v - n_k
                if cap[j] - out[j] > eps:
                    nd, nd_tie = dv + pot[v] - pot[t], dv_tie + pot_tie[v] - pot_tie[t]
                    n_q = _relax(t, nd, nd_tie, v, dist, dist_tie, pred, queue, n_q, tol)
                for k in range(n_k):
                    if x[k, j] > eps and not done[k]:
                        s, s_tie, _ = _out_arc(cost[k, j], phi[k, j], pref[k, j], x[k, j],
                                               prev[k, j], eps)
                        nd = dv - s + pot[v] - pot[k]
                        nd_tie = dv_tie - s_tie + pot_tie[v] - pot_tie[k]
                        n_q = _relax(k, nd, nd_tie, v, dist, dist_tie, pred, queue, n_q, tol)
        if pred[t] < 0:
            j = e - n_k
            if x[:, j].sum() - out[j] <= eps:  # no MW left there, only the drift of MW
                inflow[j] = out[j]  # snapped to their bounds (``_remove``): none to send on
                continue
            return -1
        for u in range(n):  # nodes settled before the sink by their distance, others by its
            w = u if done[u] else t
            pot[u] += dist[w]
            pot_tie[u] += dist_tie[w]
        # bottleneck along the path e -> ... -> sink
        delta = inflow[e - n_k] - out[e - n_k]
        v = t
        while v != e:
            u = pred[v]
            if v == t:
                if u >= n_k:
                    delta = min(delta, cap[u - n_k] - out[u - n_k])
            elif v >= n_k:  # region v entered from class u
                j = v - n_k
                delta = min(delta, _in_arc(cost[u, j], phi[u, j], pref[u, j], x[u, j],
                                           prev[u, j], eps)[2])
            else:  # class v pushed out of region u
                j = u - n_k
                delta = min(delta, _out_arc(cost[v, j], phi[v, j], pref[v, j], x[v, j],
                                            prev[v, j], eps)[2])
            v = u
        # augment, snapping whatever ran out to its bound exactly
        j = e - n_k
        inflow[j] = out[j] if inflow[j] - out[j] - delta <= eps else inflow[j] - delta
        v = t
        while v != e:
            u = pred[v]
            if v == t:
                if u >= n_k:
                    j = u - n_k
                    out[j] = cap[j] if cap[j] - out[j] - delta <= eps else out[j] + delta
                    inflow[j] += delta
                else:
                    unserved[u] += delta
            elif v >= n_k:
                x[u, v - n_k] = _add(x[u, v - n_k], prev[u, v - n_k], delta, eps)
            else:
                x[v, u - n_k] = _remove(x[v, u - n_k], prev[v, u - n_k], delta, eps)
            v = u
    return paths


class _Scratch(NamedTuple):
    """What one operator's flow works in (``_scratch``), allocated once a walk."""

    kept: np.ndarray  # (K + 1,) int64: the starts of the regions with room
    room: np.ndarray  # (K * R,) int64: the regions with room
    work: np.ndarray  # (5, K + R + 1) potentials, MW passed on, distances
    nodes: np.ndarray  # (2, K + R + 1) int64: predecessors, the queue
    done: np.ndarray  # (K + R + 1,) bool
    shut: np.ndarray  # (R,) bool: the regions closed to new MW (``_closed``), else all False
    bounds: np.ndarray  # (4, R) what ``_closed`` works in
    marginal: np.ndarray  # (R,) int64: the class ``_closed`` leaves in part in each region
    adjusted: np.ndarray  # (K,) bool: the classes ``_closed`` priced again


@numba.njit(cache=True)
def _scratch(n_k, n_r):
    n = n_k + n_r + 1
    return _Scratch(np.empty(n_k + 1, dtype=np.int64), np.empty(n_k * n_r, dtype=np.int64),
                    np.empty((5, n)), np.empty((2, n), dtype=np.int64),
                    np.empty(n, dtype=np.bool_), np.zeros(n_r, dtype=np.bool_),
                    np.empty((4, n_r)), np.empty(n_r, dtype=np.int64),
                    np.empty(n_k, dtype=np.bool_))


@numba.njit(cache=True)
def _place(cost, feasible, demand, phi, prev, pref, cap, voll, x, unserved):
    """One operator's optimum into (x, unserved): -1 if a flow did not converge, 0 if the
    capacity-free optimum fits, else 1."""
    n_k, n_r = cost.shape
    starts, regions = np.empty(n_k + 1, dtype=np.int64), np.empty(n_k * n_r, dtype=np.int64)
    region_lists(feasible, starts, regions)
    return _place_lists(cost, starts, regions, demand, phi, prev, pref, cap, voll, x, unserved,
                        np.empty(n_r), _scratch(n_k, n_r))


@numba.njit(cache=True)
def _place_lists(cost, starts, regions, demand, phi, prev, pref, cap, voll, x, unserved, load,
                 scratch):
    """``_place`` with class k's feasible regions in regions[starts[k]:starts[k + 1]]
    (``region_lists``); load (R,) gets the MW placed in each region."""
    n_k = cost.shape[0]
    price, price_tie = np.empty(n_k), np.empty(n_k)
    tol = _free(cost, starts, regions, demand, phi, prev, pref, voll, x, unserved, price,
                price_tie, load, scratch.shut)
    return _fit(cost, starts, regions, demand, phi, prev, pref, cap, voll, tol, x, unserved,
                price, price_tie, load, scratch)


@numba.njit(cache=True, inline="always")
def _free(cost, starts, regions, demand, phi, prev, pref, voll, x, unserved, price, price_tie,
          load, shut):
    """The capacity-free optimum (``_greedy``) into (x, unserved), its duals into (price,
    price_tie) and the MW it places in each region into load (R,); returns the operator's
    tie tolerance. shut (R,): all False."""
    eps = _EPS * max(demand.sum(), 1e-300)
    # each class's tie tolerance (in price until _greedy writes the prices), the largest
    tol = class_tie_tolerance(cost, starts, regions, demand, phi, voll, price).max()
    _greedy(cost, starts, regions, demand, phi, prev, pref, voll, x, unserved, price, price_tie,
            eps, tol, shut, False)
    _load(x, starts, regions, load)
    return tol


@numba.njit(cache=True)
def _closed(cost, starts, regions, demand, phi, prev, pref, cap, voll, tol, eps, fit, x,
            unserved, price, price_tie, load, shut, bounds, marginal, adjusted):
    """The optimum against cap without a flow, where the capacity-free optimum (x, unserved,
    price, price_tie, load as ``_free`` left them) overfills regions in one of two simple
    ways: 1 if it is found, then in those arrays; else 0 where they are left as they were,
    -1 where they hold something else (take the capacity-free optimum again).

    - New MW overfill a region whose incumbents (the MW there at the incumbent's cost) fill
      its room (to within ``fit``): the region is closed to new MW.
    - Its incumbents alone overfill it (rationed below what its holders hold): it is closed
      to new MW too, and then the classes that lose least by leaving (their price less
      their cost there, then the tie cost) leave first, into the region where their new MW
      go (or unserved), until it fits; the last may stay in part (the marginal class).

    The capacity-free optimum of the rest is taken with those regions closed (``_greedy``
    with shut regions; again while that overfills another region so). The result is kept
    only if it fits and is shown optimal: with the class prices it leaves and a price
    pi_j >= 0 on each such region's room, no residual arc has a negative reduced cost. On a
    closed region some pi_j must lie above what new MW into it would save (a class's price
    less their cost) and below what each MW there earns, each by more than the tie
    tolerance (0 where room is left); on a rationed one pi_j is what the marginal class
    loses, every other class's MW there earning more and its new MW saving less (by more
    than the tolerance in $, or by the tie cost). A class that holds only incumbents and
    leaves nothing unserved is priced at its cheapest MW more, through a rationed region
    where that is below its price, and its own MW are checked at that price. The margins
    leave no tie for this to settle where the flow would settle it otherwise; else (a swap,
    an incumbent pushed out for new MW, or MW pushed on through several regions) the flow
    runs."""
    n_k, n_r = cost.shape
    # held and low share a row: held is read only while regions are closed, low only in the
    # proof after it
    held, low, high, pi, pi_tie = bounds[0], bounds[0], bounds[1], bounds[2], bounds[3]
    shut[:] = False
    marginal[:] = -1
    fits, closes, status = False, True, 0
    for _ in range(n_r + 1):
        fits, more = True, False
        for j in range(n_r):
            if load[j] > cap[j] + fit:
                fits = False
                # the MW here at the incumbent's cost, read where it is needed (in an overfull
                # region): down the column, class by class as a pass over the pairs adds them
                # (x is 0 off them, prev >= 0 everywhere: the terms added there are 0)
                h = 0.0
                for k in range(n_k):
                    h += min(x[k, j], prev[k, j])
                held[j] = h
                if marginal[j] == n_k and load[j] - held[j] <= fit:
                    continue  # rationed, closed already: its incumbents leave below
                if shut[j]:
                    closes = False
                    break
                if held[j] > cap[j] + fit:  # rationed (marked by marginal = K)
                    marginal[j] = n_k
                elif abs(cap[j] - held[j]) > fit:  # else closed: its incumbents fill it
                    closes = False
                    break
                shut[j] = True
                more = True
        if not closes or not more:
            break
        _greedy(cost, starts, regions, demand, phi, prev, pref, voll, x, unserved, price,
                price_tie, eps, tol, shut, True)
        _load(x, starts, regions, load)
        status = -1
    if not closes:
        shut[:] = False
        return status
    if not fits:  # the rationed regions: the least loss leaves first, to its new MW
        for j in range(n_r):
            if marginal[j] != n_k:
                continue
            while load[j] > cap[j] + fit:
                k, loss, loss_tie = -1, np.inf, np.inf
                for q in range(n_k):
                    if x[q, j] > eps:
                        c, c_tie, _ = _out_arc(cost[q, j], phi[q, j], pref[q, j], x[q, j],
                                               prev[q, j], eps)
                        if k < 0 or _less_in(price[q] - c, price_tie[q] - c_tie, loss,
                                             loss_tie, tol):
                            k, loss, loss_tie = q, price[q] - c, price_tie[q] - c_tie
                if k < 0:
                    shut[:] = False
                    return -1
                b = -2  # where the greedy put its new MW (-1 unserved), from its price
                for p in range(starts[k], starts[k + 1]):
                    i = regions[p]
                    if b == -2 and not shut[i] and cost[k, i] + phi[k, i] == price[k] and (
                            TIE_NEW + pref[k, i] == price_tie[k]):
                        b = i
                if b == -2 and price_tie[k] == TIE_UNSERVED:
                    b = -1
                m = min(x[k, j], load[j] - cap[j])
                if b == -2 or (b >= 0 and load[b] + m > cap[b] + fit):
                    shut[:] = False
                    return -1
                x[k, j] = _remove(x[k, j], prev[k, j], m, eps)
                if b >= 0:
                    x[k, b] = _add(x[k, b], prev[k, b], m, eps)
                    load[b] += m
                else:
                    unserved[k] += m
                load[j] -= m
                marginal[j], pi[j], pi_tie[j] = k, loss, loss_tie
        _load(x, starts, regions, load)
        fits = _fits(load, cap, fit)
    accepted = fits and status < 0
    if accepted:  # the proof
        # classes with neither new MW nor unserved: priced at their cheapest MW more into a
        # rationed region where that is below their price, their own MW then checked
        adjusted[:] = False
        for k in range(n_k):
            if unserved[k] > eps:
                continue
            pinned = False
            for p in range(starts[k], starts[k + 1]):
                j = regions[p]
                pinned = pinned or x[k, j] > prev[k, j] + eps
            if pinned:
                continue
            moved = False
            for p in range(starts[k], starts[k + 1]):
                j = regions[p]
                if 0 <= marginal[j] < n_k:
                    c, c_tie, _ = _in_arc(cost[k, j], phi[k, j], pref[k, j], x[k, j],
                                          prev[k, j], eps)
                    if _less_in(c + pi[j], c_tie + pi_tie[j], price[k], price_tie[k], tol):
                        price[k], price_tie[k], moved = c + pi[j], c_tie + pi_tie[j], True
            adjusted[k] = moved
            if moved:
                for p in range(starts[k], starts[k + 1]):
                    j = regions[p]
                    if x[k, j] > eps:
                        if shut[j] and marginal[j] < 0:
                            accepted = False
                        s, s_tie, _ = _out_arc(cost[k, j], phi[k, j], pref[k, j], x[k, j],
                                               prev[k, j], eps)
                        r, r_tie = (pi[j], pi_tie[j]) if shut[j] else (0.0, 0.0)
                        if not _less_in(r, r_tie, price[k] - s, price_tie[k] - s_tie, tol):
                            accepted = False
        low[:], high[:] = -np.inf, np.inf  # the closed regions' bounds on pi_j
        for k in range(n_k):
            for p in range(starts[k], starts[k + 1]):
                j = regions[p]
                if not shut[j] or k == marginal[j]:
                    continue
                c, c_tie, _ = _in_arc(cost[k, j], phi[k, j], pref[k, j], x[k, j], prev[k, j],
                                      eps)
                out = x[k, j] > eps
                s, s_tie = 0.0, 0.0
                if out:
                    s, s_tie, _ = _out_arc(cost[k, j], phi[k, j], pref[k, j], x[k, j],
                                           prev[k, j], eps)
                if marginal[j] < 0:
                    low[j] = max(low[j], price[k] - c + tol)
                    if out:
                        high[j] = min(high[j], price[k] - s - tol)
                else:
                    if adjusted[k]:  # priced at its MW more here or elsewhere: at most pi_j
                        if _less_in(pi[j], pi_tie[j], price[k] - c, price_tie[k] - c_tie, tol):
                            accepted = False
                    elif not _less_in(price[k] - c, price_tie[k] - c_tie, pi[j], pi_tie[j], tol):
                        accepted = False
                    if out and not _less_in(pi[j], pi_tie[j], price[k] - s,
                                            price_tie[k] - s_tie, tol):
                        accepted = False
        for j in range(n_r):
            if marginal[j] >= 0:
                accepted = accepted and not _less_in(pi[j], pi_tie[j], 0.0, 0.0, tol)
            elif shut[j] and low[j] > 0.0:
                accepted = accepted and cap[j] - load[j] <= fit and low[j] < high[j]
    shut[:] = False
    return 1 if accepted else status


@numba.njit(cache=True, inline="always")
def _fit(cost, starts, regions, demand, phi, prev, pref, cap, voll, tol, x, unserved, price,
         price_tie, load, scratch):
    """From the capacity-free optimum (``_free``'s outputs) to the optimum against cap: 0 if
    it fits, else 1 after the flow (-1 if it did not converge); load is kept up to date.

    Regions without room (cap at most the MW tolerance) can take nothing: where the
    capacity-free optimum uses one, they are dropped from every class's regions and the
    capacity-free optimum of what is left is taken (no flow pushes MW out of them one path
    at a time); then regions that new MW overfill, the incumbents filling their room, or
    that the incumbents alone overfill, are closed to new MW where that is shown optimal
    (``_closed``); the flow runs for the rest."""
    scale = max(demand.sum(), 1e-300)  # MW: no flow is larger than the operator's demand
    eps, fit = _EPS * scale, _FIT * scale
    if _fits(load, cap, fit):
        return 0
    full = False
    for j in range(len(cap)):
        full = full or (cap[j] <= eps and load[j] > 0.0)
    if full:
        n_k = len(demand)
        kept, room = scratch.kept, scratch.room
        m = 0
        for k in range(n_k):
            kept[k] = m
            for p in range(starts[k], starts[k + 1]):
                if cap[regions[p]] > eps:
                    room[m] = regions[p]
                    m += 1
        kept[n_k] = m
        starts, regions = kept, room
        _greedy(cost, starts, regions, demand, phi, prev, pref, voll, x, unserved, price,
                price_tie, eps, tol, scratch.shut, False)
        _load(x, starts, regions, load)
        if _fits(load, cap, fit):
            return 1
    closed = _closed(cost, starts, regions, demand, phi, prev, pref, cap, voll, tol, eps, fit,
                     x, unserved, price, price_tie, load, scratch.shut, scratch.bounds,
                     scratch.marginal, scratch.adjusted)
    if closed > 0:
        return 1
    if closed < 0:  # the capacity-free optimum again (``_closed`` left its own), for the flow
        _greedy(cost, starts, regions, demand, phi, prev, pref, voll, x, unserved, price,
                price_tie, eps, tol, scratch.shut, False)
        _load(x, starts, regions, load)
    paths = _repair(cost, starts, regions, phi, prev, pref, cap, voll, tol, eps, x, unserved,
                    price, price_tie, load, scratch.work, scratch.nodes, scratch.done)
    _load(x, starts, regions, load)
    return 1 if paths >= 0 else -1


def solve_flow(problem: PlacementProblem) -> tuple[np.ndarray, np.ndarray]:
    """One operator's placement optimum by min-cost flow (ties by docs/model.md's rule).

    Returns:
        (x_mw (K, R), unserved_mw (K,)).
    """
    p = problem
    x = np.zeros(p.shape)
    unserved = np.zeros(p.shape[0])
    status = _place(p.cost_usd_per_mwh, p.feasible, p.demand_mw, p.friction_usd_per_mw,
                    p.incumbent_mw, p.preference, p.capacity_mw, p.voll_usd_per_mwh, x,
                    unserved)
    if status < 0:
        raise PlacementError("min-cost flow did not converge")
    return x, unserved


def _f64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(a, dtype=np.float64) for a in arrays]


class Pairs(NamedTuple):
    """The walk's inputs that are fixed for a run, by feasible pair (``pack_pairs``): class k
    of operator o may run in regions[starts[o, k]:starts[o, k + 1]] (ascending), and pair p's
    network cost, friction and tie rank are network[p], friction[p], preference[p]. About a
    quarter of the (O, K, R) pairs are feasible in the scale scenarios, so the walk reads a
    quarter of what the dense arrays hold."""

    starts: np.ndarray  # (O, K + 1) int64
    regions: np.ndarray  # (P,) int64
    network_usd_per_mwh: np.ndarray  # (P,)
    friction_usd_per_mw: np.ndarray  # (P,)
    preference: np.ndarray  # (P,)
    network_bound: float  # the largest |network cost| of a pair (0 without pairs)


def pack_pairs(feasible: np.ndarray, network_usd_per_mwh: np.ndarray,
               friction_usd_per_mw: np.ndarray, preference: np.ndarray) -> Pairs:
    """The fixed (O, K, R) arrays of a walk packed by feasible pair, in the walk's order
    (``pair_lists``).

    Args:
        feasible: (O, K, R).
        network_usd_per_mwh, friction_usd_per_mw, preference: (O, K, R) $/MWh, $/MW, tie
            rank; only the feasible entries are kept.
    """
    mask = np.ascontiguousarray(feasible, dtype=np.bool_)
    network, friction, pref = (np.ascontiguousarray(a, dtype=np.float64)[mask] for a in (
        network_usd_per_mwh, friction_usd_per_mw, preference))
    starts, regions = pair_lists(mask)
    return Pairs(starts, regions, network, friction, pref,
                 float(np.abs(network).max(initial=0.0)))


@numba.njit(cache=True, inline="always")
def _unpack(o, energy, starts, regions, network, phi_p, pref_p, prev_p, cost, phi, pref, prev):
    """Operator o's unit cost (energy + network), friction, tie rank and incumbent into (K, R)
    scratch arrays at its feasible pairs (the only entries the flow reads)."""
    for k in range(cost.shape[0]):
        for p in range(starts[o, k], starts[o, k + 1]):
            j = regions[p]
            cost[k, j] = energy[o, j] + network[p]
            phi[k, j] = phi_p[p]
            pref[k, j] = pref_p[p]
            prev[k, j] = prev_p[p]


@numba.njit(cache=True, inline="always")
def _free_pairs(o, energy, starts, regions, network, phi_p, pref_p, prev_p, demand, voll, x,
                unserved, price, price_tie, load, low):
    """``_unpack`` then ``_free`` for operator o, read straight from the packed pairs (no
    (K, R) scratch arrays): the walk's capacity-free pass over every operator. The same
    arithmetic in the same order (the unit cost energy + network, the class tie tolerance,
    ``_greedy`` without closed regions, ``_load``), so the same bits; the passes over a
    class's pairs are merged (its cheapest MW with its tie tolerance, then the new MW and the
    kept incumbent). starts (K + 1,) operator o's row of ``Pairs.starts``; low (K,) scratch;
    returns the operator's tie tolerance."""
    n_k = len(demand)
    eps = _EPS * max(demand.sum(), 1e-300)
    tol = -np.inf
    for k in range(n_k):  # class_tie_tolerance, and each class's cheapest MW
        top, lo = abs(voll), voll
        served = demand[k] > 0
        for p in range(starts[k], starts[k + 1]):
            c = energy[o, regions[p]] + network[p]
            if served:
                top = max(top, abs(c) + phi_p[p])
            lo = min(lo, c + phi_p[p])
        low[k] = lo
        tol = max(tol, TIE_TOLERANCE * max(top, 1e-300))
    load[:] = 0.0
    for k in range(n_k):  # _greedy, then the class's MW added to load (as _load adds them)
        lo = low[k]
        best, b, b_tie = -1, voll, TIE_UNSERVED
        if voll > lo + tol:
            b, b_tie = np.inf, np.inf
        for j in range(x.shape[1]):
            x[k, j] = 0.0
        kept = 0.0
        for p in range(starts[k], starts[k + 1]):
            j = regions[p]
            cost = energy[o, j] + network[p]
            c, c_tie = cost + phi_p[p], TIE_NEW + pref_p[p]
            if c <= lo + tol and (c_tie < b_tie or (c_tie == b_tie and c < b)):
                best, b, b_tie = j, c, c_tie
            if prev_p[p] > eps and cost <= lo + tol:
                x[k, j] = prev_p[p]
                kept += prev_p[p]
        _settle(k, starts, regions, demand, kept, best, b, b_tie, x, unserved, price,
                price_tie)
        for p in range(starts[k], starts[k + 1]):
            load[regions[p]] += x[k, regions[p]]
    return tol


@numba.njit(cache=True)
def _first_come(order, energy, starts, regions, network, phi_p, pref_p, demand, prev_p,
                reserved, share_cap, available, voll, x, unserved):
    """The first-come walk (see ``walk``); returns the number of flows solved, or -1 - i when
    operator order[i]'s flow did not converge.

    The capacity-free optima do not depend on the order: they are taken first, operator by
    operator in memory order (reading the arrays front to back, not in the walk's random
    order), then the walk reads each operator's MW by region and runs the rest of ``_fit``
    only for those that do not fit."""
    n_o, n_k = demand.shape
    n_r = energy.shape[1]
    cap = np.empty(n_r)
    cost, phi, pref = np.zeros((n_k, n_r)), np.zeros((n_k, n_r)), np.zeros((n_k, n_r))
    prev = np.zeros((n_k, n_r))
    walked = np.zeros(n_o, dtype=np.bool_)
    scratch = _scratch(n_k, n_r)
    for i in range(len(order)):
        walked[order[i]] = True
    load, tol = np.empty((n_o, n_r)), np.empty(n_o)
    price, price_tie = np.empty((n_o, n_k)), np.empty((n_o, n_k))
    low = np.empty(n_k)
    for o in range(n_o):
        if walked[o]:
            tol[o] = _free_pairs(o, energy, starts[o], regions, network, phi_p, pref_p, prev_p,
                                 demand[o], voll, x[o], unserved[o], price[o], price_tie[o],
                                 load[o], low)
    flows = 0
    for i in range(len(order)):
        o = order[i]
        for j in range(n_r):
            cap[j] = max(min(available[j] + reserved[o, j], share_cap[o, j]), 0.0)
        if not _fits(load[o], cap, _FIT * max(demand[o].sum(), 1e-300)):  # as ``_fit``
            _unpack(o, energy, starts, regions, network, phi_p, pref_p, prev_p, cost, phi, pref,
                    prev)
            status = _fit(cost, starts[o], regions, demand[o], phi, prev, pref, cap, voll,
                          tol[o], x[o], unserved[o], price[o], price_tie[o], load[o], scratch)
            if status < 0:
                return -1 - i
            flows += status
        for j in range(n_r):
            available[j] = max(available[j] + reserved[o, j] - load[o, j], 0.0)
    return flows


def walk(order: np.ndarray, energy_usd_per_mwh: np.ndarray, pairs: Pairs,
         demand_mw: np.ndarray, incumbent_mw: np.ndarray, reserved_mw: np.ndarray,
         share_cap_mw: np.ndarray, available_mw: np.ndarray, voll_usd_per_mwh: float,
         x_mw: np.ndarray, unserved_mw: np.ndarray, check: bool = True) -> int:
    """``first_come`` with the unit cost given as energy_usd_per_mwh[o, j] +
    network_usd_per_mwh[o, k, j] (as ``abm.core.costs.unit_cost`` builds it: the same
    figures bit for bit) and the arrays fixed for a run, and the incumbent, packed by
    feasible pair (``pack_pairs``): the market's walk, which reads a quarter of the memory.

    Args:
        energy_usd_per_mwh: (O, R) the part of the unit cost that changes by the hour.
        pairs: ``pack_pairs`` of the run's feasible pairs, network cost, friction and tie
            ranks, checked against the contract when packed (``check_pairs``).
        incumbent_mw: (P,) the incumbent MW at each feasible pair, in the pairs' order
            (``x_prev_mw[feasible]`` of ``first_come``: the walk reads nothing else of it).
        check: check this hour's arrays (energy, demand, incumbent, capacities) against the
            contract (``abm.core.problem_check.walk_valid``; the named error of
            ``abm.core.problem.check_arrays`` where one fails).
        The others as ``first_come``.

    Returns:
        The number of operators that needed a flow.
    """
    energy, demand, prev, reserved, share_cap = _f64(
        energy_usd_per_mwh, demand_mw, incumbent_mw, reserved_mw, share_cap_mw)
    voll = float(voll_usd_per_mwh)
    if check:
        _check_hour(energy, pairs, demand, prev, reserved, share_cap, available_mw, voll)
    flows = _first_come(np.ascontiguousarray(order, dtype=np.int64), energy, pairs.starts,
                        pairs.regions, pairs.network_usd_per_mwh, pairs.friction_usd_per_mw,
                        pairs.preference, demand, prev, reserved, share_cap, available_mw, voll,
                        x_mw, unserved_mw)
    if flows < 0:
        raise PlacementError(f"min-cost flow did not converge for operator {order[-1 - flows]}")
    return flows


def check_pairs(feasible: np.ndarray, pairs: Pairs, voll_usd_per_mwh: float) -> None:
    """The fixed arrays a walk was packed from against the placement contract (once a run):
    raises ``PlacementInputError`` naming the field, as ``check_arrays``."""
    n_o, n_k, n_r = np.shape(feasible)
    mask, network, phi, pref = _unpack_pairs(pairs, (n_o, n_k, n_r))
    check_arrays(network, mask, np.zeros((n_o, n_k)), phi, np.zeros((n_o, n_k, n_r)), None,
                 voll_usd_per_mwh, pref)


def _unpack_pairs(pairs: Pairs, shape: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """``pack_pairs`` undone: the feasible mask and the network cost, friction and tie rank
    as (O, K, R) arrays (zero off the feasible pairs)."""
    n_o, n_k, n_r = shape
    feasible = np.zeros(shape, dtype=np.bool_)
    rows = np.repeat(np.arange(n_o * n_k), np.diff(pairs.starts, axis=1).reshape(-1))
    feasible.reshape(-1, n_r)[rows, pairs.regions] = True
    dense = [np.zeros(shape) for _ in range(3)]
    for a, v in zip(dense, pairs[2:5], strict=True):
        a[feasible] = v
    return feasible, *dense


def _check_hour(energy: np.ndarray, pairs: Pairs, demand: np.ndarray, prev: np.ndarray,
                reserved: np.ndarray, share_cap: np.ndarray, available: np.ndarray,
                voll: float) -> None:
    """This hour's walk arrays against the contract (one compiled pass when all is well)."""
    from abm.core.problem_check import walk_valid

    check_capacity("capacity_mw", share_cap)
    check_capacity("reserved_mw", reserved)
    check_capacity("available_mw", available)
    # every pair's unit cost is finite where the largest |energy| + |network| is (rounding is
    # monotonic): then only demand and the incumbent are read pair by pair
    finite = math.isfinite(float(np.abs(energy).max(initial=0.0)) + pairs.network_bound)
    if walk_valid(energy, pairs.starts, pairs.regions, pairs.network_usd_per_mwh, demand, prev,
                  INCUMBENT_TOLERANCE, finite):
        return
    # something is wrong: the dense contract names it
    feasible, network, _, _ = _unpack_pairs(pairs, (*demand.shape, energy.shape[1]))
    dense = np.zeros(feasible.shape)
    dense[feasible] = prev
    with np.errstate(over="ignore"):  # an infinite sum is what check_arrays names
        cost = energy[:, None, :] + network
    check_arrays(cost, feasible, demand, np.zeros_like(dense), dense, share_cap, voll)


def first_come(order: np.ndarray, cost: np.ndarray, feasible: np.ndarray, demand_mw: np.ndarray,
               friction_usd_per_mw: np.ndarray, x_prev_mw: np.ndarray, preference: np.ndarray,
               reserved_mw: np.ndarray, share_cap_mw: np.ndarray, available_mw: np.ndarray,
               voll_usd_per_mwh: float, x_mw: np.ndarray, unserved_mw: np.ndarray,
               check: bool = True) -> int:
    """Operators in ``order`` each take their optimum against the capacity they can get:
    what they reserve plus what is still free, up to their share; what they leave is free
    for those after them. An operator whose capacity-free optimum fits takes it; the others
    solve the min-cost flow. Operator o's problem is the ``PlacementProblem`` of row o of
    the arrays, with capacity min(available + reserved_o, share_cap_o); the arrays are
    checked against the contract (``abm.core.problem.check_arrays``) first. (The market
    walks by ``walk``, on the pairs packed once a run.)

    Args:
        order: (O',) operator indices.
        cost, friction_usd_per_mw, x_prev_mw, preference: (O, K, R) $/MWh, $/MW, MW, tie
            rank; feasible: (O, K, R); demand_mw: (O, K); reserved_mw, share_cap_mw: (O, R) MW.
        available_mw: (R,) MW free before the first; updated in place.
        x_mw, unserved_mw: (O, K, R) and (O, K) outputs, written for the operators in order.
        check: check the arrays.

    Returns:
        The number of operators that needed a flow.
    """
    cost, demand, phi, prev, pref, reserved, share_cap = _f64(
        cost, demand_mw, friction_usd_per_mw, x_prev_mw, preference, reserved_mw, share_cap_mw)
    feasible = np.ascontiguousarray(feasible, dtype=np.bool_)
    if check:
        check_arrays(cost, feasible, demand, phi, prev, share_cap, float(voll_usd_per_mwh), pref)
        check_capacity("reserved_mw", reserved)
        check_capacity("available_mw", available_mw)
    # the unit cost as its own network part (0 + c is c); the incumbent where it is read
    return walk(order, np.zeros((cost.shape[0], cost.shape[2])),
                pack_pairs(feasible, cost, phi, pref), demand, prev[feasible], reserved, share_cap,
                available_mw, voll_usd_per_mwh, x_mw, unserved_mw, check=False)


def needs_compiling(also: Sequence[Any] = ()) -> bool:
    """Whether what a market run compiles (the first-come walk, the placement contract's checks
    in ``abm.core.problem_check``, what the hour holds and its sums in ``abm.core.tally``; what
    they call is compiled with them), and the numba functions ``also`` (the grid's loops where
    the run clears zones with them: ``abm.market.progress.needs_compiling``), is still to be
    compiled on this machine, which takes tens of seconds once: False when each is loaded in
    this process or has an up-to-date numba cache on disk (``cache=True``; a changed source
    file invalidates it). Functions a run does not call (a one-off ``solve_flow``, the HiGHS
    engine's tolerance) do not count: a run never caches them."""
    from abm.core import problem_check, tally

    compiled = [_first_come, problem_check.arrays_valid, problem_check.walk_valid,
                tally._hold, tally._region_load, tally._hour_sums, *also]
    try:
        return any(not f.signatures and not f._cache._cache_file._load_index()
                   for f in compiled)
    except AttributeError:  # numba's cache internals changed: say it may compile
        return True
