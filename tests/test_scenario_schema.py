"""Each scenario default is stated once, in the schema (abm/config/schema.py): the table of keys
and defaults in docs/scenarios.md must say the same, key by key, and the parser must apply it."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from abm.config import schema
from abm.config.parse import parse_scenario
from abm.config.registry import STRATEGIES
from abm.config.schema import (
    Grid,
    LatencyPair,
    Market,
    Network,
    Operator,
    Policy,
    Population,
    Scenario,
    WorkloadClass,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"

# The TOML table each schema class is read from.
TABLES = {"scenario": Scenario, "network": Network, "policy": Policy, "market": Market,
          "grid": Grid, "operators": Operator, "operators.classes": WorkloadClass,
          "population": Population, "latency.pairs": LatencyPair}
# Fields read from a key of another name or table.
KEYS = {"grid.interconnector_scale": "grid.interconnectors.capacity_scale",
        "grid.interconnector_capacity_mw": "grid.interconnectors.capacity_mw",
        "scenario.capacity": "regions.capacity", "scenario.trace": "signals.trace",
        "scenario.residency_rules": "policy.residency_rules"}
# Defaulted fields that are not a key of the file: whole tables of their own, a field filled
# from another key, a placeholder the file must replace when it is read.
NOT_KEYS = {"scenario.market", "scenario.grid", "scenario.population", "scenario.templates",
            "scenario.strategy_settings", "scenario.events", "grid.stack_from",
            "scenario.capacity_per_local_demand"}  # required with capacity = "local_demand"
# Keys whose defaults are not fields of the objects (schema constants).
CONSTANTS = {"regions.include": schema.EVERY_REGION, "operators.footprint": schema.EVERY_REGION,
             "latency.missing": schema.MISSING_RTT_RULES[0],
             "population.clients": schema.CLIENT_MIXES[0]}
# Keys docs/scenarios.md gives a default that the schema does not hold.
FILE_ONLY = {"extends"}  # absent: the file inherits nothing (abm.config.resolve)


def schema_defaults() -> dict[str, Any]:
    """Dotted TOML key -> default, from the schema."""
    out: dict[str, Any] = dict(CONSTANTS)
    for table, cls in TABLES.items():
        for f in dataclasses.fields(cls):
            if f.default is dataclasses.MISSING:
                continue
            name = f"{table}.{f.name}"
            if name not in NOT_KEYS:
                out[KEYS.get(name, name)] = f.default
    return out


def split_top(text: str) -> list[str]:
    """``text`` split at commas outside brackets and braces."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [p.strip() for p in [*parts, text[start:]]]


def doc_defaults() -> dict[str, str]:
    """Dotted TOML key -> the default column's text, from the table in docs/scenarios.md. A row
    names keys (``a``, ``b``) of the table its first key opens (``[t] a``, ``[[t]] a``) or of
    the last table opened; ``[t.u]`` alone with a default is the key ``t.u``."""
    text = DOC.read_text()
    section = text[text.index("## Tables"):]
    section = section[:section.index("\n## ", 1)]
    out: dict[str, str] = {}
    table = ""
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        keys = [k for k in cells[0].replace("`", "").split(",") if k.strip()]
        default = re.sub(r"\s*\(.*\)$", "", cells[2])  # a remark in brackets is not the value
        named = []
        for key in keys:
            m = re.fullmatch(r"\s*(\[\[?)([\w.]+)(\]\]?)\s*(\w*)\s*", key)
            if m is None:
                named.append(key.strip())
                continue
            table, rest = m.group(2), m.group(4)
            if rest:
                named.append(rest)
            elif m.group(1) == "[" and default and "." in table:
                named.append(table.rsplit(".", 1)[1])  # [t.u] alone: the key u of t
                table = table.rsplit(".", 1)[0]
        if not named or not default or default.startswith("required"):
            continue
        values = split_top(default) if len(named) > 1 else [default]
        assert len(values) == len(named), f"docs/scenarios.md: {named} but defaults {values}"
        for key, value in zip(named, values, strict=True):
            out[f"{table}.{key}" if table else key] = value
    return out


