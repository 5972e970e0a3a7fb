"""Reading a TOML table with precise errors: typed getters that know the field's dotted path,
so every error names the file, the field and what is allowed; unknown keys are rejected."""

from __future__ import annotations

import math
from typing import Any

from abm.config.limits import MAX_INTEGER, MAX_VALUE
from abm.errors import InputError, cut, quoted

REQUIRED: Any = object()  # the default of a key the table must have


class TableReader:
    """A TOML table being read: typed getters that know their field path; unknown keys rejected."""

    def __init__(self, data: Any, source: str, path: str) -> None:
        if not isinstance(data, dict):
            raise InputError(source, path or "(top level)",
                             f"expected a table, got {type(data).__name__}")
        self.data, self.source, self.path = data, source, path
        self.used: set[str] = set()
        self.known: set[str] = set()  # keys asked about (``has``): allowed here, given or not

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, problem: str) -> InputError:
        """The error for ``key`` of this table: the file, the key's dotted path, ``problem``."""
        return InputError(self.source, self._where(key), problem)

    def has(self, key: str) -> bool:
        """Whether the file gives ``key`` (reading nothing; ``key`` is allowed here)."""
        self.known.add(key)
        return key in self.data

    def raw(self, key: str, default: Any = REQUIRED) -> Any:
        """The value of ``key`` as TOML gave it, or ``default`` (an error if ``REQUIRED``)."""
        self.used.add(key)
        if key not in self.data:
            if default is REQUIRED:
                raise self.error(key, "is required")
            return default
        return self.data[key]

    def number(self, key: str, default: Any = REQUIRED, *, minimum: float | None = 0.0,
               strict: bool = False, maximum: float = MAX_VALUE) -> float:
        """A finite number in [minimum, maximum] (``strict``: above ``minimum``); every number is
        at most ``abm.config.limits.MAX_VALUE`` in magnitude."""
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(key, f"expected a number, got {quoted(v)}")
        try:
            v = float(v)
        except OverflowError:  # an integer beyond the float range
            v = math.inf if v > 0 else -math.inf
        if not math.isfinite(v):
            raise self.error(key, f"expected a finite number, got {v}")
        if minimum is not None and (v < minimum or (strict and v == minimum)):
            raise self.error(key, f"expected a number {'>' if strict else '>='} {minimum}, got {v}")
        if v > maximum:
            raise self.error(key, f"expected a number <= {maximum:g}, got {v:g}")
        if v < -MAX_VALUE:
            raise self.error(key, f"expected a number >= {-MAX_VALUE:g}, got {v:g}")
        return v

    def integer(self, key: str, default: Any = REQUIRED, *, minimum: int = 0,
                maximum: int = MAX_INTEGER) -> int:
        """A whole number in [minimum, maximum]."""
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(key, f"expected an integer, got {quoted(v)}")
        if v < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {quoted(v, 30)}")
        if v > maximum:
            raise self.error(key, f"expected an integer <= {maximum:,}, got {quoted(v, 30)}")
        return v

    def string(self, key: str, default: Any = REQUIRED, *, choices: tuple[str, ...] | None = None,
               hint: str = "") -> str:
        """A non-empty string, one of ``choices`` if given (``hint`` follows the allowed ones in
        the error: where more come from)."""
        v = self.raw(key, default)
        if not isinstance(v, str) or not v:
            raise self.error(key, f"expected a non-empty string, got {quoted(v)}")
        if choices is not None and v not in choices:
            raise self.error(key, f"got {quoted(v)}; allowed: {', '.join(choices)}"
                             + (f" ({hint})" if hint else ""))
        return v

    def boolean(self, key: str, default: Any = REQUIRED) -> bool:
        """``true`` or ``false``."""
        v = self.raw(key, default)
        if not isinstance(v, bool):
            raise self.error(key, f"expected true or false, got {quoted(v)}")
        return v

    def strings(self, key: str, default: Any = REQUIRED, *,
                choices: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """A list of distinct strings, each one of ``choices`` if given."""
        v = self.raw(key, default)
        if isinstance(v, str) or not isinstance(v, list | tuple) or not all(
                isinstance(s, str) for s in v):
            raise self.error(key, f"expected a list of strings, got {quoted(v)}")
        if choices is not None:
            bad = [s for s in v if s not in choices]
            if bad:
                raise self.error(key, f"unknown value(s) {quoted(bad)}; allowed: "
                                 f"{', '.join(choices)}")
        if len(set(v)) != len(v):
            twice = sorted({x for x in v if v.count(x) > 1})
            raise self.error(key, f"has duplicates: {quoted(twice)}")
        return tuple(v)

    def table(self, key: str, default: Any = REQUIRED) -> TableReader:
        """The sub-table ``key`` (``[a.key]``), to read in turn."""
        return TableReader(self.raw(key, default), self.source, self._where(key))

    def tables(self, key: str) -> list[TableReader]:
        """The array of tables ``key`` (``[[a.key]]``; none if absent), to read in turn."""
        v = self.raw(key, [])
        if not isinstance(v, list):
            raise self.error(key, "expected an array of tables ([[...]])")
        return [TableReader(item, self.source, f"{self._where(key)}[{i}]")
                for i, item in enumerate(v)]

    def done(self) -> None:
        """Reject the keys nobody read: an error naming the first and the keys allowed here."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            allowed = ", ".join(sorted(self.used | self.known))
            raise InputError(self.source, cut(self._where(unknown[0])),
                             f"unknown key; allowed here: {allowed}")
