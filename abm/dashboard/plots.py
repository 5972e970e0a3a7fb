"""The dashboard's figures: matplotlib ``Figure`` objects (no pyplot state, safe per session).

Each function takes the tables of :class:`abm.dashboard.state.Dashboard` and returns a figure:
the world map, the zones' time series, one zone's generation by technology, the execution
layers, the backlog and demand-response events, and the energy-latency frontier.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from abm.report.figures import (
    NO_FLEXIBILITY,
    date_axis,
    flexibility_axes,
    generation_figure,
    utc,
)
from abm.report.labels import place_labels
from abm.report.worldmap import draw_flow, draw_interconnectors, outline_rings

FLOW_COLOUR = "#5b3f8c"
CARBON_CMAP = "RdYlGn_r"
CARBON_RANGE_KG_PER_MWH = (0.0, 1000.0)  # fixed, so colours compare across hours and settings
BUBBLE_PT2_PER_MW = 5.0  # marker area per MW of IT load, fixed for the same reason
BUBBLE_EDGE_PT = 0.6
LABEL_PT = 7.0
LAYER_COLOURS = {"local": "#c6dbef", "regional": "#6baed6", "energy": "#08519c"}
LAYER_LABELS = {"local": "local", "regional": "regional", "energy": "energy-oriented"}
EMPTY_HINT = "press Step or Play to run the market"


MAP_EXTENT = (-170.0, 180.0, -57.0, 75.0)  # lon, lon, lat, lat shown


@lru_cache(maxsize=1)
def land_image() -> np.ndarray:
    """The country outlines over :data:`MAP_EXTENT`, drawn once as an RGBA raster: redrawing
    ten thousand vertices for every hour would dominate the map's drawing time."""
    fig = Figure(figsize=(14, 14 * (MAP_EXTENT[3] - MAP_EXTENT[2])
                          / (MAP_EXTENT[1] - MAP_EXTENT[0])), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.add_collection(PolyCollection(outline_rings(), facecolor="#e9ecef", edgecolor="white",
                                     lw=0.6))
    ax.set_xlim(*MAP_EXTENT[:2])
    ax.set_ylim(*MAP_EXTENT[2:])
    ax.set_axis_off()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def _empty(ax, text: str = EMPTY_HINT) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color="0.45", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _span(run: int, hours: int) -> int:
    """The x range of a time series: the first day, then as far as the run has gone."""
    return max(min(max(run, 24), hours) - 1, 1)


def _time_axis(ax, start: dt.datetime, run: int, hours: int) -> None:
    """Dates (UTC) on the x axis of a time series: from the run's ``start`` over its first
    day, then as far as the run has gone (``run`` of its ``hours``)."""
    ax.set_xlim(start, start + dt.timedelta(hours=_span(run, hours)))
    date_axis(ax)
    ax.xaxis.label.set_fontsize(8)


def map_figure(regions: pd.DataFrame, flows: pd.DataFrame, title: str, top_flows: int = 30,
               lines: pd.DataFrame | None = None,
               zone_xy: dict[str, tuple[float, float]] | None = None,
               flow_label: str = "served away from origin") -> Figure:
    """Regions sized by IT load and coloured by their zone's marginal carbon, each labelled
    with its id and load (MW), clear of every bubble and label; arrows (``flow_label``) from
    origin to region for the ``top_flows`` largest ``flows`` (MW); the hour's interconnector
    flows between zone locations ``zone_xy`` (red: congested)."""
    fig = Figure(figsize=(11, 5.0))
    ax = fig.add_axes((0.005, 0.01, 0.9, 0.91))
    ax.imshow(land_image(), extent=MAP_EXTENT, aspect="auto", zorder=0)
    if lines is not None and len(lines) and zone_xy:
        draw_interconnectors(ax, lines, zone_xy, max_width=4.0)
        ax.plot([], [], color="#444444", lw=2, label="interconnector flow")
        ax.plot([], [], color="tab:red", lw=2, label="congested")
    where = regions.set_index("region")[["lon", "lat"]]
    shown = flows.head(top_flows)
    scale = 1.0 / max(float(shown.mw.max()), 1.0) if len(shown) else 1.0
    for row in shown.itertuples():
        draw_flow(ax, tuple(where.loc[row.origin]), tuple(where.loc[row.region]),
                  0.6 + 4.0 * row.mw * scale, FLOW_COLOUR)
    norm = Normalize(*CARBON_RANGE_KG_PER_MWH)
    sizes_pt2 = 12 + BUBBLE_PT2_PER_MW * regions.load_mw.to_numpy()
    dots = ax.scatter(regions.lon, regions.lat, s=sizes_pt2,
                      c=regions.marginal_carbon_kg_per_mwh, cmap=CARBON_CMAP, norm=norm,
                      edgecolors="#333333", linewidths=BUBBLE_EDGE_PT, alpha=0.9, zorder=4)
    for mw in (50, 200):
        ax.scatter([], [], s=12 + BUBBLE_PT2_PER_MW * mw, facecolors="none",
                   edgecolors="#333333", label=f"{mw} MW")
    ax.plot([], [], color=FLOW_COLOUR, lw=2, label=flow_label)
    legend = ax.legend(loc="lower left", fontsize=7, labelspacing=1.6, borderpad=1.0,
                       framealpha=0.85)
    fig.colorbar(dots, cax=fig.add_axes((0.925, 0.12, 0.014, 0.72)),
                 label="zone marginal carbon (kg CO2/MWh)")
    ax.set_xlim(*MAP_EXTENT[:2])
    ax.set_ylim(*MAP_EXTENT[2:])
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=10, loc="left")
    # every region named, clear of every bubble and of each other (leader lines where needed)
    place_labels(ax, regions[["lon", "lat"]].to_numpy(),
                 np.sqrt(sizes_pt2) / 2 + BUBBLE_EDGE_PT / 2,
                 [f"{r.region} {r.load_mw:,.0f} MW" for r in regions.itertuples()],
                 fontsize=LABEL_PT, avoid=[legend])
    return fig


