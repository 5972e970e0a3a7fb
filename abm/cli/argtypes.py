"""Argument types of the ``abm`` command line (argparse ``type=`` callables).

Standard library only: the parser of every subcommand is built from these without importing the
model, so ``abm --help`` starts in a fraction of a second (``abm/cli/__init__.py`` explains the
pattern).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from abm.config.limits import MAX_SEED
from abm.config.resolve import shipped_scenarios
from abm.errors import quoted

#: what a scenario argument may also be where a command reads runs (``abm report``, ``abm audit``,
#: ``abm dashboard``: a folder is a run; abm.config.resolve.scenario_or_folder)
RUN_FOLDER = " or a folder written by `abm run`"


def scenario_help(also: str = "", default: str | None = "the shipped default scenario") -> str:
    """The help of a command's scenario argument, the rule of
    :func:`abm.config.resolve.scenario_file` (which the command's handler applies): a file, or
    a shipped scenario's name; ``also``: what else the argument may be; ``default``: what
    stands for it when it is not given (None: it is required)."""
    text = (f"a scenario TOML file{also}, or the name of a shipped scenario "
            f"({', '.join(shipped_scenarios())}; a {'file or folder' if also else 'file'} of "
            "that name in the working folder wins)")
    return f"{text}; default: {default}" if default else text


def budgets_arg(text: str) -> list[float]:
    """argparse type: comma-separated latency budgets in ms, positive, sorted, unique."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {quoted(text)}") from None
    if not values or any(not math.isfinite(v) or v <= 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"budgets must be positive finite numbers, got {quoted(text)}")
    return sorted(set(values))


def _parse[T](text: str, kind: Callable[[str], T], what: str) -> T:
    """``kind(text)``; if that fails, an argparse error saying ``what`` was expected."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {quoted(text)}") from None


def _whole(text: str) -> int:
    return _parse(text, int, "a whole number")


def positive_int_arg(text: str) -> int:
    """argparse type: a whole number >= 1."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def positive_float_arg(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = _parse(text, float, "a number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {quoted(text)}")
    return value


def seed_arg(text: str) -> int:
    """argparse type: a seed, a whole number in 0..2^63-1."""
    value = _whole(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected a seed in 0..{MAX_SEED} (2^63-1), got {quoted(value)}")
    return value


def port_arg(text: str) -> int:
    """argparse type: a TCP port in 0..65535."""
    value = _parse(text, int, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in 0..65535, got {value}")
    return value


def pair_arg(text: str) -> tuple[str, str]:
    """argparse type: two different names separated by a comma, ``A,B``."""
    names = [t.strip() for t in text.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise argparse.ArgumentTypeError(f"expected two parameter paths A,B, got {quoted(text)}")
    return names[0], names[1]


def names_arg(text: str) -> tuple[str, ...]:
    """argparse type: one or more names separated by commas, ``A,B,...``."""
    names = tuple(t.strip() for t in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected names separated by commas, got {quoted(text)}")
    return names


def folder_arg(text: str) -> Path:
    """argparse type: a folder to write into; it may not exist yet, but it may not be a file."""
    path = Path(text)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                what = "" if part == path else f" ({part} is a file)"
                raise argparse.ArgumentTypeError(
                    f"{quoted(text)} cannot be a folder{what}; name a folder")
            break
    return path
