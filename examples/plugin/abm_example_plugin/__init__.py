"""An example abm extension shipped as a package: a rent rule and a strategy that abm finds
through the entry points its pyproject.toml declares (groups ``abm.rent_rules`` and
``abm.strategies``). Each entry's name is the name a scenario uses; its docstring's first line
is the description ``abm check --help`` shows."""

from __future__ import annotations

import math

from abm.market.strategies import Decision, OperatorView, Strategy


def near_full(rent_usd_per_mwh: float, utilisation: float, market) -> float:
    """floor + 100 $/MWh x utilisation^4: steep only near full"""
    return market.rent_floor_usd_per_mwh + 100.0 * utilisation**4


class LongHold(Strategy):
    """the placement LP as if every move were held forever (friction ignored)"""

    def decide(self, view: OperatorView) -> Decision:
        """The LP with friction amortised over an unbounded holding time."""
        return view.lp(holding_hours=math.inf)
