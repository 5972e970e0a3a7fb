"""Reading grid data tables: a small complete set, and bad input named by file and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from abm.errors import InputError
from abm.grid import TECHNOLOGIES, GridMarket, load_grid_data

TABLES = {
    "technologies.csv": """technology,fuel,kind,vom_usd_per_mwh,source,assumed,note
nuclear,uranium,must_run,5,src,false,
wind,wind,variable,2,src,false,
coal,hard_coal,thermal,4,src,false,
gas_ccgt,natural_gas,thermal,6,src,false,
""",
    "fuels.csv": """fuel,co2_t_per_mwh_th,source,assumed,note
uranium,0,src,false,
wind,0,src,false,
hard_coal,0.34,src,false,
natural_gas,0.2,src,false,
""",
    "tranches.csv": "technology,tranche,capacity_share,efficiency,heat_rate_btu_per_kwh,"
    """availability,source,assumed,note
nuclear,1,1,0.33,10340,0.9,src,false,
wind,1,1,1,3412,0.3,src,false,
coal,1,0.5,0.4,8530,0.9,src,false,
coal,2,0.5,0.34,10036,0.9,src,false,
gas_ccgt,1,1,0.5,6824,0.9,src,false,
""",
    "capacity.csv": "zone_id,technology,capacity_mw,generation_gwh,availability,"
    """year,source,assumed,note
A,nuclear,100,,0.7,2024,src,false,
A,wind,200,350.0,,2024,src,False,
A,coal,400,,,2024,src,false,
B,gas_ccgt,500,,,2024,src,TRUE,
""",
    "fuel_prices.csv": """zone_id,fuel,price_usd_per_mwh_th,hub,source,assumed,note
A,uranium,2,x,src,false,
A,hard_coal,10,x,src,false,
A,natural_gas,20,x,src,false,
B,uranium,2,x,src,false,
B,hard_coal,10,x,src,false,
B,natural_gas,25,x,src,false,
""",
    "carbon_schemes.csv": "scheme,jurisdiction,zones,price_native,unit_native,price_usd_per_t,"
    """year,source,assumed,note
eu_ets,EU,A;B,60,EUR/t,65,2024,src,false,
uk_cps,UK,B,18,GBP/t,23,2024,src,false,
""",
    "interconnectors.csv": "line_id,zone_from,zone_to,capacity_forward_mw,capacity_backward_mw,"
    """type,year,source,assumed,note
