"""The energy-latency frontier: the planner's optima as every latency budget is relaxed.

At each budget B the planner places all operators jointly against shared capacity at one
point in time (the zones' annual means by default), twice:

- the cost-optimal placement gives C*(B) (``cost_usd``): its cost with the demand it leaves
  unserved at VoLL (``policy.voll_usd_per_mwh``), as the placement itself values it
  (``unserved_usd``; ``served_cost_usd`` is the rest), and what that placement emits
  (``placed_emissions_kg``); with frictions, the status quo is every class at its origin and a
  move pays its one-off friction amortised over the holding horizon (policy.holding_hours),
  i.e. phi / H per MWh, as in the break-even metric;
- the carbon-optimal placement gives E*(B) (``emissions_kg``): the least emissions on the
  accounting basis of serving every class as much as the status quo serves it, within the
  masks and capacity (frictions are costs, not carbon, so they do not enter it).

The status quo is every class at its origin, as far as the origin's capacity goes (shared pro
rata among the classes whose origin it is; ``status_quo_within_capacity_mw``); what it cannot
serve is unserved. Its emissions are E_local (``status_quo_emissions_kg``). E*(B) gives every
class the same service, so demand left unserved never counts as avoided carbon and only where
the load runs changes: the carbon reduction at B (``carbon_reduction``) is 1 - E*(B) / E_local,
0 where nothing can move however much demand the capacity leaves unserved. (Should the masks
not let some class reach even its status-quo service, at budgets below its origin's RTT, the
MWh it misses count at the highest intensity of any region.) E*(B) and C*(B) are optima of one
fixed objective over a set of placements that grows with B, so neither rises as B grows
(docs/model.md section 7); the placed emissions may, and the gap between them is what a
cost-driven market leaves on the table (where the cost optimum serves more than the status
quo, the gap includes what that extra service emits: ``unserved_mwh`` shows it).

``abm.frontier(scenario, budgets_ms)`` (:func:`abm.api.frontier`) is the API's face of it.

``at_hour`` gives the instance and signals of one hour of the scenario: that hour's demand
(each class's diurnal profile) with that hour's prices and carbon.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from abm.config.scenario import Scenario
from abm.core.costs import friction, unit_cost
from abm.core.instance import Instance
from abm.core.masks import masks
from abm.core.metrics import (
    cost_breakdown,
    emissions_kg,
    layer_shares,
    realised_relocation,
    relocatable_share,
    returns_on_latency,
)
from abm.core.placement import place
from abm.core.signals import Signals, hour_stamps, profile_signals

DEFAULT_BUDGETS_MS = (10, 20, 30, 40, 50, 75, 100, 125, 150, 200, 250, 300)


def at_hour(scn: Scenario, inst: Instance, hour: int) -> tuple[Instance, Signals]:
    """Hour ``hour`` (0-based, from the scenario's start) of ``inst``: its demand (MW) at that
    UTC hour, as the market's, and the zones' signals of that hour."""
    stamp = hour_stamps(scn.start, hour + 1)[hour]
    return (inst.with_demand(inst.demand_at(stamp.hour)),
            profile_signals(scn, stamp, 1).at(0))


def status_quo_within_capacity_mw(inst: Instance) -> np.ndarray:
    """(O, K, R) every class at its origin region as far as the region's capacity goes, shared
    pro rata among the classes whose origin it is; the rest is unserved."""
    load = inst.status_quo_load_mw()
    share = np.divide(inst.capacity_mw, load, out=np.ones_like(load),
                      where=load > inst.capacity_mw)
    return inst.status_quo_mw() * share[None, None, :]


def frontier(inst: Instance, signals: Signals, budgets_ms=DEFAULT_BUDGETS_MS, *,
             frictions: bool = True,
             after_budget: Callable[[float], None] | None = None) -> pd.DataFrame:
    """One row per budget: C* ($/h, unserved demand at VoLL), E* (kg/h, every class served as
    in the status quo), placed emissions, RID, layers, ERoL, CRoL, and the carbon reduction of
    E* against the status quo at origins (share, 0-1).

    Args:
        inst: the instance; its own class budgets are replaced by each budget in turn.
        signals: zone signals for one hour, arrays (Z,).
        budgets_ms: latency budgets (ms, round trip), increasing.
        frictions: charge migration friction (amortised) against the all-local status quo.
        after_budget: called with each budget (ms) once its row is computed (``abm frontier``
            releases its Ctrl-C hold after the first, once the compiled placement has loaded).
    """
    budgets = np.asarray(sorted(budgets_ms), dtype=float)
    policy = inst.policy
    phi = friction(inst) / policy.holding_hours if frictions else None
    prev = inst.status_quo_mw() if frictions else None
    basis = policy.accounting_basis
    cost = unit_cost(inst, signals)
    carbon = np.broadcast_to(inst.pue * signals.carbon(basis)[inst.zone_index], cost.shape)
    demand = float(inst.demand_mw.sum())
    local = status_quo_within_capacity_mw(inst)
    local_kg = emissions_kg(inst, local, signals)[basis]
    # what the masks cannot serve of the status quo's service counts at the dirtiest region
    short_kg_per_mwh = float(carbon.max(initial=0.0))
    rows = []
    for b in budgets:
        ib = inst.with_budget(b)
        m = masks(ib)
        p = place(ib, cost, m.feasible, joint=True, friction=phi, x_prev_mw=prev)
        greenest = place(ib.with_demand(local.sum(axis=2)), carbon, m.feasible, joint=True,
                         voll=short_kg_per_mwh)
        parts = cost_breakdown(ib, p, signals, friction=phi)
        unserved_usd = policy.voll_usd_per_mwh * float(p.unserved_mw.sum())
        em = emissions_kg(ib, p.x_mw, signals)
        rows.append({
            "budget_ms": b,
            "cost_usd": parts.total_usd + unserved_usd,
            "served_cost_usd": parts.total_usd,
            "unserved_usd": unserved_usd,
            "emissions_kg": greenest.objective_usd,  # kg: costs are kg/MWh, VoLL too
            "placed_emissions_kg": em[policy.accounting_basis],
            "placed_emissions_average_kg": em["average"],
            "placed_emissions_marginal_kg": em["marginal"],
            "energy_usd": parts.energy_usd,
            "carbon_usd": parts.carbon_usd,
            "network_usd": parts.network_usd,
            "migration_usd": parts.migration_usd,
            "demand_mwh": demand,
            "unserved_mwh": float(p.unserved_mw.sum()),
            "min_emissions_unserved_mwh": demand - float(greenest.x_mw.sum()),
            "rid": relocatable_share(ib, m.feasible),
            "realised_relocation": realised_relocation(ib, p.x_mw),
            **{f"layer_{k}_share": v for k, v in layer_shares(ib, p.x_mw).items()},
        })
        if after_budget is not None:
            after_budget(float(b))
    df = pd.DataFrame(rows)
    df["erol_usd_per_ms_mwh"] = returns_on_latency(budgets, df.cost_usd, demand)
    df["crol_kg_per_ms_mwh"] = returns_on_latency(budgets, df.emissions_kg, demand)
    df["status_quo_emissions_kg"] = local_kg
    df["carbon_reduction"] = 1.0 - df.emissions_kg / local_kg if local_kg > 0 else 0.0
    return df

