"""Benchmark of the market's placement engine (issue: a year for 1,000 operators in minutes).

Prints a table of:
- placement per step: the market's first-come allocation (compiled min-cost flows,
  ``abm/core/flow.py``) against a reference that solves every operator's LP with
  ``scipy.optimize.linprog`` in the same order, for several operator counts, side by side;
- objective agreement: every operator's objective on the fast path against the reference
  optimum for the same capacity (max relative difference);
- the year run: ``abm run`` on the scale scenario (1,000 operators x 10 classes x 30 regions),
  wall time and peak memory.

Run from the repository root: ``.venv/bin/python benchmarks/placement.py`` (``--help``).
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

from abm.config.scenario import load_scenario
from abm.market import MarketModel
from abm.market.loop import run

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "abm" / "scenarios" / "scale.toml"


def linprog_placement(cost, feasible, demand, capacity, voll, phi, x_prev):
    """The LP of one operator (docs/model.md section 3), by scipy's linprog: (x, u)."""
    k, r = cost.shape
    nx = k * r
    c = np.concatenate([cost.ravel(), phi.ravel(), np.full(k, voll)])
    a_eq = np.zeros((k, 2 * nx + k))
    for i in range(k):
        a_eq[i, i * r:(i + 1) * r] = 1.0
        a_eq[i, 2 * nx + i] = 1.0
    # x - m <= x_prev ; sum_k x[k, j] <= cap_j
    a_ub = np.zeros((nx + r, 2 * nx + k))
    a_ub[:nx, :nx] = np.eye(nx)
    a_ub[:nx, nx:2 * nx] = -np.eye(nx)
    for j in range(r):
        a_ub[nx + j, j:nx:r] = 1.0
    b_ub = np.concatenate([x_prev.ravel(), capacity])
    bounds = [(0, None if f else 0) for f in feasible.ravel()] + [(0, None)] * (nx + k)
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=demand, bounds=bounds,
                  method="highs")
    if res.status != 0:
        raise RuntimeError(res.message)
    return res.x[:nx].reshape(k, r), res.x[2 * nx:]


def objective(model: MarketModel, o: int) -> float:
    """Operator o's LP objective for its current placement ($)."""
    ops = model.operators
    moved = np.maximum(ops.x_mw[o] - ops.incumbent_mw[o], 0.0)
    return float((ops.x_mw[o] * ops.cost_usd_per_mwh[o]).sum()
                 + (moved * ops.planning_friction_usd_per_mw[o]).sum()
                 + model.inst.policy.voll_usd_per_mwh * ops.unserved_mw[o].sum())


def placement_case(operators: int, warmup: int, seed: int) -> dict:
    """Time one hour's allocation, fast path vs linprog reference, from the same state."""
    scn = load_scenario(SCALE, overrides={"population.operators": operators})
    model = MarketModel(scn, rng=seed, hours=warmup + 1)
    run(model, warmup)
    model.prepare_hour(int(model.steps))
    ops = model.operators
    order = model.rng.permutation(len(ops))
    state = (ops.x_mw.copy(), ops.unserved_mw.copy(), ops.moved_mw.copy())
    caps: dict[int, np.ndarray] = {}

    lp_before = ops.lp_solves
    t0 = time.perf_counter()
    ops.place(order)
    fast_s = time.perf_counter() - t0
    lps = ops.lp_solves - lp_before
    fast = [objective(model, o) for o in range(len(ops))]
    fast_x = ops.x_mw.copy()

    ops.x_mw[:], ops.unserved_mw[:], ops.moved_mw[:] = state

    def reference(o: int, cap: np.ndarray) -> None:
        caps[o] = cap.copy()
        x, u = linprog_placement(ops.cost_usd_per_mwh[o], ops.feasible[o], ops.demand_mw[o], cap,
                                 model.inst.policy.voll_usd_per_mwh,
                                 ops.planning_friction_usd_per_mw[o], ops.incumbent_mw[o])
        ops.x_mw[o], ops.unserved_mw[o] = x, u

    t0 = time.perf_counter()
    ops.place(order, solve=reference)
    ref_s = time.perf_counter() - t0
    ref = [objective(model, o) for o in range(len(ops))]
    rel = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(fast, ref, strict=True))
    return {"operators": len(ops), "fast_s": fast_s, "lps": lps,
            "reference_s": ref_s, "speed_up": ref_s / fast_s, "max_rel_diff": rel,
            "same_placement": bool(np.allclose(fast_x, ops.x_mw, atol=1e-6))}


def year_run(hours: int) -> dict:
    """``abm run`` of the scale scenario in a child process: wall time and peak memory."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "abm.cli", "run", str(SCALE), "--hours",
                        str(hours), "--out", out, "--restart", "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"hours": hours, "wall_s": wall, "peak_mb": peak_mb}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operators", default="100,1000,2000",
                        help="operator counts for the placement comparison")
    parser.add_argument("--warmup", type=int, default=3, help="hours simulated before timing")
    parser.add_argument("--year-hours", type=int, default=8784,
                        help="hours of the scale run (8784 = the year 2024); 0 skips it")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    print(f"machine: {cpu}, {len(__import__('os').sched_getaffinity(0))} cores, "
          f"Python {platform.python_version()}")
    print(f"{'operators':>9} {'fast s':>8} {'flows':>5} {'linprog s':>10} {'speed-up':>9} "
          f"{'max rel diff':>13} {'same x':>7}")
    for n in (int(v) for v in args.operators.split(",")):
        r = placement_case(n, args.warmup, args.seed)
        print(f"{r['operators']:>9} {r['fast_s']:>8.3f} {r['lps']:>5} {r['reference_s']:>10.2f} "
              f"{r['speed_up']:>8.1f}x {r['max_rel_diff']:>13.2e} {r['same_placement']!s:>7}")
    if args.year_hours:
        y = year_run(args.year_hours)
        print(f"scale run: {y['hours']} h in {y['wall_s']:.1f} s "
              f"({y['wall_s'] / y['hours'] * 8784 / 60:.1f} min per year), "
              f"peak memory {y['peak_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
