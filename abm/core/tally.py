"""An hour's sums over the market's (O, K, R) arrays in one compiled pass (numba): what the
settlement and the hour's outcome add up, each array read once instead of once per numpy
reduction.

With 10,000 operators an (O, K, R) array is 24 MB and every numpy reduction or temporary over
it costs milliseconds an hour. As the hour starts, ``hold`` copies last hour's placement once
and takes from it everything the hour reads of it: what each operator holds by region (scaled
to this hour's demand), the incumbent at each feasible pair (packed: a quarter of the pairs in
the scale scenarios; the walk and the sums read nothing else of it) and what each class served.
``hour_sums`` reads the placement and the packed incumbent once, last hour's placement only for
the classes that may have migrated (packed too, where a class keeps to its feasible pairs), and
writes the MW moved (beyond the incumbent) on the way.
Sums run in array order: sums by bin (layers, the shift matrix) and over classes add exactly
as ``np.bincount`` and ``x.sum(axis=1)`` do; the others agree with numpy's reductions up to
rounding in the last bits (numpy adds long rows pairwise).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np


class Held(NamedTuple):
    """Last hour's placement as this hour starts (``hold``)."""

    incumbent_mw: np.ndarray  # (P,) the incumbent at each feasible pair
    by_operator_mw: np.ndarray  # (O, R) MW each operator holds in each region
    by_region_mw: np.ndarray  # (R,) MW held in each region
    served_mw: np.ndarray  # (O, K) MW each class served last hour
    outside: np.ndarray  # (O, K) bool: the class had MW at a pair that is not feasible
    last_mw: np.ndarray  # (P,) last hour's placement at each feasible pair


class HourSums(NamedTuple):
    """One hour's sums over the operators' arrays (``hour_sums``)."""

    serving_usd: np.ndarray  # (O,) x at the energy cost plus the network cost, $
    friction_usd: np.ndarray  # (O,) MW moved at the friction, $
    served_mw: np.ndarray  # (O, R) MW each operator placed in each region
    held_mw: np.ndarray  # (R,) MW held in each region before placing
    moved_mw: float  # MW moved in all
    layer_mw: np.ndarray  # (n_layers,) MW placed by layer
    shift_mw: np.ndarray  # (n_cells,) MW placed by (origin, execution) cell
    migration_mw: np.ndarray  # (R, R) MW that left region i for region j


class Fixed(NamedTuple):
    """What the hour's sums read of the arrays fixed for a run (``fixed``): by feasible pair
    (class k of operator o runs in regions[starts[o, k]:starts[o, k + 1]], pair p), and whole
    for the classes that hold MW elsewhere (none, where every placement keeps to the
    feasible pairs)."""

    starts: np.ndarray  # (O, K + 1) int64
    regions: np.ndarray  # (P,) int64
    network_usd_per_mwh: np.ndarray  # (P,)
    friction_usd_per_mw: np.ndarray  # (P,)
    layer: np.ndarray  # (P,)
    cell: np.ndarray  # (P,)
    network_all: np.ndarray  # (O, K, R) the same, whole
    friction_all: np.ndarray
    layer_all: np.ndarray
    cell_all: np.ndarray


def fixed(feasible: np.ndarray, starts: np.ndarray, regions: np.ndarray,
          network_usd_per_mwh: np.ndarray, friction_usd_per_mw: np.ndarray, layer: np.ndarray,
          cell: np.ndarray) -> Fixed:
    """The fixed arrays of the hour's sums (``hour_sums``), packed by feasible pair once a run.

    Args:
        feasible: (O, K, R); starts, regions: its pairs (``abm.core.masks.pair_lists``).
        network_usd_per_mwh: (O, K, R) the network part of the unit cost; friction_usd_per_mw
            (O, K, R) per MW moved.
        layer, cell: (O, K, R) integers (any width): each pair's layer and shift matrix cell.
    """
    whole = [np.ascontiguousarray(a) for a in (network_usd_per_mwh, friction_usd_per_mw,
                                               layer, cell)]
    return Fixed(starts, regions, *(a[feasible] for a in whole), *whole)


