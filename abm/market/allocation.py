"""Capacity allocation rules, registered by name so that a scenario picks one
(``market.allocation``; docs/market.md).

A rule places every operator's load for the hour against the regions' posted capacity
(``model.regions``), writing the operators' placements (``model.operators``: ``x_mw``,
``unserved_mw``, ``moved_mw``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.config.registry import ALLOCATION_RULES

if TYPE_CHECKING:
    from abm.market.model import MarketModel


@ALLOCATION_RULES.register(
    "first_come", "in a random order, each keeps what it held and takes free capacity")
def first_come(model: MarketModel) -> None:
    """Operators in an order drawn from ``model.rng`` keep the capacity they held last hour and
    take free capacity first come, first served (``Operators.place``)."""
    model.operators.place(model.rng.permutation(len(model.operators)))


@ALLOCATION_RULES.register(
    "proportional", "all request their optimum; regions ration pro rata to requests")
def proportional(model: MarketModel) -> None:
    """Every operator requests its capacity-free optimum; each region grants the same share of
    every request (capacity / requested, at most 1) and operators settle within their grants."""
    ops, regions = model.operators, model.regions
    ops.do("request")
    requested = ops.region_load_mw()
    regions.grant_ratio = np.minimum(1.0, np.divide(
        regions.offered_mw, requested, out=np.ones_like(requested), where=requested > 0))
    ops.shuffle_do("settle")
