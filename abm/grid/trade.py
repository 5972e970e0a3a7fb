"""Trade at the status quo: the flows the hour's base prices imply, and what each zone must
then produce and emit for its consumption to carry the hour's base average carbon.

In a coupled market a line whose two ends clear at different prices is at its limit, towards
the dearer zone (otherwise power would flow until the prices met). So at the status quo, where
every zone should clear at its base price, each line carries its full capacity from the cheaper
to the dearer end (none where the two prices are equal), unless that would make a zone import
more than ``MAX_IMPORT_SHARE`` of its load, produce more than ``MAX_OUTPUT_SHARE`` of what its
fleet can (a zone whose every unit runs flat out has nothing left to set its price), or import
more carbon (at the exporters' base average carbon) than its own consumption carries at its
base average carbon: then the line's capacity in that direction is limited in that hour to the
flow it can carry (the hour's *transfer limit*), so that the line is still at its limit and the
prices can differ.

With the flows known, a zone's production is its load plus net exports, and flow tracing
(``abm.grid.clearing.traced_carbon_kg_per_mwh``) is linear: the consumption-based carbon c_z of
every zone equals its target a_z exactly when the zone emits

    E_z = a_z (production_z + inflow_z) - sum_w inflow_wz a_w

so each zone is calibrated on its own to that production-based target (``production_targets``).
"""

from __future__ import annotations

import numpy as np

from abm.grid.clearing import Network, inflow_mw

MAX_IMPORT_SHARE = 0.5  # ASSUMPTION: no zone imports more than half its load at the status quo
MAX_OUTPUT_SHARE = 0.9  # an exporter keeps a tenth of its fleet's output with room, to set a price
PRICE_TOLERANCE_USD_PER_MWH = 1e-9  # base prices closer than this are equal: no flow
_ROUNDS = 8  # feasibility passes over the zones (one suffices unless limits interact)


def status_quo_flows(network: Network, price_usd_per_mwh: np.ndarray, load_mw: np.ndarray,
                     max_output_mw: np.ndarray, carbon_kg_per_mwh: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The flows (L,) MW that the zones' prices (Z,) imply at loads (Z,) MW, and the hour's
    transfer limits (L, 2) MW (forward, backward): the line's capacities, lowered in the
    direction of its flow where a zone would otherwise import more than ``MAX_IMPORT_SHARE``
    of its load, produce more than ``MAX_OUTPUT_SHARE`` of ``max_output_mw`` (Z,), or import
    more carbon than its
    consumption carries at its base average carbon ``carbon_kg_per_mwh`` (Z,)."""
    limit = np.array(network.capacity_mw, dtype=float).reshape(-1, 2)
    if not len(limit):
        return np.zeros(0), limit
    price = np.asarray(price_usd_per_mwh, dtype=float)
    a, b = network.line_zones[:, 0], network.line_zones[:, 1]
    gap = price[b] - price[a]
    flow = np.where(gap > PRICE_TOLERANCE_USD_PER_MWH, limit[:, 0],
                    np.where(gap < -PRICE_TOLERANCE_USD_PER_MWH, -limit[:, 1], 0.0))
    load = np.asarray(load_mw, dtype=float)
    carbon = np.asarray(carbon_kg_per_mwh, dtype=float)
    for _ in range(_ROUNDS):
        into = inflow_mw(network, flow)
        imports, exports = into.sum(axis=1), into.sum(axis=0)
        # scale a zone's imports down to the share it may import, its exports to its fleet
        over_in = np.maximum(imports - exports - MAX_IMPORT_SHARE * load, 0.0)
        over_out = np.maximum(load + exports - imports - MAX_OUTPUT_SHARE * max_output_mw, 0.0)
        keep_in = np.divide(imports - over_in, imports, out=np.ones_like(imports),
                            where=imports > 0)
        carried = into @ carbon  # kg/h the imports bring at their zones' base carbon
        allowed = carbon * (load + exports)  # what the zone's consumption and exports carry
        keep_in = np.minimum(keep_in, np.divide(allowed, carried, out=np.ones_like(carried),
                                                where=carried > allowed))
        keep_out = np.divide(exports - over_out, exports, out=np.ones_like(exports),
                             where=exports > 0)
        if (keep_in >= 1).all() and (keep_out >= 1).all():
            break
        receiver = np.where(flow >= 0, b, a)
        sender = np.where(flow >= 0, a, b)
        flow = flow * np.minimum(keep_in[receiver], keep_out[sender])
    limit[:, 0] = np.where(flow > 0, flow, limit[:, 0])
    limit[:, 1] = np.where(flow < 0, -flow, limit[:, 1])
    return flow, limit


def production_targets(network: Network, flow_mw: np.ndarray, load_mw: np.ndarray,
                       target_kg_per_mwh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each zone's production (Z,) MW at ``flow_mw`` and the production-based average carbon
    (Z,) kg/MWh it must reach so that flow tracing gives every zone its consumption-based
    ``target_kg_per_mwh`` (clipped at 0 where imports alone carry more carbon than the target
    allows; 0 for a zone that produces nothing)."""
    load = np.asarray(load_mw, dtype=float)
    target = np.asarray(target_kg_per_mwh, dtype=float)
    if not len(flow_mw):
        return load.copy(), target.copy()
    into = inflow_mw(network, flow_mw)
    produced = load + into.sum(axis=0) - into.sum(axis=1)
    emitted = target * (produced + into.sum(axis=1)) - into @ target
    return produced, np.divide(np.maximum(emitted, 0.0), produced,
                               out=np.zeros_like(produced), where=produced > 0)
