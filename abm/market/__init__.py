"""The agent-based market on Mesa: operators, compute regions and grid zones (docs/market.md).

The names below are imported on first use, so that the market's small registered modules
(``abm.market.allocation``, ``abm.market.forecasts``) load without Mesa.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"ComputeRegion": "abm.market.regions", "GridZone": "abm.market.zones",
            "Operator": "abm.market.operators", "MarketModel": "abm.market.model",
            "Operators": "abm.market.operators", "Regions": "abm.market.regions",
            "Zones": "abm.market.zones"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'abm.market' has no attribute {name!r}")