def hold(x_mw: np.ndarray, starts: np.ndarray, regions: np.ndarray, held_scale: np.ndarray,
         incumbent_scale: np.ndarray, last_x_mw: np.ndarray) -> Held:
    """Last hour's placement copied into ``last_x_mw`` and what this hour reads of it, in one
    pass: the MW held (last hour's scaled class by class by ``held_scale``) by operator and
    region and by region, the incumbent (scaled by ``incumbent_scale``) and last hour's MW at
    each feasible pair, and what each class served.

    Args:
        x_mw: (O, K, R) last hour's placement, MW.
        starts, regions: the feasible pairs (``abm.core.flow.pair_lists``): class k of operator
            o may run in regions[starts[o, k]:starts[o, k + 1]].
        held_scale, incumbent_scale: (O, K) this hour's demand over last hour's, and what the
            incumbent scales each class by (the same but for classes with deferrable work).
        last_x_mw: (O, K, R) output: a copy of x_mw.

    The held MW are x_mw * held_scale[:, :, None] summed over classes as ``sum(axis=1)`` and
    over operators and classes in array order; the incumbent is x_mw *
    incumbent_scale[:, :, None] at the feasible pairs (bit for bit).
    """
    return Held(*_hold(x_mw, starts, regions, held_scale, incumbent_scale, last_x_mw))


@numba.njit(cache=True)
def _hold(x_mw, starts, regions, held_scale, incumbent_scale, last_x_mw):
    n_o, n_k, n_r = x_mw.shape
    incumbent, last = np.empty(len(regions)), np.empty(len(regions))
    by_operator, by_region = np.zeros((n_o, n_r)), np.zeros(n_r)
    served, outside = np.empty((n_o, n_k)), np.zeros((n_o, n_k), dtype=np.bool_)
    for o in range(n_o):
        for k in range(n_k):
            r, s, nonzero = held_scale[o, k], 0.0, 0
            for j in range(n_r):
                x = x_mw[o, k, j]
                last_x_mw[o, k, j] = x
                s += x
                h = x * r
                by_operator[o, j] += h
                by_region[j] += h
                nonzero += x != 0.0
            served[o, k] = s
            c = incumbent_scale[o, k]
            for p in range(starts[o, k], starts[o, k + 1]):
                x = x_mw[o, k, regions[p]]
                incumbent[p] = x * c
                last[p] = x
                nonzero -= x != 0.0
            outside[o, k] = nonzero > 0
    return incumbent, by_operator, by_region, served, outside, last


