"""Registries: the one place each extension point lists what a scenario may choose.

A registry maps a name to an implementation and a one-line description. The scenario validator,
the command line's ``--help``, ``docs/scenarios.md`` (checked by a test) and the dashboard's menus
all read the names from here, so registering a new entry is all it takes to use it::

    from abm.config.registry import RENT_RULES

    @RENT_RULES.register("flat_plus_ten", "rent + 10 $/MWh every hour")
    def flat_plus_ten(rent_usd_per_mwh, utilisation, market):
        return rent_usd_per_mwh + 10.0

The shipped entries live in the modules named by ``builtins`` (imported on first use, so that
this module imports nothing of the model and every module can import it). An installed package
adds entries through entry points (``importlib.metadata``), one group per registry
(``abm.rent_rules``, ``abm.strategies``, ...: :data:`ENTRY_POINT_GROUPS`), each entry named for
the registry name and pointing at the object (``scarcity = "my_rules:scarcity"``); they are loaded
on first use after the shipped ones, in every process (the command line, sweep workers, the
dashboard), so that ``abm run`` and a sweep file can name them. A plug-in that fails to load or
takes a shipped name warns (``abm.errors.PluginWarning``) and is left out (docs/extending.md).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import ClassVar, Protocol, overload

from abm.errors import PluginWarning


class UnknownName(KeyError, ValueError):
    """A name no registry entry has; the message lists the allowed names."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry[T]:
    """Named implementations of one extension point, each with a one-line description.

    Args:
        kind: what an entry is, for messages ("rent rule").
        field: the scenario field that chooses an entry ("market.pricing").
        builtins: modules that register the shipped entries, imported on first use.
        group: the entry-point group of installed packages' entries (``abm.rent_rules``),
            loaded on first use after the builtins; None: none.
    """

    def __init__(self, kind: str, field: str, builtins: tuple[str, ...] = (),
                 group: str | None = None) -> None:
        self.kind = kind
        self.field = field
        self.group = group
        self._builtins = builtins
        self._loaded = not builtins  # the shipped entries
        self._plugged = group is None  # the installed packages' entries
        self._entries: dict[str, tuple[T, str]] = {}

    def _load(self) -> None:
        """Import the shipped entries' modules, once (registering reaches only these: a
        plug-in's module may import a shipped module, whose registrations must not load the
        plug-ins again while it is half imported)."""
        if not self._loaded:
            self._loaded = True
            for module in self._builtins:
                importlib.import_module(module)

    def _load_all(self) -> None:
        """The shipped entries, then the installed packages' (by entry point), once."""
        self._load()
        if not self._plugged and self.group:
            self._plugged = True
            for ep in entry_points(group=self.group):
                self._plug_in(ep)

    def _plug_in(self, ep: EntryPoint) -> None:
        """Register the object of entry point ``ep`` under its name (its module may have
        registered it already, by the decorator), described by its docstring's first line;
        warn and leave it out if it fails to load or its name is taken."""
        package = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "an installed package"
        where = f"entry point {ep.name} = {ep.value!r} ({self.group}, from {package})"
        taken = (f"{where}: {self.kind} {ep.name!r} is already registered (shipped with abm or "
                 "by another package); left out")
        if ep.name in self._entries:
            warnings.warn(PluginWarning(taken), stacklevel=2)
            return
        try:
            obj = ep.load()
        except Exception as exc:  # any failure of a third-party import: say which and go on
            warnings.warn(PluginWarning(f"{where}: failed to load ({type(exc).__name__}: "
                                        f"{exc}); left out"), stacklevel=2)
            return
        if ep.name in self._entries:  # registered by its module as it was imported
            if self._entries[ep.name][0] is not obj:
                warnings.warn(PluginWarning(taken), stacklevel=2)
            return
        doc = (getattr(obj, "__doc__", None) or "").strip()
        first = doc.splitlines()[0].strip() if doc else ""
        self._entries[ep.name] = (obj, f"{first or 'no description'} [{package}]")

    @overload
    def register(self, name: str, description: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, description: str, obj: T) -> T: ...

    def register(self, name: str, description: str, obj: T | None = None
                 ) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; without ``obj``, a decorator that registers.

        Raises:
            ValueError: if ``name`` is empty, not an identifier-like string, or already taken.
        """
        if not name or not name.replace("_", "a").replace("-", "a").isalnum():
            raise ValueError(f"{self.kind} name must be letters, digits, _ or -; got {name!r}")
        if not description.strip():
            raise ValueError(f"{self.kind} {name!r} needs a one-line description")

        def add(item: T) -> T:
            self._load()
            if name in self._entries and self._entries[name][0] is not item:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = (item, description.strip())
            return item

        return add if obj is None else add(obj)

    def unregister(self, name: str) -> None:
        """Remove an entry (for tests and plug-ins that withdraw one)."""
        self._load_all()
        self._entries.pop(name, None)

    def __getitem__(self, name: str) -> T:
        self._load_all()
        try:
            return self._entries[name][0]
        except KeyError:
            raise UnknownName(f"unknown {self.kind} {name!r} ({self.field}); "
                              f"allowed: {', '.join(self.names())} ({self.hint()})") from None

    def __contains__(self, name: object) -> bool:
        self._load_all()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        self._load_all()
        return tuple(self._entries)

    def hint(self) -> str:
        """Where more entries come from, for the error that lists the allowed names."""
        return (f"more: register a {self.kind} in abm.config.registry, or install a package "
                f"with an entry point in {self.group}; docs/extending.md")

    def description(self, name: str) -> str:
        """The one-line description of ``name``."""
        self[name]
        return self._entries[name][1]

    def help(self) -> str:
        """The field, then one indented ``name: description`` line per entry (for ``--help``)."""
        return "\n".join([f"{self.field}:", *(f"    {n}: {self.description(n)}"
                                               for n in self.names())])


RENT_RULES: Registry[Callable] = Registry("rent rule", "market.pricing", ("abm.market.pricing",),
                                          "abm.rent_rules")
"""``rule(rent_usd_per_mwh, utilisation, market) -> next hour's rent ($/MWh)``."""

