"""What a run computes before its first hour, checked before it starts: the one check that
``abm check`` and the market's model both make, so that a scenario ``abm check`` accepts runs
to its end.

Every number of a scenario is bounded where it is read (``abm/config/limits.py``); what the
bounds cannot see is the numbers the run derives from several of them: a move's friction
amortised over a tiny ``policy.holding_hours``, the cost of a MWh at the largest price and
carbon any hour brings, and the run's totals (every MWh of demand for every hour at the largest
cost or VoLL). Each must be a finite number; the placement contract
(``abm/core/problem.py``) asks the same of every hour's arrays. Pure numpy: ``abm check``
loads no solver and no compiler.
"""

from __future__ import annotations

import numpy as np

from abm.core.costs import friction, network_cost, unit_cost
from abm.core.instance import Instance
from abm.core.signals import Signals
from abm.errors import InputError

# Totals of a run (cost in $, emissions in kg) must stay far below the largest float, with room
# for the sums over hours, zones and operators the reports take of them.
MAX_TOTAL = 1e200


def check_run(inst: Instance, signals: Signals, hours: int) -> None:
    """Raise an InputError naming the scenario and the setting when a number the run derives
    is not finite or its totals could not be.

    Args:
        inst: the compiled scenario (its population drawn).
        signals: the run's hourly signals (T, Z): shipped profiles or the scenario's trace.
        hours: the hours the run steps.
    """
    source = inst.scenario.source
    policy = inst.policy
    with np.errstate(all="ignore"):
        phi = friction(inst)
        planning = phi / policy.holding_hours
    if not (np.isfinite(phi).all() and np.isfinite(planning).all()):
        field = "policy.holding_hours" if np.isfinite(phi).all() else "operators"
        raise InputError(source, field, "a move's friction amortised over "
                         f"policy.holding_hours = {policy.holding_hours:g} h is not a finite "
                         "number of $ per MW; raise holding_hours or lower the migration costs")
    demand = np.stack([inst.demand_at(h) for h in range(24)])  # the diurnal cycle, UTC hours
    if not np.isfinite(demand).all() or demand.min(initial=0.0) < 0:
        raise InputError(source, "operators", "the hourly demand (with its diurnal cycle) is "
                         "not a finite number of MW >= 0")
    network = network_cost(inst)
    costs = []
    for pick in (np.max, np.min):  # the cost is linear in price and carbon: its extremes
        hour = Signals(*(pick(a, axis=0) for a in (signals.price_usd_per_mwh,
                                                  signals.avg_carbon_kg_per_mwh,
                                                  signals.marginal_carbon_kg_per_mwh)))
        with np.errstate(all="ignore"):
            costs.append(unit_cost(inst, hour, network=network))
    worst = max(float(np.abs(c).max(initial=0.0)) for c in costs) if all(
        np.isfinite(c).all() for c in costs) else np.inf
    if not np.isfinite(worst):
        raise InputError(source, "policy", "the cost of serving a MWh somewhere is not a finite "
                         "number of $ at the hours' prices and carbon; lower the carbon price, "
                         "rents or network tariffs")
    per_mwh = worst + float(np.abs(planning).max(initial=0.0)) + abs(policy.voll_usd_per_mwh)
    total_mwh = float(demand.sum(axis=(1, 2)).max(initial=0.0)) * hours
    carbon = max(float(np.abs(a).max(initial=0.0)) for a in (
        signals.avg_carbon_kg_per_mwh, signals.marginal_carbon_kg_per_mwh))
    if not (per_mwh * total_mwh < MAX_TOTAL and carbon * total_mwh < MAX_TOTAL):
        raise InputError(source, "operators", f"{total_mwh:.3g} MWh of demand over the run at "
                         f"up to {per_mwh:.3g} $/MWh gives totals beyond what the model "
                         f"computes ({MAX_TOTAL:g}); lower the demand or the costs")
