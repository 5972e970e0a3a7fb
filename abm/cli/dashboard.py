"""``abm dashboard``: serve the interactive dashboard on this machine (Solara, optional extra)."""

from __future__ import annotations

import argparse
import importlib.util
import sys

from abm.cli.argtypes import RUN_FOLDER, port_arg, positive_int_arg, scenario_help
from abm.cli.interrupts import InterruptHold

INSTALL_HINT = ("the dashboard needs the optional 'viz' extra (solara): run ./bootstrap.sh viz, "
                "or .venv/bin/pip install -e '.[viz]'")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_SESSIONS = 8  # pages open at once, each with its own run in memory


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Check the scenario or run folder, then serve the dashboard in this process until
    SIGTERM or Ctrl+C."""
    if importlib.util.find_spec("solara") is None:
        print(f"error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    with InterruptHold():  # a Ctrl-C while the command loads stops it once it has
        from abm.dashboard.server import serve
        from abm.dashboard.stored import check_source

        source = check_source(args.source)  # a bad file or folder fails here, in one line
    if args.host not in LOOPBACK:
        print(f"warning: --host {args.host} makes the dashboard reachable by other machines "
              "on the network, without a password; use the default 127.0.0.1 to keep it on "
              "this machine", file=sys.stderr, flush=True)
    print(f"abm dashboard: serving on http://{args.host}:{args.port}/ (Ctrl+C to stop)",
          flush=True)
    serve(source, args.host, args.port, args.max_sessions,
          frozenset(h.lower() for h in args.allow_host))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dashboard`` subcommand to the ``abm`` parser."""
    p = subparsers.add_parser(
        "dashboard", help="interactive dashboard in the browser (needs the 'viz' extra)",
        description="Serve the interactive dashboard: move the carbon price, the latency "
        "budgets by tier, the residency regime, migration friction, the forecast mode and the "
        "strategy, then step or play the market hour by hour and watch load move on the world "
        "map, with the zones' prices and carbon, generation by technology, the execution "
        "layers, the energy-latency frontier and the headline numbers; or view a folder "
        "written by `abm run`, read-only, hour by hour. Served on this machine only by default "
        "(127.0.0.1); open the printed address in a browser. Needs the optional 'viz' extra "
        "(./bootstrap.sh viz). In a notebook: abm.dashboard.show(SOURCE).")
    p.add_argument("source", nargs="?", metavar="SCENARIO_OR_RUN",
                   help="what to open first: " + scenario_help(
                       RUN_FOLDER + " (viewed read-only)") + " (the shipped scenarios, and "
                   "from a clone every experiment scenario, can be chosen in the page)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; "
                   "another address exposes the dashboard to the network)")
    p.add_argument("--port", type=port_arg, default=8765, help="port to listen on (default: 8765)")
    p.add_argument("--max-sessions", type=positive_int_arg, default=MAX_SESSIONS, metavar="N",
                   help=f"the most pages open at once, each with its own run in memory; one "
                   f"more is refused with a page saying so (default: {MAX_SESSIONS})")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a further host name the browser may use to reach the dashboard (e.g. "
                   "this machine's DNS name with --host 0.0.0.0); others are refused, so that "
                   "no web page can reach the dashboard through a DNS name of its own")
    p.set_defaults(handler="abm.cli.dashboard:cmd_dashboard",
                   interrupted="the dashboard stopped; it keeps nothing")
