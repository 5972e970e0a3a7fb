"""The headroom of a scenario's grid zones (docs/headroom.md): every zone's hourly background
load over a calendar year (or from a file of hourly load), its peak thresholds, the zones
within each latency budget, and the constant new load each zone can host at each curtailment
share, curtailed (the Duke method), relocating to other zones, or deferring
(``abm.grid.headroom``).

This is a calculation on the grid's background load alone, not a run of the market: the
deferral here is not the market's backlog of deferrable work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd

from abm.config.limits import MAX_TRACE_BYTES
from abm.config.schema import Scenario
from abm.data.grid_tables import demand_shape_basis, load_grid_data
from abm.data.traces import read_load
from abm.errors import InputError, quoted
from abm.grid.availability import zone_lat_lon
from abm.grid.headroom import (
    PEAK_RULES,
    cap_mw,
    curtailed_mwh,
    deferral,
    deferred_headroom_mw,
    events,
    headroom_mw,
    peak_seasons,
    pooled_cap_mw,
    summer_season,
    threshold_mw,
)
from abm.grid.market import background_mw
from abm.grid.responses import borrowed_stacks

SHARES_PCT = (0.25, 0.5, 1.0)  # Norris et al. 2025's curtailment limits (and 5 %)
RTT_BUDGETS_MS = (10.0, 50.0, 150.0)
DEFER_HOURS = (1, 4, 24)
COLUMNS = ("zone_id", "variant", "mode", "rtt_ms", "defer_h", "share_pct", "headroom_mw",
           "headroom_pct_of_peak", "gain_mw", "peak_mw", "peak_hours", "series_hours",
           "threshold_summer_mw", "threshold_winter_mw", "mean_load_mw", "load_factor",
           "reduced_hours", "events",
           "mean_event_h", "curtailed_mwh", "relocated_mwh", "deferred_mwh", "relocation_zones",
           "peak_rule", "load_source")


@dataclass(frozen=True)
class Background:
    """The zones' hourly background load over a series of UTC hours.

    Attributes:
        zone_ids: the zones.
        months: (H,) month (1-12) of each hour, UTC.
        load_mw: (H, Z) background load.
        southern: (Z,) the zone lies south of the equator (its seasons are six months apart).
        source: (Z,) where each zone's series comes from, in words.
    """

    zone_ids: tuple[str, ...]
    months: np.ndarray
    load_mw: np.ndarray
    southern: np.ndarray
    source: tuple[str, ...]

    @property
    def hours(self) -> int:
        """H, the hours of the series."""
        return len(self.months)


def year_hours(year: int) -> np.ndarray:
    """Every UTC hour of the calendar year ``year``, ``datetime64[h]``."""
    return np.arange(np.datetime64(f"{year}-01-01T00", "h"),
                     np.datetime64(f"{year + 1}-01-01T00", "h"))


def _month_hour(hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(month 1-12, UTC hour 0-23) of ``datetime64[h]`` stamps."""
    months = hours.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return months, hours.astype(np.int64) % 24


def _span(hours: np.ndarray) -> str:
    first, last = (str(h).replace("T", " ") for h in (hours[0], hours[-1]))
    return f"{first}:00 to {last}:00 UTC"


def model_background(scenario: Scenario, year: int | None = None,
                     hours: np.ndarray | None = None) -> Background:
    """The background load the grid market clears each hour (docs/grid.md, "Weather"): each
    zone's mean demand times its month x UTC-hour shape, over every hour of ``year`` (default:
    the year the scenario starts in) or over ``hours`` (``datetime64[h]``, UTC)."""
    data = borrowed_stacks(load_grid_data(scenario.grid.data), scenario)
    zone_ids = tuple(z.id for z in scenario.zones)
    if hours is None:
        hours = year_hours(scenario.start.year if year is None else year)
    months, hour_utc = _month_hour(hours)
    load = background_mw(np.array([z.load_mw for z in scenario.zones], dtype=float),
                         data.shape(zone_ids), months, hour_utc)
    basis = demand_shape_basis(data.source)
    donors = dict(scenario.grid.stack_from)
    source = tuple(
        f"{_span(hours)}: mean demand {z.load_mw:,.0f} MW x the month x UTC-hour shape of "
        f"{donors.get(z.id, z.id)} ({basis.get(donors.get(z.id, z.id), 'basis not stated')}, "
        "demand_shape.csv)" for z in scenario.zones)
    southern = zone_lat_lon(scenario.regions, zone_ids)[:, 0] < 0
    return Background(zone_ids, months, load, southern, source)


