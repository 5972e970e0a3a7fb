"""The grid market in the Mesa market (abm.grid.responses, GridZone, MarketModel): system
emissions and the relocation effect from coupled clearings, hand-solved on two zones and one
line; the carbon price on generators; every grid response through one interface; the default
week's outputs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from abm.config.registry import GRID_RESPONSES
from abm.config.scenario import load_scenario
from abm.core.signals import hour_stamps, profile_signals
from abm.errors import InputError
from abm.grid.responses import TechnologyMarket, grid_summary
from abm.market import GridZone, MarketModel
from abm.market.run import lines_table, summary, tables
from tests.conftest import ATYPICAL

SOURCE = "hand-made test system"
# Two zones and one line, every figure chosen to be solved by hand (docs/grid.md's notation):
#   FR: coal 1,000 MW, 12 $/MWh_th / 0.40 = 30 $/MWh, 0.36 t/MWh_th / 0.40 = 900 kg/MWh;
#       background 500 MW
#   DE-LU: geothermal ("other") 100 MW at 0 $/MWh, 0 kg; gas CCGT 50 MW, 30 / 0.5 = 60 $/MWh,
#       0.2 / 0.5 = 400 kg/MWh; background 90 MW
#   line FR-DE-LU: 5 MW each way
TWO_ZONES = {
    "technologies.csv": "technology,fuel,kind,vom_usd_per_mwh,source,assumed,note\n"
    f"coal,hard_coal,thermal,0,{SOURCE},true,\n"
    f"gas_ccgt,natural_gas,thermal,0,{SOURCE},true,\n"
    f"other,geothermal,renewable,0,{SOURCE},true,\n",
    "fuels.csv": "fuel,co2_t_per_mwh_th,source,assumed,note\n"
    f"hard_coal,0.36,{SOURCE},true,\nnatural_gas,0.2,{SOURCE},true,\n"
    f"geothermal,0,{SOURCE},true,\n",
    "tranches.csv": "technology,tranche,capacity_share,efficiency,heat_rate_btu_per_kwh,"
    "availability,source,assumed,note\n"
    f"coal,1,1,0.4,8530.35,1,{SOURCE},true,\n"
    f"gas_ccgt,1,1,0.5,6824.28,1,{SOURCE},true,\n"
    f"other,1,1,1,3412.14,1,{SOURCE},true,\n",
    "capacity.csv": "zone_id,technology,capacity_mw,generation_gwh,availability,year,source,"
    "assumed,note\n"
    f"FR,coal,1000,,,2024,{SOURCE},true,\n"
    f"DE-LU,other,100,,,2024,{SOURCE},true,\n"
    f"DE-LU,gas_ccgt,50,,,2024,{SOURCE},true,\n",
    "fuel_prices.csv": "zone_id,fuel,price_usd_per_mwh_th,hub,source,assumed,note\n" + "".join(
        f"{z},{f},{p},test,{SOURCE},true,\n" for z in ("FR", "DE-LU")
        for f, p in (("hard_coal", 12), ("natural_gas", 30), ("geothermal", 0))),
    "carbon_schemes.csv": "scheme,jurisdiction,zones,price_native,unit_native,price_usd_per_t,"
    f"year,source,assumed,note\neu_ets,EU,FR;DE-LU,0,EUR/t,0,2024,{SOURCE},true,\n",
    "interconnectors.csv": "line_id,zone_from,zone_to,capacity_forward_mw,"
    "capacity_backward_mw,type,year,source,assumed,note\n"
    f"FR-DE-LU,FR,DE-LU,5,5,AC,2024,{SOURCE},true,\n",
    "demand_shape.csv": "zone_id,month,hour_utc,factor\n" + "".join(
        f"{z},{m},{h},1\n" for z in ("FR", "DE-LU") for m in range(1, 13) for h in range(24)),
}

# One operator's 20 MW from Paris; the Paris region has no capacity, so it runs in Frankfurt.
MOVE = """
[scenario]
name = "two zones"
start = 2024-01-08T00:00:00
hours = 1

[grid]
data = "grid"
calibrate_prices = {calibrate}
{grid}
[zones.set.FR]
load_mw = 500.0
[zones.set.DE-LU]
load_mw = 90.0

[regions]
include = ["eu-france", "eu-frankfurt"]
[regions.set.eu-france]
capacity_mw = 0.0
pue = 1.0
[regions.set.eu-frankfurt]
capacity_mw = 100.0
pue = 1.0

