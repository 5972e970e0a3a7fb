"""The placement contract: one operator's placement problem for one hour, validated once.

Every placement engine (the min-cost flow of ``abm/core/flow.py``, HiGHS in
``abm/core/placement.py``) and every operator strategy speaks this type. Shapes: K classes, R
regions.

The problem (docs/formulation.md; ties: docs/model.md, "Ties"): minimise

    sum_kj c_kj x_kj + sum_kj phi_kj max(0, x_kj - x0_kj) + VoLL sum_k u_k

subject to sum_j x_kj + u_k = d_k, sum_k x_kj <= cap_j, x >= 0, u >= 0, x_kj = 0 where the
pair is infeasible; among optima, the least tie cost (``tie_cost``): keep the incumbent, then
serve at the origin, then at the lowest RTT. $ per MW within the tie tolerance count as equal
(``TIE_TOLERANCE`` of the problem's $ scale: ``abm.core.problem_check``).

``check_arrays`` holds the rules (also for the market's batched (O, K, R) arrays); a bad
input raises ``PlacementInputError`` naming the field and the offending values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INCUMBENT_TOLERANCE = 1e-9  # relative (and MW absolute): incumbent MW may exceed demand by this


class PlacementError(RuntimeError):
    """A placement engine could not return an optimum (it always should: unserved demand
    keeps the problem feasible)."""


class PlacementInputError(PlacementError, ValueError):
    """A placement problem broke the contract (shapes, finite costs, signs)."""


@dataclass(frozen=True, eq=False)
class PlacementProblem:
    """One operator's placement problem for one step; build it with ``PlacementProblem.of``.

    Attributes:
        cost_usd_per_mwh: (K, R) $/MWh of serving class k at region j this step (finite
            wherever feasible; ignored elsewhere).
        feasible: (K, R) bool; no load where false (masks: latency, residency, state).
        demand_mw: (K,) MW to serve this step (MWh per hourly step), finite, >= 0.
        friction_usd_per_mw: (K, R) $ per MW moved in beyond the incumbent, finite, >= 0.
        incumbent_mw: (K, R) MW held last step rescaled to this step's demand (x0), >= 0,
            each class's total <= its demand (within ``INCUMBENT_TOLERANCE``; the engines
            scale a total above demand down to it).
        capacity_mw: (R,) MW the operator can use, >= 0, ``np.inf`` for no limit.
        voll_usd_per_mwh: value of lost load, the $ per MWh of unserved demand (finite; any
            value: below an operator's cheapest MW, demand goes unserved by choice).
        preference: (K, R) tie rank in [0, 1] of serving class k at region j, lower first
            (``tie_preference``: 0 at the origin, then by RTT); zeros if not given.
    """

    cost_usd_per_mwh: np.ndarray
    feasible: np.ndarray
    demand_mw: np.ndarray
    friction_usd_per_mw: np.ndarray
    incumbent_mw: np.ndarray
    capacity_mw: np.ndarray
    voll_usd_per_mwh: float
    preference: np.ndarray

    @classmethod
    def of(cls, cost_usd_per_mwh: np.ndarray, feasible: np.ndarray, demand_mw: np.ndarray, *,
           voll_usd_per_mwh: float, friction_usd_per_mw: np.ndarray | None = None,
           incumbent_mw: np.ndarray | None = None, capacity_mw: np.ndarray | None = None,
           preference: np.ndarray | None = None) -> PlacementProblem:
        """A validated problem (contiguous float64 / bool copies); omitted friction and
        incumbent are zeros, capacity unlimited, preference zeros. Raises
        ``PlacementInputError``."""
        arrays = problem_arrays(cost_usd_per_mwh, feasible, {"demand_mw": demand_mw},
                                friction_usd_per_mw=friction_usd_per_mw,
                                incumbent_mw=incumbent_mw, capacity_mw=capacity_mw,
                                preference=preference)
        voll = float(voll_usd_per_mwh)
        check_arrays(**arrays, voll_usd_per_mwh=voll)
        return cls(**arrays, voll_usd_per_mwh=voll)

    @property
    def shape(self) -> tuple[int, int]:
        """(K, R)."""
        return self.cost_usd_per_mwh.shape

    def objective_usd(self, x_mw: np.ndarray, unserved_mw: np.ndarray) -> float:
        """The problem's objective ($) at a placement x (K, R) and unserved MW (K,)."""
        moved = np.maximum(x_mw - self.incumbent_mw, 0.0)
        c = np.where(self.feasible, self.cost_usd_per_mwh, 0.0)
        return float((x_mw * c).sum() + (moved * self.friction_usd_per_mw).sum()
                     + self.voll_usd_per_mwh * unserved_mw.sum())

    def tie_cost(self, x_mw: np.ndarray, unserved_mw: np.ndarray) -> float:
        """The tie-break objective (docs/model.md, "Ties") at a placement: per MW, the
        preference where it is kept, 2 + the preference where it is moved in, 4 unserved."""
        moved = np.maximum(x_mw - self.incumbent_mw, 0.0)
        return float((x_mw * self.preference).sum() + TIE_NEW * moved.sum()
                     + TIE_UNSERVED * unserved_mw.sum())


TIE_NEW = 2.0  # tie cost per MW moved in, on top of the region's preference (in [0, 1])
TIE_UNSERVED = 4.0  # tie cost per MW unserved: above any placement's


RTT_SCALE_MS = 100.0  # RTT at which the rank is halfway between 1/2 and 1


def tie_preference(at_origin: np.ndarray, rtt_ms: np.ndarray) -> np.ndarray:
    """(..., R) tie rank in [0, 1]: 0 at the origin, elsewhere 1/2 + 1/2 rtt / (rtt + 100 ms),
    increasing in the RTT and the same whatever else is in the array (origin first, then the
    lowest RTT)."""
    rtt = np.maximum(np.asarray(rtt_ms, dtype=float), 0.0)
    with np.errstate(invalid="ignore"):
        rank = np.where(np.isfinite(rtt), 0.5 + 0.5 * rtt / (rtt + RTT_SCALE_MS), 1.0)
    return np.where(at_origin, 0.0, rank)


def check_arrays(cost_usd_per_mwh: np.ndarray, feasible: np.ndarray, demand_mw: np.ndarray,
                 friction_usd_per_mw: np.ndarray, incumbent_mw: np.ndarray,
                 capacity_mw: np.ndarray | None, voll_usd_per_mwh: float,
                 preference: np.ndarray | None = None) -> None:
    """Check placement arrays against the contract; raise ``PlacementInputError`` naming the
    field and the offending values. Works on one operator ((K, R), (K,), (R,)) or a batch
    ((O, K, R), (O, K), (O, R) capacity); capacity None is checked by the caller
    (``check_capacity``). Fast when all is well (whole-array reductions)."""
    cost = cost_usd_per_mwh
    shape = np.shape(cost)
    if len(shape) not in (2, 3):
        _fail("cost_usd_per_mwh", f"must be (K, R) or (O, K, R), got shape {shape}")
    expect = {"feasible": (feasible, shape), "demand_mw": (demand_mw, shape[:-1]),
              "friction_usd_per_mw": (friction_usd_per_mw, shape),
              "incumbent_mw": (incumbent_mw, shape)}
    if capacity_mw is not None:
        expect["capacity_mw"] = (capacity_mw, shape[:-2] + shape[-1:])
    if preference is not None:
        expect["preference"] = (preference, shape)
    check_shapes(shape, {name: (np.shape(a), want) for name, (a, want) in expect.items()},
                 voll_usd_per_mwh)
    if capacity_mw is not None:
        check_capacity("capacity_mw", capacity_mw)
    r = shape[-1]
    flat = [np.ascontiguousarray(a).reshape(-1, r) for a in (
        cost, feasible, friction_usd_per_mw, incumbent_mw,
        cost if preference is None else preference)]
    from abm.core.problem_check import arrays_valid  # compiled: numba loads on first check

    if arrays_valid(*flat, np.ascontiguousarray(demand_mw).reshape(-1), preference is not None,
                    INCUMBENT_TOLERANCE):
        return  # one compiled pass; the checks below find and name what is wrong
    if not np.isfinite(cost).all():
        _bad("cost_usd_per_mwh", cost, feasible & ~np.isfinite(cost), "finite where feasible")
    demand = demand_mw
    if not (np.isfinite(demand).all() and (demand >= 0).all()):
        _bad("demand_mw", demand, ~(np.isfinite(demand) & (demand >= 0)), "finite and >= 0")
    for name, a in (("friction_usd_per_mw", friction_usd_per_mw),
                    ("incumbent_mw", incumbent_mw)):
        if not (np.isfinite(a).all() and a.min(initial=0.0) >= 0):
            _bad(name, a, ~(np.isfinite(a) & (a >= 0)), "finite and >= 0")
    held = incumbent_mw.sum(axis=-1)
    over = held > demand * (1 + INCUMBENT_TOLERANCE) + INCUMBENT_TOLERANCE
    if over.any():
        _bad("incumbent_mw", held, over, "per class, summed over regions, <= demand_mw "
             f"(demand there: {_values(demand, over)})")
    if preference is not None and not ((preference >= 0) & (preference <= 1)).all():
        _bad("preference", preference, ~((preference >= 0) & (preference <= 1)), "in [0, 1]")


def problem_arrays(cost_usd_per_mwh: np.ndarray, feasible: np.ndarray,
                   loads: dict[str, np.ndarray | None], *,
                   friction_usd_per_mw: np.ndarray | None, incumbent_mw: np.ndarray | None,
                   capacity_mw: np.ndarray | None, preference: np.ndarray | None
                   ) -> dict[str, np.ndarray]:
    """A problem's arrays as contiguous float64 / bool copies, the omitted ones at the
    contract's defaults (friction, incumbent and preference zeros (K, R), capacity
    unlimited), for one hour (cost (K, R), ``PlacementProblem``) or a plan over the horizon
    (cost (T, K, R), ``abm.core.horizon.HorizonProblem``): ``loads`` by name (MW, (..., K);
    None: zeros), capacity (..., R). The caller checks them (``check_shapes`` first)."""
    cost = _f64(cost_usd_per_mwh)
    lead, pair = cost.shape[:-2], cost.shape[-2:]
    return {"cost_usd_per_mwh": cost, "feasible": np.array(feasible, dtype=np.bool_, order="C"),
            **{name: _f64(a, lead + pair[:1]) for name, a in loads.items()},
            "friction_usd_per_mw": _f64(friction_usd_per_mw, pair),
            "incumbent_mw": _f64(incumbent_mw, pair),
            "capacity_mw": _f64(capacity_mw, lead + pair[1:], fill=np.inf),
            "preference": _f64(preference, pair)}


def check_shapes(cost_shape: tuple[int, ...], shapes: dict[str, tuple[tuple, tuple]],
                 voll_usd_per_mwh: float) -> None:
    """Each named array's shape (got, want) matches the cost's, and VoLL is finite; raises
    ``PlacementInputError`` naming the field otherwise."""
    for name, (got, want) in shapes.items():
        if got != want:
            _fail(name, f"must have shape {want} to match cost {cost_shape}, got {got}")
    if not np.isfinite(voll_usd_per_mwh):
        _fail("voll_usd_per_mwh", f"must be finite, got {voll_usd_per_mwh}")


def check_capacity(name: str, capacity_mw: np.ndarray) -> None:
    """Capacity MW must be >= 0 (``np.inf`` for no limit), never NaN."""
    cap = capacity_mw
    if not cap.min(initial=0.0) >= 0:  # one pass: the minimum is NaN where any entry is
        _bad(name, cap, np.isnan(cap) | (cap < 0), ">= 0 (np.inf for no limit)")


def _bad(name: str, values: np.ndarray, where: np.ndarray, rule: str) -> None:
    where = np.asarray(where, dtype=bool)
    if not where.any():
        return
    _fail(name, f"must be {rule}; got {_values(values, where)}")


def _values(values: np.ndarray, where: np.ndarray, most: int = 3) -> str:
    """The first few offending values with their indices, e.g. '-1.0 at (0, 2), nan at (1, 0)'."""
    idx = np.argwhere(where)
    shown = ", ".join(f"{float(values[tuple(i)])!r} at {tuple(int(v) for v in i)}"
                      for i in idx[:most])
    more = len(idx) - most
    return shown + (f" and {more} more" if more > 0 else "")


def _fail(name: str, message: str) -> None:
    raise PlacementInputError(f"placement problem: {name} {message}")


def _f64(a: np.ndarray | None, shape: tuple[int, ...] = (),
         fill: float = 0.0) -> np.ndarray:
    if a is None:
        return np.full(shape, fill)
    return np.array(a, dtype=np.float64, order="C")
