"""How a grid zone answers added load: merit-order, linear or exogenous (vectorised over zones).

The merit-order stack of a zone for one hour has a carbon-free block (renewables, nuclear,
hydro) offered at a floor price, then a fossil ramp whose offer price rises linearly and whose
units emit the zone's marginal factor e (kg/MWh). It is calibrated each hour so that at the
reference load L0 (the zone's mean demand with data-centre load where it would be with no
shifting) it clears at the hour's base price p and base average carbon a exactly:

    fossil at L0:  q0 = a L0 / e          carbon-free block:  Q = L0 - q0
    offer price:   floor + s q            s = w / max(q0, 0.001 L0),  floor = p - s q0,
                                          w = max(|p| / 2, 5 $/MWh)

At load L the fossil output is q = max(L - Q, 0): price = floor + s q, marginal carbon = e when
q > 0 (else 0: the carbon-free block is marginal), emissions = e q, average carbon = e q / L.
The linear rule keeps the calibrated slope but never changes the marginal unit; the exogenous
rule ignores load. ``abm/grid/responses.py`` puts these rules behind the market's grid-response
interface (``calibrated``, ``linear``, ``exogenous``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SPREAD_USD_PER_MWH = 5.0
MIN_FOSSIL_SHARE = 1e-3  # bounds the ramp slope of zones with ~zero average carbon


@dataclass(frozen=True)
class Stack:
    """Calibrated supply of Z zones for one hour; arrays of shape (Z,)."""

    reference_load_mw: np.ndarray
    clean_mw: np.ndarray
    floor_usd_per_mwh: np.ndarray
    slope_usd_per_mwh_per_mw: np.ndarray
    marginal_kg_per_mwh: np.ndarray
    base_price_usd_per_mwh: np.ndarray
    base_avg_kg_per_mwh: np.ndarray


@dataclass(frozen=True)
class Clearing:
    """What zones clear at: price, marginal and average carbon, emissions (kg per hour)."""

    price_usd_per_mwh: np.ndarray
    marginal_kg_per_mwh: np.ndarray
    avg_kg_per_mwh: np.ndarray
    emissions_kg: np.ndarray


def calibrate(reference_load_mw, base_price_usd_per_mwh, base_avg_kg_per_mwh,
              marginal_kg_per_mwh) -> Stack:
    """The stack that clears at the base price and average carbon at the reference load."""
    load = np.asarray(reference_load_mw, dtype=float)
    price = np.asarray(base_price_usd_per_mwh, dtype=float)
    avg = np.asarray(base_avg_kg_per_mwh, dtype=float)
    e = np.maximum(np.asarray(marginal_kg_per_mwh, dtype=float), avg)
    fossil = avg / np.where(e > 0, e, 1.0) * load
    spread = np.maximum(np.abs(price) / 2, MIN_SPREAD_USD_PER_MWH)
    slope = spread / np.maximum(fossil, MIN_FOSSIL_SHARE * load)
    return Stack(load, load - fossil, price - slope * fossil, slope,
                 np.where(e > 0, e, avg), price, avg)


def merit_order(stack: Stack, load_mw: np.ndarray) -> Clearing:
    """Clear the calibrated merit-order stack: fossil output fills what the clean block leaves."""
    fossil = np.maximum(load_mw - stack.clean_mw, 0.0)
    emissions = stack.marginal_kg_per_mwh * fossil
    return Clearing(stack.floor_usd_per_mwh + stack.slope_usd_per_mwh_per_mw * fossil,
                    np.where(fossil > 0, stack.marginal_kg_per_mwh, 0.0),
                    emissions / np.where(load_mw > 0, load_mw, 1.0), emissions)


def linear(stack: Stack, load_mw: np.ndarray) -> Clearing:
    """Price and emissions move linearly with load away from the reference load."""
    delta = load_mw - stack.reference_load_mw
    price = stack.base_price_usd_per_mwh + stack.slope_usd_per_mwh_per_mw * delta
    emissions = stack.base_avg_kg_per_mwh * stack.reference_load_mw + \
        stack.marginal_kg_per_mwh * delta
    return Clearing(price, stack.marginal_kg_per_mwh.copy(),
                    emissions / np.where(load_mw > 0, load_mw, 1.0), emissions)


def exogenous(stack: Stack, load_mw: np.ndarray) -> Clearing:
    """Zones clear at the hour's base price and carbon whatever the load."""
    avg = stack.base_avg_kg_per_mwh
    return Clearing(stack.base_price_usd_per_mwh.copy(), stack.marginal_kg_per_mwh.copy(),
                    avg.copy(), avg * load_mw)


RULES = {"merit_order": merit_order, "linear": linear, "exogenous": exogenous}


def clear(stack: Stack, load_mw, rule: str = "merit_order") -> Clearing:
    """Clear zones at total load ``load_mw`` (MW) by ``rule`` (a key of ``RULES``)."""
    if rule not in RULES:
        raise ValueError(f"unknown clearing rule {rule!r}; allowed: {', '.join(RULES)}")
    return RULES[rule](stack, np.asarray(load_mw, dtype=float))
