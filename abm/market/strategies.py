"""Operator strategies: how an operator turns what it knows into a placement (docs/market.md).

A strategy is a small class with one decision method, ``decide(view)``, over a read-only
``OperatorView`` of one operator's hour: its demand, its incumbent placement, where it may
run, its forecast costs and carbon, and the capacity it can get. It returns a ``Decision``
(MW per class and region, MW unserved per class) that the market checks and commits.
Strategies are registered by name in ``abm.config.registry.STRATEGIES``; a scenario names them in
``[population] strategies`` and ``[[operators]] strategy`` (docs/scenarios.md).

The market keeps the compiled first-come walk (``abm.core.flow.first_come``) as the fast path of
``lp``: consecutive ``lp`` operators in the drawn order are placed by it; every other
operator's ``decide`` is called in turn (``abm.market.operators.Operators.place``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar, NamedTuple

import numpy as np

from abm.config.registry import STRATEGIES
from abm.core.horizon import HorizonProblem, Plan
from abm.core.problem import TIE_NEW, PlacementProblem

_TOL_MW = 1e-6  # MW: slack allowed when a decision is checked


class DecisionError(ValueError):
    """A strategy decided a placement the market cannot commit."""


class Decision(NamedTuple):
    """A placement: ``x_mw`` (K, R) MW per class and region, ``unserved_mw`` (K,) MW of the
    due load (``OperatorView.demand_mw``) unserved. What a class places beyond its due load
    served is waiting work it runs this hour (at most what waits, ``OperatorView.ahead``); the
    market takes it from the backlog nearest deadline first (docs/market.md, "Deferrable
    work")."""

    x_mw: np.ndarray
    unserved_mw: np.ndarray


class Outcome(NamedTuple):
    """What an operator learns after the grid has cleared, for one hour.

    Attributes:
        x_mw: (K, R) where it served its demand.
        realised_cost_usd_per_mwh: (K, R) energy, carbon price, rent and network cost at the
            cleared signals.
        paid_usd: what the hour cost it at those: its placement's cost and the whole friction of
            the MW it moved (the market's ``cost_usd``, VoLL not included).
    """

    x_mw: np.ndarray
    realised_cost_usd_per_mwh: np.ndarray
    paid_usd: float


Solver = Callable[[PlacementProblem], Decision]
Planner = Callable[[HorizonProblem], Plan]


@dataclass(frozen=True, eq=False)
class Ahead:
    """What an operator with deferrable work knows of the hours ahead (docs/market.md,
    "Deferrable work"); arrays are read-only, T hours from this one (hour 0).

    Attributes:
        cost_usd_per_mwh: (T, K, R) forecast cost per MWh served each hour (hour 0: the
            view's).
        carbon_kg_per_mwh: (T, R) forecast carbon per MWh of IT load each hour.
        due_mw: (T, K) due load each hour (hour 0: the view's demand).
        backlog_mwh: (K, T) work waiting by slot: slot h is due by the end of hour h (this
            hour's arrivals included).
        planner: the market's placement engine for a ``HorizonProblem`` (``market.solver``).
    """

    cost_usd_per_mwh: np.ndarray
    carbon_kg_per_mwh: np.ndarray
    due_mw: np.ndarray
    backlog_mwh: np.ndarray
    planner: Planner


@dataclass(frozen=True, eq=False)
class OperatorView:
    """What one operator knows when it places, for one hour (arrays are read-only).

    Attributes:
        operator_id: the operator's id.
        demand_mw: (K,) MW per class this hour.
        incumbent_mw: (K, R) last hour's placement, scaled class by class to this hour's demand
            (a class with deferrable work: to its due load and all its waiting work), what
            friction is charged against (docs/model.md, "Migration friction").
        feasible: (K, R) where each class may run (latency budget, law, state, capacity).
        cost_usd_per_mwh: (K, R) forecast cost per MWh served (energy, carbon price, rent,
            network), from the operator's own forecast.
        carbon_kg_per_mwh: (R,) forecast carbon per MWh of IT load (placement signal x PUE).
        friction_usd_per_mw: (K, R) one-off cost per MW moved into a region, as paid.
        holding_hours: hours the operator expects to hold a move (``policy.holding_hours``).
        capacity_mw: (R,) MW it can get in each region now.
        voll_usd_per_mwh: penalty per MWh unserved.
        preference: (K, R) tie rank of each pair (``abm.core.problem.tie_preference``).
        solver: the market's LP engine for a ``PlacementProblem`` (``market.solver``).
        ahead: the hours ahead and the work waiting, for an operator with deferrable work
            (None: it has none; ``demand_mw`` is then all it serves this hour).
    """

    operator_id: str
    demand_mw: np.ndarray
    incumbent_mw: np.ndarray
    feasible: np.ndarray
    cost_usd_per_mwh: np.ndarray
    carbon_kg_per_mwh: np.ndarray
    friction_usd_per_mw: np.ndarray
    holding_hours: float
    capacity_mw: np.ndarray
    voll_usd_per_mwh: float
    preference: np.ndarray
    solver: Solver
    ahead: Ahead | None = None

    def problem(self, holding_hours: float | None = None) -> PlacementProblem:
        """This hour's placement problem (``abm.core.problem``, docs/formulation.md): the forecast
        cost, friction amortised over ``holding_hours`` (default: the operator's) per MW
        moved, VoLL for unserved MW, the capacity it can get."""
        hours = self.holding_hours if holding_hours is None else holding_hours
        return PlacementProblem.of(
            self.cost_usd_per_mwh, self.feasible, self.demand_mw,
            voll_usd_per_mwh=self.voll_usd_per_mwh,
            friction_usd_per_mw=self.friction_usd_per_mw / hours,
            incumbent_mw=self.incumbent_mw, capacity_mw=self.capacity_mw,
            preference=self.preference)

    def lp(self, holding_hours: float | None = None) -> Decision:
        """The optimum of ``problem(holding_hours)`` by the market's LP engine."""
        return self.solver(self.problem(holding_hours))

    def horizon_problem(self, holding_hours: float | None = None) -> HorizonProblem:
        """The plan over the hours ahead (``abm.core.horizon``, docs/formulation.md): the due
        load and the waiting work by their deadlines, at the forecast costs, friction amortised
        over ``holding_hours`` per MW moved, against the capacity it can get now (assumed to
        last). Only for a view with ``ahead``."""
        a = self._ahead()
        hours = self.holding_hours if holding_hours is None else holding_hours
        n_t = a.due_mw.shape[0]
        return HorizonProblem.of(
            a.cost_usd_per_mwh, self.feasible, a.due_mw, a.backlog_mwh.T,
            voll_usd_per_mwh=self.voll_usd_per_mwh,
            friction_usd_per_mw=self.friction_usd_per_mw / hours,
            incumbent_mw=self.incumbent_mw,
            capacity_mw=np.broadcast_to(self.capacity_mw, (n_t, len(self.capacity_mw))),
            preference=self.preference)

    def plan(self, holding_hours: float | None = None) -> Decision:
        """This hour of the optimal plan of ``horizon_problem(holding_hours)`` by the market's
        engine: what runs now, the due load unserved, the work run now by slot."""
        plan = self._ahead().planner(self.horizon_problem(holding_hours))
        return Decision(plan.x_mw[0], plan.unserved_mw[0])

    def now(self, work_mwh: np.ndarray | None = None) -> OperatorView:
        """This view with waiting work run now (``work_mwh`` (K, T) by slot; default: all of
        it) added to ``demand_mw`` and no hours ahead: for a strategy that does not wait
        (``as_work`` turns its decision back)."""
        if self.ahead is None:
            return self
        work = self.ahead.backlog_mwh if work_mwh is None else work_mwh
        return replace(self, demand_mw=self.demand_mw + work.sum(axis=1), ahead=None)

    def as_work(self, decision: Decision) -> Decision:
        """A decision taken on ``now()`` as due load and work: what was placed serves the due
        load first, then the work; due load not placed is unserved, work not placed keeps
        waiting."""
        if self.ahead is None:
            return decision
        x = np.asarray(decision[0], dtype=float)
        return Decision(x, np.maximum(self.demand_mw - x.sum(axis=1), 0.0))

    def _ahead(self) -> Ahead:
        if self.ahead is None:
            raise ValueError(f"operator {self.operator_id} has no deferrable work to plan")
        return self.ahead


class Strategy:
    """How an operator places its demand. Subclass, implement ``decide``, and register the
    class with ``@STRATEGIES.register(name, description)``; every operator gets an instance.

    A strategy with state (what it learned) sets ``learns``, implements ``learn`` (the
    market calls it after every hour with the operator's ``Outcome``) and names the fields it
    learns in ``STATE`` (numbers or equally shaped arrays: checkpoints store them,
    abm/market/state.py).
    """

    learns: ClassVar[bool] = False
    #: numeric class attributes a scenario may set (``[strategies.NAME]``, each > 0)
    parameters: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **settings: float) -> None:
        for name, value in settings.items():
            if name not in self.parameters:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; "
                                 f"allowed: {', '.join(self.parameters) or '(none)'}")
            setattr(self, name, float(value))

    def decide(self, view: OperatorView) -> Decision:
        """The placement for this hour."""
        raise NotImplementedError

    def learn(self, outcome: Outcome) -> None:
        """Update what the strategy learned from the hour's ``outcome``."""


