"""``[grid.scale]``: a factor on a figure of the grid tables is the same as the file saying so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from abm.config.scenario import load_scenario
from abm.data.grid_scale import Scale
from abm.errors import InputError
from abm.grid import load_grid_data
from abm.market.loop import run
from abm.market.model import MarketModel
from abm.market.run import summary
from tests.conftest import ATYPICAL
from tests.test_grid_loader import OPTIONAL, TABLES, WITH_HYDRO, write
from tests.test_grid_market import MOVE, TWO_ZONES

pytestmark = ATYPICAL  # the two-zone system: zones of 90 MW, small enough to clear by hand


def edited(tmp_path: Path, name: str, **tables: str) -> Path:
    """The small tables of test_grid_loader in ``tmp_path/name``, some replaced."""
    folder = tmp_path / name
    folder.mkdir()
    return write(folder, **tables)


def test_scaled_tables_equal_tables_that_say_so(tmp_path):
    scales = (Scale("interconnectors", "capacity_forward_mw", "line_id=A-B", 0.0),
              Scale("fuel_prices", "price_usd_per_mwh_th", "zone_id=B,fuel=natural_gas", 1.2),
              Scale("tranches", "efficiency", "technology=coal", 1.1),
              Scale("capacity", "capacity_mw", "*", 0.5),
              Scale("capacity", "capacity_mw", "zone_id=A,technology=coal", 3.0),
              Scale("carbon_schemes", "price_usd_per_t", "scheme=uk_cps", 2.0))
    scaled = load_grid_data(edited(tmp_path, "base"), scales)
    said = load_grid_data(edited(
        tmp_path, "said",
        interconnectors=TABLES["interconnectors.csv"].replace("A-B,A,B,100,80", "A-B,A,B,0,80"),
        fuel_prices=TABLES["fuel_prices.csv"].replace("B,natural_gas,25", "B,natural_gas,30"),
        tranches=TABLES["tranches.csv"].replace("coal,1,0.5,0.4,", f"coal,1,0.5,{0.4 * 1.1!r},")
        .replace("coal,2,0.5,0.34,", f"coal,2,0.5,{0.34 * 1.1!r},"),
        capacity=TABLES["capacity.csv"].replace("A,nuclear,100", "A,nuclear,50")
        .replace("A,wind,200", "A,wind,100").replace("A,coal,400", "A,coal,600")
        .replace("B,gas_ccgt,500", "B,gas_ccgt,250"),
        carbon_schemes=TABLES["carbon_schemes.csv"].replace("UK,B,18,GBP/t,23",
                                                            "UK,B,18,GBP/t,46")))
    for name in ("lines", "fuel_price_usd_per_mwh_th", "tranches", "capacity_mw",
                 "generation_gwh", "schemes", "technologies", "fuel_co2_t_per_mwh_th"):
        assert getattr(scaled, name) == getattr(said, name), name


def test_selectors_pick_rows_by_any_column_and_factors_multiply(tmp_path):
    folder = edited(tmp_path, "base")
    data = load_grid_data(folder, (
        Scale("fuel_prices", "price_usd_per_mwh_th", "fuel=hard_coal", 2.0),
        Scale("fuel_prices", "price_usd_per_mwh_th", "zone_id=A,fuel=hard_coal", 1.5),
        Scale("capacity", "capacity_mw", "assumed=TRUE", 0.1)))
    assert data.fuel_price_usd_per_mwh_th[("A", "hard_coal")] == 30.0
    assert data.fuel_price_usd_per_mwh_th[("B", "hard_coal")] == 20.0
    assert data.fuel_price_usd_per_mwh_th[("A", "natural_gas")] == 20.0
    assert data.capacity_mw[("B", "gas_ccgt")] == pytest.approx(50.0)
    assert data.capacity_mw[("A", "coal")] == 400.0
    # an empty cell stays empty: wind's availability is calibrated, not scaled into being
    wind = load_grid_data(folder, (Scale("capacity", "availability", "*", 0.5),))
    assert ("A", "wind") not in wind.availability
    assert wind.availability[("A", "nuclear")] == 0.35


def test_the_optional_tables_scale_too(tmp_path):
    """Water values, reservoir shares and monthly fuel factors: their figures times the factor
    (OPTIONAL: water value 40, 20 in July; reservoir share 0.5; hub x 1.2 in winter)."""
    parts = {k.removesuffix(".csv"): v for k, v in OPTIONAL.items()}
    data = load_grid_data(edited(tmp_path, "base", **parts, **WITH_HYDRO), (
        Scale("water_values", "value_usd_per_mwh", "zone_id=A", 1.5),
        Scale("reservoirs", "reservoir_share", "*", 0.4),
        Scale("fuel_price_months", "factor", "hub=x,month=1", 0.5)))
    assert data.water_value_usd_per_mwh["A"][[0, 6]].tolist() == [60.0, 30.0]
    assert data.reservoir_share == {"A": pytest.approx(0.2)}
    assert data.hub_month_factor["x"][[0, 1, 6]].tolist() == [0.6, 1.2, 0.9]


GRID = """
[grid.scale.interconnectors.capacity_forward_mw]
"line_id=FR-DE-LU" = {line}
[grid.scale.fuel_prices.price_usd_per_mwh_th]
"fuel=natural_gas" = 1.5
"""


@pytest.fixture
def two_zones(tmp_path):
    (tmp_path / "grid").mkdir()
    for name, text in TWO_ZONES.items():
        (tmp_path / "grid" / name).write_text(text)

    def load(grid: str, folder: str = "grid"):
        path = tmp_path / f"{folder}.toml"
        text = MOVE.format(grid=grid, calibrate="false")
        path.write_text(text.replace('data = "grid"', f'data = "{folder}"'))
        return load_scenario(path)
    return load, tmp_path


def test_a_scaled_run_is_the_run_of_the_edited_tables(two_zones):
    load, tmp_path = two_zones
    shutil.copytree(tmp_path / "grid", tmp_path / "edited")
    for name, old, new in (("interconnectors.csv", "FR-DE-LU,FR,DE-LU,5,5",
                            "FR-DE-LU,FR,DE-LU,2.5,5"),
                           ("fuel_prices.csv", "natural_gas,30,", "natural_gas,45.0,")):
        path = tmp_path / "edited" / name
        path.write_text(path.read_text().replace(old, new))

    def result(scn):
        model = MarketModel(scn, hours=1)
        run(model)
        return summary(model, "complete")

    scaled = result(load(GRID.format(line=0.5)))
    said = result(load("", folder="edited"))
    assert scaled == said
    # and the figures moved the run: the line and gas price are on the margin of this case
    assert result(load("")) != said


@pytest.mark.parametrize(("grid", "field", "problem"), [
    ('[grid.scale.interconnectors.capacity_forward_mw]\n"line_id=XX" = 0.5\n',
     "grid.scale.interconnectors.capacity_forward_mw.line_id=XX",
     "no row of interconnectors.csv has line_id = 'XX'; its line_id values: FR-DE-LU"),
    ('[grid.scale.lines.capacity_mw]\n"*" = 0.5\n', "grid.scale.lines",
     "not a grid table whose figures scale; allowed: technologies, fuels, tranches, capacity, "
     "fuel_prices, carbon_schemes, interconnectors, fuel_price_months, reservoirs, water_values"),
    ('[grid.scale.interconnectors.year]\n"*" = 0.5\n', "grid.scale.interconnectors.year",
     "not a figure of interconnectors.csv that scales; allowed: capacity_forward_mw, "
     "capacity_backward_mw"),
    ('[grid.scale.capacity.capacity_mw]\n"zone=FR" = 2\n',
     "grid.scale.capacity.capacity_mw.zone=FR", "capacity.csv has no column 'zone'"),
    ('[grid.scale.capacity.capacity_mw]\n"FR" = 2\n', "grid.scale.capacity.capacity_mw.FR",
     "expected '*' or column=value conditions joined by ',', got 'FR'"),
    ('[grid.scale.capacity.capacity_mw]\n"*" = -1\n', "grid.scale.capacity.capacity_mw.*",
     "expected a number >= 0.0, got -1"),
    ('[grid.scale.tranches.efficiency]\n"technology=coal" = 3\n', "grid.scale",
     "the scaled grid tables are not valid: "),
])
def test_bad_scales_name_file_field_and_what_is_allowed(two_zones, grid, field, problem):
    load, tmp_path = two_zones
    with pytest.raises(InputError) as err:
        load(grid)
    assert err.value.source == str(tmp_path / "grid.toml")
    assert err.value.field == field
    assert err.value.problem.startswith(problem)