[market]
grid_response = "technology"

[[operators]]
id = "op"

[[operators.classes]]
id = "batch"
client = "eu-france"
demand_mw = 20.0
budget_ms = 1000.0
overhead_ms = 0.0
egress_gb_per_mwh = 0.0
state_gb_per_mw = 0.0
stateful = false
"""


def zones(model: MarketModel) -> tuple:
    """The FR and DE-LU zone agents."""
    by_id = {z.zone_id: z for z in model.zones}
    return by_id["FR"], by_id["DE-LU"]


@pytest.fixture
def two_zones(tmp_path):
    """Write the two-zone grid tables and return a loader of the move scenario."""
    (tmp_path / "grid").mkdir()
    for name, text in TWO_ZONES.items():
        (tmp_path / "grid" / name).write_text(text)

    def load(grid: str = "", calibrate: bool = False, **overrides):
        """The move scenario; offers at cost (hand-solved) unless ``calibrate``."""
        path = tmp_path / "move.toml"
        path.write_text(MOVE.format(grid=grid, calibrate=str(calibrate).lower()))
        return load_scenario(path, overrides=overrides)
    return load


@ATYPICAL  # zones of 90 MW, small enough to clear by hand
def test_system_emissions_of_a_move_differ_from_marginal_attribution_by_hand(two_zones):
    model = MarketModel(two_zones())
    model.step()
    assert model.operators.x_mw.sum() == pytest.approx(20.0)  # all of it in Frankfurt
    fr, de = zones(model)
    # with no data-centre load: geothermal 95 MW (5 exported, the line's limit), coal 495
    # with 20 MW in DE-LU: geothermal 100, 5 MW of coal imported (limit), gas 5; coal 505
    assert (fr.price_usd_per_mwh, de.price_usd_per_mwh) == pytest.approx((30.0, 60.0))
    assert (fr.marginal_technology, de.marginal_technology) == ("coal", "gas_ccgt")
    assert de.marginal_carbon_kg_per_mwh == pytest.approx(400.0)
    assert de.net_import_mw == pytest.approx(5.0)
    # system: coal +10 MW x 900 (burnt in FR, counted there) + gas 5 MW x 400
    assert fr.emissions_system_kg == pytest.approx(9_000.0)
    assert de.emissions_system_kg == pytest.approx(2_000.0)
    assert model.outcome["emissions_system_kg"] == pytest.approx(11_000.0)
    # marginal attribution: 20 MW x DE-LU's marginal 400 kg/MWh; 3,000 kg less
    assert model.outcome["emissions_marginal_kg"] == pytest.approx(8_000.0)
    # average carbon of DE-LU's load: 5 MW of FR's coal imported at 900 kg/MWh on top of its
    # own 105 MW (2,000 kg): 6,500 kg over 110 MW; produced in DE-LU: 2,000 kg / 105 MW
    assert de.avg_carbon_kg_per_mwh == pytest.approx(6_500 / 110)
    assert de.production_carbon_kg_per_mwh == pytest.approx(2_000 / 105)
    assert fr.avg_carbon_kg_per_mwh == pytest.approx(900.0)
    assert model.outcome["emissions_average_kg"] == pytest.approx(20 * 6_500 / 110)
    # status quo (20 MW in FR): coal 515 MW -> 463.5 t; the move's effect -7 t
    assert model.outcome["relocation_effect_kg"] == pytest.approx(456_500.0 - 463_500.0)
    lines = lines_table(model)
    assert lines.line.tolist() == ["FR-DE-LU"] and lines.congested.all()
    assert lines.flow_mw.tolist() == pytest.approx([5.0])
    assert summary(model, "complete")["relocation_effect_kg"] == pytest.approx(-7_000.0)


def shedding(tmp_path, frankfurt_mw: float, france_mw: float) -> MarketModel:
    """The two zones (the ``two_zones`` tables) with DE-LU's background at 150 MW and 23 MW
    of data-centre load from Frankfurt (its status quo, in DE-LU), Frankfurt and Paris
    offering ``frankfurt_mw`` and ``france_mw`` of capacity; one hour stepped."""
    text = MOVE.format(grid="", calibrate="false").replace(
        'client = "eu-france"\ndemand_mw = 20.0', 'client = "eu-frankfurt"\ndemand_mw = 23.0')
    path = tmp_path / "shed.toml"
    path.write_text(text)
    model = MarketModel(load_scenario(path, overrides={
        "zones.set.DE-LU.load_mw": 150.0, "regions.set.eu-frankfurt.capacity_mw": frankfurt_mw,
        "regions.set.eu-france.capacity_mw": france_mw}))
    model.step()
    return model


@ATYPICAL  # zones of 90 MW, small enough to clear by hand
def test_shed_load_is_reported_and_never_avoided_carbon_by_hand(two_zones, tmp_path):
    """DE-LU can supply 155 MW (geothermal 100, gas 50, the line's 5 MW of FR's coal), so
    with its 150 MW of background and the 23 MW in Frankfurt it sheds 18 MW at VoLL. Shed
    load burns nothing: compared as they clear, moving the 23 MW out would be charged with
    the gas that serves DE-LU's 18 MW again, and keeping it credited with the shedding.
    Compared at the load both clearings serve (DE-LU at 150 - 18 = 132 MW), the move is what
    it does: 23 MW of coal (900 kg/MWh) instead of 23 MW of gas (400)."""
    moved = shedding(tmp_path, frankfurt_mw=0.0, france_mw=100.0)
    assert moved.operators.x_mw.sum() == pytest.approx(23.0)  # all of it in Paris
    fr, de = zones(moved)
    # placed: FR 523 MW, coal 528 (5 MW exported to DE-LU) = 475,200 kg; DE-LU 150 MW:
    # geothermal 100, gas 45 (18,000 kg), 5 imported; nothing shed
    # status quo: FR coal 505 = 454,500 kg; DE-LU 173 MW: geothermal 100, gas 50 (20,000 kg),
    # 5 imported, 18 shed
    assert moved.zones.dispatch.emissions_kg.sum() == pytest.approx(493_200.0)
    assert moved.zones.dispatch_status_quo.emissions_kg.sum() == pytest.approx(474_500.0)
    assert (de.reference_shed_mw, de.shed_mw, fr.reference_shed_mw) == pytest.approx(
        (18.0, 0.0, 0.0))
    # at the load both serve, DE-LU at 132 MW with the placed load: gas 27 (10,800 kg);
    # relocation effect +20,700 (FR) - 9,200 (DE-LU) = 23 x (900 - 400), not 493,200 - 474,500
    assert (fr.relocation_effect_kg, de.relocation_effect_kg) == pytest.approx(
        (20_700.0, -9_200.0))
    assert moved.outcome["relocation_effect_kg"] == pytest.approx(11_500.0)
    # nothing is shed with the placed load or with none: system emissions as they clear
    assert moved.outcome["emissions_system_kg"] == pytest.approx(23 * 900.0)

    kept = shedding(tmp_path, frankfurt_mw=100.0, france_mw=0.0)
    assert kept.operators.x_mw.sum() == pytest.approx(23.0)  # in Frankfurt: the status quo
    fr, de = zones(kept)
    voll = kept.inst.policy.voll_usd_per_mwh
    assert (de.shed_mw, de.reference_shed_mw, de.shed_cost_usd) == pytest.approx(
        (18.0, 18.0, 18.0 * voll))
    assert de.price_usd_per_mwh == pytest.approx(voll)
    # with no data-centre load DE-LU serves 150 MW (gas 45, 18,000 kg); at the load both
    # serve (132 MW) gas 27, 10,800 kg: the 23 MW cost 23 x 400 kg of gas, not the 5 MW of
    # gas burnt beyond the shedding (2,000 kg)
    assert de.emissions_system_kg == pytest.approx(20_000.0 - 10_800.0)
    assert fr.emissions_system_kg == pytest.approx(0.0)
    assert kept.outcome["relocation_effect_kg"] == pytest.approx(0.0)
    table = tables(kept)["zones"].set_index("zone")
    assert table.loc["DE-LU", ["shed_mw", "shed_cost_usd", "reference_shed_mw"]].tolist() == \
        pytest.approx([18.0, 18.0 * voll, 18.0])
    assert table.loc["FR", "shed_mw"] == 0.0


@ATYPICAL  # zones of 90 MW, small enough to clear by hand
def test_calibrated_prices_reproduce_the_base_prices_at_the_status_quo(two_zones):
    """With calibrated prices the two zones clear at their base prices at the status quo (20
    MW in FR), the line at its limit towards the dearer one, each zone's offers moved by its
    mark-up; the placed load (20 MW in DE-LU) then meets DE-LU's own gas at its offer."""
    model = MarketModel(two_zones(calibrate=True))
    model.step()
    ids = [z.id for z in model.inst.scenario.zones]
    fr, de = (ids.index(z) for z in ("FR", "DE-LU"))
    base = model.base.price_usd_per_mwh[0]
    np.testing.assert_allclose(model.zones.dispatch_status_quo.price_usd_per_mwh, base, rtol=1e-9)
    np.testing.assert_allclose(zones(model)[0].reference_price_usd_per_mwh, base[fr], rtol=1e-9)
    assert base[[fr, de]] == pytest.approx([67.54375, 65.10816])
    # the line FR -> DE-LU is at its limit towards the dearer zone
    flow = model.zones.dispatch_status_quo.flow_mw[0]
    assert flow == pytest.approx(5.0 if base[fr] < base[de] else -5.0)
    # the hour's base prices: FR 67.54, DE-LU 65.11 $/MWh, so DE-LU exports the line's 5 MW
    # and produces 95 MW: its geothermal (0 $/MWh, 100 MW) is part-loaded and sets its price;
    # FR's coal (30 $/MWh) sets FR's. Each zone's offers move by base price minus that cost
    assert flow == pytest.approx(-5.0)
    markup = model.grid.market.offers.markup_usd_per_mwh
    assert markup[[fr, de]] == pytest.approx([base[fr] - 30.0, base[de] - 0.0])
    # the placed load, 20 MW in DE-LU (110 MW): geothermal 100, the line's 5 MW back from FR's
    # coal (cheaper than DE-LU's gas at 60 + mark-up), and 5 MW of gas, which sets the price
    d = model.zones.dispatch
    assert d.flow_mw == pytest.approx([5.0])
    assert d.price_usd_per_mwh[[fr, de]] == pytest.approx([base[fr], 60.0 + markup[de]])


