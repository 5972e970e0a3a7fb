"""Load shed at the value of lost load is never avoided carbon.

A clearing sheds load (at the price cap, the scenario's VoLL) where a zone and its lines cannot
serve it; the market counts it as background demand shed (operators' placed load is served).
Shed load burns no fuel, so comparing the emissions of two clearings that shed different loads
would count the shedding as carbon avoided: a placement that ends the status quo's shedding
would be charged with the fuel burnt to serve those households again, one that causes shedding
credited with it. The market therefore compares two clearings at the load both serve: each zone's
load less the larger of the two clearings' shed MW there (never below 0), cleared again; where
neither clearing sheds, the clearings themselves (docs/market.md, "Four clearings an hour").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from abm.grid.clearing import TOLERANCE_MW, Dispatch


def at_served_load(clear: Callable[[np.ndarray], Dispatch], dc_a_mw: np.ndarray, a: Dispatch,
                   dc_b_mw: np.ndarray, b: Dispatch) -> tuple[Dispatch, Dispatch]:
    """Two clearings made comparable: ``a`` and ``b`` (with data-centre loads ``dc_a_mw`` and
    ``dc_b_mw``, (Z,) MW) cleared again, by ``clear(dc_mw)``, at their loads less the larger
    of their shed MW in each zone. A clearing that already sheds that much everywhere is
    returned as it is (cleared again without its own shed load it is the same dispatch)."""
    shed = np.maximum(a.unserved_mw, b.unserved_mw)
    if not (shed > TOLERANCE_MW).any():
        return a, b

    def served(dc_mw: np.ndarray, d: Dispatch) -> Dispatch:
        if (d.unserved_mw >= shed).all():
            return d
        return clear(np.asarray(dc_mw, dtype=float) - np.minimum(shed, d.load_mw))

    return served(dc_a_mw, a), served(dc_b_mw, b)
