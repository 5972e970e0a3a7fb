"""The paper's operational metrics (docs/model.md section 4), computed from placements and masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from abm.core.costs import egress_cost, energy_cost, region_signals, unit_cost
from abm.core.instance import Instance
from abm.core.masks import MASK_NAMES, Masks
from abm.core.placement import Placement
from abm.core.signals import Signals

LAYERS = ("local", "regional", "energy")
# the bases of the data centres' emissions (docs/market.md): average and marginal intensity
# (attributed, :func:`emissions_kg`), and the system's (every zone's emissions with minus
# without their load: the market's grid zones)
EMISSION_BASES = ("average", "marginal", "system")


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else 0.0


def relocatable_share(inst: Instance, feasible: np.ndarray) -> float:
    """Share of demand with at least one feasible region other than its origin (RID)."""
    elsewhere = (feasible & ~inst.at_origin()).any(axis=2)
    return _share(inst.demand_mw[elsewhere].sum(), inst.demand_mw.sum())


def relocatable_by_mask(inst: Instance, m: Masks) -> dict[str, float]:
    """RID under all masks, under each mask alone, and what each mask removes from the rest.

    Keys: ``rid``; ``rid_<mask>_only``; ``removed_by_<mask>`` = RID(all but mask) - RID(all).
    """
    rid = relocatable_share(inst, m.feasible)
    out = {"rid": rid}
    for name in MASK_NAMES:
        out[f"rid_{name}_only"] = relocatable_share(inst, getattr(m, name))
        out[f"removed_by_{name}"] = relocatable_share(inst, m.without(name)) - rid
    return out


def realised_relocation(inst: Instance, x_mw: np.ndarray) -> float:
    """Share of served MWh executed away from its origin region."""
    return _share(x_mw[~inst.at_origin()].sum(), x_mw.sum())


def layer_of(inst: Instance) -> np.ndarray:
    """(O, K, R) layer index: 0 local (origin), 1 regional (RTT from origin within the regional
    threshold), 2 energy-oriented (beyond it)."""
    rtt = inst.rtt_ms[inst.origin]
    layer = np.where(rtt <= inst.scenario.regional_rtt_ms, 1, 2)
    return np.where(inst.at_origin(), 0, layer)


def layer_shares(inst: Instance, x_mw: np.ndarray) -> dict[str, float]:
    """Shares of served MWh in the local, regional and energy-oriented layers."""
    layer = layer_of(inst)
    total = x_mw.sum()
    return {name: _share(x_mw[layer == i].sum(), total) for i, name in enumerate(LAYERS)}


def layer_shares_by_kind(inst: Instance, x_mw: np.ndarray) -> dict[str, dict[str, float]]:
    """Layer shares per workload kind (class template)."""
    kinds = sorted({k for k in inst.kind[inst.valid]})
    return {kind: layer_shares(inst, np.where((inst.kind == kind)[:, :, None], x_mw, 0.0))
            for kind in kinds}


SHIFT_LEVELS = ("zone", "region")


def shift_index(inst: Instance, by: str = "zone") -> np.ndarray:
    """(O * K * R,) the flat (origin, execution) cell of every (operator, class, region) in a
    shift matrix ``by`` zone or region (origin * N + execution, N zones or regions); for
    :func:`shift_matrix`, computed once where it is needed every hour."""
    if by not in SHIFT_LEVELS:
        raise ValueError(f"by must be one of {SHIFT_LEVELS}, got {by!r}")
    at = inst.zone_index if by == "zone" else np.arange(len(inst.region_ids))
    n = len(inst.scenario.zones) if by == "zone" else len(inst.region_ids)
    return (at[inst.origin][:, :, None] * n + at[None, None, :]).ravel()


def shift_matrix(inst: Instance, x_mw: np.ndarray, by: str = "zone",
                 index: np.ndarray | None = None) -> np.ndarray:
    """(N, N) MWh from origin (rows) to execution (columns) for one step of placement
    ``x_mw`` (O, K, R), by zone (N zones) or by region (N regions); ``index``:
    ``shift_index(inst, by)``, if already computed."""
    n = len(inst.scenario.zones) if by == "zone" else len(inst.region_ids)
    flat = shift_index(inst, by) if index is None else index
    return np.bincount(flat, weights=x_mw.ravel(), minlength=n * n).reshape(n, n)


def zone_load_mwh(inst: Instance, x_mw: np.ndarray) -> np.ndarray:
    """(Z,) grid energy drawn in each zone (IT load times PUE), MWh per step, of placement
    ``x_mw`` (O, K, R) or of the IT load per region (R,) it places."""
    grid = (x_mw if np.ndim(x_mw) == 1 else x_mw.sum(axis=(0, 1))) * inst.pue
    return np.bincount(inst.zone_index, weights=grid, minlength=len(inst.scenario.zones))


def cost_usd_per_mwh(cost_usd: float, demand_mwh: float, unserved_mwh: float,
                     voll_usd_per_mwh: float) -> float:
    """Cost per MWh of demand with unserved demand at the value of lost load:
    ``(cost_usd + voll_usd_per_mwh x unserved_mwh) / demand_mwh`` ($/MWh; 0 without demand).

    The one rule for a cost per MWh wherever one is shown (run summary, reports, findings,
    dashboard), so that leaving demand unserved never reads as cheaper.
    """
    if demand_mwh <= 0:
        return 0.0
    return float((cost_usd + voll_usd_per_mwh * unserved_mwh) / demand_mwh)


def emissions_kg(inst: Instance, x_mw: np.ndarray, signals: Signals) -> dict[str, float]:
    """Attributed emissions in kgCO2 for one step on the average and marginal bases, of
    placement ``x_mw`` (O, K, R) or the IT load per region (R,) it places."""
    load = zone_load_mwh(inst, x_mw)
    return {"average": float(load @ signals.avg_carbon_kg_per_mwh),
            "marginal": float(load @ signals.marginal_carbon_kg_per_mwh)}


@dataclass(frozen=True)
class CostBreakdown:
    """Cost of one step in $ (VoLL excluded; unserved MWh reported separately)."""

    energy_usd: float
    carbon_usd: float
    rent_usd: float
    network_usd: float  # egress and latency penalty
    migration_usd: float

    @property
    def total_usd(self) -> float:
        """Everything but the value of lost load."""
        return self.energy_usd + self.carbon_usd + self.rent_usd + self.network_usd + \
            self.migration_usd


def cost_breakdown(inst: Instance, p: Placement, signals: Signals,
                   friction: np.ndarray | None = None,
                   rent_usd_per_mwh: np.ndarray | None = None,
                   network: np.ndarray | None = None) -> CostBreakdown:
    """Split the cost of placement ``p`` by component (``network``: ``network_cost(inst)``,
    if already computed, as for ``unit_cost``)."""
    total_unit = float((p.x_mw * unit_cost(inst, signals, rent_usd_per_mwh,
                                           network=network)).sum())
    migration = 0.0 if friction is None else float((p.moved_mw * friction).sum())
    return split_cost(inst, p.x_mw.sum(axis=1), signals, total_unit, migration,
                      rent_usd_per_mwh=rent_usd_per_mwh)


def split_cost(inst: Instance, served_mw: np.ndarray, signals: Signals, unit_usd: float,
               migration_usd: float, rent_usd_per_mwh: np.ndarray | None = None
               ) -> CostBreakdown:
    """Split one step's cost by component from the MW each operator served in each region
    (O, R), what serving cost in all (``unit_usd``: the placement at ``unit_cost``) and the
    migration friction paid (``migration_usd``): electricity, carbon price and rent by
    region, the network the rest of ``unit_usd`` (``cost_breakdown`` from a placement)."""
    served = served_mw.sum(axis=0)
    weight = inst.policy.price_weight  # 0 with the carbon-only objective
    rent = weight * (inst.rent_usd_per_mwh if rent_usd_per_mwh is None else rent_usd_per_mwh)
    price, mu_t = region_signals(inst, signals)
    energy = weight * float(served @ (inst.pue * price[0]))
    carbon = float((served_mw * inst.policy.carbon_price_usd_per_t * inst.pue * mu_t).sum())
    rent_usd = float(served @ rent)
    return CostBreakdown(energy, carbon, rent_usd, unit_usd - energy - carbon - rent_usd,
                         migration_usd)


def returns_on_latency(budget_ms: ArrayLike, value: ArrayLike, demand_mwh: float) -> np.ndarray:
    """-d value / dB per MWh by forward differences along a frontier (last point NaN).

    With ``value`` = cost ($) this is ERoL ($ per ms per MWh); with emissions (kg), CRoL.
    """
    b = np.asarray(budget_ms, dtype=float)
    v = np.asarray(value, dtype=float)
    out = np.full(len(b), np.nan)
    if len(b) > 1 and demand_mwh > 0:
        out[:-1] = -np.diff(v) / np.diff(b) / demand_mwh
    return out


def break_even_horizon_h(saving_usd_per_mwh, friction_usd_per_mw):
    """Hours a move must hold for a per-MWh saving to repay a one-off friction per MW (inf if
    the saving is not positive)."""
    s = np.asarray(saving_usd_per_mwh, dtype=float)
    phi = np.asarray(friction_usd_per_mw, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, phi / np.where(s > 0, s, 1.0), np.inf)


def break_even_spread_usd_per_mwh(friction_usd_per_mw, horizon_h):
    """The per-MWh saving a move needs to break even over ``horizon_h`` hours."""
    return np.asarray(friction_usd_per_mw, dtype=float) / np.asarray(horizon_h, dtype=float)


def pairwise_saving_usd_per_mwh(inst: Instance, signals: Signals, operator: int = 0,
                                klass: int = 0) -> np.ndarray:
    """(R, R) saving per MWh from moving a class's load from region i (rows) to j (columns):
    c_i - c_j with i treated as the origin (egress charged at j only), by the placement
    objective: the differences of ``energy_cost`` less the egress at j (none with the
    carbon-only objective)."""
    energy = energy_cost(inst, signals)[operator]
    egress = egress_cost(inst)[operator, klass]
    saving = energy[:, None] - energy[None, :] - egress[None, :]
    np.fill_diagonal(saving, 0.0)
    return saving
