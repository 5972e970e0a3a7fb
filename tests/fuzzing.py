"""Mutated scenario and sweep files, and the verdict of the ``abm`` input path on each.

Used by ``tests/test_fuzz.py`` (a few dozen cases) and ``benchmarks/fuzz.py`` (thousands). A
mutation starts from a shipped file (``extends`` chains resolved) and changes one thing: a wrong
type, a missing or unknown key, a negative, zero, NaN, infinite, huge or tiny number, an unknown
id, a duplicate, a bad trace path, or the text itself (malformed TOML, bytes that are not UTF-8).
The verdict is ``error`` (one line naming the file, exit 2), ``ok`` (valid; a tiny run ends with
finite totals), ``traceback`` (any other exception) or ``hang`` (over the time limit).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import math
import random
import re
import signal
from pathlib import Path
from typing import Any

from abm.cli import main
from abm.config.scenario import resolve_file
from abm.errors import InputError
from abm.market.reporters import STEP_VALUES

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = (ROOT / "abm" / "scenarios" / "default.toml",
             *sorted((ROOT / "experiments" / "scenarios").glob("*.toml")))
SWEEPS = tuple(sorted((ROOT / "experiments" / "sweeps").glob("*.toml")))
NUMBERS = (-1, 0, -1.5, 0.0, math.nan, math.inf, -math.inf, 1e308, -1e308, 1e300, 1e-320,
           2**63 - 1, 2**64, -(2**63), 10**30, 1_000_000_000)
OTHER_TYPES = ("text", "", True, [], [1, "a"], {}, {"x": 1}, dt.datetime(2024, 1, 1),
               dt.date(2024, 1, 1), 3, 2.5)
RUN_HOURS = 2


class Hang(Exception):
    """A case ran over its time limit."""


# ---------------------------------------------------------------------------------------------
# TOML text


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML for {type(v).__name__}")


def dumps(data: dict) -> str:
    """A table as TOML text: one ``key = value`` line per top-level key, inline tables below."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in data.items())


# ---------------------------------------------------------------------------------------------
# Mutations


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and list indices) to a value inside ``node``."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out += _paths(v, (*prefix, k))
    return out


def _parent(data: Any, path: tuple) -> Any:
    for k in path[:-1]:
        data = data[k]
    return data


def mutate(data: dict, rng: random.Random, trace_dir: Path) -> tuple[str, dict | bytes]:
    """One mutation of ``data`` (left unchanged): a description and the new table or raw text."""
    data = copy.deepcopy(data)
    paths = _paths(data)
    path = rng.choice(paths)
    parent, key = _parent(data, path), path[-1]
    old = parent[key]
    kind = rng.choice(("type", "missing", "unknown", "number", "number", "number", "id",
                       "duplicate", "trace", "text"))
    where = ".".join(map(str, path))
    if kind == "type":
        parent[key] = rng.choice([t for t in OTHER_TYPES if type(t) is not type(old)])
    elif kind == "missing":
        if isinstance(parent, dict):
            del parent[key]
        else:
            parent.pop(key)
    elif kind == "unknown":
        table = old if isinstance(old, dict) else parent if isinstance(parent, dict) else data
        table[rng.choice(("bogus", "Name", "hours ", "ünïcode"))] = rng.choice(OTHER_TYPES)
    elif kind == "number":
        numeric = [p for p in paths if isinstance(_parent(data, p)[p[-1]], int | float)
                   and not isinstance(_parent(data, p)[p[-1]], bool)] or [path]
        path = rng.choice(numeric)
        where = ".".join(map(str, path))
        _parent(data, path)[path[-1]] = rng.choice(NUMBERS)
    elif kind == "id":
        strings = [p for p in paths if isinstance(_parent(data, p)[p[-1]], str)] or [path]
        path = rng.choice(strings)
        where = ".".join(map(str, path))
        _parent(data, path)[path[-1]] = rng.choice(("nope", "DE", "eu-nowhere", "*", "x" * 5000))
    elif kind == "duplicate":
        lists = [p for p in paths if isinstance(_parent(data, p)[p[-1]], list)
                 and _parent(data, p)[p[-1]]]
        if lists:
            path = rng.choice(lists)
            where = ".".join(map(str, path))
            items = _parent(data, path)[path[-1]]
            items.append(copy.deepcopy(rng.choice(items)))
    elif kind == "trace":
        junk = trace_dir / "junk.bin"
        if not junk.exists():
            junk.write_bytes(bytes(range(256)) * 64)
            (trace_dir / "empty.csv").write_text("")
            (trace_dir / "zones.csv").write_text(
                "zone,timestamp,price_usd_per_mwh\n" + "".join(
                    f"ZZ,2024-01-08T{h:02d}:00:00,50\n" for h in range(24)))
        target = rng.choice(("missing.csv", "junk.bin", "empty.csv", "zones.csv", ".",
                             "../../../../../../etc/hostname", "x" * 300))
        data.setdefault("signals", {})
        if isinstance(data["signals"], dict):
            data["signals"]["trace"] = target
        return f"signals.trace = {target[:40]!r}", data
    else:  # the text itself
        text = dumps(data).encode()
        cut = rng.randrange(len(text))
        how = rng.choice(("truncate", "garbage", "latin-1", "repeat line", "nesting"))
        if how == "truncate":
            raw = text[:cut]
        elif how == "garbage":
            raw = text[:cut] + rng.choice((b"=", b"[", b"\x00", b'"', b"]]", b"\n[[x]]\n")) + \
                text[cut:]
        elif how == "latin-1":
            raw = text[:cut] + b"\xe9\xff" + text[cut:]
        elif how == "repeat line":
            lines = text.splitlines(keepends=True)
            raw = b"".join([*lines, rng.choice(lines)])
        else:
            raw = text + b"deep = " + b"[" * 3000 + b"]" * 3000 + b"\n"
        return f"text: {how} at byte {cut}", raw
    return f"{kind} at {where}", data


