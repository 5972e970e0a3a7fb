"""The PyPSA export: an exported network, optimised by PyPSA (HiGHS through linopy), gives our
dispatch cost and zone prices."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from abm.report.pypsa_export import Hour, build_network, prepared_hour

pypsa = pytest.importorskip("pypsa", reason="PyPSA is the optional extra [grid]")
logging.getLogger("linopy").setLevel(logging.WARNING)
logging.getLogger("pypsa").setLevel(logging.WARNING)


def two_zones() -> SimpleNamespace:
    """Zone A: 300 MW at 10 $/MWh (coal-like, 1 t/MWh); zone B: 300 MW at 50 $/MWh (gas-like,
    0.4 t/MWh); one line A-B of 100 MW each way; shedding at 1,000 $/MWh."""
    fleet = SimpleNamespace(zone=np.array([0, 1]), technology=np.array([0, 1]),
                            tranche=np.array([1, 1]), capacity_mw=np.array([300.0, 300.0]),
                            efficiency=np.array([0.4, 0.5]),
                            emission_kg_per_mwh=np.array([1000.0, 400.0]))
    return SimpleNamespace(zone_ids=("A", "B"), technologies=("coal", "gas"), fleet=fleet,
                           line_ids=("A-B",), line_zones=np.array([[0, 1]]),
                           line_capacity_mw=np.array([[100.0, 100.0]]),
                           price_cap_usd_per_mwh=1000.0)


def dispatch_cost(n) -> np.ndarray:
    """(S,) cost of each snapshot: generation x marginal cost, shedding included."""
    mc = n.get_switchable_as_dense("Generator", "marginal_cost")
    return (n.generators_t.p * mc[n.generators_t.p.columns]).sum(axis=1).to_numpy()


def solve(n) -> None:
    status, condition = n.optimize(solver_name="highs", include_objective_constant=False,
                                   solver_options={"output_flag": False})
    assert (status, condition) == ("ok", "optimal")


def test_two_zones_hand_solved_prices_cost_and_emissions():
    """Hour 1: loads A 100, B 200. A runs 200 MW (100 exported, the line congests), B 100 MW:
    prices A 10, B 50; cost 10 x 200 + 50 x 100 = 7,000 $; CO2 200 x 1 + 100 x 0.4 = 240 t.
    Hour 2: loads A 100, B 50: A serves both over the uncongested line: both prices 10, cost
    1,500 $. Hour 3: A's unit half available (150 MW), loads A 240, B 0: A imports 90 from B
    (line not full), so B's unit serves A's next MW too: prices 50 and 50; cost 10 x 150 + 50 x
    90 = 6,000 $. (At load 250 the line would be full and A's next MW shed: price 1,000.)"""
    m = two_zones()
    stamps = pd.date_range("2024-01-01", periods=3, freq="h")
    offers = np.array([10.0, 50.0])
    line = m.line_capacity_mw
    hours = [Hour(stamps[0], offers, np.array([300.0, 300.0]), np.array([100.0, 200.0]), line),
             Hour(stamps[1], offers, np.array([300.0, 300.0]), np.array([100.0, 50.0]), line),
             Hour(stamps[2], offers, np.array([150.0, 300.0]), np.array([240.0, 0.0]), line)]
    n = build_network(m, m.zone_ids, hours)
    solve(n)
    price = n.buses_t.marginal_price[["A", "B"]].to_numpy()
    np.testing.assert_allclose(price, [[10, 50], [10, 10], [50, 50]], rtol=1e-9)
    np.testing.assert_allclose(dispatch_cost(n), [7000, 1500, 6000], rtol=1e-9)
    assert n.objective == pytest.approx(14500, rel=1e-9)
    flow = n.links_t.p0["A-B"].to_numpy()
    np.testing.assert_allclose(flow, [100, 50, -90], atol=1e-6)
    # carriers carry the fuel CO2 per MWh of heat: with the unit efficiency PyPSA's emissions
    # are ours (1,000 kg/MWh x 0.4 = 0.4 t/MWh_th)
    assert n.carriers.co2_emissions["coal"] == pytest.approx(0.4)
    co2 = (n.generators_t.p / n.generators.efficiency
           * n.generators.carrier.map(n.carriers.co2_emissions)).sum(axis=1)
    np.testing.assert_allclose(co2.to_numpy()[0], 240.0, rtol=1e-9)

    # an asymmetric line (A->B 100 MW, B->A 40 MW): A (150 MW available) at 200 MW load imports
    # only 40 from B, so 10 MW are shed: prices A 1,000 (the cap), B 50; cost 1,500 + 2,000 +
    # 10,000 = 13,500 $
    n = build_network(m, m.zone_ids, [Hour(stamps[0], offers, np.array([150.0, 300.0]),
                                            np.array([200.0, 0.0]),
                                            np.array([[100.0, 40.0]]))])
    solve(n)
    np.testing.assert_allclose(n.buses_t.marginal_price[["A", "B"]].to_numpy(), [[1000, 50]])
    np.testing.assert_allclose(dispatch_cost(n), [13500], rtol=1e-9)
    assert n.links_t.p0["A-B"].iloc[0] == pytest.approx(-40.0)


def shipped_market_hours():
    """The shipped 23-zone technology market prepared for three hours of 2024 (a winter
    evening, a summer night, a spring noon) with data-centre load in five zones; our dispatch of
    each hour beside the prepared hour."""
    from abm.data.dataset import shipped
    from abm.grid import GridMarket, load_grid_data
    from abm.grid.availability import zone_lat_lon

    ds = shipped()
    zone_ids = list(ds.zones)
    mean = np.array([ds.zones[z].load_mw for z in zone_ids])
    market = GridMarket.from_data(load_grid_data(), zone_ids, mean, price_cap_usd_per_mwh=3000.0,
                                  zone_lat_lon=zone_lat_lon(ds.regions.values(), zone_ids))
    dc = np.zeros(len(zone_ids))
    for z, mw in {"US-PJM-DOM": 900.0, "DE-LU": 400.0, "GB": 300.0, "US-CAISO": 500.0,
                  "FR": 250.0}.items():
        dc[zone_ids.index(z)] = mw
    hours, ours = [], []
    for stamp in ("2024-01-15 18:00", "2024-07-10 03:00", "2024-04-20 12:00"):
        ts = pd.Timestamp(stamp)
        carbon = np.array([ds.zones[z].avg_carbon_kg_per_mwh
                           * ds.profiles[z, "carbon"][ts.month - 1, ts.hour] for z in zone_ids])
        price = np.array([ds.zones[z].price_usd_per_mwh
                          * ds.profiles[z, "price"][ts.month - 1, ts.hour] for z in zone_ids])
        market.set_hour(ts.month, ts.hour, 0.8 * dc, carbon, price)
        hour = prepared_hour(market, ts, dc)
        hours.append(hour)
        ours.append(market.clear(hour.load_mw))
    return market, zone_ids, hours, ours


def test_pypsa_reproduces_our_cost_prices_and_emissions_on_the_shipped_market():
    """PyPSA's optimum of the exported network (HiGHS through linopy) equals our clearing:
    dispatch cost per hour and every zone's price within relative 1e-6, emissions too."""
    market, zone_ids, hours, ours = shipped_market_hours()
    n = build_network(market, zone_ids, hours)
    solve(n)
    np.testing.assert_allclose(dispatch_cost(n), [d.cost_usd for d in ours], rtol=1e-6)
    assert n.objective == pytest.approx(sum(d.cost_usd for d in ours), rel=1e-6)
    price = n.buses_t.marginal_price[zone_ids].to_numpy()
    np.testing.assert_allclose(price, np.stack([d.price_usd_per_mwh for d in ours]), rtol=1e-6)
    # emissions: equal in every zone group that clears jointly (PyPSA's optimum alone need not
    # follow our tie rule: within a group, units of equal offer in different zones may share
    # the load otherwise at the same cost; see the next test), and in total
    p = n.generators_t.p
    co2_kg = 1000 * (p / n.generators.efficiency * n.generators.carrier.map(
        n.carriers.co2_emissions)).T.groupby(n.generators.bus).sum().T[zone_ids].to_numpy()
    em = np.stack([d.emissions_kg - d.moved_water_kg for d in ours])  # direct emissions
    groups = market.components
    assert len(groups) == 4  # IE-GB-FR-NL-DE-LU, SE3-FI, BPAT-CAISO, DOM-MISO
    grouped = np.concatenate(groups)
    for g in groups:
        np.testing.assert_allclose(co2_kg[:, g].sum(axis=1), em[:, g].sum(axis=1), rtol=1e-6)
    alone = np.setdiff1d(np.arange(len(zone_ids)), grouped)
    np.testing.assert_allclose(co2_kg[:, alone], em[:, alone], rtol=1e-6, atol=1e-3)


def tie_rule_optimum(n, market) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PyPSA's own model of the network (linopy) solved by our tie rule (docs/grid.md, "Ties"),
    as a modeller would add it: the least dispatch cost, then, with the cost held at that
    optimum, the least tie cost (the rule's weights, ``abm.grid.ties.tie_costs``; an isolated
    zone is a component of its own with no line). Returns generator output and link flows
    (snapshots x names)."""
    import xarray as xr

    from abm.grid.ties import tie_costs

    fleet = market.fleet
    n_z = fleet.n_zones
    component = np.arange(n_z)
    for g in market.components:
        component[g] = n_z + g[0]
    component = np.unique(component, return_inverse=True)[1]
    unit_w, line_w, shed_w, _ = tie_costs(
        fleet.zone, np.stack([fleet.technology, fleet.tranche], 1), market.line_zones,
        market.line_ids, component)
    names = list(n.generators.index)
    weight = pd.Series(np.concatenate([unit_w, shed_w]), index=names)  # units, then shedding
    m = n.optimize.create_model(include_objective_constant=False)
    m.solve(solver_name="highs", output_flag=False)
    least = float(m.objective.value)
    # held at the optimum up to HiGHS's primal feasibility tolerance (1e-7), absolute: a slack
    # relative to the whole cost (5.6e7 USD here) would let units whose offers differ by cents
    # trade MW at a cost the tolerance hides
    m.add_constraints(m.objective.expression <= least + 1e-7, name="at-the-cost-optimum")
    gen, flow = m.variables["Generator-p"], m.variables["Link-p"]
    size = m.add_variables(lower=0, coords=flow.coords, name="flow-either-way")
    m.add_constraints(size - flow >= 0, name="flow-forward")
    m.add_constraints(size + flow >= 0, name="flow-backward")
    unit_weight = xr.DataArray(weight.to_numpy(), coords={"name": names}, dims=["name"])
    line_weight = xr.DataArray(line_w, coords={"name": list(market.line_ids)}, dims=["name"])
    m.add_objective((gen * unit_weight).sum() + (size * line_weight).sum(), overwrite=True)
    m.solve(solver_name="highs", output_flag=False)
    return gen.solution.to_pandas(), flow.solution.to_pandas()


def test_pypsa_with_our_tie_rule_gives_our_dispatch_zone_by_zone():
    """With our tie rule added in PyPSA's own model (a second solve: least tie cost at the
    least cost), PyPSA's dispatch is ours unit by unit: generation by zone and technology,
    every zone's direct emissions, every line's flow and congestion, in every hour."""
    market, zone_ids, hours, ours = shipped_market_hours()
    n = build_network(market, zone_ids, hours)
    gen, flow = tie_rule_optimum(n, market)
    fleet = market.fleet
    units = gen.iloc[:, :len(fleet.zone)].to_numpy()
    n_t = len(market.technologies)
    by_tech = np.stack([np.bincount(fleet.zone * n_t + fleet.technology, weights=row,
                                    minlength=len(zone_ids) * n_t).reshape(len(zone_ids), n_t)
                        for row in units])
    np.testing.assert_allclose(by_tech, np.stack([d.generation_mw for d in ours]), atol=1e-4)
    emissions = units * fleet.emission_kg_per_mwh
    per_zone = np.stack([np.bincount(fleet.zone, weights=row, minlength=len(zone_ids))
                         for row in emissions])
    direct = np.stack([d.emissions_kg - d.moved_water_kg for d in ours])
    np.testing.assert_allclose(per_zone, direct, rtol=1e-6, atol=0.1)
    f = flow[list(market.line_ids)].to_numpy()
    np.testing.assert_allclose(f, np.stack([d.flow_mw for d in ours]), atol=1e-4)
    cap = np.stack([h.line_capacity_mw for h in hours])  # (hours, L, 2): the hour's limits
    at_limit = (f >= cap[:, :, 0] - 1e-4) | (f <= -cap[:, :, 1] + 1e-4)
    assert at_limit.tolist() == np.stack([d.congested for d in ours]).tolist()


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # PyPSA 1.4's reader
def test_abm_export_pypsa_of_a_run_equals_the_runs_clearing(tmp_path):
    """End to end: `abm run` (technology market, 2 hours) then `abm export pypsa`: the
    written network, optimised by PyPSA, prices every zone as the run's zones table does."""
    from abm.cli import main
    from abm.config.scenario import load_scenario
    from abm.market.run import read_tables, run_market

    scn = load_scenario(None)
    assert scn.market.grid_response == "technology"
    run_dir = tmp_path / "run"
    run_market(scn, run_dir, hours=2)
    out = tmp_path / "net.nc"
    assert main(["export", "pypsa", str(run_dir), "--out", str(out)]) == 0
    n = pypsa.Network(str(out))  # the netCDF round trip
    assert len(n.snapshots) == 2 and len(n.buses) == len(scn.zones)
    # the hour's transfer limits: IE-GB's 1,000 MW each way, time series of p_nom's share
    assert n.links.p_nom["IE-GB"] == pytest.approx(1000.0)
    limits = n.links_t.p_min_pu["IE-GB"] * n.links.p_nom["IE-GB"]  # backward, negative
    np.testing.assert_allclose(limits.to_numpy(), [-1000.0, -1000.0])
    solve(n)
    zones = read_tables(run_dir, "zones")["zones"]
    ours = zones.pivot(index="hour", columns="zone", values="price_usd_per_mwh")
    np.testing.assert_allclose(n.buses_t.marginal_price[ours.columns].to_numpy(),
                               ours.to_numpy(), rtol=1e-6)


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # PyPSA 1.4's reader
@pytest.mark.parametrize("existing", [False, True])
def test_an_export_stopped_while_writing_leaves_no_torn_file(tmp_path, monkeypatch, existing):
    """Ctrl-C while PyPSA writes (its xarray writer has written half the file and is
    interrupted): no FILE.nc appears, a previous one keeps its bytes, no temporary file is
    left; writing again gives a file PyPSA reads back."""
    import xarray as xr

    from abm.report.pypsa_export import write_netcdf

    m = two_zones()
    hour = Hour(pd.Timestamp("2024-01-01"), np.array([10.0, 50.0]), np.array([300.0, 300.0]),
                np.array([100.0, 200.0]), m.line_capacity_mw)
    n = build_network(m, m.zone_ids, [hour])
    out = tmp_path / "net.nc"
    if existing:
        out.write_bytes(b"the previous export")
    real = xr.Dataset.to_netcdf

    def interrupted(ds, path, *args, **kwargs):
        real(ds, path, *args, **kwargs)
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])  # half the real file on disk
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_netcdf(n, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["net.nc"] if existing else [])
    if existing:
        assert out.read_bytes() == b"the previous export"
    monkeypatch.setattr(xr.Dataset, "to_netcdf", real)
    assert write_netcdf(n, out) == out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.nc"]
    back = pypsa.Network(str(out))
    assert list(back.buses.index) == ["A", "B"] and len(back.snapshots) == 1