def series_figure(zones: pd.DataFrame, hours: int, start: dt.datetime, top: int = 6) -> Figure:
    """Zone price, marginal carbon and data-centre grid load per hour, for the ``top`` zones
    by data-centre load, over the dates of a run of ``hours`` from ``start`` (UTC)."""
    fig = Figure(figsize=(6.4, 5.4))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={
        "left": 0.14, "right": 0.98, "top": 0.89, "bottom": 0.09, "hspace": 0.12})
    panels = (("price_usd_per_mwh", "price ($/MWh)"),
              ("marginal_carbon_kg_per_mwh", "marginal carbon\n(kg/MWh)"),
              ("dc_load_mw", "data-centre load\n(MW)"))
    if zones.empty:
        for ax, (_, label) in zip(axes, panels, strict=True):
            ax.set_ylabel(label, fontsize=8)
        _empty(axes[1])
        return fig
    order = zones.groupby("zone").dc_load_mw.mean().nlargest(top).index
    for ax, (col, label) in zip(axes, panels, strict=True):
        wide = zones.pivot(index="time_utc", columns="zone", values=col)
        when = utc(wide.index.to_series())
        for i, zone in enumerate(order):
            ax.plot(when, wide[zone].to_numpy(), color=f"C{i}", lw=1.4, label=zone)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, ncol=6, loc="lower left", bbox_to_anchor=(0.0, 1.0),
                   frameon=False, handlelength=1.2, columnspacing=1.0)
    fig.text(0.02, 0.985, f"the {len(order)} zones with the most data-centre load", fontsize=9,
             va="top")
    _time_axis(axes[-1], start, int(zones.hour.max()) + 1, hours)
    return fig