A-B,A,B,100,80,HVDC,2024,src,false,
""",
    "demand_shape.csv": "zone_id,month,hour_utc,factor\n" + "".join(
        f"{z},{m},{h},{1 + 0.1 * (h >= 12)}\n" for z in "AB" for m in range(1, 13)
        for h in range(24)),
}


# the optional tables: zone A's hydro half reservoir (water value 40 in every month but July,
# 20), fuel hub x dearer in winter, zone A's coal from a region 'eu' of its own
OPTIONAL = {
    "reservoirs.csv": "zone_id,reservoir_share,source,assumed,note\nA,0.5,src,false,\n",
    "water_values.csv": "zone_id,month,value_usd_per_mwh,source,assumed,note\n" + "".join(
        f"A,{m},{20 if m == 7 else 40},src,false,\n" for m in range(1, 13)),
    "fuel_price_months.csv": "hub,month,factor,source,assumed,note\n" + "".join(
        f"x,{m},{1.2 if m in (1, 2, 12) else 0.9},src,false,\n" for m in range(1, 13)),
    "fleet_regions.csv": "zone_id,region,source,assumed,note\nA,eu,src,false,\n"
                         "B,all,src,false,\n",
}
WITH_HYDRO = {
    "technologies": TABLES["technologies.csv"] + "hydro,water,hydro,0,src,false,\n",
    "fuels": TABLES["fuels.csv"] + "water,0,src,false,\n",
    "tranches": TABLES["tranches.csv"].replace(
        "technology,tranche,", "technology,region,tranche,").replace("\nnuclear,", "\nnuclear,all,")
    .replace("\nwind,", "\nwind,all,").replace("\ncoal,", "\ncoal,all,")
    .replace("\ngas_ccgt,", "\ngas_ccgt,all,")
    + "hydro,all,1,1,1,3412,0.4,src,false,\ncoal,eu,1,1,0.45,7583,0.9,src,false,\n",
    "capacity": TABLES["capacity.csv"] + "A,hydro,100,,,2024,src,false,\n",
}


def write(tmp_path: Path, **changes: str) -> Path:
    for name, text in (TABLES | OPTIONAL).items():
        key = name.removesuffix(".csv")
        if name in TABLES or key in changes:
            (tmp_path / name).write_text(changes.get(key, text))
    return tmp_path


def test_optional_tables_reservoirs_months_and_regions(tmp_path):
    """With the optional tables: zone A's hydro is two units, run-of-river and reservoir (50 MW
    each); the reservoir's water value is the month's; a fuel of hub x costs 1.2 times its
    annual price in January and 0.9 in July; zone A's coal takes region eu's one tranche (0.45)
    and zone B (region all) none of it."""
    parts = {k.removesuffix(".csv"): v for k, v in OPTIONAL.items()}
    data = load_grid_data(write(tmp_path, **parts, **WITH_HYDRO))
    assert data.reservoir_share == {"A": 0.5}
    assert data.water_value_usd_per_mwh["A"][[0, 6]].tolist() == [40.0, 20.0]
    assert [t.efficiency for t in data.tranches_of("A", "coal")] == [0.45]
    assert [t.efficiency for t in data.tranches_of("B", "coal")] == [0.4, 0.34]
    m = GridMarket.from_data(data, ["A", "B"], np.array([300.0, 200.0]), 3000.0,
                             zone_lat_lon=np.array([[50.0, 0.0], [50.0, 10.0]]))
    hydro = m.fleet.technology == TECHNOLOGIES.index("hydro")
    assert m.fleet.capacity_mw[hydro].tolist() == [50.0, 50.0]
    assert m.fleet.reservoir[hydro].tolist() == [False, True]
    gas = m.fleet.technology == TECHNOLOGIES.index("gas_ccgt")
    offers = {month: m.fleet.offers(np.zeros(2), month)[gas][0] for month in (1, 7)}
    assert offers[1] - 6 == pytest.approx(1.2 * 25 / 0.5)
    assert offers[7] - 6 == pytest.approx(0.9 * 25 / 0.5)
    assert m.water_value_usd_per_mwh[0, [0, 6]].tolist() == [40.0, 20.0]


def test_small_tables_load_and_clear(tmp_path):
    data = load_grid_data(write(tmp_path))
    assert data.carbon_prices(["A", "B"]).tolist() == [65.0, 88.0]
    assert data.carbon_prices(["B"], {"uk_cps": 0.0}).tolist() == [65.0]
    m = GridMarket.from_data(data, ["A", "B"], np.array([300.0, 200.0]), 3000.0,
                             zone_lat_lon=np.array([[50.0, 0.0], [50.0, 10.0]]))
    # coal tranches: 10 / 0.4 + 4 + 65 x 0.85 = 84.25 and 10 / 0.34 + 4 + 65 x 1.0 = 98.41;
    # gas in B: 25 / 0.5 + 6 + 88 x 0.4 = 91.2
    coal = m.fleet.technology == TECHNOLOGIES.index("coal")
    assert np.sort(m.offer_usd_per_mwh[coal]) == pytest.approx(
        [10 / 0.4 + 4 + 65 * 0.85, 10 / 0.34 + 4 + 65 * 0.34 / 0.34])
    assert m.line_capacity_mw.tolist() == [[100.0, 80.0]]
    m.set_hour(1, 13, np.zeros(2), np.array([300.0, 400.0]), np.zeros(2))
    assert m.background_mw == pytest.approx([330.0, 220.0])
    # wind's annual capacity factor is the zone's: 350 GWh / (200 MW x 8,784 h)
    wind = m.fleet.technology == TECHNOLOGIES.index("wind")
    assert m.fleet.availability[wind] == pytest.approx([350e3 / 200 / 8784])
    # the zone's own availability of nuclear (0.7) replaces the fleet-wide one (0.9)
    assert m.fleet.availability[m.fleet.technology == 0] == pytest.approx([0.7])


@pytest.mark.parametrize(("table", "text", "field"), [
    ("technologies", TABLES["technologies.csv"].replace("must_run", "baseload"), "row 2.kind"),
    ("tranches", TABLES["tranches.csv"].replace("coal,2,0.5", "coal,2,0.6"),
     "coal.capacity_share"),
    ("capacity", TABLES["capacity.csv"].replace("A,coal,400", "A,coal,-4"), "row 4.capacity_mw"),
    ("capacity", TABLES["capacity.csv"].replace("350.0,,", "350.0,0.5,"), "row 3.availability"),
    ("fuel_prices", TABLES["fuel_prices.csv"].replace("A,uranium", "A,plutonium"), "row 2.fuel"),
    ("interconnectors", TABLES["interconnectors.csv"].replace(",100,", ",-1,"),
     "row 2.capacity_forward_mw"),
    ("demand_shape", TABLES["demand_shape.csv"].replace("A,1,0,1.0\n", ""), "A.factor"),
    ("technologies", TABLES["technologies.csv"].replace(",src,", ",,", 1), "row 2.source"),
    ("water_values", OPTIONAL["water_values.csv"].replace("A,7,20", "A,13,20"), "row 8.month"),
    ("water_values", OPTIONAL["water_values.csv"].replace("A,7,20,src,false,\n", ""),
     "zone_id"),
    ("reservoirs", OPTIONAL["reservoirs.csv"].replace("0.5", "1.5"), "row 2.reservoir_share"),
    ("fuel_price_months", OPTIONAL["fuel_price_months.csv"].replace("x,", "y,"), "hub"),
    ("fleet_regions", OPTIONAL["fleet_regions.csv"].replace("A,eu", "A,asia"), "row 2.region"),
])
def test_bad_tables_name_file_and_field(tmp_path, table, text, field):
    optional = {k.removesuffix(".csv"): v for k, v in OPTIONAL.items()}
    with pytest.raises(InputError) as err:
        load_grid_data(write(tmp_path, **(optional | WITH_HYDRO | {table: text})))
    assert err.value.source.endswith(f"{table}.csv")
    assert err.value.field == field


def test_unknown_scheme_override_is_named(tmp_path):
    data = load_grid_data(write(tmp_path))
    with pytest.raises(InputError, match="unknown scheme"):
        data.carbon_prices(["A"], {"eu_etz": 1.0})


def test_a_missing_table_is_named_before_anything_is_read(tmp_path, capsys):
    """A ``[grid] data`` folder without ``technologies.csv`` gave ``abm check`` exit 1 and an
    OSError line naming neither the scenario nor the field (benchmarks/fuzz.py); now it is bad
    input naming the field and every required table that is missing."""
    from abm.cli import main

    folder = tmp_path / "grid"
    folder.mkdir()
    write(folder)
    for name in ("technologies.csv", "demand_shape.csv"):
        (folder / name).unlink()
    with pytest.raises(InputError) as err:
        load_grid_data(folder)
    assert err.value.field == "technologies.csv, demand_shape.csv"
    assert "missing: technologies.csv, demand_shape.csv" in str(err.value)
    scenario = tmp_path / "scenario.toml"
    scenario.write_text('extends = "default"\n\n[grid]\ndata = "grid"\n')
    assert main(["check", str(scenario)]) == 2
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert len(err_lines) == 1
    assert str(scenario) in err_lines[0] and "grid.data" in err_lines[0]
    assert "missing: technologies.csv, demand_shape.csv" in err_lines[0]
