"""The ``abm`` command line.

How it is built (follow this pattern when adding a subcommand, e.g. ``abm export pypsa``): the
parser must build from the standard library alone, so that ``abm --help`` answers within 0.5 s
and ``abm check`` never imports Mesa, matplotlib or numba (``tests/test_startup.py`` checks this
in a fresh interpreter; ``benchmarks/startup.py`` times it).

- A subcommand's arguments are declared in :func:`build_parser`, or in a ``register(subparsers)``
  function of a module of its own in this package (``abm/cli/sweep.py``, ``abm/cli/audit.py``,
  ``abm/cli/dashboard.py``) that imports nothing heavy at module level.
- Argument types (``type=``) come from :mod:`abm.cli.argtypes` (standard library only).
- The handler is named, not imported: ``set_defaults(handler="abm.module:cmd_name")``; :func:`main`
  imports it only when that command runs. Handlers return the exit status; bad input raises
  :class:`abm.errors.InputError` (exit 2, one line on stderr).
- ``set_defaults(interrupted=...)`` says, in one line, what Ctrl-C leaves behind and how to carry
  on; :func:`main` prints it and exits 130 (a handler that knows more may set
  ``args.interrupted`` as it goes, or catch ``KeyboardInterrupt`` itself). CPython can lose a
  Ctrl-C that lands while libraries load (in their cleanup): a handler that loads libraries
  does so under :class:`abm.cli.interrupts.InterruptHold`, which raises it once they have
  loaded (``cmd_run`` and ``cmd_report`` once the first hour is done: their bar releases it);
  :func:`main` holds one while the parser and the handler's module load.
- Only this package prints. The library logs (``logging.getLogger(__name__)``; a test fails on a
  ``print`` outside ``abm/cli/``); :func:`main` shows its warnings as one ``warning: ...`` line
  each on stderr, and a handler prints its own result (``wrote ...``) on stdout.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable

from abm.cli.argtypes import (
    RUN_FOLDER,
    budgets_arg,
    folder_arg,
    positive_float_arg,
    positive_int_arg,
    scenario_help,
    seed_arg,
)
from abm.cli.interrupts import InterruptHold
from abm.errors import InputError, PlausibilityWarning, PluginWarning, ResultError, one_line
from abm.market.progress import end_bars


def registered_choices() -> str:
    """What a scenario may choose at each registered extension point, one line each."""
    from abm.config.registry import REGISTRIES

    return "choices a scenario may name (abm.config.registry):\n" + "\n".join(
        "  " + r.help().replace("\n", "\n  ") for r in REGISTRIES)


CHOICES_EPILOG = "(the choices of every registry)"


class ChoicesHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help whose epilog ``CHOICES_EPILOG`` becomes :func:`registered_choices` when printed,
    so that building the parser loads no registry (the entries import the model)."""

    def add_text(self, text: str | None) -> None:
        super().add_text(registered_choices() if text == CHOICES_EPILOG else text)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a scenario and print a summary."""
    with InterruptHold():  # a Ctrl-C while the command loads stops it once it has
        from abm.config.events import check_rules
        from abm.config.levers import levers
        from abm.config.registry import GRID_RESPONSES
        from abm.config.scenario import load_scenario
        from abm.config.tables import latency_provenance
        from abm.core.instance import compile_scenario
        from abm.core.masks import masks
        from abm.core.metrics import relocatable_by_mask
        from abm.core.preflight import check_run
        from abm.core.signals import hour_stamps, profile_signals

        inst = compile_scenario(load_scenario(args.scenario))
    scn = inst.scenario  # with its population drawn
    # what the run builds before its first hour, as it builds it: the signals (reading the
    # scenario's trace, if any), the grid response (and what its events' rules read of it),
    # and the numbers derived from them
    signals = profile_signals(scn)
    grid = GRID_RESPONSES[scn.market.grid_response](scn, signals,
                                                    hour_stamps(scn.start, scn.hours))
    check_rules(scn.events, grid, scn.source)
    check_run(inst, signals, scn.hours)
    m = masks(inst)
    classes = int(inst.valid.sum())
    assumed = sorted({f"{r.id}.{f}" for r in scn.regions for f in r.assumed}
                     | {f"{z.id}.{f}" for z in scn.zones for f in z.assumed})
    print(f"scenario   {scn.name}  ({scn.source})")
    if scn.description:
        print(f"           {scn.description}")
    print(f"horizon    {scn.hours} h from {scn.start.isoformat()} UTC, seed {scn.seed}")
    if scn.trace is not None:
        print(f"signals    hourly trace {scn.trace}, read and checked for these hours")
    print(f"regions    {len(scn.regions)} in {len(scn.zones)} grid zones, "
          f"{sum(r.capacity_mw for r in scn.regions):,.0f} MW capacity")
    print(f"latency    {latency_provenance(scn.latency)}")
    print(f"operators  {len(scn.operators)} with {classes} workload classes, "
          f"{inst.demand_mw.sum():,.1f} MW demand")
    print("strategies " + ", ".join(f"{n} {c}" for n, c in Counter(inst.strategy).items()))
    p = scn.policy
    by_jurisdiction = "".join(f", {j} {v:g}" for j, v in p.carbon_price_by_jurisdiction)
    print(f"policy     operators' carbon price {p.carbon_price_usd_per_t:g} $/t{by_jurisdiction}"
          f", residency {'+'.join(p.residency)}, placement on {p.placement_signal} carbon, "
          f"accounting on {p.accounting_basis}")
    mk = scn.market
    print(f"market     {mk.allocation} allocation, {mk.pricing} rent, {mk.grid_response} grid "
          "response")
    if mk.grid_response == "technology":
        from abm.grid.responses import grid_summary

        print(f"grid       {grid_summary(scn)}")
    print("relocatable demand at the scenario's own budgets:")
    for key, value in relocatable_by_mask(inst, m).items():
        print(f"  {key:<24} {value:6.1%}")
    print_levers(levers(scn.source))
    print(f"shipped assumptions in use ({len(assumed)}): "
          + (", ".join(assumed) if assumed else "none"))
    print("ok")
    return 0


def print_levers(found: list) -> None:
    """``abm check``'s list of levers (``abm.config.levers.Lever``), by the file that sets
    them: the scenario's own first, then what it inherits."""
    if not found:
        print("levers     none set: every setting at its default")
    width = max((len(lv.path) for lv in found), default=0)
    for source in dict.fromkeys(lv.source for lv in found):
        mine = [lv for lv in found if lv.source == source]
        how = "set by" if source == found[0].source else "inherited from"
        print(f"levers {how} {source} ({len(mine)}):")
        for lv in mine:
            print(f"  {lv.path:<{width}}  {lv.value}  ({lv.default})")


