"""The placement LP of MODEL.md section 3, solved with HiGHS (highspy).

Rows are workload classes (flattened operators x classes, N of them), columns regions (R).
One LP covers any set of classes; a class belongs to a capacity group g, and each group has its
own capacity per region. One operator: one group with that operator's capacity. The planner:
all operators in one group against shared capacity. Independent operators stacked in one LP:
one group per operator (the LP separates, so each operator gets its own optimum).

Migration friction against a previous placement x_prev uses two columns per feasible pair,
x = y1 + y2 with 0 <= y1 <= x_prev at cost c and y2 >= 0 at cost c + phi. Since phi >= 0 the
solver fills y1 first, so y2 = max(0, x - x_prev) = m exactly, and no rows are added.
Infeasible pairs get no column at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from abm.instance import Instance

_ZERO = 1e-9


@dataclass(frozen=True)
class Solution:
    """An LP optimum: MW served per class and region, MW unserved per class, objective in $."""

    x_mw: np.ndarray  # (N, R)
    unserved_mw: np.ndarray  # (N,)
    moved_mw: np.ndarray  # (N, R): MW placed beyond the previous placement
    objective_usd: float
    capacity_price_usd_per_mwh: np.ndarray  # (G, R): shadow price of capacity, >= 0


class PlacementError(RuntimeError):
    """HiGHS did not return an optimum (it always should: unserved demand keeps it feasible)."""


def solve_placement(
    cost: np.ndarray,
    feasible: np.ndarray,
    demand_mw: np.ndarray,
    capacity_mw: np.ndarray,
    voll_usd_per_mwh: float,
    *,
    group: np.ndarray | None = None,
    friction_usd_per_mw: np.ndarray | None = None,
    x_prev_mw: np.ndarray | None = None,
) -> Solution:
    """Minimise sum x c + sum m phi + VoLL sum u subject to demand, capacity and masks.

    Args:
        cost: (N, R) $/MWh of serving class n at region j for this step.
        feasible: (N, R) bool; no flow where false.
        demand_mw: (N,) demand this step (MW, i.e. MWh per hourly step).
        capacity_mw: (G, R) capacity per group and region; ``np.inf`` for none.
        voll_usd_per_mwh: value of lost load; must exceed every feasible c + phi.
        group: (N,) int capacity group of each class; all zero if omitted.
        friction_usd_per_mw: (N, R) $ per MW moved in (phi); no friction if omitted.
        x_prev_mw: (N, R) previous placement, already rescaled to this step's demand.
    """
    cost = np.asarray(cost, dtype=float)
    n, r = cost.shape
    feasible = np.asarray(feasible, dtype=bool)
    demand = np.asarray(demand_mw, dtype=float)
    capacity = np.atleast_2d(np.asarray(capacity_mw, dtype=float))
    group = np.zeros(n, dtype=int) if group is None else np.asarray(group, dtype=int)
    phi = None if friction_usd_per_mw is None else np.asarray(friction_usd_per_mw, dtype=float)
    prev = np.zeros((n, r)) if x_prev_mw is None else np.asarray(x_prev_mw, dtype=float)
    if (demand < 0).any() or not np.isfinite(demand).all():
        raise ValueError("demand must be finite and >= 0")
    if np.isnan(capacity).any() or (capacity < 0).any():
        raise ValueError("capacity must be >= 0 (np.inf for none), not NaN")
    if not np.isfinite(cost[feasible]).all():
        raise ValueError("cost must be finite wherever the pair is feasible")
    if phi is not None and (not np.isfinite(phi).all() or (phi < 0).any()):
        raise ValueError("friction must be finite and >= 0")
    feasible = feasible & (demand[:, None] > 0)
    worst = cost + (phi if phi is not None else 0.0)
    if feasible.any() and voll_usd_per_mwh <= worst[feasible].max():
        raise ValueError(f"VoLL {voll_usd_per_mwh} $/MWh must exceed the largest feasible cost "
                         f"{worst[feasible].max():.6g} $/MWh, or demand would go unserved by "
                         "choice; raise policy.voll_usd_per_mwh")

    # Columns: y1 for feasible pairs with a previous placement (friction only), y2 (or x) for
    # every feasible pair, then u for every class.
    rows_n, cols_j = np.nonzero(feasible)
    has_prev = np.zeros_like(rows_n, dtype=bool)
    if phi is not None:
        has_prev = prev[rows_n, cols_j] > _ZERO
    p1 = np.flatnonzero(has_prev)
    pair_n = np.concatenate([rows_n[p1], rows_n])
    pair_j = np.concatenate([cols_j[p1], cols_j])
    c_pairs = cost[pair_n, pair_j]
    if phi is not None:
        c_pairs[len(p1):] += phi[rows_n, cols_j]
    ub_pairs = np.concatenate([prev[rows_n[p1], cols_j[p1]], np.full(len(rows_n), np.inf)])
    n_pairs = len(pair_n)

    # Capacity rows: one per (group, region) that bounds something.
    cap_of_pair = capacity[group[pair_n], pair_j]
    bounded = np.isfinite(cap_of_pair)
    keys = group[pair_n] * r + pair_j
    row_keys = np.unique(keys[bounded])
    cap_row_of_pair = np.full(n_pairs, -1)
    cap_row_of_pair[bounded] = n + np.searchsorted(row_keys, keys[bounded])

    # Column-wise matrix: each pair has its demand row and (maybe) a capacity row; u one row.
    counts = np.concatenate([1 + bounded.astype(int), np.ones(n, dtype=int)])
    start = np.concatenate([[0], np.cumsum(counts)])
    index = np.empty(start[-1], dtype=np.int32)
    index[start[:n_pairs]] = pair_n
    second = start[:n_pairs][bounded] + 1
    index[second] = cap_row_of_pair[bounded]
    index[start[n_pairs:-1]] = np.arange(n)

    lp = highspy.HighsLp()
    lp.num_col_ = n_pairs + n
    lp.num_row_ = n + len(row_keys)
    lp.col_cost_ = np.concatenate([c_pairs, np.full(n, float(voll_usd_per_mwh))])
    lp.col_lower_ = np.zeros(n_pairs + n)
    lp.col_upper_ = np.concatenate([ub_pairs, np.full(n, np.inf)])
    lp.row_lower_ = np.concatenate([demand, np.full(len(row_keys), -np.inf)])
    lp.row_upper_ = np.concatenate([demand, capacity.reshape(-1)[row_keys]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start.astype(np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = np.ones(start[-1])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise PlacementError(f"HiGHS returned {h.modelStatusToString(status)}")
    sol = h.getSolution()
    col = np.asarray(sol.col_value)
    col[np.abs(col) < _ZERO] = 0.0
    x = np.zeros((n, r))
    np.add.at(x, (pair_n, pair_j), col[:n_pairs])
    moved = np.maximum(x - prev, 0.0)  # equals y2 whenever phi > 0; well defined if phi = 0
    duals = np.zeros(capacity.size)
    duals[row_keys] = -np.asarray(sol.row_dual)[n:]
    return Solution(
        x_mw=x,
        # served + unserved = demand by construction (HiGHS's row tolerance is 1e-7 MW)
        unserved_mw=np.maximum(demand - x.sum(axis=1), 0.0),
        moved_mw=moved,
        objective_usd=float(h.getInfo().objective_function_value),
        capacity_price_usd_per_mwh=np.maximum(duals, 0.0).reshape(capacity.shape),
    )


@dataclass(frozen=True)
class ClassOptimum:
    """Optimum of every class ignoring capacity: arrays (..., K, R) and (..., K)."""

    x_mw: np.ndarray
    unserved_mw: np.ndarray
    moved_mw: np.ndarray


def uncapacitated_optimum(
    cost: np.ndarray,
    feasible: np.ndarray,
    demand_mw: np.ndarray,
    friction_usd_per_mw: np.ndarray,
    x_prev_mw: np.ndarray,
) -> ClassOptimum:
    """The LP optimum of each class without capacity rows, in closed form (vectorised).

    Without capacity the LP separates by class. A class's cheapest new MW costs
    b = min_j (c_j + phi_j) over feasible j; an incumbent MW at j costs c_j. So every incumbent
    with c_j <= b stays, the rest of the demand goes to the first region attaining b, and
    demand is unserved only where no region is feasible. When the resulting load fits the
    capacity an operator can get, this is also the optimum of the capacitated LP.

    Args:
        cost, feasible, friction_usd_per_mw, x_prev_mw: (..., K, R).
        demand_mw: (..., K); the incumbents of a class must sum to at most its demand.
    """
    new = np.where(feasible, cost + friction_usd_per_mw, np.inf)
    best = new.argmin(axis=-1)
    b = np.take_along_axis(new, best[..., None], axis=-1)
    keep = feasible & (x_prev_mw > _ZERO) & (cost <= b)
    x = np.where(keep, x_prev_mw, 0.0)
    rest = np.maximum(demand_mw - x.sum(axis=-1), 0.0)
    servable = np.isfinite(b[..., 0])
    top_up = np.where(servable, rest, 0.0)
    np.put_along_axis(x, best[..., None],
                      np.take_along_axis(x, best[..., None], axis=-1) + top_up[..., None],
                      axis=-1)
    return ClassOptimum(x, np.where(servable, 0.0, rest), np.maximum(x - x_prev_mw, 0.0))


@dataclass(frozen=True)
class Placement:
    """A placement of every class of an instance: arrays shaped (O, K, R) and (O, K)."""

    x_mw: np.ndarray
    unserved_mw: np.ndarray
    moved_mw: np.ndarray
    objective_usd: float


def place(
    inst: Instance,
    cost: np.ndarray,
    feasible: np.ndarray,
    *,
    joint: bool,
    friction: np.ndarray | None = None,
    x_prev_mw: np.ndarray | None = None,
    capacity_mw: np.ndarray | None = None,
    voll: float | None = None,
) -> Placement:
    """Place every operator's classes for one step.

    Args:
        inst: the instance (demand, capacity shares, VoLL).
        cost: (O, K, R) $/MWh; feasible: (O, K, R) bool.
        joint: True for the planner (all operators against shared capacity); False for each
            operator alone against its own share of capacity (operator-local optima).
        friction: (O, K, R) $/MW moved; x_prev_mw: (O, K, R) previous placement.
        capacity_mw: (R,) capacity to place against; the instance's if omitted.
        voll: penalty per unserved MWh in the units of ``cost``; the policy's VoLL if omitted.
    """
    n_o, n_k, n_r = inst.shape
    cap = inst.capacity_mw if capacity_mw is None else np.asarray(capacity_mw, dtype=float)
    if joint:
        group, caps = np.zeros(n_o * n_k, dtype=int), cap[None, :]
    else:
        group = np.repeat(np.arange(n_o), n_k)
        caps = inst.capacity_share[:, None] * cap[None, :]
    flat = (n_o * n_k, n_r)
    sol = solve_placement(
        cost.reshape(flat), feasible.reshape(flat), inst.demand_mw.reshape(-1), caps,
        inst.scenario.policy.voll_usd_per_mwh if voll is None else voll, group=group,
        friction_usd_per_mw=None if friction is None else friction.reshape(flat),
        x_prev_mw=None if x_prev_mw is None else x_prev_mw.reshape(flat),
    )
    return Placement(sol.x_mw.reshape(n_o, n_k, n_r), sol.unserved_mw.reshape(n_o, n_k),
                     sol.moved_mw.reshape(n_o, n_k, n_r), sol.objective_usd)
