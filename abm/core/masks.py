"""Feasibility masks (docs/model.md section 2): latency, legal, state locality, capacity.

Each mask is an (O, K, R) boolean array, inspectable on its own, so that reports can say how
much relocatable demand each constraint removes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm.core.instance import Instance

MASK_NAMES = ("latency", "legal", "state", "capacity")


@dataclass(frozen=True)
class Masks:
    """The four masks of an instance; ``feasible`` is their conjunction."""

    latency: np.ndarray
    legal: np.ndarray
    state: np.ndarray
    capacity: np.ndarray

    @property
    def feasible(self) -> np.ndarray:
        """(O, K, R) bool: all four masks hold."""
        return self.latency & self.legal & self.state & self.capacity

    def without(self, name: str) -> np.ndarray:
        """The conjunction of every mask but ``name`` (what ``name`` alone would remove)."""
        return np.logical_and.reduce([getattr(self, m) for m in MASK_NAMES if m != name])


def latency_mask(inst: Instance) -> np.ndarray:
    """RTT(client, node) + RTT(node, j) + overhead <= budget."""
    return (inst.network_rtt_ms() <= inst.budget_ms[:, :, None] + 1e-9) & inst.valid[:, :, None]


def residency_allowed(inst: Instance) -> np.ndarray:
    """(O, K, R) bool from the residency regimes in force (intersected) and class lists."""
    ok = inst.allowed.copy()
    for origin, allowed in inst.policy.residency:
        rows = inst.origin_jurisdiction == origin
        ok &= ~rows[:, :, None] | np.isin(inst.jurisdiction, list(allowed))[None, None, :]
    return ok & inst.valid[:, :, None]


def state_mask(inst: Instance) -> np.ndarray:
    """Stateful classes run only where their state is, unless the policy allows state transfer."""
    if inst.policy.state_transfer:
        return np.broadcast_to(inst.valid[:, :, None], inst.replica.shape).copy()
    return (~inst.stateful[:, :, None] | inst.replica) & inst.valid[:, :, None]


def capacity_mask(inst: Instance) -> np.ndarray:
    """The region is in the operator's footprint and this operator can get capacity there."""
    cap = inst.capacity_share[:, None] * inst.capacity_mw[None, :]
    return (inst.footprint & (cap > 0))[:, None, :] & inst.valid[:, :, None]


def masks(inst: Instance) -> Masks:
    """All four masks of ``inst``."""
    return Masks(latency_mask(inst), residency_allowed(inst), state_mask(inst), capacity_mask(inst))


def pair_lists(feasible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The feasible pairs of (O, K, R) ``feasible``: (starts (O, K + 1), regions (P,)), class
    k of operator o running in regions[starts[o, k]:starts[o, k + 1]] (ascending); pair p is
    the p-th True of ``feasible`` in C order, so ``a[feasible]`` packs an (O, K, R) array by
    pair (the compiled walk's and the hour's sums' order, ``abm.core.flow.pack_pairs``)."""
    n_r = np.shape(feasible)[-1]
    flat = np.ascontiguousarray(feasible, dtype=np.bool_)
    n_o, n_k = flat.shape[:2]
    flat = flat.reshape(-1, n_r)
    ends = np.concatenate([[0], np.cumsum(flat.sum(axis=1))]).astype(np.int64)
    rows = np.arange(n_o)[:, None] * n_k + np.arange(n_k + 1)[None, :]
    return np.ascontiguousarray(ends[rows]), np.nonzero(flat)[1].astype(np.int64)
