"""Figure (d): the relocation break-even map, spread against holding horizon.

A move from region i to j pays off when the per-MWh saving (the spread) times the hours the
move is held exceeds the one-off friction phi per MW moved: spread >= phi / H (docs/model.md
section 4). Left: the break-even spread for frictions from a cheap warm-up to a heavy
switching charge, against H, with the spreads the shipped data offers (positive pairwise
savings of a batch class at annual-mean signals: median and 90th percentile). Right: the share
of region pairs whose move breaks even within H hours (the distribution of H* over every pair
with a positive saving, latency, law and capacity aside), for each friction.

    python experiments/paper/fig_d_breakeven.py [--out out/paper]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from common import parse_out, plt, save

from abm.config.scenario import load_scenario
from abm.core.costs import friction
from abm.core.instance import compile_scenario
from abm.core.metrics import (
    break_even_horizon_h,
    break_even_spread_usd_per_mwh,
    pairwise_saving_usd_per_mwh,
)
from abm.core.signals import mean_signals

HORIZONS_H = np.geomspace(1, 2000, 60)
FRICTIONS_USD_PER_MW = (50.0, 200.0, 1000.0, 5000.0)
OPERATOR, CLASS = "atlas", "batch-us-east-va"  # a listed operator's batch class


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Break-even spread grid; every region pair's saving and H* at each friction."""
    scn = load_scenario()
    inst = compile_scenario(scn)
    o = inst.operator_ids.index(OPERATOR)
    k = inst.class_ids[o].index(CLASS)
    saving = pairwise_saving_usd_per_mwh(inst, mean_signals(scn), operator=o, klass=k)
    phi_default = float(np.median(friction(inst)[o, k]))  # $/MW moved, this class
    grid = pd.DataFrame([{"friction_usd_per_mw": phi, "horizon_h": h,
                          "break_even_spread_usd_per_mwh":
                              float(break_even_spread_usd_per_mwh(phi, h))}
                         for phi in FRICTIONS_USD_PER_MW for h in HORIZONS_H])
    ids = inst.region_ids
    pairs = pd.DataFrame([{"origin": ids[i], "destination": ids[j],
                           "saving_usd_per_mwh": float(saving[i, j])}
                          for i in range(len(ids)) for j in range(len(ids)) if i != j])
    for phi in sorted({*FRICTIONS_USD_PER_MW, phi_default}):
        pairs[f"break_even_h_phi_{phi:g}"] = break_even_horizon_h(pairs.saving_usd_per_mwh, phi)
    return grid, pairs


def figure(grid: pd.DataFrame, pairs: pd.DataFrame) -> plt.Figure:
    """Break-even curves (left) and the distribution of break-even horizons (right)."""
    positive = pairs.saving_usd_per_mwh[pairs.saving_usd_per_mwh > 0].to_numpy()
    colours = ("tab:green", "tab:blue", "tab:orange", "tab:red")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    for f, colour in zip(FRICTIONS_USD_PER_MW, colours, strict=True):
        g = grid[grid.friction_usd_per_mw == f]
        ax1.plot(g.horizon_h, g.break_even_spread_usd_per_mwh, color=colour,
                 label=f"phi = {f:,.0f} $/MW")
    g = grid[grid.friction_usd_per_mw == FRICTIONS_USD_PER_MW[1]]
    ax1.fill_between(g.horizon_h, g.break_even_spread_usd_per_mwh, 1e4, color="tab:blue",
                     alpha=0.08, label="moving pays (phi = 200 $/MW)")
    for q, style in ((50, "--"), (90, ":")):
        v = float(np.percentile(positive, q))
        ax1.axhline(v, color="k", ls=style, lw=1,
                    label=f"p{q} of positive pairwise savings: {v:.0f} $/MWh")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_ylim(0.1, 1e4)
    ax1.set_xlabel("holding horizon H (hours the move is kept)")
    ax1.set_ylabel("spread: saving per MWh ($/MWh)")
    ax1.set_title("break-even spread = phi / H")
    ax1.grid(alpha=0.3, which="both")
    ax1.legend(fontsize=7, loc="upper right")
    for f, colour in zip(FRICTIONS_USD_PER_MW, colours, strict=True):
        h = pairs[f"break_even_h_phi_{f:g}"].to_numpy()
        share = (h[None, :] <= HORIZONS_H[:, None]).mean(axis=1)
        ax2.plot(HORIZONS_H, share, color=colour, label=f"phi = {f:,.0f} $/MW")
    for h, name in ((24, "day"), (168, "week")):
        ax2.axvline(h, color="grey", lw=0.8, ls=":")
        ax2.text(h, 0.02, f" {name}", fontsize=8, color="grey")
    ax2.set_xscale("log")
    ax2.set_ylim(0, 1)
    ax2.set_xlabel("holding horizon H (hours)")
    ax2.set_ylabel("share of region pairs whose move breaks even within H")
    ax2.set_title(f"{len(pairs)} ordered region pairs, {CLASS}\n(law, latency and capacity "
                  "aside)", fontsize=10)
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8, loc="upper left")
    fig.suptitle("(d) Relocation break-even: spread against holding horizon")
    return fig


def main(argv: list[str] | None = None) -> None:
    """Compute the break-even tables and write fig_d_breakeven.png and .csv."""
    out = parse_out(__doc__.split("\n")[0], argv)
    grid, pairs = tables()
    save(figure(grid, pairs), pairs, out, "fig_d_breakeven")
    grid.to_csv(out / "fig_d_breakeven_grid.csv", index=False)


if __name__ == "__main__":
    main()
