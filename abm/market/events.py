"""Demand-response events in the market: zones call curtailment of data-centre load by a
schedule or by a rule, and operators answer by deferring, relocating or shedding
(docs/market.md, "Demand-response events").

Each hour, after the zones quote (step 1), :class:`DemandResponse` ends the events whose hours
are over, starts the scheduled events of the hour and asks each rule event's rule whether its
zone calls one (from the zone's :class:`ZoneOutlook`: what it knows ahead of the hour, its
quote); a starting event takes its reference (``abm.core.events``). While an event runs, each
of its zone's regions offers at most (1 - cut) x its reference load (``Regions.post``), so the
operators' own strategies and the placement engines choose the answer. After the hour
settles, each running event's hour is accounted and kept as a row of the run's ``events``
table.

Rules are registered in ``abm.config.registry.EVENT_RULES`` (below: ``price_above``,
``reserve_below``): a class with ``calls(outlook) -> bool`` and the numbers it declares in
``parameters``, set in the event's table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from abm.config.events import check_rules
from abm.config.registry import EVENT_RULES
from abm.config.schema import Event
from abm.core import events as acc

if TYPE_CHECKING:
    from abm.market.model import MarketModel


@dataclass(frozen=True)
class ZoneOutlook:
    """What a zone knows ahead of an hour: its quote, the grid cleared at this hour's
    background demand and availability with last hour's data-centre load (docs/market.md).

    Attributes:
        zone: the zone's id.
        hour: the run's hour (0: the first).
        time_utc: its start.
        price_usd_per_mwh: the quoted price.
        load_mw: the quoted load (background and data-centre, MW).
        shed_mw: background demand the quote sheds at VoLL (MW).
        available_mw: generation the zone's own fleet can offer this hour (MW; None where the
            grid response has no fleet: every response but ``technology``).
    """

    zone: str
    hour: int
    time_utc: dt.datetime
    price_usd_per_mwh: float
    load_mw: float
    shed_mw: float
    available_mw: float | None

    @property
    def reserve_margin_pct(self) -> float | None:
        """(available - load) / load, %, from the zone's own fleet (imports not counted)."""
        if self.available_mw is None:
            return None
        return 100.0 * (self.available_mw - self.load_mw) / self.load_mw if self.load_mw \
            else float("inf")


class EventRule:
    """A rule by which a zone calls a demand-response event; registered in
    ``EVENT_RULES``. Its ``parameters`` are numbers set in the event's table (attributes)."""

    parameters: ClassVar[tuple[str, ...]] = ()
    #: needs the zone's fleet (``ZoneOutlook.available_mw``): the ``technology`` response
    needs_fleet: ClassVar[bool] = False

    def __init__(self, **settings: float) -> None:
        for name, value in settings.items():
            setattr(self, name, float(value))

    def calls(self, outlook: ZoneOutlook) -> bool:
        """Whether the zone calls an event from this hour."""
        raise NotImplementedError


@EVENT_RULES.register("price_above", "the zone's quoted price is at least price_usd_per_mwh")
class PriceAbove(EventRule):
    """Calls when the zone's quote is at least ``price_usd_per_mwh``."""

    parameters = ("price_usd_per_mwh",)
    price_usd_per_mwh: float

    def calls(self, outlook: ZoneOutlook) -> bool:
        return outlook.price_usd_per_mwh >= self.price_usd_per_mwh


@EVENT_RULES.register("reserve_below", "the zone's own fleet has less than margin_pct % "
                      "spare at its quoted load (technology response)")
class ReserveBelow(EventRule):
    """Calls when the zone's reserve margin (its own fleet's available generation over its
    quoted load, imports not counted) is below ``margin_pct``."""

    parameters = ("margin_pct",)
    needs_fleet = True
    margin_pct: float

    def calls(self, outlook: ZoneOutlook) -> bool:
        margin = outlook.reserve_margin_pct
        assert margin is not None, "reserve_below needs the technology response"
        return margin < self.margin_pct


#: the events table's columns (docs/market.md, "Outputs"); MWh of IT load over each hour
COLUMNS = ("hour", "time_utc", "event", "zone", "trigger", "start_hour", "cut_pct",
           "reference_mwh", "asked_mwh", "placed_mwh", "delivered_mwh", "deferred_mwh",
           "relocated_mwh", "shed_mwh")
#: the hour's totals over running events, in the model table with events (``event_<name>``)
TOTALS = ("asked_mwh", "delivered_mwh", "deferred_mwh", "relocated_mwh", "shed_mwh")


