"""Figure (c): what each friction removes from the realised benefit of relocation.

Benefit = cost of the all-local status quo minus cost of the planner's optimum (migration
frictions amortised over policy.holding_hours, $ per hour), on the shipped default scenario at
its own latency budgets and annual-mean signals. Frictions, and how each is lifted:

- capacity: region capacities -> unlimited;
- legal residency: policy.residency -> ["none"];
- state locality: policy.state_transfer -> true (stateful sessions may move);
- egress: policy.egress_scale -> 0 (served traffic and moved state cost nothing per GB);
- migration cost: no one-off friction per MW moved (warm-up, switching fees).

Left, a waterfall: the frictionless benefit, then each friction added in turn (the order is
stated on the axis; a different order splits the total differently) down to the realised
benefit. Right, a tornado: what each friction alone removes, i.e. the benefit with every friction
but that one, minus the realised benefit (the sum need not equal the waterfall's total:
frictions interact). Emissions (average basis) of each placement are in the CSV.

    python experiments/paper/fig_c_frictions.py [--out out/paper]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from common import parse_out, plt, save

from abm.config.scenario import load_scenario
from abm.core.costs import friction, unit_cost
from abm.core.instance import compile_scenario
from abm.core.masks import masks
from abm.core.metrics import cost_breakdown, emissions_kg, realised_relocation
from abm.core.placement import Placement, place
from abm.core.signals import mean_signals

# name -> scenario overrides that lift it (capacity and migration cost are handled in place())
FRICTIONS = {
    "capacity": {},
    "legal residency": {"policy.residency": ["none"]},
    "state locality": {"policy.state_transfer": True},
    "egress": {"policy.egress_scale": 0.0},
    "migration cost": {},
}


def benefit(lifted: frozenset[str]) -> dict[str, float]:
    """Cost and emissions of the status quo and of the planner's optimum with ``lifted``
    frictions removed ($/h, kg/h), and the realised relocation share."""
    overrides = {k: v for name in lifted for k, v in FRICTIONS[name].items()}
    scn = load_scenario(overrides=overrides)
    inst = compile_scenario(scn)
    if "capacity" in lifted:
        inst = inst.with_capacity(np.full(len(inst.region_ids), np.inf))
    signals = mean_signals(scn)
    phi = None if "migration cost" in lifted else friction(inst) / scn.policy.holding_hours
    sq_x = inst.status_quo_mw()
    p = place(inst, unit_cost(inst, signals), masks(inst).feasible, joint=True, friction=phi,
              x_prev_mw=sq_x)
    sq = Placement(sq_x, np.zeros(inst.demand_mw.shape), np.zeros(sq_x.shape), 0.0)
    sq_cost = cost_breakdown(inst, sq, signals).total_usd
    opt_cost = cost_breakdown(inst, p, signals, friction=phi).total_usd
    return {"status_quo_cost_usd": sq_cost, "optimum_cost_usd": opt_cost,
            "benefit_usd": sq_cost - opt_cost,
            "status_quo_emissions_kg": emissions_kg(inst, sq_x, signals)["average"],
            "optimum_emissions_kg": emissions_kg(inst, p.x_mw, signals)["average"],
            "unserved_mwh": float(p.unserved_mw.sum()),
            "realised_relocation": realised_relocation(inst, p.x_mw),
            "demand_mwh": float(inst.demand_mw.sum())}


def table() -> pd.DataFrame:
    """Rows: the waterfall steps (frictions added in FRICTIONS order) and the tornado cases."""
    names = list(FRICTIONS)
    rows = []
    for i in range(len(names) + 1):
        present = names[:i]
        rows.append({"kind": "waterfall", "case": "+ " + present[-1] if present else "frictionless",
                     **benefit(frozenset(names[i:]))})
    for name in names:
        rows.append({"kind": "tornado", "case": f"without {name}",
                     **benefit(frozenset({name}))})
    return pd.DataFrame(rows)


def figure(df: pd.DataFrame) -> plt.Figure:
    """Waterfall (left) and tornado (right) of the benefit in $ per MWh of demand."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    w = df[df.kind == "waterfall"].reset_index(drop=True)
    per_mwh = w.benefit_usd / w.demand_mwh
    labels = ["frictionless"] + [c[2:] for c in w.case[1:]] + ["realised"]
    ax1.bar(0, per_mwh[0], color="tab:green")
    for i in range(1, len(w)):
        drop = per_mwh[i - 1] - per_mwh[i]
        ax1.bar(i, -drop, bottom=per_mwh[i - 1], color="tab:red" if drop > 0 else "tab:blue")
        ax1.text(i, per_mwh[i - 1] + 0.02 * per_mwh[0], f"-{drop:.2f}", ha="center", fontsize=8)
    ax1.bar(len(w), per_mwh.iloc[-1], color="tab:green")
    for x, v in ((0, per_mwh[0]), (len(w), per_mwh.iloc[-1])):
        ax1.text(x, v + 0.02 * per_mwh[0], f"{v:.2f}", ha="center", fontsize=8)
    ax1.set_ylim(0, 1.12 * per_mwh.max())
    ax1.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
    ax1.set_ylabel("benefit of relocation ($ per MWh of demand)")
    ax1.set_title("waterfall: frictions added left to right")
    t = df[df.kind == "tornado"]
    realised = per_mwh.iloc[-1]
    removed = (t.benefit_usd / t.demand_mwh - realised).to_numpy()
    order = np.argsort(removed)
    names = [c.removeprefix("without ") for c in t.case]
    ax2.barh([names[i] for i in order], removed[order], color="tab:red")
    for y, i in enumerate(order):
        ax2.text(removed[i], y, f" {removed[i]:.2f}", va="center", fontsize=8)
    ax2.set_xlabel("benefit this friction alone removes ($ per MWh of demand)")
    ax2.set_title(f"tornado: lift one friction (realised benefit {realised:.2f} $/MWh)")
    fig.suptitle("(c) What frictions remove from the realised benefit (default scenario, "
                 "planner, annual-mean signals)")
    return fig


def main(argv: list[str] | None = None) -> None:
    """Solve every case and write fig_c_frictions.png and .csv."""
    out = parse_out(__doc__.split("\n")[0], argv)
    df = table()
    save(figure(df), df, out, "fig_c_frictions")


if __name__ == "__main__":
    main()
