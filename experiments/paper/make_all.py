"""Reproduce every figure of the paper's stylised study: figures (a) to (d), PNG + CSV.

    python experiments/paper/make_all.py [--out out/paper]
"""

from __future__ import annotations

import sys

import fig_a_frontier
import fig_b_layers
import fig_c_frictions
import fig_d_breakeven


def main(argv: list[str] | None = None) -> None:
    """Run each figure script with the same arguments."""
    for module in (fig_a_frontier, fig_b_layers, fig_c_frictions, fig_d_breakeven):
        module.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
