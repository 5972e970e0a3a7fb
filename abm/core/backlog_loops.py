"""The market's hourly passes over deferrable work, each in one compiled pass (numba): the
energy cost and carbon of the hours ahead, the work that arrives, the work each operator runs
taken from its backlog nearest deadline first, and what the hour's end takes out of it.

Each is the numpy code it stands for, element by element in the same operations and order
(``abm.market.forecasts.forecast_ahead`` with ``abm.core.costs.energy_cost`` and
``placement_carbon``; ``abm.core.backlog.arrive`` and ``run``; ``Operators.run_work``), so the
same bits, without the dozen (O, K, H)- and (O, R)-sized temporaries a numpy pass makes at
1,000 operators (benchmarks/RESULTS.md, "Deferrable work at scale"); the tests check each
against that numpy code. No sums: numpy adds long rows pairwise, so they stay numpy's.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def _maximum(a, b):
    """``np.maximum`` of two floats (NaN propagates; a where a == b)."""
    return a if (a >= b or a != a) else b


@numba.njit(cache=True, inline="always")
def _minimum(a, b):
    """``np.minimum`` of two floats (NaN propagates; a where a == b)."""
    return a if (a <= b or a != a) else b


@numba.njit(cache=True, inline="always")
def unit_energy(tau, mu, weight, price, pue, rent):
    """One operator-region's energy cost, ``abm.core.costs.energy_cost`` for scalars, the same
    operations in the same order: PUE (w price + tau mu) + w rent ($/MWh; ``tau`` $/t, ``mu``
    t/MWh, ``weight`` the objective's price weight); the compiled passes' one copy of it
    (``ahead_costs``, ``abm.market.energy``)."""
    e = tau * mu
    e += weight * price
    e *= pue
    e += weight * rent
    return e


@numba.njit(cache=True)
def ahead_costs(price, carbon, base_price, base_carbon, hour, zone, tau, weight, pue, rent,
                energy, placed):
    """The hours ahead 1..T-1 into ``energy`` and ``placed`` (T - 1, O, R): each operator's
    forecast (``price``, ``carbon`` (O, Z): this hour's, carbon on the placement basis) moved
    as the base signals (``base_price``, ``base_carbon`` (hours, Z)) move from ``hour``
    (carbon never below zero), then at each region's zone ``zone`` (R,) its energy cost
    PUE (w price + tau mu) + w rent (``tau`` (O, R) $/t, ``weight`` the objective's price
    weight, ``pue`` and ``rent`` (R,)) and its placement carbon x PUE (kg/MWh)."""
    n_ahead, n_o, n_r = energy.shape
    n_z = price.shape[1]
    p, c, mu = np.empty(n_z), np.empty(n_z), np.empty(n_z)  # one operator's hour, by zone
    for t in range(n_ahead):
        for o in range(n_o):
            for z in range(n_z):
                p[z] = price[o, z] + (base_price[hour + 1 + t, z] - base_price[hour, z])
                c[z] = _maximum(carbon[o, z] + (base_carbon[hour + 1 + t, z]
                                                - base_carbon[hour, z]), 0.0)
                mu[z] = c[z] / 1e3
            for j in range(n_r):
                z = zone[j]
                energy[t, o, j] = unit_energy(tau[o, j], mu[z], weight, p[z], pue[j], rent[j])
                placed[t, o, j] = c[z] * pue[j]


@numba.njit(cache=True)
def arrive(backlog, work, deadline):
    """``abm.core.backlog.arrive``: this hour's work (O, K) into slot ``deadline`` (O, K) of
    the backlog (O, K, H), where there is some, in place."""
    n_o, n_k = work.shape
    for o in range(n_o):
        for k in range(n_k):
            if work[o, k] > 0:
                backlog[o, k, deadline[o, k]] += work[o, k]


@numba.njit(cache=True)
def run_work(rows, run, backlog, work_run):
    """``Operators.run_work``: operator rows[i] runs run[i] (K,) MW of its waiting work
    (clipped at zero), taken from its backlog (O, K, H) nearest deadline first into
    ``work_run`` (O, K, H)."""
    n_h = backlog.shape[2]
    for i in range(len(rows)):
        o = rows[i]
        for k in range(backlog.shape[1]):
            left = _maximum(run[i, k], 0.0)
            for h in range(n_h):
                take = _minimum(backlog[o, k, h], left)
                work_run[o, k, h] = take
                left = left - take


@numba.njit(cache=True)
def take_run(backlog, run, tol, taken):
    """``abm.core.backlog.run`` where every slot's run is within its limits: into ``taken``
    what leaves the backlog (a slot run to within ``tol`` relative of what waits taken
    whole), taken out of it in place; returns False, with nothing changed, where some slot's
    run is beyond them (``run`` then raises, naming it)."""
    b, r = backlog.ravel(), run.ravel()
    for i in range(len(b)):
        slack = tol * _maximum(1.0, b[i])
        if r[i] - b[i] > slack or r[i] < -tol:
            return False
    out = taken.ravel()
    for i in range(len(b)):
        slack = tol * _maximum(1.0, b[i])
        v = b[i] if r[i] >= b[i] - slack else _maximum(r[i], 0.0)
        out[i] = v if b[i] > 0 else 0.0
        b[i] -= out[i]
    return True
