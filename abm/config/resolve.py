"""Scenario files on disk: reading TOML, following ``extends`` chains, paths relative to the
file, the shipped scenarios by name, and overrides set by dotted path before validation."""

from __future__ import annotations

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


def beside(source: str, relative: str) -> Path:
    """A path written in scenario file ``source`` (a trace, a grid-data folder): relative to the
    file's folder (not resolved)."""
    return Path(source).parent / relative


def named_file(folder: Path, name: str) -> Path:
    """The file a scenario names: a path relative to ``folder`` (the naming file's), or, without
    a suffix, a shipped scenario (``"default"`` is ``abm/scenarios/default.toml``)."""
    candidate = folder / name
    return candidate if candidate.suffix else SCENARIO_DIR / f"{name}.toml"


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
    candidate = named_file(path.parent, parent)
    if "\x00" in parent:
        raise InputError(path, "extends", "the path holds a NUL character")
    try:
        found = candidate.is_file()
    except OSError as exc:  # a name the system cannot look up (too long, say)
        raise InputError(path, "extends", f"cannot be read: {exc.strerror}") from None
    if not found:
        raise InputError(path, "extends", f"no scenario {quoted(parent)} (looked for "
                         f"{quoted(str(candidate), 200)})")
    return candidate.resolve()


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
