"""Figures of a run: each function returns a matplotlib ``Figure`` (no pyplot state, so that
importing this module never changes matplotlib's backend; a notebook shows the figure, the
command line saves it with :func:`save`)."""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from abm.files import write_atomic
from abm.market.reporters import EVENT_VALUES
from abm.report.zone_effects import technologies

# fixed colours, so a technology looks the same in every figure
TECHNOLOGY_COLOURS = {
    "nuclear": "#7b4fa0", "hydro": "#1f5fa8", "wind": "#5fa8d3", "solar": "#f2c500",
    "bioenergy": "#3a9a4a", "other": "#9cc9a0", "coal": "#262626", "lignite": "#6b4a2b",
    "gas_ccgt": "#f08c32", "gas_ocgt": "#c8501e", "oil": "#9b1c1c", "other_thermal": "#9a9a9a",
    "carbon_free": "#6cbf6c", "fossil": "#5a5a5a", "shedding": "#e0009a",
}


class ShownFigure(Figure):
    """A matplotlib Figure that Jupyter shows as a PNG even where pyplot was never imported
    (IPython's own Figure formatter, once pyplot is loaded, takes precedence: one image)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


def utc(times: pd.Series) -> np.ndarray:
    """A table's ``time_utc`` (time-zone aware) as UTC datetimes matplotlib plots as dates."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


def date_axis(ax: Axes) -> None:
    """Dates on ``ax``'s x axis, as short as they can be (day, then hours), labelled UTC."""
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")


def subplots(*args, figsize: tuple[float, float], **kwargs):
    """A new ``Figure`` (constrained layout, not managed by pyplot) and its axes, as
    ``pyplot.subplots`` returns them."""
    fig = ShownFigure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(*args, **kwargs)


