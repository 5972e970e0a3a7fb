"""What differs between two validated scenarios, setting by setting: the levers of a scenario
against a baseline (the set-up table of ``abm report``).

Every field of ``Scenario`` is compared except the horizon and naming fields (``_FRAME``: the
report shows start, hours and seeds beside the levers) and output settings (``_OUTPUT``); a
test checks that no field is left out unnoticed. Sections (policy, market, grid, population)
are walked field by field; tables of name -> value (templates, carbon schemes, strategy
settings) key by key; arrays of entries with an id or a name (regions, zones, clients, events,
...) entry by entry; hourly profiles and latency matrices by how many entries differ. Listed
operators are summed up: the same change in many classes is one line with its count, as a
template changes every class it applies to. Each line reads ``path = value (baseline value)``,
paths as the scenario file writes them (docs/scenarios.md).
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from abm.config.levers import show, unit_of
from abm.config.schema import Event, Scenario
from abm.data.grid_scale import Scale

# fields shown beside the levers (the report's set-up facts) or naming the scenario
_FRAME = frozenset({"name", "description", "source", "start", "hours", "seed"})
# settings of what a run writes, not of what it models
_OUTPUT = frozenset({"market.operator_detail"})
# fields of entries that describe rather than set (a zone's flags of where its data came from)
_NOTES = frozenset({"assumed", "overridden"})
_LONG = 8  # a list of more values than this shows its first ones and how many
_FEW = 3  # listed operators: at most this many different changes of a setting are each a line
# the order lines are listed in: the levers a file usually sets first, listed operators last
ORDER = ("policy", "residency_rules", "market", "grid", "population", "templates",
         "strategy_settings", "events", "trace", "capacity", "capacity_per_local_demand",
         "regional_rtt_ms", "zones", "regions", "latency", "clients", "service_nodes",
         "profiles", "operators")


def differences(base: Scenario, other: Scenario) -> list[str]:
    """Every setting in which ``other`` differs from ``base``, one line each (module
    docstring), in ``ORDER``."""
    by_name = {f.name: f for f in fields(Scenario)}
    out: list[str] = []
    for name in ORDER:
        a, b = getattr(base, name), getattr(other, name)
        if name == "operators":
            out += _operators(a, b)
        else:
            out += _grouped(_diff(by_name[name].metadata.get("key", name), a, b))
    return out


def _grouped(lines: list[str]) -> list[str]:
    """Lines that differ only in the name of one entry of a table, with the same values, as
    one line naming the entries where the first of them stood: by the entry's name after the
    section (``templates.{batch, interactive}.deferrable_share = 0.3``), then by the last name
    (``grid.carbon_price_usd_per_t.{eu_ets, rggi} = 100 $/t``)."""
    return _merge(_merge(lines, 1), -1)


def _merge(lines: list[str], at: int) -> list[str]:
    """``_grouped`` by the name at position ``at`` of the dotted path."""
    groups: dict[str, list[str]] = {}  # the line with that name as "*" -> the names
    for line in lines:
        path, eq, rest = line.partition(" = ")
        parts = path.split(".")
        if not eq or "{" in path or len(parts) < (3 if at == 1 else 2):
            groups[line] = []
            continue
        name, parts[at] = parts[at], "*"
        groups.setdefault(f"{'.'.join(parts)}{eq}{rest}", []).append(name)
    out = []
    for key, names in groups.items():
        if not names:
            out.append(key)
        else:
            shown = names[0] if len(names) == 1 else "{" + ", ".join(names) + "}"
            path, eq, rest = key.partition(" = ")
            parts = path.split(".")
            parts[at] = shown
            out.append(f"{'.'.join(parts)}{eq}{rest}")
    return out


def _same(a: Any, b: Any) -> bool:
    """Equality that compares arrays by value and dataclasses holding arrays field by field."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.shape == b.shape and bool(np.array_equal(a, b)))
    if is_dataclass(a) and is_dataclass(b) and type(a) is type(b):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if _number(a) and _number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


_UNSET = object()  # a key one table gives and the other does not


def _value(value: Any, path: str) -> str:
    """A value with the unit the nearest name on its path states."""
    if value is _UNSET:
        table = path.rsplit(".", 1)[0]
        return f"not set: {_UNSET_MEANS[table]}" if table in _UNSET_MEANS else "not set"
    if is_dataclass(value):
        return "set"
    unit = next((u for u in map(unit_of, reversed(path.split("."))) if u), "")
    if isinstance(value, tuple) and len(value) > _LONG:
        return f"{show(value[:_LONG], unit)}, ... ({len(value)} in all)"
    return show(value, unit)


def _line(path: str, a: Any, b: Any) -> str:
    return f"{path} = {_value(b, path)} (baseline {_value(a, path)})"


# what a key of a table that is not set stands for, where it is not nothing
_UNSET_MEANS = {"grid.carbon_price_usd_per_t": "shipped 2024 price",
                "grid.interconnectors.capacity_mw": "shipped capacity"}


def _table(value: Any) -> dict | None:
    """A table of name -> value as a dict: a tuple of (str, value) pairs, or of entries named
    by ``id`` or ``name``, or of grid scale factors (by their scenario key); None otherwise."""
    if not isinstance(value, tuple):
        return None
    if not value:
        return {}
    if all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
        return dict(value)
    if all(is_dataclass(v) for v in value):
        for attr in ("id", "name"):
            if all(hasattr(v, attr) for v in value):
                return {getattr(v, attr): v for v in value}
        if all(isinstance(v, Scale) for v in value):
            return {v.key: v.factor for v in value}
    return None


