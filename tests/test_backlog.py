"""The backlog's accounting (abm/core/backlog.py): no MWh appears or disappears, in any hour,
whatever arrives and whatever runs; work runs by its deadline or is missed exactly then."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.core.backlog import (
    BacklogError,
    Balance,
    arrive,
    expire,
    run,
    settle,
    slots,
    split_demand,
)


def test_split_demand_keeps_every_mwh_and_defers_only_with_a_deadline() -> None:
    demand = np.array([[10.0, 4.0, 3.0]])
    due, work = split_demand(demand, np.array([[0.3, 0.5, 1.0]]), np.array([[4, 0, 1]]))
    np.testing.assert_array_equal(due + work, demand)
    np.testing.assert_allclose(work, [[3.0, 0.0, 3.0]])


def test_by_hand_work_runs_late_or_is_missed_at_its_deadline() -> None:
    """4 MWh due within 2 hours arrive in hour 0; 1 runs in hour 0, 1 in hour 1, and the 2
    left are missed at the end of hour 2, not before."""
    deadline = np.array([[2]])
    backlog = np.zeros((1, 1, slots(deadline)))
    arrive(backlog, np.array([[4.0]]), deadline)
    missed = []
    for ran in (1.0, 1.0, 0.0):
        take = np.zeros_like(backlog)
        take[0, 0, int(np.flatnonzero(backlog[0, 0])[0])] = ran
        before = float(backlog.sum())
        m, balance = settle(backlog, take, before, 0.0)
        missed.append(float(m.sum()))
        assert balance.gap_mwh == 0.0
    assert missed == [0.0, 0.0, 2.0]
    assert backlog.sum() == 0.0


def test_a_slot_run_to_within_rounding_is_taken_whole() -> None:
    """A plan that runs a slot up to solver rounding leaves no crumb to miss its deadline."""
    backlog = np.array([[[1.0, 2.0]]])
    taken = run(backlog, np.array([[[1.0 - 1e-15, 1.0]]]))
    np.testing.assert_array_equal(taken, [[[1.0, 1.0]]])
    np.testing.assert_array_equal(backlog, [[[0.0, 1.0]]])


def test_running_work_that_is_not_waiting_is_an_error() -> None:
    backlog = np.zeros((1, 1, 2))
    backlog[0, 0, 1] = 1.0
    with pytest.raises(BacklogError, match=r"ran 2\.0 MWh from slot 1, where 1\.0 MWh wait"):
        run(backlog, np.array([[[0.0, 2.0]]]))


def test_a_balance_that_does_not_hold_is_an_error() -> None:
    with pytest.raises(BacklogError, match="lost or gained"):
        Balance(1.0, 1.0, 1.0, 0.0, 0.5).check()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 3), st.integers(1, 30))
def test_no_mwh_appears_or_disappears(seed: int, n_o: int, n_k: int, hours: int) -> None:
    """Random arrivals, shares, deadlines and runs: every hour balances, and over the run
    arrived = run + missed + what is left."""
    rng = np.random.default_rng(seed)
    deadline = rng.integers(0, 6, (n_o, n_k))
    share = rng.random((n_o, n_k))
    backlog = np.zeros((n_o, n_k, slots(deadline)))
    total_in = total_run = total_missed = 0.0
    for _ in range(hours):
        demand = rng.random((n_o, n_k)) * 10
        due, work = split_demand(demand, share, deadline)
        assert np.allclose(due + work, demand, rtol=0, atol=1e-12)
        before = float(backlog.sum())
        arrive(backlog, work, deadline)
        take = backlog * rng.random(backlog.shape) * (rng.random(backlog.shape) < 0.5)
        take[rng.random(backlog.shape) < 0.2] *= 1.0 + 1e-12  # rounding: all of it
        missed, balance = settle(backlog, take, before, float(work.sum()))
        assert abs(balance.gap_mwh) <= 1e-9 * max(1.0, before + work.sum())
        assert (backlog >= 0).all() and (missed >= 0).all()
        assert balance.run_mwh == pytest.approx(float(take.sum()), rel=1e-9, abs=1e-12)
        total_in += float(work.sum())
        total_run += balance.run_mwh
        total_missed += float(missed.sum())
    assert total_in == pytest.approx(total_run + total_missed + backlog.sum(), rel=1e-9, abs=1e-9)


def test_expire_moves_slots_nearer() -> None:
    b = np.array([[[1.0, 2.0, 3.0]]])
    np.testing.assert_array_equal(expire(b), [[1.0]])
    np.testing.assert_array_equal(b, [[[2.0, 3.0, 0.0]]])
