"""The placement contract (``abm/core/problem.py``): what it accepts, what it refuses and how it
says so, for one operator and for the market's batched arrays."""

from __future__ import annotations

import numpy as np
import pytest

from abm.core.flow import first_come
from abm.core.placement import solve_placement
from abm.core.problem import PlacementInputError, PlacementProblem, check_arrays, tie_preference


def problem(**over):
    """A valid 2-class, 3-region problem with fields replaced by ``over``."""
    kw = dict(cost_usd_per_mwh=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
              feasible=[[True, True, False], [True, True, True]], demand_mw=[1.0, 2.0],
              voll_usd_per_mwh=100.0, friction_usd_per_mw=np.ones((2, 3)),
              incumbent_mw=[[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]], capacity_mw=[1.0, np.inf, 0.0],
              preference=np.zeros((2, 3)))
    kw.update(over)
    return PlacementProblem.of(kw.pop("cost_usd_per_mwh"), kw.pop("feasible"),
                               kw.pop("demand_mw"), **kw)


def test_defaults_and_copies():
    cost = np.array([[1.0, 2.0]])
    p = PlacementProblem.of(cost, [[True, True]], [1.0], voll_usd_per_mwh=10.0)
    cost[0, 0] = 99.0
    assert p.cost_usd_per_mwh[0, 0] == 1.0  # a copy: the caller's array may change
    np.testing.assert_array_equal(p.capacity_mw, [np.inf, np.inf])
    assert not p.friction_usd_per_mw.any() and not p.incumbent_mw.any()
    assert p.shape == (1, 2)


def test_cost_may_be_anything_where_infeasible():
    p = problem(cost_usd_per_mwh=[[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]])
    assert np.isnan(p.cost_usd_per_mwh[0, 2])


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cost_usd_per_mwh", [[1.0, np.inf, 3.0], [4.0, 5.0, 6.0]],
     r"cost_usd_per_mwh must be finite where feasible; got inf at \(0, 1\)"),
    ("demand_mw", [1.0, -2.0], r"demand_mw must be finite and >= 0; got -2.0 at \(1,\)"),
    ("friction_usd_per_mw", [[0.0, -1.0, 0.0], [0.0, 0.0, np.nan]],
     r"friction_usd_per_mw must be finite and >= 0; got -1.0 at \(0, 1\), nan at \(1, 2\)"),
    ("incumbent_mw", [[0.5, 0.6, 0.0], [0.0, 0.0, 2.0]],
     r"incumbent_mw must be per class, summed over regions, <= demand_mw \(demand there: "
     r"1.0 at \(0,\)\); got 1.1 at \(0,\)"),
    ("capacity_mw", [1.0, -0.5, np.nan], r"capacity_mw must be >= 0 \(np.inf for no limit\); "
     r"got -0.5 at \(1,\), nan at \(2,\)"),
    ("voll_usd_per_mwh", np.nan, "voll_usd_per_mwh must be finite"),
    ("preference", np.full((2, 3), 1.5), r"preference must be in \[0, 1\]; got 1.5 at \(0, 0\), "
     r"1.5 at \(0, 1\), 1.5 at \(0, 2\) and 3 more"),
    ("demand_mw", [1.0, 2.0, 3.0], r"demand_mw must have shape \(2,\) to match cost \(2, 3\), "
     r"got \(3,\)"),
    ("capacity_mw", [1.0], r"capacity_mw must have shape \(3,\)"),
])
def test_bad_input_names_the_field_and_the_values(field, value, message):
    with pytest.raises(PlacementInputError, match=message):
        problem(**{field: value})


def test_incumbent_within_tolerance_of_demand_is_accepted():
    p = problem(incumbent_mw=[[1.0 + 1e-12, 0.0, 0.0], [0.0, 0.0, 2.0]])
    assert p.incumbent_mw[0, 0] > 1.0


def test_errors_are_value_errors():
    """Callers that catch ValueError for bad input keep working."""
    with pytest.raises(ValueError, match="demand_mw"):
        problem(demand_mw=[np.inf, 1.0])


def test_highs_engine_checks_through_the_contract():
    with pytest.raises(PlacementInputError, match="friction_usd_per_mw"):
        solve_placement(np.ones((1, 2)), np.ones((1, 2), bool), [1.0], np.full((1, 2), 5.0),
                        100.0, friction_usd_per_mw=np.array([[0.0, -1.0]]))


def test_batched_arrays_are_checked_before_the_walk():
    """The market's compiled walk refuses bad batches by field, before placing anyone."""
    o, k, r = 2, 2, 3
    args = dict(order=np.arange(o), cost=np.ones((o, k, r)), feasible=np.ones((o, k, r), bool),
                demand_mw=np.ones((o, k)), friction_usd_per_mw=np.zeros((o, k, r)),
                x_prev_mw=np.zeros((o, k, r)), preference=np.zeros((o, k, r)),
                reserved_mw=np.zeros((o, r)), share_cap_mw=np.ones((o, r)),
                available_mw=np.ones(r), voll_usd_per_mwh=100.0, x_mw=np.zeros((o, k, r)),
                unserved_mw=np.zeros((o, k)))
    first_come(**args)
    bad = {"cost": np.where(np.eye(3)[None, :2] > 0, np.nan, 1.0) * np.ones((o, k, r)),
           "x_prev_mw": np.full((o, k, r), 1.0), "reserved_mw": np.full((o, r), -1.0),
           "share_cap_mw": np.full((o, r), np.nan), "available_mw": np.full(r, -1.0)}
    names = {"cost": "cost_usd_per_mwh", "x_prev_mw": "incumbent_mw",
             "share_cap_mw": "capacity_mw"}
    for field, value in bad.items():
        x = np.zeros((o, k, r))
        with pytest.raises(PlacementInputError, match=names.get(field, field)):
            first_come(**{**args, field: value, "x_mw": x})
        assert not x.any()


def test_batch_shapes_are_checked():
    with pytest.raises(PlacementInputError, match=r"capacity_mw must have shape \(2, 3\)"):
        check_arrays(np.ones((2, 2, 3)), np.ones((2, 2, 3), bool), np.ones((2, 2)),
                     np.zeros((2, 2, 3)), np.zeros((2, 2, 3)), np.ones(3), 100.0)


def test_tie_preference_orders_origin_then_rtt():
    at_origin = np.array([False, True, False, False])
    rank = tie_preference(at_origin, np.array([30.0, 50.0, 10.0, np.inf]))
    assert rank[1] == 0.0
    assert 0.5 < rank[2] < rank[0] < rank[3] == 1.0
    # the same pair ranks the same whatever else is in the array
    assert tie_preference(np.array([False]), np.array([30.0]))[0] == rank[0]
