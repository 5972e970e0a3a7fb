"""The compiled sums of an hour (``abm/core/tally.py``) against numpy written the obvious way:
sums by bin and over classes bit for bit as ``np.bincount`` and ``sum(axis=1)``, operators'
costs, totals and the migrations' matching to rounding, and a hand-solved migration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.core.masks import pair_lists
from abm.core.tally import fixed, hold, hour_sums, region_load, reserve


def _arrays(seed: int, n_o: int = 7, n_k: int = 3, n_r: int = 5):
    """Placements mostly at the feasible pairs; some classes (this hour or last) elsewhere."""
    rng = np.random.default_rng(seed)
    feasible = rng.random((n_o, n_k, n_r)) < 0.6

    def placement():
        anywhere = rng.random((n_o, n_k, 1)) < 0.2
        where = (rng.random((n_o, n_k, n_r)) < 0.4) & (feasible | anywhere)
        return rng.random((n_o, n_k, n_r)) * where

    x, last = placement(), placement()
    # the incumbent: last hour's scaled class by class (0 to 1.5: down, up, or kept)
    scale = rng.random((n_o, n_k)) * 1.5 * (rng.random((n_o, n_k)) < 0.9)
    demand = x.sum(axis=2) + rng.random((n_o, n_k)) * (rng.random((n_o, n_k)) < 0.3)
    last_demand = np.where(rng.random((n_o, n_k)) < 0.5, last.sum(axis=2),
                           rng.random((n_o, n_k)))
    return rng, feasible, x, last, scale, demand, last_demand


def _sums(seed: int, per_operator: bool = True, dtype=np.int64):
    rng, feasible, x, last, scale, demand, last_demand = _arrays(seed)
    n_o, n_k, n_r = x.shape
    energy = rng.random((n_o if per_operator else 1, n_r)) * 100
    network, friction = rng.random(x.shape) * 10, rng.random(x.shape) * 50
    held_scale = rng.random((n_o, n_k))
    layer, cell = rng.integers(0, 3, x.shape).astype(dtype), rng.integers(0, 9, x.shape)
    starts, regions = pair_lists(feasible)
    copy = np.full(x.shape, np.nan)
    held = hold(last, starts, regions, held_scale, scale, copy)
    np.testing.assert_array_equal(copy, last)
    moved = np.full(x.shape, np.nan)
    pairs = fixed(feasible, starts, regions, network, friction, layer, cell.astype(dtype))
    sums = hour_sums(x, copy, held, scale, energy, pairs, 3, 9, demand, last_demand, moved)
    # the same where the operators that placed MW only at their feasible pairs say so
    clean = ~((x != 0) & ~feasible).any(axis=(1, 2))
    again = np.full(x.shape, np.nan)
    told = hour_sums(x, copy, held, scale, energy, pairs, 3, 9, demand, last_demand, again,
                     clean=clean)
    np.testing.assert_array_equal(again, moved)
    for a, b in zip(sums, told, strict=True):
        np.testing.assert_array_equal(a, b)
    return sums, x, last, moved, last * held_scale[:, :, None], energy, network, friction, \
        layer, cell, demand, last_demand, last * scale[:, :, None], held, feasible


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_hold_takes_what_the_hour_reads_of_last_hours_placement(seed):
    """The incumbent at the feasible pairs and the MW held by operator and region bit for bit
    as numpy's product and sum(axis=1); by region and served per class to rounding; which
    classes had MW outside their feasible pairs."""
    _, _, last, _, held_mw, *_, incumbent, held, feasible = _sums(seed)
    np.testing.assert_array_equal(held.incumbent_mw, incumbent[feasible])
    np.testing.assert_array_equal(held.by_operator_mw, held_mw.sum(axis=1))
    np.testing.assert_allclose(held.by_region_mw, held_mw.sum(axis=(0, 1)), rtol=1e-13)
    np.testing.assert_allclose(held.served_mw, last.sum(axis=2), rtol=1e-13)
    np.testing.assert_array_equal(held.outside, ((last != 0) & ~feasible).any(axis=2))
    np.testing.assert_array_equal(held.last_mw, last[feasible])


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([np.int8, np.int32, np.int64]))
def test_sums_by_bin_and_over_classes_are_numpy_bit_for_bit(seed, dtype):
    """Layers and shift cells add as np.bincount, MW by region as x.sum(axis=1): exactly."""
    sums, x, *_, layer, cell, _, _, _, _, _ = _sums(seed, dtype=dtype)
    np.testing.assert_array_equal(sums.layer_mw, np.bincount(layer.ravel(), x.ravel(), 3))
    np.testing.assert_array_equal(sums.shift_mw, np.bincount(cell.ravel(), x.ravel(), 9))
    np.testing.assert_array_equal(sums.served_mw, x.sum(axis=1))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_costs_and_totals_as_numpy(seed, per_operator):
    """Costs and totals to rounding; the MW moved (written on the way) as np.maximum."""
    sums, x, _, moved, held, energy, network, friction, *_, incumbent, _, _ = _sums(
        seed, per_operator)
    np.testing.assert_array_equal(moved, np.maximum(x - incumbent, 0.0))
    np.testing.assert_allclose(sums.serving_usd, (x.sum(axis=1) * energy).sum(axis=1)
                               + np.einsum("okr,okr->o", x, network), rtol=1e-13)
    np.testing.assert_allclose(sums.friction_usd, np.einsum("okr,okr->o", moved, friction),
                               rtol=1e-13)
    np.testing.assert_allclose(sums.held_mw, held.sum(axis=(0, 1)), rtol=1e-13)
    assert sums.moved_mw == pytest.approx(moved.sum(), rel=1e-13)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.integers(1, 12), st.integers(1, 40))
def test_region_load_is_numpys_sum_bit_for_bit(seed, n_o, n_k, n_r):
    """The MW by region add as numpy's sum over operators and classes: exactly (row by row
    over two or more regions, numpy's own with one)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_o, n_k, n_r)) * 10.0 ** rng.integers(-3, 4, (n_o, n_k, n_r))
    x *= rng.random(x.shape) < 0.5
    np.testing.assert_array_equal(region_load(x), x.sum(axis=(0, 1)))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.integers(1, 40))
