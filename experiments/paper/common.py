"""What every paper figure script shares: its command line and how it writes PNG + CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

DEFAULT_OUT = Path("out/paper")


def parse_out(description: str, argv: list[str] | None = None) -> Path:
    """Parse ``--out DIR`` (default ``out/paper``) and create the folder."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help=f"output folder (default: {DEFAULT_OUT})")
    out = ap.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    return out


def save(fig: plt.Figure, table: pd.DataFrame, out: Path, stem: str) -> None:
    """Write ``out/stem.png`` (150 dpi) and ``out/stem.csv``, and say so."""
    fig.savefig(out / f"{stem}.png", dpi=150)
    plt.close(fig)
    table.to_csv(out / f"{stem}.csv", index=False)
    print(f"wrote {out / stem}.png and {stem}.csv")
