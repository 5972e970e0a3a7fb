"""The adoption sweep's figure: outcomes against the share of drawn operators that follow the
green (``experiments/sweeps/adoption.toml``).

    abm sweep experiments/sweeps/adoption.toml --out out/sweep-adoption
    python experiments/adoption_figure.py out/sweep-adoption --out docs/adoption.png

Writes the PNG and, beside it, a CSV of the mean and range over seeds per share.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

SHARE = "population.strategies.greenest"
PANELS = (  # outcome, scale, label
    ("emissions_system_kg", 1e-3, "system emissions (t CO2 / week)"),
    ("dc_price_usd_per_mwh", 1.0, "zone price paid by data-centre load ($/MWh)"),
    ("unserved_mwh", 1.0, "unserved demand (MWh / week)"),
    ("herding_mwh", 1.0, "herding: load swinging between zones (MWh / week)"),
)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max over seeds of every panel's outcome, per greenest share."""
    cols = [p[0] for p in PANELS] + ["moved_mwh", "cost_usd"]
    return results.groupby(SHARE)[cols].agg(["mean", "min", "max"])


def figure(table: pd.DataFrame, out: Path) -> None:
    """Four panels: each outcome's mean over seeds (line) and range (band) against the share."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    share = table.index.to_numpy() * 100
    for ax, (col, scale, label) in zip(axes.ravel(), PANELS, strict=True):
        ax.fill_between(share, table[col]["min"] * scale, table[col]["max"] * scale,
                        alpha=0.25, color="tab:green")
        ax.plot(share, table[col]["mean"] * scale, marker="o", color="tab:green")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("drawn operators following the green (%)")
    fig.suptitle("Adoption of follow-the-green (default scenario, one week, 3 seeds)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", help="the sweep's output folder (holds results.parquet)")
    parser.add_argument("--out", default="docs/adoption.png", help="the PNG to write")
    args = parser.parse_args(argv)
    table = summarise(pd.read_parquet(Path(args.sweep) / "results.parquet"))
    out = Path(args.out)
    figure(table, out)
    table.to_csv(out.with_suffix(".csv"), float_format="%.6g")
    print(table.xs("mean", axis=1, level=1).to_string(float_format=lambda v: f"{v:,.1f}"))
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
