"""Figures of ``abm headroom`` (docs/headroom.md): each zone's headroom by curtailment share, and
what relocation and deferral add to it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from abm.report.figures import subplots


def variants_table(df: pd.DataFrame, share_pct: float) -> pd.DataFrame:
    """Zones (rows, in the table's order) x the zone's ``peak`` and every variant (columns, in
    the table's order): headroom (MW) at curtailment share ``share_pct`` (``df``:
    :func:`abm.headroom`'s table)."""
    rows = df[df.share_pct == share_pct]
    zones, variants = list(dict.fromkeys(df.zone_id)), list(dict.fromkeys(df.variant))
    table = rows.pivot(index="zone_id", columns="variant", values="headroom_mw")
    table = table.loc[zones, variants]
    table.insert(0, "peak", rows.drop_duplicates("zone_id").set_index("zone_id").peak_mw)
    table.columns.name = None
    return table


def load_sources(df: pd.DataFrame) -> list[str]:
    """Where the zones' background load came from, one line per kind of source, naming up to six
    zones (``df``: :func:`abm.headroom`'s table)."""
    first = df.drop_duplicates("zone_id").set_index("zone_id")
    kinds = first.load_source.str.replace(
        r"mean demand [\d,]+ MW x the month x UTC-hour shape of \S+ \((\w+)",
        r"each zone's mean demand x its month x UTC-hour shape (\1", regex=True)
    return [f"{', '.join(zones) if len(zones) <= 6 else f'{len(zones)} zones'}: {kind}"
            for kind, zones in kinds.groupby(kinds, sort=False).groups.items()]


def headroom_by_share_figure(df: pd.DataFrame, title: str) -> Figure:
    """Horizontal bars: each zone's headroom (% of its peak, the MW written beside) at each
    curtailment share, the load curtailed (``df``: :func:`abm.headroom`'s table)."""
    curt = df[df["mode"] == "curtail"]
    zones = list(dict.fromkeys(curt.zone_id))
    shares = sorted(curt.share_pct.unique())
    fig, ax = subplots(figsize=(8.5, 1.2 + 0.34 * len(zones) * max(1, len(shares)) / 2))
    height = 0.8 / len(shares)
    y = np.arange(len(zones))
    for i, share in enumerate(shares):
        rows = curt[curt.share_pct == share].set_index("zone_id").loc[zones]
        pos = y - 0.4 + (i + 0.5) * height
        ax.barh(pos, rows.headroom_pct_of_peak, height, label=f"{share:g} % curtailed")
        for p, pct, mw in zip(pos, rows.headroom_pct_of_peak, rows.headroom_mw, strict=True):
            ax.text(pct, p, f" {mw:,.0f} MW", va="center", fontsize=6)
    ax.set_yticks(y, zones)
    ax.invert_yaxis()
    ax.set_xlabel("constant new load the zone can host (% of its peak)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig


def headroom_variants_figure(df: pd.DataFrame, title: str) -> Figure:
    """One heat map per curtailment share: zones x variants (curtailed, relocating within each
    latency budget, deferring each number of hours), coloured by the headroom as % of the
    zone's peak and labelled with the MW."""
    zones = list(dict.fromkeys(df.zone_id))
    variants = list(dict.fromkeys(df.variant))
    shares = sorted(df.share_pct.unique())
    fig, axes = subplots(1, len(shares), figsize=(4.2 * len(shares) + 1.5,
                                                  1.5 + 0.3 * len(zones)), squeeze=False)
    for ax, share in zip(axes[0], shares, strict=True):
        table = df[df.share_pct == share].pivot(index="zone_id", columns="variant")
        pct = table.headroom_pct_of_peak.loc[zones, variants].to_numpy()
        mw = table.headroom_mw.loc[zones, variants].to_numpy()
        image = ax.imshow(np.log10(1 + pct), aspect="auto", cmap="viridis", vmin=0,
                          vmax=np.log10(1 + max(float(df.headroom_pct_of_peak.max()), 1.0)))
        for (r, c), v in np.ndenumerate(mw):
            ax.text(c, r, f"{v:,.0f}", ha="center", va="center", fontsize=5.5,
                    color="white" if pct[r, c] < 0.5 * df.headroom_pct_of_peak.max() else "black")
        ax.set_xticks(range(len(variants)), variants, rotation=40, ha="right", fontsize=7)
        ax.set_yticks(range(len(zones)), zones, fontsize=7)
        ax.set_title(f"{share:g} % of the load's energy curtailed", fontsize=9)
    bar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    ticks = [0, 1, 5, 20, 50, 100, 200]
    bar.set_ticks([np.log10(1 + t) for t in ticks], labels=[f"{t}" for t in ticks])
    bar.set_label("headroom (% of the zone's peak; MW written)")
    fig.suptitle(title, fontsize=10)
    return fig
