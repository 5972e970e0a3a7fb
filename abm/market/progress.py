"""Progress bars of runs and sweeps, on stderr, that tell the truth about the first run.

The first run on a machine compiles the placement (numba, tens of seconds) and, where its zones
clear on the technology market, the grid's loops (and, with deferrable work, the walk of plans
and the backlog's passes), before its first hour; a bar that counted that
hour into its rate would promise an ETA tens of times too long. :class:`RunProgress` is the
``progress(done, total)`` callback every face passes to a run (``abm run``,
``abm.simulate(progress=True)``, ``abm report``) or a sweep: called once before the first step
(with what is already done), it opens its bar and says "compiling (first run only)" when the
compiled code the run calls is not yet built (:func:`needs_compiling`); after the first step of
this session it clears that and restarts its clock, so rate and ETA count from there. Work that
compiles nothing (``compiles=False``: the headroom of zones) has neither the notice nor the
restart.

``abm run`` and ``abm report`` hold a Ctrl-C while the run loads (``abm/cli/interrupts.py``):
the bar tells its hold when the run goes on to compile (a Ctrl-C then stops it at once) and
when the first hour is done (a Ctrl-C held until then stops it there).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from abm.config.scenario import Scenario

COMPILING = "compiling (first run only)"


def needs_compiling(scenario: Scenario | None = None) -> bool:
    """Whether a market run of ``scenario`` still has compiled code to build on this machine:
    the placement's (``abm.core.flow.needs_compiling``), the hour's energy cost
    (``abm.market.energy``), the loops its grid response clears with in every hour (the
    builder's ``compiled(scenario)``, where it has one: the technology market's,
    ``abm.grid.clearing.compiled_loops``) and, where classes have deferrable work, the
    backlog's passes and the walk of plans (:func:`_deferral_loops`). None: the placement's
    and the energy cost's alone (a sweep of many scenarios)."""
    from abm.core.flow import needs_compiling as placement_needs  # numba: loaded when a run starts
    from abm.market.energy import _energy_and_carbon

    also: list = [_energy_and_carbon]
    if scenario is not None:
        from abm.config.registry import GRID_RESPONSES

        build = GRID_RESPONSES[scenario.market.grid_response]
        also += build.compiled(scenario) if hasattr(build, "compiled") else ()
        also += _deferral_loops(scenario)
    return placement_needs(tuple(also))


def _deferral_loops(scenario: Scenario) -> list:
    """The compiled functions a run of ``scenario`` calls in every hour for its deferrable
    work: the backlog's passes (``abm.core.backlog_loops``) where some class has work that may
    wait, and the walk of plans (``abm.core.horizon_walk``) where such a class belongs to an
    ``lp`` operator and the placement engine walks plans. Without them counted, a first run
    with deferrable work compiled for tens of seconds with no notice, and held a Ctrl-C
    until its first hour was done."""
    from abm.config.registry import PLACEMENT_ENGINES

    waits = [op for op in scenario.operators
             if any(c.deferrable_share > 0 and c.deadline_hours > 0 for c in op.classes)]
    if not waits:
        return []
    from abm.core import backlog_loops as b

    loops = [b.ahead_costs, b.arrive, b.run_work, b.take_run]
    if (getattr(PLACEMENT_ENGINES[scenario.market.solver], "walks_plans", False)
            and any(op.strategy == "lp" for op in waits)):
        from abm.core.horizon_walk import _walk

        loops.append(_walk)
    return loops


class Hold(Protocol):
    """A Ctrl-C held while a run loads (``abm.cli.interrupts.InterruptHold``)."""

    def let_through(self) -> None:
        """The run goes on to compile: a Ctrl-C stops it at once from now on."""

    def release(self) -> None:
        """The first hour is done: a Ctrl-C held until now stops the run now."""


class RunProgress:
    """A tqdm bar as a ``progress(done, total)`` callback (module docstring).

    Args:
        desc: the bar's label.
        unit: what is counted ("h" for a run's hours, "run" for a sweep's runs).
        quiet: no bar.
        smoothing: tqdm's smoothing of the rate (0: the average since the clock started).
        compiles: whether the work runs the compiled placement (a market run or a sweep's
            runs); without, the bar never says "compiling" and its clock starts with it.
        scenario: the scenario run, whose grid response may compile too
            (:func:`needs_compiling`; None: a sweep's bar counts the placement's alone).
        hold: a Ctrl-C held while the run loads, told when the run compiles and when its
            first hour is done (:class:`Hold`).
    """

    def __init__(self, desc: str, unit: str = "h", quiet: bool = False,
                 smoothing: float = 0.3, compiles: bool = True,
                 scenario: Scenario | None = None, hold: Hold | None = None) -> None:
        self.desc, self.unit, self.quiet, self.smoothing = desc, unit, quiet, smoothing
        self.compiles, self.scenario, self.hold = compiles, scenario, hold
        self.bar: Any = None
        self.started = not compiles  # a clock to restart after the first step only if it compiles

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, desc=self.desc, unit=self.unit,
                            file=sys.stderr, disable=self.quiet, smoothing=self.smoothing)
            if self.compiles and needs_compiling(self.scenario):
                self.bar.set_postfix_str(COMPILING)
                if self.hold is not None:
                    self.hold.let_through()
            return
        if self.hold is not None:  # the first step of this session is done
            hold, self.hold = self.hold, None
            hold.release()
        if not self.started:  # the clock starts once the first step of this session is done
            self.started = True
            self.bar.reset(total=total)
            self.bar.initial = self.bar.n = self.bar.last_print_n = done
            self.bar.set_postfix_str("", refresh=False)
            self.bar.refresh()
        else:
            self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        """Close the bar (again is harmless)."""
        if self.bar is not None:
            self.bar.close()


def end_bars() -> None:
    """Close every progress bar still open, so that what follows starts on a line of its own.

    A Ctrl-C can land while a bar is being drawn, before its owner (:class:`RunProgress`) holds
    it: such a bar is closed here too, through tqdm's list of open bars.
    """
    tqdm = getattr(sys.modules.get("tqdm"), "tqdm", None)
    for bar in list(getattr(tqdm, "_instances", ())):
        # a bar interrupted while it was being drawn closes without ending its line
        torn = not getattr(bar, "disable", True) and not hasattr(bar, "last_print_t")
        bar.close()
        if torn:
            sys.stderr.write("\n")