def check_decision(decision: Decision, view: OperatorView, strategy: str) -> Decision:
    """``decision`` as float arrays if it is a placement the market can commit: the right
    shapes, finite, non-negative, only where feasible, all due load placed or unserved, no
    more work run than waits, within the capacity the operator can get. Raises
    ``DecisionError`` naming the strategy and the operator otherwise."""
    x = np.asarray(decision[0], dtype=float)
    unserved = np.asarray(decision[1], dtype=float)
    where = f"strategy {strategy!r} (operator {view.operator_id})"
    if x.shape != view.feasible.shape or unserved.shape != view.demand_mw.shape:
        raise DecisionError(f"{where}: expected x_mw {view.feasible.shape} and unserved_mw "
                            f"{view.demand_mw.shape}, got {x.shape} and {unserved.shape}")
    waiting = (np.zeros(len(view.demand_mw)) if view.ahead is None
               else view.ahead.backlog_mwh.sum(axis=1))
    problems = []
    if not (np.isfinite(x).all() and np.isfinite(unserved).all()):
        problems.append("non-finite MW")
    if (x < -_TOL_MW).any() or (unserved < -_TOL_MW).any():
        problems.append("negative MW")
    if (x[~view.feasible] > _TOL_MW).any():
        problems.append("MW where the class may not run")
    work = x.sum(axis=1) + unserved - view.demand_mw  # waiting work run now
    slack = _TOL_MW * np.maximum(1.0, view.demand_mw + waiting)
    if (work < -slack).any():
        problems.append("placed + unserved falls short of demand")
    if (work > waiting + slack).any():
        problems.append("placed + unserved exceeds demand" if view.ahead is None
                        else "placed + unserved exceeds due load + the work that waits")
    if (x.sum(axis=0) > view.capacity_mw + _TOL_MW * np.maximum(1.0, view.capacity_mw)).any():
        problems.append("more than the capacity it can get")
    if problems:
        raise DecisionError(f"{where}: {'; '.join(problems)}")
    return Decision(x, unserved)


