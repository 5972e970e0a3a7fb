"""Figure (a): the energy-latency frontier, 10-300 ms, with and without frictions and capacity.

The planner's cost-optimal placement C*(B) and its emissions, and the least-emissions placement
E*(B), as every class's latency budget is relaxed, on the shipped default scenario at annual-mean
signals. Four cases: migration frictions charged against the all-local status quo (amortised
over policy.holding_hours) or not, and the shipped region capacities or unlimited capacity.

    python experiments/paper/fig_a_frontier.py [--out out/paper]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from common import parse_out, plt, save

from abm.config.scenario import load_scenario
from abm.core.frontier import frontier
from abm.core.instance import compile_scenario
from abm.core.signals import mean_signals

BUDGETS_MS = (10, 20, 30, 40, 50, 75, 100, 125, 150, 175, 200, 250, 300)
CASES = (  # label, frictions, capacity limited
    ("frictions, capacity limits", True, True),
    ("frictions, unlimited capacity", True, False),
    ("no frictions, capacity limits", False, True),
    ("no frictions, unlimited capacity", False, False),
)


def table() -> pd.DataFrame:
    """One row per case and budget: the columns of ``abm.core.frontier.frontier`` plus the case."""
    scn = load_scenario()
    inst = compile_scenario(scn)
    signals = mean_signals(scn)
    unlimited = inst.with_capacity(np.full(len(inst.region_ids), np.inf))
    parts = []
    for label, frictions, limited in CASES:
        df = frontier(inst if limited else unlimited, signals, BUDGETS_MS, frictions=frictions)
        df.insert(0, "case", label)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def figure(df: pd.DataFrame) -> plt.Figure:
    """Cost per MWh (left) and carbon per MWh (right) against the latency budget."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    colour = {True: "tab:red", False: "tab:blue"}
    for label, frictions, limited in CASES:
        d = df[df.case == label]
        style = dict(color=colour[limited], ls="-" if frictions else "--", marker="o", ms=3)
        ax1.plot(d.budget_ms, d.cost_usd / d.demand_mwh, label=label, **style)
        ax2.plot(d.budget_ms, d.placed_emissions_kg / d.demand_mwh, label=f"cost optimum: {label}",
                 **style)
    for limited, name in ((True, "capacity limits"), (False, "unlimited capacity")):
        d = df[df.case == ("no frictions, " + name)]
        ax2.plot(d.budget_ms, d.emissions_kg / d.demand_mwh, color=colour[limited], lw=3,
                 alpha=0.35, label=f"least emissions E*: {name}")
    ax1.set_title("cost C*(B) of the planner's optimum")
    ax1.set_ylabel("$ per MWh of inference load")
    ax2.set_title("carbon: emissions of the cost optimum, and E*(B)")
    ax2.set_ylabel("kgCO2 per MWh of inference load (average basis)")
    for ax in (ax1, ax2):
        ax.set_xlabel("latency budget B (ms, round trip), every class")
        ax.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=7, ncol=1)
    fig.suptitle("(a) The energy-latency frontier: default scenario, annual-mean signals, "
                 "planner; frictions amortised over 24 h")
    return fig


def main(argv: list[str] | None = None) -> None:
    """Compute the frontiers and write fig_a_frontier.png and .csv."""
    out = parse_out(__doc__.split("\n")[0], argv)
    df = table()
    save(figure(df), df, out, "fig_a_frontier")


if __name__ == "__main__":
    main()