def traced_background(scenario: Scenario, path: str | Path) -> Background:
    """The zones' background load from an hourly load file (``zone,timestamp,load_mw``,
    :func:`abm.data.traces.read_load`) over its hours; the scenario's zones the file does not
    give take :func:`model_background` over the same hours, and their source says so.

    Raises:
        InputError: a zone of the file that is not one of the scenario's, or bad input.
    """
    trace = read_load(path, max_bytes=MAX_TRACE_BYTES)
    zone_ids = tuple(z.id for z in scenario.zones)
    unknown = [z for z in trace.zones if z not in zone_ids]
    if unknown:
        raise InputError(trace.source, "zone", f"{quoted(unknown)} not zones of the scenario; "
                         f"allowed: {', '.join(zone_ids)}")
    shaped = model_background(scenario, hours=trace.hours)
    load = shaped.load_mw.copy()
    source = list(shaped.source)
    for j, zone in enumerate(trace.zones):
        z = zone_ids.index(zone)
        load[:, z] = trace.load_mw[:, j]
        source[z] = f"{_span(trace.hours)}: hourly load from {trace.source}"
    return dataclasses.replace(shaped, load_mw=load, source=tuple(source))


def zone_rtt_ms(scenario: Scenario, zone_ids: Sequence[str]) -> np.ndarray:
    """(Z, Z) round-trip time between zones, ms: the least between a region of one and a
    region of the other (0 on the diagonal)."""
    index = {z: i for i, z in enumerate(zone_ids)}
    lat = scenario.latency
    out = np.full((len(zone_ids), len(zone_ids)), np.inf)
    zone_of = {r.id: r.zone for r in scenario.regions}
    for a, ra in enumerate(lat.region_ids):
        for b, rb in enumerate(lat.region_ids):
            za, zb = index.get(zone_of.get(ra, "")), index.get(zone_of.get(rb, ""))
            if za is not None and zb is not None:
                out[za, zb] = min(out[za, zb], float(lat.rtt_ms[a, b]))
    np.fill_diagonal(out, 0.0)
    return out


def _row(zone: str, variant: str, mode: str, share_pct: float, load_mw: float,
         draw_mw: np.ndarray, curtailed: float, relocated: float, deferred: float,
         **fields: object) -> dict:
    reduced, runs = events(draw_mw, load_mw)
    return dict(zone_id=zone, variant=variant, mode=mode, share_pct=share_pct,
                headroom_mw=load_mw, reduced_hours=reduced, events=runs,
                mean_event_h=reduced / runs if runs else np.nan, curtailed_mwh=curtailed,
                relocated_mwh=relocated, deferred_mwh=deferred, **fields)


