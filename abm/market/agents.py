"""The market's agents. Each is thin: it holds its own state and calls the pure core."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from abm.placement import solve_placement
from abm.pricing import RENT_RULES
from abm.supply import calibrate, clear, system_emissions_kg

if TYPE_CHECKING:
    from abm.market.model import MarketModel


class GridZone(mesa.Agent):
    """An electricity zone: sets its base signals, then clears with the data-centre load."""

    model: MarketModel

    def __init__(self, model: MarketModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.zone_id = model.inst.scenario.zones[index].id
        self.background_mw = model.inst.scenario.zones[index].load_mw
        self.stack = None
        self.price_usd_per_mwh = float(model.base.price_usd_per_mwh[0, index])
        self.avg_carbon_kg_per_mwh = float(model.base.avg_carbon_kg_per_mwh[0, index])
        self.marginal_carbon_kg_per_mwh = float(model.base.marginal_carbon_kg_per_mwh[0, index])
        self.dc_load_mw = 0.0
        self.emissions_kg = 0.0
        self.system_emissions_kg = 0.0

    def set_base(self) -> None:
        """Calibrate this hour's supply stack to the base signals at the status-quo load."""
        t, z = self.model.hour, self.index
        b = self.model.base
        self.stack = calibrate(
            self.background_mw + self.model.reference_dc_mw[z], b.price_usd_per_mwh[t, z],
            b.avg_carbon_kg_per_mwh[t, z], b.marginal_carbon_kg_per_mwh[t, z])

    def quote(self, dc_mw: float) -> tuple[float, float, float]:
        """(price, average, marginal carbon) this zone would clear at with ``dc_mw`` of load."""
        c = clear(self.stack, self.background_mw + dc_mw, self.model.market.grid_response)
        return (float(c.price_usd_per_mwh), float(c.avg_kg_per_mwh),
                float(c.marginal_kg_per_mwh))

    def clear(self) -> None:
        """Clear with the data-centre grid load placed this hour."""
        self.dc_load_mw = float(self.model.zone_dc_mw[self.index])
        load = self.background_mw + self.dc_load_mw
        response = self.model.market.grid_response
        c = clear(self.stack, load, response)
        self.price_usd_per_mwh = float(c.price_usd_per_mwh)
        self.avg_carbon_kg_per_mwh = float(c.avg_kg_per_mwh)
        self.marginal_carbon_kg_per_mwh = float(c.marginal_kg_per_mwh)
        self.emissions_kg = float(c.emissions_kg)
        self.system_emissions_kg = float(
            system_emissions_kg(self.stack, load, self.dc_load_mw, response))


class ComputeRegion(mesa.Agent):
    """A data-centre region: posts rent and capacity, records use, expands after a lag."""

    model: MarketModel

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
        self.pending_mw: list[float] = []
        policy = model.inst.scenario.policy
        self.moratorium = region.id in policy.moratorium
        self.connection_cap_mw = dict(policy.grid_connection_cap_mw).get(region.id, np.inf)

    def post(self) -> None:
        """Offer this hour's capacity at this hour's rent."""
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
        self.model.schedule_event(self.complete_expansion, after=market.expansion_lag_hours)

    def complete_expansion(self) -> None:
        """The oldest pending expansion comes online."""
        self.capacity_mw += self.pending_mw.pop(0)


class Operator(mesa.Agent):
    """An inference operator: places its classes each hour with its own placement LP."""

    model: MarketModel

    def __init__(self, model: MarketModel, index: int) -> None:
        super().__init__(model)
        inst = model.inst
        self.index = index
        self.operator_id = inst.operator_ids[index]
        self.share = float(inst.capacity_share[index])
        self.x_mw = model.status_quo_mw[index].copy()
        self.prev_demand_mw = inst.demand_mw[index].copy()
        self.unserved_mw = np.zeros_like(self.prev_demand_mw)
        self.moved_mw = np.zeros_like(self.x_mw)
        self.requested_mw = self.x_mw

    def incumbent_mw(self) -> np.ndarray:
        """Last hour's placement rescaled to this hour's demand, class by class."""
        demand = self.model.demand_mw[self.index]
        ratio = np.divide(demand, self.prev_demand_mw, out=np.zeros_like(demand),
                          where=self.prev_demand_mw > 0)
        return self.x_mw * ratio[:, None]

    def _solve(self, capacity_mw: np.ndarray) -> None:
        m, o = self.model, self.index
        prev = self.incumbent_mw()
        sol = solve_placement(
            m.cost[o], m.feasible[o], m.demand_mw[o], capacity_mw[None, :], m.voll,
            friction_usd_per_mw=m.planning_friction[o], x_prev_mw=prev)
        self.requested_mw = sol.x_mw
        self.unserved_mw = sol.unserved_mw
        self.moved_mw = sol.moved_mw

    def place(self) -> None:
        """First come, first served: keep what I hold, compete for what is free."""
        m = self.model
        own = m.reserved_mw[self.index]
        self._solve(np.minimum(m.available_mw + own, self.share * m.capacity_mw))
        m.available_mw = m.available_mw + own
        m.reserved_mw[self.index] = 0.0
        self.commit()

    def request(self) -> None:
        """Proportional rationing, round one: ask for the optimum against my full share."""
        self._solve(self.share * self.model.capacity_mw)

    def settle(self) -> None:
        """Proportional rationing, round two: keep my granted MW where regions were
        oversubscribed and re-place the rest against what is still free elsewhere."""
        m = self.model
        short = m.grant_ratio < 1.0
        granted = self.requested_mw.sum(axis=0) * m.grant_ratio
        cap = np.where(short, granted, np.minimum(m.available_mw, self.share * m.capacity_mw))
        self._solve(cap)
        self.commit()

    def commit(self) -> None:
        """Take the capacity of the current solution and remember it for next hour."""
        m = self.model
        m.available_mw = np.maximum(m.available_mw - self.requested_mw.sum(axis=0), 0.0)
        self.x_mw = self.requested_mw
        self.prev_demand_mw = m.demand_mw[self.index].copy()
