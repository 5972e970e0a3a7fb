"""What the market's DataCollector records each hour: the hour's outcome (model level,
computed once from the agent sets by :func:`hour_outcome`) and module-level reporters for
regions, zones and operators (lambdas would break pickling)."""

from __future__ import annotations

from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING

from abm.core.metrics import EMISSION_BASES, LAYERS, emissions_kg, split_cost

if TYPE_CHECKING:
    from abm.market.model import MarketModel

# what operators pay, split (abm.core.metrics.CostBreakdown): electricity, carbon price, compute
# rent, network (egress and latency penalty) and migration friction; they sum to cost_usd
COST_PARTS = ("energy", "carbon", "rent", "network", "migration")
STEP_VALUES = (
    "demand_mwh", "served_mwh", "unserved_mwh", "moved_mwh", "cost_usd",
    *(f"cost_{name}_usd" for name in COST_PARTS), "grid_energy_mwh",
    *(f"emissions_{basis}_kg" for basis in EMISSION_BASES),
    "relocation_effect_kg", "relocated_share",
    *(f"layer_{k}_share" for k in LAYERS), "herding_mwh", "dc_price_usd_per_mwh",
)

# with deferrable work (docs/market.md, "Deferrable work"): the backlog's hour, MWh; a run
# without deferrable work records none of them
DEFERRAL_VALUES = ("work_arrived_mwh", "work_run_mwh", "missed_mwh", "backlog_mwh")


def outcome(name: str, model: MarketModel) -> float:
    """The value ``name`` of the model's hour outcome (``model.outcome``)."""
    return model.outcome[name]


# model reporters: the hour, and each value of its outcome (partials pickle; lambdas do not)
MODEL = {"hour": "hour", **{name: partial(outcome, name) for name in STEP_VALUES}}
# ... and with deferrable work
MODEL_DEFERRAL = {**MODEL, **{name: partial(outcome, name) for name in DEFERRAL_VALUES}}

# with demand-response events (docs/market.md, "Demand-response events"): events called this
# hour, and over the events running, MWh asked, delivered and how (abm.market.events)
EVENT_VALUES = ("event_called", "event_asked_mwh", "event_delivered_mwh", "event_deferred_mwh",
                "event_relocated_mwh", "event_shed_mwh")


def event_total(name: str, model: MarketModel) -> float:
    """The hour's total ``name`` over the running events (``model.events.hour_totals``)."""
    return float(model.events.hour_totals[name.removeprefix("event_")])


MODEL_EVENTS = {name: partial(event_total, name) for name in EVENT_VALUES}


