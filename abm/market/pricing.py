"""Compute-rent rules, registered by name so that a scenario picks one (``market.pricing``).

A rule maps this hour's rent ($/MWh) and utilisation (0-1) to next hour's rent. Add a rule by
writing a function with this signature and registering it in ``abm.config.registry.RENT_RULES``
(docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from abm.config.registry import RENT_RULES

if TYPE_CHECKING:
    from abm.config.scenario import Market

RentRule = Callable[[float, float, "Market"], float]


@RENT_RULES.register("fixed", "rent never changes")
def fixed(rent_usd_per_mwh: float, utilisation: float, market: Market) -> float:
    """Rent never changes."""
    return rent_usd_per_mwh


@RENT_RULES.register("utilisation_target",
                     "rent + step x (utilisation - target), never below the floor")
def utilisation_target(rent_usd_per_mwh: float, utilisation: float, market: Market) -> float:
    """Rent rises when utilisation is above the target and falls below it, linearly:
    rent + step x (utilisation - target), never below the floor."""
    change = market.rent_step_usd_per_mwh * (utilisation - market.rent_target_utilisation)
    return max(market.rent_floor_usd_per_mwh, rent_usd_per_mwh + change)


__all__ = ["RENT_RULES", "RentRule", "fixed", "utilisation_target"]
