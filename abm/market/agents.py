"""The market's agents. Each is thin: it holds its own state and calls the pure core."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from random import Random
from typing import TYPE_CHECKING

import mesa
import numpy as np
from mesa.agent import AgentSet

from abm.config.registry import FORECAST_MODES, STRATEGIES
from abm.core.costs import unit_cost
from abm.core.problem import PlacementProblem
from abm.core.signals import Signals
from abm.market.pricing import RENT_RULES
from abm.market.strategies import LP, Decision, OperatorView, Outcome, Strategy, check_decision

if TYPE_CHECKING:
    from abm.market.model import MarketModel


class GridZone(mesa.Agent):
    """An electricity zone: records what the grid market clears it at each hour.

    Zones in one interconnected component clear jointly, so the model clears the grid once
    (``model.grid``, a pure response) and each zone takes its own row of the dispatch.
    """

    model: MarketModel
    #: fields a checkpoint stores (abm/market/state.py); the marginal technology's name is
    #: set every hour before it is recorded
    STATE = ("price_usd_per_mwh", "avg_carbon_kg_per_mwh", "marginal_carbon_kg_per_mwh",
             "generation_mw", "net_import_mw", "dc_load_mw", "reference_dc_mw", "emissions_kg",
             "system_emissions_kg", "relocation_effect_kg")
    SCRATCH = ("marginal_technology", "production_carbon_kg_per_mwh", "base_price_usd_per_mwh",
               "reference_price_usd_per_mwh", "base_carbon_kg_per_mwh",
               "reference_carbon_kg_per_mwh")

    def __init__(self, model: MarketModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.zone_id = model.inst.scenario.zones[index].id
        self.price_usd_per_mwh = float(model.base.price_usd_per_mwh[0, index])
        self.avg_carbon_kg_per_mwh = float(model.base.avg_carbon_kg_per_mwh[0, index])
        self.marginal_carbon_kg_per_mwh = float(model.base.marginal_carbon_kg_per_mwh[0, index])
        self.marginal_technology = ""
        self.production_carbon_kg_per_mwh = self.avg_carbon_kg_per_mwh
        self.generation_mw = np.zeros(len(model.grid.technologies))
        self.net_import_mw = 0.0
        self.dc_load_mw = 0.0
        self.reference_dc_mw = 0.0
        self.emissions_kg = 0.0
        self.system_emissions_kg = 0.0
        self.relocation_effect_kg = 0.0
        # the hour's fit to its base signals at the status quo (abm.grid.responses.HourFit)
        self.base_price_usd_per_mwh = self.reference_price_usd_per_mwh = self.price_usd_per_mwh
        self.base_carbon_kg_per_mwh = self.avg_carbon_kg_per_mwh
        self.reference_carbon_kg_per_mwh = self.avg_carbon_kg_per_mwh

    def record(self) -> None:
        """Take this hour's clearing with the placed data-centre load, and the emissions it
        causes: burnt here with the placed load minus with none (system), and minus with
        the status-quo placement (relocation effect)."""
        m, z = self.model, self.index
        d = m.dispatch
        self.dc_load_mw = float(m.zone_dc_mw[z])
        self.reference_dc_mw = float(m.reference_dc_mw[z])  # status quo: what set_hour took
        self.price_usd_per_mwh = float(d.price_usd_per_mwh[z])
        self.avg_carbon_kg_per_mwh = float(m.consumed_carbon_kg_per_mwh[z])
        self.production_carbon_kg_per_mwh = float(d.avg_carbon_kg_per_mwh[z])
        self.marginal_carbon_kg_per_mwh = float(d.marginal_carbon_kg_per_mwh[z])
        tech = int(d.marginal_technology[z])
        self.marginal_technology = m.grid.technologies[tech] if tech >= 0 else "shedding"
        self.generation_mw = d.generation_mw[z].copy()
        self.net_import_mw = float(d.net_import_mw[z])
        self.emissions_kg = float(d.emissions_kg[z])
        self.system_emissions_kg = self.emissions_kg - float(m.dispatch_none.emissions_kg[z])
        self.relocation_effect_kg = self.emissions_kg - float(
            m.dispatch_status_quo.emissions_kg[z])
        fit = m.fit
        self.base_price_usd_per_mwh = float(fit.base_price_usd_per_mwh[z])
        self.reference_price_usd_per_mwh = float(fit.reference_price_usd_per_mwh[z])
        self.base_carbon_kg_per_mwh = float(fit.base_carbon_kg_per_mwh[z])
        self.reference_carbon_kg_per_mwh = float(fit.reference_carbon_kg_per_mwh[z])


class ComputeRegion(mesa.Agent):
    """A data-centre region: posts rent and capacity, records use, expands after a lag."""

    model: MarketModel
    #: fields a checkpoint stores (abm/market/state.py)
    STATE = ("capacity_mw", "rent_usd_per_mwh", "load_mw", "utilisation", "recent",
             "pending_mw", "pending_at")
    SCRATCH = ()

    def __init__(self, model: MarketModel, index: int) -> None:
        super().__init__(model)
        region = model.inst.scenario.regions[index]
        self.index = index
        self.region_id = region.id
        self.capacity_mw = float(region.capacity_mw)
        self.rent_usd_per_mwh = float(region.rent_usd_per_mwh)
        self.load_mw = 0.0
        self.utilisation = 0.0
        self.recent: list[float] = []
        self.pending_mw: list[float] = []  # expansions ordered, oldest first (MW)
        self.pending_at: list[float] = []  # the model time each comes online
        policy = model.inst.policy
        self.moratorium = bool(policy.moratorium[index])
        self.connection_cap_mw = float(policy.connection_cap_mw[index])

    def post(self) -> None:
        """Offer this hour's capacity at this hour's rent."""
        self.model.capacity_mw[self.index] = self.capacity_mw
        self.model.available_mw[self.index] = self.capacity_mw
        self.model.rent_usd_per_mwh[self.index] = self.rent_usd_per_mwh

    def record(self) -> None:
        """Record utilisation, update rent by the scenario's rule, review expansion."""
        market = self.model.market
        self.load_mw = float(self.model.region_load_mw[self.index])
        self.utilisation = self.load_mw / self.capacity_mw if self.capacity_mw > 0 else 0.0
        self.rent_usd_per_mwh = RENT_RULES[market.pricing](
            self.rent_usd_per_mwh, self.utilisation, market)
        self.recent.append(self.utilisation)
        if len(self.recent) >= market.expansion_review_hours:
            self.review_expansion()

    def review_expansion(self) -> None:
        """Order capacity after the build lag if sustained utilisation exceeds the threshold,
        unless a moratorium or the grid-connection cap forbids it."""
        market = self.model.market
        sustained = float(np.mean(self.recent))
        self.recent = []
        if sustained <= market.expansion_threshold or self.moratorium:
            return
        headroom = self.connection_cap_mw - self.capacity_mw - sum(self.pending_mw)
        amount = min(market.expansion_fraction * self.capacity_mw, headroom)
        if amount <= 0:
            return
        self.pending_mw.append(amount)
        event = self.model.schedule_event(self.complete_expansion,
                                          after=market.expansion_lag_hours)
        self.pending_at.append(float(event.time))

    def complete_expansion(self) -> None:
        """The oldest pending expansion comes online."""
        self.capacity_mw += self.pending_mw.pop(0)
        self.pending_at.pop(0)

    def reschedule(self) -> None:
        """Schedule the pending expansions again (after a model's state is restored)."""
        for at in self.pending_at:
            self.model.schedule_event(self.complete_expansion, at=at)