def hour_outcome(model: MarketModel) -> dict[str, float]:
    """The hour's realised values (``STEP_VALUES``; MWh, $, kgCO2, shares) from what the agent
    sets hold once the grid has cleared: demand, served, unserved and moved MWh; what
    operators paid and its parts; grid energy; emissions attributed on average and marginal
    intensity, system emissions and the relocation effect; layer shares; herding; the price
    data-centre load paid. With deferrable work, unserved MWh include the work that missed
    its deadline, and the backlog's hour is added (``DEFERRAL_VALUES``)."""
    inst, ops, regions, zones = model.inst, model.operators, model.regions, model.zones
    sums = ops.sums  # the operators' arrays summed once settled (``Operators.settle``)
    realised = zones.signals()
    cost = float(ops.cost_usd.sum())
    em = emissions_kg(inst, regions.load_mw, realised)  # the regions' load: x summed
    served = float(regions.load_mw.sum())
    layer_mw = sums.layer_mw
    # herding: grid load swinging between zones against last hour's placement at this
    # hour's demand: what left some zones and arrived in others (the smaller of the two,
    # so load shed or taken up again in place does not count)
    swing = zones.dc_load_mw - zones.grid_load_mw(sums.held_mw)
    grid_mw = float(zones.dc_load_mw.sum())
    # the cost's parts from what serving and moving cost each operator at these signals and
    # the posted rent
    parts = split_cost(inst, sums.served_mw, realised, float(sums.serving_usd.sum()),
                       float(sums.friction_usd.sum()),
                       rent_usd_per_mwh=regions.posted_rent_usd_per_mwh)
    deferral = {}
    if ops.defers.any():
        b = ops.balance
        deferral = {"work_arrived_mwh": b.arrived_mwh, "work_run_mwh": b.run_mwh,
                    "missed_mwh": b.missed_mwh, "backlog_mwh": b.after_mwh}
    return {
        "demand_mwh": float(ops.demand_mw.sum()),
        "served_mwh": served,
        "unserved_mwh": float(ops.unserved_mw.sum()) + (b.missed_mwh if deferral else 0.0),
        "moved_mwh": sums.moved_mw,
        "cost_usd": cost,
        **{f"cost_{name}_usd": getattr(parts, f"{name}_usd") for name in COST_PARTS},
        "grid_energy_mwh": grid_mw,
        "emissions_average_kg": em["average"],
        "emissions_marginal_kg": em["marginal"],
        "emissions_system_kg": float(sum(zones.emissions_system_kg.tolist())),
        "relocation_effect_kg": float(sum(zones.relocation_effect_kg.tolist())),
        "relocated_share": float(served - layer_mw[0]) / served if served else 0.0,
        **{f"layer_{n}_share": float(v) / served if served else 0.0
           for n, v in zip(LAYERS, layer_mw, strict=True)},
        "herding_mwh": float(min(swing[swing > 0].sum(), -swing[swing < 0].sum())),
        "dc_price_usd_per_mwh": float(realised.price_usd_per_mwh @ zones.dc_load_mw) / grid_mw
        if grid_mw else 0.0,
        **deferral,
    }

REGION = {
    "region": attrgetter("region_id"),
    "load_mw": attrgetter("load_mw"),
    "utilisation": attrgetter("utilisation"),
    "rent_usd_per_mwh": attrgetter("rent_usd_per_mwh"),
    "capacity_mw": attrgetter("capacity_mw"),
}
ZONE = {"zone": attrgetter("zone_id"), **{name: attrgetter(name) for name in (
    "price_usd_per_mwh", "marginal_carbon_kg_per_mwh", "avg_carbon_kg_per_mwh",
    "production_carbon_kg_per_mwh", "marginal_technology", "dc_load_mw", "reference_dc_mw",
    "net_import_mw", "emissions_kg", "emissions_system_kg", "relocation_effect_kg",
    "shed_mw", "shed_cost_usd", "reference_shed_mw",
    "base_price_usd_per_mwh", "reference_price_usd_per_mwh", "base_carbon_kg_per_mwh",
    "reference_carbon_kg_per_mwh",
)}}


class Generation:
    """Reporter of a zone's generation (MW) of one technology (a class: lambdas do not pickle)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __call__(self, zone) -> float:
        return float(zone.generation_mw[self.index])


def zone_reporters(technologies: tuple[str, ...]) -> dict:
    """The zone reporters with one ``gen_<technology>_mw`` column per technology."""
    return {**ZONE, **{f"gen_{t}_mw": Generation(i) for i, t in enumerate(technologies)}}


def _served(op) -> float:
    return float(op.x_mw.sum())


def _unserved(op) -> float:
    return float(op.unserved_mw.sum())


def _moved(op) -> float:
    return float(op.moved_mw.sum())


def _cost(op) -> float:
    return float(op.cost_usd)


OPERATOR = {"operator": attrgetter("operator_id"), "strategy": attrgetter("strategy_name"),
            "served_mw": _served,
            "unserved_mw": _unserved, "moved_mw": _moved, "cost_usd": _cost}


def _missed(op) -> float:
    return float(op.model.operators.missed_mwh[op.index].sum())


def _backlog(op) -> float:
    return float(op.model.operators.backlog_mwh[op.index].sum())


# ... and with deferrable work: MWh missed this hour and waiting at its end
OPERATOR_DEFERRAL = {**OPERATOR, "missed_mwh": _missed, "backlog_mwh": _backlog}