def generation_plot(zones: pd.DataFrame, zone: str, hours: int, start: dt.datetime) -> Figure:
    """Generation in ``zone`` by technology per hour and its marginal technology, over the
    dates of a run of ``hours`` from ``start`` (UTC)."""
    fig = generation_figure(zones, zone, f"{zone}: generation by technology (MW) and the "
                            "marginal technology")
    fig.set_size_inches(6.4, 3.6)
    if not zones.empty:
        _time_axis(fig.axes[-1], start, int(zones.hour.max()) + 1, hours)
    return fig


def layers_figure(layers: pd.DataFrame, hours: int, start: dt.datetime) -> Figure:
    """Shares of served demand in the local, regional and energy-oriented layers per hour of a
    run of ``hours`` from ``start`` (UTC; ``layers`` has one row per hour from the start)."""
    fig = Figure(figsize=(4.6, 3.2))
    ax = fig.subplots(gridspec_kw={"left": 0.1, "right": 0.97, "top": 0.9, "bottom": 0.15})
    ax.set_title("execution layers (share of served demand)", fontsize=9, loc="left")
    if layers.empty:
        _empty(ax)
        return fig
    when = np.datetime64(start, "h") + np.arange(len(layers)) * np.timedelta64(1, "h")
    ax.stackplot(when, *(layers[k].to_numpy() for k in LAYER_COLOURS),
                 labels=[f"{LAYER_LABELS[k]} {layers[k].iloc[-1]:.0%}" for k in LAYER_COLOURS],
                 colors=list(LAYER_COLOURS.values()), alpha=0.9)
    ax.set_ylim(0, 1)
    _time_axis(ax, start, len(layers), hours)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower left", framealpha=0.85)
    return fig


def flexibility_plot(flex: pd.DataFrame, events: pd.DataFrame, hours: int,
                     start: dt.datetime) -> Figure:
    """Deferrable work waiting and missed, and the demand-response events (their hours, and
    what they delivered by deferring, relocating and shedding) per hour from the run's first
    hour ``start`` (UTC), MWh; a note where the scenario has neither."""
    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.subplots(gridspec_kw={"left": 0.1, "right": 0.97, "top": 0.88, "bottom": 0.16})
    ax.set_title("backlog and demand-response events (MWh)", fontsize=9, loc="left")
    if len(flex.columns) <= 1:
        _empty(ax, NO_FLEXIBILITY)
        return fig
    if flex.empty:
        _empty(ax)
        return fig
    flexibility_axes(ax, flex, events, start)
    _time_axis(ax, start, len(flex), hours)
    ax.tick_params(labelsize=7)
    ax.yaxis.label.set_fontsize(8)
    ax.legend(fontsize=6, loc="upper right", framealpha=0.85)
    return fig


def frontier_plot(df: pd.DataFrame, tiers: tuple[tuple[str, float], ...]) -> Figure:
    """Optimal cost C*(B) and least emissions E*(B) as the latency budget B is relaxed, the
    emissions of the cost optimum, and the tiers' own budgets as dotted lines."""
    fig = Figure(figsize=(4.6, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(df.budget_ms, df.cost_usd / 1e3, "o-", color="tab:blue", ms=3, label="cost C*")
    ax.set_ylabel("cost (k$/h)", color="tab:blue", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("latency budget, every class (ms, round trip)", fontsize=8)
    right = ax.twinx()
    right.plot(df.budget_ms, df.emissions_kg / 1e3, "s--", color="tab:green", ms=3,
               label="least emissions E*")
    right.plot(df.budget_ms, df.placed_emissions_kg / 1e3, "^:", color="tab:olive", ms=3,
               label="emissions of C*")
    right.set_ylabel("tCO2/h", color="tab:green", fontsize=8)
    for name, budget in tiers:
        ax.axvline(budget, color="0.5", ls=":", lw=1)
        ax.text(budget, 0.98, f" {name}", rotation=90, va="top", fontsize=7, color="0.35",
                transform=ax.get_xaxis_transform())
    for a in (ax, right):
        a.tick_params(labelsize=7)
    handles = [*ax.get_legend_handles_labels()[0], *right.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=3, frameon=False)
    ax.set_title("energy-latency frontier of these settings", fontsize=9, loc="left")
    return fig