class Operator(mesa.Agent):
    """An inference operator: forecasts its signals, prices its options, and places its
    classes each hour by its strategy (``abm.market.strategies``) against the capacity it can get.

    Its placement lives in the model's arrays (row ``index``), so that forecasting, costs and
    the compiled first-come walk of ``lp`` operators run for all operators at once
    (``Operators``); the agent's own ``place`` is that behaviour one operator at a time.
    """

    model: MarketModel
    #: fields a checkpoint stores (abm/market/state.py): its placement is the model's
    STATE: tuple[str, ...] = ()
    SCRATCH: tuple[str, ...] = ()

    def __init__(self, model: MarketModel, index: int, strategy: str) -> None:
        super().__init__(model)
        self.index = index
        self.operator_id = model.inst.operator_ids[index]
        self.share = float(model.inst.capacity_share[index])
        self.strategy_name = strategy
        settings = dict(dict(model.inst.scenario.strategy_settings).get(strategy, ()))
        self.strategy: Strategy = STRATEGIES[strategy](**settings)

    @property
    def x_mw(self) -> np.ndarray:
        """(K, R) MW placed this hour."""
        return self.model.x_mw[self.index]

    @property
    def unserved_mw(self) -> np.ndarray:
        """(K,) MW unserved this hour."""
        return self.model.unserved_mw[self.index]

    @property
    def moved_mw(self) -> np.ndarray:
        """(K, R) MW placed beyond last hour's (rescaled) placement."""
        return self.model.moved_mw[self.index]

    def view(self, capacity_mw: np.ndarray) -> OperatorView:
        """What I know this hour (read-only), with ``capacity_mw`` (R,) the MW I can get."""
        m, o = self.model, self.index
        carbon = (np.asarray(m.forecast.carbon(m.inst.policy.placement_signal))[
            o, m.inst.zone_index] * m.inst.pue)
        arrays = [m.demand_mw[o], m.incumbent_mw[o], m.feasible[o], m.cost[o], carbon,
                  m.friction[o], np.array(capacity_mw, dtype=float), m.preference[o]]
        for a in arrays:
            a.flags.writeable = False
        return OperatorView(self.operator_id, *arrays[:6], m.holding_hours, arrays[6],
                            m.voll, arrays[7], self._solve)

    def _solve(self, problem: PlacementProblem) -> Decision:
        """The optimum of my placement problem by the market's placement engine
        (``market.solver``, ``abm.market.engines``)."""
        self.model.lp_solves += 1
        return Decision(*self.model.engine.solve(self.index, problem))

    def place(self, capacity_mw: np.ndarray) -> None:
        """Decide by my strategy against ``capacity_mw`` (R,) and commit the placement."""
        m, o = self.model, self.index
        view = self.view(capacity_mw)
        x, unserved = check_decision(self.strategy.decide(view), view, self.strategy_name)
        m.x_mw[o], m.unserved_mw[o] = x, unserved
        m.moved_mw[o] = np.maximum(x - m.incumbent_mw[o], 0.0)

    def request(self) -> None:
        """Proportional rationing, round one: ask for the optimum against my full share."""
        self.place(self.share * self.model.capacity_mw)

    def settle(self) -> None:
        """Proportional rationing, round two: keep my granted MW where regions were
        oversubscribed and re-place the rest against what is still free elsewhere."""
        m = self.model
        short = m.grant_ratio < 1.0
        granted = self.x_mw.sum(axis=0) * m.grant_ratio
        self.place(np.where(short, granted,
                            np.minimum(m.available_mw, self.share * m.capacity_mw)))
        m.available_mw = np.maximum(m.available_mw - self.x_mw.sum(axis=0), 0.0)

    def outcome(self) -> Outcome:
        """My hour at the cleared signals: placement, realised cost per MWh, what I paid."""
        m, o = self.model, self.index
        return Outcome(self.x_mw.copy(),
                       m.realised_energy_usd_per_mwh[o][None, :] + m.network_cost[o],
                       float(m.operator_cost_usd[o]))

    def learn(self) -> None:
        """Hand my strategy the hour's outcome."""
        self.strategy.learn(self.outcome())


