"""The energy-latency frontier: the planner's optima as every latency budget is relaxed.

At each budget B the planner places all operators jointly against shared capacity at one
point in time (the zones' annual means by default), twice:

- the cost-optimal placement gives C*(B) (``cost_usd``) and what that placement emits
  (``placed_emissions_kg``); with frictions, the status quo is every class at its origin and a
  move pays its one-off friction amortised over the holding horizon (policy.holding_hours),
  i.e. phi / H per MWh, as in the break-even metric;
- the carbon-optimal placement gives E*(B) (``emissions_kg``), the least emissions on the
  accounting basis that the masks and capacity allow (frictions are costs, not carbon, so they
  do not enter it).

Both never rise as B grows (docs/model.md section 7); the placed emissions may, and the gap between
them is what a cost-driven market leaves on the table. The carbon reduction at B
(``carbon_reduction``) is 1 - E*(B) / E_local, against the status quo of every class served at
its origin (``status_quo_emissions_kg``), whatever budgets are asked for.

``abm.frontier(scenario, budgets_ms)`` (:func:`abm.api.frontier`) is the API's face of it.

``at_hour`` gives the instance and signals of one hour of the scenario: that hour's demand
(each class's diurnal profile) with that hour's prices and carbon.
"""

from __future__ import annotations

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


def frontier(inst: Instance, signals: Signals, budgets_ms=DEFAULT_BUDGETS_MS, *,
             frictions: bool = True) -> pd.DataFrame:
    """One row per budget: C* ($/h), E* (kg/h), placed emissions, RID, layers, ERoL, CRoL,
    and the carbon reduction of E* against the all-local status quo (share, 0-1).

    Args:
        inst: the instance; its own class budgets are replaced by each budget in turn.
        signals: zone signals for one hour, arrays (Z,).
        budgets_ms: latency budgets (ms, round trip), increasing.
        frictions: charge migration friction (amortised) against the all-local status quo.
    """
    budgets = np.asarray(sorted(budgets_ms), dtype=float)
    policy = inst.policy
    phi = friction(inst) / policy.holding_hours if frictions else None
    prev = inst.status_quo_mw() if frictions else None
    cost = unit_cost(inst, signals)
    intensity = inst.pue * signals.carbon(policy.accounting_basis)[inst.zone_index]
    carbon = np.broadcast_to(intensity, cost.shape)
    carbon_voll = 1e3 * (float(intensity.max()) + 1.0)
    demand = float(inst.demand_mw.sum())
    local_kg = emissions_kg(inst, inst.status_quo_mw(), signals)[policy.accounting_basis]
    rows = []
    for b in budgets:
        ib = inst.with_budget(b)
        m = masks(ib)
        p = place(ib, cost, m.feasible, joint=True, friction=phi, x_prev_mw=prev)
        greenest = place(ib, carbon, m.feasible, joint=True, voll=carbon_voll)
        parts = cost_breakdown(ib, p, signals, friction=phi)
        em = emissions_kg(ib, p.x_mw, signals)
        rows.append({
            "budget_ms": b,
            "cost_usd": parts.total_usd,
            "emissions_kg": emissions_kg(ib, greenest.x_mw, signals)[policy.accounting_basis],
            "placed_emissions_kg": em[policy.accounting_basis],
            "placed_emissions_average_kg": em["average"],
            "placed_emissions_marginal_kg": em["marginal"],
            "energy_usd": parts.energy_usd,
            "carbon_usd": parts.carbon_usd,
            "network_usd": parts.network_usd,
            "migration_usd": parts.migration_usd,
            "objective_usd": p.objective_usd,
            "demand_mwh": demand,
            "unserved_mwh": float(p.unserved_mw.sum()),
            "min_emissions_unserved_mwh": float(greenest.unserved_mw.sum()),
            "rid": relocatable_share(ib, m.feasible),
            "realised_relocation": realised_relocation(ib, p.x_mw),
            **{f"layer_{k}": v for k, v in layer_shares(ib, p.x_mw).items()},
        })
    df = pd.DataFrame(rows)
    df["erol_usd_per_ms_mwh"] = returns_on_latency(budgets, df.cost_usd, demand)
    df["crol_kg_per_ms_mwh"] = returns_on_latency(budgets, df.emissions_kg, demand)
    df["status_quo_emissions_kg"] = local_kg
    df["carbon_reduction"] = 1.0 - df.emissions_kg / local_kg if local_kg > 0 else 0.0
    return df