@ATYPICAL  # zones of 90 MW, small enough to clear by hand
def test_interconnector_overrides_reach_the_clearing(two_zones):
    # 25 MW of line: the whole 20 MW (and the 5 MW DE-LU could not use) comes as coal
    model = MarketModel(two_zones("[grid.interconnectors]\ncapacity_scale = 5.0"))
    model.step()
    de = zones(model)[1]
    assert de.marginal_technology == "coal" and de.price_usd_per_mwh == pytest.approx(30.0)
    hour = model.outcome
    assert hour["emissions_system_kg"] == pytest.approx(hour["emissions_marginal_kg"]) == \
        pytest.approx(20 * 900.0)
    cut = MarketModel(two_zones("[grid.interconnectors.capacity_mw]\nFR-DE-LU = 0.5"))
    cut.step()
    assert lines_table(cut).flow_mw.tolist() == pytest.approx([0.5])


@ATYPICAL  # zones of 90 MW, small enough to clear by hand
def test_carbon_price_on_generators_flips_the_margin_at_the_switching_price(two_zones):
    """Coal (900 kg, 30 $) and gas (400 kg, 60 $) swap places at 60 $/t: 30 + 0.9 p = 60 +
    0.4 p. Above it, FR's added MW would come from DE-LU's gas if the line had room."""
    for price, fr_margin in ((59.0, "coal"), (61.0, "coal")):
        model = MarketModel(two_zones(f"[grid.carbon_price_usd_per_t]\neu_ets = {price}"))
        model.step()
        fr, de = zones(model)
        assert fr.marginal_technology == fr_margin
        assert fr.price_usd_per_mwh == pytest.approx(30 + 0.9 * price)
        assert de.price_usd_per_mwh == pytest.approx(60 + 0.4 * price)
        # the line direction follows the cheaper offer: at 61 $/t gas is cheaper than coal
        flow = lines_table(model).flow_mw.iloc[0]
        assert flow == pytest.approx(5.0 if price < 60 else -5.0)


