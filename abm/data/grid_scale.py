"""Factors on the figures of the grid tables (``[grid.scale]`` of a scenario, docs/scenarios.md).

A :class:`Scale` multiplies one column of one grid table (``abm/data/grid/<table>.csv``, or a
``[grid] data`` folder's) on the rows a selector picks. Factors are applied to the table as it is
read, before anything is checked or built from it, so the market, its calibration included,
sees the scaled figure exactly as if the file said so. This is how ``abm audit`` moves an
assumed figure across its range, and how a user does the same by hand.

A selector is ``*`` (every row) or conditions ``column=value`` joined by ``,``, each matching the
cell's text ignoring case and surrounding spaces, e.g. ``line_id=US-PJM-DOM-US-MISO`` or
``hub=TTF,assumed=True``. Two factors on the same cell multiply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from abm.errors import InputError, Source, cut, quoted

#: the columns of each grid table the market reads as figures: what ``[grid.scale]`` may
#: multiply (a table joins by a line here)
SCALABLE: dict[str, tuple[str, ...]] = {
    "technologies": ("vom_usd_per_mwh",),
    "fuels": ("co2_t_per_mwh_th",),
    "tranches": ("efficiency", "availability"),
    "capacity": ("capacity_mw", "generation_gwh", "availability"),
    "fuel_prices": ("price_usd_per_mwh_th",),
    "carbon_schemes": ("price_usd_per_t",),
    "interconnectors": ("capacity_forward_mw", "capacity_backward_mw"),
    "fuel_price_months": ("factor",),
    "reservoirs": ("reservoir_share",),
    "water_values": ("value_usd_per_mwh",),
}
EVERY_ROW = "*"


@dataclass(frozen=True)
class Scale:
    """A factor on column ``column`` of grid table ``table`` on the rows ``rows`` selects.

    Attributes:
        table: the table's file name without ``.csv`` (a key of ``SCALABLE``).
        column: one of the table's ``SCALABLE`` columns.
        rows: the selector: ``*`` or ``column=value`` conditions joined by ``,``.
        factor: the multiplier (>= 0).
    """

    table: str
    column: str
    rows: str
    factor: float

    @property
    def key(self) -> str:
        """The scenario key that sets it: ``grid.scale.<table>.<column>.<rows>``."""
        return f"grid.scale.{self.table}.{self.column}.{self.rows}"

    def conditions(self) -> tuple[tuple[str, str], ...]:
        """The selector's (column, value) conditions (none for ``*``).

        Raises:
            ValueError: the selector is not ``*`` nor ``column=value[,column=value...]``.
        """
        if self.rows == EVERY_ROW:
            return ()
        out = []
        for part in self.rows.split(","):
            column, sep, value = part.partition("=")
            if not sep or not column.strip() or not value.strip():
                raise ValueError(f"expected '*' or column=value conditions joined by ',', "
                                 f"got {quoted(self.rows)}")
            out.append((column.strip(), value.strip()))
        return tuple(out)


def matching(df: pd.DataFrame, conditions: tuple[tuple[str, str], ...]) -> pd.Series:
    """The rows of ``df`` (read as text) whose cells match every (column, value) condition,
    ignoring case and surrounding spaces (``assumed=true`` matches ``True``).

    Raises:
        KeyError: naming a column ``df`` lacks.
    """
    mask = pd.Series(True, index=df.index)
    for column, value in conditions:
        if column not in df.columns:
            raise KeyError(column)
        mask &= df[column].str.strip().str.casefold() == value.casefold()
    return mask


def apply_scales(df: pd.DataFrame, table: str, scales: tuple[Scale, ...], path: Path,
                 source: Source) -> pd.DataFrame:
    """The table ``df`` (read as text from ``path``) with the factors of ``scales`` on
    ``table`` applied; empty cells stay empty.

    Raises:
        InputError: naming ``source`` and the scale's key, if a selector names a column the
            table lacks, picks no row, or a picked cell is not a number.
    """
    mine = [s for s in scales if s.table == table]
    if not mine:
        return df
    df = df.copy()
    for s in mine:
        conditions = s.conditions()
        for n in range(1, len(conditions) + 1):  # the first condition that picks nothing
            try:
                mask = matching(df, conditions[:n])
            except KeyError:
                column = conditions[n - 1][0]
                raise InputError(source, s.key, f"{path.name} has no column {quoted(column)}; "
                                 f"its columns: {', '.join(df.columns)}") from None
            if not mask.any():
                column, value = conditions[n - 1]
                values = ", ".join(sorted(set(df[column].str.strip())))
                raise InputError(source, s.key, f"no row of {path.name} has {column} = "
                                 f"{quoted(value)}" + (" with the conditions before it"
                                                       if n > 1 else "")
                                 + f"; its {column} values: {cut(values, 300)}")
        mask = matching(df, conditions)
        cells = df.loc[mask, s.column]
        scaled = []
        for text in cells:
            if not text.strip():
                scaled.append(text)
                continue
            try:
                scaled.append(repr(float(text) * s.factor))
            except ValueError:
                raise InputError(source, s.key, f"{path.name} {s.column} holds "
                                 f"{quoted(text)}, not a number") from None
        df.loc[mask, s.column] = scaled
    return df
