"""Supply stacks: each zone's generating units (technology x efficiency tranche) and their offers.

A unit is the capacity of one technology in one zone in one efficiency tranche (fleet-wide
tranches, so a zone's coal fleet is split into, e.g., an efficient, a median and an old third).
Its offer price (USD/MWh) and direct emission factor (kg CO2/MWh electric) are

    emission factor = 1000 x fuel CO2 (t/MWh_th) / efficiency
    offer           = fuel price (USD/MWh_th) x month factor / efficiency + VOM
                      + carbon price (USD/t) x factor / 1000

so both rise along a technology's tranches as its heat rate rises. The tranches are those of the
zone's fleet region (US heat rates, the European literature fit), the fuel price moves by month
with its hub (``fuel_price_months.csv``). The carbon price is the one on generators in the
zone's jurisdiction (``GridData.carbon_prices``), separate from the internal carbon prices
operators use for placement. In a zone with reservoir hydro (``reservoirs.csv``) the hydro fleet
is two units: run-of-river (tranche 1) and reservoir (tranche 2, ``Fleet.reservoir``), whose
offer is the month's water value (set hourly by the market, docs/grid.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from abm.data.grid_tables import CALIBRATED_KINDS, HOURS_PER_YEAR, TECHNOLOGIES, GridData
from abm.errors import InputError


@dataclass(frozen=True)
class Fleet:
    """The generating units of Z zones; arrays of shape (N,) over units.

    Attributes:
        technologies: technology names; ``technology`` indexes them.
        zone, technology, tranche: the unit's zone index, technology index, tranche number.
        capacity_mw: installed capacity (MW).
        efficiency: MWh electric per MWh of fuel heat (1 for units with no fuel).
        emission_kg_per_mwh: direct CO2 per MWh electric.
        fuel_usd_per_mwh_th: fuel price per MWh of fuel heat.
        vom_usd_per_mwh: variable O&M per MWh electric.
        availability: fraction of capacity available every hour; for calibrated units the
            annual capacity factor the hourly weather factor scales.
        calibrated: True for units whose hourly availability is calibrated (variable, hydro).
        n_zones: Z.
        fuel_month_factor: (N, 12) factor of the fuel price in each month.
        reservoir: (N,) reservoir hydro, which can move water between hours.
    """

    technologies: tuple[str, ...]
    zone: np.ndarray
    technology: np.ndarray
    tranche: np.ndarray
    capacity_mw: np.ndarray
    efficiency: np.ndarray
    emission_kg_per_mwh: np.ndarray
    fuel_usd_per_mwh_th: np.ndarray
    vom_usd_per_mwh: np.ndarray
    availability: np.ndarray
    calibrated: np.ndarray
    n_zones: int
    fuel_month_factor: np.ndarray = field(repr=False)
    reservoir: np.ndarray = field(repr=False)
    _tie_order: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tie_order", np.lexsort((self.tranche, self.technology)))

    def offers(self, carbon_price_usd_per_t: np.ndarray, month: int | None = None
               ) -> np.ndarray:
        """(N,) offer prices (USD/MWh) with the zones' generator carbon price (Z,) USD/t, at
        the fuel prices of ``month`` (1-12; None: the annual prices)."""
        carbon = np.asarray(carbon_price_usd_per_t, dtype=float)
        if carbon.shape != (self.n_zones,):
            raise ValueError(f"carbon prices: expected shape ({self.n_zones},), got {carbon.shape}")
        fuel = (self.fuel_usd_per_mwh_th if month is None
                else self.fuel_usd_per_mwh_th * self.fuel_month_factor[:, month - 1])
        return (fuel / self.efficiency + self.vom_usd_per_mwh
                + carbon[self.zone] * self.emission_kg_per_mwh / 1000.0)

    def merit_order(self, offer_usd_per_mwh: np.ndarray, units: np.ndarray | None = None
                    ) -> np.ndarray:
        """(Z, U) unit indices of each zone in ascending offer (ties: technology order, then
        tranche), padded with -1; ``units`` (bool, (N,)) restricts it to some units."""
        idx = self._tie_order if units is None else self._tie_order[units[self._tie_order]]
        # by zone, then by offer (a stable sort: ties keep the technology-then-tranche order)
        idx = idx[np.lexsort((offer_usd_per_mwh[idx], self.zone[idx]))]
        counts = np.bincount(self.zone[idx], minlength=self.n_zones)
        width = max(int(counts.max(initial=0)), 1)
        out = np.full((self.n_zones, width), -1, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        col = np.arange(len(idx)) - np.repeat(starts, counts)
        out[self.zone[idx], col] = idx
        return out


def build_fleet(data: GridData, zone_ids: Sequence[str]) -> Fleet:
    """The units of the zones ``zone_ids`` from the grid data (zones without any capacity row
    are an error: the grid market cannot clear them)."""
    t_index = {t: i for i, t in enumerate(TECHNOLOGIES)}
    rows: list[tuple] = []
    for z, zone in enumerate(zone_ids):
        techs = [t for (zz, t) in data.capacity_mw if zz == zone]
        if not techs:
            raise InputError(f"{data.source}/capacity.csv", "zone_id",
                             f"no installed capacity for zone {zone!r}")
        for t in techs:
            tech = data.technologies[t]
            cap = data.capacity_mw[(zone, t)]
            fuel_price = 0.0
            if data.fuel_co2_t_per_mwh_th[tech.fuel] > 0 or tech.kind in ("thermal", "must_run"):
                key = (zone, tech.fuel)
                if key not in data.fuel_price_usd_per_mwh_th:
                    raise InputError(f"{data.source}/fuel_prices.csv", f"{zone}.{tech.fuel}",
                                     f"no price of {tech.fuel} in zone {zone} (used by {t})")
                fuel_price = data.fuel_price_usd_per_mwh_th[key]
            calibrated = tech.kind in CALIBRATED_KINDS
            zone_cf = None
            gen = data.generation_gwh.get((zone, t))
            if calibrated and gen is not None and cap > 0:
                zone_cf = gen * 1000.0 / (cap * HOURS_PER_YEAR)
                if not 0 < zone_cf <= 1:
                    zone_cf = None  # implausible: fall back on the fleet-wide factor
            month = data.fuel_month_factor(zone, tech.fuel) if fuel_price else np.ones(12)
            tranches = data.tranches_of(zone, t)
            if not tranches:
                raise InputError(f"{data.source}/tranches.csv", f"{t}.region",
                                 f"no tranches of {t} for zone {zone}'s fleet region "
                                 f"{data.zone_region.get(zone, 'all')!r} nor for 'all'")
            share = data.reservoir_share.get(zone, 0.0) if t == "hydro" else 0.0
            if share > 0:  # run-of-river (tranche 1) and reservoir (tranche 2) hydro
                only = tranches[0]
                tranches = (replace(only, tranche=1, capacity_share=1.0 - share),
                            replace(only, tranche=2, capacity_share=share))
            for tr in tranches:
                if cap * tr.capacity_share <= 0:
                    continue
                avail = data.availability.get((zone, t), tr.availability)
                rows.append((z, t_index[t], tr.tranche, cap * tr.capacity_share, tr.efficiency,
                             1000.0 * data.fuel_co2_t_per_mwh_th[tech.fuel] / tr.efficiency,
                             fuel_price, tech.vom_usd_per_mwh,
                             zone_cf if zone_cf is not None else avail, calibrated,
                             month, share > 0 and tr.tranche == 2))
    cols = list(zip(*rows, strict=True))
    capacity, efficiency, emission, fuel, vom, availability = (np.array(c, dtype=float)
                                                               for c in cols[3:9])
    return Fleet(TECHNOLOGIES, np.array(cols[0], dtype=np.int64), np.array(cols[1], np.int64),
                 np.array(cols[2], dtype=np.int64), capacity, efficiency, emission, fuel, vom,
                 availability, np.array(cols[9], dtype=bool), len(zone_ids),
                 np.array(cols[10], dtype=float).reshape(len(rows), 12),
                 np.array(cols[11], dtype=bool))
