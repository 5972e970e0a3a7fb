"""Scenario files (TOML) to frozen, validated objects: the one entry point, :func:`load_scenario`.

A scenario starts from the shipped dataset (regions, zones, RTTs, profiles) and overrides parts
of it; it may also ``extends`` another scenario file and override that. Every error names the
file, the field path and what is allowed. The schema is documented in ``docs/scenarios.md``.

The parts, one idea each (this module also exports their public names, the import path users
know): ``abm.config.schema`` (the objects and their defaults), ``abm.config.resolve`` (files,
``extends``, shipped names, overrides by dotted path), ``abm.config.reader`` (a TOML table read
with precise errors), ``abm.config.tables`` (regions, zones, RTTs, clients, operators,
population) and ``abm.config.parse`` (the whole file to a :class:`Scenario`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from abm.config.parse import check_grid_names, check_hours, parse_scenario
from abm.config.plausibility import check_plausible
from abm.config.reader import TableReader
from abm.config.resolve import (
    DEFAULT_SCENARIO,
    SCENARIO_DIR,
    extends_chain,
    read_toml,
    resolve_file,
    scenario_file,
    set_path,
    shipped_scenarios,
)
from abm.config.schema import (
    ACCOUNTING_BASES,
    CAPACITY_RULES,
    CARBON_SIGNALS,
    FOOTPRINT_KINDS,
    OBJECTIVES,
    Client,
    Grid,
    Market,
    Operator,
    Policy,
    Population,
    Scenario,
    ServiceNode,
    WorkloadClass,
)
from abm.config.tables import with_overrides
from abm.data.dataset import Dataset

__all__ = [
    "ACCOUNTING_BASES", "CAPACITY_RULES", "CARBON_SIGNALS", "DEFAULT_SCENARIO", "FOOTPRINT_KINDS",
    "OBJECTIVES", "SCENARIO_DIR", "Client", "Grid", "Market", "Operator", "Policy",
    "Population", "Scenario", "ServiceNode", "TableReader", "WorkloadClass", "check_grid_names",
    "check_hours", "extends_chain",
    "load_scenario", "parse_scenario", "read_toml", "resolve_file", "scenario_file",
    "set_path", "shipped_scenarios", "with_overrides",
]


def load_scenario(path: str | Path | None = None, dataset: Dataset | None = None,
                  overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario: ``None`` (the shipped default), a TOML file or a shipped
    scenario's name (:func:`abm.config.resolve.scenario_file`: a file of that name wins; the
    scenario's ``source`` is the file, absolute). A value far outside its typical range warns
    (``abm.errors.PlausibilityWarning``), an impossible one is an error
    (``abm.config.plausibility``).

    Args:
        path: the TOML file, or a shipped scenario's name (``"scale"``).
        dataset: the data to start from (default: the shipped dataset).
        overrides: values set by dotted path before validation, e.g.
            ``{"policy.carbon_price_usd_per_t": 100.0, "regions.set.eu-ireland.capacity_mw": 50}``;
            validated like the file's own values (errors name the path).
    """
    path = scenario_file(path)
    data = resolve_file(path)
    for dotted, value in (overrides or {}).items():
        set_path(data, dotted, value, str(path))
    scn = parse_scenario(data, str(path), dataset)
    check_plausible(scn)
    return scn
