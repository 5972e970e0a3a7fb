"""The hourly availability calibration: hand-solved, and reached for any reachable target."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.data.grid_tables import TECHNOLOGIES
from abm.grid.availability import DAYS_PER_MONTH, daylight_shape
from abm.grid.market import GridMarket
from tests.grid_systems import fleet, market, network

WIND, SOLAR, COAL = (TECHNOLOGIES.index(t) for t in ("wind", "solar", "coal"))


def zone():
    """Nuclear 500 MW available at 0.9 (450 MW, 10 $/MWh); wind 400 MW (annual capacity factor
    0.3) and solar 200 MW (0.2) at zero; coal 300 MW (20 $/MWh, 850 kg/MWh) then gas 300 MW
    (40 $/MWh, 360 kg/MWh)."""
    units = [dict(tech="nuclear", mw=500, fuel=10, avail=0.9),
             dict(tech="wind", mw=400, avail=0.3, calibrated=True),
             dict(tech="solar", mw=200, avail=0.2, calibrated=True),
             dict(tech="coal", mw=300, fuel=20, co2=0.85),
             dict(tech="gas_ccgt", mw=300, fuel=40, co2=0.36)]
    return market(units, [], 1, mean_load_mw=1000.0)


def test_calibration_by_hand():
    """Load 1,000 MW, target 200 kg/MWh: 200,000 kg come from coal above the 450 MW of nuclear,
    so the other units serve R = 450 + 200,000 / 850 = 685.29 MW and wind and solar
    V = 314.71 MW. Below s = 1 / 0.3 both grow linearly, V(s) = (400 x 0.3 + 200 x 0.2) s, so
    s = 314.71 / 160 = 1.9669; the zone clears at coal's 20 $/MWh."""
    m = zone()
    cal = m.set_hour(1, 0, np.zeros(1), np.array([200.0]), np.array([25.0]))
    rest = 450 + 200_000 / 850
    s = (1000 - rest) / 160
    assert cal.reference_load_mw == pytest.approx([1000.0])
    assert cal.weather_factor == pytest.approx([s])
    assert cal.availability[0, [WIND, SOLAR]] == pytest.approx([0.3 * s, 0.2 * s])
    assert cal.avg_carbon_kg_per_mwh == pytest.approx([200.0])
    assert cal.reached.tolist() == [True]
    assert cal.price_usd_per_mwh == pytest.approx([20.0])
    d = m.clear(m.background_mw)
    assert d.generation_mw[0, COAL] == pytest.approx(200_000 / 850)
    assert d.avg_carbon_kg_per_mwh == pytest.approx([200.0])


def test_a_generator_carbon_price_changes_dispatch_not_the_weather():
    """Calibrated at 0 $/t (the observed year), cleared at 100 $/t: the same wind and solar,
    but gas (40 + 36 = 76 $/MWh) now runs before coal (20 + 85 = 105 $/MWh), so the same
    load emits less: 450 MW nuclear, V wind and solar, then 300 MW of gas before any coal."""
    units = [dict(tech="nuclear", mw=500, fuel=10, avail=0.9),
             dict(tech="wind", mw=400, avail=0.3, calibrated=True),
             dict(tech="solar", mw=200, avail=0.2, calibrated=True),
             dict(tech="coal", mw=300, fuel=20, co2=0.85),
             dict(tech="gas_ccgt", mw=300, fuel=40, co2=0.36)]
    args = (fleet(units, 1), network([], 1), np.ones((1, 12, 24)), np.array([1000.0]))
    observed = GridMarket(*args, np.zeros(1), 3000.0)
    policy = GridMarket(*args, np.array([100.0]), 3000.0,
                        calibration_carbon_price_usd_per_t=np.zeros(1))
    hour = (1, 0, np.zeros(1), np.array([200.0]), np.zeros(1))
    a, b = observed.set_hour(*hour), policy.set_hour(*hour)
    assert b.weather_factor == pytest.approx(a.weather_factor)
    assert b.reached.tolist() == [True]  # judged under the calibration's prices
    clean = 1000 - 450 - 200_000 / 850  # wind and solar MW, as in test_calibration_by_hand
    d = policy.clear(policy.background_mw)
    gas = min(300.0, 1000 - 450 - clean)
    assert d.emissions_kg == pytest.approx([gas * 360 + (550 - clean - gas) * 850])
    assert d.emissions_kg[0] < observed.clear(observed.background_mw).emissions_kg[0]


