"""A finished (or interrupted) ``abm run`` folder as the dashboard shows it, read-only.

Every number comes from the run's stored tables (``abm.report.results.read_run``: checksums
and the run's identity checked): the model table gives the headline totals and the execution
layers, the regions and zones tables the map, the zones' series and the generation by
technology, the lines table the interconnectors, the migrations table the arrows (the MW that
moved between regions in the hour shown: a run stores its moves, not where each origin's load
is served). Any stored hour can be shown; nothing is run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from abm.config.resolve import scenario_or_folder
from abm.config.scenario import load_scenario
from abm.dashboard.state import View, region_frame
from abm.market.events import COLUMNS as EVENT_COLUMNS
from abm.market.run import MANIFEST
from abm.report.results import read_run


def is_run_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder with a run's manifest (``run.json``)."""
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def check_source(source: str | Path | None) -> str | None:
    """The dashboard's source as an absolute path, once read: a folder must be a readable
    ``abm run`` folder; otherwise a valid scenario, a file or a shipped scenario's name
    (:func:`abm.config.resolve.scenario_or_folder`); None stands for the shipped default
    scenario.

    Raises:
        InputError: naming the file and what is wrong with it.
    """
    if not source:
        return None
    path = scenario_or_folder(source).resolve()
    if path.is_dir():
        StoredRun(path)
    else:
        load_scenario(path)
    return str(path)


class StoredRun(View):
    """The dashboard's view of an ``abm run`` folder: the same tables as a live run's, for
    the hours stored, up to the hour chosen.

    Args:
        folder: the run folder.

    Raises:
        InputError: the folder's manifest, summary or a table is missing or damaged, or its
            scenario file is gone (``read_run``).
    """

    def __init__(self, folder: str | Path) -> None:
        self.run = read_run(folder)
        self.folder = Path(folder)
        self.summary = self.run.summary
        # the run's own seed: its population (and so the frontier) is drawn with it
        self.scenario = replace(self.run.scenario, seed=int(self.summary["seed"]))
        self.rows = self.run.model.to_dict("records")
        self.seek(self.hours)  # the end of the run first

    @property
    def hours(self) -> int:
        """Hours stored (all of them, unless the run was interrupted)."""
        return len(self.rows)

    def seek(self, hour: int) -> None:
        """Show the run after ``hour`` hours (1..hours): ``steps`` are the model table's rows
        of those hours (a live run's step values)."""
        self.steps = self.rows[: min(max(int(hour), 1), self.hours)]

    def regions(self) -> pd.DataFrame:
        """The map's regions in the last hour shown (as ``Dashboard.regions``)."""
        h = self.hour - 1
        regions = self.run.regions
        zones = self.run.zones
        now = regions[regions.hour == h].set_index("region")
        carbon = zones[zones.hour == h].set_index("zone").marginal_carbon_kg_per_mwh
        ids = [r.id for r in self.scenario.regions]
        return region_frame(self.scenario, now.load_mw.reindex(ids).to_numpy(),
                            now.capacity_mw.reindex(ids).to_numpy(), carbon.to_dict())

    def flows(self) -> pd.DataFrame:
        """MW moved between regions in the last hour shown: origin -> region, largest first."""
        moves = self.run.migrations
        now = moves[moves.hour == self.hour - 1]
        df = (now.groupby(["from_region", "to_region"], as_index=False).mw.sum()
              .rename(columns={"from_region": "origin", "to_region": "region"}))
        return df.sort_values("mw", ascending=False, ignore_index=True)

    def zone_series(self) -> pd.DataFrame:
        """The zones table's rows of the hours shown."""
        zones = self.run.zones
        return zones[zones.hour < self.hour].reset_index(drop=True)

    def lines(self) -> pd.DataFrame:
        """The interconnectors in the last hour shown (no rows for a run without lines)."""
        lines = self.run.tables.get("lines", pd.DataFrame({"hour": []}))
        return lines[lines.hour == self.hour - 1].reset_index(drop=True)

    def events(self) -> pd.DataFrame:
        """The demand-response events' hourly rows of the hours shown (no rows without)."""
        events = self.run.tables.get("events")
        if events is None:
            return pd.DataFrame(columns=list(EVENT_COLUMNS))
        return events[events.hour < self.hour].reset_index(drop=True)
