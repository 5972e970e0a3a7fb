"""The tie rule of the coupled clearing: which of several cost-optimal dispatches is the answer.

Inside a component of zones joined by lines, dispatches of equal cost can differ zone by zone
(two zones with units of equal offer, power going round a loop of lines), so per-zone
generation, emissions, flows and congestion would be whatever the solver's pivoting gave. Among
the dispatches of least cost (offers within ``TIE_TOLERANCE`` of the largest cost of the model
count as equal), the clearing returns the one of least *tie cost*

    tie = sum over lines l of (1 + rho_l) |f_l|  +  sum over units u of r_u g_u

where, in a component of L lines,

    rho_l = 2^-(L + 1 - i) for the i-th of its lines by line id (i = 0, 1, ...: 2^-(L+1) .. 1/4),
    r_u   = 2^-(L + 1) k / (n + 1) for the k-th (k = 0, 1, ...) of the n units of its zone, in
            technology order then tranche, and k = n for the zone's unserved load.

A priority order, each criterion deciding only among the dispatches equal on those before it:
the least total line flow (MW, either direction); then, where two routes carry it equally far,
the lines earlier by id (a rerouting is decided by the line latest by id that it touches); then,
between units of one zone, the unit earlier in technology order, as the merit order of an
isolated zone settles equal offers. The
answer is unique: two cost-optimal dispatches differ by a sum of cycles of the network (units
joined to their zones through one common source), and a cycle changes the total flow by an
integer number of MW per MW moved round it, the line part of the rest by a sum of distinct
powers of two (at least 2^-(L+1) when any line is on the cycle) and the unit part by a
difference of two ranks of one zone (less than 2^-(L+1), and only when no line is on it):
together less than 1, and never 0. The optimum admits no cycle of lower tie cost: none that
lowers the total flow, none that keeps it and lowers the flow on its latest line, none within a
zone that moves output to a unit later in technology order.

The clearing minimises offer cost + eps x tie cost in one model, eps per component at most
``safe_weights``: a cycle's offer cost is the difference of two offers (lines cost nothing), so
either 0 or at least the smallest gap between the component's distinct offers, and eps x its
tie cost, below L + 3/2, is smaller: the weight can never trade offer cost for tie cost. The
clearing checks the optimum it gets on both objectives separately and settles what HiGHS's
tolerances leave open by minimising the tie cost over the cost optima (``abm.grid.clearing``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TIE_TOLERANCE = 1e-9  # offers closer than this share of the model's largest cost are equal


def tie_costs(unit_zone: np.ndarray, unit_key: np.ndarray, line_zones: np.ndarray,
              line_ids: Sequence[str], component: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The tie cost per MW of every unit, line and unserved column of a coupled model.

    Args:
        unit_zone: (U,) zone of each unit column.
        unit_key: (U, 2) technology index and tranche of each unit column.
        line_zones: (L, 2) from / to zone of each line column.
        line_ids: (L,) the lines' names.
        component: (Z,) the component of each zone (-1: not in the model).

    Returns:
        (U,) r of the units, (L,) 1 + rho of the lines (per MW of flow either way), (Z,) r of
        each zone's unserved load (0 outside the model) and (C,) the number of lines of each
        component.
    """
    unit_zone = np.asarray(unit_zone, dtype=np.int64)
    line_zones = np.asarray(line_zones, dtype=np.int64).reshape(-1, 2)
    n_comp = int(component.max(initial=-1)) + 1
    line_comp = component[line_zones[:, 0]]
    n_lines = np.bincount(line_comp, minlength=n_comp)
    line_w = np.ones(len(line_zones))
    for c in range(n_comp):
        by_id = sorted(np.flatnonzero(line_comp == c).tolist(), key=lambda i: line_ids[i])
        line_w[by_id] = 1.0 + 2.0 ** -(n_lines[c] + 1 - np.arange(len(by_id)))
    unit_w = np.zeros(len(unit_zone))
    shed_w = np.zeros(len(component))
    for z in np.flatnonzero(component >= 0):
        mine = np.flatnonzero(unit_zone == z)
        order = mine[np.lexsort((mine, unit_key[mine, 1], unit_key[mine, 0]))]
        step = 2.0 ** -(n_lines[component[z]] + 1) / (len(mine) + 1)
        unit_w[order] = step * np.arange(len(order))
        shed_w[z] = step * len(order)
    return unit_w, line_w, shed_w, n_lines


def safe_weights(offer_usd_per_mwh: np.ndarray, component: np.ndarray, n_lines: np.ndarray,
                 scale_usd_per_mwh: float) -> np.ndarray:
    """(C,) the weight eps of the tie cost beside the offer cost in each component (USD per unit
    of tie cost): half the smallest gap between its distinct offers (gaps within
    ``TIE_TOLERANCE`` x ``scale_usd_per_mwh`` are ties; 1 where there is none) over the largest
    tie cost of a cycle, L + 3/2 for L lines.

    Args:
        offer_usd_per_mwh: offers of the components' columns, the unserved columns' price cap
            included.
        component: the component of each offer.
        n_lines: (C,) the number of lines of each component.
        scale_usd_per_mwh: the model's largest cost.
    """
    offers = np.asarray(offer_usd_per_mwh, dtype=float)
    comp = np.asarray(component, dtype=np.int64)
    order = np.lexsort((offers, comp))
    value, comp = offers[order], comp[order]
    gap = np.diff(value)
    apart = (comp[1:] == comp[:-1]) & (gap > TIE_TOLERANCE * scale_usd_per_mwh)
    smallest = np.full(len(n_lines), np.inf)
    np.minimum.at(smallest, comp[1:][apart], gap[apart])
    smallest[np.isinf(smallest)] = 1.0
    return 0.5 * smallest / (np.asarray(n_lines, dtype=float) + 1.5)
