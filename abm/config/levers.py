"""The levers a scenario file sets: every setting it or a file it ``extends`` gives, with its
value and unit, the file that gives it, and the default it replaces (what ``abm check`` lists).

The list is read from the files and the schema, not kept by hand: a setting is listed when the
scenario's own file gives it, or when a file it extends gives it a value other than the
default. Defaults and units come from ``abm.config.schema`` (the tables of settings,
``TABLES``, the keys and units in field metadata, units otherwise from the field's name) and,
for regions and zones, from the shipped dataset; arrays of tables (operators, added regions and
zones, RTT pairs, clients, service nodes) and templates are listed one line each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import MISSING, Field, dataclass, fields
from pathlib import Path
from typing import Any

from abm.config.resolve import extends_chain, read_toml, resolve_file
from abm.config.schema import (
    CLIENT_MIXES,
    EVERY_REGION,
    MISSING_RTT_RULES,
    TABLES,
    Scenario,
)
from abm.config.tables import REGION_FIELDS, ZONE_ATTR
from abm.data.dataset import Dataset, shipped
from abm.data.grid_tables import load_grid_data

# Units by the ending of a name (the project's rule: units in names); the first match counts.
UNITS: tuple[tuple[str, str], ...] = (
    ("_usd_per_ms_mwh", "$/(ms MWh)"), ("_usd_per_t", "$/t"), ("_usd_per_mwh", "$/MWh"),
    ("_usd_per_mw", "$/MW"), ("_usd_per_gb", "$/GB"), ("_g_per_kwh", "g/kWh"),
    ("_kg_per_mwh", "kg/MWh"), ("_gb_per_mwh", "GB/MWh"), ("_gb_per_mw", "GB/MW"),
    ("_mw", "MW"), ("_ms", "ms"), ("_hours", "h"), ("_pct", "%"))

# Tables whose entries are listed one line each, by how an entry is named
_ARRAYS = {("operators",): "id", ("regions", "add"): "id", ("zones", "add"): "id",
           ("latency", "pairs"): "src", ("clients",): "id", ("service_nodes",): "id"}
_NOT_LEVERS = {("scenario",)}  # name, description, horizon and seed: abm check's header

_ABSENT = object()  # a key with no default (not set unless a file sets it)


def unit_of(name: str) -> str:
    """The unit a name states by its ending (``carbon_price_usd_per_t``: "$/t"), or ""."""
    return next((unit for end, unit in UNITS if name.endswith(end)), "")


@dataclass(frozen=True)
class Lever:
    """One setting a scenario gives.

    Attributes:
        path: the dotted path in the scenario file (``policy.carbon_price_usd_per_t``).
        value: the value with its unit (``100 $/t``).
        source: the name of the file that gives it (the scenario's own, or one it extends).
        default: what it replaces, with its unit: ``default X`` (the schema's), ``shipped X``
            (the shipped data's: regions, zones, carbon schemes, interconnectors) or
            ``not set``.
    """

    path: str
    value: str
    source: str
    default: str


def levers(path: str | Path, dataset: Dataset | None = None) -> list[Lever]:
    """The settings scenario file ``path`` gives, directly or through ``extends`` (its own
    first, then by file; module docstring)."""
    chain = [Path(path).resolve(), *extends_chain(path)]
    raws = [read_toml(f) for f in chain]
    for raw in raws:
        raw.pop("extends", None)
    defaults = _defaults(dataset or shipped())
    out = []
    for keys, value in _leaves(resolve_file(Path(path))):
        if keys[:1] in _NOT_LEVERS:
            continue
        setter = next(i for i, raw in enumerate(raws) if _has(raw, keys))
        default, unit, word = _default(keys, defaults)
        if setter == 0 or not _same(value, default):
            out.append(Lever(".".join(keys), show(value, unit), chain[setter].name,
                             "not set" if default is _ABSENT else f"{word} {show(default, unit)}"))
    return sorted(out, key=lambda lv: lv.source != chain[0].name)


def show(value: Any, unit: str = "") -> str:
    """A setting as the file gives it, with its unit: ``100 $/t``, ``strict_eu, sovereign_cn``,
    ``true``; a list of numbers shares one unit."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{_number(value)} {unit}".rstrip()
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return f"{', '.join(_number(v) for v in value)} {unit}".rstrip()
        return ", ".join(show(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {show(v, unit_of(k))}" for k, v in value.items())
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return "none" if value is None else str(value)


def _number(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:,.6g}"


def _leaves(table: dict, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every setting in a scenario table: tables are walked into, an array
    of tables (``_ARRAYS``) or a template is one setting."""
    for key, value in table.items():
        keys = (*prefix, key)
        if keys in _ARRAYS and isinstance(value, list):
            yield keys, _entries(keys, value)
        elif isinstance(value, dict) and prefix != ("templates",):
            yield from _leaves(value, keys)
        else:
            yield keys, value


def _entries(keys: tuple[str, ...], items: list) -> str:
    """One line for an array of tables: how many, which, and for operators their demand."""
    name = _ARRAYS[keys]
    ids = [f"{i.get('src')}-{i.get('dst')}" if name == "src" else str(i.get(name))
           for i in items if isinstance(i, dict)]
    text = f"{len(items)}: {', '.join(ids)}"
    if keys == ("operators",):
        classes = [c for o in items if isinstance(o, dict) for c in o.get("classes", [])
                   if isinstance(c, dict)]
        mw = sum(c.get("demand_mw", 0) for c in classes
                 if isinstance(c.get("demand_mw", 0), int | float))
        text += f" ({len(classes)} workload classes, {_number(mw)} MW)"
    return text


def _has(table: dict, keys: tuple[str, ...]) -> bool:
    node: Any = table
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _field_default(f: Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return _ABSENT


Defaults = dict[tuple[str, ...], tuple[Any, str, str]]


def _defaults(ds: Dataset) -> Defaults:
    """path -> (default, unit, "default" or "shipped") of every setting the schema states a
    default for, and the shipped value of every region and zone field, carbon scheme and
    interconnector."""
    out: Defaults = {}
    for table, cls in TABLES.items():
        for f in fields(cls):
            key = (table, *f.metadata.get("key", f.name).split("."))
            out[key] = (_field_default(f), f.metadata.get("unit", unit_of(f.name)), "default")
    for f in fields(Scenario):
        if "key" in f.metadata:
            out[tuple(f.metadata["key"].split("."))] = (_field_default(f), unit_of(f.name),
                                                        "default")
    out[("regions", "include")] = (EVERY_REGION, "", "default")
    out[("latency", "missing")] = (MISSING_RTT_RULES[0], "", "default")
    out[("population", "clients")] = (CLIENT_MIXES[0], "", "default")
    for rid, region in ds.regions.items():
        for name in REGION_FIELDS:
            out[("regions", "set", rid, name)] = (getattr(region, name), unit_of(name), "shipped")
    for zid, zone in ds.zones.items():
        for name, attr in ZONE_ATTR.items():
            out[("zones", "set", zid, name)] = (getattr(zone, attr), unit_of(name), "shipped")
    grid = load_grid_data(None)
    for scheme in grid.schemes.values():
        out[("grid", "carbon_price_usd_per_t", scheme.id)] = (scheme.price_usd_per_t, "$/t",
                                                               "shipped")
    for line in grid.lines:
        out[("grid", "interconnectors", "capacity_mw", line.id)] = (
            line.capacity_forward_mw, "MW", "shipped")
    return out


def _default(keys: tuple[str, ...], defaults: Defaults) -> tuple[Any, str, str]:
    """The default, unit and kind of default of a setting: its own, or, for a key of a table
    of name -> value (``policy.grid_connection_cap_mw.eu-ireland``), the table's entry."""
    if keys in defaults:
        return defaults[keys]
    parent = defaults.get(keys[:-1])
    if parent is not None and keys[:2] != ("regions", "all"):
        default, unit, word = parent
        entries = dict(default) if isinstance(default, tuple) and all(
            isinstance(e, tuple) and len(e) == 2 for e in default) else {}
        return entries.get(keys[-1], _ABSENT), unit, word
    return _ABSENT, unit_of(keys[-1]), "default"


def _same(value: Any, default: Any) -> bool:
    if default is _ABSENT:
        return False
    if isinstance(value, list):
        value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    if isinstance(value, int | float) and isinstance(default, int | float):
        return float(value) == float(default)
    return bool(value == default)
