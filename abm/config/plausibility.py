"""Plausibility: values a scenario may hold but that are far outside what is typical (a warning,
``PlausibilityWarning``), and values no world can hold (an ``InputError``).

The ranges and their sources are a shipped table, ``abm/data/plausible_ranges.csv`` (one row per
quantity: unit, typical minimum and maximum, what is physically possible, the source), listed in
docs/scenarios.md. :func:`check_plausible` reads a validated scenario's values of each quantity
(PUE, carbon intensities, prices, zone demand, capacity, egress, carbon prices, VoLL, demand per
operator and in all), warns once per quantity and value naming the fields, the range and its
source, and raises for an impossible value (a unit slip such as lb/MWh for g/kWh, or MW for W).
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from abm.config.schema import Scenario
from abm.data.dataset import shipped
from abm.errors import InputError, PlausibilityWarning

RANGES_FILE = Path(__file__).parents[1] / "data" / "plausible_ranges.csv"


@dataclass(frozen=True)
class Range:
    """A quantity's typical and possible values, in ``unit``; ``-inf``/``inf`` where open."""

    quantity: str
    unit: str
    typical_min: float
    typical_max: float
    possible_min: float
    possible_max: float
    source: str

    def amount(self, value: float) -> str:
        """``value`` with the unit."""
        return f"{_number(value)} {self.unit}".rstrip()

    def span(self, low: float, high: float) -> str:
        """``low`` to ``high`` with the unit, an open end left out."""
        if math.isinf(low):
            return f"at most {self.amount(high)}"
        if math.isinf(high):
            return f"at least {self.amount(low)}"
        return f"{_number(low)} to {self.amount(high)}"


def _number(value: float) -> str:
    whole = float(value).is_integer() and abs(value) < 1e15
    return f"{value:,.0f}" if whole else f"{value:,.6g}"


@cache
def ranges() -> dict[str, Range]:
    """The table of plausible ranges by quantity (``abm/data/plausible_ranges.csv``)."""
    def number(text: str, empty: float) -> float:
        return float(text) if text.strip() else empty

    with open(RANGES_FILE, newline="", encoding="utf-8") as fh:
        return {row["quantity"]: Range(
            row["quantity"], row["unit"], number(row["typical_min"], -math.inf),
            number(row["typical_max"], math.inf), number(row["possible_min"], -math.inf),
            number(row["possible_max"], math.inf), row["source"]) for row in csv.DictReader(fh)}


def values(scn: Scenario) -> Iterator[tuple[str, str, float]]:
    """(quantity, field path, value) of every value of ``scn`` the table has a range for."""
    known = shipped()
    for r in scn.regions:
        where = f"regions.set.{r.id}" if r.id in known.regions else f"regions.add ({r.id})"
        for quantity in ("pue", "capacity_mw", "egress_usd_per_gb"):
            yield quantity, f"{where}.{quantity}", getattr(r, quantity)
    for z in scn.zones:
        where = f"zones.set.{z.id}" if z.id in known.zones else f"zones.add ({z.id})"
        yield "avg_carbon_g_per_kwh", f"{where}.avg_carbon_g_per_kwh", z.avg_carbon_kg_per_mwh
        yield ("marginal_carbon_g_per_kwh", f"{where}.marginal_carbon_g_per_kwh",
               z.marginal_carbon_kg_per_mwh)
        yield "price_usd_per_mwh", f"{where}.price_usd_per_mwh", z.price_usd_per_mwh
        yield "load_mw", f"{where}.load_mw", z.load_mw
    p, g = scn.policy, scn.grid
    yield "voll_usd_per_mwh", "policy.voll_usd_per_mwh", p.voll_usd_per_mwh
    price = "carbon_price_usd_per_t"
    yield price, "policy.carbon_price_usd_per_t", p.carbon_price_usd_per_t
    for j, v in p.carbon_price_by_jurisdiction:
        yield price, f"policy.carbon_price_by_jurisdiction.{j}", v
    for scheme, v in g.carbon_price_usd_per_t:
        yield price, f"grid.carbon_price_usd_per_t.{scheme}", v
    yield price, "grid.carbon_price_elsewhere_usd_per_t", g.carbon_price_elsewhere_usd_per_t
    for i, o in enumerate(scn.operators):
        yield (price, f"operators[{i}] ({o.id}).internal_carbon_price_usd_per_t",
               o.internal_carbon_price_usd_per_t)
        yield ("operator_demand_mw", f"operators[{i}] ({o.id}).classes[*].demand_mw (summed)",
               sum(k.demand_mw for k in o.classes))
    drawn = 0.0
    if scn.population is not None:
        for v in scn.population.internal_carbon_price_usd_per_t:
            yield price, "population.internal_carbon_price_usd_per_t", v
        drawn = scn.population.total_demand_mw
    yield ("total_demand_mw", "operators[*].classes[*].demand_mw + population.total_demand_mw",
           sum(k.demand_mw for o in scn.operators for k in o.classes) + drawn)


def check_plausible(scn: Scenario) -> list[str]:
    """Warn (``PlausibilityWarning``) about each value of ``scn`` outside its typical range,
    once per quantity and value, and return the warnings' texts.

    Raises:
        InputError: a value outside what is physically possible (naming the file, the field,
            the bound and its source).
    """
    table = ranges()
    atypical: dict[tuple[str, float], list[str]] = {}
    for quantity, field, value in values(scn):
        r = table[quantity]
        if not r.possible_min <= value <= r.possible_max:
            raise InputError(scn.source, field, f"{r.amount(value)} is impossible: expected "
                             f"{r.span(r.possible_min, r.possible_max)}; is the unit right? "
                             f"(source: {r.source})")
        if not r.typical_min <= value <= r.typical_max:
            atypical.setdefault((quantity, value), []).append(field)
    texts = []
    for (quantity, value), where in atypical.items():
        r = table[quantity]
        fields = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        text = str(InputError(scn.source, fields, f"{r.amount(value)} is outside the typical "
                              f"range, {r.span(r.typical_min, r.typical_max)}; is the unit "
                              f"right? (source: {r.source})"))
        warnings.warn(PlausibilityWarning(text), stacklevel=2)
        texts.append(text)
    return texts
