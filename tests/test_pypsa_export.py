"""The PyPSA export: an exported network, optimised by PyPSA (HiGHS through linopy), gives our
dispatch cost and zone prices."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from abm.grid.pypsa_export import Hour, build_network, write_netcdf

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
    hours = [Hour(stamps[0], offers, np.array([300.0, 300.0]), np.array([100.0, 200.0])),
             Hour(stamps[1], offers, np.array([300.0, 300.0]), np.array([100.0, 50.0])),
             Hour(stamps[2], offers, np.array([150.0, 300.0]), np.array([240.0, 0.0]))]
    n = build_network(m, hours)
    solve(n)
    price = n.buses_t.marginal_price[["A", "B"]].to_numpy()
    np.testing.assert_allclose(price, [[10, 50], [10, 10], [50, 50]], rtol=1e-9)
    cost = (n.generators_t.p * n.generators_t.marginal_cost.reindex(
        columns=n.generators_t.p.columns, fill_value=0.0)).sum(axis=1)
    cost += n.generators_t.p.filter(like="shedding").sum(axis=1) * 1000.0
    np.testing.assert_allclose(cost.to_numpy(), [7000, 1500, 6000], rtol=1e-9)
    assert n.objective == pytest.approx(14500, rel=1e-9)
    flow = n.links_t.p0["A-B"].to_numpy()
    np.testing.assert_allclose(flow, [100, 50, -90], atol=1e-6)
    # carriers carry the fuel CO2 per MWh of heat: with the unit efficiency PyPSA's emissions
    # are ours (1,000 kg/MWh x 0.4 = 0.4 t/MWh_th)
    assert n.carriers.co2_emissions["coal"] == pytest.approx(0.4)
    co2 = (n.generators_t.p / n.generators.efficiency
           * n.generators.carrier.map(n.carriers.co2_emissions)).sum(axis=1)
    np.testing.assert_allclose(co2.to_numpy()[0], 240.0, rtol=1e-9)


# PyPSA 1.4's netCDF reader calls pandas APIs that pandas 3.1 deprecates for 4.0
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_exported_network_round_trips_through_netcdf(tmp_path):
    m = two_zones()
    hours = [Hour(pd.Timestamp("2024-07-01 12:00"), np.array([10.0, 50.0]),
                  np.array([300.0, 300.0]), np.array([100.0, 200.0]))]
    path = tmp_path / "net.nc"
    write_netcdf(build_network(m, hours), path)
    n = pypsa.Network(str(path))
    assert list(n.buses.index) == ["A", "B"]
    assert n.links.loc["A-B", "p_min_pu"] == pytest.approx(-1.0)
    solve(n)
    np.testing.assert_allclose(n.buses_t.marginal_price[["A", "B"]].to_numpy(), [[10, 50]])
