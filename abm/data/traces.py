"""Hourly traces a user brings: electricity price ($/MWh) and carbon intensity (gCO2/kWh) per zone.

Two CSV formats are read:

* the plain long format, header exactly ``zone,timestamp,price_usd_per_mwh,carbon_g_per_kwh``
  (one of the two value columns may be left out; an empty value cell means "no value");
* the Electricity Maps hourly export ("Datetime (UTC)", "Zone Id",
  "Carbon Intensity gCO₂eq/kWh (direct)", ...), which has carbon but no price.

Timestamps are ISO 8601; naive stamps are UTC, stamps with an offset are converted to UTC. Every
zone must cover the same regular hourly range with no gaps and no duplicates. Nothing is dropped
or filled: a value the file does not give is NaN. Carbon in g/kWh equals kg/MWh numerically, the
unit of :class:`abm.core.signals.Signals`. All bad input raises :class:`abm.errors.InputError`
naming the file, the line and the column, never quoting the file's text (a path that names the
wrong file, a password file say, must not print it). The file is read as
:func:`abm.files.read_input` reads: a regular file, at most ``max_bytes`` of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from abm.errors import InputError, quoted
from abm.files import read_input

LONG_COLUMNS = ("zone", "timestamp", "price_usd_per_mwh", "carbon_g_per_kwh")
VALUE_COLUMNS = ("price_usd_per_mwh", "carbon_g_per_kwh")
EM_TIME = "Datetime (UTC)"
EM_ZONE = "Zone Id"
EM_CARBON = {
    "direct": "Carbon Intensity gCO₂eq/kWh (direct)",
    "lca": "Carbon Intensity gCO₂eq/kWh (LCA)",
}
FORMATS = ("auto", "long", "electricity_maps")
# Zone ids of Electricity Maps (the zone keys of its exports and app.electricitymaps.com/zone/KEY)
# that name a shipped zone (abm/data/zones.csv) differently: theirs -> ours. US-MIDA-PJM is all
# of PJM, whose Dominion zone is ours.
ZONE_ALIASES = {
    "DE": "DE-LU", "SE-SE3": "SE3", "US-MIDA-PJM": "US-PJM-DOM", "US-MIDW-MISO": "US-MISO",
    "US-TEX-ERCO": "US-ERCOT", "US-CAL-CISO": "US-CAISO",
}

_EM_CARBON_SUFFIXES = {"direct": ("direct",), "lca": ("lca", "life cycle", "lifecycle")}
_EM_CARBON_STEM = "carbon intensity gco2eq/kwh"
_EPOCH = dt.datetime(1970, 1, 1)
_HOUR = dt.timedelta(hours=1)
_REQUIRED_LONG = (
    "zone, timestamp and at least one of price_usd_per_mwh, carbon_g_per_kwh "
    "(header: zone,timestamp,price_usd_per_mwh,carbon_g_per_kwh)"
)


def _fmt_hour(h: int) -> str:
    """An hour index (hours since 1970-01-01 UTC) as ``YYYY-MM-DDTHH:00Z``."""
    return (_EPOCH + int(h) * _HOUR).strftime("%Y-%m-%dT%H:00Z")


def _fmt_span(first: int, last: int) -> str:
    """An inclusive hour range as text."""
    return f"{_fmt_hour(first)} to {_fmt_hour(last)} ({last - first + 1} h)"


def _hour_index(t: dt.datetime) -> int:
    """Hours since 1970-01-01 UTC of a naive-UTC datetime that is on the hour."""
    return (t - _EPOCH) // _HOUR


def _to_utc(t: dt.datetime) -> dt.datetime:
    """A naive UTC datetime: naive input is taken as UTC, aware input is converted."""
    return t if t.tzinfo is None else t.astimezone(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True, eq=False)
class Traces:
    """Hourly price and carbon traces of several zones on one regular UTC hour range.

    Attributes:
        zones: zone ids, in the order they first appear in the file.
        hours: ``datetime64[h]`` UTC hour stamps, shape (T,), sorted, hourly, no gaps.
        price_usd_per_mwh: electricity price, $/MWh, shape (T, Z); NaN where the file gives
            none. May be negative.
        carbon_g_per_kwh: carbon intensity, gCO2/kWh (= kg/MWh), shape (T, Z); NaN where the
            file gives none.
        source: the file(s) the traces came from, used in error messages.
        zone_lines: the line of each zone's first row in its file (errors name a zone by it,
            never by the file's text); empty for traces not read from a file.
    """

    zones: tuple[str, ...]
    hours: np.ndarray
    price_usd_per_mwh: np.ndarray
    carbon_g_per_kwh: np.ndarray
    source: str = ""
    zone_lines: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        hours = np.array(self.hours, dtype="datetime64[h]")
        shape = (len(hours), len(self.zones))
        if hours.ndim != 1 or len(hours) == 0:
            raise ValueError("Traces.hours must be a non-empty 1-D array")
        if len(hours) > 1 and not (np.diff(hours.astype(np.int64)) == 1).all():
            raise ValueError("Traces.hours must be regular hourly with no gaps")
        if len(set(self.zones)) != len(self.zones):
            raise ValueError("Traces.zones must be unique")
        hours.setflags(write=False)
        object.__setattr__(self, "zones", tuple(self.zones))
        object.__setattr__(self, "hours", hours)
        for name in ("price_usd_per_mwh", "carbon_g_per_kwh"):
            arr = np.array(getattr(self, name), dtype=float)
            if arr.shape != shape:
                raise ValueError(f"Traces.{name} has shape {arr.shape}, expected {shape}")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def _where(self, zone: str) -> str:
        """Where the file names ``zone``: the line of its first row (or its position)."""
        i = self.zones.index(zone)
        return f"line {self.zone_lines[i]}" if self.zone_lines else f"zone #{i + 1}"

    @property
    def first_hour(self) -> int:
        """Hours since 1970-01-01 UTC of the first stamp."""
        return int(self.hours[0].astype(np.int64))

    def window(self, start: dt.datetime, hours: int) -> Traces:
        """The traces of ``hours`` hours from ``start``.

        Args:
            start: first hour; naive means UTC, aware is converted to UTC. Must be on the hour.
            hours: number of hours, at least 1.

        Returns:
            Traces with T = ``hours``.

        Raises:
            InputError: if the window is not on the hour or not fully covered by the trace
                (the message names the missing hours).
        """
        utc = _to_utc(start)
        if (utc.minute, utc.second, utc.microsecond) != (0, 0, 0):
            raise InputError(self.source, "window",
                             f"start {start.isoformat()} is not on the hour (UTC); "
                             "windows start at hh:00:00")
        if int(hours) < 1:
            raise InputError(self.source, "window", f"hours is {hours}; allowed: 1 or more")
        h0, h1 = _hour_index(utc), _hour_index(utc) + int(hours) - 1
        first, last = self.first_hour, self.first_hour + len(self.hours) - 1
        missing = []
        if h0 < first:
            missing.append(_fmt_span(h0, min(h1, first - 1)))
        if h1 > last:
            missing.append(_fmt_span(max(h0, last + 1), h1))
        if missing:
            raise InputError(self.source, "window",
                             f"the window {_fmt_span(h0, h1)} is not covered: missing "
                             f"{' and '.join(missing)}; the trace covers {_fmt_span(first, last)}")
        sl = slice(h0 - first, h1 - first + 1)
        return Traces(self.zones, self.hours[sl], self.price_usd_per_mwh[sl],
                      self.carbon_g_per_kwh[sl], self.source, self.zone_lines)

    def merge(self, other: Traces) -> Traces:
        """Zones of both traces side by side (this one's first).

        Raises:
            InputError: if the two cover different hours or share a zone.
        """
        source = f"{self.source} + {other.source}"
        if len(self.hours) != len(other.hours) or self.first_hour != other.first_hour:
            mine = _fmt_span(self.first_hour, self.first_hour + len(self.hours) - 1)
            theirs = _fmt_span(other.first_hour, other.first_hour + len(other.hours) - 1)
            raise InputError(source, "timestamp",
                             f"cannot merge: {self.source} covers {mine}, {other.source} covers "
                             f"{theirs}; merged traces must cover the same hours (use window)")
        shared = [z for z in self.zones if z in other.zones]
        if shared:
            raise InputError(source, "zone",
                             f"cannot merge: {len(shared)} zone(s) in both (the zone of "
                             f"{self._where(shared[0])} of {self.source}); each zone must come "
                             "from one file")
        return Traces(
            self.zones + other.zones, self.hours,
            np.hstack([self.price_usd_per_mwh, other.price_usd_per_mwh]),
            np.hstack([self.carbon_g_per_kwh, other.carbon_g_per_kwh]), source,
            self.zone_lines + other.zone_lines if self.zone_lines and other.zone_lines else ())


def check_zones(traces: Traces, zone_ids: tuple[str, ...]) -> None:
    """Raise when no zone of ``traces`` is one of ``zone_ids`` (the scenario's zones), or when
    the file names one of them by a known alias (:data:`ZONE_ALIASES`), which would be ignored.

    Raises:
        InputError: naming the unmatched zone ids and the aliases that would match.
    """
    aliased = {z: ZONE_ALIASES[z] for z in traces.zones
               if ZONE_ALIASES.get(z) in zone_ids and ZONE_ALIASES[z] not in traces.zones}
    if not aliased and any(z in zone_ids for z in traces.zones):
        return
    unmatched = [z for z in traces.zones if z not in zone_ids and z not in aliased]
    shown = ", ".join(traces._where(z) for z in unmatched[:8]) + (
        f" and {len(unmatched) - 8} more" if len(unmatched) > 8 else "")
    hint = ("; known aliases: " + ", ".join(f"{theirs} is {ours} here"
                                            for theirs, ours in aliased.items())
            if aliased else "")
    what = f"the zone ids of {shown} match" if unmatched else "no zone id matches"
    raise InputError(traces.source, "zone",
                     f"{what} no zone of the scenario ({', '.join(zone_ids)}){hint}; rename "
                     "them in the file")


class _Collector:
    """Rows of one file by zone and hour, checked into a :class:`Traces`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: dict[str, dict[int, tuple[float, float, int]]] = {}

    def add(self, line: int, zone: str, hour: int, price: float, carbon: float) -> None:
        """Record one row; duplicates of (zone, hour) are an error."""
        by_hour = self.rows.setdefault(zone, {})
        if hour in by_hour:
            raise InputError(self.source, f"line {line}, zone/timestamp",
                             f"a second row for this zone at {_fmt_hour(hour)}, first on line "
                             f"{by_hour[hour][2]}; allowed: one row per zone and hour")
        by_hour[hour] = (price, carbon, line)

    def build(self) -> Traces:
        """Check every zone is gap-free on the same hours and assemble the arrays."""
        if not self.rows:
            raise InputError(self.source, "", "no data rows after the header; "
                             "expected one row per zone and hour")
        spans: dict[str, tuple[int, int]] = {}
        first_line = {zone: min(line for _, _, line in by_hour.values())
                 for zone, by_hour in self.rows.items()}
        for zone, by_hour in self.rows.items():
            hs = np.array(sorted(by_hour), dtype=np.int64)
            gaps = np.flatnonzero(np.diff(hs) != 1)
            if gaps.size:
                k = int(gaps[0])
                raise InputError(self.source, "timestamp",
                                 f"the zone of line {first_line[zone]}: gap in the hourly "
                                 "sequence, first missing hour "
                                 f"{_fmt_hour(hs[k] + 1)} (between {_fmt_hour(hs[k])} and "
                                 f"{_fmt_hour(hs[k + 1])}); allowed: every hour, no gaps")
            spans[zone] = (int(hs[0]), int(hs[-1]))
        if len(set(spans.values())) > 1:
            report = "; ".join(f"the zone of line {first_line[z]}: {_fmt_span(*s)}"
                               for z, s in list(spans.items())[:4])
            raise InputError(self.source, "timestamp",
                             f"zones cover different hour ranges ({report}); "
                             "allowed: all zones on the same hours")
        first, last = next(iter(spans.values()))
        shape = (last - first + 1, len(self.rows))
        price, carbon = np.full(shape, np.nan), np.full(shape, np.nan)
        for j, by_hour in enumerate(self.rows.values()):
            for h, (p, c, _) in by_hour.items():
                price[h - first, j] = p
                carbon[h - first, j] = c
        hours = np.arange(first, last + 1, dtype=np.int64).astype("datetime64[h]")
        return Traces(tuple(self.rows), hours, price, carbon, self.source,
                      tuple(first_line[z] for z in self.rows))


def _read_csv(path: str | Path, max_bytes: int
              ) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    """The file's name, header cells and non-blank data rows with their line numbers."""
    source = str(path)
    data = read_input(path, max_bytes, "a trace file (CSV)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(source, "", f"not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         "expected a UTF-8 CSV file") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                continue
            if len(cells) != len(header):
                raise InputError(source, f"line {reader.line_num}",
                                 f"{len(cells)} cells but the header has {len(header)}; "
                                 "allowed: one cell per column")
            rows.append((reader.line_num, cells))
    except csv.Error:
        raise InputError(source, f"line {reader.line_num}", "malformed CSV (a quote, or a NUL "
                         "character, out of place)") from None
    if header is None:
        raise InputError(source, "", "empty file; expected a CSV header row and hourly data rows")
    return source, header, rows


def _parse_stamp(source: str, field: str, text: str) -> int:
    """An ISO 8601 cell as hours since 1970-01-01 UTC (naive = UTC)."""
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(source, field,
                         "cannot be read as an ISO 8601 timestamp; allowed e.g. "
                         "2024-01-01T00:00:00 (UTC) or 2024-01-01T02:00:00+02:00") from None
    utc = _to_utc(t)
    if (utc.minute, utc.second, utc.microsecond) != (0, 0, 0):
        raise InputError(source, field,
                         f"is not on the hour (UTC {utc.isoformat()}); "
                         "allowed: hourly stamps at hh:00:00 UTC")
    return _hour_index(utc)


def _parse_value(source: str, field: str, text: str, *, carbon: bool) -> float:
    """A value cell as float; empty means no value (NaN)."""
    s = text.strip()
    if not s:
        return math.nan
    allowed = ("a finite number >= 0 (gCO2/kWh)" if carbon else "a finite number ($/MWh)")
    allowed += " or an empty cell for no value"
    try:
        v = float(s)
    except ValueError:
        raise InputError(source, field, f"not a number; allowed: {allowed}") from None
    if not math.isfinite(v):
        raise InputError(source, field, f"not finite; allowed: {allowed}")
    if carbon and v < 0:
        raise InputError(source, field, f"negative carbon intensity {v}; allowed: {allowed}")
    return v


def _norm(name: str) -> str:
    """A header name for tolerant matching: case-folded, ₂ as 2, single spaces."""
    return " ".join(name.replace("₂", "2").casefold().split())


def _is_em(header: list[str]) -> bool:
    return _norm(EM_TIME) in {_norm(h) for h in header}


def _is_long(header: list[str]) -> bool:
    return "zone" in header and "timestamp" in header


def _long(source: str, header: list[str], rows: list[tuple[int, list[str]]]) -> Traces:
    """Parse the long format from already-read rows."""
    missing = [c for c in ("zone", "timestamp") if c not in header]
    if not any(c in header for c in VALUE_COLUMNS):
        missing.append(" or ".join(VALUE_COLUMNS))
    unknown = [i + 1 for i, h in enumerate(header) if h not in LONG_COLUMNS]
    if missing or unknown:
        problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) at position {', '.join(map(str, unknown))}"] if unknown
            else [])
        raise InputError(source, "header",
                         f"{'; '.join(problems)}; required: {_REQUIRED_LONG}, nothing else")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(source, "header", f"column(s) {', '.join(repeated)} appear twice; "
                         "allowed: each column once")
    col = {h: i for i, h in enumerate(header)}
    ip, ic = col.get("price_usd_per_mwh"), col.get("carbon_g_per_kwh")
    out = _Collector(source)
    for line, cells in rows:
        zone = cells[col["zone"]].strip()
        if not zone:
            raise InputError(source, f"line {line}, zone", "empty zone; allowed: a zone id")
        hour = _parse_stamp(source, f"line {line}, timestamp", cells[col["timestamp"]])
        price = (math.nan if ip is None else
                 _parse_value(source, f"line {line}, price_usd_per_mwh", cells[ip], carbon=False))
        carbon = (math.nan if ic is None else
                  _parse_value(source, f"line {line}, carbon_g_per_kwh", cells[ic], carbon=True))
        out.add(line, zone, hour, price, carbon)
    return out.build()


