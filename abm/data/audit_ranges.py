"""What an assumptions audit varies (``abm/data/audit_ranges.csv``): the ranges it moves assumed
figures across, and the modelling rules it switches.

Each row of the table is one kind of assumption, with the two ends it is moved to and their
source. Most are *ranges*: factors on a figure. A *rule switch* (``table`` ``switch``) is a
modelling rule of the scenario, a setting with named values (``[grid] moved_water``), set to
each of two values; no datum has a range there, the rule is a choice the results hang on.

- ``assumption``: its name, as the audit's ranking shows it;
- ``table``: a grid table whose figures scale (``abm.data.grid_scale.SCALABLE``),
  ``scenario`` for a number of the scenario itself (a friction, say), or ``switch`` for a
  modelling rule of the scenario;
- ``columns``: the table's columns moved together, joined by ``;`` (for ``scenario`` and
  ``switch``: one dotted path, e.g. ``policy.egress_scale``, ``grid.moved_water``);
- ``rows``: the rows moved, as ``[grid.scale]`` selectors (``*`` or ``column=value``
  conditions joined by ``,``), alternatives joined by `` | `` (empty for ``scenario`` and
  ``switch``);
- ``each``: a column that splits the rows into one assumption per value (``line_id``: one per
  assumed line), or empty for one assumption over all of them (empty for ``switch``);
- ``low``, ``high``: the factors on the figures at the two ends of the range (>= 0, low < high);
  for ``switch``, the rule's two values (distinct; which values the setting allows is the
  scenario's to say, checked when an audit is planned: ``abm.sweeps.audit.assumptions``);
- ``source``: where the range comes from (for a switch: why the rule is in doubt).

Bad rows raise :class:`abm.errors.InputError` naming the file, the row and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from abm.data.dataset import DATA_DIR, _number, _read_csv, _rows
from abm.data.grid_scale import EVERY_ROW, SCALABLE, Scale
from abm.errors import InputError, quoted

RANGES_FILE = DATA_DIR / "audit_ranges.csv"
SCENARIO = "scenario"  # the ``table`` of a scenario number
SWITCH = "switch"  # the ``table`` of a modelling rule switched between two values
COLUMNS = ["assumption", "table", "columns", "rows", "each", "low", "high", "source"]


@dataclass(frozen=True)
class Range:
    """One row of the ranges table: a kind of assumption and the ends it is moved to.

    Attributes:
        assumption: the name shown in the ranking.
        table: a grid table (a key of ``SCALABLE``), ``scenario`` or ``switch``.
        columns: the columns moved together (a scenario number or rule: its dotted path).
        rows: ``[grid.scale]`` selectors, any of which picks a row (empty: ``scenario``,
            ``switch``).
        each: the column splitting the rows into one assumption per value (``""``: none).
        low: the factor at the low end of the range (a switch: the rule's first value).
        high: the factor at the high end (a switch: its other value).
        source: where the range comes from.
    """

    assumption: str
    table: str
    columns: tuple[str, ...]
    rows: tuple[str, ...]
    each: str
    low: float | str
    high: float | str
    source: str

    @property
    def switch(self) -> bool:
        """Whether this is a modelling rule switched between two values, not a range."""
        return self.table == SWITCH

    def shown(self) -> str:
        """The range as tables show it (:func:`shown_range`)."""
        return shown_range(self.low, self.high)


def shown_range(low: float | str, high: float | str) -> str:
    """A range's ends as the audit's tables show them: ``x0.8 to x1.2``, or a rule switch's
    two values, ``rule switch: displaced_unit / nothing_burnt``."""
    if isinstance(low, str):
        return f"rule switch: {low} / {high}"
    return f"x{low:g} to x{high:g}"


def load_ranges(path: Path | str = RANGES_FILE) -> tuple[Range, ...]:
    """Read and check a ranges table (default: the shipped one).

    Raises:
        InputError: naming the file, the row and the field, for an unknown table or column, a
            bad selector, a factor below 0, ``low >= high``, a switch without two different
            values, a name used twice or a missing source.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "", "no such ranges file")
    df = _read_csv(path, COLUMNS)
    out: list[Range] = []
    for i, r in _rows(df):
        w = f"row {i + 2}"
        name, table = r.assumption.strip(), r.table.strip()
        if not name:
            raise InputError(path, f"{w}.assumption", "a name is required")
        if any(x.assumption == name for x in out):
            raise InputError(path, f"{w}.assumption", f"{quoted(name)} is named twice")
        if table not in (SCENARIO, SWITCH) and table not in SCALABLE:
            raise InputError(path, f"{w}.table", f"{quoted(table)} is not a grid table whose "
                             f"figures scale, {SCENARIO!r} nor {SWITCH!r}; allowed: "
                             f"{', '.join([*SCALABLE, SCENARIO, SWITCH])}")
        columns = tuple(c.strip() for c in r.columns.split(";") if c.strip())
        rows = tuple(s.strip() for s in r.rows.split(" | ") if s.strip())
        if table in (SCENARIO, SWITCH):
            if len(columns) != 1 or rows or r.each.strip():
                what = "a scenario number" if table == SCENARIO else "a rule switch"
                raise InputError(path, f"{w}.columns", f"{what} is one dotted path in "
                                 "columns, with rows and each empty")
        else:
            bad = [c for c in columns if c not in SCALABLE[table]]
            if not columns or bad:
                raise InputError(path, f"{w}.columns", f"{quoted(';'.join(bad))} not a figure "
                                 f"of {table}.csv that scales; allowed: "
                                 f"{', '.join(SCALABLE[table])}")
            if not rows:
                raise InputError(path, f"{w}.rows", f"selectors are required ({EVERY_ROW!r} "
                                 "for every row)")
            for selector in rows:
                try:
                    Scale(table, columns[0], selector, 1.0).conditions()
                except ValueError as exc:
                    raise InputError(path, f"{w}.rows", str(exc)) from None
        low, high = _ends(r, table, path, w)
        if not r.source.strip():
            raise InputError(path, f"{w}.source", "every range needs its source")
        out.append(Range(name, table, columns, rows, r.each.strip(), low, high,
                         r.source.strip()))
    if not out:
        raise InputError(path, "", "holds no ranges")
    return tuple(out)


