"""The one error type users see for bad input: it names the file, the field and what is allowed."""

from __future__ import annotations

import re
from os import PathLike

#: where a value came from: a file's path, or a name such as ``"overrides"``
type Source = str | PathLike[str]

# An error message quotes an offending value up to this many characters, and is cut at MAX_MESSAGE
# (a message never echoes a file's contents).
MAX_QUOTE = 60
MAX_MESSAGE = 1_000


# characters that would break the one-line error or hide part of it: C0 and C1 controls (NUL,
# newline, escape, ...), DEL, and Unicode's line and paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x00``), so
    that a message quoting a path or a key stays one clean line."""
    return _CONTROL.sub(lambda m: repr(m[0])[1:-1], text)


def cut(text: str, limit: int = MAX_QUOTE) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with ``...``."""
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def quoted(value: object, limit: int = MAX_QUOTE) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    return cut(repr(value), limit)


class InputError(ValueError):
    """Bad input in a scenario, data or trace file.

    Args:
        source: the file (or other origin) the value came from.
        field: the dotted path of the offending field, e.g. ``operators[2].classes[0].demand_mw``.
        problem: what is wrong and what is allowed.
    """

    def __init__(self, source: Source, field: str, problem: str) -> None:
        self.source = cut(one_line(str(source)), MAX_MESSAGE // 4)
        self.field = cut(one_line(field), MAX_MESSAGE // 4)
        self.problem = cut(one_line(problem), MAX_MESSAGE)
        where = f"{self.source}: {self.field}" if field else self.source
        super().__init__(f"{where}: {self.problem}")


class PlausibilityWarning(UserWarning):
    """A value a scenario may hold but far outside what is typical (``abm.config.plausibility``):
    the message names the file, the field, the typical range and its source."""


class PluginWarning(UserWarning):
    """An installed package's registry entry point (``abm.config.registry``) that fails to load
    or takes a name already used: it is left out, and the message names the entry point, its
    group and its package."""


class ResultError(RuntimeError):
    """A run produced a total that is not a finite number (a bug or an input beyond what the
    model can compute): the run stops with this error rather than finish with it."""
