"""``abm report`` and ``abm export pypsa``: the commands over the report and export modules
(``abm.report.run_report``, ``abm.report.pypsa_export``), which print nothing themselves."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from abm.cli.interrupts import InterruptHold
from abm.config.limits import MAX_REPLICATIONS
from abm.config.resolve import scenario_or_folder
from abm.errors import InputError


def cmd_report(args: argparse.Namespace) -> int:
    """Check every argument and scenario, run or read the scenarios, and write the HTML report
    and its Markdown twin."""
    paths = [scenario_or_folder(p) for p in args.scenarios]
    baseline_path = scenario_or_folder(args.baseline, "--baseline") if args.baseline else paths[0]
    order = [baseline_path, *[p for p in paths if p.resolve() != baseline_path.resolve()]]
    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm") or out.is_dir():
        raise InputError(out, "", "--out must name an .html file (the Markdown twin is "
                         "written beside it)")
    replications = args.replications
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise InputError("--replications", "replications",
                         f"expected 1 to {MAX_REPLICATIONS} seeds per scenario, got "
                         f"{replications}")
    # a Ctrl-C while the report loads stops it after the first run's first hour (as abm run)
    with InterruptHold() as hold:
        from abm.core.frontier import DEFAULT_BUDGETS_MS
        from abm.report.run_report import plan, run_planned, write_report

        planned = plan(order, args.zone, args.hours)  # every check before the first run
        out.parent.mkdir(parents=True, exist_ok=True)
        replicas = run_planned(planned, args.hours, args.seed, replications, args.quiet, hold)
    runs = [r[0] for r in replicas.values()]
    command = "abm report " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
    html_path, md_path = write_report(runs, runs[0], out, args.budgets or DEFAULT_BUDGETS_MS,
                                      command, zone=args.zone, replicas=replicas,
                                      quiet=args.quiet)
    print(f"wrote {html_path}, {md_path} and {html_path.stem}_figures/")
    return 0


def cmd_export_pypsa(args: argparse.Namespace) -> int:
    """``abm export pypsa RUN_DIR --out FILE.nc``."""
    with InterruptHold():  # a Ctrl-C while the command loads stops it once it has
        try:
            import pypsa  # noqa: F401  (the optional extra [grid])
        except ImportError:
            print("error: the PyPSA export needs the optional extra: "
                  "pip install 'geoinference-abm[grid]'", file=sys.stderr)
            return 2
        from abm.report.pypsa_export import export_run

    path = export_run(args.run_dir, args.out)
    print(f"wrote {path}: a PyPSA network with one bus per zone, generators by technology and "
          "tranche, links for interconnectors and the run's hours as snapshots")
    return 0
