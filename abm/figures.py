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