class Operators(AgentSet):
    """The model's operators, with the behaviour that runs for all of them at once: their
    forecasts, their costs, the first-come walk and learning (docs/market.md)."""

    def __init__(self, agents: Iterable[Operator], random: Random | None = None) -> None:
        self.by_index = list(agents)  # operator o is by_index[o]
        super().__init__(self.by_index, random=random)
        self.model = self.by_index[0].model if self.by_index else None
        self.lp = np.array([type(a.strategy) is LP for a in self.by_index], dtype=bool)
        self.learners = AgentSet([a for a in self.by_index if a.strategy.learns], random)

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["agents"], state["random"])

    def forecast(self) -> None:
        """Each operator's (Z,) signals for this hour by its forecast mode
        (``abm.config.registry.FORECAST_MODES``), into ``model.forecast`` (O, Z)."""
        m = self.model
        n_o, n_z = len(self.by_index), len(m.zones)
        # perfect: what each zone would clear at if data-centre load stayed where it was
        q = m.quotes
        quotes = np.stack([q.price_usd_per_mwh, m.quoted_carbon_kg_per_mwh,
                           q.marginal_carbon_kg_per_mwh], axis=1)
        last = np.array([[z.price_usd_per_mwh, z.avg_carbon_kg_per_mwh,
                          z.marginal_carbon_kg_per_mwh] for z in m.zones])
        out = np.empty((n_o, n_z, 3))
        for name in dict.fromkeys(m.inst.forecast):  # each mode once, in first-use order
            rows = m.inst.forecast == name
            out[rows] = FORECAST_MODES[name](quotes, last, int(rows.sum()), m)
        m.forecast = Signals(out[..., 0], out[..., 1], out[..., 2])

    def build_costs(self) -> None:
        """Each operator's (K, R) cost per MWh served at its forecast, into ``model.cost``."""
        m = self.model
        m.cost = unit_cost(m.inst, m.forecast, m.rent_usd_per_mwh, network=m.network_cost)

    def place(self, order: np.ndarray,
              solve: Callable[[int, np.ndarray], None] | None = None) -> None:
        """First come, first served in ``order``: each operator keeps the capacity it held
        last hour (scaled down pro rata where demand growth oversubscribes a region) and
        places against that plus what is still free (up to its share); what it leaves is
        free for those after it.

        With a placement engine that walks (``market.solver = "flow"``: ``flow.first_come``,
        whoever's capacity-free optimum fits takes it, the others solve the LP as a min-cost
        flow), each run of consecutive ``lp`` operators in the order is placed in one call;
        every other operator's strategy decides in turn (``Operator.place``), as every
        operator's does with an engine that does not walk (``"highs"``) or with
        ``model.compiled_walk = False``.

        Args:
            order: the operators' order this hour.
            solve: ``solve(o, capacity_mw)`` places operator o instead of its strategy (for
                reference solvers in tests and benchmarks).
        """
        m = self.model
        inc = m.incumbent_mw
        held = inc.sum(axis=1)
        total = held.sum(axis=0)
        reserved = held * np.minimum(1.0, np.divide(m.capacity_mw, total,
                                                    out=np.ones_like(total), where=total > 0))
        available = np.maximum(m.capacity_mw - reserved.sum(axis=0), 0.0)
        share_cap = m.inst.capacity_share[:, None] * m.capacity_mw[None, :]
        compiled = self.lp[order] & m.engine.walks & m.compiled_walk & (solve is None)
        edges = np.flatnonzero(np.diff(compiled.astype(np.int8))) + 1
        start, checked = 0, False
        for stop in (*edges.tolist(), len(order)):
            run = order[start:stop]
            if compiled[start]:  # the arrays are checked against the contract once a step
                m.lp_solves += m.engine.first_come(
                    run, m.cost, m.demand_mw, m.planning_friction, inc, m.preference, reserved,
                    share_cap, available, m.voll, m.x_mw, m.unserved_mw, check=not checked)
                checked = True
            else:
                for o in run:
                    cap = np.maximum(np.minimum(available + reserved[o], share_cap[o]), 0.0)
                    if solve is None:
                        self.by_index[o].place(cap)
                    else:
                        solve(o, cap)
                    available = np.maximum(available + reserved[o] - m.x_mw[o].sum(axis=0), 0.0)
            start = stop
        np.maximum(m.x_mw - inc, 0.0, out=m.moved_mw)
        m.available_mw = available

    def learn(self) -> None:
        """Operators whose strategy learns take in the hour's outcome."""
        self.learners.do("learn")