def test_daylight_shape():
    """Solar's shape is 0 at night, averages 1 over 2024, and moves with longitude: 180 degrees
    east is 12 hours earlier in UTC."""
    shape = daylight_shape(np.array([0.0, 0.0, 60.0]), np.array([0.0, 180.0, 0.0]))
    assert (shape[0, :, [0, 1, 2, 3, 4, 20, 21, 22, 23]] == 0).all()
    assert (shape[0, :, 10:14] > 0).all()
    mean = (shape.mean(axis=2) * DAYS_PER_MONTH).sum(axis=1) / DAYS_PER_MONTH.sum()
    assert mean == pytest.approx([1.0, 1.0, 1.0])
    assert shape[1] == pytest.approx(np.roll(shape[0], -12, axis=1))
    assert shape[2, 5, 12] > shape[2, 11, 12]  # June noon above December noon at 60 N


def test_unreachable_target_is_clipped_and_reported():
    """A 500 kg/MWh target needs more than the 600 MW of fossil: s = 0 (no wind, no solar),
    nuclear 450 + coal 300 + gas 250 MW emit 345,000 kg, 345 kg/MWh, reported as not reached."""
    cal = zone().set_hour(1, 0, np.zeros(1), np.array([500.0]), np.array([25.0]))
    assert cal.weather_factor == pytest.approx([0.0])
    assert cal.avg_carbon_kg_per_mwh == pytest.approx([(300 * 850 + 250 * 360) / 1000])
    assert cal.reached.tolist() == [False]


@settings(max_examples=80, deadline=None)
@given(load=st.floats(500.0, 1400.0), share=st.floats(0.0, 1.0))
def test_any_reachable_target_is_reached(load, share):
    """Targets between the cleanest (wind and solar at full capacity) and the dirtiest (none)
    average carbon the zone can have at its load are reproduced exactly."""
    m = zone()
    m.mean_load_mw = np.array([load])
    lo, hi = (m.set_hour(1, 0, np.zeros(1), np.array([t]), np.zeros(1)).avg_carbon_kg_per_mwh[0]
              for t in (0.0, 2000.0))
    target = lo + share * (hi - lo)
    cal = m.set_hour(1, 0, np.zeros(1), np.array([target]), np.zeros(1))
    assert cal.reached.tolist() == [True]
    assert m.clear(m.background_mw).avg_carbon_kg_per_mwh == pytest.approx([target], rel=1e-6,
                                                                           abs=1e-6)


def test_shipped_zones_reach_their_hourly_carbon_or_hit_a_bound():
    """The shipped grid data and profiles: in each month x hour cell (here every 3rd hour of
    January and July) a zone reproduces the base average carbon, or its weather factor is at
    a bound (no variable renewables or hydro at all, or all of them at full capacity), and
    then the gap is on the side the bound explains."""
    from abm.data.dataset import shipped
    from abm.grid import GridMarket, load_grid_data
    from abm.grid.availability import zone_lat_lon

    data = shipped()
    zones = list(data.zones.values())
    m = GridMarket.from_data(load_grid_data(), [z.id for z in zones],
                             np.array([z.load_mw for z in zones]), 3000.0,
                             zone_lat_lon=zone_lat_lon(data.regions.values(),
                                                          [z.id for z in zones]))
    reached = 0
    for month in (1, 7):
        for hour in range(0, 24, 3):
            target = np.array([z.avg_carbon_kg_per_mwh
                               * data.profiles[(z.id, "carbon")][month - 1, hour] for z in zones])
            cal = m.set_hour(month, hour, np.zeros(len(zones)), target, np.zeros(len(zones)))
            low = cal.avg_carbon_kg_per_mwh < target  # too clean even with no renewables
            assert (cal.reached | (low & (cal.weather_factor == 0))
                    | (~low & np.isclose(cal.weather_factor, cal.weather_factor_max))).all()
            reached += int(cal.reached.sum())
    assert reached >= 0.75 * 16 * len(zones)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0.0, 1.2))
def test_piecewise_inversion_is_exact(seed, share):
    """``_invert`` on non-decreasing piecewise-linear rows with flat pieces: y(x*) equals the
    target (clipped to the row's range), and x* is where y first reaches it (for a target of
    0, the end of the flat start)."""
    from abm.grid.availability import _invert

    rng = np.random.default_rng(seed)
    rows, k = 5, 7
    x = np.concatenate([np.zeros((rows, 1)), np.cumsum(rng.uniform(0, 10, (rows, k)), axis=1)],
                       axis=1)
    dy = rng.uniform(0, 5, (rows, k)) * (rng.random((rows, k)) < 0.6)  # some flat pieces
    y = np.concatenate([np.zeros((rows, 1)), np.cumsum(dy, axis=1)], axis=1)
    target = share * y[:, -1]
    got = _invert(x, y, target)
    for r in range(rows):
        t = min(target[r], y[r, -1])
        assert np.interp(got[r], x[r], y[r]) == pytest.approx(t, abs=1e-9)
        if t > 0:
            assert np.interp(got[r] - 1e-6, x[r], y[r]) < t
        else:
            assert got[r] == pytest.approx(x[r, (y[r] <= 0).sum() - 1])
