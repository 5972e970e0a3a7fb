"""``abm sweep``: run a sweep file (with a progress bar and ETA) or report on a sweep folder."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from abm.cli.argtypes import folder_arg, pair_arg, positive_int_arg
from abm.cli.interrupts import InterruptHold

if TYPE_CHECKING:
    from abm.sweeps.runner import Plan

USAGE = """abm sweep SPEC --out DIR [--workers N | --scheduler ADDR] [--resume | --restart]
                 [--quiet]
       abm sweep report DIR [--target OUTCOME>X] [--pair A,B] [--out FILE]"""
DESCRIPTION = """Parameter sweeps of the market (docs/sweeps.md).

abm sweep SPEC --out DIR runs the sweep file SPEC: every run's row is written to DIR/runs/ as it
finishes, then consolidated into DIR/results.parquet (one row per run, sorted by run id) with
DIR/manifest.json. Runs execute in local processes (default: one per core), serially
(--workers 1) or on a Dask cluster (--scheduler local, or tcp://HOST:PORT); results are identical
whichever executes them. After a crash, a kill or Ctrl-C, --resume runs exactly the missing runs.

abm sweep report DIR analyses the runs in DIR and writes DIR/report.html (or --out FILE: DIR is
only read, so it may be read-only): sensitivity indices with confidence intervals, a tornado
chart, a heat map of two parameters, outcome distributions and a scenario-discovery (PRIM)
box."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` subcommand (run a sweep file, or ``report DIR``) to ``abm``."""
    p = subparsers.add_parser(
        "sweep", help="parameter sweeps: run a sweep file, or report on a sweep folder",
        usage=USAGE, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC | report",
                   help="the sweep file (TOML), or the word 'report' followed by DIR")
    p.add_argument("folder", nargs="?", metavar="DIR", help="(report) the sweep folder")
    run = p.add_argument_group("running a sweep")
    run.add_argument("--out", metavar="DIR",
                     help="the sweep folder to write (required); with report, the HTML file to "
                     "write (default: DIR/report.html)")
    add_executor_arguments(run, "sweep")
    rep = p.add_argument_group("report")
    rep.add_argument("--target", metavar="OUTCOME>X",
                     help="scenario-discovery target, e.g. 'saved.emissions_system_kg>0.2' "
                     "(default: the sweep file's [discovery], else the top quarter of the "
                     "first outcome)")
    rep.add_argument("--pair", type=pair_arg, metavar="A,B",
                     help="the two parameters of the heat map (default: the two most "
                     "influential)")
    p.set_defaults(handler="abm.cli.sweep:cmd_sweep", sweep_parser=p,
                   interrupted="finished runs are kept in the sweep folder; carry on with "
                   "--resume")


def add_executor_arguments(group: argparse._ActionsContainer, kind: str) -> None:
    """``--workers``, ``--scheduler``, ``--resume`` / ``--restart`` and ``--quiet``: how the
    runs of a ``kind`` (sweep, audit) execute (:func:`run_with_progress` reads them)."""
    group.add_argument("--workers", type=positive_int_arg, metavar="N",
                       help="local processes (default: one per core; 1 runs serially in this "
                       "process); with --scheduler local, the Dask workers")
    group.add_argument("--scheduler", metavar="ADDR",
                       help="run on Dask: 'local' starts a local cluster, tcp://HOST:PORT joins "
                       "a running scheduler (needs the dask extra; workers need this package)")
    again = group.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help=f"carry on the {kind} in DIR: run only the runs not yet written")
    again.add_argument("--restart", action="store_true",
                       help=f"discard the {kind} in DIR and start again")
    group.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_sweep(args: argparse.Namespace) -> int:
    """Dispatch ``abm sweep SPEC ...`` and ``abm sweep report DIR``."""
    parser: argparse.ArgumentParser = args.sweep_parser
    if args.spec == "report":
        if args.folder is None:
            parser.error("report needs the sweep folder: abm sweep report DIR")
        used = [f for f in ("workers", "scheduler", "resume", "restart", "quiet")
                if getattr(args, f)]
        if used:
            parser.error(f"--{used[0]} applies to running a sweep, not to report")
        args.interrupted = "the report is written only when complete; run the command again"
        return _report(args)
    if args.folder is not None:
        parser.error(f"unexpected argument {args.folder!r}; give the folder with --out")
    if args.out is None:
        parser.error("the following arguments are required: --out")
    try:
        args.out = folder_arg(args.out)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"argument --out: {exc}")
    if args.target or args.pair:
        parser.error("--target and --pair apply to abm sweep report")
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    with InterruptHold():  # a Ctrl-C while the sweep loads stops it once it has
        from abm.sweeps.runner import SweepPlan
        from abm.sweeps.spec import load_spec

        spec = load_spec(args.spec)
        plan = SweepPlan(spec)
    manifest = run_with_progress(plan, args, f"sweep {spec.name}",
                                 f"sweep {spec.name}: {spec.design} design")
    if manifest is None:
        return 130 if args.interrupted_now else 1
    print(f"wrote {args.out}/results.parquet and manifest.json")
    print(f"analyse with: abm sweep report {args.out}")
    return 0


