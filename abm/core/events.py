"""A demand-response event's accounting: its reference, the cap it puts on a zone's
data-centre load, and where the load it took out went (docs/market.md, "Demand-response
events").

When an event starts in a zone, each operator-class's last hour (the hour before the event) is
split into shares of its demand: in each of the zone's regions, elsewhere, unserved (missed work
included) and deferred (work added to its backlog, net: arrived - run - missed). The
**reference** of every event hour is those shares of the hour's demand: the load the zone would
hold had every operator-class placed its demand as in the hour before. The event asks for
``cut_pct`` % of the reference in the zone; the market caps each of the zone's regions at
(1 - cut) x its reference load, and operators answer as they will. Per operator-class, both the
reference and the hour place all of the hour's demand:

    demand = in the zone + elsewhere + unserved + deferred

so what the zone's load fell below its reference (**delivered**) is exactly what went elsewhere
(**relocated**), to unserved (**shed**) and to the backlog (**deferred**), each measured against
its own reference share. No MWh appears or disappears (``EventHour.gap_mwh``, tested).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Reference(NamedTuple):
    """Shares of each operator-class's demand (O, K) in the hour before an event.

    Attributes:
        in_zone: (O, K, Rz) placed in each of the zone's regions.
        unserved: (O, K) unserved, missed work included.
        deferred: (O, K) net deferred: demand - placed - unserved (work that joined the backlog
            beyond what ran or was missed).
    """

    in_zone: np.ndarray
    unserved: np.ndarray
    deferred: np.ndarray


class EventHour(NamedTuple):
    """One event hour in one zone (MWh of IT load: MW over the hour).

    Attributes:
        reference_mwh: the zone's load at the reference.
        asked_mwh: cut x reference: what the zone asks to be taken out.
        placed_mwh: the zone's load placed.
        delivered_mwh: reference - placed.
        deferred_mwh: work added to backlogs beyond the reference's share.
        relocated_mwh: load placed outside the zone beyond the reference's share.
        shed_mwh: unserved (missed work included) beyond the reference's share.
    """

    reference_mwh: float
    asked_mwh: float
    placed_mwh: float
    delivered_mwh: float
    deferred_mwh: float
    relocated_mwh: float
    shed_mwh: float

    @property
    def gap_mwh(self) -> float:
        """delivered - (deferred + relocated + shed): zero up to rounding."""
        return self.delivered_mwh - (self.deferred_mwh + self.relocated_mwh + self.shed_mwh)


def reference(x_mw: np.ndarray, unserved_mw: np.ndarray, demand_mw: np.ndarray,
              in_zone: np.ndarray) -> Reference:
    """The shares of the hour before the event.

    Args:
        x_mw: (O, K, R) that hour's placement (MW).
        unserved_mw: (O, K) its unserved load, missed work included (MW).
        demand_mw: (O, K) its demand (due load and work arrived, MW).
        in_zone: (R,) the zone's regions.

    A class with no demand that hour has no load in the zone at the reference (all of it
    elsewhere).
    """
    some = demand_mw > 0
    d = np.where(some, demand_mw, 1.0)
    in_share = np.where(some[:, :, None], x_mw[:, :, in_zone] / d[:, :, None], 0.0)
    unserved = np.where(some, unserved_mw / d, 0.0)
    deferred = np.where(some, (demand_mw - x_mw.sum(axis=2) - unserved_mw) / d, 0.0)
    return Reference(in_share, unserved, deferred)


def reference_mw(ref: Reference, demand_mw: np.ndarray) -> np.ndarray:
    """(Rz,) each of the zone's regions' load at the reference, at this hour's demand (O, K)."""
    return np.einsum("okr,ok->r", ref.in_zone, demand_mw)


def cap_mw(ref: Reference, demand_mw: np.ndarray, cut_pct: float) -> np.ndarray:
    """(Rz,) the most each of the zone's regions may hold this event hour: (1 - cut) x its
    reference load."""
    return reference_mw(ref, demand_mw) * (1.0 - cut_pct / 100.0)


def account(ref: Reference, demand_mw: np.ndarray, x_mw: np.ndarray, in_zone: np.ndarray,
            unserved_mw: np.ndarray, deferred_mw: np.ndarray, cut_pct: float) -> EventHour:
    """One event hour of one zone against its reference.

    Args:
        ref: the event's reference shares.
        demand_mw: (O, K) this hour's demand (due load and work arrived).
        x_mw: (O, K, R) this hour's placement.
        in_zone: (R,) the zone's regions.
        unserved_mw: (O, K) unserved this hour, missed work included.
        deferred_mw: (O, K) work added to the backlog this hour, net (arrived - run - missed;
            0 for classes without work), as the backlog counted it.
        cut_pct: the cut asked, % of the reference.

    Only operator-classes with load in the zone, at the reference or placed, are counted (the
    others' delivered is zero, so their moves elsewhere are no part of the event).
    """
    ref_in = np.einsum("okr,ok->ok", ref.in_zone, demand_mw)
    placed_in = x_mw[:, :, in_zone].sum(axis=2)
    ref_unserved = ref.unserved * demand_mw
    ref_deferred = ref.deferred * demand_mw
    ref_out = demand_mw - ref_in - ref_unserved - ref_deferred
    placed_out = x_mw.sum(axis=2) - placed_in
    counted = (ref_in > 0) | (placed_in > 0)

    def total(a: np.ndarray) -> float:
        return float(a[counted].sum())

    reference_mwh = total(ref_in)
    placed = total(placed_in)
    return EventHour(
        reference_mwh=reference_mwh, asked_mwh=reference_mwh * cut_pct / 100.0,
        placed_mwh=placed, delivered_mwh=reference_mwh - placed,
        deferred_mwh=total(deferred_mw - ref_deferred),
        relocated_mwh=total(placed_out - ref_out),
        shed_mwh=total(unserved_mw - ref_unserved))
