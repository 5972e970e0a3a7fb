"""The one error type users see for bad input: it names the file, the field and what is allowed."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input in a scenario, data or trace file.

    Args:
        source: the file (or other origin) the value came from.
        field: the dotted path of the offending field, e.g. ``operators[2].classes[0].demand_mw``.
        problem: what is wrong and what is allowed.
    """

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = str(source)
        self.field = field
        self.problem = problem
        where = f"{self.source}: {field}" if field else self.source
        super().__init__(f"{where}: {problem}")
