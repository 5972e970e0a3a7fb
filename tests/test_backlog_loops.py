"""The compiled passes over deferrable work (abm.core.backlog_loops) against the numpy code
they stand for, bit for bit: the hours ahead's costs, the work that arrives, the work run
taken from the backlog and what the hour's end takes out of it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.core.backlog import BacklogError, _run, arrive, run
from abm.core.backlog_loops import ahead_costs
from abm.core.backlog_loops import run_work as run_work_compiled
from abm.core.costs import energy_cost, placement_carbon
from abm.core.signals import Signals
from abm.market.forecasts import forecast_ahead


def same(a: np.ndarray, b: np.ndarray) -> None:
    """The same values to the bit (NaN where NaN)."""
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)
    finite = np.isfinite(a)
    assert a[finite].tobytes() == b[finite].tobytes()


def noisy(rng: np.random.Generator, shape: tuple[int, ...], special: bool) -> np.ndarray:
    """Floats of many magnitudes, some negative, some zero; with ``special`` a few NaN and
    infinities too."""
    a = rng.normal(0.0, 1.0, shape) * 10.0 ** rng.integers(-3, 4, shape)
    a[rng.random(shape) < 0.1] = 0.0
    if special:
        for v in (np.nan, np.inf, -np.inf):
            a[rng.random(shape) < 0.03] = v
    return a


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 5), st.integers(1, 4),
       st.sampled_from(["marginal", "average"]), st.sampled_from([0.0, 1.0]), st.booleans())
def test_costs_ahead_are_the_numpy_hours_bit_for_bit(seed: int, n_o: int, n_z: int, n_ahead: int,
                                                      basis: str, weight: float,
                                                      special: bool) -> None:
    """``ahead_costs`` against ``forecast_ahead`` then ``energy_cost`` and
    ``placement_carbon`` hour by hour (as ``Operators`` computed them), on forecasts and base
    signals that go negative (carbon floored at zero), with NaN and infinities."""
    rng = np.random.default_rng(seed)
    n_r, n_h = 2 * n_z + 1, 3 + n_ahead
    zone = rng.integers(0, n_z, n_r)
    forecast = Signals(*(noisy(rng, (n_o, n_z), special) for _ in range(3)))
    base = Signals(*(noisy(rng, (n_h, n_z), special) for _ in range(3)))
    tau = noisy(rng, (n_o, n_r), False)
    inst = SimpleNamespace(zone_index=zone, pue=1.0 + rng.random(n_r),
                           rent_usd_per_mwh=None,
                           policy=SimpleNamespace(placement_signal=basis, price_weight=weight,
                                                  carbon_price_usd_per_t=tau))
    rent = noisy(rng, (n_r,), False)
    hour = int(rng.integers(0, n_h - n_ahead))
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf as they come
        want = [forecast_ahead(forecast, base, hour, t) for t in range(1, n_ahead + 1)]
        want_energy = np.array([energy_cost(inst, s, rent) for s in want])  # type: ignore[arg-type]
        want_placed = np.array([placement_carbon(inst, s) for s in want])  # type: ignore[arg-type]
    energy, placed = np.empty((n_ahead, n_o, n_r)), np.empty((n_ahead, n_o, n_r))
    ahead_costs(forecast.price_usd_per_mwh, forecast.carbon(basis), base.price_usd_per_mwh,
                base.carbon(basis), hour, zone, tau, weight, inst.pue, rent, energy, placed)
    same(energy, want_energy)
    same(placed, want_placed)


def test_the_markets_hours_ahead_are_the_numpy_hours() -> None:
    """In the market (the default scenario with deferrable work, noisy forecasts among them):
    ``Operators._costs_ahead`` compiled and in numpy (the path it takes where a forecast is
    not an array of float64: here the same values as lists) write the same bits, hour after
    hour."""
    from abm.config.resolve import DEFAULT_SCENARIO
    from abm.config.scenario import load_scenario
    from abm.market import MarketModel
    from abm.market.loop import run as run_model

    model = MarketModel(load_scenario(DEFAULT_SCENARIO, overrides={
        "templates.batch.deferrable_share": 0.5, "templates.batch.deadline_hours": 3}),
        hours=4)
    ops = model.operators
    for _ in range(3):
        run_model(model, 1)
        rent = model.regions.posted_rent_usd_per_mwh
        energy, placed = ops._costs_ahead(rent)
        assert energy.shape == (3, len(ops.by_index), len(model.inst.region_ids))
        forecast = ops.forecast  # (built at first read; the lists stand in for it)
        ops._forecast = Signals(*(np.asarray(getattr(forecast, f)).tolist() for f in (
            "price_usd_per_mwh", "avg_carbon_kg_per_mwh", "marginal_carbon_kg_per_mwh")))
        want = ops._costs_ahead(rent)
        ops._forecast = forecast
        same(energy, want[0])
        same(placed, want[1])


def run_work_numpy(backlog: np.ndarray, work_run: np.ndarray, o: np.ndarray,
                   run_mwh: np.ndarray) -> None:
    """``Operators.run_work`` as it was written in numpy (the reference)."""
    left = np.clip(run_mwh, 0.0, None)
    for h in range(backlog.shape[2]):
        take = np.minimum(backlog[o, :, h], left)
        work_run[o, :, h] = take
        left = left - take


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(1, 4), st.integers(1, 5),
       st.booleans())
def test_work_run_is_the_numpy_pass_bit_for_bit(seed: int, n_o: int, n_k: int, n_h: int,
                                                special: bool) -> None:
    """Work run taken nearest deadline first, the compiled pass against the numpy one, for a
    subset of the operators, runs below zero, beyond what waits, NaN and infinities."""
    rng = np.random.default_rng(seed)
    backlog = np.abs(noisy(rng, (n_o, n_k, n_h), False))
    rows = np.flatnonzero(rng.random(n_o) < 0.7)
    runs = noisy(rng, (len(rows), n_k), special)
    want, got = np.full_like(backlog, -1.0), np.full_like(backlog, -1.0)
    with np.errstate(invalid="ignore"):  # inf - inf
        run_work_numpy(backlog, want, rows, runs)
    run_work_compiled(rows.astype(np.int64), runs, backlog, got)
    same(got, want)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(1, 4), st.integers(1, 5))
def test_arrivals_are_the_numpy_pass_bit_for_bit(seed: int, n_o: int, n_k: int,
                                                 n_h: int) -> None:
    """``arrive`` compiled (C-contiguous arrays) against its numpy path (np.add.at, taken for
    a Fortran-ordered backlog)."""
    rng = np.random.default_rng(seed)
    backlog = np.abs(noisy(rng, (n_o, n_k, n_h), False))
    work = noisy(rng, (n_o, n_k), False)
    deadline = rng.integers(0, n_h, (n_o, n_k))
    got, want = backlog.copy(), np.asfortranarray(backlog)
    arrive(got, work, deadline)
    arrive(want, work, deadline)
    same(got, np.ascontiguousarray(want))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(1, 4), st.integers(1, 5))
def test_work_taken_out_is_the_numpy_pass_bit_for_bit(seed: int, n_o: int, n_k: int,
                                                      n_h: int) -> None:
    """``run`` compiled against ``_run`` (numpy) where every slot's run is within its limits:
    runs of none, part, all, all to within rounding (taken whole) and a little more of what
    waits (``_TOL_MW``), on empty and full slots."""
    rng = np.random.default_rng(seed)
    backlog = np.abs(noisy(rng, (n_o, n_k, n_h), False))
    pick = rng.integers(0, 5, backlog.shape)
    runs = np.select([pick == 0, pick == 1, pick == 2, pick == 3],
                     [0.0, backlog * rng.random(backlog.shape), backlog,
                      backlog * (1 - 1e-12)], backlog + 1e-10 * np.maximum(1.0, backlog))
    got_backlog, want_backlog = backlog.copy(), backlog.copy()
    taken = run(got_backlog, runs)
    same(taken, _run(want_backlog, runs))
    same(got_backlog, want_backlog)


def test_work_run_beyond_what_waits_is_refused_and_nothing_taken() -> None:
    """Where one slot runs more than waits there, the compiled pass changes nothing and
    ``run`` raises naming that slot."""
    backlog = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    runs = np.array([[[1.0, 2.0], [3.5, 0.0]]])
    before = backlog.copy()
    with pytest.raises(BacklogError, match=r"class 1: ran 3\.5 MWh from slot 0"):
        run(backlog, runs)
    same(backlog, before)
