"""EPA AVERT 2023 by month x UTC hour (docs/data.md, "Published marginal rates of US regions")
and the timing of the model's marginal factor against it (docs/grid.md, "When the margin is
dirty"): the derivation from REopt.jl's hourly file, the shipped table's loader and the
statistics, on hand-made cases and on values quoted from the source."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
KG = 453.59237  # kg/MWh per lb/kWh
#: the source file (REopt.jl data/emissions/AVERT_Data/AVERT_2023_CO2_lb_per_kwh.csv at the
#: commit docs/data.md names), where a developer has it; the shipped table is compared with it
SOURCE = os.environ.get("AVERT_2023_CO2_CSV")


@pytest.fixture(scope="module")
def v():
    return load_script(ROOT / "experiments" / "validate_grid.py")


@pytest.fixture(scope="module")
def derive():
    return load_script(ROOT / "experiments" / "derive_avert_hours.py")


def _source(path: Path) -> Path:
    """A made-up source in the file's layout: every region's rate (lb/kWh) is 100 x the local
    month + the local hour of the day."""
    local = pd.date_range("2023-01-01", periods=8760, freq="h")
    rate = 100 * local.month + local.hour
    df = pd.DataFrame({"Month": local.month, "Timestamp": np.arange(8760)})
    for column in ("CA", "TE", "MIDW", "NW", "MIDA", "NE"):
        df[column] = rate
    df.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_derivation_moves_local_standard_hours_to_utc_and_wraps_the_year(derive, tmp_path):
    """A cell's mean on the made-up source, by hand: UTC hour h of month m is the local hour
    (h - offset) mod 24, of month m, except that UTC hours before the offset in January are
    the previous local day's, so one of January's days is 31 December's (month 12):
    (30 x 100 + 1200) / 31 + the local hour, deviation (ddof 1) 1100 / sqrt 31 (30 hours
    1100 / 31 below the mean, one 33000 / 31 above); hours = days of the month (2023),
    deviation 0 within a month elsewhere."""
    t = derive.month_utc_hour_means(_source(tmp_path / "source.csv"))
    assert len(t) == 5 * 288 and set(t.zone) == set(derive.REGIONS)
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    for zone, (column, offset) in derive.REGIONS.items():
        g = t[t.zone == zone].set_index(["month", "utc_hour"])
        assert (g.avert_region == column).all() and (g.utc_offset_h == offset).all()
        assert (g.hours.to_numpy() == np.repeat(days, 24)).all()
        for month, hour in ((1, 0), (1, offset - 1), (1, offset), (7, 12), (12, 23)):
            local = (hour - offset) % 24
            if month == 1 and hour < offset:
                expect, std = (30 * 100 + 1200) / 31 + local, 1100 / np.sqrt(31)
            else:
                expect, std = 100 * month + local, 0.0
            assert g.mean_kg_per_mwh[month, hour] == pytest.approx(expect * KG)
            assert g.std_kg_per_mwh[month, hour] == pytest.approx(std * KG, abs=1e-9)
    # December's UTC cells hold only local December hours (the wrapped ones went to January)
    dec = t[(t.month == 12)]
    assert ((dec.mean_kg_per_mwh / KG - 1200).between(0, 23)).all()


def test_derivation_rejects_a_source_that_is_not_the_years_hours(derive, tmp_path):
    path = _source(tmp_path / "source.csv")
    df = pd.read_csv(path, encoding="utf-8-sig")
    df.drop(index=100).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ValueError, match="8760 hours of 2023 in order"):
        derive.month_utc_hour_means(tmp_path / "short.csv")
    df.loc[744, "Month"] = 1  # the first hour of February marked January
    df.to_csv(tmp_path / "months.csv", index=False)
    with pytest.raises(ValueError, match="8760 hours of 2023 in order"):
        derive.month_utc_hour_means(tmp_path / "months.csv")


#: the source's rates (lb/kWh) of two cells, quoted from REopt.jl's file at the commit of
#: docs/data.md: CA (Pacific, UTC-8) at local hour 16 on 1-30 January and 31 December (UTC
#: hour 0 of January, the year wrapped); MIDA (Eastern, UTC-5) at local hour 0 on 1-31 January
#: (UTC hour 5 of January)
CA_JAN_UTC0 = [0.94, 1.23, 0.95, 1.01, 1.19, 0.67, 1.07, 0.62, 1.19, 0.95, 0.96, 1.29, 1.4,
               1.29, 1.02, 1.02, 1.29, 1.4, 0.95, 0.95, 1.4, 0.69, 0.79, 1.4, 1.29, 0.78, 0.69,
               1.01, 0.79, 1.02, 0.67]
MIDA_JAN_UTC5 = [1.32, 1.59, 0.9, 1.59, 1.59, 0.98, 1.53, 0.81, 0.81, 1.81, 1.42, 1.5, 1.84,
                 1.44, 1.42, 0.78, 0.93, 0.93, 1.84, 1.52, 0.78, 0.76, 1.53, 0.63, 1.42, 1.76,
                 0.76, 0.78, 0.49, 0.81, 1.08]


def test_shipped_table_holds_the_sources_cells(v):
    """Two cells of the shipped table against the source's values quoted above (mean and
    deviation to the table's 0.01 kg/MWh), and every zone's mean over its hours against the
    annual AVERT rate of experiments/published_us_marginal.csv (to its 0.1 kg/MWh)."""
    avert = v.avert_month_hours()
    for zone, hour, quoted in (("US-CAISO", 0, CA_JAN_UTC0), ("US-PJM-DOM", 5, MIDA_JAN_UTC5)):
        kg = np.array(quoted) * KG
        assert avert[zone]["mean"][0, hour] == pytest.approx(kg.mean(), abs=0.006)
        assert avert[zone]["std"][0, hour] == pytest.approx(kg.std(ddof=1), abs=0.006)
        assert avert[zone]["hours"][0, hour] == len(quoted)
    annual = v.regional_us_factors()
    annual = annual[annual.source.str.startswith("EPA AVERT 2023")].set_index("zone").published
    assert set(avert) == set(annual.index)
    for zone, cell in avert.items():
        assert (cell["hours"].sum()) == 8760
        mean = (cell["mean"] * cell["hours"]).sum() / 8760
        assert mean == pytest.approx(annual[zone], abs=0.06)


@pytest.mark.skipif(SOURCE is None, reason="AVERT_2023_CO2_CSV (REopt.jl's hourly file) not set")
def test_shipped_table_is_the_sources_derivation(v, derive):
    """Where the source file is at hand, the shipped table is its derivation (to rounding)."""
    fresh = derive.month_utc_hour_means(Path(SOURCE))
    shipped = pd.read_csv(v.AVERT_HOURS)
    assert list(fresh.columns) == list(shipped.columns)
    pd.testing.assert_frame_equal(fresh, shipped, check_exact=False, atol=0.006, rtol=0,
                                  check_dtype=False)


@pytest.mark.parametrize(("line", "field", "value", "message"), [
    (5, "zone", "US-TEXAS", "not a shipped zone"),
    (5, "month", "13", "not a month 1-12"),
    (5, "utc_hour", "24", "an hour 0-23"),
    (5, "utc_hour", "2.5", "an hour 0-23"),
    (5, "hours", "0", "not a count of days"),
    (5, "hours", "x", "not a count of days"),
    (5, "mean_kg_per_mwh", "n/a", "not a rate"),
    (5, "std_kg_per_mwh", "-1", "deviation >= 0"),
    (5, "std_kg_per_mwh", "", "deviation >= 0"),
])
def test_avert_table_rejects_a_bad_row(v, tmp_path, line, field, value, message):
    """A bad zone, cell, count or rate is an error naming the file and the line."""
    raw = pd.read_csv(v.AVERT_HOURS, dtype=str)
    raw.loc[line - 2, field] = value
    path = tmp_path / "avert.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"avert\.csv line {line}: .*{message}"):
        v.avert_month_hours(path)


def test_avert_table_rejects_a_cell_twice_and_a_zone_lacking_one(v, tmp_path):
    raw = pd.read_csv(v.AVERT_HOURS, dtype=str)
    twice = raw.copy()
    twice.loc[3, "utc_hour"] = twice.loc[2, "utc_hour"]
    twice.to_csv(tmp_path / "twice.csv", index=False)
    with pytest.raises(ValueError, match=r"twice\.csv line 5: US-ERCOT month 1 hour 2 twice"):
        v.avert_month_hours(tmp_path / "twice.csv")
    raw.drop(index=700).to_csv(tmp_path / "short.csv", index=False)
    zone = raw.zone[700]
    with pytest.raises(ValueError, match=rf"short\.csv: {zone} lacks 1 of its 288"):
        v.avert_month_hours(tmp_path / "short.csv")


def _hand_case() -> tuple[list[str], dict, dict]:
    """Three zones, solved by hand in the test below. A: the model rises with the UTC hour,
    AVERT falls (500 - h), deviation 2 over 4 hours a cell; B: both vary by month only; C: both
    fall with the hour, deviation 20 over 4 hours."""
    h = np.arange(24, dtype=float)
    m = np.arange(12, dtype=float)[:, None] * np.ones(24)
    falling = np.tile(500 - h, (12, 1))
    model = np.stack([np.tile(h, (12, 1)), 10 * m, np.tile(23 - h, (12, 1))], axis=-1)
    four = np.full((12, 24), 4.0)
    avert = {"A": {"mean": falling, "std": np.full((12, 24), 2.0), "hours": four},
             "B": {"mean": 300 + 5 * m, "std": np.full((12, 24), 2.0), "hours": four},
             "C": {"mean": falling, "std": np.full((12, 24), 20.0), "hours": four}}
    return ["A", "B", "C"], {"marginal_carbon": model}, avert


def test_timing_statistics_of_a_hand_made_case(v):
    """By hand: A's model (h) and AVERT (500 - h) correlate -1 over the cells and the day; the
    variance of 500 - h over the hours is (24^2 - 1) / 12 and its sampling noise 2^2 / 4 = 1,
    so the ceiling is sqrt(1 - 12 / 575); each hour of AVERT's profile has the standard error
    sqrt(12 x 4 x 2^2) / 48 = 0.2887, so only the extreme hours are within two standard errors
    (2 x 0.2887 x sqrt 2 = 0.82 < 1) of themselves; the model's cleanest hour 0 is AVERT's
    dirtiest, and moving a MWh from the model's dirtiest (23) to its cleanest (0) adds 23
    kg/MWh by AVERT's rates. B: month-only model and AVERT correlate +1 over the cells, the
    model has no hours of its own (NaN) and both profiles are flat (no daily correlation,
    spread 0, all 24 hours tie). C: in phase, the noise (20^2 / 4 = 100) exceeds the spread
    of the means (575 / 12), so the ceiling is 0; the standard error is 2.887, and within
    2 x 2.887 x sqrt 2 = 8.16 of the cleanest (477) are the 9 hours 15-23, of the dirtiest the
    9 hours 0-8; the model's hours are AVERT's: the saving is AVERT's spread, 23."""
    t = v.avert_timing(*_hand_case()).set_index("zone")
    a, b, c = t.loc["A"], t.loc["B"], t.loc["C"]
    assert a.cell_correlation == pytest.approx(-1) and a.diurnal_correlation == pytest.approx(-1)
    assert a.cell_ceiling == pytest.approx(np.sqrt(1 - 12 / 575))
    assert (a.model_cleanest_utc, a.model_dirtiest_utc) == (0, 23)
    assert (a.avert_cleanest_utc, a.avert_dirtiest_utc) == (23, 0)
    assert a.model_spread == pytest.approx(23) and a.avert_spread == pytest.approx(23)
    assert a.avert_profile_se == pytest.approx(np.sqrt(192) / 48)
    assert (a.avert_near_cleanest, a.avert_near_dirtiest) == (1, 1)
    assert not a.model_cleanest_near and not a.model_dirtiest_near
    assert a.avert_saving_on_model_timing == pytest.approx(-23)
    assert b.cell_correlation == pytest.approx(1) and np.isnan(b.diurnal_correlation)
    assert np.isnan(b.model_cleanest_utc) and np.isnan(b.avert_saving_on_model_timing)
    assert b.model_spread == 0 and b.avert_spread == pytest.approx(0)
    assert (b.avert_near_cleanest, b.avert_near_dirtiest) == (24, 24)
    assert not b.model_cleanest_near and not b.model_dirtiest_near
    assert c.cell_correlation == pytest.approx(1) and c.cell_ceiling == 0
    assert c.avert_profile_se == pytest.approx(np.sqrt(12 * 4 * 400) / 48)
    assert (c.avert_near_cleanest, c.avert_near_dirtiest) == (9, 9)
    assert c.model_cleanest_near and c.model_dirtiest_near
    assert c.avert_saving_on_model_timing == pytest.approx(23)


