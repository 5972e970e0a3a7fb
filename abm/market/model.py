"""The market model: one step is one hour, in the order of docs/market.md ("Agents and the
step").

The model keeps the clock, the instance (the scenario compiled, its policy included), the
grid, the three agent sets and the collector; each agent set owns the state its agents read
and write (``abm/market/agentset.py``): ``Operators`` their demand, placements, forecasts,
costs and the placement engine (``abm/market/operators.py``), ``Regions`` capacity, rent and
use (``abm/market/regions.py``), ``Zones`` the grid's clearings (``abm/market/zones.py``).
``step`` calls each stage on the set that owns it.

Checkpoints store the model as data (``state`` / ``restore``; the protocol, and how a new
field, agent set or agent type adds its state, is in ``abm/market/state.py``).
"""

from __future__ import annotations

import numpy as np
from mesa import DataCollector, Model

from abm.config.registry import ALLOCATION_RULES, GRID_RESPONSES
from abm.config.scenario import Scenario
from abm.core.instance import Instance, compile_scenario
from abm.core.preflight import check_run
from abm.core.signals import Signals, hour_stamps, profile_signals
from abm.grid.responses import GridResponse
from abm.market import reporters as rep
from abm.market.events import DemandResponse
from abm.market.operators import Operator, Operators
from abm.market.regions import ComputeRegion, Regions
from abm.market.state import (
    VERSION,
    Arrays,
    StateError,
    check_fields,
    check_like,
    check_version,
    gather,
    gather_owned,
    scatter,
    scatter_owned,
)
from abm.market.zones import GridZone, Zones


