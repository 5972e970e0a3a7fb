"""The placement contract's whole-array check, compiled with numba.

``abm.core.problem.check_arrays`` calls it first and names what is wrong only when it fails.
It lives apart from the contract so that the contract imports no engine and loads numba only
when a problem is checked (``abm check`` and ``abm --help`` load neither).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def arrays_valid(cost, feasible, phi, prev, pref, demand, has_pref, tolerance):
    """Whether (N, R) arrays meet the placement contract (the rules of ``check_arrays`` in
    ``abm/core/problem.py``, incumbent tolerance ``tolerance``) in one compiled pass."""
    for n in range(cost.shape[0]):
        d = demand[n]
        if not (np.isfinite(d) and d >= 0):
            return False
        held = 0.0
        for j in range(cost.shape[1]):
            if feasible[n, j] and not np.isfinite(cost[n, j]):
                return False
            if not (np.isfinite(phi[n, j]) and phi[n, j] >= 0):
                return False
            if not (np.isfinite(prev[n, j]) and prev[n, j] >= 0):
                return False
            if has_pref and not (pref[n, j] >= 0 and pref[n, j] <= 1):
                return False
            held += prev[n, j]
        if held > d * (1 + tolerance) + tolerance:
            return False
    return True
