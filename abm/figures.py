"""Figures (matplotlib, Agg backend): written as PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

# fixed colours, so a technology looks the same in every figure
TECHNOLOGY_COLOURS = {
    "nuclear": "#7b4fa0", "hydro": "#1f5fa8", "wind": "#5fa8d3", "solar": "#f2c500",
    "bioenergy": "#3a9a4a", "other": "#9cc9a0", "coal": "#262626", "lignite": "#6b4a2b",
    "gas_ccgt": "#f08c32", "gas_ocgt": "#c8501e", "oil": "#9b1c1c", "other_thermal": "#9a9a9a",
    "carbon_free": "#6cbf6c", "fossil": "#5a5a5a", "shedding": "#e0009a",
}


def frontier_figure(df: pd.DataFrame, path: Path, title: str) -> Path:
    """Cost and emissions (left), relocatable and relocated demand and layers (right) vs budget."""
    fig, (ax1, ax3) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
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
    ax3.stackplot(b, df.layer_local, df.layer_regional, df.layer_energy,
                  labels=["local", "regional", "energy-oriented"],
                  colors=["#c6dbef", "#6baed6", "#08519c"], alpha=0.8)
    ax3.plot(b, df.rid, "k-", lw=2, label="relocatable demand (RID)")
    ax3.set_ylim(0, 1)
    ax3.set_xlabel("latency budget (ms, round trip)")
    ax3.set_ylabel("share of demand")
    ax3.set_title("execution layers")
    ax3.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def zone_load_figure(zones: pd.DataFrame, path: Path, title: str) -> Path:
    """Data-centre grid load by zone over the run (stacked): where demand moved."""
    wide = zones.pivot(index="hour", columns="zone", values="dc_load_mw")
    order = wide.mean().sort_values(ascending=False).index
    wide = wide[order]
    fig, ax = plt.subplots(figsize=(11, 4.8), constrained_layout=True)
    colours = plt.get_cmap("tab20").colors + plt.get_cmap("tab20b").colors
    ax.stackplot(wide.index, wide.T.to_numpy(), labels=list(wide.columns),
                 colors=colours[: wide.shape[1]])
    ax.set_xlabel("hour of the run")
    ax.set_ylabel("data-centre grid load (MW)")
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, ncol=1)
    ax.margins(x=0)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def technologies(zones: pd.DataFrame) -> list[str]:
    """The technologies of a zones table, from its ``gen_<technology>_mw`` columns."""
    return [c[4:-3] for c in zones.columns if c.startswith("gen_") and c.endswith("_mw")]


def generation_figure(zones: pd.DataFrame, zone: str, title: str) -> Figure:
    """One zone over the run: generation by technology (stacked, MW), the zone's load
    (generation plus net imports) and the marginal technology of every hour (strip below).

    Args:
        zones: a run's zones table (``hour``, ``zone``, ``gen_<technology>_mw``,
            ``net_import_mw``, ``marginal_technology``).
        zone: the zone shown.
        title: the figure's title.
    """
    z = zones[zones.zone == zone].sort_values("hour")
    techs = [t for t in technologies(z) if z[f"gen_{t}_mw"].abs().max() > 1e-9]
    fig = Figure(figsize=(10, 4.6), layout="constrained")
    ax, strip = fig.subplots(2, 1, sharex=True, height_ratios=[6, 1])
    if z.empty:
        ax.text(0.5, 0.5, f"no hours of zone {zone} yet", ha="center", transform=ax.transAxes)
        return fig
    gen = z[[f"gen_{t}_mw" for t in techs]]
    ax.stackplot(z.hour, gen.T.to_numpy(), labels=techs,
                 colors=[TECHNOLOGY_COLOURS.get(t, "#bbbbbb") for t in techs], alpha=0.9)
    ax.plot(z.hour, gen.sum(axis=1) + z.net_import_mw, color="black", lw=1.2,
            label="load (generation + net imports)")
    ax.set_ylabel("MW")
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)
    ax.margins(x=0)
    for tech, rows in z.groupby("marginal_technology", sort=True):
        strip.scatter(rows.hour, [0] * len(rows), marker="s", s=18, lw=0, label=tech,
                      color=TECHNOLOGY_COLOURS.get(tech, "#bbbbbb"))
    strip.set_yticks([])
    strip.set_ylabel("marginal", fontsize=8)
    strip.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, ncol=2)
    strip.set_xlabel("hour of the run")
    return fig


def busiest_zone(zones: pd.DataFrame) -> str:
    """The zone with the most data-centre grid energy over a run."""
    return str(zones.groupby("zone").dc_load_mw.sum().idxmax())


def emissions_figure(model: pd.DataFrame, path: Path, title: str) -> Path:
    """Emissions per hour on the average, marginal and system bases, the relocation effect
    (system emissions of the market's placement minus those of the status quo) and MWh moved."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, constrained_layout=True,
                                   gridspec_kw={"height_ratios": [2, 1]})
    for col, label, style in (("emissions_average_kg", "attributed, average intensity", "-"),
                              ("emissions_marginal_kg", "attributed, marginal intensity", "--"),
                              ("emissions_system_kg", "system: with minus without the load", ":"),
                              ("relocation_effect_kg",
                               "relocation effect: market's placement minus status quo", "-.")):
        ax1.plot(model.hour, model[col] / 1000, style, label=label)
    ax1.axhline(0.0, color="0.6", lw=0.6)
    ax1.set_ylabel("tCO2 per hour")
    ax1.legend(fontsize=8)
    ax1.set_title(title)
    # one filled step line, not a bar per hour (a year has 8,784 of them)
    ax2.fill_between(model.hour, model.moved_mwh, step="mid", color="tab:purple", lw=0)
    ax2.set_ylabel("MWh moved")
    ax2.set_xlabel("hour of the run")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def shift_figure(flows: list[dict], path: Path, title: str, top: int = 15) -> Path:
    """The ``top`` largest origin-zone to execution-zone flows over the run (MWh); ``flows``
    as in the run summary (any order)."""
    flows = sorted(flows, key=lambda f: -f["mwh"])[:top]
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(flows), 4) + 1.2), constrained_layout=True)
    labels = [f"{f['from_zone']} -> {f['to_zone']}" for f in flows][::-1]
    ax.barh(labels, [f["mwh"] for f in flows][::-1], color="tab:blue")
    ax.set_xlabel("MWh served away from the origin zone")
    ax.set_title(title)
    if not flows:
        ax.text(0.5, 0.5, "no demand left its origin zone", ha="center", transform=ax.transAxes)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