def _em(source: str, header: list[str], rows: list[tuple[int, list[str]]],
        zone: str | None, basis: str) -> Traces:
    """Parse the Electricity Maps export from already-read rows."""
    if basis not in _EM_CARBON_SUFFIXES:
        raise InputError(source, "basis", f"basis {quoted(basis)}; allowed: direct, lca")
    norm = [_norm(h) for h in header]
    carbon_names = {f"{_EM_CARBON_STEM} ({s})" for s in _EM_CARBON_SUFFIXES[basis]}

    def find(names: set[str], name: str) -> int | None:
        hits = [i for i, n in enumerate(norm) if n in names]
        if len(hits) > 1:
            raise InputError(source, "header", f"column {name!r} appears twice (positions "
                             f"{hits[0] + 1} and {hits[1] + 1}); allowed: each column once")
        return hits[0] if hits else None

    it, iz = find({_norm(EM_TIME)}, EM_TIME), find({_norm(EM_ZONE)}, EM_ZONE)
    ic = find(carbon_names, EM_CARBON[basis])
    missing = [name for name, i in ((EM_TIME, it), (EM_ZONE, iz), (EM_CARBON[basis], ic))
               if i is None and not (name == EM_ZONE and zone is not None)]
    if missing:
        required = [EM_TIME, EM_CARBON[basis]] + ([] if zone is not None else [EM_ZONE])
        raise InputError(source, "header",
                         f"missing column(s) {', '.join(map(repr, missing))}; required for an "
                         f"Electricity Maps export (basis {quoted(basis)}): "
                         f"{', '.join(map(repr, required))}")
    assert it is not None and ic is not None
    if zone is not None and iz is not None:
        ids = list(dict.fromkeys(c[iz].strip() for _, c in rows))
        if len(ids) > 1:
            raise InputError(source, EM_ZONE,
                             f"zone {quoted(zone)} given but the file holds {len(ids)} "
                             "zones; "
                             "allowed: a zone override for a one-zone file only")
    carbon_col = header[ic]
    out = _Collector(source)
    if zone is None:
        assert iz is not None  # else the zone column is missing, reported above
        zones = [cells[iz].strip() for _, cells in rows]
    else:
        zones = [zone] * len(rows)
    for (line, cells), z in zip(rows, zones, strict=True):
        if not z:
            raise InputError(source, f"line {line}, {EM_ZONE}", "empty zone id; allowed: a "
                             "zone id (or pass zone=...)")
        hour = _parse_stamp(source, f"line {line}, {header[it]}", cells[it])
        carbon = _parse_value(source, f"line {line}, {carbon_col}", cells[ic], carbon=True)
        out.add(line, z, hour, math.nan, carbon)
    return out.build()


