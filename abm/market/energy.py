"""The hour's energy cost and placement carbon of every operator in one compiled pass (numba):
what ``abm.core.costs.energy_cost`` and ``placement_carbon`` compute, the same operations in
the same order on each element (so the same bits), reading each operator's (Z,) signals once
at its regions' zones instead of gathering them into (O, R) arrays and passing over those
with numpy five times (10,000 operators: benchmarks/RESULTS.md, "Seventh pass").

``abm.core.costs`` stays the formula and the reference (``abm check`` imports it, and never
numba); the market imports this module on first use.
"""

# numba keys this file's cache on its bytes alone: digests of the modules whose names its
# compiled code uses (tools/compiled_deps.py writes them; docs/architecture.md)
# compiled with abm/core/backlog_loops.py 1db25a72b398

from __future__ import annotations

import numba
import numpy as np

from abm.core.backlog_loops import unit_energy
from abm.core.instance import Instance
from abm.core.signals import Signals


def energy_and_carbon(inst: Instance, signals: Signals, rent_usd_per_mwh: np.ndarray,
                      carbon: bool = True, row: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """(O, R) the energy part of the unit cost ($/MWh, ``abm.core.costs.energy_cost``) and,
    if ``carbon``, the placement carbon signal times PUE (kg per MWh served,
    ``abm.core.costs.placement_carbon``; else None), bit for bit as those compute them.

    Args:
        inst: the instance.
        signals: one hour of zone signals, (Z,) (every operator's the same), (O, Z) (each
            operator's forecast) or, with ``row``, (M, Z) rows of them; any strides.
        rent_usd_per_mwh: (R,) compute rent, $/MWh.
        carbon: whether to compute the placement carbon too.
        row: (O,) the row of ``signals`` each operator reads (default: row o, or the one row
            of (Z,) signals).
    """
    price = np.asarray(signals.price_usd_per_mwh, dtype=np.float64)
    mu = np.asarray(signals.carbon(inst.policy.placement_signal), dtype=np.float64)
    price, mu = price.reshape(-1, price.shape[-1]), mu.reshape(-1, mu.shape[-1])
    tau = inst.policy.carbon_price_usd_per_t
    n_o, n_r = tau.shape
    if row is None:
        row = np.zeros(n_o, dtype=np.int64) if len(price) == 1 else np.arange(n_o)
    energy = np.empty((n_o, n_r))
    placed = np.empty((n_o, n_r) if carbon else (0, n_r))
    _energy_and_carbon(price, mu, np.asarray(row, dtype=np.int64), inst.zone_index, tau,
                       float(inst.policy.price_weight), inst.pue.astype(np.float64),
                       np.asarray(rent_usd_per_mwh, dtype=np.float64), energy, placed)
    return energy, placed if carbon else None


@numba.njit(cache=True)
def _energy_and_carbon(price, mu, row, zone, tau, p, pue, rent, energy, placed):
    n_o, n_r = energy.shape
    carbon = placed.shape[0] > 0
    for o in range(n_o):
        i = row[o]
        for j in range(n_r):
            z = zone[j]
            energy[o, j] = unit_energy(tau[o, j], mu[i, z] / 1e3, p, price[i, z], pue[j], rent[j])
            if carbon:
                placed[o, j] = mu[i, z] * pue[j]
