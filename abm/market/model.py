"""The market model: one step is one hour, in the order of docs/model.md section 5.

1. The grid market prepares the hour (``market.grid_response``: base signals, availability,
   calibrated at the status-quo load) and quotes what zones would clear at with last hour's
   placement (the operators' perfect forecasts).
2. Regions post rent and capacity.
3. Operators forecast the zones' signals and build their costs, then place by their
   strategies under the allocation rule (``market.allocation``): first come, first served in
   an order drawn from the model's RNG (each keeps the capacity it held last hour, scaled down
   pro rata where demand growth oversubscribes a region, and competes for the rest), or
   request and are rationed proportionally.
4. Regions record utilisation, update rent, and review expansion (built after a lag).
5. The grid clears with the placed data-centre load, with none and with the status-quo
   placement (system emissions and the relocation effect); each zone records its clearing.
6. Operators whose strategy learns take in the hour's realised costs.
7. The collector records the step.

Checkpoints store the model as data (``state`` / ``restore``; the protocol, and how a new
field or agent type adds its state, is in ``abm/market/state.py``).
"""

from __future__ import annotations

import numpy as np
from mesa import DataCollector, Model

from abm.config.registry import ALLOCATION_RULES, GRID_RESPONSES, PLACEMENT_ENGINES
from abm.config.scenario import Scenario
from abm.core.costs import energy_cost, friction, network_cost
from abm.core.instance import Instance, compile_scenario
from abm.core.masks import masks
from abm.core.metrics import cost_breakdown, emissions_kg, layer_of, shift_index, shift_matrix
from abm.core.placement import Placement
from abm.core.preflight import check_run
from abm.core.problem import PlacementProblem, tie_preference
from abm.core.signals import Signals, hour_stamps, profile_signals
from abm.grid.responses import Dispatch, GridResponse, HourFit
from abm.market import reporters as rep
from abm.market.agents import ComputeRegion, GridZone, Operator, Operators
from abm.market.engines import PlacementEngine
from abm.market.state import Arrays, StateError, check_fields, check_like, gather, scatter