def test_daily_profiles_weight_months_by_their_days_and_are_drawn(v):
    """The model's profile weights months by 2024's days, AVERT's by its hours (by hand: a
    model that is 1 in February and 0 otherwise averages 29 / 366; AVERT 1 in a month of 10
    hours and 0 in eleven of 1 hour averages 10 / 21); the figure draws both profiles in one
    panel per zone."""
    model = np.zeros((12, 24, 1))
    model[1] = 1.0
    mean = np.zeros((12, 24))
    mean[3] = 1.0
    hours = np.ones((12, 24))
    hours[3] = 10.0
    avert = {"Z": {"mean": mean, "std": np.zeros((12, 24)), "hours": hours}}
    m_day, a_day = v.daily_profiles(["Z"], {"marginal_carbon": model}, avert)["Z"]
    assert m_day == pytest.approx(np.full(24, 29 / 366))
    assert a_day == pytest.approx(np.full(24, 10 / 21))
    zone_ids, cells, avert = _hand_case()
    fig = v.avert_profiles_figure(zone_ids, cells, avert)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == zone_ids
    profiles = v.daily_profiles(zone_ids, cells, avert)
    for ax, z in zip(panels, zone_ids, strict=True):
        drawn = [line.get_ydata() for line in ax.get_lines()]
        assert np.allclose(drawn[0], profiles[z][0]) and np.allclose(drawn[1], profiles[z][1])
