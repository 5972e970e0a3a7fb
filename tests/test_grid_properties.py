"""Coupled clearing checked against scipy's linprog, optimality conditions and finite differences
on small random systems."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from abm.grid.clearing import TOLERANCE_MW
from tests.grid_systems import PRICE_CAP, market, random_system


def linprog_cost(units, lines, n_zones, load) -> float:
    """Minimum dispatch cost by scipy's linprog (HiGHS' other interface: a separate model)."""
    nu, nl = len(units), len(lines)
    c = np.concatenate([[u["fuel"] for u in units], np.zeros(nl), np.full(n_zones, PRICE_CAP)])
    a = np.zeros((n_zones, nu + nl + n_zones))
    for i, u in enumerate(units):
        a[u["zone"], i] = 1
    for j, (f, t, _, _) in enumerate(lines):
        a[f, nu + j] -= 1
        a[t, nu + j] += 1
    a[:, nu + nl:] = np.eye(n_zones)
    bounds = ([(0, u["mw"]) for u in units] + [(-r, fw) for _, _, fw, r in lines]
              + [(0, None)] * n_zones)
    res = linprog(c, A_eq=a, b_eq=load, bounds=bounds, method="highs-ipm")
    assert res.status == 0
    return float(res.fun)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_zones=st.integers(1, 5), n_lines=st.integers(0, 6),
       scale=st.floats(0.1, 3.0))
def test_clearing_matches_linprog_and_is_optimal(seed, n_zones, n_lines, scale):
    """Two clearings of one market (the second may keep the first's basis, without HiGHS):
    each costs what linprog finds and its prices satisfy the optimality conditions."""
    rng = np.random.default_rng(seed)
    units, lines = random_system(rng, n_zones, n_lines)
    m = market(units, lines, n_zones)
    first = rng.uniform(0, 150, n_zones) * scale
    for load in (first, first * rng.uniform(0.9, 1.1, n_zones)):
        d = m.clear(load)
        assert d.cost_usd == pytest.approx(linprog_cost(units, lines, n_zones, load), rel=1e-7,
                                           abs=1e-6)
        assert_optimal(m, units, lines, load, d)


def assert_optimal(m, units, lines, load, d) -> None:
    """Balance, and the optimality conditions: a unit's offer is <= its zone's price if it
    runs at all, >= it if it has room; an unconstrained line carries no price difference;
    shedding at the cap only."""
    gen = d.generation_mw.sum(axis=1)
    assert gen + d.net_import_mw + d.unserved_mw == pytest.approx(load, abs=1e-6)
    offer, price = m.offer_usd_per_mwh, d.price_usd_per_mwh
    g_unit = np.zeros(len(units))  # per unit generation, from the zone's merit order
    for i, u in enumerate(units):  # one unit per (zone, tech): read it from generation_mw
        g_unit[i] = d.generation_mw[u["zone"], m.fleet.technology[i]]
    zone = m.fleet.zone
    tol = 1e-6 * (1 + np.abs(price[zone]))
    running = g_unit > TOLERANCE_MW
    has_room = g_unit < m.fleet.capacity_mw - TOLERANCE_MW
    assert (offer[running] <= price[zone][running] + tol[running]).all()
    assert (offer[has_room] >= price[zone][has_room] - tol[has_room]).all()
    for k, (a, b, fw, back) in enumerate(lines):
        if -back + 1e-6 < d.flow_mw[k] < fw - 1e-6:
            assert price[a] == pytest.approx(price[b], rel=1e-6, abs=1e-6)
        assert d.congested[k] == (not -back + 1e-6 < d.flow_mw[k] < fw - 1e-6)
    assert (price <= PRICE_CAP + 1e-6).all()
    assert np.allclose(price[d.unserved_mw > 1e-6], PRICE_CAP)


def test_marginal_carbon_and_price_are_finite_differences():
    """The next MW's unit: its factor is d(system emissions)/d(zone load) and its offer the
    d(cost)/d(load), on 40 random systems (a step of 0.01 MW)."""
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(40):
        n_zones = int(rng.integers(1, 5))
        units, lines = random_system(rng, n_zones, int(rng.integers(0, 5)))
        m = market(units, lines, n_zones)
        load = rng.uniform(0, 150, n_zones)
        d = m.clear(load)
        for z in range(n_zones):
            up = load.copy()
            up[z] += 0.01
            d1 = m.clear(up)
            assert (d1.emissions_total_kg - d.emissions_total_kg) / 0.01 == pytest.approx(
                d.marginal_carbon_kg_per_mwh[z], rel=1e-4, abs=1e-3)
            assert (d1.cost_usd - d.cost_usd) / 0.01 == pytest.approx(
                d.price_usd_per_mwh[z], rel=1e-4, abs=1e-3)
            checked += 1
    assert checked > 60


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_zones=st.integers(1, 5), n_lines=st.integers(0, 6))
def test_any_base_prices_are_reproduced_at_the_status_quo(seed, n_zones, n_lines):
    """Random fleets, lines, loads (within each zone's capacity), carbon targets and base
    prices, two hours: calibrated, every zone clears at its base price at the status quo, every
    line is at its hour's limit towards the dearer end, and the coupled clearing (in the second
    hour from the status quo the calibration built, without HiGHS where that is accepted)
    costs what linprog finds with the calibrated offers, there and at a load moved from it."""
    rng = np.random.default_rng(seed)
    units, lines = random_system(rng, n_zones, n_lines)
    capacity = np.bincount([u["zone"] for u in units], weights=[u["mw"] for u in units],
                           minlength=n_zones)
    m = market(units, lines, n_zones, mean_load_mw=list(rng.uniform(0.2, 0.8) * capacity))
    for hour in range(2):
        price = rng.uniform(10, 100, n_zones)
        cal = m.set_hour(1, hour, np.zeros(n_zones), rng.uniform(0, 900, n_zones), price)
        np.testing.assert_allclose(cal.price_usd_per_mwh, price, rtol=1e-9)
        d = m.clear(m.background_mw)
        assert not d.unserved_mw.any()
        ends = m.line_zones
        towards = np.sign(price[ends[:, 1]] - price[ends[:, 0]])
        limit = np.where(towards > 0, cal.transfer_limit_mw[:, 0], -cal.transfer_limit_mw[:, 1])
        np.testing.assert_allclose(d.flow_mw, limit, atol=1e-6)
        offers = [dict(u, fuel=o) for u, o in zip(units, m.offer_usd_per_mwh, strict=True)]
        limited = [(a, b, f, r) for (a, b, _, _), (f, r) in zip(lines, m.line_capacity_mw,
                                                                  strict=True)]
        for load in (m.background_mw, m.background_mw * rng.uniform(0.9, 1.1, n_zones)):
            d = m.clear(load)
            assert d.cost_usd == pytest.approx(
                linprog_cost(offers, limited, n_zones, d.load_mw), rel=1e-7, abs=1e-6)


def test_persistent_model_equals_a_fresh_one():
    """One market cleared hour after hour (new availability, wind sometimes at 0, new loads, a
    new carbon price) gives what a market built afresh for each clearing gives: nothing stale
    survives in the warm-started HiGHS model, the kept basis or the caches."""
    rng = np.random.default_rng(11)
    n_zones = 4
    units, lines = random_system(rng, n_zones, 4)
    units += [dict(zone=z, tech="wind", mw=rng.uniform(20, 80), avail=rng.uniform(0.2, 0.5),
                   calibrated=True) for z in range(n_zones)]
    kept = market(units, lines, n_zones, mean_load_mw=60.0)
    for step in range(40):
        carbon = [float(step % 3) * 40.0] * n_zones
        target = rng.uniform(0, 1500, n_zones)  # often out of reach: no wind at all
        if step % 4 == 3:
            kept.set_carbon_prices(np.array(carbon))
        else:
            carbon = list(kept.carbon_price_usd_per_t)
        # the kept market calibrates under its first carbon price (0) throughout
        fresh = market(units, lines, n_zones, carbon=carbon, mean_load_mw=60.0,
                       calibration_carbon=0.0)
        hour = (step % 12 + 1, step % 24, rng.uniform(0, 30, n_zones), target,
                rng.uniform(10, 100, n_zones))
        kept.set_hour(*hour)
        fresh.set_hour(*hour)
        for load in (kept.background_mw, kept.background_mw + rng.uniform(0, 40, n_zones)):
            a, b = kept.clear(load), fresh.clear(load)
            assert a.cost_usd == pytest.approx(b.cost_usd, rel=1e-9, abs=1e-9)
            assert a.generation_mw == pytest.approx(b.generation_mw, abs=1e-6)
            assert a.price_usd_per_mwh == pytest.approx(b.price_usd_per_mwh, abs=1e-6)
