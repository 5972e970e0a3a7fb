"""An assumptions audit: which assumed figures move a scenario's headline results most.

The audit re-runs a scenario with each assumption moved to the two ends of its documented
range (``abm/data/audit_ranges.csv``, :mod:`abm.data.audit_ranges`), one at a time, everything
else as in the scenario (the same seed, so the same operators and draws), and ranks the
assumptions by how far they move the headlines: the data centres' system emissions, the
relocation effect, their cost and the price they pay for electricity. A grid figure is moved
through ``[grid.scale]`` (the run is the run of tables that say so); a scenario number through
its dotted path. A modelling rule (a *rule switch*, ``[grid] moved_water``) is set to each of
its two values in the table; the value the scenario has is the base run, so the other value is
one run, ranked as a range's end is.

An audit is a :class:`abm.sweeps.runner.Plan`: it runs on the sweeps' executors (processes,
serial or Dask), writes each run's row as it finishes and resumes where it stopped. Its folder
holds ``runs/`` (one part per run), ``manifest.json``, ``audit.parquet`` (one row per run:
``assumption``, ``end``, ``factor`` or a switch's ``value``, and the outcomes; the base run has
no assumption) and ``ranking.csv`` (one row per assumption, effects against the base run,
largest first).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from abm.config.scenario import Scenario, parse_scenario, resolve_file, scenario_file, set_path
from abm.data.audit_ranges import RANGES_FILE, SCENARIO, SWITCH, Range, load_ranges, shown_range
from abm.data.dataset import _read_csv
from abm.data.grid_scale import EVERY_ROW, Scale, matching
from abm.data.grid_tables import GRID_DIR
from abm.errors import InputError
from abm.files import write_atomic
from abm.sweeps.design import Run
from abm.sweeps.results import (
    ID_COLUMNS,
    PROGRESS_SHAPE,
    FolderKind,
    read_manifest,
    trusted_rows,
)
from abm.sweeps.runner import Task

#: the headline results an audit ranks assumptions by (summary paths; kg, kg, $, $/MWh)
OUTCOMES = ("emissions_system_kg", "relocation_effect_kg", "cost_usd", "dc_price_usd_per_mwh")
ROWS = "audit.parquet"
RANKING = "ranking.csv"
ZONE_COLUMNS = ("zone_id", "zone_from", "zone_to", "zones")  # columns naming zones (zones: ;)
LOW, HIGH = "low", "high"  # the two ends of an assumption's range
#: an audit folder's manifest: the audit (scenario, seed, hours, assumptions) and its progress
AUDIT = FolderKind("audit", {
    "kind": {"audit"}, "name": str, "scenario_file": str, "seed": int, "hours": int,
    "ranges_file": str, "outcomes": [str], "assumptions": [{
        "name": str, "kind": str, "table": str, "columns": [str], "rows": [str],
        "low": (float, str), "high": (float, str), "figures": str, "source": str,
        "ends": [{LOW, HIGH}]}], "not_varied": [str], **PROGRESS_SHAPE},
    "carry on with `abm audit ... --out DIR --resume` (which rebuilds it), or --restart",
    "abm audit --out DIR")


@dataclass(frozen=True)
class Assumption:
    """One assumption the audit moves: figures of one table, one scenario number, or one
    modelling rule switched between two values.

    Attributes:
        name: as the ranking shows it (``line rating: US-PJM-DOM-US-MISO``).
        kind: the range it comes from (``line rating``).
        table: the grid table, ``scenario`` or ``switch``.
        columns: the columns moved together (``scenario``, ``switch``: the dotted path).
        rows: the ``[grid.scale]`` selectors of the rows moved.
        low: the factor at the low end of the range (a switch: the rule's first value).
        high: the factor at the high end (a switch: its other value).
        figures: the figures moved, as the scenario has them (a switch: the rule's value).
        source: the source of the range.
        ends: the ends (``low``, ``high``) that are runs of their own; a switch's end at the
            value the scenario has is the base run.
    """

    name: str
    kind: str
    table: str
    columns: tuple[str, ...]
    rows: tuple[str, ...]
    low: float | str
    high: float | str
    figures: str
    source: str
    ends: tuple[str, ...] = (LOW, HIGH)

    @property
    def switch(self) -> bool:
        """Whether this is a modelling rule switched between two values, not a range."""
        return self.table == SWITCH

    def end(self, which: str) -> float | str:
        """The factor (a switch: the value) at end ``which`` (``low`` or ``high``)."""
        return self.low if which == LOW else self.high

    def scales(self, factor: float) -> tuple[Scale, ...]:
        """The ``[grid.scale]`` factors that move this assumption by ``factor``."""
        return tuple(Scale(self.table, c, s, factor) for c in self.columns for s in self.rows)

    def apply(self, data: dict[str, Any], which: str, scn: Scenario) -> None:
        """Move the assumption to its end ``which`` in the scenario table ``data``: set a
        switch's rule to that value, or move the figures by that factor (a factor the scenario
        already puts on the same figures multiplies)."""
        if self.switch:
            set_path(data, self.columns[0], self.end(which), scn.source)
            return
        factor = float(self.end(which))
        if self.table == SCENARIO:
            set_path(data, self.columns[0], _scenario_number(scn, self.columns[0]) * factor,
                     scn.source)
            return
        for s in self.scales(factor):
            node = data.setdefault("grid", {}).setdefault("scale", {}).setdefault(
                s.table, {}).setdefault(s.column, {})
            node[s.rows] = float(node.get(s.rows, 1.0)) * factor


def _setting(scn: Scenario, dotted: str) -> Any:
    """The scenario's setting at ``dotted`` (``policy.egress_scale``), or None."""
    found: Any = scn
    for key in dotted.split("."):
        found = getattr(found, key, None)
    return found


def _scenario_number(scn: Scenario, dotted: str) -> float:
    """The value of the scenario's number at ``dotted`` (``policy.egress_scale``)."""
    found = _setting(scn, dotted)
    if isinstance(found, bool) or not isinstance(found, int | float):
        raise KeyError(dotted)
    return float(found)


def _switch(r: Range, scn: Scenario, table: dict[str, Any], ranges_source: str,
            where: str) -> Assumption:
    """The rule switch ``r`` in ``scn`` (read from ``table``): a run at each of its values
    other than the scenario's.

    Raises:
        InputError: naming the ranges file, its row and field, if the path is not a rule of
            the scenario (a setting with named values) or a value is not one the scenario
            allows (the scenario's own check, with the allowed values).
    """
    path = r.columns[0]
    current = _setting(scn, path)
    if not isinstance(current, str):
        raise InputError(ranges_source, f"{where}.columns", f"{path} is not a rule of the "
                         "scenario (a setting with named values, such as grid.moved_water)")
    ends = tuple(e for e, v in ((LOW, r.low), (HIGH, r.high)) if v != current)
    for end in ends:
        data = copy.deepcopy(table)
        set_path(data, path, r.low if end == LOW else r.high, scn.source)
        try:
            parse_scenario(data, scn.source)
        except InputError as exc:
            raise InputError(ranges_source, f"{where}.{end}", f"{exc.field}: "
                             f"{exc.problem}") from None
    return Assumption(r.assumption, r.assumption, r.table, r.columns, (), r.low, r.high,
                      f"{path} = {current}", r.source, ends)


def assumptions(scn: Scenario, table: dict[str, Any], ranges: tuple[Range, ...],
                ranges_source: str = str(RANGES_FILE)
                ) -> tuple[tuple[Assumption, ...], tuple[str, ...]]:
    """The assumptions of ``ranges`` that ``scn`` (read from ``table``, its resolved scenario
    table) has, and those it has not, with why.

    A grid range picks the rows of the scenario's grid tables (its ``[grid] data`` folder, or
    the shipped tables) that its selectors match and that name a zone of the scenario (rows of
    tables without zones, such as tranches, always count); ``each`` splits them into one
    assumption per value. A range whose rows are absent, outside the scenario's zones or all
    zero moves nothing and is listed as not varied. A rule switch is always varied: it runs
    at each of its values other than the scenario's (each checked by parsing ``table`` with
    it set).

    Raises:
        InputError: naming the ranges file, if a selector names a column the table lacks, a
            scenario path is not a number of the scenario, or a switch's path is not a rule of
            the scenario or one of its values is not allowed there (with the allowed ones).
    """
    zones = {z.id for z in scn.zones}
    folder = Path(scn.grid.data) if scn.grid.data else GRID_DIR
    found: list[Assumption] = []
    skipped: list[str] = []
    for i, r in enumerate(ranges):
        where = f"row {i + 2}"
        if r.switch:
            found.append(_switch(r, scn, table, ranges_source, where))
            continue
        if r.table == SCENARIO:
            try:
                value = _scenario_number(scn, r.columns[0])
            except KeyError:
                raise InputError(ranges_source, f"{where}.columns", f"{r.columns[0]} is not a "
                                 "number of the scenario") from None
            if value == 0:
                skipped.append(f"{r.assumption}: {r.columns[0]} is 0 in this scenario")
                continue
            found.append(Assumption(r.assumption, r.assumption, r.table, r.columns, (), r.low,
                                    r.high, f"{r.columns[0]} = {value:g}", r.source))
            continue
        path = folder / f"{r.table}.csv"
        if not path.is_file():
            skipped.append(f"{r.assumption}: no {r.table}.csv in {folder}")
            continue
        df = _read_csv(path, [*r.columns, *([r.each] if r.each else [])])
        touches = _in_zones(df, zones)
        picks: list[tuple[str, pd.Series]] = []
        for selector in r.rows:
            conditions = Scale(r.table, r.columns[0], selector, 1.0).conditions()
            try:
                picks.append((selector, matching(df, conditions) & touches))
            except KeyError as exc:
                raise InputError(ranges_source, f"{where}.rows", f"{path.name} has no column "
                                 f"{exc.args[0]!r}") from None
        groups = ([(v, [(_joined(s, f"{r.each}={v}"), m & (df[r.each].str.strip() == v))
                        for s, m in picks]) for v in _ordered(df, picks, r.each)]
                  if r.each else [("", picks)])
        kept = 0
        for label, parts in groups:
            parts = [(s, m) for s, m in parts if m.any()]
            cells = [x for _, m in parts for c in r.columns for x in df.loc[m, c]]
            if not any(_figure(x, path, r.columns) for x in cells):
                continue
            kept += 1
            name = f"{r.assumption}: {label}" if label else r.assumption
            found.append(Assumption(name, r.assumption, r.table, r.columns,
                                    tuple(s for s, _ in parts), r.low, r.high,
                                    _figures(df, parts, r.columns, path.name), r.source))
        if not kept:
            skipped.append(f"{r.assumption}: no row of {path.name} it selects names a zone of "
                           "this scenario with a figure other than 0")
    return tuple(found), tuple(skipped)


def _figure(cell: str, path: Path, columns: tuple[str, ...]) -> float:
    """A cell's number (an empty cell: 0).

    Raises:
        InputError: naming the table, if the cell is not a number.
    """
    try:
        return float(cell) if cell.strip() else 0.0
    except ValueError:
        raise InputError(path, "/".join(columns), f"{cell!r} is not a number") from None


def _in_zones(df: pd.DataFrame, zones: set[str]) -> pd.Series:
    """Rows that name a zone of ``zones`` (every row, if the table names none)."""
    columns = [c for c in ZONE_COLUMNS if c in df.columns]
    if not columns:
        return pd.Series(True, index=df.index)
    return df[columns].apply(lambda row: any(z.strip() in zones for cell in row
                                             for z in cell.split(";")), axis=1).astype(bool)


def _ordered(df: pd.DataFrame, picks: list[tuple[str, pd.Series]], column: str) -> list[str]:
    """The values of ``column`` in the picked rows, in the table's order."""
    mask = np.logical_or.reduce([m.to_numpy() for _, m in picks])
    return list(dict.fromkeys(df.loc[mask, column].str.strip()))


def _joined(selector: str, condition: str) -> str:
    return condition if selector == EVERY_ROW else f"{selector},{condition}"


def _figures(df: pd.DataFrame, parts: list[tuple[str, pd.Series]], columns: tuple[str, ...],
             name: str) -> str:
    """The figures moved: their values if one row, else how many rows."""
    mask = np.logical_or.reduce([m.to_numpy() for _, m in parts])
    if mask.sum() == 1:
        row = df.loc[mask].iloc[0]
        return ", ".join(f"{c} {row[c].strip() or '(empty)'}" for c in columns)
    return f"{int(mask.sum())} rows of {name}"


@dataclass(frozen=True)
class AuditPlan:
    """A scenario's assumptions audit as a :class:`abm.sweeps.runner.Plan`: the base run
    (run 0), then each assumption's runs in turn, at its low and high end (a rule switch: at
    its value other than the scenario's)."""

    scenario: dict[str, Any]
    scn: Scenario
    seed: int
    hours: int | None
    items: tuple[Assumption, ...]
    skipped: tuple[str, ...] = ()
    ranges_file: str = str(RANGES_FILE)
    command: str = "abm audit SCENARIO --out DIR --resume"
    kind: str = AUDIT.kind
    folder: FolderKind = AUDIT

    @property
    def source(self) -> str:
        """The scenario file."""
        return self.scn.source

    @property
    def resume_command(self) -> str:
        """The command that carries the audit on."""
        return self.command

    def runs(self) -> list[Run]:
        """The base run, then each assumption's runs (its ``ends``)."""
        out = [Run(0, -1, 0, self.seed,
                   {"assumption": None, "end": None, "factor": 1.0, "value": None})]
        for i, a in enumerate(self.items):
            for end in a.ends:
                at = a.end(end)
                out.append(Run(len(out), i, 0, self.seed, {
                    "assumption": a.name, "end": end, "factor": None if a.switch else at,
                    "value": at if a.switch else None}))
        return out

    def tasks(self, todo: list[Run]) -> Iterator[Task]:
        """Each run's scenario table, its assumption moved."""
        for run in todo:
            data = copy.deepcopy(self.scenario)
            if run.sample >= 0:
                self.items[run.sample].apply(data, run.values["end"], self.scn)
            yield Task(run, data, self.source, {}, self.hours, OUTCOMES, ())

    def schema(self) -> pa.Schema:
        """A run's row: ids, ``assumption`` and ``end`` (null in the base run), ``factor``
        (null in a switch's run) or a switch's ``value``, outcomes."""
        return pa.schema([*(pa.field(c, pa.int64()) for c in ID_COLUMNS),
                          pa.field("assumption", pa.string()), pa.field("end", pa.string()),
                          pa.field("factor", pa.float64()), pa.field("value", pa.string()),
                          *(pa.field(o, pa.float64()) for o in OUTCOMES)])

    def digest(self) -> str:
        """Hash of what the runs compute: the scenario table, seed, hours and each assumption's
        name, figures and factors (not the wording of its source)."""
        moved = [(a.name, a.table, a.columns, a.rows, a.low, a.high, a.ends)
                 for a in self.items]
        text = json.dumps({"scenario": self.scenario, "seed": self.seed, "hours": self.hours,
                           "assumptions": moved,
                           "outcomes": OUTCOMES}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def header(self) -> dict[str, Any]:
        """The audit's scenario, seed, hours, assumptions and ranges."""
        return {"kind": self.kind, "name": self.scn.name,
                "scenario_file": self.source, "seed": self.seed,
                "hours": self.hours or self.scn.hours, "ranges_file": self.ranges_file,
                "outcomes": list(OUTCOMES), "assumptions": [asdict(a) for a in self.items],
                "not_varied": list(self.skipped), "runs_total": len(self.runs())}

    def consolidate(self, out: Path) -> pd.DataFrame:
        """``audit.parquet`` (every finished run) and ``ranking.csv``; return the ranking."""
        table = trusted_rows(out, self.schema(), read_manifest(out, AUDIT),
                             self.command.replace("DIR", str(out)))
        rows = table.to_pandas()
        write_atomic(out / ROWS, lambda p: rows.to_parquet(p, index=False))
        ranked = ranking(rows, self.items)
        write_atomic(out / RANKING, lambda p: ranked.to_csv(p, index=False))
        return ranked


def plan_audit(scenario: str | Path | None = None, *, seed: int | None = None,
               hours: int | None = None, ranges: str | Path | None = None,
               only: tuple[str, ...] = (), command: str | None = None) -> AuditPlan:
    """The audit of a scenario (default: the shipped default scenario).

    Args:
        scenario: the scenario file, or a shipped scenario's name
            (:func:`abm.config.resolve.scenario_file`; the manifest records the file).
        seed: the seed of every run (default: the scenario's).
        hours: hourly steps of every run (default: the scenario's).
        ranges: the ranges table (default: ``abm/data/audit_ranges.csv``).
        only: keep the assumptions whose name contains one of these (case-insensitive).
        command: the command that resumes it (``DIR`` for the folder), named in messages.

    Raises:
        InputError: a bad scenario or ranges file, a scenario without the technology grid
            market, or ``only`` matching no assumption.
    """
    path = scenario_file(scenario)
    table = resolve_file(path)
    scn = parse_scenario(copy.deepcopy(table), str(path))
    if scn.market.grid_response != "technology":
        raise InputError(path, "market.grid_response", f"is {scn.market.grid_response!r}: the "
                         "audit moves figures of the technology market's grid tables; set "
                         "grid_response = \"technology\"")
    ranges_path = Path(ranges) if ranges is not None else RANGES_FILE
    items, skipped = assumptions(scn, table, load_ranges(ranges_path), str(ranges_path))
    if only:
        kept = tuple(a for a in items if any(o.casefold() in a.name.casefold() for o in only))
        if not kept:
            raise InputError("--only", "", f"{', '.join(only)} matches no assumption; "
                             f"the audit has: {', '.join(a.name for a in items)}")
        items = kept
    if not items:
        raise InputError(ranges_path, "", f"no assumption of it is in {path}: "
                         f"{'; '.join(skipped)}")
    return AuditPlan(table, scn, scn.seed if seed is None else seed, hours, items, skipped,
                     str(ranges_path), command or f"abm audit {path} --out DIR --resume")


def ranking(rows: pd.DataFrame, items: tuple[Assumption, ...]) -> pd.DataFrame:
    """The assumptions ranked by their effect on the headline results.

    Args:
        rows: the audit's runs (``audit.parquet``): the base run and each assumption's runs.
        items: the assumptions, in run order.

    Returns:
        One row per assumption with all its runs finished: ``rank``, ``assumption``, ``low``
        and ``high`` (factors; a rule switch: its values), ``range`` (as tables show it:
        ``x0.8 to x1.2``, ``rule switch: displaced_unit / nothing_burnt``), ``figures``, for
        each outcome ``O`` its effect ``O.low`` and ``O.high`` (the run's value minus the base
        run's, in the outcome's unit; 0 at a switch's value the scenario has, which is the
        base run) and ``O.swing_pct`` (the larger absolute effect, in % of the base value; NaN
        where that is 0), and ``score_pct``: the largest swing over the outcomes. Sorted by
        ``score_pct``, largest first (ties by name). Empty without the base run.
    """
    columns = ["rank", "assumption", "low", "high", "range", "figures"] + [
        f"{o}.{x}" for o in OUTCOMES for x in ("low", "high", "swing_pct")] + ["score_pct"]
    base = rows[rows["sample"] < 0]
    if base.empty:
        return pd.DataFrame(columns=columns)
    base_row = base.iloc[0]
    out = []
    for i, a in enumerate(items):
        mine = rows[rows["sample"] == i]
        at = {e: mine[mine.end == e] if e in a.ends else base for e in (LOW, HIGH)}
        if any(found.empty for found in at.values()):
            continue
        entry: dict[str, Any] = {"assumption": a.name, "low": a.low, "high": a.high,
                                 "range": shown_range(a.low, a.high), "figures": a.figures}
        swings = []
        for o in OUTCOMES:
            ref = float(base_row[o])
            effects = (float(at[LOW].iloc[0][o]) - ref, float(at[HIGH].iloc[0][o]) - ref)
            entry[f"{o}.low"], entry[f"{o}.high"] = effects
            swing = 100 * max(abs(e) for e in effects) / abs(ref) if ref else np.nan
            entry[f"{o}.swing_pct"] = swing
            swings.append(swing)
        entry["score_pct"] = float(np.nanmax(swings)) if not np.isnan(swings).all() else 0.0
        out.append(entry)
    df = pd.DataFrame(out, columns=columns[1:])
    df = df.sort_values(["score_pct", "assumption"], ascending=[False, True], kind="stable")
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df.reset_index(drop=True)