def as_data(value: Any) -> Any:
    """Tuples and (key, value) pairs as the lists and tables TOML writes, compared as lists."""
    if isinstance(value, dict):
        return [[k, as_data(v)] for k, v in sorted(value.items())]
    if isinstance(value, tuple | list):
        if value and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str)
                         for v in value):
            return as_data(dict(value))
        return [as_data(v) for v in value]
    return value


def parse_doc_value(text: str) -> Any:
    """A default as the docs write it: a TOML value, ``none``, or a bare word (a string)."""
    if text == "none":
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def same(doc: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(doc, bool):
        return doc is default
    return as_data(doc) == as_data(default)


def test_docs_state_every_schema_default():
    documented, defaults = doc_defaults(), schema_defaults()
    missing = sorted(set(defaults) - set(documented))
    assert not missing, f"docs/scenarios.md gives no default for {missing}"
    unknown = sorted(set(documented) - set(defaults) - FILE_ONLY)
    assert not unknown, f"docs/scenarios.md gives defaults the schema does not have: {unknown}"
    wrong = {k: (documented[k], defaults[k]) for k in defaults
             if not same(parse_doc_value(documented[k]), defaults[k])}
    assert not wrong, f"docs/scenarios.md (doc, schema) disagree: {wrong}"


def test_docs_state_strategy_parameters():
    """The ``[strategies.NAME]`` row gives each registered parameter's class default."""
    row = next(line for line in DOC.read_text().splitlines()
               if line.startswith("| `[strategies.NAME]`"))
    documented = {name: float(v) for name, v in re.findall(r"`(\w+)` \(([\d.]+)\)", row)}
    declared = {p: float(getattr(STRATEGIES[s], p)) for s in STRATEGIES.names()
                for p in STRATEGIES[s].parameters}
    assert declared and documented == declared


def test_doc_table_reader_sees_the_table():
    """The reader above finds the keys it must (so the checks cannot pass on an empty table)."""
    documented = doc_defaults()
    assert {"scenario.hours", "policy.voll_usd_per_mwh", "market.expansion_fraction",
            "grid.interconnectors.capacity_mw", "operators.classes.replicas",
            "population.classes"} <= set(documented)
    assert documented["market.expansion_lag_hours"] == "72"
    assert documented["population.classes"] == "[1, 3]"


MINIMAL = """
[scenario]
name = "minimal"
[regions]
include = ["us-east-va", "eu-ireland"]
[[operators]]
id = "o"
[[operators.classes]]
id = "c"
client = "us-east-va"
demand_mw = 1.0
budget_ms = 100.0
overhead_ms = 0.0
egress_gb_per_mwh = 0.0
state_gb_per_mw = 0.0
stateful = false
[population]
operators = 2
total_demand_mw = 5.0
[templates.t]
budget_ms = 100.0
"""


@pytest.fixture(scope="module")
def minimal() -> Scenario:
    return parse_scenario(tomllib.loads(MINIMAL), "minimal.toml")


@pytest.mark.parametrize("cls", [Policy, Market, Grid])
def test_parser_applies_schema_defaults(minimal, cls):
    """A file that sets nothing in a table gets exactly the schema's defaults."""
    section = {Policy: minimal.policy, Market: minimal.market, Grid: minimal.grid}[cls]
    assert section == cls()


def test_parser_applies_object_defaults(minimal):
    op, = minimal.operators
    (cls,) = op.classes
    for f in ("internal_carbon_price_usd_per_t", "capacity_share", "warmup_usd_per_mw",
              "migration_fee_usd_per_mw", "latency_penalty_usd_per_ms_mwh", "forecast",
              "strategy"):
        assert getattr(op, f) == getattr(Operator, f)
    assert op.footprint == minimal.region_ids
    for f in ("replicas", "allowed_jurisdictions", "diurnal_amplitude"):
        assert getattr(cls, f) == getattr(WorkloadClass, f)
    for f in ("description", "start", "hours", "seed", "capacity", "trace"):
        assert getattr(minimal, f) == getattr(Scenario, f)
    assert minimal.regional_rtt_ms == Network.regional_rtt_ms
    pop = minimal.population
    for f in ("size_sigma", "classes", "footprints", "continental_rtt_ms",
              "internal_carbon_price_usd_per_t", "warmup_usd_per_mw", "forecast", "strategies"):
        assert getattr(pop, f) == getattr(Population, f)