def cases(count: int, seed: int, trace_dir: Path, sweeps: bool = False
          ) -> list[tuple[str, Path, bytes]]:
    """``count`` mutated files: (description, the shipped file mutated, file bytes)."""
    rng = random.Random(seed)
    sources = SWEEPS if sweeps else SCENARIOS
    tables = {src: (resolve_file(src) if not sweeps else _sweep_table(src)) for src in sources}
    out = []
    for _ in range(count):
        src = rng.choice(sources)
        what, new = mutate(tables[src], rng, trace_dir)
        out.append((what, src, new if isinstance(new, bytes) else dumps(new).encode()))
    return out


def _sweep_table(path: Path) -> dict:
    """A sweep file's table, its scenario path made absolute (the mutated file lives elsewhere)."""
    import tomllib

    data = tomllib.loads(path.read_text())
    scenario = data.get("sweep", {}).get("scenario", "")
    if scenario.endswith(".toml"):
        data["sweep"]["scenario"] = str((path.parent / scenario).resolve())
    return data


# ---------------------------------------------------------------------------------------------
# Verdicts


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`Hang` in this (main) thread after ``seconds``."""
    def expire(signum, frame):
        raise Hang

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def verdict(path: Path, sweep: bool = False, run: bool = True, seconds: float = 60.0
            ) -> tuple[str, str]:
    """What the input path makes of a file: (``ok``/``error``/``traceback``/``hang``, detail).

    A scenario goes through ``abm check`` (in process); a valid one then runs ``RUN_HOURS`` hours
    and every total must be finite. A sweep file goes through ``load_spec`` (every parameter
    checked against its scenario).
    """
    err = io.StringIO()
    try:
        with time_limit(seconds), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(err):
            if sweep:
                from abm.sweeps.spec import load_spec

                try:
                    load_spec(path)
                except InputError as exc:
                    return _error(f"error: {exc}\n")
                return "ok", ""
            status = main(["check", str(path)])
            if status != 0:
                return (_error(err.getvalue()) if status == 2 else
                        ("traceback", f"exit {status}: {err.getvalue()[:300]}"))
            if run:
                return _run(path)
            return "ok", ""
    except Hang:
        return "hang", f"over {seconds:g} s"
    except Exception as exc:  # every other exception is what the fuzz looks for
        return "traceback", f"{type(exc).__name__}: {str(exc)[:300]}"


def _error(text: str) -> tuple[str, str]:
    """A clear error is one short line naming a file; anything else counts as a traceback."""
    lines = text.strip().splitlines()
    if len(lines) == 1 and lines[0].startswith("error: /") and len(lines[0]) < 1_500:
        return "error", lines[0]
    return "traceback", f"unclear error: {text[:300]}"


def _run(path: Path) -> tuple[str, str]:
    from abm.config.scenario import load_scenario
    from abm.market.model import MarketModel

    try:
        model = MarketModel(load_scenario(path), hours=RUN_HOURS)
        for _ in range(model.hours):
            model.step()
    except InputError as exc:  # input only the run reads (a trace file, say)
        return _error(f"error: {exc}\n")
    bad = [name for name in STEP_VALUES if not math.isfinite(getattr(model, name))]
    if bad:
        return "traceback", f"non-finite totals after {RUN_HOURS} h: {', '.join(bad)}"
    return "ok", ""
