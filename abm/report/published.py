"""Cases set up like published studies, to check the shape of our results against theirs
(docs/model.md section 8; our numbers beside the published ones in docs/published.md).

- Sukprasert et al., EuroSys 2024: every shipped region is a demand origin with the same
  demand, placement on average carbon, no electricity price, capacity the only limit (a share of
  idle capacity, unlimited, or none): the carbon reduction as the RTT cap is relaxed, and
  migrating once against re-optimising every hour.
- Gorka, Rhodes and Roald, 2024: placing on average carbon can lower attributed emissions while
  raising system emissions (two regions whose average and marginal intensities rank oppositely).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.config.scenario import Scenario, parse_scenario
from abm.core.costs import friction, unit_cost
from abm.core.frontier import frontier
from abm.core.instance import compile_scenario
from abm.core.masks import masks
from abm.core.metrics import EMISSION_BASES
from abm.core.placement import place
from abm.core.signals import Signals, mean_signals, profile_signals
from abm.data.dataset import shipped
from abm.market.run import simulate

BATCH = {"budget_ms": 1000.0, "overhead_ms": 0.0, "egress_gb_per_mwh": 0.0,
         "state_gb_per_mw": 0.0, "stateful": False}


def _scenario(name: str, regions: list[str], clients: list[str], *, signal: str,
              carbon_price_usd_per_t: float, warmup_usd_per_mw: float,
              demand_mw: float, hours: int, regions_table: dict | None = None,
              metro_access_rtt_ms: float = 5.0) -> Scenario:
    """A price-free, carbon-only scenario (``policy.objective = "carbon"``) with one operator
    and one batch class of ``demand_mw`` per client."""
    data = {
        "scenario": {"name": name, "start": "2024-01-08T00:00:00", "hours": hours},
        "network": {"metro_access_rtt_ms": metro_access_rtt_ms},
        "regions": {"include": regions, **(regions_table or {})},
        "policy": {"residency": ["none"], "placement_signal": signal,
                   "accounting_basis": "average", "objective": "carbon",
                   "carbon_price_usd_per_t": carbon_price_usd_per_t},
        "templates": {"batch": BATCH},
        "operators": [{"id": "op", "warmup_usd_per_mw": float(warmup_usd_per_mw), "classes": [
                {"id": f"batch-{c}", "template": "batch", "client": c, "demand_mw": demand_mw}
                for c in clients]}],
    }
    return parse_scenario(data, name)


SUKPRASERT_ADDITIONS: dict[str, dict[str, bool]] = {
    "as theirs": {"access": False, "pue": False},
    "+ 5 ms metro access": {"access": True, "pue": False},
    "+ PUE weighting": {"access": False, "pue": True},
    "+ both (our model)": {"access": True, "pue": True},
}
"""Our model's additions to Sukprasert et al.'s set-up, one at a time and together."""


SUKPRASERT_CASES: dict[str, float | None] = {"50% idle capacity": 0.5,
                                              "unlimited capacity": None,
                                              "no idle capacity": 0.0}
"""Sukprasert et al.'s capacity cases: the share of each region's capacity idle at the
all-local status quo (None: unlimited)."""

SUKPRASERT_PUBLISHED: dict[str, dict[int, float]] = {
    "50% idle capacity": {50: 0.31, 100: 0.36, 150: 0.45, 200: 0.46},
    "unlimited capacity": {50: 0.47, 100: 0.64, 150: 0.77, 200: 0.89},
    "no idle capacity": {50: 0.0, 100: 0.0, 150: 0.0, 200: 0.0},
}
"""Their carbon reduction by RTT cap (ms), read off their figure (EuroSys 2024)."""


def sukprasert_scenario(idle_share: float | None = 0.5, *, access: bool = False,
                        pue: bool = False, demand_mw: float = 10.0, hours: int = 168,
                        warmup_usd_per_mw: float = 200.0) -> Scenario:
    """Sukprasert et al.'s set-up: every shipped region a client with ``demand_mw`` of batch
    load; placement and accounting on average carbon, carbon only (no electricity price; a
    carbon price of 100 $/t weighs carbon against migration friction), no residency rules.

    Args:
        idle_share: share of each region's capacity idle at the all-local status quo
            (capacity = local demand / (1 - idle_share)); None: unlimited capacity.
        access: add our 5 ms metro access RTT to every path (theirs: region-to-region RTT).
        pue: weight energy and emissions by each region's PUE (theirs: IT energy only).
    """
    ids = list(shipped().regions)
    if idle_share is None:
        regions_table: dict = {"capacity": "unlimited"}
    else:
        regions_table = {"capacity": "local_demand",
                         "capacity_per_local_demand": 1.0 / (1.0 - idle_share)}
    if not pue:
        regions_table["all"] = {"pue": 1.0}
    return _scenario("sukprasert-like", ids, ids, signal="average",
                     carbon_price_usd_per_t=100.0, warmup_usd_per_mw=warmup_usd_per_mw,
                     demand_mw=demand_mw, hours=hours, regions_table=regions_table,
                     metro_access_rtt_ms=5.0 if access else 0.0)


def carbon_reduction(scn: Scenario, budgets_ms) -> pd.DataFrame:
    """Least emissions E*(B) (average basis, annual means) and the reduction against the
    all-local status quo."""
    df = frontier(compile_scenario(scn), mean_signals(scn), budgets_ms, frictions=False)
    return df.rename(columns={"carbon_reduction": "reduction"})[
        ["budget_ms", "emissions_kg", "reduction", "min_emissions_unserved_mwh"]]


def once_vs_hourly(scn: Scenario, budget_ms: float, holding_hours: float = 24.0,
                   frictions: bool = True) -> dict[str, float]:
    """Realised cost ($ over the scenario's hours, friction paid in full for every MW moved)
    of staying local, of migrating once (placed at the horizon's mean signals), and of
    re-optimising every hour (each hour's LP weighs a move's friction over ``holding_hours``);
    MWh moved by each. With ``frictions=False`` moves are free."""
    inst = compile_scenario(scn).with_budget(budget_ms)
    feasible = masks(inst).feasible
    phi = friction(inst) if frictions else np.zeros(feasible.shape)
    series = profile_signals(scn)
    hourly_costs = [unit_cost(inst, series.at(t)) for t in range(scn.hours)]
    local = inst.status_quo_mw()

    def realised(xs: list[np.ndarray], moved: list[np.ndarray]) -> float:
        return float(sum((x * c).sum() for x, c in zip(xs, hourly_costs, strict=True))
                     + sum((m * phi).sum() for m in moved))

    mean = Signals(*(a.mean(axis=0) for a in (series.price_usd_per_mwh,
                                                 series.avg_carbon_kg_per_mwh,
                                                 series.marginal_carbon_kg_per_mwh)))
    once = place(inst, unit_cost(inst, mean), feasible, joint=True, friction=phi / scn.hours,
                 x_prev_mw=local)
    prev, xs, moved = local, [], []
    for c in hourly_costs:
        p = place(inst, c, feasible, joint=True, friction=phi / holding_hours, x_prev_mw=prev)
        xs.append(p.x_mw)
        moved.append(p.moved_mw)
        prev = p.x_mw
    return {"local_usd": realised([local] * scn.hours, []),
            "once_usd": realised([once.x_mw] * scn.hours, [once.moved_mw]),
            "hourly_usd": realised(xs, moved),
            "once_moved_mwh": float(once.moved_mw.sum()),
            "hourly_moved_mwh": float(sum(m.sum() for m in moved))}


def gorka_scenario(signal: str, hours: int = 3) -> Scenario:
    """A client in California (CAISO: average 169, marginal 355 g/kWh) that may run in London
    (GB: average 106, marginal 400 g/kWh); no electricity price, 100 $/t on ``signal``."""
    return _scenario(f"gorka-{signal}", ["us-west-ca", "uk-london"], ["us-west-ca"],
                     signal=signal, carbon_price_usd_per_t=100.0, warmup_usd_per_mw=0.0,
                     demand_mw=10.0, hours=hours)


def attributed_vs_system(hours: int = 3) -> dict[str, dict[str, float]]:
    """Emissions (kg on the average, marginal and system bases) of the market run with the
    operator placing on each signal: ``{"average": {...}, "marginal": {...}}``. The zones
    answer with the calibrated stacks (the default response), where an added MWh on a zone's
    fossil ramp emits the ramp's marginal factor: system emissions equal marginal attribution
    by construction."""
    return {signal: {b: s[f"emissions_{b}_kg"] for b in EMISSION_BASES}
            for signal in ("average", "marginal")
            for s in (simulate(gorka_scenario(signal, hours)),)}
