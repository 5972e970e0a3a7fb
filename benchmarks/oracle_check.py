"""Three engines, one answer: the market's min-cost flow (``abm/core/flow.py``), HiGHS
(``abm/core/placement.py``) and networkx's network simplex, an algorithm of another family, on
random placement problems (``abm/core/problem.py``).

The problems live on integer grids (MW, $ and tie ranks in quarters) so that networkx solves
them exactly in integers: the lexicographic objective ($ first, then the tie cost of
docs/model.md, "Ties") becomes one integer weight per arc, $ x M + tie x 4, with M above any
tie difference. Up to 30 regions and 10 classes; VoLL that binds; zero and unlimited
capacities; ties; incumbents. Prints every mismatch (relative $ difference above 1e-9, or a
tie cost that differs) and a summary.

Run from the repository root: ``.venv/bin/python benchmarks/oracle_check.py`` (``--help``).
"""

from __future__ import annotations

import argparse
import sys
import time

import networkx as nx
import numpy as np

from abm.core.flow import solve_flow
from abm.core.placement import solve_lp
from abm.core.problem import TIE_NEW, TIE_UNSERVED, PlacementProblem

REL = 1e-9  # largest relative $ difference accepted (of max(1, |objective|))


def random_problem(rng: np.random.Generator, max_classes: int = 10,
                   max_regions: int = 30) -> PlacementProblem:
    """A random problem on integer grids (see the module docstring)."""
    k = int(rng.integers(1, max_classes + 1))
    r = int(rng.integers(1, max_regions + 1))
    cost = rng.integers(-5, 21, (k, r)).astype(float)
    if rng.random() < 0.3:  # costs by region only: many ties
        cost = np.broadcast_to(cost[:1], (k, r)).copy()
    feasible = rng.random((k, r)) < rng.uniform(0.2, 1.0)
    phi = rng.integers(0, 6, (k, r)) * (rng.random() < 0.7)
    demand = rng.integers(0, 11, k).astype(float)
    prev = np.zeros((k, r))
    for i in range(k):  # incumbents: integer MW, at most the demand, feasible or not
        for _ in range(int(rng.integers(0, 4))):
            j = int(rng.integers(r))
            prev[i, j] += rng.integers(0, int(demand[i] - prev[i].sum()) + 1)
    cap = rng.integers(0, 16, r).astype(float)
    cap[rng.random(r) < 0.3] = np.inf
    cap[rng.random(r) < 0.1] = 0.0
    voll = float(rng.integers(0, 26))  # binds often: costs run to 20 + 5
    preference = rng.integers(0, 5, (k, r)) / 4.0
    return PlacementProblem.of(cost, feasible, demand, voll_usd_per_mwh=voll,
                               friction_usd_per_mw=phi.astype(float), incumbent_mw=prev,
                               capacity_mw=cap, preference=preference)


def networkx_optimum(p: PlacementProblem) -> tuple[float, float]:
    """($ objective, tie cost) of the lexicographic optimum by networkx's network simplex.

    Nodes: classes (supply d_k), regions, a sink (demand sum d). Arcs: class to region at c up
    to the incumbent MW and at c + phi beyond, class to sink at VoLL, region to sink up to its
    capacity. Every figure must be an integer (MW, $) or a quarter (tie ranks).
    """
    k, r = p.shape
    ints = (p.cost_usd_per_mwh[p.feasible], p.friction_usd_per_mw, p.demand_mw, p.incumbent_mw,
            p.capacity_mw[np.isfinite(p.capacity_mw)], [p.voll_usd_per_mwh], p.preference * 4)
    if any((np.asarray(a) != np.round(a)).any() for a in ints):
        raise ValueError("networkx_optimum needs integer MW and $ and tie ranks in quarters")
    total = int(p.demand_mw.sum())
    big = 4 * int(TIE_UNSERVED) * (total + 1) + 1  # above any difference of 4 x tie cost

    def weight(usd: float, tie: float) -> int:
        return round(usd) * big + round(4 * tie)

    g = nx.MultiDiGraph()
    for i in range(k):
        g.add_node(("k", i), demand=-int(p.demand_mw[i]))
    for j in range(r):
        g.add_node(("r", j), demand=0)
    g.add_node("t", demand=total)
    arcs = []  # (u, v, key, usd, tie)
    for i in range(k):
        for j in range(r):
            if not p.feasible[i, j]:
                continue
            c, pref = p.cost_usd_per_mwh[i, j], p.preference[i, j]
            held = int(p.incumbent_mw[i, j])
            if held > 0:
                arcs.append((("k", i), ("r", j), "held", c, pref, held))
            arcs.append((("k", i), ("r", j), "new", c + p.friction_usd_per_mw[i, j],
                         TIE_NEW + pref, None))
        arcs.append((("k", i), "t", "unserved", p.voll_usd_per_mwh, TIE_UNSERVED, None))
    for j in range(r):
        cap = p.capacity_mw[j]
        arcs.append((("r", j), "t", "out", 0.0, 0.0, None if np.isinf(cap) else int(cap)))
    for u, v, key, usd, tie, cap in arcs:
        attrs = {"weight": weight(usd, tie)}
        if cap is not None:
            attrs["capacity"] = cap
        g.add_edge(u, v, key=key, **attrs)
    _, flow = nx.network_simplex(g)
    usd = tie = 0.0
    for u, v, key, arc_usd, arc_tie, _ in arcs:
        f = flow[u][v][key]
        usd += f * arc_usd
        tie += f * arc_tie
    return usd, tie