LOAD_COLUMNS = ("zone", "timestamp", "load_mw")


@dataclass(frozen=True, eq=False)
class LoadTrace:
    """Hourly load of several zones on one regular UTC hour range (``abm headroom --load``).

    Attributes:
        zones: zone ids, in the order they first appear in the file.
        hours: ``datetime64[h]`` UTC hour stamps, shape (T,), sorted, hourly, no gaps.
        load_mw: load, MW, shape (T, Z), finite and >= 0.
        source: the file, used in messages.
    """

    zones: tuple[str, ...]
    hours: np.ndarray
    load_mw: np.ndarray
    source: str


def read_load(path: str | Path, *, max_bytes: int) -> LoadTrace:
    """Read a long CSV of hourly load: ``zone,timestamp,load_mw`` (MW, finite, >= 0; no empty
    cells). Timestamps as in :func:`read_long`; every zone on the same hours with no gaps.
    ``max_bytes``: the largest file read (``abm.config.limits.MAX_TRACE_BYTES``).

    Raises:
        InputError: naming the file, column and line of any bad input.
    """
    source, header, rows = _read_csv(path, max_bytes)
    if sorted(header) != sorted(LOAD_COLUMNS):
        raise InputError(source, "header", f"got {quoted(','.join(header))}; required: "
                         f"{','.join(LOAD_COLUMNS)} (each once, nothing else)")
    col = {h: i for i, h in enumerate(header)}
    out = _Collector(source)  # its checks (duplicates, gaps, same hours); load in the price slot
    for line, cells in rows:
        zone = cells[col["zone"]].strip()
        if not zone:
            raise InputError(source, f"line {line}, zone", "empty zone; allowed: a zone id")
        hour = _parse_stamp(source, f"line {line}, timestamp", cells[col["timestamp"]])
        text = cells[col["load_mw"]]
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise InputError(source, f"line {line}, load_mw", f"{quoted(text)}; allowed: a "
                             "finite number of MW >= 0")
        out.add(line, zone, hour, value, math.nan)
    traces = out.build()
    return LoadTrace(traces.zones, traces.hours, traces.price_usd_per_mwh, source)


