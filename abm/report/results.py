"""A run's results as one object: its scenario, summary, tables and figures (docs/api.md).

:class:`Run` is what :func:`abm.simulate` returns and what ``abm report`` compares: the
validated scenario, the summary of ``summary.json`` as a dict, the per-hour tables as pandas
DataFrames (those of an ``abm run`` folder: model, regions, zones, lines, operators,
migrations) and ``plot_*`` methods that return matplotlib Figures. A run made in memory keeps
its Mesa model, so agent-level results are also there the Mesa way
(``run.market.datacollector.get_agenttype_vars_dataframe(Operator)``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from abm.config.scenario import Scenario
from abm.errors import InputError

log = logging.getLogger(__name__)  # the command line shows warnings as one line each

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from abm.market.model import MarketModel

RUN_TABLES = ("model", "regions", "zones", "lines", "operators", "migrations", "events")


@dataclass(frozen=True, eq=False)
class Run:
    """One run of the market.

    Attributes:
        label: the scenario's name (a report's column header).
        origin: where it came from: the scenario file run, or the run folder read.
        scenario: the validated scenario (with its overrides).
        summary: totals over the run (``summary.json``): MWh, $, kgCO2 on three bases, shares,
            the largest shifts between zones.
        tables: per-hour tables by name (see the properties).
        market: the Mesa model of a run made in memory (None for a folder read from disk).
        warning: why the run should be read with care, or "" (e.g. a run folder whose
            scenario file changed since the run).
    """

    label: str
    origin: str
    scenario: Scenario = field(repr=False)
    summary: dict = field(repr=False)
    tables: dict[str, pd.DataFrame] = field(repr=False)
    market: MarketModel | None = field(default=None, repr=False)
    warning: str = ""

    def table(self, name: str) -> pd.DataFrame:
        """The per-hour table ``name`` (one of ``RUN_TABLES``); a clear error if this run has
        none (operators need ``market.operator_detail``; lines need interconnectors)."""
        if name not in RUN_TABLES:
            raise KeyError(f"no table {name!r}; a run has {', '.join(RUN_TABLES)}")
        if name not in self.tables:
            raise KeyError(f"run {self.label!r} has no {name} table"
                           + (" (run with operator_detail=True)" if name == "operators" else ""))
        return self.tables[name]

    @property
    def model(self) -> pd.DataFrame:
        """One row per hour: demand, served, unserved, moved (MWh), cost ($), emissions (kg)
        on three bases, relocation effect (kg), shares, layers (docs/market.md)."""
        return self.table("model")

    @property
    def backlog(self) -> pd.DataFrame:
        """With deferrable work (docs/market.md, "Deferrable work"), one row per hour: the
        work that arrived, ran and missed its deadline, and what waits at the hour's end
        (MWh); a clear error for a run without deferrable work."""
        from abm.market.reporters import DEFERRAL_VALUES

        model = self.model
        if not set(DEFERRAL_VALUES) <= set(model.columns):
            raise KeyError(f"run {self.label!r} has no deferrable work (no class sets "
                           "deferrable_share and deadline_hours), so no backlog")
        return model[["hour", *DEFERRAL_VALUES]].reset_index(drop=True)

    @property
    def events(self) -> pd.DataFrame:
        """With demand-response events (docs/market.md, "Demand-response events"), one row per
        event called: its name, zone, trigger (``schedule`` or the rule), first and last hour
        (``start_utc``, ``end_utc``: the start of its last hour), hours, the cut asked (%), and
        over its hours (MWh of IT load): the zone's load at the reference, what was asked
        (``asked_mw``: per hour, on average), placed, delivered, and how: deferred, relocated,
        shed. The hourly rows are ``run.table("events")``; a clear error for a run without
        events."""
        from abm.report.events import per_event

        if "events" not in self.tables:
            raise KeyError(f"run {self.label!r} has no demand-response events (no "
                           "[events.NAME] in its scenario)")
        return per_event(self.tables["events"])

    @property
    def regions(self) -> pd.DataFrame:
        """One row per hour and compute region: load (MW), utilisation, rent ($/MWh), capacity
        (MW)."""
        return self.table("regions")

    @property
    def zones(self) -> pd.DataFrame:
        """One row per hour and grid zone: price ($/MWh), carbon (kg/MWh), marginal technology,
        data-centre load and net imports (MW), emissions (kg), generation by technology (MW,
        ``gen_<technology>_mw``)."""
        return self.table("zones")

    @property
    def lines(self) -> pd.DataFrame:
        """One row per hour and interconnector: flow (MW, + from ``from_zone``), congested."""
        return self.table("lines")

    @property
    def operators(self) -> pd.DataFrame:
        """One row per hour and operator: its strategy, served, unserved, moved (MW), cost
        ($)."""
        return self.table("operators")

    @property
    def migrations(self) -> pd.DataFrame:
        """One row per hour and pair of regions that load moved between (MW)."""
        return self.table("migrations")

    def agents(self, agent_type: type) -> pd.DataFrame:
        """Mesa's ``get_agenttype_vars_dataframe(agent_type)`` of an in-memory run (index:
        step, agent id), e.g. ``run.agents(abm.Operator)``."""
        if self.market is None:
            raise ValueError(f"run {self.label!r} was read from {self.origin}: agent-level "
                             "results are in its tables (run.zones, run.regions, ...)")
        return self.market.datacollector.get_agenttype_vars_dataframe(agent_type)

    # -- figures ---------------------------------------------------------------------------

    def plot_zone_load(self) -> Figure:
        """Data-centre grid load by zone, hour by hour (stacked, MW)."""
        from abm.report.figures import zone_load_figure

        return zone_load_figure(self.zones, f"{self.label}: data-centre load by grid zone")

    def plot_generation(self, zone: str | None = None) -> Figure:
        """Generation in ``zone`` by technology (MW) and its marginal technology, hour by hour
        (default: the zone with the most data-centre load)."""
        from abm.report.figures import busiest_zone, generation_figure

        known = sorted(self.zones.zone.unique())
        if zone is not None and zone not in known:
            raise InputError("plot_generation", "zone",
                             f"unknown zone {zone!r}; the run's zones: {', '.join(known)}")
        zone = zone or busiest_zone(self.zones)
        return generation_figure(self.zones, zone, f"{self.label}: generation in {zone} by "
                                 "technology and its marginal technology")

    def plot_emissions(self) -> Figure:
        """Emissions per hour on the average, marginal and system bases, the relocation
        effect (tCO2) and MWh moved."""
        from abm.report.figures import emissions_figure

        return emissions_figure(self.model, f"{self.label}: emissions on three bases and the "
                                "relocation effect")

    def plot_shifts(self, top: int = 15) -> Figure:
        """The ``top`` largest flows of served MWh from origin zone to execution zone."""
        from abm.report.figures import shift_figure

        return shift_figure(self.summary["shifted_mwh_by_zone_pair"],
                            f"{self.label}: largest shifts between zones", top=top)

    def plot_map(self, baseline: Run | None = None) -> Figure:
        """World map: data-centre energy per zone (or its change against ``baseline``), the
        largest shifts and interconnector flows."""
        from abm.report.figures import map_figure

        return map_figure(self, baseline)

    def _repr_html_(self) -> str:
        from abm.core.metrics import EMISSION_BASES

        s = self.summary
        rows = [("hours", f"{s['hours']}"), ("operators", f"{s['operators']}"),
                ("demand", f"{s['demand_mwh']:,.0f} MWh"),
                ("unserved", f"{s['unserved_mwh']:,.1f} MWh"),
                ("cost", f"${s['cost_usd']:,.0f}"),
                ("CO2 average / marginal / system",
                 " / ".join(f"{s[f'emissions_{b}_kg'] / 1e3:,.1f}" for b in EMISSION_BASES)
                 + " t"),
                ("served away from origin", f"{100 * s['relocated_share']:.1f}%"),
                ("tables", ", ".join(t for t in RUN_TABLES if t in self.tables))]
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
                       for k, v in rows)
        return f"<b>Run {self.label}</b> ({self.origin})<table>{body}</table>"


def simulate_scenario(scn: Scenario, hours: int | None = None, seed: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> Run:
    """Run ``scn``'s market in memory and return the :class:`Run` (tables, summary, model).

    Args:
        scn: the scenario.
        hours: hourly steps (default: the scenario's).
        seed: the seed (default: the scenario's).
        progress: called as ``progress(done, total)`` once before the first step and after
            every step (``abm.market.progress.RunProgress``).
    """
    from abm.market.loop import run
    from abm.market.model import MarketModel
    from abm.market.run import summary, tables

    if progress is not None:
        progress(0, hours or scn.hours)
    model = MarketModel(scn, rng=seed, hours=hours)
    run(model, on_step=None if progress is None
        else lambda m: progress(int(m.steps), m.hours))
    return Run(scn.name, scn.source, scn, summary(model, "complete"), tables(model), model)


def read_run(folder: str | Path) -> Run:
    """Read a run folder written by ``abm run``: its summary and tables
    (:func:`abm.market.run.read_tables`) and its scenario file, read again. If that file has
    changed since the run (another fingerprint), the run carries a warning saying so (logged,
    which `abm` prints on stderr; a report lists it among its caveats)."""
    from abm.market.run import read_summary, read_tables, scenario_of_run

    folder = Path(folder)
    scn, manifest, same = scenario_of_run(folder)
    result = read_summary(folder, manifest)  # its checksum checked against the manifest's
    warning = ""
    if not same:
        warning = (f"{folder}: the scenario file {manifest['scenario_source']} has changed "
                   f"since this run was made (its fingerprint is not the run's "
                   f"{manifest['fingerprint']}): the set-up and frontier shown are the file's "
                   "today, the results the run's")
        log.warning(warning)
    return Run(result["scenario"], str(folder), scn, result, read_tables(folder), warning=warning)