def zone_headroom(background: Background, rtt_ms: np.ndarray, *,
                  shares_pct: Sequence[float] = SHARES_PCT,
                  rtt_budgets_ms: Sequence[float] = RTT_BUDGETS_MS,
                  defer_hours: Sequence[int] = DEFER_HOURS, peak_rule: str = "annual",
                  progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """The headroom of every zone, one row per zone, variant and curtailment share.

    Args:
        background: the zones' hourly background load.
        rtt_ms: (Z, Z) round-trip time between zones, ms (for relocation).
        shares_pct: curtailment shares of the new load's energy, % (each in (0, 100)).
        rtt_budgets_ms: latency budgets of relocation, ms round trip.
        defer_hours: how long work may wait, hours.
        peak_rule: ``"annual"`` or ``"seasonal"`` (Norris et al. 2025; ``threshold_mw``).
        progress: called with (zones done, zones) once before the first zone and after each
            (``abm.market.progress.RunProgress``).

    Returns:
        A DataFrame with the columns of ``COLUMNS``: variant ``curtail`` (the Duke method),
        ``relocate <b> ms`` and ``defer <d> h``; ``gain_mw`` is the headroom beyond
        ``curtail`` at the same share; ``peak_hours`` the hours at the zone's peak (more
        than a share's worth of them and ``curtail`` is 0 at that share); energies are over
        the series (MWh).
    """
    if peak_rule not in PEAK_RULES:
        raise ValueError(f"peak rule {peak_rule!r}: expected one of {', '.join(PEAK_RULES)}")
    bg, months = background.load_mw, background.months
    Z = len(background.zone_ids)
    thresholds = np.stack([threshold_mw(bg[:, z], months, peak_rule,
                                        bool(background.southern[z])) for z in range(Z)], axis=1)
    caps = np.stack([cap_mw(bg[:, z], thresholds[:, z]) for z in range(Z)])  # (Z, H)
    rows = []
    if progress is not None:
        progress(0, Z)
    for z, zone in enumerate(background.zone_ids):
        peak = float(bg[:, z].max())
        summer = summer_season(months, bool(background.southern[z]))
        common = dict(peak_mw=peak, peak_hours=int((bg[:, z] >= peak * (1 - 1e-9)).sum()),
                      series_hours=background.hours,
                      mean_load_mw=float(bg[:, z].mean()),
                      load_factor=float(bg[:, z].mean() / peak),
                      threshold_summer_mw=float(thresholds[summer, z].max()) if summer.any()
                      else np.nan,
                      threshold_winter_mw=float(thresholds[~summer, z].max()) if
                      (~summer).any() else np.nan,
                      peak_rule=peak_rule, load_source=background.source[z])
        cap = caps[z]
        for share_pct in shares_pct:
            s = share_pct / 100
            base = headroom_mw(cap, s)
            curt = curtailed_mwh(cap, base)
            rows.append(_row(zone, "curtail", "curtail", share_pct, base,
                             np.minimum(cap, base), curt, 0.0, 0.0, rtt_ms=np.nan,
                             defer_h=np.nan, gain_mw=0.0, relocation_zones="", **common))
            for budget in rtt_budgets_ms:
                near = np.flatnonzero((rtt_ms[z] <= budget) & (np.arange(Z) != z))
                pooled = pooled_cap_mw(cap, caps[near])
                load = headroom_mw(pooled, s)
                curt = curtailed_mwh(pooled, load)
                relocated = float(np.maximum(load - cap, 0.0).sum()) - curt
                rows.append(_row(zone, f"relocate {budget:g} ms", "relocate", share_pct, load,
                                 np.minimum(cap, load), curt, relocated, 0.0, rtt_ms=budget,
                                 defer_h=np.nan, gain_mw=load - base,
                                 relocation_zones=" ".join(background.zone_ids[w]
                                                           for w in near), **common))
            for d in defer_hours:
                load = deferred_headroom_mw(cap, s, d)
                out = deferral(cap, load, d)
                rows.append(_row(zone, f"defer {d:g} h", "defer", share_pct, load, out.draw_mw,
                                 out.curtailed_mwh, 0.0, out.deferred_mwh, rtt_ms=np.nan,
                                 defer_h=float(d), gain_mw=load - base, relocation_zones="",
                                 **common))
        if progress is not None:
            progress(z + 1, Z)
    df = pd.DataFrame(rows)
    df["headroom_pct_of_peak"] = 100 * df.headroom_mw / df.peak_mw
    return df[list(COLUMNS)]


def checked_settings(shares_pct: Sequence[float], rtt_budgets_ms: Sequence[float],
                     defer_hours: Sequence[int], peak_rule: str
                     ) -> tuple[tuple[float, ...], tuple[float, ...], tuple[int, ...]]:
    """The settings of a headroom calculation, each list sorted and unique; a bad one raises
    :class:`abm.errors.InputError` naming it and what is allowed."""
    def numbers(values: Sequence, field: str, ok, allowed: str) -> tuple:
        try:
            out = sorted({v for v in values})
        except TypeError:
            raise InputError("headroom", field, f"expected a list of numbers, got "
                             f"{quoted(values)}") from None
        bad = [v for v in out if isinstance(v, bool) or not isinstance(v, Real) or not ok(v)]
        if bad or not out:
            raise InputError("headroom", field, f"expected {allowed}, got {quoted(values)}")
        return tuple(out)

    if peak_rule not in PEAK_RULES:
        raise InputError("headroom", "peak", f"expected one of {', '.join(PEAK_RULES)}, got "
                         f"{quoted(peak_rule)}")
    return (numbers(shares_pct, "shares_pct", lambda v: 0 < v < 100,
                    "curtailment shares in % of the load's energy, each > 0 and < 100"),
            numbers(rtt_budgets_ms, "rtt_ms", lambda v: 0 < v < float("inf"),
                    "latency budgets in ms, each > 0 and finite"),
            tuple(int(v) for v in numbers(defer_hours, "defer_h",
                                          lambda v: float(v).is_integer() and v >= 1,
                                          "whole numbers of hours, each >= 1")))


def scenario_headroom(scenario: Scenario, *, shares_pct: Sequence[float] = SHARES_PCT,
                      rtt_budgets_ms: Sequence[float] = RTT_BUDGETS_MS,
                      defer_hours: Sequence[int] = DEFER_HOURS, peak_rule: str = "annual",
                      load_path: str | Path | None = None,
                      progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """:func:`zone_headroom` of the scenario's zones on the grid's background load over the
    year the scenario starts in (or on the hourly load of ``load_path``,
    :func:`traced_background`), with the round-trip times of its regions; settings checked
    by :func:`checked_settings`."""
    shares, budgets, hours = checked_settings(shares_pct, rtt_budgets_ms, defer_hours,
                                              peak_rule)
    background = (model_background(scenario) if load_path is None
                  else traced_background(scenario, load_path))
    if peak_rule == "seasonal":
        for z, zone in enumerate(background.zone_ids):
            summer, winter = peak_seasons(background.months, bool(background.southern[z]))
            if not (summer.any() and winter.any()):
                raise InputError(load_path or "headroom", "peak", f"zone {zone}: the seasonal "
                                 "rule needs hours in both peak seasons (June-August and "
                                 "December-February, six months on south of the equator); "
                                 "allowed: a longer series, or --peak annual")
    return zone_headroom(background, zone_rtt_ms(scenario, background.zone_ids),
                         shares_pct=shares, rtt_budgets_ms=budgets, defer_hours=hours,
                         peak_rule=peak_rule, progress=progress)