@ATYPICAL  # zones of 90 MW, small enough to clear by hand
def test_unknown_scheme_or_line_is_an_input_error_when_the_scenario_loads(two_zones):
    """Names are checked against the scenario's own grid data folder (FR-GB is shipped, not
    in it)."""
    with pytest.raises(InputError, match=r"move\.toml: grid\.carbon_price_usd_per_t\.eu_etss"
                       r".*known: eu_ets"):
        two_zones("[grid.carbon_price_usd_per_t]\neu_etss = 1.0")
    with pytest.raises(InputError, match=r"move\.toml: grid\.interconnectors\.capacity_mw\."
                       r"FR-GB.*known: FR-DE-LU"):
        two_zones("[grid.interconnectors.capacity_mw]\nFR-GB = 1.0")


def test_carbon_price_on_generators_changes_dispatch_with_no_load_moved():
    """The shipped data, no data-centre load at all: a higher EU ETS price switches lignite
    and coal to gas in DE-LU, raises its price and lowers emissions; the operators' carbon
    price plays no part."""
    base = load_scenario()
    high = load_scenario(overrides={"grid.carbon_price_usd_per_t.eu_ets": 200.0})
    stamps = hour_stamps(base.start, 1)
    signals = profile_signals(base, base.start, 1)
    z = [zone.id for zone in base.zones].index("DE-LU")
    out = []
    for scn in (base, high):
        market = TechnologyMarket(scn, signals, stamps)
        market.set_hour(0, np.zeros(len(scn.zones)))
        out.append(market.clear(np.zeros(len(scn.zones))))
    techs = list(TechnologyMarket(base, signals, stamps).technologies)
    coal = [techs.index("coal"), techs.index("lignite")]
    gas = techs.index("gas_ccgt")
    assert out[1].generation_mw[z, coal].sum() < out[0].generation_mw[z, coal].sum()
    assert out[1].generation_mw[z, gas] > out[0].generation_mw[z, gas]
    assert out[1].price_usd_per_mwh[z] > out[0].price_usd_per_mwh[z]
    assert out[1].emissions_kg.sum() < out[0].emissions_kg.sum()
    # the weather (variable availability) is that of 2024 in both: only the offers changed
    wind = techs.index("wind")
    assert out[1].generation_mw[:, wind].sum() == pytest.approx(
        out[0].generation_mw[:, wind].sum(), rel=1e-9)


