"""Deferrable work waiting to run: the per-operator backlog and its accounting
(docs/market.md, "Deferrable work").

A class with a deferrable share s and a deadline of D >= 1 hours splits its demand each hour:
(1 - s) is due load that runs this hour or goes unserved (interactive work, as without
deferral), s is work that joins the backlog and must run within D hours. The backlog is an
(O, K, H) array of MWh by slot: slot h holds the work due by the end of the hour h hours from
now (slot 0: by the end of this hour). Each hour: ``arrive`` adds the new work to slot D,
``run`` takes out what the operator runs this hour (slot by slot), ``expire`` reports what is
left in slot 0 as missed and moves every slot one hour nearer. Nothing else changes the
backlog, so in every hour

    backlog before + work arrived = work run + missed + backlog after

(``Balance``; the market checks it every hour and the tests on every run).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

_TOL_MW = 1e-9  # MWh: run may exceed a slot's work by this (solver rounding), clipped


class BacklogError(ValueError):
    """Work run that was not waiting, or a balance that does not hold."""


def slots(deadline_hours: np.ndarray) -> int:
    """Slots the backlog needs for these deadlines (hours): the longest deadline + 1 (1 with no
    deferrable work)."""
    return int(np.max(deadline_hours, initial=0)) + 1


def split_demand(demand_mw: np.ndarray, deferrable_share: np.ndarray,
                 deadline_hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(due MW, deferrable MWh) of an hour's demand (O, K): the share deferrable where the
    deadline is at least an hour, all of it due elsewhere. due + deferrable = demand exactly
    (the deferrable part is demand - due)."""
    share = np.where(deadline_hours > 0, deferrable_share, 0.0)
    due = demand_mw * (1.0 - share)
    return due, demand_mw - due


def _compiled(*arrays: np.ndarray) -> bool:
    """Whether the compiled passes (``abm.core.backlog_loops``) take these arrays: float64
    where floats, C-contiguous (they write through flat views)."""
    return all(a.flags.c_contiguous and (a.dtype == np.float64 or a.dtype.kind == "i")
               for a in arrays)


def arrive(backlog_mwh: np.ndarray, work_mwh: np.ndarray, deadline_hours: np.ndarray) -> None:
    """Add this hour's deferrable work (O, K) to slot ``deadline_hours`` (O, K) of the backlog
    (O, K, H), in place (in one compiled pass where the arrays allow, the same bits)."""
    if _compiled(backlog_mwh, work_mwh, deadline_hours):
        from abm.core.backlog_loops import arrive as add  # compiled: numba loads on first use

        add(backlog_mwh, work_mwh, deadline_hours)
        return
    o, k = np.nonzero(work_mwh > 0)
    np.add.at(backlog_mwh, (o, k, deadline_hours[o, k]), work_mwh[o, k])


def run(backlog_mwh: np.ndarray, run_mwh: np.ndarray) -> np.ndarray:
    """Take the work run this hour, (O, K, H) by slot, out of the backlog, in place; returns
    what was taken: ``run_mwh``, with a slot run to within rounding (``_TOL_MW`` relative) of
    what waits taken whole, so that no crumb of work is left to miss its deadline. In one
    compiled pass where the arrays allow and all is well (the same bits), else ``_run``.

    Raises:
        BacklogError: more run from a slot than waits there (beyond rounding).
    """
    if _compiled(backlog_mwh, run_mwh) and backlog_mwh.shape == run_mwh.shape:
        from abm.core.backlog_loops import take_run  # compiled: numba loads on first use

        taken = np.empty_like(backlog_mwh)
        if take_run(backlog_mwh, run_mwh, _TOL_MW, taken):
            return taken
    return _run(backlog_mwh, run_mwh)


def _run(backlog_mwh: np.ndarray, run_mwh: np.ndarray) -> np.ndarray:
    """``run`` in numpy: raises naming the first slot run beyond what waits there."""
    slack = _TOL_MW * np.maximum(1.0, backlog_mwh)
    bad = (run_mwh - backlog_mwh > slack) | (run_mwh < -_TOL_MW)
    if bad.any():
        o, k, h = np.argwhere(bad)[0]
        raise BacklogError(f"operator {o}, class {k}: ran {float(run_mwh[o, k, h])!r} MWh "
                           f"from slot {h}, where {float(backlog_mwh[o, k, h])!r} MWh wait")
    taken = np.where(run_mwh >= backlog_mwh - slack, backlog_mwh, np.maximum(run_mwh, 0.0))
    taken = np.where(backlog_mwh > 0, taken, 0.0)
    backlog_mwh -= taken
    return taken


def expire(backlog_mwh: np.ndarray) -> np.ndarray:
    """The work of slot 0 not run this hour (O, K), reported as missed; every slot moves one
    hour nearer its deadline (in place)."""
    missed = backlog_mwh[..., 0].copy()
    backlog_mwh[..., :-1] = backlog_mwh[..., 1:]
    backlog_mwh[..., -1] = 0.0
    return missed


class Balance(NamedTuple):
    """One hour of the backlog, MWh summed over operators and classes."""

    before_mwh: float
    arrived_mwh: float
    run_mwh: float
    missed_mwh: float
    after_mwh: float

    @property
    def gap_mwh(self) -> float:
        """before + arrived - run - missed - after: zero when no MWh appeared or vanished."""
        return (self.before_mwh + self.arrived_mwh - self.run_mwh - self.missed_mwh
                - self.after_mwh)

    def check(self, rel: float = 1e-9) -> None:
        """Raise ``BacklogError`` unless the balance holds to ``rel`` of the MWh involved."""
        scale = max(1.0, self.before_mwh + self.arrived_mwh)
        if abs(self.gap_mwh) > rel * scale:
            raise BacklogError(f"the backlog lost or gained {self.gap_mwh!r} MWh in an hour "
                               f"({self})")


def settle(backlog_mwh: np.ndarray, run_mwh: np.ndarray, before_mwh: float,
           arrived_mwh: float) -> tuple[np.ndarray, Balance]:
    """The end of an hour, in place: take out the work run (``run``), expire slot 0
    (``expire``); returns (missed (O, K), the hour's ``Balance``, checked). ``before_mwh`` is
    the backlog before this hour's arrivals, ``arrived_mwh`` the work ``arrive`` added."""
    taken = run(backlog_mwh, run_mwh)
    missed = expire(backlog_mwh)
    balance = Balance(before_mwh, arrived_mwh, float(taken.sum()), float(missed.sum()),
                      float(backlog_mwh.sum()))
    balance.check()
    return missed, balance