def stay(view: OperatorView) -> Decision:
    """Serve all demand where it was served last hour (where it may still run), in the same
    proportions, cut pro rata where that exceeds the capacity it can get; classes with nothing
    placed there stay unserved."""
    kept = np.where(view.feasible, view.incumbent_mw, 0.0)
    held = kept.sum(axis=1)
    x = kept * np.divide(view.demand_mw, held, out=np.zeros_like(held), where=held > 0)[:, None]
    load = x.sum(axis=0)
    x = x * np.minimum(1.0, np.divide(view.capacity_mw, load, out=np.ones_like(load),
                                      where=load > 0))[None, :]
    return Decision(x, np.maximum(view.demand_mw - x.sum(axis=1), 0.0))


@STRATEGIES.register("lp", "myopic placement LP, friction amortised over policy.holding_hours")
class LP(Strategy):
    """Today's operator: the myopic placement LP, friction amortised over the holding hours."""

    def decide(self, view: OperatorView) -> Decision:
        """The LP optimum; with deferrable work, this hour of the optimal plan over the hours
        ahead (``OperatorView.plan``)."""
        return view.lp() if view.ahead is None else view.plan()


@STRATEGIES.register("static", "never moves: serves its demand where it served it last hour")
class Static(Strategy):
    """Never moves: everything stays where it is served."""

    def decide(self, view: OperatorView) -> Decision:
        """Stay; waiting work never waits: it all runs now, where the class runs."""
        return view.as_work(stay(view.now()))


