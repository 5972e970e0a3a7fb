"""A world of one's own (docs/scenarios.md, "A world of your own"): ``[regions] include = []``
keeps no shipped region, ``[[regions.add]]`` and ``[[zones.add]]`` with ``profile_from = "flat"``
make the world, and a ``[grid] data`` folder gives its zones their technology stacks, so the
technology market clears them. The scenario is the one the doc gives; its grid tables are
below, hand-solved: two zones, one coal and one gas unit, one line. On the same world, what the
perfect forecast quotes: last hour's placement cleared on this hour's grid (docs/market.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from abm.config.scenario import load_scenario
from abm.errors import InputError
from abm.market import MarketModel
from abm.market.run import simulate

SOURCE = "hand-made test system"
# NORTH: coal 400 MW, 10 $/MWh_th / 0.4 = 25 $/MWh, 0.34 / 0.4 = 850 kg/MWh; mean demand 200 MW
# SOUTH: gas CCGT 300 MW, 20 / 0.5 = 40 $/MWh, 0.2 / 0.5 = 400 kg/MWh; mean demand 100 MW
# line NORTH-SOUTH: 50 MW each way
GRID = {
    "technologies.csv": "technology,fuel,kind,vom_usd_per_mwh,source,assumed,note\n"
    f"coal,hard_coal,thermal,0,{SOURCE},true,\ngas_ccgt,natural_gas,thermal,0,{SOURCE},true,\n",
    "fuels.csv": "fuel,co2_t_per_mwh_th,source,assumed,note\n"
    f"hard_coal,0.34,{SOURCE},true,\nnatural_gas,0.2,{SOURCE},true,\n",
    "tranches.csv": "technology,tranche,capacity_share,efficiency,heat_rate_btu_per_kwh,"
    "availability,source,assumed,note\n"
    f"coal,1,1,0.4,8530.35,1,{SOURCE},true,\ngas_ccgt,1,1,0.5,6824.28,1,{SOURCE},true,\n",
    "capacity.csv": "zone_id,technology,capacity_mw,generation_gwh,availability,year,source,"
    f"assumed,note\nNORTH,coal,400,,,2024,{SOURCE},true,\n"
    f"SOUTH,gas_ccgt,300,,,2024,{SOURCE},true,\n",
    "fuel_prices.csv": "zone_id,fuel,price_usd_per_mwh_th,hub,source,assumed,note\n" + "".join(
        f"{z},{f},{p},test,{SOURCE},true,\n" for z in ("NORTH", "SOUTH")
        for f, p in (("hard_coal", 10), ("natural_gas", 20))),
    "carbon_schemes.csv": "scheme,jurisdiction,zones,price_native,unit_native,price_usd_per_t,"
    f"year,source,assumed,note\nnone,XX,,0,USD/t,0,2024,{SOURCE},true,\n",
    "interconnectors.csv": "line_id,zone_from,zone_to,capacity_forward_mw,"
    f"capacity_backward_mw,type,year,source,assumed,note\n"
    f"NORTH-SOUTH,NORTH,SOUTH,50,50,AC,2024,{SOURCE},true,\n",
    "demand_shape.csv": "zone_id,month,hour_utc,factor\n" + "".join(
        f"{z},{m},{h},1\n" for z in ("NORTH", "SOUTH") for m in range(1, 13) for h in range(24)),
}

FIRST_LINE = "# A world of your own: two flat zones (tests/test_own_world.py runs it)"


def documented_world() -> str:
    """The scenario docs/scenarios.md gives ("A world of your own")."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text()
    return next(text for text in re.findall(r"^```toml\n(.*?)^```", doc, re.S | re.M)
                if text.startswith(FIRST_LINE))


