"""The run loop: the one place a market model is stepped (docs/extending.md, "The run loop").

Every face that runs the market goes through :func:`run`: ``abm run`` and its resumable writer
(``abm.market.run.run_market``: progress and checkpoints are its ``on_step``), the Python API
(``abm.simulate``), sweeps (``abm.sweeps.runner``), reports that run scenarios and the
dashboard (a few hours at a time). What a run produced is read afterwards from the model's
``DataCollector`` (``abm.market.run.tables`` / ``summary``), never from bookkeeping of the
caller's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from abm.market.model import MarketModel

OnStep = Callable[["MarketModel"], None]


def run(model: MarketModel, hours: int | None = None, on_step: OnStep | None = None) -> int:
    """Step ``model`` hour by hour, calling ``on_step(model)`` after every step.

    Args:
        model: the market, fresh or restored from a checkpoint (it carries on from
            ``model.steps``).
        hours: hours to run now (default: all that are left); never past the model's last
            hour (``model.hours``).
        on_step: called after every step with the model (progress bars, checkpoints, a
            dashboard's refresh).

    Returns:
        The number of hours run.

    Raises:
        ValueError: ``hours`` is negative.
    """
    left = model.hours - int(model.steps)
    if hours is not None and hours < 0:
        raise ValueError(f"hours must be >= 0, got {hours}")
    todo = max(left if hours is None else min(hours, left), 0)
    for _ in range(todo):
        model.step()
        if on_step is not None:
            on_step(model)
    return todo