@pytest.mark.parametrize("name", GRID_RESPONSES.names())
def test_every_response_clears_through_the_one_interface(name):
    """Each registered response: technologies and lines named, zero data-centre load costs
    nothing extra, more load never lowers emissions, the dispatch's shapes agree."""
    scn = load_scenario()
    stamps = hour_stamps(scn.start, 2)
    response = GRID_RESPONSES[name](scn, profile_signals(scn, scn.start, 2), stamps)
    n_z, n_t, n_l = len(scn.zones), len(response.technologies), len(response.lines)
    base = profile_signals(scn, scn.start, 2)
    for t in range(2):
        fit = response.set_hour(t, np.full(n_z, 10.0))
        np.testing.assert_array_equal(fit.base_price_usd_per_mwh, base.price_usd_per_mwh[t])
        np.testing.assert_array_equal(fit.base_carbon_kg_per_mwh,
                                      base.avg_carbon_kg_per_mwh[t])
        # every response reproduces the base price at the reference (the status quo); the
        # calibrated stacks the carbon too, the technology market where its fleet can
        np.testing.assert_allclose(fit.reference_price_usd_per_mwh,
                                   fit.base_price_usd_per_mwh, rtol=1e-9, atol=1e-9)
        if name != "technology":
            np.testing.assert_allclose(fit.reference_carbon_kg_per_mwh,
                                       fit.base_carbon_kg_per_mwh, rtol=1e-9, atol=1e-9)
        assert np.isfinite(fit.reference_price_usd_per_mwh).all()
        none, more = response.clear(np.zeros(n_z)), response.clear(np.full(n_z, 50.0))
        for d in (none, more):
            assert d.generation_mw.shape == (n_z, n_t)
            assert d.flow_mw.shape == d.congested.shape == (n_l,)
            assert d.marginal_technology.shape == (n_z,)
            # balance: generation + net imports (+ shed load) = load
            np.testing.assert_allclose(d.generation_mw.sum(axis=1) + d.net_import_mw
                                       + d.unserved_mw, d.load_mw, rtol=1e-9, atol=1e-6)
        assert more.emissions_kg.sum() >= none.emissions_kg.sum() - 1e-6


@pytest.fixture(scope="module")
def default_week():
    """The shipped default scenario's week, hour by hour, with the clearings of every hour."""
    model = MarketModel(load_scenario())
    hours = []
    for _ in range(model.hours):
        model.step()
        hours.append((model.zones.dispatch, model.zones.dispatch_none,
                      model.outcome["emissions_system_kg"],
                      model.outcome["emissions_marginal_kg"]))
    return model, hours


