"""The market's agents. Each is thin: it holds its own state and calls the pure core."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from abm.flow import solve_flow
from abm.pricing import RENT_RULES

if TYPE_CHECKING:
    from abm.market.model import MarketModel


class GridZone(mesa.Agent):
    """An electricity zone: records what the grid market clears it at each hour.

    Zones in one interconnected component clear jointly, so the model clears the grid once
    (``model.grid``, a pure response) and each zone takes its own row of the dispatch.
    """

    model: MarketModel

    def __init__(self, model: MarketModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.zone_id = model.inst.scenario.zones[index].id
        self.price_usd_per_mwh = float(model.base.price_usd_per_mwh[0, index])
        self.avg_carbon_kg_per_mwh = float(model.base.avg_carbon_kg_per_mwh[0, index])
        self.marginal_carbon_kg_per_mwh = float(model.base.marginal_carbon_kg_per_mwh[0, index])
        self.marginal_technology = ""
        self.generation_mw = np.zeros(len(model.grid.technologies))
        self.net_import_mw = 0.0
        self.dc_load_mw = 0.0
        self.emissions_kg = 0.0
        self.system_emissions_kg = 0.0
        self.relocation_effect_kg = 0.0

    def record(self) -> None:
        """Take this hour's clearing with the placed data-centre load, and the emissions it
        causes: burnt here with the placed load minus with none (system), and minus with
        the status-quo placement (relocation effect)."""
        m, z = self.model, self.index
        d = m.dispatch
        self.dc_load_mw = float(m.zone_dc_mw[z])
        self.price_usd_per_mwh = float(d.price_usd_per_mwh[z])
        self.avg_carbon_kg_per_mwh = float(d.avg_carbon_kg_per_mwh[z])
        self.marginal_carbon_kg_per_mwh = float(d.marginal_carbon_kg_per_mwh[z])
        tech = int(d.marginal_technology[z])
        self.marginal_technology = m.grid.technologies[tech] if tech >= 0 else "shedding"
        self.generation_mw = d.generation_mw[z].copy()
        self.net_import_mw = float(d.net_import_mw[z])
        self.emissions_kg = float(d.emissions_kg[z])
        self.system_emissions_kg = self.emissions_kg - float(m.dispatch_none.emissions_kg[z])
        self.relocation_effect_kg = self.emissions_kg - float(
            m.dispatch_status_quo.emissions_kg[z])


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
        self.model.schedule_event(self.complete_expansion, after=market.expansion_lag_hours)

    def complete_expansion(self) -> None:
        """The oldest pending expansion comes online."""
        self.capacity_mw += self.pending_mw.pop(0)


class Operator(mesa.Agent):
    """An inference operator: places its classes each hour with its own placement LP.

    Its placement lives in the model's arrays (row ``index``) so that the model can check,
    for all operators at once, whether each class's capacity-free optimum fits (the usual case
    with frictions: nothing needs an LP); an operator solves its LP only when it does not.
    """

    model: MarketModel

    def __init__(self, model: MarketModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.operator_id = model.inst.operator_ids[index]
        self.share = float(model.inst.capacity_share[index])

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

    def solve(self, capacity_mw: np.ndarray) -> None:
        """Solve my LP against ``capacity_mw`` (R,) with the market's solver and record the
        placement."""
        m, o = self.model, self.index
        inc = m.incumbent_mw[o]
        problem = m.operator_problem(o, capacity_mw)
        if m.market.solver == "highs":
            sol, m.bases[o] = m.operator_lp(o).solve_problem(problem, basis=m.bases.get(o))
            x, unserved = sol.x_mw, sol.unserved_mw
        else:
            x, unserved = solve_flow(problem)
        m.x_mw[o], m.unserved_mw[o], m.moved_mw[o] = x, unserved, np.maximum(x - inc, 0.0)
        m.lp_solves += 1

    def request(self) -> None:
        """Proportional rationing, round one: ask for the optimum against my full share."""
        self.solve(self.share * self.model.capacity_mw)

    def settle(self) -> None:
        """Proportional rationing, round two: keep my granted MW where regions were
        oversubscribed and re-place the rest against what is still free elsewhere."""
        m = self.model
        short = m.grant_ratio < 1.0
        granted = self.x_mw.sum(axis=0) * m.grant_ratio
        self.solve(np.where(short, granted,
                            np.minimum(m.available_mw, self.share * m.capacity_mw)))
        m.available_mw = np.maximum(m.available_mw - self.x_mw.sum(axis=0), 0.0)
