"""Small grid systems for the tests of abm/grid: units given by hand, one tranche each."""

from __future__ import annotations

import numpy as np

from abm.data.grid_tables import TECHNOLOGIES
from abm.grid.clearing import Network
from abm.grid.market import GridMarket
from abm.grid.stack import Fleet

PRICE_CAP = 3000.0


def fleet(units: list[dict], n_zones: int) -> Fleet:
    """Units as dicts: zone, tech, mw, and optionally eff (1), fuel (USD/MWh_th, 0), vom (0),
    co2 (t/MWh_th, 0), avail (1), calibrated (False), reservoir (False)."""
    def col(key, default, dtype=float):
        return np.array([u.get(key, default) for u in units], dtype=dtype)

    eff = col("eff", 1.0)
    return Fleet(TECHNOLOGIES, col("zone", 0, np.int64),
                 np.array([TECHNOLOGIES.index(u["tech"]) for u in units], dtype=np.int64),
                 col("tranche", 1, np.int64), col("mw", 0.0), eff, 1000.0 * col("co2", 0.0) / eff,
                 col("fuel", 0.0), col("vom", 0.0), col("avail", 1.0),
                 col("calibrated", False, bool), n_zones, np.ones((len(units), 12)),
                 col("reservoir", False, bool))


def network(lines: list[tuple[int, int, float, float]], n_zones: int) -> Network:
    """Lines as (from, to, forward MW, backward MW)."""
    return Network(tuple(f"{a}-{b}" for a, b, _, _ in lines),
                   np.array([[a, b] for a, b, _, _ in lines], dtype=np.int64).reshape(-1, 2),
                   np.array([[f, r] for _, _, f, r in lines], dtype=float).reshape(-1, 2),
                   n_zones)


def market(units: list[dict], lines: list[tuple[int, int, float, float]], n_zones: int,
           carbon: float | list[float] = 0.0, mean_load_mw: float | list[float] = 1.0,
           calibration_carbon: float | None = None, water: list[float] | None = None,
           calibrate_prices: bool = True, moved_water: str = "displaced_unit") -> GridMarket:
    """A market with a flat demand shape: background demand ``mean_load_mw`` every hour;
    availability calibrated under ``calibration_carbon`` (default: ``carbon``); ``water``:
    each zone's water value (USD/MWh, every month; NaN or None: no reservoir), moved water
    counted by the rule ``moved_water``."""
    def per_zone(x):
        return None if x is None else np.broadcast_to(np.asarray(x, dtype=float), (n_zones,))

    values = None if water is None else np.repeat(per_zone(water)[:, None], 12, axis=1)
    return GridMarket(fleet(units, n_zones), network(lines, n_zones),
                      np.ones((n_zones, 12, 24)), np.array(per_zone(mean_load_mw)),
                      per_zone(carbon), PRICE_CAP,
                      calibration_carbon_price_usd_per_t=per_zone(calibration_carbon),
                      water_value_usd_per_mwh=values, calibrate_prices=calibrate_prices,
                      moved_water=moved_water)


RANDOM_TECHS = ("nuclear", "coal", "gas_ccgt", "gas_ocgt", "oil")


def random_system(rng: np.random.Generator, n_zones: int, n_lines: int):
    """Units with random capacity, offer and factor; random lines (no duplicate pairs)."""
    units = [dict(zone=z, tech=RANDOM_TECHS[u], mw=rng.uniform(5, 100), fuel=rng.uniform(0, 100),
                  co2=rng.uniform(0, 1))
             for z in range(n_zones) for u in range(int(rng.integers(1, 5)))]
    pairs = [(a, b) for a in range(n_zones) for b in range(a + 1, n_zones)]
    chosen = rng.permutation(len(pairs))[:n_lines]
    lines = [(*pairs[i], rng.uniform(1, 60), rng.uniform(1, 60)) for i in chosen]
    return units, lines