@STRATEGIES.register("greenest", "each class to its lowest-carbon feasible regions, cost ignored")
class Greenest(Strategy):
    """Follow the green: every class to its lowest-carbon feasible region (forecast placement
    signal x PUE), the next-greenest where that is full; cost and friction are ignored.
    Among regions of equal carbon it follows the placement contract's tie rule
    (``abm.core.problem``, docs/model.md "Ties"): keep the incumbent MW, then the origin, then the
    lowest RTT (per MW, the tie cost ``PlacementProblem.tie_cost`` charges)."""

    def decide(self, view: OperatorView) -> Decision:
        """Fill feasible regions greenest first, class by class; each region offers its
        incumbent MW (tie rank: its preference) before new MW (``TIE_NEW`` + preference).
        Waiting work runs now unless a greener hour comes before its deadline (the class's
        greenest feasible region, by the forecast carbon of the hours ahead; work due now
        always runs)."""
        if view.ahead is None:
            return self.greenest(view)
        a = view.ahead
        carbon = np.where(view.feasible[None], a.carbon_kg_per_mwh[:, None, :], np.inf)
        best = carbon.min(axis=2)  # (T, K) the class's greenest carbon each hour
        later = np.minimum.accumulate(np.vstack([np.full(best.shape[1], np.inf), best[1:]]))
        work = np.where((best[0][:, None] <= later.T) | (np.arange(best.shape[0]) == 0),
                        a.backlog_mwh, 0.0)
        return view.as_work(self.greenest(view.now(work)))

    def greenest(self, view: OperatorView) -> Decision:
        """The greenest placement of this hour's demand."""
        n_k, n_r = view.feasible.shape
        x = np.zeros(view.feasible.shape)
        unserved = view.demand_mw.astype(float).copy()
        room = view.capacity_mw.astype(float).copy()
        carbon = np.tile(view.carbon_kg_per_mwh, 2)
        region = np.tile(np.arange(n_r), 2)
        for k in range(n_k):
            # 2R offers: region j's incumbent MW, then region j's new MW
            limit = np.concatenate([view.incumbent_mw[k], np.full(n_r, np.inf)])
            rank = np.concatenate([view.preference[k], TIE_NEW + view.preference[k]])
            for s in np.lexsort((rank, carbon)):
                j = region[s]
                if unserved[k] <= 0.0:
                    break
                if not view.feasible[k, j]:
                    continue
                take = min(unserved[k], room[j], limit[s])
                x[k, j] += take
                room[j] -= take
                unserved[k] -= take
        return Decision(x, np.maximum(unserved, 0.0))


