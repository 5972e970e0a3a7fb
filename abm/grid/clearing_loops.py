"""The coupled clearing's loops, compiled with numba: which unit serves each zone's next MW
(``abm.grid.clearing.clear_zones``) and the checks of a basis (``CoupledLP``: on the offer cost,
on the tie cost, the status quo's basic columns).

They compare and pick, never add: their results are those of the numpy expressions they
replace, bit for bit. ``abm.grid.clearing`` imports this module when it first needs it, so
that loading the grid (``abm --help``, ``abm check``) does not load numba.
"""

from __future__ import annotations

import numba


@numba.njit(cache=True)
def wrong_side(col, lower, upper, bound_mw, reduced, tol, j):
    """Column j sits at one of its bounds only (within ``bound_mw``), and its reduced cost
    (beyond ``tol``) would move it off that bound."""
    at_lower, at_upper = col[j] <= lower[j] + bound_mw, col[j] >= upper[j] - bound_mw
    return ((at_lower and not at_upper and reduced[j] < -tol)
            or (at_upper and not at_lower and reduced[j] > tol))


@numba.njit(cache=True)
def offer_check(col, lower, upper, bound_mw, basic, reduced, tol, free):
    """Whether no nonbasic column (movable: upper > lower, not ``basic``) is on the wrong side
    of its reduced offer cost (``wrong_side``: the basis is a cost optimum), and whether any may
    move among
    the cost optima; ``free`` gets the columns that may: basic or fixed ones, and nonbasic
    ones whose reduced offer cost is within ``tol`` of 0."""
    optimal, moving = True, False
    for j in range(len(col)):
        nonbasic = upper[j] > lower[j] and not basic[j]
        free[j] = not nonbasic or abs(reduced[j]) <= tol
        if nonbasic:
            if wrong_side(col, lower, upper, bound_mw, reduced, tol, j):
                optimal = False
            if free[j]:
                moving = True
    return optimal, moving


@numba.njit(cache=True)
def least_check(col, lower, upper, bound_mw, basic, free, tie_reduced, dual_tolerance):
    """Whether no nonbasic column that may move among the cost optima (``free``) is on the
    wrong side of its reduced tie cost, ``dual_tolerance`` counting as 0 (the basis is their
    least tie cost)."""
    for j in range(len(col)):
        if (upper[j] > lower[j] and not basic[j] and free[j]
                and wrong_side(col, lower, upper, bound_mw, tie_reduced, dual_tolerance, j)):
            return False
    return True


@numba.njit(cache=True)
def status_quo_basic(inside, zero, unit_row, basic):
    """``basic`` (Z,) per zone row: its one unit ``inside`` its bounds, or else its first unit
    with a ``zero`` reduced cost, or -1; all -1 where a zone has two units inside."""
    basic[:] = -1
    for u in range(len(inside)):
        if inside[u]:
            if basic[unit_row[u]] >= 0:
                basic[:] = -1
                return
            basic[unit_row[u]] = u
    for u in range(len(zero)):
        if zero[u] and basic[unit_row[u]] < 0:
            basic[unit_row[u]] = u


@numba.njit(cache=True)
def next_units(order, valid, g_pad, available_mw, room_mw, offer_pad, price_cap_usd_per_mwh,
               unit, offer):
    """Each zone's cheapest unit with room (output more than ``room_mw`` below its available
    MW; the first along its merit order) into ``unit`` (Z,) (-1: none) and its offer into
    ``offer`` (Z,) (else the price cap)."""
    for z in range(order.shape[0]):
        unit[z], offer[z] = -1, price_cap_usd_per_mwh
        for j in range(order.shape[1]):
            if valid[z, j] and g_pad[z, j] < available_mw[z, j] - room_mw:
                unit[z], offer[z] = order[z, j], offer_pad[z, j]
                break


@numba.njit(cache=True)
def cheapest_sources(line_from, line_to, open_fwd, open_back, offer, source):
    """For each zone z, into ``source`` (Z,): among the zones that can send power to z (z
    itself, and every zone with a path of lines open in the direction of travel) the one of
    the least ``offer`` (Z,), the first of equals. Each zone starts as its own source and
    takes a neighbour's where that can send to it and is cheaper, until nothing changes."""
    for z in range(len(offer)):
        source[z] = z
    changed = True
    while changed:
        changed = False
        for k in range(len(line_from)):
            for sends, a, b in ((open_fwd[k], line_from[k], line_to[k]),
                                (open_back[k], line_to[k], line_from[k])):
                s, t = source[a], source[b]
                if sends and (offer[s] < offer[t] or (offer[s] == offer[t] and s < t)):
                    source[b] = s
                    changed = True
