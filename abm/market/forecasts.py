"""Forecast modes, registered by name so that an operator picks one (``operators.forecast``;
docs/market.md).

A mode turns this hour's quotes (this hour's grid cleared with last hour's data-centre grid load
per zone, as placed, not rescaled to this hour's demand) and last hour's cleared signals, both
(Z, 3) arrays of price ($/MWh), average and marginal carbon (kg/MWh), into the (n, Z, 3)
signals its n operators expect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.config.registry import FORECAST_MODES
from abm.core.signals import Signals

if TYPE_CHECKING:
    from abm.market.model import MarketModel


@FORECAST_MODES.register("perfect", "this hour's grid cleared with last hour's placed load")
def perfect(quotes: np.ndarray, last: np.ndarray, n: int, model: MarketModel) -> np.ndarray:
    """The quotes: this hour's grid cleared with last hour's placed data-centre load."""
    return np.broadcast_to(quotes, (n, *quotes.shape))


@FORECAST_MODES.register("persistence", "last hour's cleared signals")
def persistence(quotes: np.ndarray, last: np.ndarray, n: int, model: MarketModel
                ) -> np.ndarray:
    """Last hour's cleared price and carbon."""
    return np.broadcast_to(last, (n, *last.shape))


@FORECAST_MODES.register("noisy", "perfect x (1 + N(0, market.forecast_noise)) per operator")
def noisy(quotes: np.ndarray, last: np.ndarray, n: int, model: MarketModel) -> np.ndarray:
    """The quotes with relative Gaussian noise (sd ``market.forecast_noise``) drawn from the
    model's generator per operator, zone and signal."""
    # quotes (1 + N(0, sd)) in place on one array: rng.normal(0, sd) is 0 + sd z of the same
    # standard normal draws, so the same bits, at about half the CPU (10,000 operators:
    # benchmarks/RESULTS.md)
    noise = model.rng.standard_normal((n, *quotes.shape))
    noise *= model.market.forecast_noise
    noise += 1.0
    noise *= quotes
    return noise


def forecast_ahead(forecast: Signals, base: Signals, hour: int, ahead: int) -> Signals:
    """What operators expect ``ahead`` hours from hour ``hour`` (for plans over deferrable
    work, docs/market.md "Deferrable work"): their forecast for this hour, (O, Z) signals by
    their forecast mode, moved as the zones' base signals (``model.base``, (hours, Z)) move
    between the two hours; carbon never below zero.
    """
    def moved(name: str, floor: float) -> np.ndarray:
        b = getattr(base, name)
        return np.maximum(getattr(forecast, name) + (b[hour + ahead] - b[hour]), floor)

    return Signals(moved("price_usd_per_mwh", -np.inf), moved("avg_carbon_kg_per_mwh", 0.0),
                   moved("marginal_carbon_kg_per_mwh", 0.0))


def extend_days(base: Signals, hours: int) -> Signals:
    """The (H, Z) signals with ``hours`` more hours, repeating the last day (the last 24
    hours, or all of them in a shorter run) hour by hour: what a plan near the run's end
    expects beyond it."""
    n = len(base.price_usd_per_mwh)
    day = min(24, n)
    index = np.concatenate([np.arange(n), n - day + np.arange(hours) % day])
    return Signals(*(np.asarray(getattr(base, f))[index] for f in (
        "price_usd_per_mwh", "avg_carbon_kg_per_mwh", "marginal_carbon_kg_per_mwh")))
