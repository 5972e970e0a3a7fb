"""The ranges an assumptions audit moves assumed figures across (``abm/data/audit_ranges.csv``).

Each row of the table is one kind of assumption, with the factors at the two ends of its range
and the source of that range:

- ``assumption``: its name, as the audit's ranking shows it;
- ``table``: a grid table whose figures scale (``abm.data.grid_scale.SCALABLE``), or
  ``scenario`` for a number of the scenario itself (a friction, say);
- ``columns``: the table's columns moved together, joined by ``;`` (for ``scenario``: one
  dotted path, e.g. ``policy.egress_scale``);
- ``rows``: the rows moved, as ``[grid.scale]`` selectors (``*`` or ``column=value``
  conditions joined by ``,``), alternatives joined by `` | `` (empty for ``scenario``);
- ``each``: a column that splits the rows into one assumption per value (``line_id``: one per
  assumed line), or empty for one assumption over all of them;
- ``low``, ``high``: the factors on the figures at the two ends of the range (>= 0, low < high);
- ``source``: where the range comes from.

Bad rows raise :class:`abm.errors.InputError` naming the file, the row and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from abm.data.dataset import DATA_DIR, _number, _read_csv, _rows
from abm.data.grid_scale import EVERY_ROW, SCALABLE, Scale
from abm.errors import InputError, quoted

RANGES_FILE = DATA_DIR / "audit_ranges.csv"
SCENARIO = "scenario"  # the ``table`` of a scenario number
COLUMNS = ["assumption", "table", "columns", "rows", "each", "low", "high", "source"]


@dataclass(frozen=True)
class Range:
    """One row of the ranges table: a kind of assumption and the factors it is moved by.

    Attributes:
        assumption: the name shown in the ranking.
        table: a grid table (a key of ``SCALABLE``) or ``scenario``.
        columns: the columns moved together (a scenario number: its dotted path).
        rows: ``[grid.scale]`` selectors, any of which picks a row (empty: ``scenario``).
        each: the column splitting the rows into one assumption per value (``""``: none).
        low: the factor at the low end of the range.
        high: the factor at the high end.
        source: where the range comes from.
    """

    assumption: str
    table: str
    columns: tuple[str, ...]
    rows: tuple[str, ...]
    each: str
    low: float
    high: float
    source: str


def load_ranges(path: Path | str = RANGES_FILE) -> tuple[Range, ...]:
    """Read and check a ranges table (default: the shipped one).

    Raises:
        InputError: naming the file, the row and the field, for an unknown table or column, a
            bad selector, a factor below 0, ``low >= high``, a name used twice or a missing
            source.
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
        if table != SCENARIO and table not in SCALABLE:
            raise InputError(path, f"{w}.table", f"{quoted(table)} is not a grid table whose "
                             f"figures scale nor {SCENARIO!r}; allowed: "
                             f"{', '.join([*SCALABLE, SCENARIO])}")
        columns = tuple(c.strip() for c in r.columns.split(";") if c.strip())
        rows = tuple(s.strip() for s in r.rows.split(" | ") if s.strip())
        if table == SCENARIO:
            if len(columns) != 1 or rows or r.each.strip():
                raise InputError(path, f"{w}.columns", "a scenario number is one dotted path "
                                 "in columns, with rows and each empty")
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
        low = _number(r.low, path, f"{w}.low")
        high = _number(r.high, path, f"{w}.high")
        if not low < high:
            raise InputError(path, f"{w}.high", f"the high factor must exceed the low one "
                             f"({low:g}), got {high:g}")
        if not r.source.strip():
            raise InputError(path, f"{w}.source", "every range needs its source")
        out.append(Range(name, table, columns, rows, r.each.strip(), low, high,
                         r.source.strip()))
    if not out:
        raise InputError(path, "", "holds no ranges")
    return tuple(out)
