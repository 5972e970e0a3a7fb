"""The technology market of a run as a PyPSA network (``abm export pypsa RUN_DIR --out FILE.nc``).

One bus per zone, one generator per unit of the fleet (zone x technology x efficiency tranche)
with its offer as marginal cost and its hourly available share as ``p_max_pu``, one carrier per
technology with the fuel's ``co2_emissions`` (t CO2 per MWh of fuel heat; with the unit's
``efficiency`` PyPSA's emissions equal our direct emissions: ours add the emissions of reservoir
water moved between hours, ``Dispatch.moved_water_kg``), a load-shedding generator per bus at
the market's price cap, one link per interconnector (its hourly transfer limits as ``p_max_pu``
and ``p_min_pu`` of the largest),
and one load per zone = background demand + the run's data-centre load, the run's hours as
snapshots. Optimised with a linear solver (HiGHS through linopy), the network reproduces our
dispatch cost and zone prices (tests/test_pypsa_export.py). PyPSA is the optional extra ``grid``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from abm.errors import InputError
from abm.files import write_atomic

if TYPE_CHECKING:  # pragma: no cover
    import pypsa

SHEDDING = "load shedding"
LINK_CARRIER = "interconnector"


@dataclass(frozen=True)
class Hour:
    """One prepared hour of the market, as the network needs it.

    Attributes:
        snapshot: the hour's start (UTC).
        offer_usd_per_mwh: (N,) offer of every unit of ``market.fleet``.
        available_mw: (N,) available capacity of every unit.
        load_mw: (Z,) total zone load (background + data-centre), MW.
        line_capacity_mw: (L, 2) forward / backward transfer limit of every line this hour.
    """

    snapshot: pd.Timestamp
    offer_usd_per_mwh: np.ndarray
    available_mw: np.ndarray
    load_mw: np.ndarray
    line_capacity_mw: np.ndarray


def prepared_hour(market: Any, snapshot: pd.Timestamp, dc_mw: np.ndarray) -> Hour:
    """The state of a market after ``set_hour`` with data-centre grid load ``dc_mw`` (Z,) MW."""
    return Hour(pd.Timestamp(snapshot), np.array(market.offer_usd_per_mwh, dtype=float),
                np.array(market.available_mw, dtype=float),
                np.asarray(market.background_mw, dtype=float) + np.asarray(dc_mw, dtype=float),
                np.array(market.line_capacity_mw, dtype=float).reshape(-1, 2))


def build_network(market: Any, zone_ids: Sequence[str], hours: Sequence[Hour]
                  ) -> pypsa.Network:
    """A PyPSA network of ``market`` (a ``abm.grid.GridMarket`` of zones ``zone_ids``) over
    ``hours``.

    Generator names are ``"<zone> <technology> <tranche>"``; loads and buses are named by zone;
    links by line id. Marginal costs and ``p_max_pu`` are time series (USD/MWh, share of p_nom).
    """
    import pypsa

    pypsa.options.api.legacy_string_dtype = True  # PyPSA 1.x behaviour, stated (no warning)
    if not hours:
        raise ValueError("build_network needs at least one hour")
    fleet = market.fleet
    zones = list(zone_ids)
    techs = list(market.technologies)
    n = pypsa.Network()
    n.set_snapshots(pd.DatetimeIndex([h.snapshot for h in hours], name="snapshot"))

    eff = np.asarray(fleet.efficiency, dtype=float)
    co2_t_per_mwh_th = np.asarray(fleet.emission_kg_per_mwh, dtype=float) * eff / 1000.0
    for t, name in enumerate(techs):
        units = np.asarray(fleet.technology) == t
        per_fuel = np.unique(np.round(co2_t_per_mwh_th[units], 9))
        if len(per_fuel) > 1:
            raise ValueError(f"technology {name!r} burns fuels of different CO2 content")
        n.add("Carrier", name, co2_emissions=float(per_fuel[0]) if len(per_fuel) else 0.0)
    n.add("Carrier", SHEDDING, co2_emissions=0.0)
    n.add("Carrier", LINK_CARRIER)
    n.add("Carrier", "AC")
    n.add("Bus", zones, carrier="AC")

    cap = np.asarray(fleet.capacity_mw, dtype=float)
    names = [f"{zones[z]} {techs[t]} {k}"
             for z, t, k in zip(fleet.zone, fleet.technology, fleet.tranche, strict=True)]
    available = np.stack([h.available_mw for h in hours])
    p_max_pu = np.divide(available, cap, out=np.zeros_like(available), where=cap > 0)
    offers = np.stack([h.offer_usd_per_mwh for h in hours])
    n.add("Generator", names, bus=[zones[z] for z in fleet.zone],
          carrier=[techs[t] for t in fleet.technology], p_nom=cap, efficiency=eff,
          marginal_cost=pd.DataFrame(offers, index=n.snapshots, columns=names),
          p_max_pu=pd.DataFrame(np.clip(p_max_pu, 0.0, 1.0), index=n.snapshots, columns=names))

    loads = np.stack([h.load_mw for h in hours])
    shed = [f"{z} {SHEDDING}" for z in zones]
    n.add("Generator", shed, bus=zones, carrier=SHEDDING,
          p_nom=np.maximum(loads.max(axis=0), 1.0),
          marginal_cost=float(market.price_cap_usd_per_mwh))
    n.add("Load", zones, bus=zones, p_set=pd.DataFrame(loads, index=n.snapshots, columns=zones))

    if len(market.line_ids):
        pairs = np.asarray(market.line_zones).reshape(-1, 2)
        limits = np.stack([h.line_capacity_mw for h in hours])  # (H, L, 2)
        p_nom = np.maximum(limits.max(axis=(0, 2)), 1e-9)
        ids = list(market.line_ids)
        n.add("Link", ids, bus0=[zones[a] for a in pairs[:, 0]],
              bus1=[zones[b] for b in pairs[:, 1]], carrier=LINK_CARRIER, p_nom=p_nom,
              p_max_pu=pd.DataFrame(limits[:, :, 0] / p_nom, index=n.snapshots, columns=ids),
              p_min_pu=pd.DataFrame(-limits[:, :, 1] / p_nom, index=n.snapshots, columns=ids),
              efficiency=1.0, marginal_cost=0.0)
    return n


def write_netcdf(network: pypsa.Network, path: Path | str) -> Path:
    """Write ``network`` to ``path`` (netCDF) atomically (``abm.files.write_atomic``: a
    temporary file beside it, fsynced, then renamed), so an interrupted or failed export
    leaves the previous file or none, never a torn one. PyPSA 1.x switches pandas'
    deprecated ``future.infer_string`` option while writing; that one warning is silenced."""
    log = logging.getLogger("pypsa")
    level = log.level
    log.setLevel(logging.WARNING)  # PyPSA announces every export at INFO
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The 'future.infer_string' option",
                                    category=pd.errors.Pandas4Warning)
            write_atomic(Path(path), network.export_to_netcdf)
    finally:
        log.setLevel(level)
    return Path(path)


def _technology_market(response: Any, run_dir: Path) -> Any:
    market = getattr(response, "market", None)
    if market is None or not hasattr(market, "fleet"):
        raise InputError(run_dir, "market.grid_response",
                         "the run did not use the technology market ('technology'); only its "
                         "zones can be exported to PyPSA")
    return market


def run_hours(run_dir: Path | str, hours: Sequence[int] | None = None
              ) -> tuple[Any, Any, list[str], list[Hour]]:
    """Re-prepare the hours of a finished (or interrupted) run: its model as built at the
    start (``abm.market.run.run_model``) and its zones table.

    Returns the model's grid response, its technology market, the zone ids, one ``Hour`` per
    run hour (with the run's placed data-centre load from the ``zones`` table).
    """
    from abm.market.run import read_manifest, read_tables, run_model

    run_dir = Path(run_dir)
    done = int(read_manifest(run_dir)["hours_done"])
    if done == 0:
        raise InputError(run_dir, "hours_done", "the run has no finished hour to export")
    model = run_model(run_dir)
    response = model.grid
    market = _technology_market(response, run_dir)
    zones = read_tables(run_dir, "zones")["zones"]
    zone_ids = [z.id for z in model.inst.scenario.zones]
    order = {z: i for i, z in enumerate(zone_ids)}
    wanted = list(range(done)) if hours is None else [int(h) for h in hours]
    bad = [h for h in wanted if not 0 <= h < done]
    if bad:
        raise InputError(run_dir, "--hours", f"hours {bad} outside the run's 0..{done - 1}")
    out = []
    for t in wanted:
        rows = zones[zones.hour == t]
        idx = rows.zone.map(order).to_numpy()
        dc = np.zeros(len(order))
        dc[idx] = rows.dc_load_mw.to_numpy()
        ref = np.zeros(len(order))
        ref[idx] = rows.reference_dc_mw.to_numpy()
        response.set_hour(t, ref)
        out.append(prepared_hour(market, model.stamps[t], dc))
    return response, market, zone_ids, out


def export_run(run_dir: Path | str, out: Path | str, hours: Sequence[int] | None = None) -> Path:
    """Write the run in ``run_dir`` as a PyPSA network to ``out`` (netCDF); return the path."""
    _, market, zone_ids, prepared = run_hours(run_dir, hours)
    out = Path(out)
    if out.suffix != ".nc":
        raise InputError(out, "--out", "expected a .nc file name (PyPSA netCDF)")
    out.parent.mkdir(parents=True, exist_ok=True)
    network = build_network(market, zone_ids, prepared)
    network.name = f"abm run {Path(run_dir).resolve().name}"
    return write_netcdf(network, out)
