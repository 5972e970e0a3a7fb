"""The grid zones' supply response (abm.grid.supply): calibration, clearing, system emissions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from abm.config.scenario import load_scenario
from abm.core.signals import profile_signals
from abm.grid.supply import calibrate, clear

# Six zones: ordinary, negative price, ~zero carbon (a fossil share of 4e-9), marginal below
# average, zero price, exactly carbon-free.
LOAD = np.array([10_000.0, 5_000.0, 20_000.0, 800.0, 3_000.0, 2_000.0])
PRICE = np.array([60.0, -12.5, 40.0, 130.0, 0.0, 25.0])
AVG = np.array([300.0, 150.0, 1e-6, 500.0, 80.0, 0.0])
MARGINAL = np.array([450.0, 400.0, 250.0, 420.0, 0.0, 300.0])


def stack():
    return calibrate(LOAD, PRICE, AVG, MARGINAL)


def test_calibration_reproduces_base_price_and_carbon_at_reference_load():
    for response in ("merit_order", "linear", "exogenous"):
        c = clear(stack(), LOAD, response)
        np.testing.assert_allclose(c.price_usd_per_mwh, PRICE, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(c.avg_kg_per_mwh, AVG, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(c.emissions_kg, AVG * LOAD, rtol=1e-9, atol=1e-9)


def test_calibration_exact_for_zero_carbon_zones():
    """A regression: a floor on the fossil share once made ~zero-carbon zones clear at
    0.25 kg/MWh instead of their base average at the reference load."""
    load, price = np.array([20_000.0, 20_000.0]), np.array([40.0, -3.0])
    avg, marginal = np.array([0.0, 1e-6]), np.array([250.0, 250.0])
    for response in ("merit_order", "linear"):
        c = clear(calibrate(load, price, avg, marginal), load, response)
        np.testing.assert_allclose(c.price_usd_per_mwh, price, atol=1e-9)
        np.testing.assert_allclose(c.avg_kg_per_mwh, avg, atol=1e-9)


def test_calibration_broadcasts_over_hours_and_zones():
    t = 7
    z = len(LOAD)
    price = np.linspace(-20, 90, t)[:, None] + PRICE[None, :]
    s = calibrate(np.broadcast_to(LOAD, (t, z)), price, np.broadcast_to(AVG, (t, z)),
                  np.broadcast_to(MARGINAL, (t, z)))
    c = clear(s, np.broadcast_to(LOAD, (t, z)))
    np.testing.assert_allclose(c.price_usd_per_mwh, price, atol=1e-9)
    np.testing.assert_allclose(c.avg_kg_per_mwh, np.broadcast_to(AVG, (t, z)), atol=1e-9)


@pytest.mark.parametrize("response", ["merit_order", "linear"])
def test_price_and_emissions_rise_with_load(response):
    s = stack()
    loads = LOAD[None, :] * np.linspace(0.5, 1.5, 41)[:, None]
    out = [clear(s, load, response) for load in loads]
    price = np.array([c.price_usd_per_mwh for c in out])
    emissions = np.array([c.emissions_kg for c in out])
    assert (np.diff(price, axis=0) >= -1e-12).all()
    assert (np.diff(emissions, axis=0) >= -1e-9).all()
    # above the reference load the price strictly rises in every zone
    assert (np.diff(price[20:], axis=0) > 0).all()
    assert (price[-1] > PRICE).all()


def test_marginal_carbon_is_zero_below_the_carbon_free_block():
    s = stack()
    below = s.clean_mw * 0.9
    c = clear(s, below, "merit_order")
    np.testing.assert_array_equal(c.marginal_kg_per_mwh, 0.0)
    np.testing.assert_array_equal(c.emissions_kg, 0.0)
    np.testing.assert_allclose(c.price_usd_per_mwh, s.floor_usd_per_mwh)
    above = clear(s, s.clean_mw * 1.01 + 1.0, "merit_order")
    np.testing.assert_allclose(above.marginal_kg_per_mwh, s.marginal_kg_per_mwh)
    assert (above.marginal_kg_per_mwh > 0).all()
    # linear mode never changes the marginal unit
    np.testing.assert_allclose(clear(s, below, "linear").marginal_kg_per_mwh,
                               s.marginal_kg_per_mwh)


def test_exogenous_ignores_load():
    s = stack()
    a = clear(s, LOAD * 0.3, "exogenous")
    b = clear(s, LOAD * 3.0, "exogenous")
    np.testing.assert_array_equal(a.price_usd_per_mwh, PRICE)
    np.testing.assert_array_equal(b.price_usd_per_mwh, PRICE)
    np.testing.assert_array_equal(a.avg_kg_per_mwh, b.avg_kg_per_mwh)
    np.testing.assert_array_equal(a.marginal_kg_per_mwh, b.marginal_kg_per_mwh)
    np.testing.assert_allclose(b.emissions_kg, AVG * LOAD * 3.0)


@pytest.mark.parametrize("response", ["merit_order", "exogenous"])
def test_emissions_of_added_load_by_hand(response):
    """What the market reports as system emissions of a zone on these stacks: emissions with
    the data-centre load minus without it."""
    s = stack()
    total = LOAD * 1.05
    dc = LOAD * np.array([0.2, 0.05, 0.1, 0.5, 0.01, 0.3])
    got = clear(s, total, response).emissions_kg - clear(s, total - dc, response).emissions_kg
    if response == "merit_order":
        # by hand from the stack: e * (max(L - Q, 0) - max(L - dc - Q, 0))
        fossil = np.maximum(total - s.clean_mw, 0) - np.maximum(total - dc - s.clean_mw, 0)
        np.testing.assert_allclose(got, s.marginal_kg_per_mwh * fossil, rtol=1e-9)
    else:
        np.testing.assert_allclose(got, AVG * dc, rtol=1e-9, atol=1e-12)


def test_unknown_rule_raises():
    with pytest.raises(ValueError, match=r"unknown clearing rule 'nodal'.*merit_order"):
        clear(stack(), LOAD, "nodal")


def test_calibration_within_5_percent_over_a_year():
    """Each shipped zone, hour by hour over 2024, cleared at its reference load, averages to the
    zone's annual price and average carbon within 5%."""
    start = dt.datetime(2024, 1, 1)
    scn = dataclasses.replace(load_scenario(), start=start, hours=8784)
    base = profile_signals(scn, start, 8784)
    assert base.price_usd_per_mwh.shape == (8784, len(scn.zones))
    load = np.broadcast_to(np.array([z.load_mw for z in scn.zones]), (8784, len(scn.zones)))
    s = calibrate(load, base.price_usd_per_mwh, base.avg_carbon_kg_per_mwh,
                  base.marginal_carbon_kg_per_mwh)
    c = clear(s, load, "merit_order")
    checked = 0
    for z, zone in enumerate(scn.zones):
        if abs(zone.price_usd_per_mwh) < 1e-6:
            continue
        assert c.price_usd_per_mwh[:, z].mean() == pytest.approx(zone.price_usd_per_mwh,
                                                                 rel=0.05), zone.id
        assert c.avg_kg_per_mwh[:, z].mean() == pytest.approx(zone.avg_carbon_kg_per_mwh,
                                                              rel=0.05), zone.id
        checked += 1
    assert checked >= 20
