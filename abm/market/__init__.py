"""The agent-based market on Mesa: operators, compute regions and grid zones (docs/market.md)."""

from abm.market.agents import ComputeRegion, GridZone, Operator
from abm.market.model import MarketModel

__all__ = ["ComputeRegion", "GridZone", "MarketModel", "Operator"]
