"""Forecast modes (``abm.market.forecasts``)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from abm.config.registry import FORECAST_MODES
from abm.config.scenario import load_scenario
from abm.core.costs import energy_cost, placement_carbon
from abm.core.signals import Signals
from abm.market.model import MarketModel


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


def test_the_market_keeps_a_shared_forecast_once_and_builds_the_same_arrays():
    """Operators keep one row of signals for a mode that forecasts the same for all its
    operators (perfect, persistence) and one per operator otherwise (noisy); the (O, Z)
    forecast built from them is each mode's output at its operators' rows, and the hour's
    energy cost and placement carbon from the rows are ``energy_cost``'s and
    ``placement_carbon``'s of that forecast, bit for bit (the default scenario mixes the three
    modes)."""
    model = MarketModel(load_scenario(None), hours=3)
    model.step()
    model.prepare_hour(1)
    ops, zones, rent = model.operators, model.zones, model.regions.posted_rent_usd_per_mwh
    state = model.rng.bit_generator.state
    ops.forecast_signals(zones)  # again, from the generator's state above
    ops.build_costs(rent)
    drawn = np.random.default_rng()
    drawn.bit_generator.state = state
    reference = SimpleNamespace(rng=drawn, market=model.market)
    quotes, last = zones.quoted(), zones.cleared()
    out = np.empty((len(ops.by_index), *quotes.shape))
    for name, rows in ops.forecasters:
        out[rows] = FORECAST_MODES[name](quotes, last, len(rows), reference)
    modes = dict(ops.forecasters)
    assert set(modes) == {"perfect", "persistence", "noisy"}
    assert len(ops.forecast_rows) == 2 + len(modes["noisy"])
    expected = Signals(out[..., 0], out[..., 1], out[..., 2])
    for field in ("price_usd_per_mwh", "avg_carbon_kg_per_mwh", "marginal_carbon_kg_per_mwh"):
        np.testing.assert_array_equal(getattr(ops.forecast, field), getattr(expected, field))
    assert ops.forecast_energy_usd_per_mwh.tobytes() == energy_cost(
        model.inst, expected, rent).tobytes()
    assert ops.forecast_carbon_kg_per_mwh.tobytes() == placement_carbon(
        model.inst, expected).tobytes()
    assert model.rng.random() == drawn.random()
