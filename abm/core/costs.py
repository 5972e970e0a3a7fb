"""Unit costs c[k, j] ($/MWh) and migration frictions phi[k, j] ($/MW moved): docs/model.md
section 3.

The energy cost of serving a MWh in a region, ``PUE (price + tau mu) + rent`` (price and rent
weighted by the objective), is written once, in :func:`energy_cost`; the unit cost, the cost
breakdown and the pairwise saving (``abm.core.metrics``) are built on it and on
:func:`region_signals`.
"""

from __future__ import annotations

import numpy as np

from abm.core.instance import Instance
from abm.core.signals import Signals


def region_signals(inst: Instance, signals: Signals) -> tuple[np.ndarray, np.ndarray]:
    """(n, R) the price ($/MWh) and the placement carbon signal (t/MWh) at each region's
    zone, from signals of shape (Z,) (n = 1) or (O, Z) (n = O, each operator's forecast)."""
    z = inst.zone_index
    price = np.take(np.asarray(signals.price_usd_per_mwh), z, axis=-1).reshape(-1, len(z))
    mu = np.take(np.asarray(signals.carbon(inst.policy.placement_signal)), z, axis=-1)
    return price, mu.reshape(-1, len(z)) / 1e3  # a new array (energy_cost writes into it)


def placement_carbon(inst: Instance, signals: Signals) -> np.ndarray:
    """(O, R) the placement carbon signal at each region's zone times its PUE, in kg per MWh
    served, from (O, Z) signals (each operator's forecast)."""
    carbon = np.take(np.asarray(signals.carbon(inst.policy.placement_signal)), inst.zone_index,
                     axis=-1)  # a new array; faster than indexing with a column array
    carbon *= inst.pue
    return carbon


def unit_cost(inst: Instance, signals: Signals, rent_usd_per_mwh: np.ndarray | None = None,
              network: np.ndarray | None = None) -> np.ndarray:
    """(O, K, R) cost per MWh served at each region in $/MWh.

    c = PUE (price + tau mu) + rent + egress_j g_k [j != origin] + alpha RTT, with mu the
    placement carbon signal in t/MWh and tau the carbon price in $/t; with the carbon-only
    objective (``policy.objective = "carbon"``) c = PUE tau mu.

    Args:
        inst: the instance.
        signals: one hour of zone signals, arrays of shape (Z,), or (O, Z) when each operator
            has its own forecast.
        rent_usd_per_mwh: (R,) compute rent; the instance's rent if omitted.
        network: ``network_cost(inst)``, if already computed (it does not change by the hour).
    """
    energy = energy_cost(inst, signals, rent_usd_per_mwh)
    return energy[:, None, :] + (network_cost(inst) if network is None else network)


def energy_cost(inst: Instance, signals: Signals, rent_usd_per_mwh: np.ndarray | None = None
                ) -> np.ndarray:
    """(O, R) the part of the unit cost that does not depend on the class, in $/MWh:
    PUE (price + tau mu) + rent (tau includes each operator's internal carbon price; price and
    rent drop out with the carbon-only objective).
    Arguments as ``unit_cost``."""
    price, mu_t = region_signals(inst, signals)
    tau = inst.policy.carbon_price_usd_per_t
    rent = inst.rent_usd_per_mwh if rent_usd_per_mwh is None else rent_usd_per_mwh
    p = inst.policy.price_weight
    # pue (p price + tau mu) + p rent in place on mu's new array where it is (O, R): the same
    # operations in the same order, so the same bits, without four more (O, R) temporaries
    # (both calls of an hour of 10,000 operators 3.4 ms that way, 2.3 so: benchmarks/RESULTS.md)
    out = np.multiply(tau, mu_t, out=mu_t) if mu_t.shape == tau.shape else tau * mu_t
    out += p * price
    out *= inst.pue
    out += p * rent
    return out


def egress_cost(inst: Instance) -> np.ndarray:
    """(O, K, R) $ per MWh of egress when class k is served at region j, away from its origin
    (the entry at the origin included, where nothing is charged; zero with the carbon-only
    objective)."""
    return (inst.policy.price_weight * inst.policy.egress_scale
            * inst.egress_gb_per_mwh[:, :, None] * inst.egress_usd_per_gb[None, None, :])


def network_cost(inst: Instance) -> np.ndarray:
    """(O, K, R) the network part of the unit cost in $/MWh: egress away from the origin plus
    the latency penalty (zero with the carbon-only objective)."""
    latency = inst.latency_penalty_usd_per_ms_mwh[:, None, None] * inst.network_rtt_ms()
    return egress_cost(inst) * ~inst.at_origin() + inst.policy.price_weight * latency


def friction(inst: Instance) -> np.ndarray:
    """(O, K, R) one-off cost per MW moved into a region: state transfer, warm-up, switching fee."""
    policy = inst.policy
    state = (policy.egress_scale * inst.state_gb_per_mw[:, :, None]
             * inst.egress_usd_per_gb[None, None, :])
    per_op = inst.warmup_usd_per_mw + policy.switching_fees * inst.migration_fee_usd_per_mw
    return state + per_op[:, None, None]