GRID_RESPONSES: Registry[Callable] = Registry(
    "grid response", "market.grid_response", ("abm.grid.responses",), "abm.grid_responses")
"""``build(scenario, base_signals, stamps) -> GridResponse``: how zones answer data-centre load
(``abm/grid/responses.py``: ``set_hour(t, reference_dc_mw)``, ``clear(dc_mw) -> Dispatch``)."""

ALLOCATION_RULES: Registry[Callable] = Registry(
    "allocation rule", "market.allocation", ("abm.market.allocation",), "abm.allocation_rules")
"""``rule(model) -> None``: places every operator's load for the hour within capacity."""

FORECAST_MODES: Registry[Callable] = Registry(
    "forecast mode", "operators.forecast and population.forecast", ("abm.market.forecasts",),
    "abm.forecast_modes")
"""``mode(quotes, last, n, model) -> (n, Z, 3)`` expected price, average and marginal carbon."""

class Parametrised(Protocol):
    """What the configuration reads of a strategy class: the names of its parameters."""

    parameters: ClassVar[tuple[str, ...]]


STRATEGIES: Registry[type[Parametrised]] = Registry(
    "strategy", "operators.strategy and population.strategies", ("abm.market.strategies",),
    "abm.strategies")
"""``abm.market.strategies.Strategy`` subclasses: ``decide(view) -> Decision``, an operator's
placement from a read-only ``OperatorView`` of its hour (docs/market.md, "Strategies")."""

PLACEMENT_ENGINES: Registry[type] = Registry(
    "placement engine", "market.solver", ("abm.market.engines",), "abm.placement_engines")
"""``abm.market.engines.PlacementEngine`` subclasses, built with the operators' feasible pairs:
``solve(o, problem) -> (x_mw, unserved_mw)`` for one operator's ``PlacementProblem``, and
optionally ``first_come`` for runs of ``lp`` operators in one call (docs/extending.md)."""

EVENT_RULES: Registry[type[Parametrised]] = Registry(
    "event rule", "events.NAME.rule", ("abm.market.events",), "abm.event_rules")
"""``abm.market.events.EventRule`` subclasses: ``calls(outlook) -> bool``, whether a zone calls
a demand-response event this hour from what it knows ahead of the hour (a ``ZoneOutlook``:
its quote; docs/market.md, "Demand-response events"); the numbers it declares in
``parameters`` are set in the event's table."""

REGISTRIES: tuple[Registry, ...] = (RENT_RULES, GRID_RESPONSES, ALLOCATION_RULES, FORECAST_MODES,
                                    STRATEGIES, PLACEMENT_ENGINES, EVENT_RULES)
"""Every registry a scenario chooses from (for ``--help`` and the docs check)."""

ENTRY_POINT_GROUPS: dict[str, Registry] = {r.group: r for r in REGISTRIES if r.group}
"""The entry-point group of each registry: an installed package's entries (module docstring)."""
