"""Scenario files on disk: reading TOML, following ``extends`` chains, paths relative to the
file, the shipped scenarios by name, and overrides set by dotted path before validation."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from abm.config.limits import MAX_TOML_BYTES
from abm.errors import InputError, cut, quoted
from abm.files import read_input

SCENARIO_DIR = Path(__file__).parents[1] / "scenarios"  # abm/scenarios
DEFAULT_SCENARIO = SCENARIO_DIR / "default.toml"


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios shipped with the package, by name (``abm/scenarios/*.toml``)."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}


def scenario_or_folder(source: str | Path, argument: str = "scenario") -> Path:
    """What a command that reads run folders too (``abm report``, ``abm audit``, ``abm
    dashboard``) was given: a folder, as given (a run for the caller to read); otherwise the
    scenario file ``source`` names (:func:`scenario_file`).

    Raises:
        InputError: neither a folder, a file nor a shipped scenario's name.
    """
    if os.path.isdir(source):
        return Path(source)
    return scenario_file(source, argument, "scenario file or run folder")


def beside(source: str, relative: str) -> Path:
    """A path written in scenario file ``source`` (a trace, a grid-data folder): relative to the
    file's folder (not resolved)."""
    return Path(source).parent / relative


def find_scenario(name: str | Path, folder: Path = Path()) -> Path | None:
    """The scenario file ``name`` names, the one rule of every command, the API, ``extends``
    and sweep files: a file at ``name`` (relative to ``folder``: the working folder, or the
    naming file's) wins; else the shipped scenario of that name (``"scale"`` is
    ``abm/scenarios/scale.toml``); else None. A folder is not a scenario file; a path the
    system cannot look up (a NUL, too long) is no file."""
    candidate = folder / name
    # os.path's tests answer False for a path the system cannot look up (pathlib's raise)
    if os.path.exists(candidate) and not os.path.isdir(candidate):  # a FIFO wins, refused later
        return candidate.resolve()
    return shipped_scenarios().get(str(name))


def scenario_file(scenario: str | Path | None, argument: str = "scenario",
                  what: str = "scenario file") -> Path:
    """The scenario file (absolute) that ``scenario`` names: None is the shipped default;
    otherwise :func:`find_scenario` from the working folder. A folder of no shipped
    scenario's name is returned as given, for :func:`read_toml` to refuse in its own words.

    Args:
        scenario: None, a path or a shipped scenario's name.
        argument: what the user gave it as, for the message (``"scenario"``, ``"--baseline"``).
        what: what a path may be where it is given, for the message (``"scenario file or run
            folder"``).

    Raises:
        InputError: naming the argument and its value, and listing the shipped scenarios.
    """
    if scenario is None:
        return DEFAULT_SCENARIO
    text = str(scenario)
    if "\x00" in text:
        raise InputError(f"{argument} {quoted(text, 200)}", "", f"the path holds a NUL "
                         f"character; expected a {what} or a shipped scenario's name")
    found = find_scenario(scenario)
    if found is None and os.path.isdir(scenario):
        return Path(scenario)
    if found is None:
        raise InputError(f"{argument} {quoted(text, 200)}", "", f"no such {what}, and no "
                         f"shipped scenario of that name (shipped: "
                         f"{', '.join(shipped_scenarios())})")
    return found


def read_toml(path: Path) -> dict:
    """Parse a TOML file (a regular file of at most ``MAX_TOML_BYTES``); a missing, special,
    oversized or malformed file is an InputError naming it (its line and column, never its
    text)."""
    try:
        text = read_input(path, MAX_TOML_BYTES, "a TOML file").decode("utf-8")
        return tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise InputError(path, "", f"not UTF-8 text (byte {exc.start}); TOML files are UTF-8"
                         ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(path, "", "not valid TOML: arrays or tables nested too deeply") from None


def _merge(base: dict, over: dict) -> dict:
    """``over`` on ``base``: tables merge key by key, arrays of tables with ids merge by id
    (a new id is added, a known one replaced), other values replace."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        elif _by_id(v) and _by_id(out.get(k)):
            merged = {item["id"]: item for item in out[k]}
            merged.update((item["id"], item) for item in v)
            out[k] = list(merged.values())
        else:
            out[k] = v
    return out


def _by_id(value: Any) -> bool:
    """An array of tables with distinct string ids (duplicates are left to validation)."""
    return (isinstance(value, list) and bool(value)
            and all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in value)
            and len({item["id"] for item in value}) == len(value))


def resolve_file(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """The file's table, merged over whatever it ``extends`` (tables merge, arrays replace)."""
    if "\x00" in str(path):
        raise InputError(cut(str(path), 200), "", "the path holds a NUL character; expected a "
                         "TOML file")
    try:
        path = path.resolve()
    except OSError as exc:  # a name the system cannot look up (too long, say)
        raise InputError(cut(str(path), 200), "", f"cannot be read: {exc.strerror}") from None
    if path in seen:
        raise InputError(path, "extends", "circular extends chain")
    data = read_toml(path)
    candidate = _parent(path, data.pop("extends", None))
    if candidate is None:
        return data
    return _merge(resolve_file(candidate, (*seen, path)), data)


def _parent(path: Path, parent: Any) -> Path | None:
    """The file that ``path``'s ``extends = parent`` names (a path beside it, or a shipped
    scenario's name), or None without one."""
    if parent is None:
        return None
    if not isinstance(parent, str):
        raise InputError(path, "extends", f"expected a scenario name or path, got {quoted(parent)}")
    if "\x00" in parent:
        raise InputError(path, "extends", "the path holds a NUL character")
    found = find_scenario(parent, path.parent)
    if found is None:
        raise InputError(path, "extends", f"no scenario {quoted(parent)}: no file "
                         f"{quoted(str(path.parent / parent), 200)} and no shipped scenario "
                         f"of that name (shipped: {', '.join(shipped_scenarios())})")
    return found


def extends_chain(path: str | Path) -> list[Path]:
    """The scenario files ``path`` extends, nearest first (resolved paths)."""
    chain: list[Path] = []
    current = _parent(Path(path).resolve(), read_toml(Path(path)).get("extends"))
    while current is not None and current not in chain:  # resolve_file rejects cycles
        chain.append(current)
        current = _parent(current, read_toml(current).get("extends"))
    return chain


def set_path(data: dict, dotted: str, value: Any, source: str = "overrides") -> None:
    """Set ``value`` at a dotted path in a scenario table, creating tables on the way."""
    keys = dotted.split(".")
    if not all(keys):
        raise InputError(source, dotted,
                         "expected a dotted path such as policy.carbon_price_usd_per_t")
    node = data
    for i, key in enumerate(keys[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise InputError(source, ".".join(keys[: i + 1]),
                             f"is a {type(child).__name__}, not a table: cannot set {dotted}")
        node = child
    node[keys[-1]] = value