def run_with_progress(plan: Plan, args: argparse.Namespace, label: str, heading: str
                      ) -> dict | None:
    """Run ``plan`` into ``args.out`` on the executor ``args.workers`` / ``args.scheduler``
    ask for, with a progress bar (``label``) unless ``args.quiet``; resume or restart as
    ``args`` says. Print what happened; return the final manifest, or None if the runs were
    interrupted (``args.interrupted_now`` set) or one failed (finished runs are kept)."""
    with InterruptHold():  # numba too (the bar's first frame asks whether the runs compile)
        import abm.core.flow  # noqa: F401
        from abm.market.progress import RunProgress, end_bars
        from abm.sweeps.runner import SweepError, open_executor, run_plan

    # where the runs execute in this process (--workers 1), a Ctrl-C is held again until the
    # first run's first hour is done: that hour loads the compiled code here (run_plan's
    # first_hour; with other executors it is released before the runs start)
    with InterruptHold() as hold:
        # the first call tells how many runs are already written
        progress = RunProgress(label, unit="run", quiet=args.quiet, smoothing=0.1, hold=hold)
        args.interrupted_now = False

        start = time.monotonic()
        try:
            with open_executor(args.workers, args.scheduler) as (executor, describe, slots):
                if not args.quiet:
                    print(f"{heading} on {describe}", file=sys.stderr)
                manifest = run_plan(plan, Path(args.out), executor, slots=slots,
                                    describe=describe, resume=args.resume,
                                    restart=args.restart, progress=progress,
                                    first_hour=hold.release)
        except KeyboardInterrupt:
            end_bars()
            args.interrupted_now = True
            print(f"interrupted: finished runs are in {args.out}; carry on with --resume",
                  file=sys.stderr)
            return None
        except SweepError as exc:
            progress.close()
            print(f"error: {exc}", file=sys.stderr)
            return None
    progress.close()
    print(f"{manifest['runs_done']} of {manifest['runs_total']} runs complete "
          f"({time.monotonic() - start:,.1f} s this session, {manifest['executor']})")
    return manifest


def _report(args: argparse.Namespace) -> int:
    with InterruptHold():  # a Ctrl-C while the command loads stops it once it has
        from abm.report.sweep_report import write_report
        from abm.sweeps.analysis import parse_target
        from abm.sweeps.results import manifest_spec, read_manifest

    out = Path(args.folder)
    target = None
    if args.target:
        spec = manifest_spec(out, read_manifest(out))
        target = parse_target(args.target, spec.all_outcomes)
    path = write_report(out, target, args.pair, args.out)
    print(f"wrote {path}")
    return 0

