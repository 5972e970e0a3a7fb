"""Module-level reporters for the market's DataCollector (lambdas would break pickling)."""

from __future__ import annotations

from operator import attrgetter

# what operators pay, split (abm.core.metrics.CostBreakdown): electricity, carbon price, compute
# rent, network (egress and latency penalty) and migration friction; they sum to cost_usd
COST_PARTS = ("energy", "carbon", "rent", "network", "migration")
STEP_VALUES = (
    "demand_mwh", "served_mwh", "unserved_mwh", "moved_mwh", "cost_usd",
    *(f"cost_{name}_usd" for name in COST_PARTS), "energy_mwh",
    "emissions_average_kg", "emissions_marginal_kg", "emissions_system_kg",
    "relocation_effect_kg", "relocated_share",
    "layer_local", "layer_regional", "layer_energy", "herding_mwh", "dc_price_usd_per_mwh",
)
# Model-level values are attributes of the model set each step (MarketModel._account).
MODEL = {"hour": "hour", **{name: name for name in STEP_VALUES}}

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
    "net_import_mw", "emissions_kg", "system_emissions_kg", "relocation_effect_kg",
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
    return float(op.model.operator_cost_usd[op.index])


OPERATOR = {"operator": attrgetter("operator_id"), "strategy": attrgetter("strategy_name"),
            "served_mw": _served,
            "unserved_mw": _unserved, "moved_mw": _moved, "cost_usd": _cost}
