"""``abm headroom``: the constant new load each grid zone can host under its peak, curtailed
(the Duke method), relocating or deferring (docs/headroom.md)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from abm.cli.argtypes import budgets_arg, folder_arg, scenario_help
from abm.cli.interrupts import InterruptHold
from abm.errors import quoted


def _list_arg[T: (int, float)](text: str, kind: Callable[[str], T], ok: Callable[[T], bool],
                                allowed: str) -> list[T]:
    """Comma-separated values of ``kind``, sorted and unique, each ``ok``; else an argparse
    error saying what is ``allowed``."""
    try:
        values = sorted({kind(v) for v in text.split(",") if v.strip()})
    except ValueError:
        values = []
    if not values or not all(ok(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected {allowed}, got {quoted(text)}")
    return values


def shares_arg(text: str) -> list[float]:
    """argparse type: comma-separated curtailment shares in %, each > 0 and < 100."""
    return _list_arg(text, float, lambda v: math.isfinite(v) and 0 < v < 100,
                     "comma-separated shares in % of the load's energy, each > 0 and < 100")


def hours_arg(text: str) -> list[int]:
    """argparse type: comma-separated whole numbers of hours, each >= 1."""
    return _list_arg(text, int, lambda v: v >= 1,
                     "comma-separated whole numbers of hours, each >= 1")


def cmd_headroom(args: argparse.Namespace) -> int:
    """Compute the headroom of every zone; print it by share; write CSV and figures."""
    with InterruptHold():  # a Ctrl-C while the command loads stops it once it has
        from abm.api import headroom, load_scenario
        from abm.files import write_atomic
        from abm.report.headroom_figures import load_sources, variants_table

        scn = load_scenario(args.scenario)
    df = headroom(scn, args.shares, rtt_ms=args.rtt_ms, defer_h=args.defer_h, peak=args.peak,
                  load=args.load, progress=not args.quiet)
    first = df.drop_duplicates("zone_id").set_index("zone_id")
    print(f"headroom of {scn.name}'s {len(first)} zones: the constant new load each can host "
          f"under its {args.peak} peak (docs/headroom.md)")
    for line in load_sources(df):
        print(f"background load of {line}")
    for share in sorted(df.share_pct.unique()):
        print(f"\n{share:g} % of the new load's energy curtailed: headroom (MW)")
        print(variants_table(df, share).to_string(float_format=lambda v: f"{v:,.0f}"))
    flat = first[first.peak_hours > min(args.shares) / 100 * first.series_hours]
    if len(flat):
        print(f"\n{len(flat)} zone(s) hold their peak more hours than the smallest share's "
              f"worth (up to {flat.peak_hours.max()} h): the Duke method leaves them no "
              "headroom at that share; "
              "a month x hour shape repeats its peak every day of the peak month (bring real "
              "hourly load with --load)")
    print("\nrelocation counts the room of the zones within the budget in full for each zone "
          "alone: the figures of zones sharing neighbours do not add up")
    if args.out is not None:
        from abm.report.figures import save
        from abm.report.headroom_figures import (
            headroom_by_share_figure,
            headroom_variants_figure,
        )

        out = args.out
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / "headroom.csv", lambda tmp: df.to_csv(tmp, index=False))
        title = f"{scn.name}: headroom under the {args.peak} peak"
        save(headroom_by_share_figure(df, title), out / "headroom_by_share.png")
        save(headroom_variants_figure(df, title), out / "headroom_variants.png")
        print(f"wrote {out / 'headroom.csv'}, headroom_by_share.png and headroom_variants.png")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``headroom`` subcommand to the ``abm`` parser."""
    p = subparsers.add_parser(
        "headroom", help="constant new load each grid zone can host under its peak",
        description="The constant new (data-centre) load each grid zone can host if it accepts "
        "curtailment of a share of its annual energy: the Duke method (Norris et al. 2025, "
        "'Rethinking Load Growth') on the zone's hourly background load over the year the "
        "scenario starts in, against its annual (or seasonal) peak; then the same when the "
        "load may instead run in zones within a latency budget (relocate) or up to some hours "
        "later (defer). Prints the headroom by share; with --out writes DIR/headroom.csv, "
        "headroom_by_share.png and headroom_variants.png. docs/headroom.md.")
    p.add_argument("scenario", nargs="?", help=scenario_help())
    p.add_argument("--shares", type=shares_arg, default=[0.25, 0.5, 1.0], metavar="PCT,...",
                   help="curtailment shares, %% of the new load's annual energy (default: "
                   "0.25,0.5,1)")
    p.add_argument("--rtt-ms", type=budgets_arg, default=[10.0, 50.0, 150.0], metavar="MS,...",
                   help="latency budgets for relocation, ms round trip (default: 10,50,150)")
    p.add_argument("--defer-h", type=hours_arg, default=[1, 4, 24], metavar="H,...",
                   help="hours the load's work may wait (default: 1,4,24)")
    p.add_argument("--peak", choices=("annual", "seasonal"), default="annual",
                   help="the threshold: annual (the year's peak in every hour; the default) or "
                   "seasonal (the paper's: the summer peak from April to October, the winter "
                   "peak from November to March; six months on south of the equator)")
    p.add_argument("--load", type=Path, default=None, metavar="CSV",
                   help="hourly load of some zones, header zone,timestamp,load_mw (MW; UTC "
                   "hours, no gaps): replaces their shipped month x hour shapes, over the "
                   "file's hours")
    p.add_argument("--out", type=folder_arg, default=None,
                   help="write headroom.csv and the figures here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler="abm.cli.headroom:cmd_headroom",
                   interrupted="headroom.csv and the figures are written only when complete; "
                   "run the command again")
