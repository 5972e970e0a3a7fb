"""Figures (matplotlib, Agg backend): written as PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd


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


def emissions_figure(model: pd.DataFrame, path: Path, title: str) -> Path:
    """Emissions per hour on the average, marginal and system bases, and MWh moved."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, constrained_layout=True,
                                   gridspec_kw={"height_ratios": [2, 1]})
    for col, label, style in (("emissions_average_kg", "attributed, average intensity", "-"),
                              ("emissions_marginal_kg", "attributed, marginal intensity", "--"),
                              ("emissions_system_kg", "system: with minus without the load", ":")):
        ax1.plot(model.hour, model[col] / 1000, style, label=label)
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
