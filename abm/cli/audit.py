"""``abm audit``: rank the assumptions a scenario's headline results hang on."""

from __future__ import annotations

import argparse
from pathlib import Path

from abm.cli.argtypes import (
    RUN_FOLDER,
    folder_arg,
    names_arg,
    positive_int_arg,
    scenario_help,
    seed_arg,
)
from abm.cli.interrupts import InterruptHold
from abm.cli.sweep import add_executor_arguments, run_with_progress
from abm.config.resolve import scenario_or_folder

USAGE = """abm audit [SCENARIO | RUN_DIR] --out DIR [--hours H] [--seed S] [--ranges FILE]
                 [--only NAME,...] [--workers N | --scheduler ADDR] [--resume | --restart]
                 [--quiet]"""
DESCRIPTION = """An assumptions audit (docs/audit.md).

Re-runs a scenario (default: the shipped default week; or the scenario, seed and hours of an
`abm run` folder) with each assumed figure moved to the two ends of its documented range, one at
a time, and each modelling rule switched (a rule switch: the rule set to its other value; the
value the scenario has is the base run). What it varies is the table below
(abm/data/audit_ranges.csv, with the sources; --ranges FILE replaces it). It ranks them by how
far they move the headlines: the data centres' system emissions, the relocation effect, their
cost and the electricity price they pay.

Writes DIR/runs/ (each run as it finishes), DIR/audit.parquet, DIR/ranking.csv, DIR/tornado.png
and DIR/report.html. Runs execute in local processes (default: one per core), serially
(--workers 1) or on Dask (--scheduler local, or tcp://HOST:PORT); after a kill or Ctrl-C,
--resume runs only the missing runs."""


VARIED_EPILOG = "(what the audit varies)"


class AuditHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help whose epilog ``VARIED_EPILOG`` becomes the shipped table's assumptions and rule
    switches when printed (so that building the parser reads no table)."""

    def add_text(self, text: str | None) -> None:
        if text == VARIED_EPILOG:
            from abm.data.audit_ranges import listing

            text = ("what the audit varies (abm/data/audit_ranges.csv):\n  "
                    + listing().replace("\n", "\n  "))
        super().add_text(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``audit`` subcommand to ``abm``."""
    p = subparsers.add_parser(
        "audit", help="rank the assumptions the headline results hang on (tornado chart)",
        usage=USAGE, description=DESCRIPTION, epilog=VARIED_EPILOG,
        formatter_class=AuditHelpFormatter)
    p.add_argument("source", nargs="?", metavar="SCENARIO | RUN_DIR",
                   help=scenario_help(RUN_FOLDER + " (its scenario, seed and hours)"))
    p.add_argument("--out", required=True, metavar="DIR", type=folder_arg,
                   help="the audit folder to write")
    p.add_argument("--hours", type=positive_int_arg, default=None,
                   help="hourly steps of every run (default: the scenario's, or the run's)")
    p.add_argument("--seed", type=seed_arg, default=None,
                   help="the seed of every run, 0..2^63-1 (default: the scenario's, or the "
                   "run's)")
    p.add_argument("--ranges", metavar="FILE", default=None,
                   help="the ranges table (default: abm/data/audit_ranges.csv)")
    p.add_argument("--only", type=names_arg, metavar="NAME,...", default=(),
                   help="only the assumptions whose name contains one of these words, e.g. "
                   "'line rating,fuel price' or 'moved water' (a rule switch)")
    add_executor_arguments(p, "audit")
    p.set_defaults(handler="abm.cli.audit:cmd_audit",
                   interrupted="finished runs are kept in the audit folder; carry on with "
                   "--resume")


def cmd_audit(args: argparse.Namespace) -> int:
    """Plan the audit, run it with a progress bar, write its ranking, figure and report."""
    # a folder is a run; otherwise a scenario file or shipped name, resolved to its file (so
    # that the command that resumes the audit works from any folder)
    source = scenario_or_folder(args.source) if args.source is not None else None
    flags = [f"--hours {args.hours}"] if args.hours else []
    flags += [f"--seed {args.seed}"] if args.seed is not None else []
    flags += [f"--ranges {args.ranges}"] if args.ranges else []
    flags += [f"--only '{','.join(args.only)}'"] if args.only else []
    command = " ".join(["abm audit", *([str(source.resolve())] if source else []), "--out DIR",
                        *flags, "--resume"])
    with InterruptHold():  # a Ctrl-C while the audit loads stops it once it has
        from abm.report.audit_report import write_report
        from abm.sweeps.audit import plan_audit

        scenario, seed, hours = source, args.seed, args.hours
        if source is not None and source.is_dir():
            scenario, seed, hours = _of_run(source, seed, hours)
        plan = plan_audit(scenario, seed=seed, hours=hours, ranges=args.ranges, only=args.only,
                          command=command)
    manifest = run_with_progress(plan, args, "audit",
                                 f"audit of {plan.scn.name}: {len(plan.items)} assumptions, "
                                 f"{len(plan.runs())} runs")
    if manifest is None:
        return 130 if args.interrupted_now else 1
    path = write_report(Path(args.out))
    print(f"wrote {args.out}/ranking.csv, audit.parquet, tornado.png and {path.name}")
    return 0


def _of_run(folder: Path, seed: int | None, hours: int | None
            ) -> tuple[Path, int | None, int | None]:
    """The scenario file, seed and hours of the run in ``folder`` (given ones win)."""
    from abm.errors import InputError
    from abm.market.run import scenario_of_run

    scn, manifest, same = scenario_of_run(folder)
    if not same:
        raise InputError(manifest["scenario_source"], "", f"has changed since the run in "
                         f"{folder} was made (its fingerprint differs): audit the file itself")
    return (Path(scn.source), manifest["seed"] if seed is None else seed,
            manifest["hours"] if hours is None else hours)