def test_reservations_are_numpys_bit_for_bit(seed, n_o, n_r):
    """What operators keep of the MW they hold (scaled down pro rata where a region's holders
    exceed its capacity), what is left free and each one's share of the capacity: exactly the
    numpy expressions the market used (sums over operators in array order), with regions
    holding nothing, regions with no limit (inf), no capacity, and NaN."""
    rng = np.random.default_rng(seed)
    held = rng.random((n_o, n_r)) * 10.0 ** rng.integers(-3, 3, (n_o, n_r))
    held *= rng.random(held.shape) < 0.4
    total = held.sum(axis=0)
    capacity = total * rng.choice([0.0, 0.3, 0.999, 1.0, 1.7], n_r)
    capacity[rng.random(n_r) < 0.1] = np.inf
    capacity[rng.random(n_r) < 0.03] = np.nan
    share = rng.choice([1.0, 0.25, 0.05], n_o)
    reserved, available, share_cap = reserve(held, capacity, share)
    want = held * np.minimum(1.0, np.divide(capacity, total, out=np.ones_like(total),
                                            where=total > 0))
    np.testing.assert_array_equal(reserved, want)
    assert reserved.tobytes() == want.tobytes()
    assert available.tobytes() == np.maximum(capacity - want.sum(axis=0), 0.0).tobytes()
    assert share_cap.tobytes() == (share[:, None] * capacity[None, :]).tobytes()


def _flows_numpy(x, last, moved, demand, last_demand):
    """The matching written with whole-array numpy (the market's before abm/core/tally.py)."""
    served = last.sum(axis=2)
    may_move = moved.any(axis=2) | (np.abs(served - last_demand) > 1e-12)
    scale = np.divide(demand[may_move], served[may_move], out=np.zeros(int(may_move.sum())),
                      where=served[may_move] > 0)
    diff = x[may_move] - last[may_move] * scale[:, None]
    into = np.maximum(diff, 0.0)
    total_in = into.sum(axis=1)
    moving = total_in > 1e-12
    out = np.maximum(-diff[moving], 0.0)
    return np.einsum("ki,kj->ij", out, into[moving] / total_in[moving][:, None])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_migrations_as_numpy(seed):
    sums, x, last, moved, *_, demand, last_demand, _, _, _ = _sums(seed)
    np.testing.assert_allclose(sums.migration_mw, _flows_numpy(x, last, moved, demand,
                                                               last_demand),
                               rtol=1e-12, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_migrations_read_by_pair_add_as_by_row_bit_for_bit(seed):
    """A class that keeps to its feasible pairs (this hour and last) has its migrations
    matched from last hour's MW packed by pair (``hold``), the others from last hour's row:
    the flows are bit for bit those of every migrating class matched from its rows (R,), in
    the same order."""
    from abm.core.tally import _migrations as by_row

    sums, x, last, moved, *_, demand, last_demand, _, held, _ = _sums(seed)
    n_o, n_k, n_r = x.shape
    flows, diff = np.zeros((n_r, n_r)), np.empty(n_r)
    for o in range(n_o):
        for k in range(n_k):
            if (moved[o, k] != 0).any() or abs(held.served_mw[o, k] - last_demand[o, k]) > 1e-12:
                by_row(x[o, k], last[o, k], demand[o, k], held.served_mw[o, k], diff, flows)
    np.testing.assert_array_equal(sums.migration_mw, flows)
    assert flows.any()


def _migrations(x, last, demand, last_demand):
    """The migrations of a placement x against last hour's placement scaled to this hour's
    demand (the incumbent; every pair feasible)."""
    zero, feasible = np.zeros_like(x), np.ones(x.shape, dtype=bool)
    scale = demand / last_demand
    starts, regions = pair_lists(feasible)
    held = hold(last, starts, regions, scale, scale, zero.copy())
    return hour_sums(x, last, held, scale, np.zeros((1, x.shape[2])),
                     fixed(feasible, starts, regions, zero, zero, zero.astype(np.int8),
                           zero.astype(np.int8)), 1, 1, demand, last_demand,
                     np.empty_like(x)).migration_mw


def test_migration_hand_solved():
    """One class served 4 MW last hour, 3 in region 0 and 1 in region 1; this hour its demand
    is 8 and it places 2 in region 0, 2 in region 1, 4 in region 2. Scaled to 8: 6 and 2, so
    4 MW left region 0 and 4 arrived in region 2 (all of what arrived): 0 -> 2, 4 MW. A
    second class that did not move and served its demand records nothing; nor does the first
    where it places last hour's placement scaled to its demand."""
    x = np.array([[[2.0, 2.0, 4.0], [1.0, 0.0, 0.0]]])
    last = np.array([[[3.0, 1.0, 0.0], [1.0, 0.0, 0.0]]])
    demand, last_demand = np.array([[8.0, 1.0]]), np.array([[4.0, 1.0]])
    flows = _migrations(x, last, demand, last_demand)
    expected = np.zeros((3, 3))
    expected[0, 2] = 4.0
    np.testing.assert_array_equal(flows, expected)
    assert _migrations(last * 2.0, last, demand, last_demand).sum() == pytest.approx(0.0)