def save(fig: Figure, path: Path, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG file (its format from the suffix), atomically; return the path."""
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".")))
    return path


def frontier_figure(df: pd.DataFrame, title: str) -> Figure:
    """Cost and emissions (left), relocatable and relocated demand and layers (right) vs budget
    (``df``: a frontier table, :func:`abm.core.frontier.frontier`)."""
    fig = ShownFigure(figsize=(11, 4.2), layout="constrained")
    ax1, ax3 = fig.subplots(1, 2)
    b = df.budget_ms
    ax1.plot(b, df.cost_usd, "o-", color="tab:blue", label="cost")
    ax1.set_xlabel("latency budget (ms, round trip)")
    ax1.set_ylabel("cost ($/h)", color="tab:blue")
    ax2 = ax1.twinx()
    ax2.plot(b, df.emissions_kg / 1000, "s--", color="tab:green", label="least emissions E*")
    ax2.plot(b, df.placed_emissions_kg / 1000, "^:", color="tab:olive",
             label="emissions of the cost optimum")
    ax2.set_ylabel("emissions (tCO2/h)", color="tab:green")
    ax2.legend(loc="upper right", fontsize=8)
    ax1.set_title("energy-latency frontier: cost C* and carbon E*")
    ax3.stackplot(b, df.layer_local_share, df.layer_regional_share, df.layer_energy_share,
                  labels=["local", "regional", "energy-oriented"],
                  colors=["#c6dbef", "#6baed6", "#08519c"], alpha=0.8)
    ax3.plot(b, df.rid, "k-", lw=2, label="relocatable demand (RID)")
    ax3.set_ylim(0, 1)
    ax3.set_xlabel("latency budget (ms, round trip)")
    ax3.set_ylabel("share of demand")
    ax3.set_title("execution layers")
    ax3.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    return fig


def zone_load_figure(zones: pd.DataFrame, title: str) -> Figure:
    """Data-centre grid load by zone over the run (stacked): where demand moved."""
    wide = zones.pivot(index="time_utc", columns="zone", values="dc_load_mw")
    order = wide.mean().sort_values(ascending=False).index
    wide = wide[order]
    fig = ShownFigure(figsize=(11, 4.8), layout="constrained")
    ax = fig.subplots()
    colours = colormaps["tab20"].colors + colormaps["tab20b"].colors
    ax.stackplot(utc(wide.index.to_series()), wide.T.to_numpy(), labels=list(wide.columns),
                 colors=colours[: wide.shape[1]])
    date_axis(ax)
    ax.set_ylabel("data-centre grid load (MW)")
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, ncol=1)
    ax.margins(x=0)
    return fig


def generation_figure(zones: pd.DataFrame, zone: str, title: str) -> Figure:
    """One zone over the run: generation by technology (stacked, MW), the zone's load
    (generation plus net imports) and the marginal technology of every hour (strip below).

    Args:
        zones: a run's zones table (``time_utc``, ``zone``, ``gen_<technology>_mw``,
            ``net_import_mw``, ``marginal_technology``).
        zone: the zone shown.
        title: the figure's title.
    """
    z = zones[zones.zone == zone].sort_values("time_utc")
    techs = [t for t in technologies(z) if z[f"gen_{t}_mw"].abs().max() > 1e-9]
    fig = ShownFigure(figsize=(10, 4.6), layout="constrained")
    ax, strip = fig.subplots(2, 1, sharex=True, height_ratios=[6, 1])
    if z.empty:
        ax.text(0.5, 0.5, f"no hours of zone {zone} yet", ha="center", transform=ax.transAxes)
        return fig
    gen = z[[f"gen_{t}_mw" for t in techs]]
    when = utc(z.time_utc)
    ax.stackplot(when, gen.T.to_numpy(), labels=techs,
                 colors=[TECHNOLOGY_COLOURS.get(t, "#bbbbbb") for t in techs], alpha=0.9)
    ax.plot(when, gen.sum(axis=1) + z.net_import_mw, color="black", lw=1.2,
            label="load (generation + net imports)")
    ax.set_ylabel("MW")
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)
    ax.margins(x=0)
    for tech, rows in z.groupby("marginal_technology", sort=True):
        strip.scatter(utc(rows.time_utc), [0] * len(rows), marker="s", s=18, lw=0, label=tech,
                      color=TECHNOLOGY_COLOURS.get(tech, "#bbbbbb"))
    strip.set_yticks([])
    strip.set_ylabel("marginal", fontsize=8)
    strip.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, ncol=2)
    date_axis(strip)
    return fig


def busiest_zone(zones: pd.DataFrame) -> str:
    """The zone with the most data-centre grid energy over a run."""
    return str(zones.groupby("zone").dc_load_mw.sum().idxmax())


def emissions_figure(model: pd.DataFrame, title: str) -> Figure:
    """Emissions per hour on the average, marginal and system bases, the relocation effect
    (system emissions of the market's placement minus those of the status quo) and MWh moved."""
    fig = ShownFigure(figsize=(11, 6), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    for col, label, style in (("emissions_average_kg", "attributed, average intensity", "-"),
                              ("emissions_marginal_kg", "attributed, marginal intensity", "--"),
                              ("emissions_system_kg", "system: with minus without the load", ":"),
                              ("relocation_effect_kg",
                               "relocation effect: market's placement minus status quo", "-.")):
        ax1.plot(utc(model.time_utc), model[col] / 1000, style, label=label)
    ax1.axhline(0.0, color="0.6", lw=0.6)
    ax1.set_ylabel("tCO2 per hour")
    ax1.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)  # off the lines
    ax1.set_title(title)
    # one filled step line, not a bar per hour (a year has 8,784 of them)
    ax2.fill_between(utc(model.time_utc), model.moved_mwh, step="mid", color="tab:purple",
                     lw=0)
    ax2.set_ylabel("MWh moved")
    date_axis(ax2)
    return fig


#: the model table's columns the backlog and events figure reads, where a run has them
FLEX_COLUMNS = ("backlog_mwh", "missed_mwh", *EVENT_VALUES)
#: how an event's delivered MWh went, bar colours (docs/market.md, "Demand-response events")
ANSWER_COLOURS = {"deferred": "#3182bd", "relocated": "#31a354", "shed": "#de2d26"}
NO_FLEXIBILITY = "no deferrable work and no demand-response events in this scenario"


def flexibility_axes(ax, flex: pd.DataFrame, events: pd.DataFrame, start: dt.datetime) -> None:
    """Draw on ``ax`` per hour: the deferrable work waiting at the hour's end (line) and what
    missed its deadline (red steps), each demand-response event's hours (shaded, labelled with
    its zone and cut) and what the events delivered, by how (stacked bars: deferred,
    relocated, shed), all MWh.

    Args:
        flex: one row per hour: ``hour`` and what the run has of ``backlog_mwh``,
            ``missed_mwh``, ``event_<deferred, relocated, shed>_mwh``.
        events: the run's hourly events rows (``hour``, ``event``, ``zone``, ``start_hour``,
            ``cut_pct``; may be empty).
        start: the run's first hour (UTC, naive): hour h is drawn at ``start + h`` hours.
    """
    def at(hour: float) -> dt.datetime:
        return start + dt.timedelta(hours=float(hour))

    when = [at(h) for h in flex.hour]
    if "backlog_mwh" in flex:
        ax.plot(when, flex.backlog_mwh, color="0.25", lw=1.2, label="work waiting (backlog)")
        ax.fill_between(when, flex.missed_mwh, step="mid", color="#a50f15", alpha=0.6,
                        lw=0, label="missed its deadline")
    if "event_deferred_mwh" in flex:
        bottom_pos = pd.Series(0.0, index=flex.index)
        bottom_neg = pd.Series(0.0, index=flex.index)
        for how, colour in ANSWER_COLOURS.items():
            v = flex[f"event_{how}_mwh"]
            bottom = bottom_pos.where(v >= 0, bottom_neg)
            ax.bar(when, v, bottom=bottom, width=0.9 / 24, color=colour,  # days: 0.9 h
                   label=f"event: {how}")
            bottom_pos += v.clip(lower=0)
            bottom_neg += v.clip(upper=0)
    if not events.empty:
        for i, (_key, rows) in enumerate(events.groupby(["start_hour", "event"])):
            first, last = int(rows.hour.min()), int(rows.hour.max())
            ax.axvspan(at(first - 0.5), at(last + 0.5), color="#fdae6b", alpha=0.25, lw=0)
            ax.text(at(first - 0.4), 0.98 - 0.07 * (i % 3),  # staggered: close events' labels
                    f"{rows.zone.iloc[0]} -{rows.cut_pct.iloc[0]:g}%",
                    transform=ax.get_xaxis_transform(), fontsize=6, va="top", color="#a63603")
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_ylabel("MWh")
    date_axis(ax)


def flexibility_figure(flex: pd.DataFrame, events: pd.DataFrame, title: str,
                       start: dt.datetime) -> Figure:
    """The run's backlog and demand-response events (:func:`flexibility_axes`) from its first
    hour ``start`` (UTC)."""
    fig, ax = subplots(figsize=(11, 3.6))
    ax.set_title(title)
    flexibility_axes(ax, flex, events, start)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    return fig


def shift_figure(flows: list[dict], title: str, top: int = 15) -> Figure:
    """The ``top`` largest origin-zone to execution-zone flows over the run (MWh); ``flows``
    as in the run summary (any order)."""
    flows = sorted(flows, key=lambda f: -f["mwh"])[:top]
    fig = ShownFigure(figsize=(8, 0.35 * max(len(flows), 4) + 1.2), layout="constrained")
    ax = fig.subplots()
    labels = [f"{f['from_zone']} -> {f['to_zone']}" for f in flows][::-1]
    ax.barh(labels, [f["mwh"] for f in flows][::-1], color="tab:blue")
    ax.set_xlabel("MWh served away from the origin zone")
    ax.set_title(title)
    if not flows:
        ax.text(0.5, 0.5, "no demand left its origin zone", ha="center", transform=ax.transAxes)
    return fig


def _round_down(value: float) -> float:
    """``value`` rounded down to 1, 2 or 5 times a power of ten (a legend's reference size)."""
    power = 10 ** math.floor(math.log10(value))
    return max(m for m in (1, 2, 5, 10) if m * power <= value) * power


def _place_labels(ax, items: list[tuple[str, tuple[float, float], float]], fontsize: float,
                  deg_per_pt: float) -> None:
    """Label map points without overlaps: each label (text, (lon, lat), bubble radius in pt)
    takes the first place around its circle (below, above, right, left, then the diagonals)
    that overlaps no circle and no label placed before it (largest circles first); a label
    with no free place is left out."""
    placed = [(x - r * deg_per_pt, y - r * deg_per_pt, x + r * deg_per_pt, y + r * deg_per_pt)
              for _, (x, y), r in items]  # the circles, as obstacles
    for text, (x, y), radius in items:
        lines = text.split("\n")
        w = 0.62 * fontsize * max(len(s) for s in lines) * deg_per_pt
        h = 1.25 * fontsize * len(lines) * deg_per_pt
        gap = (radius + 2) * deg_per_pt
        for dx, dy in ((0, -gap - h / 2), (0, gap + h / 2), (gap + w / 2, 0), (-gap - w / 2, 0),
                       (gap + w / 2, -gap - h / 2), (-gap - w / 2, gap + h / 2),
                       (gap + w / 2, gap + h / 2), (-gap - w / 2, -gap - h / 2)):
            box = (x + dx - w / 2, y + dy - h / 2, x + dx + w / 2, y + dy + h / 2)
            if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3]
                   for b in placed):
                placed.append(box)
                ax.text(x + dx, y + dy, text, fontsize=fontsize, ha="center", va="center",
                        zorder=4)
                break


