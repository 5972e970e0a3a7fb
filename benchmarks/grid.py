"""Benchmark of the grid market's clearing (issue 13: at most 3 ms per hour for 30 zones).

One hour is everything the market needs from the grid: ``set_hour`` (background demand, the
calibration at the status quo: trade, weather and prices, and the status quo's clearing, which
the market reuses) and four clearings at four different loads, as ``abm.market`` makes them
(the forecast quote at last hour's placement, the placed load, the load with no data centres
for system emissions, and the status quo for the relocation effect). Timed per hour
over many hours, in wall and CPU time; the median and 90th percentile are printed.

Systems: ``synthetic`` (default): 30 zones with 12 technologies (fuel-burning ones in three
efficiency tranches, about 30 units a zone), 16 of them in four interconnected components of
6, 5, 3 and 2 zones, 14 isolated; ``shipped``: the shipped zones and grid data
(``abm/data/grid``); ``week``: the default scenario's market run for its week, timing only
the grid's part of each hour (``set_hour`` and every ``clear`` the model makes).

Run from the repository root: ``.venv/bin/python benchmarks/grid.py`` (``--help``).
"""

from __future__ import annotations

import argparse
import itertools
import platform
import time
from pathlib import Path

import numpy as np

from abm.data.grid_tables import Line
from abm.grid import TECHNOLOGIES, GridMarket, build_network
from abm.grid.stack import Fleet

ROOT = Path(__file__).resolve().parents[1]
THERMAL = ("bioenergy", "coal", "lignite", "gas_ccgt", "gas_ocgt", "oil", "other_thermal")
CALIBRATED = ("hydro", "wind", "solar")


def synthetic(n_zones: int, components: tuple[int, ...], seed: int = 1) -> GridMarket:
    """A random system: every zone has every technology, thermal ones in three tranches."""
    rng = np.random.default_rng(seed)
    rows = []
    for z in range(n_zones):
        for t, tech in enumerate(TECHNOLOGIES):
            cap = rng.uniform(200, 3000)
            if tech in THERMAL:
                for k, eff in enumerate(rng.uniform(0.3, 0.6) * np.array([1.1, 1.0, 0.9])):
                    rows.append((z, t, k + 1, cap / 3, eff, 200 * rng.uniform(0.5, 1.7) / eff,
                                 rng.uniform(5, 40), rng.uniform(2, 9), 0.9, False))
            else:
                cal = tech in CALIBRATED
                rows.append((z, t, 1, cap, 1.0, 0.0, 0.0, rng.uniform(0, 5),
                             rng.uniform(0.1, 0.5) if cal else 0.9, cal))
    c = list(zip(*rows, strict=True))
    fleet = Fleet(TECHNOLOGIES, np.array(c[0]), np.array(c[1]), np.array(c[2]),
                  *(np.array(x, dtype=float) for x in c[3:9]), np.array(c[9]), n_zones,
                  np.ones((len(rows), 12)), np.zeros(len(rows), dtype=bool))
    lines, start = [], 0
    ids = [f"Z{z}" for z in range(n_zones)]
    for size in components:  # a chain plus one chord where the component allows it
        members = list(range(start, start + size))
        pairs = list(itertools.pairwise(members))
        if size >= 4:
            pairs.append((members[0], members[2]))
        lines += [Line(f"{ids[a]}-{ids[b]}", ids[a], ids[b], rng.uniform(300, 3000),
                       rng.uniform(300, 3000)) for a, b in pairs]
        start += size
    shape = 1 + 0.2 * np.sin(np.arange(24) / 24 * 2 * np.pi)[None, None, :] * np.ones(
        (n_zones, 12, 1))
    return GridMarket(fleet, build_network(lines, ids), shape,
                      rng.uniform(3000, 15000, n_zones), rng.uniform(0, 100, n_zones), 3000.0)


def shipped() -> tuple[GridMarket, np.ndarray]:
    """The shipped zones with the shipped grid data, and their annual-mean average carbon."""
    from abm.data.dataset import shipped as shipped_data
    from abm.grid import load_grid_data
    from abm.grid.availability import zone_lat_lon

    shipped_set = shipped_data()
    zones = list(shipped_set.zones.values())
    where = zone_lat_lon(shipped_set.regions.values(), [z.id for z in zones])
    market = GridMarket.from_data(load_grid_data(), [z.id for z in zones],
                                  np.array([z.load_mw for z in zones]), 3000.0,
                                  zone_lat_lon=where)
    return market, np.array([z.avg_carbon_kg_per_mwh for z in zones])


