"""The placement contract's compiled parts: the whole-array check, and the tolerance within
which every engine counts two $ figures as a tie (one hour, and a plan over the horizon).

``abm.core.problem.check_arrays`` calls ``arrays_valid`` first and names what is wrong only when
it fails. They live apart from the contract so that the contract imports no engine and loads
numba only when a problem is checked or solved (``abm check`` and ``abm --help`` load neither).
"""

from __future__ import annotations

import numba
import numpy as np

# $ per MW differences below this share of a class's $ scale are ties, settled by the tie cost
# (both placement engines, docs/model.md "Ties")
TIE_TOLERANCE = 1e-10


@numba.njit(cache=True)
def demand_held_valid(d, prev, tolerance):
    """Whether one class's demand d is finite and >= 0 and its incumbent prev (R,) finite,
    >= 0 and at most d (incumbent tolerance ``tolerance``): the contract's rule for both."""
    if not (np.isfinite(d) and d >= 0):
        return False
    held = 0.0
    for v in prev:
        if not (np.isfinite(v) and v >= 0):
            return False
        held += v
    return not held > d * (1 + tolerance) + tolerance


@numba.njit(cache=True)
def arrays_valid(cost, feasible, phi, prev, pref, demand, has_pref, tolerance):
    """Whether (N, R) arrays meet the placement contract (the rules of ``check_arrays`` in
    ``abm/core/problem.py``, incumbent tolerance ``tolerance``) in one compiled pass."""
    for n in range(cost.shape[0]):
        if not demand_held_valid(demand[n], prev[n], tolerance):
            return False
        for j in range(cost.shape[1]):
            if feasible[n, j] and not np.isfinite(cost[n, j]):
                return False
            if not (np.isfinite(phi[n, j]) and phi[n, j] >= 0):
                return False
            if has_pref and not (pref[n, j] >= 0 and pref[n, j] <= 1):
                return False
    return True


@numba.njit(cache=True)
def region_lists(feasible, starts, regions):
    """Each row's feasible columns of (N, R) ``feasible``, ascending, into regions
    (N * R,): row n's are regions[starts[n]:starts[n + 1]] (starts (N + 1,))."""
    m = 0
    for n in range(feasible.shape[0]):
        starts[n] = m
        for j in range(feasible.shape[1]):
            if feasible[n, j]:
                regions[m] = j
                m += 1
    starts[feasible.shape[0]] = m


@numba.njit(cache=True)
def class_tie_tolerance(cost, starts, regions, demand, phi, voll, tol):
    """``tie_tolerance_usd_per_mwh`` into tol (N,), with row n's feasible regions given as
    regions[starts[n]:starts[n + 1]] (``region_lists``); returns tol."""
    for k in range(cost.shape[0]):
        top = abs(voll)
        if demand[k] > 0:
            for p in range(starts[k], starts[k + 1]):
                j = regions[p]
                top = max(top, abs(cost[k, j]) + phi[k, j])
        tol[k] = TIE_TOLERANCE * max(top, 1e-300)
    return tol


@numba.njit(cache=True)
def tie_tolerance_usd_per_mwh(cost, feasible, demand, phi, voll):
    """(N,) $ per MWh below which two of class n's costs tie, for both placement engines:
    ``TIE_TOLERANCE`` of its $ scale, the largest of |VoLL| and |c| + phi over its feasible
    regions (classes with demand). (N, R) arrays as ``arrays_valid``; the flow uses the
    largest over one operator's classes, HiGHS over each capacity group's."""
    n_k, n_r = cost.shape
    starts, regions = np.empty(n_k + 1, dtype=np.int64), np.empty(n_k * n_r, dtype=np.int64)
    region_lists(feasible, starts, regions)
    return class_tie_tolerance(cost, starts, regions, demand, phi, voll, np.empty(n_k))


@numba.njit(cache=True)
def plan_tie_tolerance_usd_per_mwh(cost, feasible, due, work, phi, voll):
    """$ per MWh below which two $ figures of a plan over the horizon tie, for every horizon
    engine (``abm.core.horizon_flow``, ``horizon_lp``, ``horizon_walk``): the one-hour rule
    (``tie_tolerance_usd_per_mwh``) over every hour, for the classes with due load or work in
    any hour, the largest. cost (T, K, R), feasible and phi (K, R), due and work (T, K)."""
    n_k, n_r = cost.shape[1:]
    starts, regions = np.empty(n_k + 1, dtype=np.int64), np.empty(n_k * n_r, dtype=np.int64)
    region_lists(feasible, starts, regions)
    return plan_tie_tolerance_lists(cost, starts, regions, due, work, phi, voll)


@numba.njit(cache=True)
def plan_tie_tolerance_lists(cost, starts, regions, due, work, phi, voll):
    """``plan_tie_tolerance_usd_per_mwh`` with class k's feasible regions given as
    regions[starts[k]:starts[k + 1]] (``region_lists``), no arrays made: ``TIE_TOLERANCE`` of
    the largest $ scale over the hours and classes (the largest of the one-hour rule's, to
    the bit: the product is monotone)."""
    n_t, n_k = due.shape
    top = abs(voll)
    for k in range(n_k):
        load = 0.0
        for t in range(n_t):
            load += due[t, k] + work[t, k]
        if load > 0:
            for t in range(n_t):
                for p in range(starts[k], starts[k + 1]):
                    j = regions[p]
                    top = max(top, abs(cost[t, k, j]) + phi[k, j])
    return TIE_TOLERANCE * max(top, 1e-300)


@numba.njit(cache=True)
def walk_valid(energy, starts, regions, network, demand, prev, tolerance, finite):
    """Whether one hour's arrays of the market's walk (``abm.core.flow.walk``) meet the
    placement contract: the unit cost energy[o, j] + network[p] finite at every feasible pair
    (class k of operator o runs in regions[starts[o, k]:starts[o, k + 1]], pair p; not read
    where ``finite`` says the caller knows it is), demand (O, K) and the incumbent prev (P,)
    by feasible pair as ``arrays_valid`` (the fixed arrays are checked once a run, when
    packed)."""
    n_o, n_k = demand.shape
    for o in range(n_o):
        for k in range(n_k):
            if not demand_held_valid(demand[o, k], prev[starts[o, k]:starts[o, k + 1]],
                                     tolerance):
                return False
            if finite:
                continue
            for p in range(starts[o, k], starts[o, k + 1]):
                if not np.isfinite(energy[o, regions[p]] + network[p]):
                    return False
    return True
