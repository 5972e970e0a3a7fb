"""A world map for figures (matplotlib, plate carree): country outlines, sites, flows and
interconnectors.

The outlines are Natural Earth 1:110m countries (public domain), rounded to 0.1 degree and
shipped in ``abm/data/world_outline.csv`` (derived by ``experiments/derive_world_outline.py``).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.patches import FancyArrowPatch

from abm.data.dataset import DATA_DIR

OUTLINE = DATA_DIR / "world_outline.csv"
EXTENT = (-180.0, 180.0, -58.0, 78.0)  # lon min, lon max, lat min, lat max (degrees)


@cache
def outline_rings() -> tuple[np.ndarray, ...]:
    """Country outline rings, each an (N, 2) array of (lon, lat) in degrees."""
    df = pd.read_csv(OUTLINE, comment="#")
    return tuple(g[["lon", "lat"]].to_numpy() for _, g in df.groupby("ring", sort=True))


def draw_world(ax: Axes) -> None:
    """Draw land (light grey, white borders) on ``ax`` and frame it to the inhabited world."""
    ax.add_collection(PolyCollection(outline_rings(), facecolor="#e8e8e8", edgecolor="white",
                                     linewidth=0.4, zorder=0))
    ax.set_xlim(*EXTENT[:2])
    ax.set_ylim(*EXTENT[2:])
    ax.set_aspect("equal")
    ax.set_facecolor("#f5f9fc")
    ax.set_xticks([])
    ax.set_yticks([])


def draw_flow(ax: Axes, src: tuple[float, float], dst: tuple[float, float], width: float,
              colour: str = "tab:purple") -> None:
    """An arrow from ``src`` to ``dst`` (lon, lat in degrees), the short way round the globe:
    a flow across the date line is drawn as two arrows leaving and entering the map's edges."""
    (x0, y0), (x1, y1) = src, dst
    shifts = [(0.0, 0.0)]
    if x1 - x0 > 180:
        shifts = [(0.0, -360.0), (360.0, 0.0)]
    elif x0 - x1 > 180:
        shifts = [(0.0, 360.0), (-360.0, 0.0)]
    for s0, s1 in shifts:
        ax.add_patch(FancyArrowPatch(
            (x0 + s0, y0), (x1 + s1, y1), connectionstyle="arc3,rad=0.15",
            arrowstyle=f"-|>,head_length={2 + width},head_width={1 + width / 2}",
            linewidth=width, color=colour, alpha=0.55, zorder=2, clip_on=True))


def draw_interconnectors(ax: Axes, lines: pd.DataFrame, xy: dict[str, tuple[float, float]],
                         max_width: float = 5.0) -> None:
    """Interconnectors between zone locations ``xy`` (zone -> (lon, lat)): a line each, its
    width by the mean flow, an arrow head pointing the way of the mean flow, red where the line
    was congested (alpha: share of the hours it was), above the sites so that short lines
    between neighbours show.

    Args:
        ax: the map.
        lines: the ``lines`` table of a run (one row per hour and line: ``line``,
            ``from_zone``, ``to_zone``, ``flow_mw`` signed, + from ``from_zone``,
            ``congested``), for one hour or many (then averaged).
        xy: zone locations.
        max_width: line width (points) of the largest flow.
    """
    mean = lines.groupby(["line", "from_zone", "to_zone"], sort=True).agg(
        flow_mw=("flow_mw", "mean"), congested=("congested", "mean")).reset_index()
    shown = mean[mean.from_zone.isin(xy) & mean.to_zone.isin(xy)]
    top = max(float(shown.flow_mw.abs().max()), 1e-9) if len(shown) else 1.0
    for row in shown.itertuples():
        a, b = xy[row.from_zone], xy[row.to_zone]
        if row.flow_mw < 0:
            a, b = b, a
        width = 0.8 + max_width * abs(row.flow_mw) / top
        congested = min(max(float(row.congested), 0.0), 1.0)
        colour, alpha = ("tab:red", 0.35 + 0.6 * congested) if congested else ("#444444", 0.6)
        ax.add_patch(FancyArrowPatch(
            a, b, arrowstyle=f"-|>,head_length={1.5 + width / 2},head_width={1 + width / 3}",
            linewidth=width, color=colour, alpha=alpha, zorder=4.5, clip_on=True))


def zone_locations(regions) -> dict[str, tuple[float, float]]:
    """Zone -> (lon, lat): the mean location of the compute regions (with ``zone``, ``lon``,
    ``lat``) in it."""
    out: dict[str, list[tuple[float, float]]] = {}
    for g in regions:
        out.setdefault(g.zone, []).append((g.lon, g.lat))
    return {z: tuple(np.mean(v, axis=0)) for z, v in out.items()}