def run(market: GridMarket, avg_carbon: np.ndarray, hours: int, loads: str = "market",
        seed: int = 2) -> tuple[np.ndarray, np.ndarray, float]:
    """Wall and CPU (this process, all threads) seconds per hour (set_hour plus four clearings
    at four different loads, as the market makes them) over ``hours`` hours, and the HiGHS
    calls per hour. ``loads``: ``market`` (data-centre load 0-8 % of background demand, a
    quarter of it moved between zones, drifting from hour to hour) or ``random`` (every
    clearing's data-centre load drawn afresh, 0-800 MW a zone: the worst case for reusing the
    last basis)."""
    rng = np.random.default_rng(seed)
    n_z = len(avg_carbon)
    times = np.empty(hours)
    cpu = np.empty(hours)
    share = rng.uniform(0, 0.08, n_z)
    phase = rng.uniform(0, 2 * np.pi, n_z)
    placed = share * market.mean_load_mw
    calls = market.highs_calls
    for h in range(hours):
        if loads == "market":
            share = np.clip(share * rng.uniform(0.95, 1.05, n_z), 0, 0.08)
            status_quo = share * market.mean_load_mw * market.demand_shape[:, h // 732 % 12,
                                                                          h % 24]
            moved = 0.25 * status_quo * rng.random(n_z)
            last, placed = placed, status_quo - moved + moved.sum() * rng.dirichlet(
                np.ones(n_z))
        else:
            status_quo = rng.uniform(0, 800, n_z)
            last, placed = placed, rng.permutation(status_quo)
        if loads == "market":
            target = avg_carbon * (1 + 0.25 * np.sin(2 * np.pi * h / 24 + phase))
        else:
            target = avg_carbon * rng.uniform(0.6, 1.4, n_z)
        price = rng.uniform(20, 80, n_z)
        t0, c0 = time.perf_counter(), time.process_time()
        market.set_hour(h // 732 % 12 + 1, h % 24, status_quo, target, price)
        base = market.background_mw
        market.clear(base + last)  # the forecast quote: last hour's placement
        market.clear(base + placed)  # the placed load
        market.clear(base)  # no data-centre load: system emissions
        market.clear(base + status_quo)  # the status quo: relocation effect
        times[h], cpu[h] = time.perf_counter() - t0, time.process_time() - c0
    calls = market.highs_calls - calls
    return times, cpu, calls / hours


def week() -> tuple[np.ndarray, np.ndarray, float, GridMarket]:
    """The default scenario's week: wall and CPU seconds of the grid's calls per hour, HiGHS
    calls per hour, and the market."""
    from abm.config.scenario import load_scenario
    from abm.market import MarketModel
    from abm.market.loop import run

    scenario = load_scenario(ROOT / "abm" / "scenarios" / "default.toml")
    model = MarketModel(scenario)
    grid = model.grid
    spent = np.zeros((scenario.hours, 2))

    def timed(method):
        def call(*args):
            t0, c0 = time.perf_counter(), time.process_time()
            out = method(*args)
            spent[model.hour] += (time.perf_counter() - t0, time.process_time() - c0)
            return out
        return call

    grid.set_hour, grid.clear = timed(grid.set_hour), timed(grid.clear)
    run(model)
    calls = grid.market.highs_calls
    return spent[:, 0], spent[:, 1], calls / scenario.hours, grid.market


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--system", choices=("synthetic", "shipped", "week"),
                        default="synthetic")
    parser.add_argument("--hours", type=int, default=2000)
    parser.add_argument("--loads", choices=("market", "random"), default="market",
                        help="the data-centre loads of the clearings (see run())")
    args = parser.parse_args(argv)
    if args.system == "week":
        times, cpu, calls, market = week()
        args.hours, args.loads = len(times), "the market's"
    else:
        if args.system == "synthetic":
            market = synthetic(30, (6, 5, 3, 2))
            avg = np.random.default_rng(3).uniform(20, 700, 30)
        else:
            market, avg = shipped()
        run(market, avg, 50, args.loads)  # warm-up: HiGHS models built, first bases found
        times, cpu, calls = run(market, avg, args.hours, args.loads)
    times, cpu = times * 1000, cpu * 1000
    print(f"grid clearing, {args.system}: {market.fleet.n_zones} zones, "
          f"{len(market.fleet.zone)} units, {len(market.line_ids)} lines, "
          f"{len(market.components)} coupled components; {args.hours} hours, {args.loads} "
          f"loads; {calls:.2f} HiGHS calls per hour")
    print(f"python {platform.python_version()}, {platform.processor() or platform.machine()}")
    for name, x in (("wall", times), ("cpu", cpu)):
        print(f"ms per hour (set_hour + 4 clearings), {name}: median {np.median(x):.3f}, "
              f"p90 {np.percentile(x, 90):.3f}, max {x.max():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
