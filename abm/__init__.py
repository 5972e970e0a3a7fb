"""GeoInference ABM: AI inference as latency-constrained, relocatable electricity demand.

The public Python API (docs/api.md) is imported on first use, so that ``import abm`` and the
``abm`` command start without loading Mesa, matplotlib or numba::

    import abm
    run = abm.simulate(hours=24, policy__carbon_price_usd_per_t=100)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    **{name: "abm.api" for name in (
        "simulate", "frontier", "sweep", "read_run", "load_scenario", "shipped_scenarios",
        "compare", "write_report", "sensitivity", "discover", "headroom")},
    "Run": "abm.report.results", "Scenario": "abm.config.scenario", "InputError": "abm.errors",
    "MarketModel": "abm.market.model", "Operator": "abm.market.operators",
    "ComputeRegion": "abm.market.regions", "GridZone": "abm.market.zones",
    "STRATEGIES": "abm.config.registry", "RENT_RULES": "abm.config.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'abm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