def test_default_week_system_emissions_part_from_marginal_where_the_margin_moves(default_week):
    """System and marginal emissions agree in every hour where, in every zone, the same
    marginal unit (technology and factor) serves with and without the data-centre load and no
    line changes congestion; they differ in the other hours, and there are such hours."""
    hours = default_week[1]
    differ = same_margin_but_differ = 0
    for placed, none, system, marginal in hours:
        same = (np.array_equal(placed.marginal_technology, none.marginal_technology)
                and np.allclose(placed.marginal_carbon_kg_per_mwh,
                                none.marginal_carbon_kg_per_mwh)
                and np.array_equal(placed.congested, none.congested))
        parted = abs(system - marginal) > 1e-6 * max(abs(marginal), 1.0)
        differ += parted
        same_margin_but_differ += same and parted
    assert differ >= 3
    assert same_margin_but_differ == 0


def test_default_week_reports_relocation_and_market_outputs(default_week):
    model, _ = default_week
    s = summary(model, "complete")
    zones = model.datacollector.get_agenttype_vars_dataframe(GridZone)
    assert s["relocation_effect_kg"] != 0.0
    steps = model.datacollector.get_model_vars_dataframe()
    assert s["relocation_effect_kg"] == pytest.approx(steps.relocation_effect_kg.sum())
    for col in ("marginal_technology", "net_import_mw", "gen_coal_mw", "gen_wind_mw"):
        assert col in zones.columns
    # the hour's fit to its base signals (the status quo, all zones together): the
    # technology market reproduces every base price and three quarters of the base carbon
    carbon_gap = (zones.reference_carbon_kg_per_mwh - zones.base_carbon_kg_per_mwh).abs()
    assert (carbon_gap <= 1e-6 * np.maximum(zones.base_carbon_kg_per_mwh, 1.0)).mean() > 0.75
    np.testing.assert_allclose(zones.reference_price_usd_per_mwh,
                               zones.base_price_usd_per_mwh, rtol=1e-9)
    np.testing.assert_array_equal(zones.base_price_usd_per_mwh.to_numpy()[-len(model.zones):],
                                  model.base.price_usd_per_mwh[model.hours - 1])
    # what flows in over lines flows out somewhere: net imports sum to zero every hour
    np.testing.assert_allclose(zones.groupby(level=0).net_import_mw.sum(), 0.0, atol=1e-6)
    lines = lines_table(model)
    assert len(lines) == model.hours * len(model.grid.lines) > 0
    assert lines.congested.any()
    assert isinstance(lines, pd.DataFrame)
    assert dataclasses.is_dataclass(model.zones.dispatch)


@ATYPICAL  # zones of 90 MW, small enough to clear by hand
def test_check_summarises_the_grid_settings(two_zones):
    scn = two_zones("[grid.carbon_price_usd_per_t]\neu_ets = 61.0\n"
                    "[grid.interconnectors]\ncapacity_scale = 2.0")
    assert grid_summary(scn) == ("carbon price on generators ($/t): eu_ets 61, elsewhere 0; "
                                 "1 interconnectors (capacity x2)")


def test_an_added_zone_borrows_its_donors_whole_stack():
    """The scale scenario's synthetic zones take their `profile_from` zone's stack: the same
    units (fleet region, tranches, reservoir hydro) scaled by the ratio of mean demands, the
    same water values and fuel hubs; each clears at its base price at the status quo."""
    scn = load_scenario("abm/scenarios/scale.toml")
    stamps = hour_stamps(scn.start, 1)
    market = TechnologyMarket(scn, profile_signals(scn, scn.start, 1), stamps).market
    ids = [z.id for z in scn.zones]
    loads = {z.id: z.load_mw for z in scn.zones}
    f = market.fleet
    for zone, donor in (("SYN-ES", "FR"), ("SYN-PL", "DE-LU")):
        a, b = f.zone == ids.index(zone), f.zone == ids.index(donor)
        for column in (f.technology, f.tranche, f.efficiency, f.reservoir):
            np.testing.assert_array_equal(column[a], column[b])
        np.testing.assert_allclose(f.capacity_mw[a], f.capacity_mw[b] * loads[zone] / loads[donor])
        np.testing.assert_array_equal(f.fuel_month_factor[a], f.fuel_month_factor[b])
        np.testing.assert_array_equal(market.water_value_usd_per_mwh[ids.index(zone)],
                                      market.water_value_usd_per_mwh[ids.index(donor)])
    fit = TechnologyMarket(scn, profile_signals(scn, scn.start, 1), stamps).set_hour(
        0, np.zeros(len(ids)))
    np.testing.assert_allclose(fit.reference_price_usd_per_mwh, fit.base_price_usd_per_mwh,
                               rtol=1e-9)