def _diff(path: str, a: Any, b: Any) -> list[str]:
    """The lines by which b differs from a at ``path``."""
    if _same(a, b):
        return []
    if isinstance(a, dict) and isinstance(b, dict):  # hourly profiles, by (zone or region, kind)
        keys = [*a, *(k for k in b if k not in a)]
        changed = ["/".join(k) if isinstance(k, tuple) else str(k) for k in keys
                   if not _same(a.get(k), b.get(k))]
        more = ", ..." if len(changed) > 3 else ""
        return [f"{path}: {len(changed)} of {len(keys)} changed ({', '.join(changed[:3])}{more})"]
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape != b.shape:
            return [f"{path}: shape {b.shape} (baseline {a.shape})"]
        return [f"{path}: {int(np.sum(a != b))} of {a.size} entries changed"]
    if is_dataclass(a) and is_dataclass(b) and type(a) is type(b):
        out = []
        for f in fields(a):
            sub = f"{path}.{f.metadata.get('key', f.name)}"
            if f.name not in _NOTES and sub not in _OUTPUT:
                out += _diff(sub, getattr(a, f.name), getattr(b, f.name))
        return out
    ta, tb = _table(a), _table(b)
    if ta is None or tb is None:
        return [_line(path, a, b)]
    if any(isinstance(v, Scale) for v in (*a, *b)):
        return [_line(k, ta.get(k, _UNSET), tb.get(k, _UNSET))
                for k in [*ta, *(k for k in tb if k not in ta)]
                if not _same(ta.get(k, _UNSET), tb.get(k, _UNSET))]
    added = [k for k in tb if k not in ta]
    removed = [str(k) for k in ta if k not in tb]
    entries = any(is_dataclass(v) for v in (*ta.values(), *tb.values()))
    out = []
    if entries:
        out += [f"{path}: added {', '.join(_entry(k, tb[k]) for k in added)}"] if added else []
        out += [f"{path}: removed {', '.join(removed)}"] if removed else []
    for key in [*ta, *(k for k in tb if k not in ta)]:
        va, vb = ta.get(key, _UNSET), tb.get(key, _UNSET)
        if va is _UNSET or vb is _UNSET:
            out += [] if entries else [_line(f"{path}.{key}", va, vb)]
        else:
            out += _diff(f"{path}.{key}", va, vb)
    return out


def _entry(key: str, entry: Any) -> str:
    """An added entry: its name, and for a demand-response event what it asks."""
    if isinstance(entry, Event):
        when = (f"from hour {entry.start_hour}" if entry.start_hour is not None
                else f"when {entry.trigger} calls it")
        return f"{key} ({entry.zone}, -{show(entry.cut_pct)} % for {entry.hours} h {when})"
    return str(key)


def _operators(a: tuple, b: tuple) -> list[str]:
    """Listed operators: added and removed ones by id, then each setting (of an operator or of
    its classes) that changes, one line each with the number of operators (and classes) it
    changes in: with its values where every change is the same, else its factor where every
    change is by the same factor, else how many it changes in."""
    ea, eb = {o.id: o for o in a}, {o.id: o for o in b}
    out = [f"operators: added {', '.join(k for k in eb if k not in ea)}"] \
        if eb.keys() - ea.keys() else []
    out += [f"operators: removed {', '.join(k for k in ea if k not in eb)}"] \
        if ea.keys() - eb.keys() else []
    changes: dict[str, list[tuple[str, Any, Any]]] = {}  # path -> (operator, old, new)
    for key in (k for k in ea if k in eb):
        for f in fields(ea[key]):
            va, vb = getattr(ea[key], f.name), getattr(eb[key], f.name)
            if f.name != "classes":
                if not _same(va, vb):
                    changes.setdefault(f"operators.{f.name}", []).append((key, va, vb))
                continue
            ca, cb = {c.id: c for c in va}, {c.id: c for c in vb}
            for cid in ca.keys() ^ cb.keys():
                word = "added" if cid in cb else "removed"
                changes.setdefault(f"operators.classes: {word}", []).append((key, None, None))
            for cid in (c for c in ca if c in cb):
                for g in fields(ca[cid]):
                    ga, gb = getattr(ca[cid], g.name), getattr(cb[cid], g.name)
                    if not _same(ga, gb):
                        changes.setdefault(f"operators.classes.{g.name}", []).append(
                            (key, ga, gb))
    def where(path: str, made: list[tuple[str, Any, Any]]) -> str:
        classes = f"{len(made)} classes of " if ".classes" in path else ""
        return f"{classes}{len({m[0] for m in made})} of {len(ea)} listed operators"

    for path, made in changes.items():
        if path.startswith("operators.classes:"):
            out.append(f"{path} {where(path, made)}")
            continue
        by_values: dict[tuple[str, str], list[tuple[str, Any, Any]]] = {}
        for m in made:
            by_values.setdefault((_value(m[1], path), _value(m[2], path)), []).append(m)
        ratios = {m[2] / m[1] for m in made if _number(m[1]) and _number(m[2]) and m[1] != 0}
        if len(by_values) <= _FEW:
            out += [f"{path} = {new} (baseline {old}) in {where(path, same)}"
                    for (old, new), same in by_values.items()]
        elif len(ratios) == 1 and len(made) == sum(_number(m[1]) and m[1] != 0 for m in made):
            out.append(f"{path} x {show(ratios.pop())} in {where(path, made)}")
        else:
            out.append(f"{path} changed in {where(path, made)}")
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
