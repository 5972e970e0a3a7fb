"""Forecast modes (``abm.market.forecasts``)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from abm.config.registry import FORECAST_MODES


@pytest.mark.parametrize("sd", [0.0, 0.1, 2.5])
def test_noisy_is_the_quotes_times_one_plus_normal_noise(sd):
    """The noisy mode is quotes (1 + N(0, sd)) drawn per operator, zone and signal from the
    model's generator, bit for bit what numpy's ``normal(0, sd)`` draws give, and it leaves
    the generator where those draws leave it (the run's later draws unchanged)."""
    quotes = np.random.default_rng(0).uniform(-50.0, 400.0, (7, 3))
    model = SimpleNamespace(rng=np.random.default_rng(11),
                            market=SimpleNamespace(forecast_noise=sd))
    got = FORECAST_MODES["noisy"](quotes, quotes * 0.0, 5, model)
    ref_rng = np.random.default_rng(11)
    expected = quotes[None] * (1.0 + ref_rng.normal(0.0, sd, (5, 7, 3)))
    assert got.shape == (5, 7, 3)
    np.testing.assert_array_equal(got, expected)
    assert model.rng.random() == ref_rng.random()