def cmd_frontier(args: argparse.Namespace) -> int:
    """Compute the energy-latency frontier, print it, write CSV and PNG."""
    # a Ctrl-C while the command loads (its modules, then the first placement's compiled code)
    # stops it once the first budget is done
    with InterruptHold() as hold:
        from abm.config.scenario import load_scenario
        from abm.core.frontier import DEFAULT_BUDGETS_MS, at_hour, frontier
        from abm.core.instance import compile_scenario
        from abm.core.signals import mean_signals
        from abm.files import write_atomic
        from abm.report.figures import frontier_figure, save

        scn = load_scenario(args.scenario)
        inst = compile_scenario(scn)
        budgets = args.budgets or DEFAULT_BUDGETS_MS
        if args.hour is None:
            signals, when = mean_signals(scn), "annual-mean signals"
        else:
            if not 0 <= args.hour < scn.hours:
                raise InputError("--hour", "hour", f"expected 0..{scn.hours - 1}, got {args.hour}")
            inst, signals = at_hour(scn, inst, args.hour)
            when = f"hour {args.hour} of the scenario (its demand and signals)"
        out = args.out  # checked by folder_arg
        out.mkdir(parents=True, exist_ok=True)
        df = frontier(inst, signals, budgets, frictions=not args.no_frictions,
                      after_budget=lambda _: hold.release())
    write_atomic(out / "frontier.csv", lambda tmp: df.to_csv(tmp, index=False))
    title = (f"{scn.name}: {when}, "
             f"{'no frictions' if args.no_frictions else 'with frictions'}")
    save(frontier_figure(df, title), out / "frontier.png", dpi=120)
    cols = ["budget_ms", "cost_usd", "emissions_kg", "carbon_reduction", "placed_emissions_kg",
            "rid", "realised_relocation", "layer_local_share", "layer_regional_share",
            "layer_energy_share", "unserved_mwh"]
    print(f"energy-latency frontier of {scn.name} ({title.split(': ', 1)[1]}); per hour")
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    print(f"wrote {out / 'frontier.csv'} and {out / 'frontier.png'}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the market with a progress bar; write tables, summary and figures."""
    with InterruptHold() as hold:  # a Ctrl-C while the run loads stops it after the first hour
        from abm.config.scenario import check_hours, load_scenario
        from abm.core.metrics import EMISSION_BASES, LAYERS
        from abm.market.events import TOTALS as EVENT_TOTALS
        from abm.market.progress import RunProgress
        from abm.market.run import MANIFEST, read_tables, run_market, scenario_of_run

        if args.resume and args.scenario is None and (args.out / MANIFEST).is_file():
            # the run in DIR as it was started: its scenario file, hours and seed (given ones
            # win; the run's identity still has to match)
            scn, manifest, _ = scenario_of_run(args.out)
            args.hours = manifest["hours"] if args.hours is None else args.hours
            args.seed = manifest["seed"] if args.seed is None else args.seed
        else:
            scn = load_scenario(args.scenario)
        if args.hours is not None:
            check_hours("--hours", "hours", scn.start, args.hours)
        if args.zone is not None and args.zone not in {z.id for z in scn.zones}:
            raise InputError("--zone", "zone", f"unknown zone {args.zone!r}; the scenario's "
                             "zones: " + ", ".join(z.id for z in scn.zones))
        out = args.out  # checked by folder_arg
        out.mkdir(parents=True, exist_ok=True)
        bar = RunProgress(f"abm run {scn.name}", quiet=args.quiet, scenario=scn, hold=hold)
        try:
            result = run_market(scn, out, hours=args.hours, seed=args.seed, resume=args.resume,
                                restart=args.restart, progress=bar,
                                checkpoint_hours=args.checkpoint_hours,
                                **({"checkpoint_seconds": args.checkpoint_seconds}
                                   if args.checkpoint_seconds else {}))
        except KeyboardInterrupt:
            end_bars()
            print(f"interrupted: the steps up to the last checkpoint are in {out}; carry on "
                  "with --resume", file=sys.stderr)
            return 130
    bar.close()
    with InterruptHold():  # matplotlib loads: a Ctrl-C stops the command once it has
        from abm.report.figures import (
            busiest_zone,
            emissions_figure,
            generation_figure,
            save,
            shift_figure,
            zone_load_figure,
        )

    name = f"{scn.name}, seed {result['seed']}"
    written = read_tables(out, "zones", "model")
    zones = written["zones"]
    save(zone_load_figure(zones, f"{name}: data-centre load by grid zone"),
         out / "zone_load.png")
    shown = args.zone or busiest_zone(zones)
    save(generation_figure(zones, shown, f"{name}: generation in {shown} by technology and its "
                           "marginal technology"), out / "generation.png")
    save(emissions_figure(written["model"],
                          f"{name}: emissions on three bases and the relocation effect"),
         out / "emissions.png")
    save(shift_figure(result["shifted_mwh_by_zone_pair"], f"{name}: largest shifts between zones"),
         out / "shifts.png")
    print(f"{result['hours']} h, {result['operators']} operators: demand "
          f"{result['demand_mwh']:,.0f} MWh, served {result['served_mwh']:,.0f}, unserved "
          f"{result['unserved_mwh']:,.1f}, moved {result['moved_mwh']:,.0f}")
    em = {b: result[f"emissions_{b}_kg"] / 1e3 for b in EMISSION_BASES}
    print(f"cost ${result['cost_usd']:,.0f}; emissions tCO2: average {em['average']:,.1f}, "
          f"marginal {em['marginal']:,.1f}, system {em['system']:,.1f}; relocation "
          f"effect {result['relocation_effect_kg'] / 1e3:+,.1f}")
    print(f"served away from origin {result['relocated_share']:.1%}; layers "
          + ", ".join(f"{k} {result[f'layer_{k}_share']:.1%}" for k in LAYERS))
    if "event_called" in result:
        ev = {k: result[f"event_{k}"] for k in ("called", *EVENT_TOTALS)}
        print(f"demand-response events: {ev['called']} called, asked {ev['asked_mwh']:,.1f} MWh, "
              f"delivered {ev['delivered_mwh']:,.1f} (deferred {ev['deferred_mwh']:,.1f}, "
              f"relocated {ev['relocated_mwh']:,.1f}, shed {ev['shed_mwh']:,.1f})")
    print(f"wrote {out}/summary.json, run.json, tables/ (model, regions, zones, lines, "
          f"migrations{', events' if 'event_called' in result else ''}) and zone_load.png, "
          "generation.png, emissions.png, shifts.png")
    return 0


NOTHING_WRITTEN = "nothing was written; run the command again"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``abm`` and its subcommands (standard library only)."""
    from abm import __version__
    from abm.cli.audit import register as register_audit
    from abm.cli.dashboard import register as register_dashboard
    from abm.cli.headroom import register as register_headroom
    from abm.cli.sweep import register as register_sweep

    parser = argparse.ArgumentParser(
        prog="abm", description="GeoInference ABM: AI inference as relocatable electricity demand.")
    parser.add_argument("--version", action="version", version=f"abm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate a scenario and summarise it",
                           description="Validate a scenario file and summarise it.",
                           epilog=CHOICES_EPILOG, formatter_class=ChoicesHelpFormatter)
    check.add_argument("scenario", nargs="?", help=scenario_help())
    check.set_defaults(handler="abm.cli:cmd_check", interrupted=NOTHING_WRITTEN)

    fr = sub.add_parser("frontier", help="energy-latency frontier: table, CSV and figure",
                        description="Relax every latency budget over a grid and solve the "
                        "planner's placement at each; write DIR/frontier.csv and frontier.png.")
    fr.add_argument("scenario", nargs="?", help=scenario_help())
    fr.add_argument("--budgets", type=budgets_arg, default=None,
                    help="comma-separated latency budgets in ms (default: 10 to 300)")
    fr.add_argument("--out", required=True, type=folder_arg, help="output directory")
    fr.add_argument("--hour", type=int, default=None,
                    help="use this hour of the scenario: its demand (diurnal) and signals "
                    "(default: mean demand at annual-mean signals)")
    fr.add_argument("--no-frictions", action="store_true",
                    help="ignore migration frictions (default: charge them against all-local)")
    fr.set_defaults(handler="abm.cli:cmd_frontier",
                    interrupted="frontier.csv and frontier.png are written only when complete; "
                    "run the command again")

    run = sub.add_parser("run", help="run the agent-based market hour by hour",
                         description="Run the market: operators relocate demand each hour, "
                         "regions answer with rent and capacity, grid zones with price and "
                         "carbon. Writes DIR/summary.json and DIR/tables/ (model, regions, "
                         "zones, lines, migrations; appended at every checkpoint) as it goes, "
                         "and figures at the end; an interrupted run can be resumed.")
    run.add_argument("scenario", nargs="?", help=scenario_help())
    run.add_argument("--hours", type=positive_int_arg, default=None,
                     help="hourly steps to run (default: the scenario's hours)")
    run.add_argument("--seed", type=seed_arg, default=None,
                     help="the seed of every random draw, 0..2^63-1 (default: the scenario's "
                     "seed)")
    run.add_argument("--out", required=True, type=folder_arg, help="output directory")
    again = run.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="carry on an interrupted run in DIR from its last checkpoint "
                       "(without SCENARIO: the scenario file, hours and seed the run in DIR "
                       "was started with)")
    again.add_argument("--restart", action="store_true",
                       help="discard the run in DIR and start again")
    every = run.add_mutually_exclusive_group()
    every.add_argument("--checkpoint-seconds", type=positive_float_arg, default=None,
                       metavar="S", help="append the tables and save the model's state after "
                       "the first hour that ends S seconds of wall time after the last "
                       "checkpoint; a kill loses at most about S seconds of work (default: 60)")
    every.add_argument("--checkpoint-hours", type=positive_int_arg, default=None, metavar="H",
                       help="checkpoint every H simulated hours instead")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--zone", default=None,
                     help="the grid zone generation.png shows by technology (default: the zone "
                     "with the most data-centre load)")
    run.set_defaults(handler="abm.cli:cmd_run",
                     interrupted="the steps up to the last checkpoint are kept in the output "
                     "folder; carry on with --resume")

    register_dashboard(sub)
    _register_report(sub)
    register_sweep(sub)
    register_headroom(sub)
    register_audit(sub)
    _register_export(sub)
    return parser


def _register_export(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="export a run to another tool's format",
                            description="Export a run to another tool's format.")
    formats = export.add_subparsers(dest="format", required=True)
    pp = formats.add_parser("pypsa", help="the run's zones as a PyPSA network (netCDF)",
                            description="Write the zones of a run of the technology market as a "
                            "PyPSA network: buses, generators by technology and tranche with "
                            "their offers and hourly availability, links for interconnectors, "
                            "loads = background + the run's data-centre load, the run's hours "
                            "as snapshots. Needs the optional extra [grid] (docs/grid.md).")
    pp.add_argument("run_dir", help="folder of an `abm run` (with run.json and its tables)")
    pp.add_argument("--out", required=True, help="netCDF file to write, e.g. net.nc")
    pp.set_defaults(handler="abm.cli.report:cmd_export_pypsa",
                    interrupted="the network file is written whole or not at all (a "
                    "previous one is kept as it was); run the command again")


def _register_report(sub: argparse._SubParsersAction) -> None:
    rp = sub.add_parser(
        "report", help="compare scenarios against a baseline: one HTML file and a Markdown twin",
        description="Run scenario files with the market (or read folders written by `abm "
        "run`) and write one self-contained HTML report with its figures embedded, and a "
        "Markdown twin beside it: findings and the caveats of these runs, headline figure "
        "and tables against the baseline (costs per MWh count unserved demand at VoLL), the "
        "energy-latency frontier, execution layers, one zone's generation by technology, zone "
        "changes, world maps, and folded details (set-up and levers, the price of "
        "decentralisation, grid results, who gains and loses, provenance). Every argument and "
        "scenario is checked before the first run.",
        epilog="example: abm report experiments/scenarios/*.toml --baseline "
        "experiments/scenarios/baseline.toml --hours 48 --out out/report.html")
    rp.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                    help="each " + scenario_help(RUN_FOLDER, None))
    rp.add_argument("--baseline", metavar="SCENARIO", default=None,
                    help="the scenario the others are compared with (added to the list if not "
                    "in it): " + scenario_help(RUN_FOLDER, "the first SCENARIO"))
    rp.add_argument("--out", required=True, help="the HTML file to write (the Markdown twin "
                    "and a _figures folder go beside it)")
    rp.add_argument("--hours", type=positive_int_arg, default=None,
                    help="hourly steps to run each scenario file (default: its own hours)")
    rp.add_argument("--seed", type=seed_arg, default=None,
                    help="seed of every run, 0..2^63-1 (default: each scenario's own seed)")
    rp.add_argument("--budgets", type=budgets_arg, default=None,
                    help="comma-separated latency budgets of the frontier in ms "
                    "(default: 10 to 300)")
    rp.add_argument("--zone", default=None,
                    help="the grid zone whose generation by technology and marginal technology "
                    "the report shows (default: the baseline's zone with the most data-centre "
                    "load)")
    rp.add_argument("--replications", type=positive_int_arg, default=3, metavar="N",
                    help="runs of each scenario file, each with its own seed (its own seed, "
                    "then seeds derived from it); figures show the mean and the range over "
                    "the seeds (default: 3; 1 for a quick look)")
    rp.add_argument("--quiet", action="store_true", help="no progress bars")
    rp.set_defaults(handler="abm.cli.report:cmd_report",
                    interrupted="no report was written (it is written only when complete); "
                    "run the command again")


def handler(name: str) -> Callable[[argparse.Namespace], int]:
    """The command handler named ``"package.module:function"``, imported now."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """A plausibility or plug-in warning as one line on stderr (``warning: FILE: FIELD: ...``);
    any other warning as Python shows it."""
    if issubclass(category, (PlausibilityWarning, PluginWarning)):
        print(one_line(f"warning: {message}"), file=sys.stderr)
    else:  # the stub types file as TextIO | None; ours passes on whatever warnings gave it
        _python_show_warning(message, category, filename, lineno, file, line)  # type: ignore[arg-type]


_python_show_warning = warnings.showwarning


class _Lines(logging.Handler):
    """The library's log records (``logging.getLogger("abm")``) as the command line's one-line
    messages: ``warning: ...`` or ``error: ...`` on stderr, anything below on stdout."""

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.levelno >= logging.WARNING:
            kind = "error" if record.levelno >= logging.ERROR else "warning"
            print(f"{kind}: {text}", file=sys.stderr)
        else:
            print(text)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``abm`` console script: 0 done, 1 a file error or a non-finite
    result, 2 bad input, 130 interrupted. Plausibility warnings and the library's logged
    warnings go to stderr, one line each."""
    args = argparse.Namespace(interrupted=NOTHING_WRITTEN)
    log, lines = logging.getLogger("abm"), _Lines()
    level, propagate = log.level, log.propagate
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    log.propagate = False  # the lines are the message: not again through the root's handlers
    try:
        with warnings.catch_warnings():  # restored on return (main may run inside a program)
            warnings.simplefilter("always", PlausibilityWarning)
            warnings.simplefilter("always", PluginWarning)
            warnings.showwarning = _show_warning
            return _main(argv, args)
    finally:
        log.removeHandler(lines)
        log.setLevel(level)
        log.propagate = propagate


def _main(argv: list[str] | None, args: argparse.Namespace) -> int:
    # the command line draws to files only: matplotlib's Agg backend, chosen here and nowhere
    # else (importing an abm module leaves a notebook's backend alone)
    os.environ["MPLBACKEND"] = "Agg"
    try:
        with InterruptHold():  # a Ctrl-C while the command's modules load stops it once they have
            args = build_parser().parse_args(argv)
            command = handler(args.handler)
        status = command(args)
        sys.stdout.flush()  # a closed pipe fails here, inside the try, not at exit
        return status
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ResultError as exc:
        end_bars()
        print(one_line(f"error: {exc}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        end_bars()
        print(f"interrupted: {args.interrupted}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (abm check | head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file or folder the command cannot read or write
        where = f"{exc.filename}: " if exc.filename else ""
        print(one_line(f"error: {where}{exc.strerror or exc}"), file=sys.stderr)
        return 1
    except MemoryError:
        end_bars()
        print("error: out of memory: the scenario or the run is too large for this machine "
              "(abm/config/limits.py bounds what a scenario may ask for)", file=sys.stderr)
        return 1