def reserve(held_mw: np.ndarray, capacity_mw: np.ndarray, share: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each operator keeps of the MW it holds, what is left free, and its share of the
    capacity, in one pass (the first-come walk's capacities, ``Operators.place``).

    Args:
        held_mw: (O, R) MW each operator holds in each region (``Held.by_operator_mw``).
        capacity_mw: (R,) the capacity offered.
        share: (O,) each operator's largest share of a region's capacity.

    Returns:
        reserved (O, R): held_mw scaled down pro rata where the MW held exceed the capacity,
        ``held_mw * np.minimum(1, capacity / held_mw.sum(axis=0))`` (1 where nothing is held);
        available (R,): ``np.maximum(capacity - reserved.sum(axis=0), 0)``; share_cap (O, R):
        ``share[:, None] * capacity[None, :]``; bit for bit as those numpy expressions (sums
        over operators in array order, as numpy adds along the first axis of two or more
        regions; with one region numpy adds the column pairwise, and is used).
    """
    capacity = np.ascontiguousarray(capacity_mw, dtype=np.float64)
    if len(capacity) < 2:
        total = held_mw.sum(axis=0)
        reserved = held_mw * np.minimum(1.0, np.divide(capacity, total, out=np.ones_like(total),
                                                       where=total > 0))
        return (reserved, np.maximum(capacity - reserved.sum(axis=0), 0.0),
                share[:, None] * capacity[None, :])
    return _reserve(np.ascontiguousarray(held_mw, dtype=np.float64), capacity,
                    np.ascontiguousarray(share, dtype=np.float64))


@numba.njit(cache=True)
def _reserve(held, capacity, share):
    n_o, n_r = held.shape
    total = np.zeros(n_r)
    for o in range(n_o):
        for j in range(n_r):
            total[j] += held[o, j]
    kept = np.empty(n_r)  # np.minimum(1, capacity / total), NaN propagated; 1 where none held
    for j in range(n_r):
        ratio = capacity[j] / total[j] if total[j] > 0 else 1.0
        kept[j] = ratio if (ratio < 1.0 or ratio != ratio) else 1.0
    reserved, share_cap = np.empty((n_o, n_r)), np.empty((n_o, n_r))
    taken = np.zeros(n_r)
    for o in range(n_o):
        for j in range(n_r):
            r = held[o, j] * kept[j]
            reserved[o, j] = r
            taken[j] += r
            share_cap[o, j] = share[o] * capacity[j]
    available = np.empty(n_r)  # np.maximum(capacity - taken, 0), NaN propagated
    for j in range(n_r):
        d = capacity[j] - taken[j]
        available[j] = d if (d > 0.0 or d != d) else 0.0
    return reserved, available, share_cap


def hour_sums(x_mw: np.ndarray, last_x_mw: np.ndarray, held: Held,
              incumbent_scale: np.ndarray, energy_usd_per_mwh: np.ndarray, fixed: Fixed,
              n_layers: int, n_cells: int, demand_mw: np.ndarray, last_demand_mw: np.ndarray,
              moved_mw: np.ndarray, clean: np.ndarray | None = None) -> HourSums:
    """The hour's sums in one pass, and the MW moved.

    Args:
        x_mw, last_x_mw: (O, K, R) this hour's placement and last hour's, MW.
        held: what ``hold`` took from last hour's placement as the hour started; the incumbent
            friction is charged against is held.incumbent_mw at the feasible pairs and
            last_x_mw * incumbent_scale[:, :, None] (O, K) elsewhere.
        energy_usd_per_mwh: (O or 1, R) the energy part of the unit cost; ``fixed`` the
            network part, the friction per MW moved, each pair's layer (< n_layers) and shift
            matrix cell (< n_cells).
        demand_mw, last_demand_mw: (O, K) this hour's and last hour's demand.
        moved_mw: (O, K, R) output: the MW placed beyond the incumbent,
            max(x_mw - incumbent, 0) (as ``np.maximum``).
        clean: (O,) bool: operator o placed MW only at its feasible pairs this hour (as the
            market's walk does), so its rows of x_mw need not be read elsewhere to know it;
            default: none known.

    A class whose MW (this hour and last) are all at its feasible pairs is read there only.
    Migrations are matched class by class in proportion: a class whose placement differs from
    last hour's (scaled to this hour's demand from what it served) spreads what left each
    region over where it arrived; only classes that moved MW against their incumbent, or left
    some unserved last hour (served other than its demand), can have moved.
    """
    return HourSums(*_hour_sums(x_mw, last_x_mw, held.incumbent_mw, held.by_region_mw,
                                held.served_mw, held.outside, incumbent_scale,
                                energy_usd_per_mwh, *fixed, n_layers, n_cells, demand_mw,
                                last_demand_mw, moved_mw,
                                np.zeros(len(x_mw), dtype=np.bool_) if clean is None else
                                np.ascontiguousarray(clean, dtype=np.bool_), held.last_mw))


@numba.njit(cache=True)
def _hour_sums(x_mw, last_x_mw, incumbent, held, last_served, outside, incumbent_scale, energy,
               starts, regions, network_p, friction_p, layer_p, cell_p, network, friction, layer,
               cell, n_layers, n_cells, demand, last_demand, moved_mw, clean, last_p):
    n_o, n_k, n_r = x_mw.shape
    serving, paid = np.zeros(n_o), np.zeros(n_o)
    served = np.zeros((n_o, n_r))
    layer_mw, shift = np.zeros(n_layers), np.zeros(n_cells)
    flows = np.zeros((n_r, n_r))
    diff, inc = np.empty(n_r), np.empty(n_r)
    moved_total = 0.0
    one = energy.shape[0] == 1
    for o in range(n_o):
        e = energy[0] if one else energy[o]
        s = f = 0.0
        for k in range(n_k):
            x, moved = x_mw[o, k], moved_mw[o, k]
            lo, hi = starts[o, k], starts[o, k + 1]
            elsewhere = 0  # MW outside the feasible pairs, this hour?
            if not clean[o]:
                for j in range(n_r):
                    elsewhere += x[j] != 0.0
                for p in range(lo, hi):
                    elsewhere -= x[regions[p]] != 0.0
            any_moved = False
            packed = elsewhere == 0 and not outside[o, k]
            if packed:  # only the pairs hold MW (this hour and last): read those
                moved[:] = 0.0
                for p in range(lo, hi):
                    j = regions[p]
                    d = x[j] - incumbent[p]
                    m = d if d > 0.0 else 0.0
                    moved[j] = m
                    if x[j] != 0.0:
                        s += x[j] * (e[j] + network_p[p])
                        served[o, j] += x[j]
                        layer_mw[layer_p[p]] += x[j]
                        shift[cell_p[p]] += x[j]
                    if m != 0.0:
                        f += m * friction_p[p]
                        moved_total += m
                        any_moved = True
            else:  # every region, the incumbent by pair where feasible, else last hour's
                for j in range(n_r):
                    inc[j] = last_x_mw[o, k, j] * incumbent_scale[o, k]
                for p in range(lo, hi):
                    inc[regions[p]] = incumbent[p]
                for j in range(n_r):
                    d = x[j] - inc[j]
                    m = d if d > 0.0 else 0.0
                    moved[j] = m
                    if x[j] != 0.0:
                        s += x[j] * (e[j] + network[o, k, j])
                        served[o, j] += x[j]
                        layer_mw[layer[o, k, j]] += x[j]
                        shift[cell[o, k, j]] += x[j]
                    if m != 0.0:
                        f += m * friction[o, k, j]
                        moved_total += m
                        any_moved = True
            if not (any_moved or abs(last_served[o, k] - last_demand[o, k]) > 1e-12):
                continue
            if packed and (last_served[o, k] <= 0 or demand[o, k] / last_served[o, k] < np.inf):
                _migrations_pairs(x, last_p, lo, hi, regions, demand[o, k], last_served[o, k],
                                  diff, flows)
            else:
                _migrations(x, last_x_mw[o, k], demand[o, k], last_served[o, k], diff, flows)
        serving[o], paid[o] = s, f
    return serving, paid, served, held, moved_total, layer_mw, shift, flows


def region_load(x_mw: np.ndarray) -> np.ndarray:
    """(R,) the MW placed in each region: (O, K, R) ``x_mw`` summed over operators and classes
    in one compiled pass, row by row in array order as ``x_mw.sum(axis=(0, 1))`` adds them
    over two or more regions (the same bits; numpy's reduction reads the array several times
    slower); with one region numpy adds the column pairwise, and is used."""
    if np.shape(x_mw)[-1] < 2:
        return np.asarray(x_mw).sum(axis=(0, 1))
    return _region_load(np.ascontiguousarray(x_mw, dtype=np.float64))


@numba.njit(cache=True)
def _region_load(x_mw):
    n_o, n_k, n_r = x_mw.shape
    out = np.zeros(n_r)
    for o in range(n_o):
        for k in range(n_k):
            for j in range(n_r):
                out[j] += x_mw[o, k, j]
    return out


@numba.njit(cache=True)
def _migrations_pairs(x, last_p, lo, hi, regions, demand, last_served, diff, flows):
    """``_migrations`` of a class whose MW (this hour's x (R,) and last hour's, last_p[p] at
    its pairs p in lo..hi, regions ascending) are all at its feasible pairs: the same sums
    in the same order without the terms that are 0 elsewhere (so the same bits), reading
    last hour's MW packed (read in order with the other pairs, not a row of (O, K, R))."""
    scale = demand / last_served if last_served > 0 else 0.0
    total_in = 0.0
    for p in range(lo, hi):
        diff[p - lo] = x[regions[p]] - last_p[p] * scale
        total_in += max(diff[p - lo], 0.0)
    if not total_in > 1e-12:
        return
    for p in range(lo, hi):
        if diff[p - lo] < 0.0:
            for q in range(lo, hi):
                if diff[q - lo] > 0.0:
                    flows[regions[p], regions[q]] += -diff[p - lo] * (diff[q - lo] / total_in)


@numba.njit(cache=True)
def _migrations(x, last_x, demand, last_served, diff, flows):
    """Add one class's migrations (R,) to flows (R, R): what left each region spread over
    where it arrived, in proportion."""
    n_r = len(x)
    scale = demand / last_served if last_served > 0 else 0.0
    total_in = 0.0
    for j in range(n_r):
        diff[j] = x[j] - last_x[j] * scale
        total_in += max(diff[j], 0.0)
    if not total_in > 1e-12:
        return
    for i in range(n_r):
        if diff[i] < 0.0:
            for j in range(n_r):
                if diff[j] > 0.0:
                    flows[i, j] += -diff[i] * (diff[j] / total_in)
