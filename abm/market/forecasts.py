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
    return quotes[None] * (1.0 + model.rng.normal(0.0, model.market.forecast_noise,
                                                   (n, *quotes.shape)))