def compare(p: PlacementProblem) -> dict:
    """The three engines' ($, tie) on one problem and whether they agree."""
    x, u = solve_flow(p)
    sol = solve_lp(p)
    nx_usd, nx_tie = networkx_optimum(p)
    flow_usd, flow_tie = p.objective_usd(x, u), p.tie_cost(x, u)
    lp_usd, lp_tie = p.objective_usd(sol.x_mw, sol.unserved_mw), p.tie_cost(sol.x_mw,
                                                                              sol.unserved_mw)
    scale = max(1.0, abs(nx_usd))
    tie_scale = max(1.0, abs(nx_tie))
    return {
        "flow_usd": flow_usd, "highs_usd": lp_usd, "networkx_usd": nx_usd,
        "flow_tie": flow_tie, "highs_tie": lp_tie, "networkx_tie": nx_tie,
        "rel_flow": abs(flow_usd - nx_usd) / scale, "rel_highs": abs(lp_usd - nx_usd) / scale,
        "ok_usd": abs(flow_usd - nx_usd) <= REL * scale and abs(lp_usd - nx_usd) <= REL * scale,
        "ok_tie": (abs(flow_tie - nx_tie) <= 1e-6 * tie_scale
                   and abs(lp_tie - nx_tie) <= 1e-6 * tie_scale),
        "voll_binds": voll_binds(p, x, u),
    }


def voll_binds(p: PlacementProblem, x: np.ndarray, u: np.ndarray) -> bool:
    """Whether some class leaves demand unserved by choice (with a feasible region that still
    has room)."""
    room = p.capacity_mw - x.sum(axis=0) > 1e-9
    return bool(((u > 1e-9) & (p.feasible & room[None, :]).any(axis=1)).any())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    usd_bad = tie_bad = 0
    worst = {"flow": 0.0, "highs": 0.0}
    binding = 0
    t0 = time.perf_counter()
    for i in range(args.instances):
        p = random_problem(rng)
        r = compare(p)
        binding += r["voll_binds"]
        worst["flow"] = max(worst["flow"], r["rel_flow"])
        worst["highs"] = max(worst["highs"], r["rel_highs"])
        if not r["ok_usd"]:
            usd_bad += 1
        elif not r["ok_tie"]:
            tie_bad += 1
        if not (r["ok_usd"] and r["ok_tie"]):
            print(f"mismatch at instance {i} (K, R = {p.shape}): "
                  + ", ".join(f"{key} {r[key]:.10g}" for key in (
                      "flow_usd", "highs_usd", "networkx_usd", "flow_tie", "highs_tie",
                      "networkx_tie")))
    wall = time.perf_counter() - t0
    print(f"{args.instances} instances (seed {args.seed}) in {wall:.0f} s: "
          f"{usd_bad} $ mismatches, {tie_bad} tie mismatches; largest relative $ difference "
          f"flow {worst['flow']:.1e}, HiGHS {worst['highs']:.1e} (against networkx); "
          f"{binding} with demand unserved by choice (VoLL binding)")
    return 1 if usd_bad or tie_bad else 0


if __name__ == "__main__":
    sys.exit(main())
