"""Trace files: exact parsed values for both formats, UTC, window, merge, and one error per case."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
from pathlib import Path

import numpy as np
import pytest

from abm.config.limits import MAX_TRACE_BYTES
from abm.data import traces
from abm.data.traces import Traces
from abm.errors import InputError

# the readers as the scenario reads them, at the shipped bound
read_long = functools.partial(traces.read_long, max_bytes=MAX_TRACE_BYTES)
read_electricity_maps = functools.partial(traces.read_electricity_maps, max_bytes=MAX_TRACE_BYTES)
read_traces = functools.partial(traces.read_traces, max_bytes=MAX_TRACE_BYTES)

SHARED_HOURLY = Path(__file__).resolve().parents[2] / "shared" / "data" / "hourly_2024_compact.csv"

LONG = """\
zone,timestamp,price_usd_per_mwh,carbon_g_per_kwh
a,2024-01-01T00:00:00,50.5,300
b,2024-01-01T00:00:00,,20.25
a,2024-01-01T01:00:00,-12.0,
b,2024-01-01T01:00:00,,21
a,2024-01-01T02:00:00,40,310.5
b,2024-01-01T02:00:00,,22
"""

EM_HEADER = ["Datetime (UTC)", "Country", "Zone Name", "Zone Id",
             "Carbon Intensity gCO₂eq/kWh (direct)", "Carbon Intensity gCO₂eq/kWh (LCA)",
             "Low Carbon Percentage", "Renewable Percentage", "Data Source", "Data Estimated",
             "Data Estimation Method"]


def em_rows(zone: str, direct: list[float], lca: list[float],
            start: str = "2024-01-01 00:00:00") -> list[list[str]]:
    """Rows of an Electricity Maps export, hourly from ``start``."""
    t0 = dt.datetime.fromisoformat(start)
    return [[(t0 + dt.timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S"), "Germany", "Germany",
             zone, str(d), str(c), "50.1", "40.2", "entsoe.eu", "false", ""]
            for h, (d, c) in enumerate(zip(direct, lca, strict=True))]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def write(tmp_path):
    """Write text to a CSV file in tmp_path and return its path."""

    def _write(text: str, name: str = "trace.csv") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def hours(*stamps: str) -> list[np.datetime64]:
    return [np.datetime64(s, "h") for s in stamps]


# ---- long format ---------------------------------------------------------------------------


def test_long_exact_values(write):
    tr = read_long(write(LONG))
    assert tr.zones == ("a", "b")
    assert tr.hours.dtype == np.dtype("datetime64[h]")
    assert tr.hours.tolist() == [dt.datetime(2024, 1, 1, h) for h in range(3)]
    np.testing.assert_array_equal(
        tr.price_usd_per_mwh, [[50.5, np.nan], [-12.0, np.nan], [40.0, np.nan]])
    np.testing.assert_array_equal(
        tr.carbon_g_per_kwh, [[300.0, 20.25], [np.nan, 21.0], [310.5, 22.0]])
    assert tr.source.endswith("trace.csv")


def test_long_value_column_absent_and_unsorted_rows(write):
    tr = read_long(write("timestamp,zone,carbon_g_per_kwh\n"
                         "2024-03-01T01:00:00,x,2\n2024-03-01T00:00:00,x,1\n"))
    assert tr.zones == ("x",)
    assert list(tr.hours) == hours("2024-03-01T00", "2024-03-01T01")
    assert tr.carbon_g_per_kwh[:, 0].tolist() == [1.0, 2.0]
    assert np.isnan(tr.price_usd_per_mwh).all()


def test_offset_timestamps_are_converted_to_utc(write):
    tr = read_long(write("zone,timestamp,price_usd_per_mwh\n"
                         "a,2024-06-01T02:00:00+02:00,1\n"   # 00:00 UTC
                         "a,2024-05-31T20:00:00-05:00,2\n"   # 01:00 UTC
                         "a,2024-06-01T02:00:00Z,3\n"        # 02:00 UTC
                         "a,2024-06-01 03:00,4\n"))          # naive = UTC
    assert list(tr.hours) == hours(*(f"2024-06-01T0{h}" for h in range(4)))
    assert tr.price_usd_per_mwh[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_traces_arrays_are_read_only(write):
    tr = read_long(write(LONG))
    with pytest.raises(ValueError):
        tr.price_usd_per_mwh[0, 0] = 1.0


# ---- Electricity Maps export ---------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["₂", "2"])
def test_em_exact_values(tmp_path, spelling):
    header = [h.replace("₂", spelling) for h in EM_HEADER]
    path = write_csv(tmp_path / "DE_2024_hourly.csv", header,
                     em_rows("DE", [410.5, 398.0, 402.25], [450.0, 440.0, 445.5]))
    tr = read_electricity_maps(path)
    assert tr.zones == ("DE",)
    assert list(tr.hours) == hours("2024-01-01T00", "2024-01-01T01", "2024-01-01T02")
    assert tr.carbon_g_per_kwh[:, 0].tolist() == [410.5, 398.0, 402.25]
    assert np.isnan(tr.price_usd_per_mwh).all()
    lca = read_electricity_maps(path, zone="eu-frankfurt", basis="lca")
    assert lca.zones == ("eu-frankfurt",)
    assert lca.carbon_g_per_kwh[:, 0].tolist() == [450.0, 440.0, 445.5]


def test_read_traces_detects_format(write, tmp_path):
    assert read_traces(write(LONG)).zones == ("a", "b")
    em = write_csv(tmp_path / "em.csv", EM_HEADER, em_rows("FR", [30, 31], [40, 41]))
    tr = read_traces(em, zone="eu-france")
    assert tr.zones == ("eu-france",)
    assert tr.carbon_g_per_kwh[:, 0].tolist() == [30.0, 31.0]
    assert read_traces(em, fmt="electricity_maps", basis="lca").carbon_g_per_kwh[1, 0] == 41.0


@pytest.mark.skipif(not SHARED_HOURLY.exists(), reason="shared hourly data not present")
def test_em_built_from_shared_hourly_data(tmp_path):
    with SHARED_HOURLY.open(newline="") as f:
        reader = csv.DictReader(f)
        src = [next(reader) for _ in range(6)]
    col = "eu-frankfurt__ci_direct_gco2_kwh"
    rows = [[r["datetime_utc"], "Germany", "Germany", "DE", r[col], "", "", "", "", "", ""]
            for r in src]
    tr = read_electricity_maps(write_csv(tmp_path / "de.csv", EM_HEADER, rows), zone="eu-frankfurt")
    assert tr.zones == ("eu-frankfurt",)
    assert tr.hours[0] == np.datetime64(dt.datetime.fromisoformat(src[0]["datetime_utc"]), "h")
    assert len(tr.hours) == 6
    assert tr.carbon_g_per_kwh[:, 0].tolist() == [float(r[col]) for r in src]


# ---- window and merge ----------------------------------------------------------------------


def test_window_slices(write):
    tr = read_long(write(LONG))
    w = tr.window(dt.datetime(2024, 1, 1, 1), 2)
    assert list(w.hours) == hours("2024-01-01T01", "2024-01-01T02")
    assert w.price_usd_per_mwh[:, 0].tolist() == [-12.0, 40.0]
    np.testing.assert_array_equal(w.carbon_g_per_kwh, [[np.nan, 21.0], [310.5, 22.0]])
    # an aware start is converted to UTC
    aware = tr.window(dt.datetime(2024, 1, 1, 3, tzinfo=dt.timezone(dt.timedelta(hours=3))), 1)
    assert list(aware.hours) == hours("2024-01-01T00")


def test_window_not_covered_names_missing_range(write):
    path = write(LONG)
    tr = read_long(path)
    with pytest.raises(InputError) as exc:
        tr.window(dt.datetime(2024, 1, 1, 1), 5)
    msg = str(exc.value)
    assert str(path) in msg and exc.value.field == "window"
    assert "missing 2024-01-01T03:00Z to 2024-01-01T05:00Z (3 h)" in msg
    with pytest.raises(InputError, match="missing 2023-12-31T23:00Z to 2023-12-31T23:00Z"):
        tr.window(dt.datetime(2023, 12, 31, 23), 2)
    with pytest.raises(InputError, match="not on the hour"):
        tr.window(dt.datetime(2024, 1, 1, 0, 30), 1)


def test_merge_long_price_with_em_carbon(write, tmp_path):
    price = read_long(write("zone,timestamp,price_usd_per_mwh\n"
                            "eu-x,2024-01-01T00:00:00,10\neu-x,2024-01-01T01:00:00,11\n"))
    carbon = read_electricity_maps(
        write_csv(tmp_path / "em.csv", EM_HEADER, em_rows("DE", [400, 401], [0, 0])))
    m = price.merge(carbon)
    assert m.zones == ("eu-x", "DE")
    np.testing.assert_array_equal(m.price_usd_per_mwh, [[10.0, np.nan], [11.0, np.nan]])
    np.testing.assert_array_equal(m.carbon_g_per_kwh, [[np.nan, 400.0], [np.nan, 401.0]])
    assert isinstance(m, Traces)


def test_merge_rejects_other_hours_or_shared_zone(write, tmp_path):
    a = read_long(write(LONG, "a.csv"))
    b = read_long(write("zone,timestamp,price_usd_per_mwh\nc,2024-01-01T05:00:00,1\n", "b.csv"))
    with pytest.raises(InputError, match="same hours") as exc:
        a.merge(b)
    assert "a.csv" in str(exc.value) and "b.csv" in str(exc.value)
    with pytest.raises(InputError, match=r"2 zone\(s\) in both \(the zone of line 2 "):
        a.merge(a)


# ---- bad input: one error each, naming file and field --------------------------------------

H = "zone,timestamp,price_usd_per_mwh,carbon_g_per_kwh\n"

BAD = {
    "missing column": ("zone,price_usd_per_mwh\na,1\n", "timestamp", "missing column"),
    "no value column": ("zone,timestamp\na,2024-01-01T00:00\n", "carbon_g_per_kwh",
                        "missing column"),
    "unknown column": (H.strip() + ",carbon_kg\na,2024-01-01T00:00,1,2,3\n", "header",
                       "unknown column(s) at position 5"),
    "bad timestamp": (H + "a,2024-01-01T00:00,1,2\na,2024-13-01T00:00,1,2\n",
                      "line 3, timestamp", "ISO 8601"),
    "not numeric": (H + "a,2024-01-01T00:00,cheap,2\n", "line 2, price_usd_per_mwh",
                    "not a number"),
    "nan value": (H + "a,2024-01-01T00:00,1,NaN\n", "line 2, carbon_g_per_kwh", "not finite"),
    "inf value": (H + "a,2024-01-01T00:00,inf,1\n", "line 2, price_usd_per_mwh", "not finite"),
    "negative carbon": (H + "a,2024-01-01T00:00,-5,-1\n", "line 2, carbon_g_per_kwh",
                        "negative carbon"),
    "duplicate": (H + "a,2024-01-01T00:00,1,2\nb,2024-01-01T00:00,1,2\n"
                  "a,2024-01-01T00:00+00:00,1,2\n", "line 4, zone/timestamp",
                  "first on line 2"),
    "gap": (H + "a,2024-01-01T00:00,1,2\na,2024-01-01T01:00,1,2\na,2024-01-01T04:00,1,2\n",
            "timestamp", "first missing hour 2024-01-01T02:00Z"),
    "not on the hour": (H + "a,2024-01-01T00:30,1,2\n", "line 2, timestamp",
                        "not on the hour"),
    "offset off the hour": (H + "a,2024-01-01T05:00+05:30,1,2\n", "line 2, timestamp",
                            "not on the hour"),
    "different ranges": (H + "a,2024-01-01T00:00,1,2\na,2024-01-01T01:00,1,2\n"
                         "b,2024-01-01T01:00,1,2\n", "timestamp",
                         "the zone of line 4: 2024-01-01T01:00Z to 2024-01-01T01:00Z (1 h)"),
    "empty zone": (H + " ,2024-01-01T00:00,1,2\n", "line 2, zone", "empty zone"),
    "cell count": (H + "a,2024-01-01T00:00,1\n", "line 2", "3 cells"),
    "empty file": ("", "", "empty file"),
    "header only": (H, "", "no data rows"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_long_input(write, case):
    text, field, problem = BAD[case]
    path = write(text, "bad.csv")
    with pytest.raises(InputError) as exc:
        read_traces(path, fmt="long")
    msg = str(exc.value)
    assert exc.value.source == str(path) and msg.startswith(str(path))
    assert field in msg
    assert problem in msg


def test_bad_em_input(tmp_path):
    good = em_rows("DE", [1, 2], [3, 4])
    no_carbon = [h for h in EM_HEADER if "direct" not in h]
    path = write_csv(tmp_path / "em.csv", no_carbon, [r[:4] + r[5:] for r in good])
    with pytest.raises(InputError, match=r"missing column\(s\) 'Carbon Intensity") as exc:
        read_electricity_maps(path)
    assert exc.value.source == str(path) and exc.value.field == "header"

    bad = [r.copy() for r in good]
    bad[1][4] = "-3"
    path = write_csv(tmp_path / "neg.csv", EM_HEADER, bad)
    with pytest.raises(InputError, match="negative carbon") as exc:
        read_electricity_maps(path)
    assert str(path) in str(exc.value)
    assert exc.value.field == "line 3, Carbon Intensity gCO₂eq/kWh (direct)"

    two = good + em_rows("FR", [1, 2], [3, 4])
    path = write_csv(tmp_path / "two.csv", EM_HEADER, two)
    assert read_electricity_maps(path).zones == ("DE", "FR")
    with pytest.raises(InputError, match="the file holds 2 zones") as exc:
        read_electricity_maps(path, zone="eu-frankfurt")
    assert exc.value.field == "Zone Id"


def test_unrecognised_header_and_format(write):
    path = write("when,where,what\n1,2,3\n")
    with pytest.raises(InputError, match="unrecognised header") as exc:
        read_traces(path)
    assert exc.value.source == str(path) and exc.value.field == "header"
    with pytest.raises(InputError, match="allowed: auto, long, electricity_maps"):
        read_traces(path, fmt="xlsx")
    with pytest.raises(InputError, match="file not found"):
        read_traces(path.with_name("nope.csv"))


def test_negative_price_allowed_and_nan_only_where_absent(write):
    tr = read_long(write(H + "a,2024-01-01T00:00,-80.5,0\n"))
    assert tr.price_usd_per_mwh.tolist() == [[-80.5]]
    assert tr.carbon_g_per_kwh.tolist() == [[0.0]]
    assert not math.isnan(tr.carbon_g_per_kwh[0, 0])
