"""Figures of a report that compare scenarios (``abm report``): each returns a matplotlib
``Figure`` sized for a report column (11 in at 110 dpi, about 1,200 px, text 8 pt or more).

Where a scenario ran with several seeds (``abm report --replications N``), a figure shows the
mean over the seeds and a band from the lowest to the highest seed's value: error bars on dots
and bars, a shaded band around lines. Bands of changes against the baseline come from paired
runs (the same seed), so they show the spread of the scenario's effect, not of the weather or
the drawn operators.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.colors import SymLogNorm
from matplotlib.figure import Figure

from abm.core.metrics import LAYERS
from abm.report.figures import TECHNOLOGY_COLOURS, subplots

WIDTH_IN = 11.0
LAYER_COLOURS = {"local": "#c6dbef", "regional": "#6baed6", "energy": "#08519c"}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
LINESTYLES = ("-", "--", "-.", ":")
ROW_IN = 0.3  # height of one scenario's row (in)


def _rows_height(n: int, extra: float = 1.4) -> float:
    return ROW_IN * n + extra


def headline_figure(panels: list[tuple[str, pd.DataFrame, bool]], seeds: int) -> Figure:
    """Dot plots side by side, one row per scenario (the first on top).

    Args:
        panels: (title with unit, frame indexed by scenario with ``mean``, ``lo``, ``hi``,
            whether it is a change against the baseline: a line marks zero).
        seeds: seeds per scenario (bands are drawn when above 1).
    """
    labels = list(panels[0][1].index)
    fig, axes = subplots(1, len(panels), figsize=(WIDTH_IN, _rows_height(len(labels), 1.2)),
                         sharey=True, squeeze=False)
    y = np.arange(len(labels))[::-1]
    for ax, (title, band, change) in zip(axes[0], panels, strict=True):
        band = band.loc[labels]
        if change:
            ax.axvline(0.0, color="0.5", lw=0.8)
        err = np.vstack([band["mean"] - band.lo, band.hi - band["mean"]])
        ax.errorbar(band["mean"], y, xerr=err if seeds > 1 else None, fmt="o", ms=5,
                    color="#08519c", ecolor="#6baed6", elinewidth=2.5, capsize=3)
        ax.set_title("\n".join(textwrap.wrap(title, 30)), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.12)
    axes[0][0].set_yticks(y, labels, fontsize=9)
    return fig


def frontier_figure(fronts: dict[str, list[pd.DataFrame]]) -> Figure:
    """The cost of what the cost optimum serves and the least emissions E*(B) (every class
    served as in the status quo), per MWh served, against the latency budget, one line per
    scenario (mean over its seeds, a band from the lowest to the highest)."""
    fig, (ax1, ax2) = subplots(1, 2, figsize=(WIDTH_IN, 4.6))
    ends: dict = {ax1: [], ax2: []}
    for i, (label, runs) in enumerate(fronts.items()):
        style = {"marker": MARKERS[i % len(MARKERS)], "linestyle": LINESTYLES[i % 4],
                 "ms": 5, "mfc": "none", "lw": 1.3, "label": label,
                 "color": f"C{i % 10}", "zorder": 3 + len(fronts) - i}
        budget = runs[0].budget_ms
        cost = np.vstack([df.served_cost_usd / (df.demand_mwh - df.unserved_mwh)
                          for df in runs])
        least = np.vstack([df.emissions_kg / (df.demand_mwh - df.min_emissions_unserved_mwh)
                           for df in runs])
        for ax, y in ((ax1, cost), (ax2, least)):
            mean = y.mean(axis=0)
            ax.plot(budget, mean, **style)
            if len(runs) > 1:
                ax.fill_between(budget, y.min(axis=0), y.max(axis=0), color=f"C{i % 10}",
                                alpha=0.15, lw=0)
            ends[ax].append((float(mean[-1]), label, f"C{i % 10}"))
    ax1.set_ylabel("cost C* ($ per MWh served; served only)", fontsize=9)
    ax2.set_ylabel("least emissions E* (kgCO2 per MWh served)", fontsize=9)
    right = float(max(runs[0].budget_ms.max() for runs in fronts.values()))
    for ax in (ax1, ax2):
        ax.set_xlabel("latency budget B (ms, round trip), every class", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        _direct_labels(ax, ends[ax], right)
    fig.suptitle("energy-latency frontier (planner, annual-mean signals, frictions amortised)",
                 fontsize=10)
    return fig


def _direct_labels(ax, ends: list[tuple[float, str, str]], x: float) -> None:
    """Label each line at its right end, spread vertically so that labels of lines that end
    at the same value (overlapping lines) do not cover each other; lines ending at the same
    value share one label, wrapped so that a long one never squeezes the axes."""
    groups: dict[float, list[tuple[str, str]]] = {}
    for y, label, colour in ends:
        key = next((k for k in groups if abs(k - y) <= 1e-9 * max(1.0, abs(y))), y)
        groups.setdefault(key, []).append((label, colour))
    lo, hi = ax.get_ylim()
    gap = 0.06 * (hi - lo)
    placed: list[float] = []
    for y in sorted(groups):
        pos = max([y, *[p + gap for p in placed]])
        placed.append(pos)
        labels = groups[y]
        text = textwrap.fill(" = ".join(lbl for lbl, _ in labels), 34, break_on_hyphens=False)
        ax.annotate(text, (x, y), xytext=(1.04 * x, pos),
                    textcoords="data", fontsize=7.5, color=labels[0][1], va="center",
                    ha="left", annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5})
    ax.set_xlim(right=x * 1.45)


def layers_figure(layers: dict[str, pd.DataFrame], regional_rtt_ms: float) -> Figure:
    """Stacked shares of served MWh by execution layer, one bar per scenario (mean over its
    seeds; error bars from the lowest to the highest seed at each boundary).

    Args:
        layers: per scenario, one row per seed with the columns of ``LAYERS`` (shares 0-1).
        regional_rtt_ms: the regional layer's RTT bound, for the legend.
    """
    labels = list(layers)
    fig, ax = subplots(figsize=(WIDTH_IN, _rows_height(len(labels), 1.0)))
    y = np.arange(len(labels))[::-1]
    left = np.zeros(len(labels))
    names = {"local": "local (origin region)",
             "regional": f"regional (within {regional_rtt_ms:g} ms)",
             "energy": "energy-oriented (beyond)"}
    for k in LAYERS:
        v = np.array([layers[label][k].mean() for label in labels])
        ax.barh(y, v, left=left, color=LAYER_COLOURS[k], label=names[k], edgecolor="white")
        for yi, x0, w in zip(y, left, v, strict=True):
            if w > 0.05:
                ax.text(x0 + w / 2, yi, f"{w:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if k == "energy" else "black")
        left = left + v
        if k != LAYERS[-1]:
            cum = [layers[label][list(LAYERS[:LAYERS.index(k) + 1])].sum(axis=1)
                   for label in labels]
            lo = left - np.array([c.min() for c in cum])
            hi = np.array([c.max() for c in cum]) - left
            if (lo + hi).max() > 0:
                ax.errorbar(left, y, xerr=np.vstack([lo, hi]), fmt="none", ecolor="black",
                            elinewidth=1, capsize=3)
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of served MWh", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(ncol=3, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return fig


def generation_figure(mix: dict[str, pd.DataFrame], margin: dict[str, pd.Series], zone: str
                      ) -> Figure:
    """One zone, every scenario: mean generation by technology (MW, stacked; the error bar
    spans the seeds' total) and the share of hours each technology was on the margin.

    Args:
        mix: per scenario, one row per seed of mean generation (MW) by technology.
        margin: per scenario, the share of hours (0-1) each technology set the price, over
            all its seeds.
        zone: the zone's id, for the titles.
    """
    labels = list(mix)
    techs = [t for t in TECHNOLOGY_COLOURS if any(
        t in m.columns and m[t].abs().max() > 1e-9 for m in mix.values())]
    techs += sorted({t for m in mix.values() for t in m.columns} - set(techs))
    fig, (ax1, ax2) = subplots(1, 2, figsize=(WIDTH_IN, _rows_height(len(labels), 1.6)),
                               sharey=True, width_ratios=[3, 2])
    y = np.arange(len(labels))[::-1]
    left = np.zeros(len(labels))
    for t in techs:
        v = np.array([mix[label][t].mean() if t in mix[label] else 0.0 for label in labels])
        if np.abs(v).max() <= 1e-9:
            continue
        ax1.barh(y, v, left=left, color=TECHNOLOGY_COLOURS.get(t, "#bbbbbb"), label=t,
                 edgecolor="white", lw=0.4)
        left = left + v
    totals = [mix[label].sum(axis=1) for label in labels]
    if max(len(t) for t in totals) > 1:
        ax1.errorbar(left, y, xerr=np.vstack([left - [t.min() for t in totals],
                                              [t.max() for t in totals] - left]),
                     fmt="none", ecolor="black", elinewidth=1, capsize=3)
    ax1.set_xlabel(f"mean generation in {zone} (MW)", fontsize=9)
    ax1.set_yticks(y, labels, fontsize=9)
    ax1.tick_params(labelsize=8)
    left = np.zeros(len(labels))
    for t in techs:
        v = np.array([margin[label].get(t, 0.0) for label in labels])
        if v.max() <= 0:
            continue
        ax2.barh(y, v, left=left, color=TECHNOLOGY_COLOURS.get(t, "#bbbbbb"), label=t,
                 edgecolor="white", lw=0.4)
        for yi, x0, w in zip(y, left, v, strict=True):
            if w >= 0.12:
                ax2.text(x0 + w / 2, yi, f"{w:.0%}", ha="center", va="center", fontsize=8,
                         color="white" if t in ("coal", "hydro", "nuclear", "lignite", "oil",
                                                "fossil") else "black")
        left = left + v
    ax2.set_xlim(0, 1)
    ax2.set_xlabel(f"share of hours on the margin in {zone}", fontsize=9)
    ax2.tick_params(labelsize=8)
    handles = {}
    for ax in (ax1, ax2):
        for h, name in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(name, h)
    fig.legend(list(handles.values()), list(handles), fontsize=8, ncol=min(8, len(handles)),
               loc="outside upper center")
    return fig


def heatmap_figure(change: pd.DataFrame, shown: pd.DataFrame, title: str) -> Figure:
    """Scenario x zone changes against the baseline (colour on a symmetric log scale, so that
    small changes show beside large ones), numbered where ``shown`` is true.

    Args:
        change: the mean change per scenario (rows) and zone (columns).
        shown: booleans of the same shape: which cells carry their number (those outside the
            spread across seeds).
        title: what changed, with its unit.
    """
    values = change.to_numpy(float)
    fig, ax = subplots(figsize=(WIDTH_IN, _rows_height(len(change), 1.5)))
    lim = max(float(np.nanmax(np.abs(values))) if values.size else 0.0, 1e-9)
    norm = SymLogNorm(linthresh=lim / 100, vmin=-lim, vmax=lim)
    im = ax.imshow(values, cmap="RdBu_r", norm=norm, aspect="auto")
    ax.set_xticks(range(change.shape[1]), change.columns, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(change.shape[0]), change.index, fontsize=9)
    for (i, j), v in np.ndenumerate(values):
        if shown.iloc[i, j] and np.isfinite(v) and abs(v) >= 0.01 * lim:
            ax.text(j, i, _short_number(v), ha="center", va="center", fontsize=8,
                    color="white" if abs(norm(v) - 0.5) > 0.35 else "black")
    ax.set_title(title, fontsize=10)
    ticks = [-lim, -lim / 10, 0.0, lim / 10, lim]
    bar = fig.colorbar(im, ax=ax, shrink=0.8, pad=0.01, ticks=ticks)
    bar.ax.set_yticklabels([_short_number(t) if t else "0" for t in ticks], fontsize=8)
    return fig


def _short_number(v: float) -> str:
    """A signed number in at most five characters: +12, -3.4, +1.2k."""
    if abs(v) >= 9999.5:
        return f"{v / 1e3:+.0f}k"
    if abs(v) >= 999.5:
        return f"{v / 1e3:+.1f}k"
    return f"{v:+.0f}" if abs(v) >= 9.95 else f"{v:+.1f}"
