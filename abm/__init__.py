"""GeoInference ABM: AI inference as latency-constrained, relocatable electricity demand.

The public Python API (docs/api.md) is imported on first use, so that ``import abm`` and the
``abm`` command start without loading Mesa, matplotlib or numba::

    import abm
    run = abm.simulate(hours=24, policy__carbon_price_usd_per_t=100)
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    **{name: "abm.api" for name in (
        "simulate", "read_run", "load_scenario", "shipped_scenarios", "compare", "write_report",
        "sensitivity", "discover")},
    "Run": "abm.results", "Scenario": "abm.scenario", "InputError": "abm.errors",
    "MarketModel": "abm.market.model", "Operator": "abm.market.agents",
    "ComputeRegion": "abm.market.agents", "GridZone": "abm.market.agents",
    "STRATEGIES": "abm.registry", "RENT_RULES": "abm.registry",
}

# API functions that share their name with a submodule (``abm.frontier``, ``abm.sweep``): the
# submodule itself is callable and calls the function of ``abm.api``, so that ``abm.frontier(...)``
# works whether or not the submodule has been imported (importing it sets the attribute).
_CALLABLE_MODULES = ("frontier", "sweep")

__all__ = sorted([*_EXPORTS, *_CALLABLE_MODULES])


class CallableModule(types.ModuleType):
    """A submodule that is also the API function of its name in :mod:`abm.api`."""

    def _function(self) -> Any:
        return getattr(importlib.import_module("abm.api"), self.__name__.rpartition(".")[2])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._function()(*args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self._function())


def make_callable(module_name: str) -> None:
    """Make the loaded module ``module_name`` callable as its :mod:`abm.api` function."""
    sys.modules[module_name].__class__ = CallableModule


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _CALLABLE_MODULES:
        return importlib.import_module(f"abm.{name}")
    raise AttributeError(f"module 'abm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
