"""An hour's sums over the market's (O, K, R) arrays in one compiled pass (numba): what the
settlement and the hour's outcome add up, each array read once instead of once per numpy
reduction.

With 10,000 operators an (O, K, R) array is 24 MB and every numpy reduction or temporary over
it costs milliseconds an hour. ``hour_sums`` reads the placement, last hour's, the incumbent and
what operators held once, and writes the MW moved (beyond the incumbent) on the way. Its sums
run in array order: sums by bin (layers, the shift matrix) and over classes add exactly as
``np.bincount`` and ``x.sum(axis=1)`` do; the others agree with numpy's reductions up to
rounding in the last bits (numpy adds long rows pairwise).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np


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


def hour_sums(x_mw: np.ndarray, last_x_mw: np.ndarray, incumbent_mw: np.ndarray,
              held_mw: np.ndarray, energy_usd_per_mwh: np.ndarray,
              network_usd_per_mwh: np.ndarray, friction_usd_per_mw: np.ndarray,
              layer: np.ndarray, n_layers: int, cell: np.ndarray, n_cells: int,
              demand_mw: np.ndarray, last_demand_mw: np.ndarray,
              moved_mw: np.ndarray) -> HourSums:
    """The hour's sums in one pass, and the MW moved.

    Args:
        x_mw, last_x_mw, incumbent_mw, held_mw: (O, K, R) this hour's placement, last
            hour's, the incumbent friction is charged against, and last hour's scaled to this
            hour's demand (what operators held before placing), MW.
        energy_usd_per_mwh: (O or 1, R) the energy part of the unit cost; network_usd_per_mwh
            (O, K, R) the rest; friction_usd_per_mw (O, K, R) per MW moved.
        layer, cell: (O, K, R) integers (any width): each pair's layer (< n_layers) and shift
            matrix cell (< n_cells).
        demand_mw, last_demand_mw: (O, K) this hour's and last hour's demand.
        moved_mw: (O, K, R) output: the MW placed beyond the incumbent,
            max(x_mw - incumbent_mw, 0) (as ``np.maximum``).

    Migrations are matched class by class in proportion: a class whose placement differs from
    last hour's (scaled to this hour's demand from what it served) spreads what left each
    region over where it arrived; only classes that moved MW against their incumbent, or left
    some unserved last hour (served other than its demand), can have moved.
    """
    return HourSums(*_hour_sums(x_mw, last_x_mw, incumbent_mw, held_mw, energy_usd_per_mwh,
                                network_usd_per_mwh, friction_usd_per_mw, layer, n_layers,
                                cell, n_cells, demand_mw, last_demand_mw, moved_mw))


@numba.njit(cache=True)
def _hour_sums(x_mw, last_x_mw, incumbent_mw, held_mw, energy, network, friction, layer,
               n_layers, cell, n_cells, demand, last_demand, moved_mw):
    n_o, n_k, n_r = x_mw.shape
    serving, paid = np.zeros(n_o), np.zeros(n_o)
    served, held = np.zeros((n_o, n_r)), np.zeros(n_r)
    layer_mw, shift = np.zeros(n_layers), np.zeros(n_cells)
    flows = np.zeros((n_r, n_r))
    diff = np.empty(n_r)
    moved_total = 0.0
    one = energy.shape[0] == 1
    for o in range(n_o):
        e = energy[0] if one else energy[o]
        s = f = 0.0
        for k in range(n_k):
            last_served, moved = 0.0, False
            for j in range(n_r):
                x = x_mw[o, k, j]
                d = x - incumbent_mw[o, k, j]
                m = d if d > 0.0 else 0.0
                moved_mw[o, k, j] = m
                held[j] += held_mw[o, k, j]
                last_served += last_x_mw[o, k, j]
                if x != 0.0:
                    s += x * (e[j] + network[o, k, j])
                    served[o, j] += x
                    layer_mw[layer[o, k, j]] += x
                    shift[cell[o, k, j]] += x
                if m != 0.0:
                    f += m * friction[o, k, j]
                    moved_total += m
                    moved = True
            if moved or abs(last_served - last_demand[o, k]) > 1e-12:
                _migrations(x_mw[o, k], last_x_mw[o, k], demand[o, k], last_served, diff, flows)
        serving[o], paid[o] = s, f
    return serving, paid, served, held, moved_total, layer_mw, shift, flows


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