@STRATEGIES.register("threshold", "re-optimises only when the LP saves > saving_share of staying")
class Threshold(Strategy):
    """Re-optimises only when the LP saves more than ``saving_share`` of the cost of staying
    (``stay``: last hour's placement, cut to the capacity it can get, VoLL for the rest), both
    valued at the operator's forecast with friction amortised over its holding hours."""
    parameters: ClassVar[tuple[str, ...]] = ("saving_share",)
    saving_share = 0.1

    def decide(self, view: OperatorView) -> Decision:
        """The LP optimum if it saves enough, else stay. With waiting work the test is the
        same, with all of it run now; when it re-optimises it plans over the hours ahead
        (``OperatorView.plan``), when it stays all the work runs now."""
        now = view.now()
        problem = now.problem()
        keep, best = stay(now), now.solver(problem)
        cost = problem.objective_usd(*keep)
        saving = cost - problem.objective_usd(*best)
        if saving > self.saving_share * cost:
            return best if view.ahead is None else view.plan()
        return view.as_work(keep)


@STRATEGIES.register("adaptive", "LP with a holding horizon learned from its moves' regret")
class Adaptive(Strategy):
    """The LP with a holding horizon H learned from realised costs by learning direction
    theory (Selten and Stoecker 1986, docs/market.md "Strategies"): every ``window_hours`` it
    compares what it paid (friction of its moves included) with what staying put would have
    cost at the realised prices (the window's first placement, scaled class by class to the
    MW served each hour). If moving cost more (positive regret), its moves did not pay back
    over as many hours as it assumed: H shrinks by the factor 1 + ``step``; if moving cost
    less, H grows by it. H starts at ``policy.holding_hours`` and stays within
    [``min_hours``, ``max_hours``]."""
    learns = True
    parameters: ClassVar[tuple[str, ...]] = ("window_hours", "step", "min_hours", "max_hours")
    #: what it learns, stored in checkpoints (abm/market/state.py)
    STATE = ("holding_hours", "hours", "paid_usd", "stay_usd", "anchor_mw")
    window_hours = 24
    step = 0.5
    min_hours = 1.0
    max_hours = 8760.0

    def __init__(self, **settings: float) -> None:
        super().__init__(**settings)
        self.holding_hours = np.nan  # set from the view at the first decision
        self.hours = 0  # hours into the window
        self.paid_usd = 0.0  # paid in the window
        self.stay_usd = 0.0  # staying put would have cost, in the window
        self.anchor_mw = np.zeros(0)  # placement at the window's start, (K, R) flattened

    def decide(self, view: OperatorView) -> Decision:
        """The LP optimum (with deferrable work, the plan) with the learned holding
        horizon."""
        if np.isnan(self.holding_hours):
            self.holding_hours = float(view.holding_hours)
        if view.ahead is not None:
            return view.plan(self.holding_hours)
        return view.lp(self.holding_hours)

    def learn(self, outcome: Outcome) -> None:
        """Add the hour to the window; at its end, move H in the direction of lower regret."""
        if self.hours == 0:
            self.anchor_mw = outcome.x_mw.ravel().copy()
            self.paid_usd = self.stay_usd = 0.0
        else:
            anchor = self.anchor_mw.reshape(outcome.x_mw.shape)
            served, anchored = outcome.x_mw.sum(axis=1), anchor.sum(axis=1)
            ratio = np.divide(served, anchored, out=np.zeros_like(served), where=anchored > 0)
            self.paid_usd += outcome.paid_usd
            self.stay_usd += float((anchor * ratio[:, None]
                                    * outcome.realised_cost_usd_per_mwh).sum())
        self.hours += 1
        if self.hours > self.window_hours:
            regret = self.paid_usd - self.stay_usd
            if abs(regret) > 1e-9 * max(self.paid_usd, 1.0):
                self.holding_hours = float(np.clip(
                    self.holding_hours * (1.0 + self.step) ** -np.sign(regret),
                    self.min_hours, self.max_hours))
            self.hours = 0