def read_long(path: str | Path, *, max_bytes: int) -> Traces:
    """Read a long CSV: ``zone,timestamp,price_usd_per_mwh,carbon_g_per_kwh``.

    Price is $/MWh (may be negative), carbon gCO2/kWh (>= 0). Either value column may be absent
    and any value cell empty; those values are NaN.

    Args:
        path: the CSV file.
        max_bytes: the largest file read (``abm.config.limits.MAX_TRACE_BYTES``).

    Returns:
        The traces, zones in order of first appearance.

    Raises:
        InputError: naming the file, column and line of any bad input.
    """
    return _long(*_read_csv(path, max_bytes))


def read_electricity_maps(path: str | Path, zone: str | None = None, *,
                          basis: str = "direct", max_bytes: int) -> Traces:
    """Read an Electricity Maps hourly CSV export (carbon only; price is NaN).

    Args:
        path: the CSV file.
        zone: zone id to use instead of the file's "Zone Id" column (one-zone files only).
        basis: carbon column, ``"direct"`` (default) or ``"lca"`` (life cycle), gCO2eq/kWh.
        max_bytes: the largest file read (``abm.config.limits.MAX_TRACE_BYTES``).

    Returns:
        The traces.

    Raises:
        InputError: naming the file, column and line of any bad input.
    """
    source, header, rows = _read_csv(path, max_bytes)
    return _em(source, header, rows, zone, basis)