class DemandResponse:
    """The scenario's events over the run: which runs in each zone, their references and caps,
    and the rows of the hours accounted (``rows``, drained by the run writer).

    Args:
        model: the market model (its scenario's ``events``).
    """

    #: checkpoint fields (abm/market/state.py): per zone (Z,), the running event (index into
    #: the scenario's events, -1: none), its start and end hour (exclusive); the reference
    #: shares of each zone that may call one, from its last hour without an event (its
    #: regions' columns of ``ref_in`` (O, K, R); ``ref_unserved``, ``ref_deferred`` (Z, O,
    #: K)); events called so far
    STATE = ("running", "start", "end", "ref_in", "ref_unserved", "ref_deferred", "called")
    #: recomputed every hour before they are read, or output the run writer drains
    SCRATCH = ("cap_mw", "rows", "hour_totals")

    def __init__(self, model: MarketModel) -> None:
        self.model = model
        scn = model.inst.scenario
        self.events: tuple[Event, ...] = scn.events
        self.zone_ids = tuple(z.id for z in scn.zones)
        self.zone_of = np.array([self.zone_ids.index(e.zone) for e in self.events], dtype=int)
        self.in_zone = model.inst.zone_index[None, :] == np.arange(len(self.zone_ids))[:, None]
        self.rules = [EVENT_RULES[e.rule](**dict(e.settings)) if e.rule else None
                      for e in self.events]
        check_rules(self.events, model.grid, scn.source)
        n_z = len(self.zone_ids)
        n_o, n_k, n_r = model.inst.shape if self.events else (0, 0, 0)
        self.running = np.full(n_z, -1, dtype=np.int64)
        self.start = np.zeros(n_z, dtype=np.int64)
        self.end = np.zeros(n_z, dtype=np.int64)
        self.ref_in = np.zeros((n_o, n_k, n_r))
        self.ref_unserved = np.zeros((n_z if self.events else 0, n_o, n_k))
        self.ref_deferred = np.zeros_like(self.ref_unserved)
        self.called = 0  # events started so far
        self.cap_mw = np.full(len(model.inst.region_ids), np.inf)
        self.rows: list[tuple] = []
        self.hour_totals = dict.fromkeys(("called", *TOTALS), 0.0)
        self.event_zones = np.unique(self.zone_of)  # zones that may call an event
        for z in self.event_zones:
            self._refresh(int(z))

    def __bool__(self) -> bool:
        return bool(self.events)

    # -- before operators place --------------------------------------------------------------

    def call(self, hour: int) -> None:
        """End the events that are over, start this hour's (schedules first, then rules whose
        zone has none running) and set the hour's caps (``cap_mw``, (R,))."""
        self.cap_mw = np.full(len(self.cap_mw), np.inf)
        if not self.events:
            return
        self.running[self.end <= hour] = -1
        starts = self.called
        for i, e in enumerate(self.events):
            if e.start_hour == hour:  # a schedule ends a rule's event running in its zone
                self._start(i, hour)
        outlooks: dict[int, ZoneOutlook] = {}
        for i, rule in enumerate(self.rules):
            z = int(self.zone_of[i])
            if rule is None or self.running[z] >= 0:
                continue
            if z not in outlooks:
                outlooks[z] = self.outlook(z, hour)
            if rule.calls(outlooks[z]):
                self._start(i, hour)
        self.hour_totals = dict.fromkeys(("called", *TOTALS), 0.0)
        self.hour_totals["called"] = float(self.called - starts)
        demand = self.model.operators.demand_mw
        for z in np.flatnonzero(self.running >= 0):
            e = self.events[self.running[z]]
            self.cap_mw[self.in_zone[z]] = acc.cap_mw(self._reference(z), demand, e.cut_pct)

    def outlook(self, z: int, hour: int) -> ZoneOutlook:
        """Zone z's outlook on ``hour`` (its quote; ``model.zones`` has prepared the hour)."""
        zones, grid = self.model.zones, self.model.grid
        q = zones.quotes
        assert q is not None, "prepare the hour before the zones' outlook"
        available = grid.available_mw()[z] if hasattr(grid, "available_mw") else None
        return ZoneOutlook(zone=self.zone_ids[z], hour=hour, time_utc=self.model.stamps[hour],
                           price_usd_per_mwh=float(q.price_usd_per_mwh[z]),
                           load_mw=float(q.load_mw[z]), shed_mw=float(q.unserved_mw[z]),
                           available_mw=None if available is None else float(available))

    def _start(self, i: int, hour: int) -> None:
        """Event i starts in its zone this hour, against the zone's reference (its last hour
        without an event)."""
        z = int(self.zone_of[i])
        self.running[z], self.start[z] = i, hour
        self.end[z] = hour + self.events[i].hours
        self.called += 1

    def _refresh(self, z: int) -> None:
        """Zone z's reference from the hour the operators' arrays hold (settled, or the
        status quo before the first hour): its shares, kept while an event runs."""
        ops = self.model.operators
        ref = acc.reference(ops.x_mw, ops.unserved_mw + ops.missed_mwh, ops.demand_mw,
                            self.in_zone[z])
        self.ref_in[:, :, self.in_zone[z]] = ref.in_zone
        self.ref_unserved[z], self.ref_deferred[z] = ref.unserved, ref.deferred

    def _reference(self, z: int) -> acc.Reference:
        return acc.Reference(self.ref_in[:, :, self.in_zone[z]], self.ref_unserved[z],
                             self.ref_deferred[z])

    # -- after the hour settles --------------------------------------------------------------

    def record(self, hour: int) -> None:
        """Account each running event's hour: a row of the events table, and the hour's
        totals (``hour_totals``)."""
        if not self.events:
            return
        ops = self.model.operators
        unserved = ops.unserved_mw + ops.missed_mwh
        deferred = ops.work_mwh - ops.work_run_mwh.sum(axis=2) - ops.missed_mwh
        for z in np.flatnonzero(self.running >= 0):
            i = int(self.running[z])
            e = self.events[i]
            h = acc.account(self._reference(z), ops.demand_mw, ops.x_mw, self.in_zone[z],
                            unserved, deferred, e.cut_pct)
            self.rows.append((hour, self.model.stamps[hour], e.name, e.zone, e.trigger,
                              int(self.start[z]), e.cut_pct, *h))
            for name in TOTALS:
                self.hour_totals[name] += getattr(h, name)
        for z in self.event_zones:
            if self.running[z] < 0:
                self._refresh(int(z))