def map_figure(run, baseline=None) -> Figure:
    """World map of one run (an :class:`abm.report.results.Run`): circles sized by the data-centre
    grid energy per zone (MWh) or, against ``baseline``, by its change (red up, blue down),
    with a size legend; arrows for the largest zone-to-zone shifts; interconnectors by mean
    flow, red where congested. Labels never overlap (the smallest circles lose theirs)."""
    from abm.report.worldmap import (
        EXTENT,
        draw_flow,
        draw_interconnectors,
        draw_world,
        zone_locations,
    )

    fig, ax = subplots(figsize=(11, 4.9))
    draw_world(ax)
    xy = zone_locations(run.scenario.regions)
    lines = run.tables.get("lines")
    if lines is not None and len(lines):
        draw_interconnectors(ax, lines, xy)
    flows = run.summary["shifted_mwh_by_zone_pair"][:12]
    top = max((f["mwh"] for f in flows), default=1.0)
    for f in flows:
        if f["from_zone"] in xy and f["to_zone"] in xy:
            draw_flow(ax, xy[f["from_zone"]], xy[f["to_zone"]], 0.6 + 4.4 * f["mwh"] / top)
    load = run.tables["zones"].groupby("zone").dc_load_mw.sum()
    against = baseline is not None and baseline is not run
    if against:
        values = load.sub(baseline.tables["zones"].groupby("zone").dc_load_mw.sum(),
                          fill_value=0.0)
        title = "change in data-centre grid energy vs baseline (red up, blue down) and shifts"
    else:
        values, title = load, "data-centre grid energy (grey, MWh) and largest shifts (arrows)"
    largest = max(float(values.abs().max()), 1e-9)
    scale = 900.0 / largest  # marker area (pt^2) per MWh
    labels = []
    for zone, v in values.abs().sort_values(ascending=False).items():
        if zone not in xy:
            continue
        v = float(values[zone])
        colour = ("tab:red" if v > 0 else "tab:blue") if against else "grey"
        area = abs(v) * scale + 4
        ax.scatter(*xy[zone], s=area, color=colour, alpha=0.6, edgecolor="black",
                   linewidth=0.4, zorder=3)
        if abs(v) * scale > 30:
            labels.append((f"{zone}\n{v:+,.0f}" if against else f"{zone}\n{v:,.0f}", xy[zone],
                           math.sqrt(area) / 2))
    width_pt = 0.95 * 11 * 72  # the map spans about the figure's width
    _place_labels(ax, labels, 6.5, (EXTENT[1] - EXTENT[0]) / width_pt)
    reference = _round_down(largest)
    sizes = [s for s in (reference, _round_down(reference / 4), _round_down(reference / 20))
             if s * scale >= 8]
    handles = [ax.scatter([], [], s=s * scale + 4, color="grey", alpha=0.6, edgecolor="black",
                          linewidth=0.4) for s in dict.fromkeys(sizes)]
    ax.legend(handles, [f"{s:,.0f} MWh" for s in dict.fromkeys(sizes)], loc="lower left",
              fontsize=7, title="change (size)" if against else "energy (size)",
              title_fontsize=7, labelspacing=1.6, borderpad=1.1, handletextpad=1.6,
              framealpha=0.85)
    ax.set_title(f"{run.label}: {title}", fontsize=10)
    return fig