def read_traces(path: str | Path, fmt: str = "auto", *, zone: str | None = None,
                basis: str = "direct", max_bytes: int) -> Traces:
    """Read a trace file, detecting its format from the header when ``fmt`` is ``"auto"``.

    Args:
        path: the CSV file.
        fmt: ``"auto"``, ``"long"`` or ``"electricity_maps"``.
        zone: zone override, Electricity Maps exports only.
        basis: carbon basis ``"direct"`` or ``"lca"``, Electricity Maps exports only.
        max_bytes: the largest file read (``abm.config.limits.MAX_TRACE_BYTES``).

    Returns:
        The traces (price $/MWh, carbon gCO2/kWh).

    Raises:
        InputError: for an unknown format, an unrecognised header or any bad input.
    """
    source = str(path)
    if fmt not in FORMATS:
        raise InputError(source, "fmt", f"format {quoted(fmt)}; allowed: {', '.join(FORMATS)}")
    source, header, rows = _read_csv(path, max_bytes)
    if fmt == "auto":
        if _is_long(header):
            fmt = "long"
        elif _is_em(header):
            fmt = "electricity_maps"
        else:
            raise InputError(source, "header",
                             "unrecognised header (line 1); allowed: a "
                             "long CSV "
                             f"({','.join(LONG_COLUMNS)}) or an Electricity Maps export "
                             f"({EM_TIME!r}, {EM_ZONE!r}, {EM_CARBON['direct']!r}, ...)")
    if fmt == "long":
        if zone is not None or basis != "direct":
            raise InputError(source, "fmt", "zone and basis apply to Electricity Maps exports "
                             "only; a long CSV names its zones and gives carbon as is")
        return _long(source, header, rows)
    return _em(source, header, rows, zone, basis)