@pytest.fixture
def world(tmp_path):
    """Write the grid tables and return a loader of the world with a grid response."""
    (tmp_path / "grid").mkdir()
    for name, text in GRID.items():
        (tmp_path / "grid" / name).write_text(text)

    def load(response: str = "technology", data: bool = True, **tables: str):
        for name, text in tables.items():
            (tmp_path / "grid" / name).write_text(text)
        text = documented_world()
        if not data:
            text = re.sub(r"^data = .*\n", "", text, flags=re.M)
        path = tmp_path / "world.toml"
        path.write_text(text)
        return load_scenario(path, overrides={"market.grid_response": response})
    return load


def test_include_nothing_keeps_only_the_added_regions_and_their_zones(world):
    scn = world()
    assert [r.id for r in scn.regions] == ["north-1", "south-1"]
    assert [z.id for z in scn.zones] == ["NORTH", "SOUTH"]
    assert scn.latency.rtt_ms[0, 1] > 0 and not scn.latency.measured[0, 1]


def test_flat_zones_clear_on_their_own_stacks_by_hand(world):
    """Offers at cost: NORTH's coal (25 $/MWh) serves both zones up to the line's 50 MW;
    SOUTH's 100 MW of background plus 20 MW of data-centre load takes 50 MW of imported coal
    and 70 MW of its own gas, which sets its price (40 $/MWh). The operator's batch moves to
    North (cheaper) only if the 50 MW line leaves coal at the margin in SOUTH: it does not, so
    by cost North's price 25 < 40 draws the load there."""
    model = MarketModel(world())
    model.step()
    by_id = {z.zone_id: z for z in model.zones}
    north, south = by_id["NORTH"], by_id["SOUTH"]
    assert north.price_usd_per_mwh == pytest.approx(25.0)
    assert south.price_usd_per_mwh == pytest.approx(40.0)
    assert (north.marginal_technology, south.marginal_technology) == ("coal", "gas_ccgt")
    # the 20 MW run in North (25 < 40 $/MWh): NORTH 200 + 20 + 50 exported = 270 MW of coal
    assert north.dc_load_mw == pytest.approx(20.0)
    assert north.emissions_kg == pytest.approx(270.0 * 850.0)
    assert south.emissions_kg == pytest.approx(50.0 * 400.0)


def test_flat_zones_without_a_stack_need_a_grid_data_folder_or_the_calibrated_response(world):
    """Without its [grid] data folder a flat zone has no stack in the shipped tables: the
    technology market says so, naming the way out; the calibrated response clears it."""
    with pytest.raises(InputError, match="NORTH, SOUTH has none in .*add its rows to a "
                                         r"\[grid\] data folder, or choose 'calibrated'"):
        MarketModel(world(data=False))
    summary = simulate(world("calibrated", data=False))
    assert summary["served_mwh"] == pytest.approx(40.0)
    assert summary["unserved_mwh"] == pytest.approx(0.0)


def test_the_perfect_forecast_quotes_last_hours_placement_by_hand(world):
    """NORTH's coal cut to 260 MW. Hour 0 quotes the status quo (20 MW in SOUTH): NORTH runs
    200 + 50 exported = 250 MW of coal, room left, so 25 $/MWh; the operator moves its 20 MW
    North, which fills the coal (220 + 40 exported) and sets NORTH's price at SOUTH's gas, 40.
    Hour 1 quotes last hour's placement (20 MW in NORTH): 40, not the status quo's 25."""
    capacity = GRID["capacity.csv"].replace("NORTH,coal,400,", "NORTH,coal,260,")
    scn = world(**{"capacity.csv": capacity})
    north = [z.id for z in scn.zones].index("NORTH")
    model = MarketModel(scn)
    model.step()
    assert model.zones.quotes.price_usd_per_mwh[north] == pytest.approx(25.0)
    assert model.zones.dc_load_mw[north] == pytest.approx(20.0)
    assert model.zones.dispatch.price_usd_per_mwh[north] == pytest.approx(40.0)
    model.step()
    assert model.zones.quotes.price_usd_per_mwh[north] == pytest.approx(40.0)
    assert model.zones.quotes.load_mw[north] == pytest.approx(220.0)
