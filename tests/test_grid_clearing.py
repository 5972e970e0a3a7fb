"""Hand-solved clearings of abm/grid: congestion, fuel switching, merit order, system emissions."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.data.grid_tables import TECHNOLOGIES
from abm.grid.clearing import traced_carbon_kg_per_mwh
from tests.grid_systems import PRICE_CAP, market, random_system

GAS, COAL, NUCLEAR = (TECHNOLOGIES.index(t) for t in ("gas_ccgt", "coal", "nuclear"))


def two_zones(line_mw: float):
    """Zone 0: gas CCGT at 20 $/MWh (1,000 MW, 0.36 t/MWh_el); zone 1: gas OCGT at 50 $/MWh
    (1,000 MW, 0.566 t/MWh_el); one line 0 -> 1 of ``line_mw`` each way."""
    units = [dict(zone=0, tech="gas_ccgt", mw=1000, fuel=20, co2=0.36),
             dict(zone=1, tech="gas_ocgt", mw=1000, fuel=50, co2=0.566)]
    return market(units, [(0, 1, line_mw, line_mw)], 2)


def test_congested_line_splits_prices():
    """Loads 400 and 500 MW; line 300 MW. Zone 0 serves itself and exports the line's 300 MW,
    zone 1 makes the other 200 MW: prices 20 and 50 exactly, the line is congested."""
    d = two_zones(300.0).clear(np.array([400.0, 500.0]))
    assert d.price_usd_per_mwh == pytest.approx([20.0, 50.0], abs=1e-9)
    assert d.flow_mw == pytest.approx([300.0])
    assert d.congested.tolist() == [True]
    assert d.generation_mw[:, GAS].tolist() == pytest.approx([700.0, 0.0])
    assert d.net_import_mw == pytest.approx([-300.0, 300.0])
    assert d.emissions_kg == pytest.approx([700 * 360.0, 200 * 566.0])
    assert d.marginal_technology.tolist() == [GAS, TECHNOLOGIES.index("gas_ocgt")]
    assert d.marginal_carbon_kg_per_mwh == pytest.approx([360.0, 566.0])
    assert d.cost_usd == pytest.approx(700 * 20.0 + 200 * 50.0)


def test_clearing_runs_where_another_highs_started_more_threads():
    """The grid's HiGHS models ask for one thread; where another HiGHS of the process started
    HiGHS's shared thread scheduler with two, HiGHS refuses one, and the clearing takes the
    scheduler's count instead of failing (a fresh interpreter: the scheduler is per process)."""
    code = (
        "import highspy, numpy as np\n"
        "h = highspy.Highs(); h.setOptionValue('output_flag', False)\n"
        "h.setOptionValue('threads', 2)\n"
        "lp = highspy.HighsLp(); lp.num_col_ = 1\n"
        "lp.col_cost_, lp.col_lower_, lp.col_upper_ = np.ones(1), np.zeros(1), np.ones(1)\n"
        "h.passModel(lp); assert h.run() == highspy.HighsStatus.kOk\n"
        "from tests.test_grid_clearing import two_zones\n"
        "d = two_zones(300.0).clear(np.array([400.0, 500.0]))\n"
        "print(d.price_usd_per_mwh.tolist(), d.flow_mw.tolist())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[20.0, 50.0] [300.0]"


def test_uncongested_line_one_price():
    """With a 1,000 MW line zone 0 serves both zones (900 MW) at 20 $/MWh; zone 1's next MW
    comes from zone 0's gas."""
    d = two_zones(1000.0).clear(np.array([400.0, 500.0]))
    assert d.price_usd_per_mwh == pytest.approx([20.0, 20.0], abs=1e-9)
    assert d.flow_mw == pytest.approx([500.0])
    assert d.congested.tolist() == [False]
    assert d.marginal_carbon_kg_per_mwh == pytest.approx([360.0, 360.0])


def test_shortage_sheds_at_the_price_cap():
    """1,500 MW of load against 1,000 MW in the zone and a 300 MW line: 200 MW shed in zone 1,
    its price is the cap and shedding is its marginal 'technology'."""
    d = two_zones(300.0).clear(np.array([700.0, 1500.0]))
    assert d.unserved_mw == pytest.approx([0.0, 200.0])
    assert d.price_usd_per_mwh[1] == pytest.approx(PRICE_CAP)
    assert d.marginal_technology[1] == -1
    assert d.marginal_carbon_kg_per_mwh[1] == 0.0


def fuel_switch(carbon_usd_per_t: float):
    """Nuclear 500 MW (10 $/MWh), coal 300 MW (fuel 8 $/MWh_th, efficiency 0.4: 20 $/MWh,
    850 kg/MWh), gas CCGT 300 MW (fuel 22 $/MWh_th, efficiency 0.55: 40 $/MWh, 360 kg/MWh);
    load 700 MW: 200 MW from the cheaper fossil unit."""
    units = [dict(tech="nuclear", mw=500, fuel=10),
             dict(tech="coal", mw=300, fuel=8, eff=0.4, co2=0.34),
             dict(tech="gas_ccgt", mw=300, fuel=22, eff=0.55, co2=0.198)]
    return market(units, [], 1, carbon=carbon_usd_per_t).clear(np.array([700.0]))


def test_carbon_price_switches_coal_to_gas():
    """Coal and gas offer the same at 20 + 0.85 p = 40 + 0.36 p, p = 20 / 0.49 = 40.816 $/t."""
    switch = 20.0 / 0.49
    below, above = fuel_switch(switch - 0.5), fuel_switch(switch + 0.5)
    assert below.marginal_technology.tolist() == [COAL]
    assert below.price_usd_per_mwh == pytest.approx([20.0 + 0.85 * (switch - 0.5)])
    assert below.emissions_kg == pytest.approx([200 * 850.0])
    assert above.marginal_technology.tolist() == [GAS]
    assert above.price_usd_per_mwh == pytest.approx([40.0 + 0.36 * (switch + 0.5)])
    assert above.emissions_kg == pytest.approx([200 * 360.0])
    assert above.generation_mw[0, [NUCLEAR, COAL, GAS]] == pytest.approx([500.0, 0.0, 200.0])


def test_isolated_zone_clears_at_its_marginal_tranche():
    """Three coal tranches of 100 MW (efficiency 0.42, 0.38, 0.34; fuel 10 $/MWh_th, VOM 4,
    0.34 t/MWh_th) with a 50 $/t carbon price; load 150 MW: the middle tranche is marginal
    at 10 / 0.38 + 4 + 50 x 0.34 / 0.38 = 71.0526... $/MWh."""
    units = [dict(tech="coal", mw=100, fuel=10, vom=4, eff=e, co2=0.34, tranche=i + 1)
             for i, e in enumerate((0.42, 0.38, 0.34))]
    m = market(units, [], 1, carbon=50.0)
    d = m.clear(np.array([150.0]))
    assert d.price_usd_per_mwh == pytest.approx([10 / 0.38 + 4 + 50 * 0.34 / 0.38])
    assert d.marginal_carbon_kg_per_mwh == pytest.approx([340 / 0.38])
    assert d.emissions_kg == pytest.approx([100 * 340 / 0.42 + 50 * 340 / 0.38])
    assert d.avg_carbon_kg_per_mwh == pytest.approx(d.emissions_kg / 150.0)


def relocation_system():
    """Zone 0: nuclear 1,000 MW (5 $/MWh), coal 500 MW (30 $/MWh, 900 kg/MWh); zone 1: gas
    CCGT 40 MW (25 $/MWh, 370 kg/MWh) then gas OCGT 500 MW (60 $/MWh, 550 kg/MWh); line 0 -> 1
    of 100 MW each way. Background loads 1,050 and 100 MW."""
    units = [dict(zone=0, tech="nuclear", mw=1000, fuel=5),
             dict(zone=0, tech="coal", mw=500, fuel=30, co2=0.9),
             dict(zone=1, tech="gas_ccgt", mw=40, fuel=25, co2=0.37),
             dict(zone=1, tech="gas_ocgt", mw=500, fuel=60, co2=0.55)]
    return market(units, [(0, 1, 100.0, 100.0)], 2)


def test_system_emissions_of_a_move_differ_from_marginal_attribution():
    """A 40 MW data-centre load moves from zone 1 to zone 0.

    Status quo (loads 1,050 / 140): zone 1's CCGT (25 $) serves 40 MW, then zone 0's coal
    (30 $) exports the 100 MW line; zone 0 burns coal for 50 + 100 = 150 MW (135,000 kg), zone 1
    gas 40 MW (14,800 kg): 149,800 kg. The line is congested, so zone 1's next MW is OCGT.
    Moved (loads 1,090 / 100): zone 1's CCGT serves 40 MW, 60 MW come over the line (not
    congested); coal 90 + 60 = 150 MW: 135,000 + 14,800 = 149,800 kg. The system effect of the
    move is 0 kg, while marginal attribution (realised marginal factor x 40 MW) moves 40 MW
    from OCGT (550) to coal (900): +14,000 kg.
    """
    m = relocation_system()
    before = m.clear(np.array([1050.0, 140.0]))
    after = m.clear(np.array([1090.0, 100.0]))
    assert before.congested.tolist() == [True]
    assert after.congested.tolist() == [False]
    assert before.emissions_total_kg == pytest.approx(149_800.0)
    assert after.emissions_total_kg == pytest.approx(149_800.0)
    assert before.marginal_carbon_kg_per_mwh == pytest.approx([900.0, 550.0])
    assert after.marginal_carbon_kg_per_mwh == pytest.approx([900.0, 900.0])
    marginal_attribution = (40 * after.marginal_carbon_kg_per_mwh[0]
                            - 40 * before.marginal_carbon_kg_per_mwh[1])
    system = after.emissions_total_kg - before.emissions_total_kg
    assert marginal_attribution - system == pytest.approx(14_000.0)


def test_load_met_through_a_line_is_counted_where_it_is_burnt():
    """System emissions of 40 MW of data-centre load in zone 1 (with vs without, loads
    1,050 / 100 + 40): the 40 MW come from zone 0's coal through the line (60 -> 100 MW):
    36,000 kg, all in zone 0."""
    m = relocation_system()
    without = m.clear(np.array([1050.0, 100.0]))
    with_dc = m.clear(np.array([1050.0, 140.0]))
    # zone 1's CCGT (25 $) is cheaper than coal (30 $): it serves zone 1 first in both cases
    assert without.generation_mw[1, GAS] == pytest.approx(40.0)
    assert (with_dc.emissions_kg - without.emissions_kg) == pytest.approx([36_000.0, 0.0])


def test_market_pickles_and_clears_the_same():
    m = relocation_system()
    load = np.array([1050.0, 140.0])
    d0 = m.clear(load)
    d1 = pickle.loads(pickle.dumps(m)).clear(load)
    assert d1.price_usd_per_mwh == pytest.approx(d0.price_usd_per_mwh)
    assert d1.flow_mw == pytest.approx(d0.flow_mw)


def test_shipped_eu_carbon_price_switches_coal_to_gas_with_no_load_moved():
    """The shipped zones at one hour, the same loads: an EU ETS price of 150 $/t instead of
    2024's puts German gas before lignite and coal, so DE-LU burns more gas and the system
    emits less; zones outside the EU and its neighbours are untouched."""
    from abm.data.dataset import shipped
    from abm.grid import GridMarket, load_grid_data
    from abm.grid.availability import zone_lat_lon

    data, grid = shipped(), load_grid_data()
    zones = list(data.zones.values())
    ids = [z.id for z in zones]
    args = (grid, ids, np.array([z.load_mw for z in zones]), 3000.0)
    where = zone_lat_lon(data.regions.values(), ids)
    base, policy = (GridMarket.from_data(*args, zone_lat_lon=where, carbon_overrides=o)
                    for o in ({}, {"eu_ets": 150.0}))
    target = np.array([z.avg_carbon_kg_per_mwh for z in zones])
    dc = np.zeros(len(zones))
    cal = [m.set_hour(1, 0, dc, target, np.zeros(len(zones))) for m in (base, policy)]
    assert cal[1].weather_factor == pytest.approx(cal[0].weather_factor)
    d0, d1 = (m.clear(m.background_mw) for m in (base, policy))
    de = ids.index("DE-LU")
    fossil = [TECHNOLOGIES.index(t) for t in ("coal", "lignite")]
    assert d1.generation_mw[de, GAS] > d0.generation_mw[de, GAS]
    assert d1.generation_mw[de, fossil].sum() < d0.generation_mw[de, fossil].sum()
    assert d1.emissions_total_kg < d0.emissions_total_kg
    far = [ids.index(z) for z in ("US-ERCOT", "IN-WE", "JP-TK")]
    assert d1.emissions_kg[far] == pytest.approx(d0.emissions_kg[far])


def test_traced_carbon_by_hand():
    """A chain A -> B -> C: A burns 100 MW of coal (1,000 kg/MWh) for its 50 MW and sends 50 MW
    to B; B burns 100 MW of gas (400 kg/MWh), takes A's 50 MW, serves its 100 MW and sends 50 MW
    to C. Traced: A 1,000; B (40,000 + 50 x 1,000) / 150 = 600; C takes B's mix, 600. The loads
    carry 50,000 + 60,000 + 30,000 kg, all that was burnt."""
    units = [dict(zone=0, tech="coal", mw=100, fuel=10, co2=1.0),
             dict(zone=1, tech="gas_ccgt", mw=100, fuel=20, co2=0.4)]
    m = market(units, [(0, 1, 50.0, 50.0), (1, 2, 50.0, 50.0)], 3)
    d = m.clear(np.array([50.0, 100.0, 50.0]))
    assert d.flow_mw == pytest.approx([50.0, 50.0])
    traced = traced_carbon_kg_per_mwh(d, m.network)
    assert traced == pytest.approx([1000.0, 600.0, 600.0])
    assert traced @ d.load_mw == pytest.approx(d.emissions_total_kg)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_traced_carbon_conserves_emissions(seed):
    """On random coupled systems with no shedding, the load times its traced carbon adds up to
    the emissions burnt."""
    rng = np.random.default_rng(seed)
    n_zones = int(rng.integers(2, 6))
    units, lines = random_system(rng, n_zones, int(rng.integers(1, 7)))
    m = market(units, lines, n_zones)
    d = m.clear(rng.uniform(1, 60, n_zones))
    traced = traced_carbon_kg_per_mwh(d, m.network)
    served = d.load_mw - d.unserved_mw
    assert traced @ served == pytest.approx(d.emissions_total_kg, rel=1e-9, abs=1e-6)
    assert (traced >= -1e-9).all()
