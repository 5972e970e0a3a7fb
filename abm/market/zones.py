"""Grid zones: electricity markets that answer the data-centre load each hour (docs/market.md,
steps 1 and 5; docs/grid.md).

Zones in one interconnected group clear jointly, so the ``Zones`` agent set clears the grid
(``model.grid``, the scenario's grid response: a pure, Mesa-free object) and owns every zone's
row of the result as arrays (Z,): price, carbon, generation by technology, net imports, the
data-centre load placed and at the status quo, emissions, system emissions and the relocation
effect (each pair of clearings compared at the load both serve: shed load is no avoided carbon,
``abm.grid.shedding``), background demand shed at VoLL and its cost, and the hour's fit to its
base signals; with the hour's four clearings and the line flows. Each ``GridZone`` agent then
records its row (plain attributes: what the zone reporters read, as cheaply as any attribute).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from abm.core.signals import Signals
from abm.grid.responses import Dispatch, HourFit
from abm.grid.shedding import at_served_load
from abm.market.agentset import ArrayAgentSet

if TYPE_CHECKING:
    from abm.market.model import MarketModel

#: the zone's row of the hour: what each zone records from the clearing (arrays (Z,) of the set)
ZONE_FIELDS = ("price_usd_per_mwh", "avg_carbon_kg_per_mwh", "marginal_carbon_kg_per_mwh",
               "marginal_technology", "production_carbon_kg_per_mwh", "generation_mw",
               "net_import_mw", "dc_load_mw", "reference_dc_mw", "emissions_kg",
               "emissions_system_kg", "relocation_effect_kg", "shed_mw", "shed_cost_usd",
               "reference_shed_mw", "base_price_usd_per_mwh",
               "reference_price_usd_per_mwh", "base_carbon_kg_per_mwh",
               "reference_carbon_kg_per_mwh")


class GridZone(mesa.Agent):
    """An electricity zone: records its row of what the grid market cleared this hour (the
    ``Zones`` arrays own it; the zone reporters read the row recorded here)."""

    model: MarketModel
    #: per-agent fields a checkpoint stores (abm/market/state.py): the set's arrays are; the
    #: row is recorded from them every hour (and after a restore)
    STATE: tuple[str, ...] = ()
    SCRATCH = ZONE_FIELDS

    def __init__(self, model: MarketModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.zone_id = model.inst.scenario.zones[index].id

    def record(self, row: tuple) -> None:
        """Take my row of the hour's clearing: the values of ``ZONE_FIELDS``."""
        self.__dict__.update(zip(ZONE_FIELDS, row, strict=True))


