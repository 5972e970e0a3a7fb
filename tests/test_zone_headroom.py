"""The headroom of a scenario's zones (abm/grid/zone_headroom.py), ``abm.headroom`` and
``abm headroom``: the background load the grid clears, the zones within a budget, the table's
invariants, bad settings, and the command's files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import abm
from abm.cli import main
from abm.errors import InputError
from abm.grid.market import background_mw
from abm.grid.zone_headroom import COLUMNS, model_background, zone_headroom, zone_rtt_ms

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def scenario():
    return abm.load_scenario()


@pytest.fixture(scope="module")
def background(scenario):
    return model_background(scenario)


def test_background_is_mean_demand_times_the_month_hour_shape():
    shape = np.ones((2, 12, 24))
    shape[0, 6, 0], shape[1, 0, 23] = 1.5, 0.5
    np.testing.assert_allclose(background_mw([100.0, 200.0], shape, 7, 0), [150, 200])
    np.testing.assert_allclose(background_mw([100.0, 200.0], shape, np.array([7, 1]),
                                             np.array([0, 23])), [[150, 200], [100, 100]])


def test_the_year_of_the_default_scenario(background):
    """2024 has 8,784 hours; US-ERCOT at 00:00 UTC on a July day is its mean demand (55,600 MW,
    zones.csv) times the July 00:00 cell of demand_shape.csv (1.3955)."""
    assert background.hours == 8784
    z = background.zone_ids.index("US-ERCOT")
    july_midnight = (182 + 10) * 24  # 11 July 00:00 UTC (day 193 of the leap year)
    assert background.months[july_midnight] == 7
    assert background.load_mw[july_midnight, z] == pytest.approx(55_600 * 1.3955)
    assert "synthetic" in background.source[z] and "2024" in background.source[z]
    south = {zid for zid, s in zip(background.zone_ids, background.southern, strict=True) if s}
    assert south == {"BR-CS", "CL-SEN", "AU-NSW", "ZA"}


def test_zone_round_trip_times(scenario, background):
    rtt = zone_rtt_ms(scenario, background.zone_ids)
    np.testing.assert_array_equal(np.diag(rtt), 0.0)
    np.testing.assert_array_equal(rtt, rtt.T)
    lat = scenario.latency
    ie, gb = background.zone_ids.index("IE"), background.zone_ids.index("GB")
    assert rtt[ie, gb] == lat.rtt_ms[lat.index("eu-ireland"), lat.index("uk-london")]


def subset(background, zones):
    idx = [background.zone_ids.index(z) for z in zones]
    return dataclasses.replace(background, zone_ids=tuple(zones),
                               load_mw=background.load_mw[:, idx],
                               southern=background.southern[idx],
                               source=tuple(background.source[i] for i in idx))


def test_the_table_holds_its_invariants(scenario, background):
    """Three European zones within 50 ms of each other and none within 1 ms: curtail meets the
    budget exactly; relocation within 1 ms is curtail; within 50 ms it pools the others' room
    (checked by bisection on the raw loads); deferral never lowers the headroom."""
    zones = ("DE-LU", "FR", "GB")
    bg = subset(background, zones)
    rtt = zone_rtt_ms(scenario, zones)
    assert (rtt[~np.eye(3, dtype=bool)] <= 50).all()
    df = zone_headroom(bg, rtt, shares_pct=(0.5, 1.0), rtt_budgets_ms=(1.0, 50.0),
                       defer_hours=(1, 4))
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 3 * 2 * 5
    H = bg.hours
    for (zone, share), rows in df.groupby(["zone_id", "share_pct"]):
        v = rows.set_index("variant")
        base = v.loc["curtail"]
        if base.headroom_mw > 0:
            assert base.curtailed_mwh == pytest.approx(share / 100 * base.headroom_mw * H,
                                                       rel=1e-9)
        assert v.loc["relocate 1 ms"].headroom_mw == base.headroom_mw
        assert v.loc["relocate 1 ms"].relocation_zones == ""
        others = [z for z in zones if z != zone]
        assert v.loc["relocate 50 ms"].relocation_zones == " ".join(others)
        load = bg.load_mw
        room = sum(load[:, zones.index(w)].max() - load[:, zones.index(w)] for w in zones)
        lo, hi = 0.0, room.max() * 2
        for _ in range(100):
            mid = (lo + hi) / 2
            if np.maximum(mid - room, 0).sum() <= share / 100 * mid * H:
                lo = mid
            else:
                hi = mid
        assert v.loc["relocate 50 ms"].headroom_mw == pytest.approx(lo, rel=1e-9)
        assert v.loc["relocate 50 ms"].gain_mw == pytest.approx(lo - base.headroom_mw)
        assert base.headroom_mw <= v.loc["defer 1 h"].headroom_mw <= v.loc["defer 4 h"].headroom_mw
        for name in ("curtail", "relocate 50 ms", "defer 4 h"):
            row = v.loc[name]
            assert row.headroom_pct_of_peak == pytest.approx(100 * row.headroom_mw / row.peak_mw)
            assert row.reduced_hours >= row.events
    first = df.drop_duplicates("zone_id").set_index("zone_id")
    assert (first.threshold_summer_mw == first.peak_mw).all()  # the annual rule
    assert first.load_factor.between(0.5, 1).all()


def test_the_seasonal_rule_in_the_table(background, scenario):
    bg = subset(background, ("US-ERCOT", "AU-NSW"))
    df = zone_headroom(bg, zone_rtt_ms(scenario, bg.zone_ids), shares_pct=(1.0,),
                       rtt_budgets_ms=(), defer_hours=(), peak_rule="seasonal")
    row = df.set_index("zone_id").loc["US-ERCOT"]
    load = bg.load_mw[:, 0]
    assert row.threshold_summer_mw == pytest.approx(load[np.isin(bg.months, (6, 7, 8))].max())
    assert row.threshold_winter_mw == pytest.approx(load[np.isin(bg.months, (12, 1, 2))].max())


def test_abm_headroom_api_and_its_bad_settings():
    df = abm.headroom(shares_pct=[1], rtt_ms=[50], defer_h=[4])
    assert len(df) == 23 * 3 and set(df.variant) == {"curtail", "relocate 50 ms", "defer 4 h"}
    assert (df.headroom_mw >= 0).all() and df.load_source.str.contains("demand_shape").all()
    with pytest.raises(InputError, match="shares_pct"):
        abm.headroom(shares_pct=[0])
    with pytest.raises(InputError, match="defer_h"):
        abm.headroom(defer_h=[1.5])
    with pytest.raises(InputError, match="rtt_ms"):
        abm.headroom(rtt_ms=[-1])
    with pytest.raises(InputError, match="peak"):
        abm.headroom(peak="weekly")


def test_abm_headroom_command(tmp_path, capsys):
    out = tmp_path / "hr"
    assert main(["headroom", "--shares", "1", "--rtt-ms", "50", "--defer-h", "4", "--out",
                 str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "1 % of the new load's energy curtailed" in printed and "US-ERCOT" in printed
    assert "synthetic" in printed
    df = pd.read_csv(out / "headroom.csv")
    assert len(df) == 23 * 3
    for name in ("headroom_by_share.png", "headroom_variants.png"):
        assert (out / name).read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(SystemExit) as exit_:
        main(["headroom", "--shares", "0"])
    assert exit_.value.code == 2
    assert "each > 0 and < 100" in capsys.readouterr().err


IE_DAY = [60, 70, 80, 100, 90, 75, 65, 60]  # MW: room under the peak 40 30 20 0 10 25 35 40
GB_DAY = [100, 100, 90, 90, 90, 100, 100, 100]  # room 0 0 10 10 10 0 0 0


def load_file(path, series, start="2024-07-01T00:00:00"):
    first = np.datetime64(start, "h")
    stamps = np.arange(first, first + np.timedelta64(8, "h"))
    lines = ["zone,timestamp,load_mw"] + [f"{zone},{t}:00:00,{v}" for zone, values in
                                          series.items() for t, v in zip(stamps, values,
                                                                         strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_abm_headroom_on_an_hourly_load_file_by_hand(tmp_path, capsys):
    """Eight hours of IE and GB, the rest of the zones shaped over the same hours; 0.25 of the
    load's energy (two hours' worth). Curtailed: sorted room 0 10 20 25 30 35 40 40, F(c_k) =
    (k - 2) c_k - S_k = 0 -10 -10 -5 +5: L* = S_4 / 2 = 27.5 MW. Relocating within 15 ms (GB
    alone, 14.5 ms from IE): pooled room 40 30 30 10 20 25 35 40, L* = 150 / 4 = 37.5 MW.
    Deferring 1 h: for L in [30, 40] hour 0 runs L and every later hour its full room (160 MWh
    in all), so C_1(L) = 8 L - L - 160 <= 2 L up to L* = 32 MW; hour 0's room beyond L is
    out of every window's reach, so waiting 4 h gives the same 32 MW. GB holds its peak 5
    hours, more than 2: no headroom."""
    path = load_file(tmp_path / "load.csv", {"IE": IE_DAY, "GB": GB_DAY})
    out = tmp_path / "hr"
    assert main(["headroom", "--load", str(path), "--shares", "25", "--rtt-ms", "15",
                 "--defer-h", "1,4", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"hourly load from {path}" in printed
    df = pd.read_csv(out / "headroom.csv").set_index(["zone_id", "variant"])
    ie = df.loc["IE"]
    assert ie.loc["curtail"].headroom_mw == pytest.approx(27.5, rel=1e-12)
    assert ie.loc["curtail"].curtailed_mwh == pytest.approx(55.0, rel=1e-12)
    assert ie.loc["relocate 15 ms"].headroom_mw == pytest.approx(37.5, rel=1e-12)
    assert ie.loc["relocate 15 ms"].relocation_zones == "GB"
    assert ie.loc["defer 1 h"].headroom_mw == pytest.approx(32.0, rel=1e-9)
    assert ie.loc["defer 4 h"].headroom_mw == pytest.approx(32.0, rel=1e-9)
    assert ie.loc["curtail"].series_hours == 8 and ie.loc["curtail"].peak_mw == 100
    gb = df.loc["GB"].loc["curtail"]
    assert gb.headroom_mw == 0 and gb.peak_hours == 5
    assert "shape" in df.loc["FR"].loc["curtail"].load_source  # not in the file


@pytest.mark.parametrize(("series", "text", "match"), [
    ({"XX": IE_DAY}, None, "'XX'.* not zones of the scenario; allowed: US-PJM-DOM"),
    (None, "zone,timestamp,load_mw\nIE,2024-01-01T00:00:00,-5\n", "line 2, load_mw.*>= 0"),
    (None, "zone,timestamp,load_mw\nIE,2024-01-01T00:00:00,\n", "line 2, load_mw"),
    (None, "zone,timestamp,load\nIE,2024-01-01T00:00:00,5\n", "header.*zone,timestamp,load_mw"),
    (None, "zone,timestamp,load_mw\nIE,2024-01-01T00:00:00,5\nIE,2024-01-01T02:00:00,5\n",
     "gap in the hourly sequence"),
])
def test_bad_load_files_are_one_line_errors(tmp_path, series, text, match):
    path = tmp_path / "load.csv"
    if series is not None:
        load_file(path, series)
    else:
        path.write_text(text)
    with pytest.raises(InputError, match=match):
        abm.headroom(load=path, shares_pct=[1], rtt_ms=[10], defer_h=[1])


def test_the_seasonal_rule_needs_both_seasons_in_a_load_file(tmp_path):
    path = load_file(tmp_path / "load.csv", {"IE": IE_DAY})
    with pytest.raises(InputError, match="peak: zone US-PJM-DOM: the seasonal rule needs"):
        abm.headroom(load=path, peak="seasonal")
