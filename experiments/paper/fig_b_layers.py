"""Figure (b): heterogeneous latency tolerance separates workloads into execution layers.

The planner's cost-optimal placement of the shipped default scenario at its own budgets
(interactive 40 ms and stateful, conversational 150 ms, batch 1,000 ms), with migration
frictions against the all-local status quo, at annual-mean signals, with the shipped region
capacities and with unlimited capacity. Left: the share of each workload kind served locally
(origin region), regionally (within network.regional_rtt_ms of the origin) or in the
energy-oriented layer (beyond). Right: where served MWh run (shipped capacities), by the
round-trip time between the client and the executing region.

    python experiments/paper/fig_b_layers.py [--out out/paper]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from common import parse_out, plt, save

from abm.config.scenario import load_scenario
from abm.core.costs import friction, unit_cost
from abm.core.instance import compile_scenario
from abm.core.masks import masks
from abm.core.metrics import LAYERS, layer_shares_by_kind
from abm.core.placement import place
from abm.core.signals import mean_signals

COLOURS = {"local": "#c6dbef", "regional": "#6baed6", "energy": "#08519c"}
RTT_BINS_MS = (0, 10, 25, 50, 75, 100, 150, 200, 300, 1000)
CAPACITY_CASES = ("shipped capacity", "unlimited capacity")


def table() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Layer shares by capacity case and kind; served MWh by kind and client-to-execution RTT
    bin (shipped capacity)."""
    scn = load_scenario()
    inst = compile_scenario(scn)
    signals = mean_signals(scn)
    feasible = masks(inst).feasible
    rows, placements = [], {}
    for case in CAPACITY_CASES:
        capacity = None if case == CAPACITY_CASES[0] else np.full(len(inst.region_ids), np.inf)
        p = place(inst, unit_cost(inst, signals), feasible, joint=True, capacity_mw=capacity,
                  friction=friction(inst) / scn.policy.holding_hours,
                  x_prev_mw=inst.status_quo_mw())
        placements[case] = p
        rows += [{"case": case, "kind": k,
                  "budget_ms": float(inst.budget_ms[inst.kind == k].max()),
                  "demand_mw": float(inst.demand_mw[inst.kind == k].sum()),
                  **{f"share_{n}": s[n] for n in LAYERS}}
                 for k, s in layer_shares_by_kind(inst, p.x_mw).items()]
    layers = pd.DataFrame(rows).sort_values(["case", "budget_ms"], kind="stable")
    x_all = placements[CAPACITY_CASES[0]].x_mw
    rtt = inst.network_rtt_ms()
    by_rtt = []
    for kind in layers.kind.unique():
        x = np.where((inst.kind == kind)[:, :, None], x_all, 0.0)
        mwh, _ = np.histogram(rtt.ravel(), bins=RTT_BINS_MS, weights=x.ravel())
        by_rtt += [{"kind": kind, "rtt_from_ms": lo, "rtt_to_ms": hi, "served_mwh": v}
                   for lo, hi, v in zip(RTT_BINS_MS[:-1], RTT_BINS_MS[1:], mwh, strict=True)]
    return layers, pd.DataFrame(by_rtt)


def figure(layers: pd.DataFrame, by_rtt: pd.DataFrame) -> plt.Figure:
    """Stacked layer shares per kind and capacity case (left); MWh by RTT bin (right)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    kinds = layers.kind.unique()
    for c, case in enumerate(CAPACITY_CASES):
        d = layers[layers.case == case].set_index("kind").loc[kinds]
        xs = np.arange(len(kinds)) + (c - 0.5) * 0.4
        bottom = np.zeros(len(kinds))
        for name in LAYERS:
            v = d[f"share_{name}"].to_numpy()
            ax1.bar(xs, v, 0.38, bottom=bottom, color=COLOURS[name], edgecolor="white",
                    hatch="//" if c else None, label=name if c == 0 else None)
            for x, b, h in zip(xs, bottom, v, strict=True):
                if h > 0.05:
                    ax1.text(x, b + h / 2, f"{h:.0%}", ha="center", va="center", fontsize=8,
                             color="white" if name == "energy" else "black")
            bottom += v
    d = layers[layers.case == CAPACITY_CASES[0]].set_index("kind").loc[kinds]
    ax1.set_xticks(np.arange(len(kinds)), [
        f"{k}\n(B = {b:g} ms, {m:.0f} MW)\nshipped | unlimited capacity"
        for k, b, m in zip(kinds, d.budget_ms, d.demand_mw, strict=True)], fontsize=8)
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("share of the kind's served MWh")
    ax1.set_title("execution layer by workload kind")
    ax1.legend(title="layer", fontsize=8, loc="upper left")
    width = 0.8 / len(kinds)
    bins = by_rtt.drop_duplicates("rtt_from_ms")
    pos = np.arange(len(bins))
    for i, kind in enumerate(kinds):
        d = by_rtt[by_rtt.kind == kind]
        ax2.bar(pos + (i - (len(kinds) - 1) / 2) * width, d.served_mwh, width, label=kind)
    ax2.set_xticks(pos, [f"{a:g}-{b:g}" for a, b in zip(bins.rtt_from_ms, bins.rtt_to_ms,
                                                          strict=True)], rotation=30)
    ax2.set_xlabel("RTT from client to executing region (ms)")
    ax2.set_ylabel("served MWh per hour")
    ax2.set_title("how far each kind travels (shipped capacity)")
    ax2.legend(fontsize=8)
    fig.suptitle("(b) Latency tolerance sorts inference into local, regional and "
                 "energy-oriented layers (default scenario, planner, frictions)")
    return fig


def main(argv: list[str] | None = None) -> None:
    """Place the default scenario and write fig_b_layers.png and .csv."""
    out = parse_out(__doc__.split("\n")[0], argv)
    layers, by_rtt = table()
    save(figure(layers, by_rtt), layers, out, "fig_b_layers")
    by_rtt.to_csv(out / "fig_b_layers_by_rtt.csv", index=False)


if __name__ == "__main__":
    main()