def listing(path: Path | str = RANGES_FILE) -> str:
    """What a ranges table makes the audit vary, one line each (``abm audit --help``): the
    assumption, what it moves and its range, rule switches marked as such.

    Raises:
        InputError: as :func:`load_ranges`.
    """
    lines = []
    for r in load_ranges(path):
        moved = (r.columns[0] if r.table in (SCENARIO, SWITCH)
                 else f"{r.table}.{'/'.join(r.columns)}" + (f", each {r.each}" if r.each else ""))
        lines.append(f"{r.assumption} ({moved}): {r.shown()}")
    return "\n".join(lines)


def _ends(r: pd.Series, table: str, path: Path, w: str) -> tuple[float, float] | tuple[str, str]:
    """A row's two ends: factors (low < high), or a switch's two distinct values.

    Raises:
        InputError: naming the file, the row and ``low`` or ``high``.
    """
    if table == SWITCH:
        low, high = r.low.strip(), r.high.strip()
        for end, value in (("low", low), ("high", high)):
            if not value:
                raise InputError(path, f"{w}.{end}", "a rule switch names a value of the rule "
                                 "at each end")
        if low == high:
            raise InputError(path, f"{w}.high", f"a rule switch needs two different values, "
                             f"got {quoted(low)} twice")
        return low, high
    factors = _number(r.low, path, f"{w}.low"), _number(r.high, path, f"{w}.high")
    if not factors[0] < factors[1]:
        raise InputError(path, f"{w}.high", f"the high factor must exceed the low one "
                         f"({factors[0]:g}), got {factors[1]:g}")
    return factors
