"""The price of decentralisation: a market run beside the planner's joint optimum for the same
hours and demand (docs/market.md, "The price of decentralisation").

The market is operator-local decision making: every operator places its own demand by its own
strategy and forecasts, and capacity goes first come, first served. The benchmark is the
**planner** (coordinated): for every hour of the run, with the demand, the zones' cleared
signals and the regions' rent and capacity that the market saw, one joint placement LP over all
operators against shared capacity (``place(..., joint=True)``, docs/model.md section 7).

The planner is myopic like the market's ``lp`` operators: each hour it weighs a move's friction
amortised over ``policy.holding_hours`` against its previous placement (scaled to the hour's
demand), starting from the status quo. It is accounted like the market: energy, carbon, rent,
network and the full migration friction ($), attributed emissions on average and marginal
intensity, and system emissions from clearing the run's grid with the planner's load (as the
market counts them: at the load both clearings serve, ``abm.grid.shedding``). It takes
the market's cleared prices as given (its own load does not move the prices it plans on) and,
unlike operators, knows them (no forecast error). Where nothing couples operators (capacity to
spare, perfect forecasts, prices that do not depend on the load, every operator ``lp``) the
market and the planner coincide (tested).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.core.costs import unit_cost
from abm.core.metrics import EMISSION_BASES, cost_breakdown, emissions_kg, zone_load_mwh
from abm.core.placement import place
from abm.core.signals import Signals
from abm.grid.shedding import at_served_load
from abm.report.results import Run

QUANTITIES = ("cost_usd", "emissions_average_kg", "emissions_marginal_kg",
              "emissions_system_kg", "unserved_mwh")


def _hourly(run: Run, table: str, key: str, column: str, order: list[str]) -> np.ndarray:
    """(T, N) a per-hour column of a run's table, its items in ``order``."""
    wide = run.table(table).pivot(index="hour", columns=key, values=column)
    return wide[order].to_numpy(float)


def planner(run: Run) -> pd.DataFrame:
    """The planner hour by hour: one row per hour with ``QUANTITIES``, the migration part of
    the cost ($) and the placement LP's objective (``objective_usd``: cost with friction
    amortised and unserved MWh at VoLL) for the run's hours, demand, signals, rent and
    capacity."""
    from abm.market.model import MarketModel

    scn = run.scenario
    hours = int(run.summary["hours"])
    model = MarketModel(scn, rng=run.summary["seed"], hours=hours)  # the run's population
    inst = model.inst
    zones = [z.id for z in scn.zones]
    regions = list(inst.region_ids)
    price, avg, marginal = (_hourly(run, "zones", "zone", c, zones) for c in (
        "price_usd_per_mwh", "avg_carbon_kg_per_mwh", "marginal_carbon_kg_per_mwh"))
    reference = _hourly(run, "zones", "zone", "reference_dc_mw", zones)
    rent = _hourly(run, "regions", "region", "rent_usd_per_mwh", regions)
    capacity = _hourly(run, "regions", "region", "capacity_mw", regions)
    ops = model.operators
    rows = []
    prev_demand = inst.demand_at(model.stamps[0].hour)
    x = inst.with_demand(prev_demand).status_quo_mw()
    for h in range(hours):
        demand = inst.demand_at(model.stamps[h].hour)
        ih = inst.with_demand(demand)
        ratio = np.divide(demand, prev_demand, out=np.zeros_like(demand),
                          where=prev_demand > 0)
        signals = Signals(price[h], avg[h], marginal[h])
        cost = unit_cost(ih, signals, rent[h], network=ops.network_usd_per_mwh)
        p = place(ih, cost, ops.feasible, joint=True, friction=ops.planning_friction_usd_per_mw,
                  x_prev_mw=x * ratio[:, :, None], capacity_mw=capacity[h])
        parts = cost_breakdown(ih, p, signals, friction=ops.friction_usd_per_mw,
                               rent_usd_per_mwh=rent[h])
        em = emissions_kg(ih, p.x_mw, signals)
        model.grid.set_hour(h, reference[h])
        placed_dc, no_dc = zone_load_mwh(ih, p.x_mw), np.zeros(len(zones))
        # as the market counts them: at the load both clearings serve (abm.grid.shedding)
        placed, none = at_served_load(model.grid.clear, placed_dc, model.grid.clear(placed_dc),
                                      no_dc, model.grid.clear(no_dc))
        rows.append({"hour": h, "cost_usd": parts.total_usd,
                     "migration_usd": parts.migration_usd, "objective_usd": p.objective_usd,
                     "emissions_average_kg": em["average"],
                     "emissions_marginal_kg": em["marginal"],
                     "emissions_system_kg": float(placed.emissions_kg.sum()
                                                  - none.emissions_kg.sum()),
                     "unserved_mwh": float(p.unserved_mw.sum())})
        x, prev_demand = p.x_mw, demand
    return pd.DataFrame(rows)


def price_of_decentralisation(run: Run) -> pd.DataFrame:
    """The market's totals beside the planner's for the same hours and demand: one row per
    outcome (``QUANTITIES``), columns ``market``, ``planner``, the gap market - planner
    (``gap``, in the outcome's unit: the price of decentralisation where positive) and that
    gap relative to the planner (``gap_pct``, %; NaN where the planner's total is 0)."""
    s = run.summary
    market = {"cost_usd": s["cost_usd"], "unserved_mwh": s["unserved_mwh"],
              **{f"emissions_{b}_kg": s[f"emissions_{b}_kg"] for b in EMISSION_BASES}}
    df = pd.DataFrame({"market": pd.Series(market),
                       "planner": planner(run)[list(QUANTITIES)].sum()}).loc[list(QUANTITIES)]
    df["gap"] = df.market - df.planner
    with np.errstate(divide="ignore", invalid="ignore"):
        df["gap_pct"] = np.where(df.planner != 0, 100 * df.gap / df.planner.abs(), np.nan)
    df.index.name = "outcome"
    return df