class MarketModel(Model):
    """Operators relocating inference demand hour by hour against regions and grid zones.

    Args:
        scenario: a validated scenario.
        rng: the one seed of every random draw (population, operator order, forecast noise).
        hours: number of steps the run will take (default: the scenario's).
    """

    #: model-level fields a checkpoint stores (abm/market/state.py); Mesa's clock and random
    #: generators, the agent sets' fields and the placement engine's are stored by ``state``
    STATE = ("hour",)
    #: recomputed every hour before it is read
    SCRATCH = ("outcome", "datacollector")
    #: the agent sets, each storing its own ``STATE`` fields under ``<name>.<field>``
    AGENT_SETS = ("zones", "regions", "operators")
    #: objects the model holds whose own ``STATE`` fields are stored under ``<name>.<field>``
    COMPONENTS = ("grid", "events")

    def __init__(self, scenario: Scenario, rng: int | None = None, hours: int | None = None
                 ) -> None:
        self.seed_value = scenario.seed if rng is None else rng
        super().__init__(rng=self.seed_value)
        self.inst: Instance = compile_scenario(scenario, self.rng)
        self.market = scenario.market
        self.hours = hours or scenario.hours
        self.stamps = hour_stamps(scenario.start, self.hours)
        self.base: Signals = profile_signals(scenario, scenario.start, self.hours)
        check_run(self.inst, self.base, self.hours)  # what abm check checks: finite costs, totals
        self.grid: GridResponse = GRID_RESPONSES[self.market.grid_response](
            scenario, self.base, self.stamps)
        self.hour = 0
        self.zones = Zones(self)
        self.regions = Regions(self)
        self.operators = Operators(self)
        self.events = DemandResponse(self)  # the scenario's demand-response events
        # the first hour's quotes: every class at its origin, as last hour's placement
        self.zones.dc_load_mw = self.zones.grid_load_mw(self.operators.region_load_mw())
        self.outcome: dict[str, float] = dict.fromkeys(rep.STEP_VALUES, 0.0)
        self.datacollector = self._collector()

    # -- the step --------------------------------------------------------------------------

    def step(self) -> None:
        """One hour: each stage of docs/market.md on the agent set that owns it."""
        operators, regions, zones = self.operators, self.regions, self.zones
        # 1.-3. the grid quotes, regions post, operators forecast and price their options ...
        self.prepare_hour(int(self.steps) - 1)
        # ... and place by the allocation rule
        ALLOCATION_RULES[self.market.allocation](self)
        # 4. regions record their load, set next hour's rent, review expansion
        regions.record(operators.region_load_mw())
        # 5. the grid clears with the placed load (and with none, and the status quo)
        zones.clear(zones.grid_load_mw(regions.load_mw))
        operators.settle(zones.signals(), regions.posted_rent_usd_per_mwh, self.hour)
        self.events.record(self.hour)  # what each running event asked and got, and how
        # 6. operators whose strategy learns take in the hour
        operators.learn()
        # 7. the collector records the hour
        self.outcome = rep.hour_outcome(self)
        self.datacollector.collect(self)

    def prepare_hour(self, hour: int) -> None:
        """Hour ``hour`` up to the placement (stages 1-3 before operators place; ``step``
        calls it, and benchmarks time the placement from here)."""
        self.hour = hour
        operators, regions, zones = self.operators, self.regions, self.zones
        # the hour's demand; last hour's placement, scaled to it, is what operators hold
        operators.new_hour(self.stamps[hour].hour)
        # 1. the grid prepares the hour at the status-quo load and quotes last hour's
        zones.prepare(hour, zones.grid_load_mw(operators.status_quo_load_mw()))
        # zones call demand-response events from their quotes (or by schedule) ...
        self.events.call(hour)
        # 2. regions post capacity at their rent (capped in an event's zone)
        regions.post(self.events.cap_mw if self.events else None)
        # 3. operators forecast and price their options
        operators.forecast_signals(zones)
        operators.build_costs(regions.posted_rent_usd_per_mwh)

    # -- records -----------------------------------------------------------------------------

    def _collector(self) -> DataCollector:
        agenttype: dict[type, dict] = {ComputeRegion: rep.REGION,
                                       GridZone: rep.zone_reporters(self.grid.technologies)}
        deferral = bool(self.operators.defers.any())
        if self.market.operator_detail:
            agenttype[Operator] = rep.OPERATOR_DEFERRAL if deferral else rep.OPERATOR
        model = rep.MODEL_DEFERRAL if deferral else rep.MODEL
        if self.events:
            model = {**model, **rep.MODEL_EVENTS}
        return DataCollector(model_reporters=model, agenttype_reporters=agenttype)

    def reset_records(self) -> None:
        """Forget the rows collected so far, the migrations and line flows (the run writer
        stored them)."""
        self.datacollector = self._collector()
        self.operators.migrations = []
        self.zones.line_rows = []
        self.events.rows = []

    # -- state -------------------------------------------------------------------------------

    def state(self) -> tuple[Arrays, dict]:
        """The model's state as (numeric arrays, JSON-able dict): what a checkpoint stores.

        Arrays are keyed ``<set>.<field>`` (each agent set's own fields: ``operators.x_mw``,
        ``regions.capacity_mw``, ``zones.dc_load_mw``), ``<AgentClass>.<field>`` (per-agent
        fields, e.g. a region's pending expansions), ``engine.<field>`` (the placement
        engine's), ``<component>.<field>`` (e.g. ``grid.<field>``), ``strategy.<Class>.<field>``
        (what learning strategies learned) and ``model.<field>``; the dict holds the layout
        ``version``, model-level scalars and ``mesa``: steps, time and the random generators'
        states.
        """
        arrays: Arrays = {}
        meta: dict = {"version": VERSION}
        for name in self.STATE:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                arrays[f"model.{name}"] = value
            else:
                meta[name] = value
        for name in self.AGENT_SETS:
            part = getattr(self, name)
            arrays.update(gather_owned(part, type(part).STATE, name))
        for agent_type, agents in sorted(self.agents_by_type.items(), key=lambda t: t[0].__name__):
            arrays.update(gather(sorted(agents, key=lambda a: a.unique_id),
                                 getattr(agent_type, "STATE", ()), agent_type.__name__))
        arrays.update({f"engine.{k}": v for k, v in self.operators.engine.state().items()})
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
            StateError: the state is of another layout version, lacks a field this model
                stores, holds one it does not know, or a field's type or shape differs
                (discard the model then).
        """
        check_version(meta)
        own_arrays, own_meta = self.state()
        engine = {k.removeprefix("engine."): v for k, v in arrays.items()
                  if k.startswith("engine.")}
        exact = ("model.", *(f"{name}." for name in self.AGENT_SETS))
        check_like({k: v for k, v in arrays.items() if not k.startswith("engine.")},
                   {k: v for k, v in own_arrays.items() if not k.startswith("engine.")},
                   "the checkpoint's arrays", exact=exact)
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
        for name in self.AGENT_SETS:
            part = getattr(self, name)
            scatter_owned(part, type(part).STATE, name, arrays)
        for agent_type, agents in self.agents_by_type.items():
            scatter(sorted(agents, key=lambda a: a.unique_id),
                    getattr(agent_type, "STATE", ()), agent_type.__name__, arrays)
        self.operators.engine.restore(engine)
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
        self.regions.reschedule()
        self.zones.publish()
