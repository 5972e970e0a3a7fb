"""Operators: inference operators forecasting, pricing and placing their demand each hour
(docs/market.md, steps 3 and 6).

The ``Operators`` agent set owns every operator's arrays, row o belonging to operator o: this
hour's demand, the placement (MW per class and region), what is unserved and what moved, the
incumbent placement, the forecast and the costs built from it, the realised cost, the
migrations and the zone-to-zone shifts, and what never changes in a run (where each class may
run, its frictions, network costs and tie ranks, the placement engine). Forecasting, costs and
the compiled first-come walk run for all operators at once; an ``Operator`` agent decides by
its strategy against the capacity it can get, reading and writing its own rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import mesa
import numpy as np
from mesa.agent import AgentSet

from abm.config.registry import FORECAST_MODES, PLACEMENT_ENGINES, STRATEGIES
from abm.core.backlog import Balance, arrive, slots, split_demand
from abm.core.backlog import settle as settle_backlog
from abm.core.costs import energy_cost, friction, network_cost, placement_carbon
from abm.core.horizon import HorizonProblem, HoursAhead, Plan
from abm.core.masks import masks, pair_lists
from abm.core.metrics import LAYERS, layer_of, shift_index
from abm.core.problem import PlacementProblem, tie_preference
from abm.core.signals import Signals
from abm.market.agentset import ArrayAgentSet, Column
from abm.market.engines import PlacementEngine
from abm.market.forecasts import extend_days, forecast_ahead
from abm.market.strategies import (
    LP,
    Ahead,
    Decision,
    OperatorView,
    Outcome,
    Strategy,
    check_decision,
)

if TYPE_CHECKING:
    from abm.core.tally import Fixed, Held, HourSums
    from abm.market.model import MarketModel
    from abm.market.regions import Regions
    from abm.market.zones import Zones


class Operator(mesa.Agent):
    """An inference operator: places its classes each hour by its strategy
    (``abm.market.strategies``) against the capacity it can get.

    Its state is its rows of the ``Operators`` arrays (``x_mw``, ``unserved_mw``,
    ``moved_mw``, ``cost_usd``), so that forecasting, costs and the compiled first-come walk
    of ``lp`` operators run for all operators at once; its ``place`` is that behaviour one
    operator at a time.
    """

    model: MarketModel
    #: per-agent fields a checkpoint stores (abm/market/state.py): its rows are the set's
    STATE: tuple[str, ...] = ()
    SCRATCH: tuple[str, ...] = ()
    x_mw = Column("operators")  # (K, R) MW placed this hour
    unserved_mw = Column("operators")  # (K,) MW unserved this hour
    moved_mw = Column("operators")  # (K, R) MW placed beyond last hour's (rescaled) placement
    cost_usd = Column("operators")  # what this hour cost it at the cleared signals ($)

    def __init__(self, model: MarketModel, index: int, strategy: str) -> None:
        super().__init__(model)
        self.index = index
        self.operator_id = model.inst.operator_ids[index]
        self.share = float(model.inst.capacity_share[index])
        self.strategy_name = strategy
        settings = dict(dict(model.inst.scenario.strategy_settings).get(strategy, ()))
        self.strategy = cast(Strategy, STRATEGIES[strategy](**settings))

    def view(self, capacity_mw: np.ndarray) -> OperatorView:
        """What I know this hour (read-only), with ``capacity_mw`` (R,) the MW I can get."""
        ops, o, policy = self.model.operators, self.index, self.model.inst.policy
        arrays = {"demand_mw": ops.due_mw[o], "incumbent_mw": ops.incumbent_mw[o],
                  "feasible": ops.feasible[o], "cost_usd_per_mwh": ops.cost_usd_per_mwh[o],
                  "carbon_kg_per_mwh": ops.forecast_carbon_kg_per_mwh[o],
                  "friction_usd_per_mw": ops.friction_usd_per_mw[o],
                  "capacity_mw": np.array(capacity_mw, dtype=float),
                  "preference": ops.preference[o]}
        for a in arrays.values():
            a.flags.writeable = False
        return OperatorView(operator_id=self.operator_id, holding_hours=policy.holding_hours,
                            voll_usd_per_mwh=policy.voll_usd_per_mwh, solver=self._solve,
                            ahead=self._ahead(arrays) if ops.defers[o] else None, **arrays)

    def _ahead(self, now: dict[str, np.ndarray]) -> Ahead:
        """The hours my plan covers (my longest deadline; beyond the run's end on its last
        day's base signals) and my waiting work."""
        ops, o = self.model.operators, self.index
        n_t = int(ops.deadline_hours[o].max()) + 1
        network = ops.network_usd_per_mwh[o]
        cost = np.concatenate([now["cost_usd_per_mwh"][None],
                               ops.energy_ahead_usd_per_mwh[:n_t - 1, o, None, :]
                               + network[None]])
        carbon = np.concatenate([now["carbon_kg_per_mwh"][None],
                                 ops.carbon_ahead_kg_per_mwh[:n_t - 1, o]])
        due = np.concatenate([now["demand_mw"][None], ops.due_ahead_mw[:n_t - 1, o]])
        backlog = ops.backlog_mwh[o, :, :n_t].copy()  # my later slots are empty
        for a in (cost, carbon, due, backlog):
            a.flags.writeable = False
        return Ahead(cost_usd_per_mwh=cost, carbon_kg_per_mwh=carbon, due_mw=due,
                     backlog_mwh=backlog, planner=self._plan)

    def _plan(self, problem: HorizonProblem) -> Plan:
        """The optimal plan of my problem over the hours ahead by the market's placement
        engine (``market.solver``)."""
        ops = self.model.operators
        ops.lp_solves += 1
        return ops.engine.plan(self.index, problem)

    def _solve(self, problem: PlacementProblem) -> Decision:
        """The optimum of my placement problem by the market's placement engine
        (``market.solver``, ``abm.market.engines``)."""
        ops = self.model.operators
        ops.lp_solves += 1
        return Decision(*ops.engine.solve(self.index, problem))

    def place(self, capacity_mw: np.ndarray) -> None:
        """Decide by my strategy against ``capacity_mw`` (R,) and commit the placement."""
        ops, o = self.model.operators, self.index
        view = self.view(capacity_mw)
        x, unserved = check_decision(self.strategy.decide(view), view, self.strategy_name)
        ops.x_mw[o], ops.unserved_mw[o] = x, unserved  # moved_mw: when the hour settles
        if view.ahead is not None:
            ops.run_work(o, x.sum(axis=1) + unserved - view.demand_mw)

    def request(self) -> None:
        """Proportional rationing, round one: ask for the optimum against my full share."""
        self.place(self.share * self.model.regions.offered_mw)

    def settle(self) -> None:
        """Proportional rationing, round two: keep my granted MW where regions were
        oversubscribed and re-place the rest against what is still free elsewhere."""
        regions = self.model.regions
        short = regions.grant_ratio < 1.0
        granted = self.x_mw.sum(axis=0) * regions.grant_ratio
        self.place(np.where(short, granted, np.minimum(regions.available_mw,
                                                       self.share * regions.offered_mw)))
        regions.available_mw = np.maximum(regions.available_mw - self.x_mw.sum(axis=0), 0.0)

    def outcome(self) -> Outcome:
        """My hour at the cleared signals: placement, realised cost per MWh, what I paid."""
        ops, o = self.model.operators, self.index
        return Outcome(self.x_mw.copy(),
                       ops.realised_energy_usd_per_mwh[o][None, :] + ops.network_usd_per_mwh[o],
                       float(ops.cost_usd[o]))

    def learn(self) -> None:
        """Hand my strategy the hour's outcome."""
        self.strategy.learn(self.outcome())


class Operators(ArrayAgentSet[Operator]):
    """The model's operators and their arrays (O, ...), with the behaviour that runs for all of
    them at once: the hour's demand, forecasts, costs, the first-come walk, realised costs and
    learning (docs/market.md)."""

    #: fields a checkpoint stores (abm/market/state.py)
    STATE = ("demand_mw", "prev_demand_mw", "x_mw", "unserved_mw", "moved_mw", "cost_usd",
             "lp_solves", "shift_mwh", "backlog_mwh")
    #: recomputed every hour before they are read, output the run writer drains, or caches of
    #: what is fixed for the run (``fixed``, ``_demand``, ``_status_quo``, ``_split``)
    SCRATCH = ("held", "held_scale", "incumbent_scale", "_held_mw", "_incumbent_mw",
               "_incumbent_buffer", "_ahead_buffers", "fixed", "_demand", "_status_quo",
               "_split", "walked", "last_x_mw", "forecast_rows", "forecast_row", "_forecast",
               "forecast_carbon_kg_per_mwh", "forecast_energy_usd_per_mwh", "_cost_usd_per_mwh",
               "realised_energy_usd_per_mwh",
               "migrations", "engine", "due_mw", "work_mwh",
               "due_ahead_mw", "energy_ahead_usd_per_mwh", "carbon_ahead_kg_per_mwh",
               "work_run_mwh", "missed_mwh", "balance", "sums")

    def __init__(self, model: MarketModel) -> None:
        inst = self.inst = model.inst
        policy = inst.policy
        self.model = model
        self.feasible = masks(inst).feasible  # (O, K, R) where each class may run
        # the feasible pairs (class k of operator o runs in regions[starts[o, k]:starts[o,
        # k + 1]]): the incumbent is kept by pair, the only entries the walk reads
        self.pair_starts, self.pair_regions = pair_lists(self.feasible)
        self.friction_usd_per_mw = friction(inst)  # (O, K, R) per MW moved, as paid
        # operators weigh a move's one-off friction against the hours they expect to hold it
        self.planning_friction_usd_per_mw = self.friction_usd_per_mw / policy.holding_hours
        self.network_usd_per_mwh = network_cost(inst)  # (O, K, R), fixed for the run
        # tie rank of every (operator, class, region): origin first, then by RTT (docs/model.md)
        self.preference = tie_preference(inst.at_origin(), inst.network_rtt_ms())
        # (O, K, R) local, regional, energy-oriented; and each pair's (origin zone, execution
        # zone) cell of the shift matrix: small integers, read every hour
        self.layer = layer_of(inst).astype(np.int8)
        self.shift_index = shift_index(inst).astype(np.int32).reshape(inst.shape)
        # how placement problems are solved (market.solver)
        self.engine: PlacementEngine = PLACEMENT_ENGINES[model.market.solver](self.feasible)
        self.compiled_walk = True  # lp operators placed by the engine's walk (the fast path)
        self._demand: dict[float, np.ndarray] = {}  # (O, K) demand by UTC hour (``demand_at``)
        self._status_quo: dict[float, np.ndarray] = {}  # (R,) its load at the origins, by hour
        # (O, K) due load and work by UTC hour (``_split_at``)
        self._split: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        n_o, n_k, n_r = inst.shape
        n_z = len(inst.scenario.zones)
        self.demand_mw = inst.demand_at(model.stamps[0].hour)  # (O, K) this hour
        self.prev_demand_mw = self.demand_mw.copy()  # (O, K) last hour's
        self.status_quo_mw = inst.with_demand(self.demand_mw).status_quo_mw()
        self.x_mw = self.status_quo_mw.copy()  # (O, K, R) placement
        self.last_x_mw = self.x_mw.copy()  # (O, K, R) last hour's placement
        # (O, K) what last hour's placement is scaled by, class by class: to this hour's
        # demand, the capacity each operator holds first (``place``, ``held_mw``); and what
        # friction is charged against (``incumbent_mw``): the same, and for a class with work
        # to all it may run (``_with_work``)
        self.held_scale = np.ones((n_o, n_k))
        self.incumbent_scale = self.held_scale
        # what the hour reads of last hour's placement (``abm.core.tally.hold``): the MW held
        # by operator and region, the incumbent by feasible pair, what each class served
        self.held: Held | None = None
        self._held_mw: np.ndarray | None = None  # (O, K, R) built where read
        self._incumbent_mw: np.ndarray | None = None
        self._incumbent_buffer: np.ndarray | None = None  # what ``incumbent_mw`` is written to
        # what the hours ahead's energy cost and carbon are written to (``_costs_ahead``)
        self._ahead_buffers: tuple[np.ndarray, np.ndarray] | None = None
        self.fixed: Fixed | None = None  # what the hour's sums read of the fixed arrays
        self.unserved_mw = np.zeros((n_o, n_k))
        self.moved_mw = np.zeros((n_o, n_k, n_r))
        # each operator's forecast signals (``forecast``, (O, Z), built where read): the
        # distinct (Z, 3) rows of the hour's forecasts and each operator's row (one row for
        # all operators of a mode that forecasts the same for all of them); the operators of
        # each forecast mode, the modes in first-use order
        self.forecast_rows = np.zeros((1, n_z, 3))
        self.forecast_row = np.zeros(n_o, dtype=np.int64)
        self._forecast: Signals | None = None
        self.forecasters = [(name, np.flatnonzero(inst.forecast == name))
                            for name in dict.fromkeys(inst.forecast)]
        # (O, R) forecast carbon per MWh of IT load (the placement signal x PUE), once a step
        self.forecast_carbon_kg_per_mwh = np.zeros((n_o, n_r))
        # (O, R) the part of the unit cost that changes by the hour, at the forecast; the
        # (O, K, R) unit cost is built from it only where read (``cost_usd_per_mwh``)
        self.forecast_energy_usd_per_mwh = np.zeros((n_o, n_r))
        self._cost_usd_per_mwh: np.ndarray | None = None
        self.realised_energy_usd_per_mwh = np.zeros((n_o, n_r))  # at the cleared signals
        self.cost_usd = np.zeros(n_o)  # this hour's realised cost per operator ($)
        # the hour's sums over these arrays once settled (abm.core.tally.hour_sums): what
        # serving and moving cost each operator, the MW by region, layer, shift and migration
        self.sums: HourSums | None = None
        # (O,) the operators the walk placed this hour (their MW only at feasible pairs)
        self.walked = np.zeros(n_o, dtype=bool)
        self.lp_solves = 0  # LPs solved so far (the rest took their capacity-free optimum)
        # deferrable work (docs/market.md, "Deferrable work"): how long each class's may wait
        # (0: it has none), the operators that have some, and the backlog (O, K, slots)
        self.deadline_hours = np.where(inst.deferrable_share > 0, inst.deadline_hours, 0)
        self.defers = (self.deadline_hours > 0).any(axis=1)
        self.backlog_mwh = np.zeros((n_o, n_k, slots(self.deadline_hours)))
        self.due_mw = self.demand_mw  # (O, K) due load this hour: the demand without work
        self.work_mwh = np.zeros((n_o, n_k))  # work arrived this hour
        self.work_run_mwh = np.zeros_like(self.backlog_mwh)  # work run this hour, by slot
        self.missed_mwh = np.zeros((n_o, n_k))  # work that missed its deadline this hour
        self.balance = Balance(0.0, 0.0, 0.0, 0.0, 0.0)  # the backlog's hour
        # the hours ahead (T - 1 of them) for operators with work: due load, energy cost and
        # carbon at their forecasts (hour 0 is this hour's own arrays)
        self.due_ahead_mw = np.zeros((0, n_o, n_k))
        self.energy_ahead_usd_per_mwh = np.zeros((0, n_o, n_r))
        self.carbon_ahead_kg_per_mwh = np.zeros((0, n_o, n_r))
        # the zones' base signals a plan looks ahead on: the run's, then its last day again
        self.base_ahead = extend_days(model.base, self.backlog_mwh.shape[2] - 1)
        self.shift_mwh = np.zeros((n_z, n_z))  # served MWh by origin and execution zone
        self.migrations: list[tuple[int, str, str, float]] = []  # (hour, from, to, MW)
        super().__init__([Operator(model, o, inst.strategy[o]) for o in range(n_o)],
                         model.random)
        self.lp = np.array([type(a.strategy) is LP for a in self.by_index], dtype=bool)
        self.learners = AgentSet([a for a in self.by_index if a.strategy.learns], model.random)

    # -- the hour ----------------------------------------------------------------------------

    def new_hour(self, hour_utc: float) -> None:
        """This hour's demand; last hour's placement, scaled class by class to it, becomes
        the incumbent each operator holds."""
        self.demand_mw = self.demand_at(hour_utc)
        self.walked = np.zeros(len(self.by_index), dtype=bool)
        if self.defers.any():
            self._new_work(hour_utc)
        else:
            self.due_mw = self.demand_mw
        from abm.core.tally import hold  # compiled: numba loads on first use

        ratio = np.divide(self.demand_mw, self.prev_demand_mw,
                          out=np.zeros_like(self.demand_mw), where=self.prev_demand_mw > 0)
        self.held_scale = ratio
        self.incumbent_scale = self._with_work(ratio) if self.defers.any() else ratio
        self.held = hold(self.x_mw, self.pair_starts, self.pair_regions, self.held_scale,
                         self.incumbent_scale, self.last_x_mw)
        self._held_mw = self._incumbent_mw = None

    @property
    def held_mw(self) -> np.ndarray:
        """(O, K, R) last hour's placement scaled class by class to this hour's demand: the
        capacity each operator holds first (``place``; built at first read, the hour itself
        reads ``held``)."""
        if self._held_mw is None:
            self._held_mw = self.last_x_mw * self.held_scale[:, :, None]
        return self._held_mw

    @property
    def incumbent_mw(self) -> np.ndarray:
        """(O, K, R) what friction is charged against: ``held_mw``, and for a class with work
        last hour's placement scaled to all it may run (``_with_work``; built at first read,
        the walk and the hour's sums read it by feasible pair, ``held.incumbent_mw``)."""
        if self._incumbent_mw is None and self.incumbent_scale is self.held_scale:
            self._incumbent_mw = self.held_mw
        elif self._incumbent_mw is None:  # into a buffer kept for the run: a new (O, K, R)
            # array each hour cost about a millisecond at 1,000 operators in fresh pages
            if self._incumbent_buffer is None or self._incumbent_buffer.shape != (
                    self.last_x_mw.shape):
                self._incumbent_buffer = np.empty(self.last_x_mw.shape)
            self._incumbent_mw = np.multiply(self.last_x_mw, self.incumbent_scale[:, :, None],
                                             out=self._incumbent_buffer)
        return self._incumbent_mw

    def demand_at(self, hour_utc: float) -> np.ndarray:
        """(O, K) demand at a UTC hour (``abm.core.instance.Instance.demand_at``), computed
        once a run for each hour of the day it is asked for (read-only)."""
        if hour_utc not in self._demand:
            demand = self.inst.demand_at(hour_utc)
            demand.flags.writeable = False
            self._demand[hour_utc] = demand
        return self._demand[hour_utc]

    def _with_work(self, ratio: np.ndarray) -> np.ndarray:
        """(O, K) what last hour's placement is scaled by into the incumbent against which
        friction is charged (docs/model.md, "Migration friction"): a class with deferrable
        work holds last hour's placement scaled
        to everything it may run this hour (its due load and all the work waiting, after
        this hour's arrivals) against what it had to place then (MW served and due load
        unserved), so that work run later where the class runs is not a move, while MW in a
        region it did not run in are; ``ratio`` (O, K), this hour's demand over last hour's,
        scales every other class (as ``held_mw``)."""
        waits = self.deadline_hours > 0
        placed = self.x_mw.sum(axis=2) + self.unserved_mw
        may_run = self.due_mw + self.backlog_mwh.sum(axis=2)
        return np.where(waits, np.divide(may_run, placed, out=np.zeros_like(placed),
                                         where=placed > 0), ratio)

    def _new_work(self, hour_utc: float) -> None:
        """Split this hour's demand into due load and work, add the work to the backlog (by
        its deadline) and look ahead: the due load of the hours a plan covers."""
        model = self.model
        before = float(self.backlog_mwh.sum())
        start = model.stamps[model.hour]
        self.due_mw, self.work_mwh = self._split_at(hour_utc)
        arrive(self.backlog_mwh, self.work_mwh, self.deadline_hours)
        self.balance = Balance(before, float(self.work_mwh.sum()), 0.0, 0.0, 0.0)
        self.work_run_mwh[:] = 0.0
        self.due_ahead_mw = np.stack([
            self._split_at((start + dt.timedelta(hours=t)).hour)[0]
            for t in range(1, self.backlog_mwh.shape[2])]).reshape(-1, *self.demand_mw.shape)

    def _split_at(self, hour_utc: float) -> tuple[np.ndarray, np.ndarray]:
        """(O, K) the due load and the work of the demand at a UTC hour (``split_demand`` of
        ``demand_at``), computed once a run for each hour of the day (read-only)."""
        if hour_utc not in self._split:
            parts = split_demand(self.demand_at(hour_utc), self.inst.deferrable_share,
                                 self.deadline_hours)
            for a in parts:
                a.flags.writeable = False
            self._split[hour_utc] = parts
        return self._split[hour_utc]

    def status_quo_load_mw(self) -> np.ndarray:
        """(R,) IT load per region (MW) with every class of this hour at its origin; computed
        once a run for each hour of the day, as the demand (``demand_at``; read-only)."""
        hour_utc = self.model.stamps[self.model.hour].hour
        if self._demand.get(hour_utc) is not self.demand_mw:  # not a demand of demand_at
            return self.inst.with_demand(self.demand_mw).status_quo_load_mw()
        if hour_utc not in self._status_quo:
            load = self.inst.with_demand(self.demand_mw).status_quo_load_mw()
            load.flags.writeable = False
            self._status_quo[hour_utc] = load
        return self._status_quo[hour_utc]

    def forecast_signals(self, zones: Zones) -> None:
        """Each operator's (Z,) signals for this hour by its forecast mode
        (``abm.config.registry.FORECAST_MODES``) from the zones' quotes and last clearing."""
        model = self.model
        quotes, last = zones.quoted(), zones.cleared()
        parts, used = [], 0
        for name, rows in self.forecasters:  # each mode once, in first-use order
            f = np.broadcast_to(FORECAST_MODES[name](quotes, last, len(rows), model),
                                (len(rows), *quotes.shape))
            if f.strides[0] == 0:  # the same forecast for all its operators: kept once
                parts.append(f[:1])
                self.forecast_row[rows] = used
            else:
                parts.append(f)
                self.forecast_row[rows] = np.arange(used, used + len(rows))
            used += len(parts[-1])
        self.forecast_rows = np.concatenate(parts).astype(np.float64, copy=False)
        self._forecast = None

    @property
    def forecast(self) -> Signals:
        """(O, Z) each operator's forecast signals this hour: price ($/MWh), average and
        marginal carbon (kg/MWh) (``forecast_rows`` by ``forecast_row``; built at first
        read, the hour's costs read the rows)."""
        if self._forecast is None:
            out = self.forecast_rows[self.forecast_row]
            self._forecast = Signals(out[..., 0], out[..., 1], out[..., 2])
        return self._forecast

    def build_costs(self, rent_usd_per_mwh: np.ndarray) -> None:
        """Each operator's (K, R) cost per MWh served at its forecast and the posted rent
        (``cost_usd_per_mwh``, from its energy part and the network part) and (R,) placement
        carbon (``forecast_carbon_kg_per_mwh``, what every view shows), both from the
        forecast in one compiled pass (``abm.market.energy``)."""
        from abm.market.energy import energy_and_carbon  # compiled: numba loads on first use

        rows = self.forecast_rows
        self.forecast_energy_usd_per_mwh, carbon = energy_and_carbon(
            self.inst, Signals(rows[..., 0], rows[..., 1], rows[..., 2]), rent_usd_per_mwh,
            row=self.forecast_row)
        assert carbon is not None
        self.forecast_carbon_kg_per_mwh = carbon
        self._cost_usd_per_mwh = None
        if self.defers.any():
            self.energy_ahead_usd_per_mwh, self.carbon_ahead_kg_per_mwh = self._costs_ahead(
                rent_usd_per_mwh)

    def _costs_ahead(self, rent_usd_per_mwh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T - 1, O, R) the energy cost and the placement carbon x PUE of the hours ahead at
        each operator's forecast moved as the base signals move (``forecast_ahead``): in one
        compiled pass (``abm.core.backlog_loops.ahead_costs``, the same bits) where every array
        is float64, else hour by hour in numpy."""
        inst, model = self.inst, self.model
        n_o, n_r = len(self.by_index), len(inst.region_ids)
        basis = inst.policy.placement_signal
        f_price, f_carbon = self.forecast.price_usd_per_mwh, self.forecast.carbon(basis)
        b_price, b_carbon = self.base_ahead.price_usd_per_mwh, self.base_ahead.carbon(basis)
        tau = inst.policy.carbon_price_usd_per_t
        arrays = (f_price, f_carbon, b_price, b_carbon, tau, inst.pue, rent_usd_per_mwh)
        if all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in arrays):
            from abm.core.backlog_loops import ahead_costs  # compiled: numba loads on first use

            shape = (len(self.due_ahead_mw), n_o, n_r)
            if self._ahead_buffers is None or self._ahead_buffers[0].shape != shape:
                self._ahead_buffers = (np.empty(shape), np.empty(shape))
            energy, placed = self._ahead_buffers  # kept for the run: no fresh pages an hour
            ahead_costs(f_price, f_carbon, b_price, b_carbon, model.hour, inst.zone_index,
                        np.broadcast_to(tau, (n_o, n_r)), float(inst.policy.price_weight),
                        inst.pue, rent_usd_per_mwh, energy, placed)
            return energy, placed
        signals = [forecast_ahead(self.forecast, self.base_ahead, model.hour, t)
                   for t in range(1, len(self.due_ahead_mw) + 1)]
        return (np.array([energy_cost(inst, s, rent_usd_per_mwh) for s in signals]).reshape(
                    -1, n_o, n_r),
                np.array([placement_carbon(inst, s) for s in signals]).reshape(-1, n_o, n_r))

    @property
    def cost_usd_per_mwh(self) -> np.ndarray:
        """(O, K, R) cost per MWh served at the forecast and the posted rent
        (``abm.core.costs.unit_cost``), built from the hour's energy part at first read (the
        compiled walk reads the parts)."""
        if self._cost_usd_per_mwh is None:
            self._cost_usd_per_mwh = (self.forecast_energy_usd_per_mwh[:, None, :]
                                      + self.network_usd_per_mwh)
        return self._cost_usd_per_mwh

    def place(self, order: np.ndarray,
              solve: Callable[[int, np.ndarray], None] | None = None) -> None:
        """First come, first served in ``order``: each operator keeps the capacity it held
        last hour (scaled down pro rata where demand growth oversubscribes a region) and
        places against that plus what is still free (up to its share); what it leaves is
        free for those after it (``model.regions.available_mw``).

        With a placement engine that walks (``market.solver = "flow"``: ``flow.first_come``,
        whoever's capacity-free optimum fits takes it, the others solve the LP as a min-cost
        flow), each run of consecutive ``lp`` operators in the order is placed in one call;
        every other operator's strategy decides in turn (``Operator.place``), as every
        operator's does with an engine that does not walk (``"highs"``) or with
        ``compiled_walk = False``.

        Args:
            order: the operators' order this hour.
            solve: ``solve(o, capacity_mw)`` places operator o instead of its strategy (for
                reference solvers in tests and benchmarks).
        """
        regions: Regions = self.model.regions
        capacity = regions.offered_mw  # the capacity, or less in an event's hours
        assert self.held is not None, "new_hour first"
        from abm.core.tally import reserve  # compiled: numba loads on first use

        reserved, available, share_cap = reserve(self.held.by_operator_mw, capacity,
                                                 self.inst.capacity_share)
        engine, defers = self.engine, self.defers
        plans = defers.any()
        compiled = (self.lp[order] & engine.walks & self.compiled_walk & (solve is None)
                    & (engine.walks_plans | ~defers[order]))
        edges = np.flatnonzero(np.diff(compiled.astype(np.int8))) + 1
        voll = self.inst.policy.voll_usd_per_mwh
        due = self.due_mw
        if plans and not engine.walks_plans:  # operators with work are not walked; the walk
            # checks every row against the one-hour contract, where they may hold more than
            # their due load
            due = np.where(defers[:, None], np.maximum(due, self.incumbent_mw.sum(axis=2)),
                           due)
        ahead = self._walk_ahead() if plans and engine.walks_plans else None
        # the walk reads the incumbent by feasible pair, a plan's walk whole
        inc = self.held.incumbent_mw if ahead is None else self.incumbent_mw
        start, checked = 0, False
        self.walked = np.zeros(len(self.by_index), dtype=bool)
        for stop in (*edges.tolist(), len(order)):
            run = order[start:stop]
            if compiled[start]:  # the arrays are checked against the contract once a step
                extra = {} if ahead is None else {"ahead": ahead}
                self.lp_solves += engine.first_come(
                    run, self.forecast_energy_usd_per_mwh, self.network_usd_per_mwh, due,
                    self.planning_friction_usd_per_mw, inc, self.preference, reserved,
                    share_cap, available, voll, self.x_mw, self.unserved_mw,
                    check=not checked, **extra)
                checked = True
                self.walked[run] = ahead is None
                if ahead is not None:  # what each placed beyond its due load is work run
                    rows = run[defers[run]]
                    self.run_work(rows, self.x_mw.sum(axis=2)[rows] + self.unserved_mw[rows]
                                  - self.due_mw[rows])
            else:
                for o in run:
                    cap = np.maximum(np.minimum(available + reserved[o], share_cap[o]), 0.0)
                    if solve is None:
                        self.by_index[o].place(cap)
                    else:
                        solve(o, cap)
                    available = np.maximum(available + reserved[o] - self.x_mw[o].sum(axis=0),
                                           0.0)
            start = stop
        regions.available_mw = available

    def _walk_ahead(self) -> HoursAhead:
        """The hours ahead for the compiled walk's plans (``abm.core.horizon_walk``): what
        ``Operator.view`` shows an operator with work, for all of them at once."""
        hours = np.where(self.defers, self.deadline_hours.max(axis=1) + 1, 0)
        return HoursAhead(hours, self.energy_ahead_usd_per_mwh, self.network_usd_per_mwh,
                         self.due_ahead_mw, self.backlog_mwh)

    def run_work(self, o: int | np.ndarray, run_mwh: np.ndarray) -> None:
        """Operator o (or operators, an index array) runs ``run_mwh`` (K,) ((O', K)) of its
        waiting work this hour: taken from its backlog nearest deadline first
        (``work_run_mwh``; the backlog itself changes when the hour settles)."""
        from abm.core.backlog_loops import run_work  # compiled: numba loads on first use

        rows = np.atleast_1d(np.asarray(o, dtype=np.int64))
        run = np.asarray(run_mwh, dtype=np.float64).reshape(len(rows), self.backlog_mwh.shape[1])
        run_work(rows, run, self.backlog_mwh, self.work_run_mwh)

    def region_load_mw(self) -> np.ndarray:
        """(R,) IT load placed in each region (MW)."""
        from abm.core.tally import region_load  # compiled: numba loads on first use

        return region_load(self.x_mw)

    def settle(self, realised: Signals, rent_usd_per_mwh: np.ndarray, hour: int) -> None:
        """What the hour cost each operator at the cleared signals (``cost_usd``: energy and
        carbon price x PUE, rent, network, and the whole friction of what it moved: the MW
        placed beyond the incumbent, ``moved_mw``), the zone-to-zone shifts and the
        migrations between regions."""
        last_demand = self.prev_demand_mw
        self.prev_demand_mw = self.demand_mw.copy()
        if self.defers.any():  # the backlog's hour: what ran leaves it, slot 0 expires
            b = self.balance
            self.missed_mwh, self.balance = settle_backlog(
                self.backlog_mwh, self.work_run_mwh, b.before_mwh, b.arrived_mwh)
        from abm.core.tally import fixed, hour_sums  # compiled: numba loads on first use
        from abm.market.energy import energy_and_carbon

        energy = energy_and_carbon(self.inst, realised, rent_usd_per_mwh, carbon=False)[0]
        self.realised_energy_usd_per_mwh = energy
        n_z = len(self.shift_mwh)
        assert self.held is not None, "new_hour first"
        if self.fixed is None:  # the fixed arrays it reads, by feasible pair, once a run
            self.fixed = fixed(self.feasible, self.pair_starts, self.pair_regions,
                               self.network_usd_per_mwh, self.friction_usd_per_mw, self.layer,
                               self.shift_index)
        self.sums = hour_sums(self.x_mw, self.last_x_mw, self.held, self.incumbent_scale,
                              energy, self.fixed, len(LAYERS), n_z * n_z, self.demand_mw,
                              last_demand, self.moved_mw, clean=self.walked)
        self.cost_usd = self.sums.serving_usd + self.sums.friction_usd
        self.shift_mwh += self.sums.shift_mw.reshape(n_z, n_z)
        # MW that left one region for another, matched class by class in proportion
        flows, ids = self.sums.migration_mw, self.inst.region_ids
        for i, j in zip(*np.nonzero(flows > 1e-9), strict=True):
            self.migrations.append((hour, ids[i], ids[j], float(flows[i, j])))

    def learn(self) -> None:
        """Step 6: operators whose strategy learns take in the hour's outcome."""
        self.learners.do("learn")

    def problem(self, o: int, capacity_mw: np.ndarray) -> PlacementProblem:
        """Operator o's placement problem this hour against ``capacity_mw`` (R,)."""
        return self.by_index[o].view(capacity_mw).problem()