class Zones(ArrayAgentSet[GridZone]):
    """The grid zones and their rows of the hour's clearing (Z,), with the behaviour of the
    whole grid: preparing the hour and quoting, clearing with the placed load, with none and
    with the status quo, and recording each zone's row (docs/market.md, steps 1 and 5)."""

    #: fields a checkpoint stores (abm/market/state.py): ``dc_load_mw`` is also what next
    #: hour's quotes clear with
    STATE = ("price_usd_per_mwh", "avg_carbon_kg_per_mwh", "marginal_carbon_kg_per_mwh",
             "generation_mw", "net_import_mw", "dc_load_mw", "reference_dc_mw", "emissions_kg",
             "emissions_system_kg", "relocation_effect_kg", "shed_mw", "shed_cost_usd",
             "reference_shed_mw")
    #: recomputed every hour before they are read, or output the run writer drains
    SCRATCH = ("marginal_technology", "production_carbon_kg_per_mwh", "base_price_usd_per_mwh",
               "reference_price_usd_per_mwh", "base_carbon_kg_per_mwh",
               "reference_carbon_kg_per_mwh", "fit", "quotes", "quoted_carbon_kg_per_mwh",
               "dispatch", "dispatch_none", "dispatch_status_quo", "line_rows")

    def __init__(self, model: MarketModel) -> None:
        self.model = model
        self.grid = model.grid
        inst = model.inst
        n_z = len(inst.scenario.zones)
        base = model.base
        self.price_usd_per_mwh = base.price_usd_per_mwh[0].astype(float)
        self.avg_carbon_kg_per_mwh = base.avg_carbon_kg_per_mwh[0].astype(float)
        self.marginal_carbon_kg_per_mwh = base.marginal_carbon_kg_per_mwh[0].astype(float)
        self.marginal_technology = np.full(n_z, "", dtype=object)
        self.production_carbon_kg_per_mwh = self.avg_carbon_kg_per_mwh.copy()
        self.generation_mw = np.zeros((n_z, len(self.grid.technologies)))
        self.net_import_mw = np.zeros(n_z)
        # data-centre grid load placed (MW, PUE included): last hour's until this hour clears
        self.dc_load_mw = np.zeros(n_z)
        self.reference_dc_mw = np.zeros(n_z)  # ... at the status quo this hour
        self.emissions_kg = np.zeros(n_z)
        self.emissions_system_kg = np.zeros(n_z)
        self.relocation_effect_kg = np.zeros(n_z)
        self.shed_mw = np.zeros(n_z)  # background demand shed at VoLL with the placed load
        self.shed_cost_usd = np.zeros(n_z)  # ... its cost at VoLL, USD in the hour
        self.reference_shed_mw = np.zeros(n_z)  # ... shed with the status-quo placement
        # the hour's fit to its base signals at the status quo (abm.grid.responses.HourFit)
        self.base_price_usd_per_mwh = self.price_usd_per_mwh.copy()
        self.reference_price_usd_per_mwh = self.price_usd_per_mwh.copy()
        self.base_carbon_kg_per_mwh = self.avg_carbon_kg_per_mwh.copy()
        self.reference_carbon_kg_per_mwh = self.avg_carbon_kg_per_mwh.copy()
        self.fit: HourFit | None = None
        self.quotes: Dispatch | None = None  # the clearing with last hour's placement
        self.quoted_carbon_kg_per_mwh = np.zeros(n_z)  # its consumption-based carbon
        self.dispatch: Dispatch | None = None  # ... with the placed load
        self.dispatch_none: Dispatch | None = None  # ... with no data-centre load
        self.dispatch_status_quo: Dispatch | None = None  # ... with the status-quo placement
        self.line_rows: list[np.ndarray] = []  # per hour: (L, 2) flow MW, congested
        super().__init__([GridZone(model, z) for z in range(n_z)], model.random)
        self.publish()

    def publish(self) -> None:
        """Each zone records its row of the arrays (after a clearing, or a restore)."""
        columns = [getattr(self, name).tolist() for name in ZONE_FIELDS]
        for zone, row in zip(self.by_index, zip(*columns, strict=True), strict=True):
            zone.record(row)

    def grid_load_mw(self, region_load_mw: np.ndarray) -> np.ndarray:
        """(Z,) grid load per zone (MW) of an IT load per region (R,), PUE included."""
        inst = self.model.inst
        return np.bincount(inst.zone_index, weights=region_load_mw * inst.pue,
                           minlength=len(self))

    def prepare(self, hour: int, reference_dc_mw: np.ndarray) -> None:
        """Step 1: the hour's background demand and availability, calibrated at the status-quo
        load ``reference_dc_mw`` (Z,); then the quotes: what each zone clears at with last
        hour's placement (the operators' perfect forecast)."""
        self.reference_dc_mw = reference_dc_mw
        self.fit = self.grid.set_hour(hour, reference_dc_mw)
        self.quotes = self.grid.clear(self.dc_load_mw)
        self.quoted_carbon_kg_per_mwh = self.grid.consumed_carbon_kg_per_mwh(self.quotes)

    def quoted(self) -> np.ndarray:
        """(Z, 3) the quotes: price ($/MWh), average and marginal carbon (kg/MWh)."""
        q = self.quotes
        assert q is not None, "prepare the hour before reading its quotes"
        return np.stack([q.price_usd_per_mwh, self.quoted_carbon_kg_per_mwh,
                         q.marginal_carbon_kg_per_mwh], axis=1)

    def cleared(self) -> np.ndarray:
        """(Z, 3) the last clearing recorded: price ($/MWh), average and marginal carbon."""
        return np.stack([self.price_usd_per_mwh, self.avg_carbon_kg_per_mwh,
                         self.marginal_carbon_kg_per_mwh], axis=1)

    def signals(self) -> Signals:
        """The signals the zones cleared at this hour (Z,)."""
        return Signals(self.price_usd_per_mwh.copy(), self.avg_carbon_kg_per_mwh.copy(),
                       self.marginal_carbon_kg_per_mwh.copy())

    def clear(self, dc_load_mw: np.ndarray) -> None:
        """Step 5: clear with the placed data-centre grid load ``dc_load_mw`` (Z,), with none
        and with the status-quo placement; record each zone's row; keep the line flows."""
        grid = self.grid
        self.dc_load_mw = dc_load_mw
        self.dispatch = d = grid.clear(dc_load_mw)
        consumed = grid.consumed_carbon_kg_per_mwh(d)
        self.dispatch_none = none = grid.clear(np.zeros_like(dc_load_mw))
        self.dispatch_status_quo = status_quo = (d if np.array_equal(
            dc_load_mw, self.reference_dc_mw) else grid.clear(self.reference_dc_mw))
        # each pair compared at the load both serve: shed load is no avoided carbon
        served_none = at_served_load(grid.clear, dc_load_mw, d, np.zeros_like(dc_load_mw), none)
        served_status_quo = at_served_load(grid.clear, dc_load_mw, d, self.reference_dc_mw,
                                           status_quo)
        self.record(d, consumed, served_none, served_status_quo, status_quo)
        if grid.lines:
            self.line_rows.append(np.stack([d.flow_mw, d.congested], axis=1))

    def record(self, d: Dispatch, consumed_carbon_kg_per_mwh: np.ndarray,
               served_none: tuple[Dispatch, Dispatch],
               served_status_quo: tuple[Dispatch, Dispatch], status_quo: Dispatch) -> None:
        """Every zone's row of the placed clearing ``d``, which each zone then records:
        price, marginal technology and its factor, average carbon of its load
        (consumption-based, ``consumed_carbon_kg_per_mwh``) and of its generation, generation
        by technology, net imports, the emissions burnt in it, and the emissions it causes:
        with the placed load minus with none (system, from ``served_none``), minus with the
        status quo (relocation effect, from ``served_status_quo``), each pair at the load both
        serve (``abm.grid.shedding.at_served_load``); the background demand ``d`` and the
        ``status_quo`` clearing shed at VoLL, and its cost; and the hour's fit to its base
        signals."""
        fit = self.fit
        assert fit is not None, "prepare the hour before clearing it"
        self.price_usd_per_mwh = d.price_usd_per_mwh.astype(float)
        self.avg_carbon_kg_per_mwh = consumed_carbon_kg_per_mwh.astype(float)
        self.production_carbon_kg_per_mwh = d.avg_carbon_kg_per_mwh.astype(float)
        self.marginal_carbon_kg_per_mwh = d.marginal_carbon_kg_per_mwh.astype(float)
        names = self.grid.technologies
        self.marginal_technology = np.array(
            [names[t] if t >= 0 else "shedding" for t in d.marginal_technology.astype(int)],
            dtype=object)
        self.generation_mw = d.generation_mw.astype(float)
        self.net_import_mw = d.net_import_mw.astype(float)
        self.emissions_kg = d.emissions_kg.astype(float)
        placed, none = served_none
        self.emissions_system_kg = (placed.emissions_kg - none.emissions_kg).astype(float)
        placed, reference = served_status_quo
        self.relocation_effect_kg = (placed.emissions_kg - reference.emissions_kg).astype(float)
        self.shed_mw = d.unserved_mw.astype(float)
        self.shed_cost_usd = self.shed_mw * self.model.inst.policy.voll_usd_per_mwh
        self.reference_shed_mw = status_quo.unserved_mw.astype(float)
        self.base_price_usd_per_mwh = fit.base_price_usd_per_mwh.astype(float)
        self.reference_price_usd_per_mwh = fit.reference_price_usd_per_mwh.astype(float)
        self.base_carbon_kg_per_mwh = fit.base_carbon_kg_per_mwh.astype(float)
        self.reference_carbon_kg_per_mwh = fit.reference_carbon_kg_per_mwh.astype(float)
        self.publish()
