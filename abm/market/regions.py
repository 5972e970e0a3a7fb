"""Compute regions: data-centre capacity offered at a rent, used, and expanded after a lag
(docs/market.md, steps 2 and 4).

The ``Regions`` agent set owns every region's capacity, rent and use as arrays (R,): the
capacity (MW, grows by expansions), the rent its rule asks, the rent posted this hour, what is
still free while operators place, load and utilisation, and the grant ratio of proportional
rationing; with the policy's moratoria and grid-connection caps. A ``ComputeRegion`` agent
reads and writes its own row (``region.capacity_mw``) and keeps its own review window and
pending expansions, which come online through ``model.schedule_event``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from abm.market.agentset import ArrayAgentSet, Column
from abm.market.pricing import RENT_RULES

if TYPE_CHECKING:
    from abm.market.model import MarketModel


class ComputeRegion(mesa.Agent):
    """A data-centre region: records its use, sets next hour's rent by the scenario's rule,
    and orders capacity when sustained use is high, built after a lag."""

    model: MarketModel
    #: per-agent fields a checkpoint stores (abm/market/state.py); its row of capacity, rent
    #: and use is the set's
    STATE = ("recent", "pending_mw", "pending_at")
    SCRATCH = ()
    capacity_mw = Column("regions")  # MW of IT capacity
    rent_usd_per_mwh = Column("regions")  # the rent its rule asks (posted next hour)
    load_mw = Column("regions")  # MW of IT load placed this hour
    utilisation = Column("regions")  # load / capacity
    moratorium = Column("regions")  # may not expand
    connection_cap_mw = Column("regions")  # MW its capacity may grow to

    def __init__(self, model: MarketModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.region_id = model.inst.region_ids[index]
        self.recent: list[float] = []  # utilisation since the last expansion review
        self.pending_mw: list[float] = []  # expansions ordered, oldest first (MW)
        self.pending_at: list[float] = []  # the model time each comes online

    def record(self) -> None:
        """Record utilisation, update rent by the scenario's rule, review expansion."""
        market = self.model.market
        capacity = self.capacity_mw
        self.utilisation = self.load_mw / capacity if capacity > 0 else 0.0
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
        self.pending_mw.append(float(amount))
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


class Regions(ArrayAgentSet[ComputeRegion]):
    """The compute regions and their arrays (R,): capacity, rent, what is free while
    operators place, and use (docs/market.md, steps 2 and 4)."""

    #: fields a checkpoint stores (abm/market/state.py)
    STATE = ("capacity_mw", "rent_usd_per_mwh", "load_mw", "utilisation")
    #: recomputed every hour before they are read
    SCRATCH = ("posted_rent_usd_per_mwh", "offered_mw", "available_mw", "grant_ratio")

    def __init__(self, model: MarketModel) -> None:
        inst = model.inst
        n_r = len(inst.region_ids)
        self.capacity_mw = inst.capacity_mw.astype(float)
        self.rent_usd_per_mwh = inst.rent_usd_per_mwh.astype(float)
        self.posted_rent_usd_per_mwh = self.rent_usd_per_mwh.copy()  # what operators pay now
        self.offered_mw = self.capacity_mw.copy()  # offered this hour (events cap it)
        self.available_mw = np.zeros(n_r)  # free while operators place
        self.load_mw = np.zeros(n_r)
        self.utilisation = np.zeros(n_r)
        self.grant_ratio = np.ones(n_r)  # share of requests granted (proportional rationing)
        self.moratorium = inst.policy.moratorium.copy()
        self.connection_cap_mw = inst.policy.connection_cap_mw.copy()
        super().__init__([ComputeRegion(model, j) for j in range(n_r)], model.random)

    def post(self, cap_mw: np.ndarray | None = None) -> None:
        """Step 2: offer this hour's capacity at the rent each region asks, at most
        ``cap_mw`` (R,) MW where a demand-response event caps it (``abm.market.events``)."""
        self.posted_rent_usd_per_mwh = self.rent_usd_per_mwh.copy()
        self.offered_mw = (self.capacity_mw.copy() if cap_mw is None
                           else np.minimum(self.capacity_mw, cap_mw))
        self.available_mw = self.offered_mw.copy()

    def record(self, load_mw: np.ndarray) -> None:
        """Step 4: each region records the load placed in it (R,), sets next hour's rent and
        reviews expansion."""
        self.load_mw = np.asarray(load_mw, dtype=float).copy()
        self.do("record")

    def reschedule(self) -> None:
        """Schedule every pending expansion again (after a model's state is restored)."""
        self.do("reschedule")