class MarketModel(Model):
    """Operators relocating inference demand hour by hour against regions and grid zones.

    Args:
        scenario: a validated scenario.
        rng: the one seed of every random draw (population, operator order, forecast noise).
        hours: number of steps the run will take (default: the scenario's).
    """

    #: model-level fields a checkpoint stores (abm/market/state.py); the placement engine's
    #: state and Mesa's clock and random generators are stored by ``state`` itself
    STATE = ("hour", "lp_solves", "demand_mw", "reference_dc_mw", "zone_dc_mw",
             "available_mw", "x_mw", "unserved_mw", "moved_mw", "prev_demand_mw",
             "operator_cost_usd", "capacity_mw", "rent_usd_per_mwh",
             "region_load_mw", "grant_ratio", "shift_mwh", *rep.STEP_VALUES)
    #: recomputed every hour before it is read, or output the run writer drains
    SCRATCH = ("cost", "incumbent_mw", "forecast", "realised_energy_usd_per_mwh", "fit", "quotes",
               "quoted_carbon_kg_per_mwh", "consumed_carbon_kg_per_mwh",
               "dispatch", "dispatch_none", "dispatch_status_quo", "migrations", "line_rows",
               "datacollector", "engine")
    #: objects the model holds whose own ``STATE`` fields are stored under ``<name>.<field>``
    COMPONENTS = ("grid",)

    def __init__(self, scenario: Scenario, rng: int | None = None, hours: int | None = None
                 ) -> None:
        self.seed_value = scenario.seed if rng is None else rng
        super().__init__(rng=self.seed_value)
        self.inst: Instance = compile_scenario(scenario, self.rng)
        inst = self.inst
        self.market = scenario.market
        self.hours = hours or scenario.hours
        self.stamps = hour_stamps(scenario.start, self.hours)
        self.base: Signals = profile_signals(scenario, scenario.start, self.hours)
        check_run(inst, self.base, self.hours)  # what abm check checks: finite costs, totals
        self.grid: GridResponse = GRID_RESPONSES[self.market.grid_response](
            scenario, self.base, self.stamps)
        self.dispatch: Dispatch | None = None  # the hour's clearing with the placed load
        self.dispatch_none: Dispatch | None = None  # ... with no data-centre load
        self.dispatch_status_quo: Dispatch | None = None  # ... with the status-quo placement
        self.quotes: Dispatch | None = None  # ... with last hour's placement (forecasts)
        self.fit: HourFit | None = None  # the hour's fit to its base signals (set_hour)
        # (Z,) consumption-based average carbon of the quotes and of the placed clearing
        self.quoted_carbon_kg_per_mwh = np.zeros(0)
        self.consumed_carbon_kg_per_mwh = np.zeros(0)
        self.line_rows: list[np.ndarray] = []  # per hour: (L, 2) flow MW, congested
        self.voll = inst.policy.voll_usd_per_mwh
        self.feasible = masks(inst).feasible
        self.friction = friction(inst)  # $ per MW moved, as paid
        # operators weigh a move's one-off friction against the hours they expect to hold it
        self.holding_hours = inst.policy.holding_hours
        self.planning_friction = self.friction / self.holding_hours
        self.network_cost = network_cost(inst)  # $/MWh, fixed for the run
        # tie rank of every (operator, class, region): origin first, then by RTT (docs/model.md)
        self.preference = tie_preference(inst.at_origin(), inst.network_rtt_ms())
        self.layer = layer_of(inst)
        n_o, n_k, n_r = inst.shape
        n_z = len(scenario.zones)
        # (origin zone, execution zone) cell of every (operator, class, region)
        self.shift_index = shift_index(inst)
        self.hour = 0
        self.demand_mw = inst.demand_at(self.stamps[0].hour)
        self.status_quo_mw = inst.with_demand(self.demand_mw).status_quo_mw()
        self.reference_dc_mw = np.zeros(n_z)
        self.zone_dc_mw = self._zone_grid_mw(self.status_quo_mw.sum(axis=(0, 1)))
        self.available_mw = np.zeros(n_r)
        # operators' placements, row o belongs to operator o
        self.x_mw = self.status_quo_mw.copy()
        self.unserved_mw = np.zeros((n_o, n_k))
        self.moved_mw = np.zeros((n_o, n_k, n_r))
        self.prev_demand_mw = self.demand_mw.copy()
        self.incumbent_mw = self.x_mw.copy()
        self.lp_solves = 0  # LPs solved so far (the rest took their capacity-free optimum)
        self.operator_cost_usd = np.zeros(n_o)  # this hour's realised cost per operator ($)
        # how operators' placement problems are solved (market.solver)
        self.engine: PlacementEngine = PLACEMENT_ENGINES[self.market.solver](self.feasible)
        self.capacity_mw = inst.capacity_mw.copy()
        self.rent_usd_per_mwh = inst.rent_usd_per_mwh.copy()
        self.region_load_mw = np.zeros(n_r)
        self.grant_ratio = np.ones(n_r)
        self.cost = np.zeros((n_o, n_k, n_r))  # operators' forecast costs, row o is o's
        self.forecast: Signals | None = None  # operators' forecast signals (O, Z)
        self.realised_energy_usd_per_mwh = np.zeros((n_o, n_r))  # at the cleared signals
        self.compiled_walk = True  # lp operators placed by the compiled walk (the fast path)
        self.zones = [GridZone(self, z) for z in range(n_z)]
        self.regions = [ComputeRegion(self, j) for j in range(n_r)]
        self.operators = Operators(
            [Operator(self, o, inst.strategy[o]) for o in range(n_o)], self.random)
        for name in rep.STEP_VALUES:  # the step's realised values, read by the collector
            setattr(self, name, 0.0)
        self.migrations: list[tuple[int, str, str, float]] = []
        self.shift_mwh = np.zeros((n_z, n_z))
        self.datacollector = self._collector()

    # -- helpers ---------------------------------------------------------------------------

    def state(self) -> tuple[Arrays, dict]:
        """The model's state as (numeric arrays, JSON-able dict): what a checkpoint stores.

        Arrays are keyed ``model.<field>``, ``engine.<field>`` (the placement engine's),
        ``<AgentClass>.<field>`` and ``<component>.<field>`` (e.g. ``grid.<field>``); the
        dict holds model-level scalars and ``mesa``: steps, time and the random generators'
        states.
        """
        arrays: Arrays = {}
        meta: dict = {}
        for name in self.STATE:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                arrays[f"model.{name}"] = value
            else:
                meta[name] = value
        arrays.update({f"engine.{k}": v for k, v in self.engine.state().items()})
        for agent_type, agents in sorted(self.agents_by_type.items(), key=lambda t: t[0].__name__):
            arrays.update(gather(sorted(agents, key=lambda a: a.unique_id), agent_type.STATE,
                                 agent_type.__name__))
        for name in self.COMPONENTS:
            part = getattr(self, name)
            if not hasattr(type(part), "STATE"):
                raise StateError(f"{name} ({type(part).__name__}) declares no STATE: list the "
                                 "fields it carries from hour to hour (abm/market/state.py)")
            arrays.update(gather([part], type(part).STATE, name))
        for cls, strategies in self._learners():
            arrays.update(gather(strategies, cls.STATE, f"strategy.{cls.__name__}"))
        version, internal, gauss = self.random.getstate()
        meta["mesa"] = {"steps": int(self.steps), "time": float(self.time),
                        "rng": self.rng.bit_generator.state,
                        "random": [version, list(internal), gauss]}
        return arrays, meta

    def _learners(self) -> list[tuple[type, list]]:
        """Operators' strategies that learn, by class (in operator order): what they learned
        is state, each class declaring its fields in its own ``STATE``."""
        by_class: dict[type, list] = {}
        for op in self.operators.by_index:
            if op.strategy.learns:
                by_class.setdefault(type(op.strategy), []).append(op.strategy)
        for cls in by_class:
            if "STATE" not in vars(cls):
                raise StateError(f"strategy {cls.__name__} learns but declares no STATE of its "
                                 "own: list what it learns there (abm/market/state.py)")
        return sorted(by_class.items(), key=lambda t: t[0].__name__)

    def restore(self, arrays: Arrays, meta: dict) -> None:
        """Put a state from :meth:`state` into this model, freshly built from the same
        scenario, seed and hours.

        Raises:
            StateError: the state lacks a field this model stores, holds one it does not
                know, or a field's type or shape differs (discard the model then).
        """
        own_arrays, own_meta = self.state()
        engine = {k.removeprefix("engine."): v for k, v in arrays.items()
                  if k.startswith("engine.")}
        check_like({k: v for k, v in arrays.items() if not k.startswith("engine.")},
                   {k: v for k, v in own_arrays.items() if not k.startswith("engine.")},
                   "the checkpoint's arrays")
        check_fields(meta, own_meta, "the checkpoint's JSON")
        check_fields(meta["mesa"], own_meta["mesa"], "the checkpoint's mesa state")
        for name, value in own_meta.items():
            kind = type(value)
            if name != "mesa" and type(meta[name]) not in (kind, int if kind is float else kind):
                raise StateError(f"the checkpoint's JSON field {name} is "
                                 f"{type(meta[name]).__name__}, expected {kind.__name__}")
        for name in self.STATE:
            if name in meta:
                setattr(self, name, type(own_meta[name])(meta[name]))
            else:
                setattr(self, name, arrays[f"model.{name}"].copy())
        self.engine.restore(engine)
        for agent_type, agents in self.agents_by_type.items():
            scatter(sorted(agents, key=lambda a: a.unique_id), agent_type.STATE,
                    agent_type.__name__, arrays)
        for name in self.COMPONENTS:
            part = getattr(self, name)
            scatter([part], type(part).STATE, name, arrays)
        for cls, strategies in self._learners():
            scatter(strategies, cls.STATE, f"strategy.{cls.__name__}", arrays)
        mesa_state = meta["mesa"]
        self.rng.bit_generator.state = mesa_state["rng"]
        version, internal, gauss = mesa_state["random"]
        self.random.setstate((version, tuple(internal), gauss))
        # Mesa's step generator: cancel its next step and schedule it after the restored time
        self._default_schedule.pause()
        self.steps, self.time = int(mesa_state["steps"]), float(mesa_state["time"])
        self._default_schedule.resume()
        for region in self.regions:
            region.reschedule()

    def _collector(self) -> DataCollector:
        agenttype = {ComputeRegion: rep.REGION,
                     GridZone: rep.zone_reporters(self.grid.technologies)}
        if self.market.operator_detail:
            agenttype[Operator] = rep.OPERATOR
        return DataCollector(model_reporters=rep.MODEL, agenttype_reporters=agenttype)

    def reset_records(self) -> None:
        """Forget the rows collected so far, the migrations and line flows (the run writer
        stored them)."""
        self.datacollector = self._collector()
        self.migrations = []
        self.line_rows = []

    def operator_problem(self, o: int, capacity_mw: np.ndarray) -> PlacementProblem:
        """Operator o's placement problem this hour against ``capacity_mw`` (R,)."""
        return self.operators.by_index[o].view(capacity_mw).problem()

    def _zone_grid_mw(self, region_load_mw: np.ndarray) -> np.ndarray:
        """(Z,) grid load per zone (MW) of an IT load per region (R,), PUE included."""
        return np.bincount(self.inst.zone_index, weights=region_load_mw * self.inst.pue,
                           minlength=len(self.inst.scenario.zones))

    def rescaled_placement_mw(self) -> np.ndarray:
        """(O, K, R) last hour's placement scaled class by class to this hour's demand."""
        ratio = np.divide(self.demand_mw, self.prev_demand_mw,
                          out=np.zeros_like(self.demand_mw), where=self.prev_demand_mw > 0)
        return self.x_mw * ratio[:, :, None]

    # -- the step --------------------------------------------------------------------------

    def step(self) -> None:
        """One hour."""
        prev = self.begin_hour()
        self.operators.forecast()
        self.operators.build_costs()
        ALLOCATION_RULES[self.market.allocation](self)
        self.end_hour(prev)

    def begin_hour(self) -> np.ndarray:
        """Steps 1-2; returns last hour's placement."""
        self.hour = int(self.steps) - 1
        inst = self.inst
        self.demand_mw = inst.demand_at(self.stamps[self.hour].hour)
        self.reference_dc_mw = self._zone_grid_mw(
            inst.with_demand(self.demand_mw).status_quo_load_mw())
        prev = self.x_mw.copy()
        self.incumbent_mw = self.rescaled_placement_mw()
        self.fit = self.grid.set_hour(self.hour, self.reference_dc_mw)
        self.quotes = self.grid.clear(self.zone_dc_mw)
        self.quoted_carbon_kg_per_mwh = self.grid.consumed_carbon_kg_per_mwh(self.quotes)
        for region in self.regions:
            region.post()
        return prev

    def end_hour(self, prev: np.ndarray) -> None:
        """Steps 4-7 after the operators have placed."""
        last_demand = self.prev_demand_mw
        self.prev_demand_mw = self.demand_mw.copy()
        x = self.x_mw
        self.region_load_mw = x.sum(axis=(0, 1))
        for region in self.regions:
            region.record()
        self.zone_dc_mw = self._zone_grid_mw(self.region_load_mw)
        self.clear_grid()
        self._account(x, prev, last_demand)
        self.operators.learn()
        self.datacollector.collect(self)

    def clear_grid(self) -> None:
        """Step 5: clear the grid with the placed data-centre load, with none and with the
        status-quo placement; each zone records its row; line flows are kept per hour."""
        grid = self.grid
        self.dispatch = grid.clear(self.zone_dc_mw)
        self.consumed_carbon_kg_per_mwh = grid.consumed_carbon_kg_per_mwh(self.dispatch)
        self.dispatch_none = grid.clear(np.zeros_like(self.zone_dc_mw))
        self.dispatch_status_quo = (self.dispatch if np.array_equal(
            self.zone_dc_mw, self.reference_dc_mw) else grid.clear(self.reference_dc_mw))
        for zone in self.zones:
            zone.record()
        if grid.lines:
            self.line_rows.append(np.stack([self.dispatch.flow_mw,
                                            self.dispatch.congested], axis=1))

    def _account(self, x: np.ndarray, prev: np.ndarray, last_demand: np.ndarray) -> None:
        """Realised step values (read by the model reporters) and the migrations table."""
        inst = self.inst
        realised = Signals(*(np.array([getattr(z, a) for z in self.zones]) for a in (
            "price_usd_per_mwh", "avg_carbon_kg_per_mwh", "marginal_carbon_kg_per_mwh")))
        moved, unserved = self.moved_mw, self.unserved_mw
        energy = energy_cost(inst, realised, self.rent_usd_per_mwh)  # (O, R)
        self.realised_energy_usd_per_mwh = energy
        self.operator_cost_usd = ((x.sum(axis=1) * energy).sum(axis=1)  # (O,) realised $
                                  + np.einsum("okr,okr->o", x, self.network_cost)
                                  + np.einsum("okr,okr->o", moved, self.friction))
        cost = float(self.operator_cost_usd.sum())
        em = emissions_kg(inst, x, realised)
        served = float(self.region_load_mw.sum())
        layer_mw = np.bincount(self.layer.ravel(), weights=x.ravel(), minlength=3)
        # herding: grid load swinging between zones against last hour's placement at this
        # hour's demand: what left some zones and arrived in others (the smaller of the two,
        # so load shed or taken up again in place does not count)
        swing = self.zone_dc_mw - self._zone_grid_mw(self.incumbent_mw.sum(axis=(0, 1)))
        grid_mw = float(self.zone_dc_mw.sum())
        parts = cost_breakdown(inst, Placement(x, unserved, moved, cost), realised,
                               friction=self.friction, rent_usd_per_mwh=self.rent_usd_per_mwh,
                               network=self.network_cost)
        values = {
            "demand_mwh": float(self.demand_mw.sum()),
            "served_mwh": served,
            "unserved_mwh": float(unserved.sum()),
            "moved_mwh": float(moved.sum()),
            "cost_usd": cost,
            **{f"cost_{name}_usd": getattr(parts, f"{name}_usd") for name in rep.COST_PARTS},
            "energy_mwh": float(self.zone_dc_mw.sum()),
            "emissions_average_kg": em["average"],
            "emissions_marginal_kg": em["marginal"],
            "emissions_system_kg": float(sum(z.system_emissions_kg for z in self.zones)),
            "relocation_effect_kg": float(sum(z.relocation_effect_kg for z in self.zones)),
            "herding_mwh": float(min(swing[swing > 0].sum(), -swing[swing < 0].sum())),
            "dc_price_usd_per_mwh": float(realised.price_usd_per_mwh @ self.zone_dc_mw) / grid_mw
            if grid_mw else 0.0,
            # layer 0 is the origin region
            "relocated_share": float(served - layer_mw[0]) / served if served else 0.0,
            **{f"layer_{n}": float(v) / served if served else 0.0
               for n, v in zip(("local", "regional", "energy"), layer_mw, strict=True)},
        }
        for name in rep.STEP_VALUES:
            setattr(self, name, values[name])
        self.shift_mwh += shift_matrix(inst, x, index=self.shift_index)
        self._record_migrations(prev, x, last_demand)

    def _record_migrations(self, prev: np.ndarray, x: np.ndarray, last_demand: np.ndarray
                           ) -> None:
        """MW that left one region for another this hour, matched class by class in
        proportion (what left i is spread over where it arrived); ``last_demand`` (O, K) is
        last hour's demand."""
        served = prev.sum(axis=2)
        # a class placed MW somewhere new only if it moved against its incumbent placement,
        # or (the incumbent being scaled by demand, not by what was served) if last hour
        # left some of it unserved
        may_move = self.moved_mw.any(axis=2) | (np.abs(served - last_demand) > 1e-12)
        scale = np.divide(self.demand_mw[may_move], served[may_move],
                          out=np.zeros(int(may_move.sum())), where=served[may_move] > 0)
        diff = x[may_move] - prev[may_move] * scale[:, None]
        into = np.maximum(diff, 0.0)
        total_in = into.sum(axis=1)
        moving = total_in > 1e-12  # classes that placed MW somewhere new
        out = np.maximum(-diff[moving], 0.0)
        # einsum, not BLAS: on a shared machine a multithreaded BLAS spends far more time
        # synchronising its threads than this small (R, R) product takes on one
        flows = np.einsum("ki,kj->ij", out, into[moving] / total_in[moving][:, None])
        ids = self.inst.region_ids
        for i, j in zip(*np.nonzero(flows > 1e-9), strict=True):
            self.migrations.append((self.hour, ids[i], ids[j], float(flows[i, j])))
