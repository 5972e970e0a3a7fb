"""Mutated scenario and sweep files, damaged run and sweep folders, and the verdict of ``abm``
on each.

Used by ``tests/test_fuzz.py`` (a few hundred cheap cases) and ``benchmarks/fuzz.py``
(thousands). A mutation starts from a shipped file (``extends`` chains resolved) and changes one
thing: a wrong type, a missing or unknown key, a negative, zero, NaN, infinite, huge or tiny
number, an unknown id, a duplicate, a bad trace path, a path that names a special file (a FIFO,
a device, a folder, a 3 GB file, a file holding a secret), a NUL or control character in a key,
a string or a path, a value near a limit (which must run to the end), or the text itself
(malformed TOML, bytes that are not UTF-8). The verdict is ``error`` (one line naming the file,
exit 2), ``ok`` (valid; a tiny run ends with finite totals), ``traceback`` (any other exception
or a message of more than one line), ``leak`` (the message quotes the secret file), ``refused``
(a value near a limit that must run was refused) or ``hang`` (over the time limit).

A damaged folder (:func:`damaged_folders`) is a copy of a pristine run or sweep folder with one
stored file damaged: truncated, random bytes, a flipped byte, a JSON list or another JSON value,
a forged structure with its checksums recomputed, a FIFO, a folder, a link to ``/dev/zero``, a
3 GB file, a zip bomb, deleted, or foreign files added. Its verdict (:func:`folder_verdict`):
reading it as ``abm report`` and ``abm sweep report`` do and resuming it give one clear line or
exactly the pristine results; anything else is ``wrong`` (a report of other numbers), a
``traceback`` or a ``hang``. A value forged with its checksums recomputed is read as forged
(``forged``: checksums detect accidents and copies, not forgery; docs/market.md).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import math
import os
import random
import re
import shutil
import signal
import warnings
import zipfile
from pathlib import Path
from typing import Any

from abm.cli import main
from abm.config.scenario import resolve_file
from abm.errors import InputError, PlausibilityWarning
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
SECRET = "s3cret-hunter2-token"
CONTROL = ("\x00", "\n", "\r", "\x1b[31m", "\u2028", "\x7f", "\t")
SPECIALS = ("fifo", "folder", "/dev/zero", "/dev/null", "huge", "secret", "loop", "nul",
            "newline")
# values near a limit (abm/config/limits.py; for demand, the impossible bound of
# abm/data/plausible_ranges.csv, 3.5e6 MW) that the default scenario must run with to the end
LIMITS = (("population.total_demand_mw", 1e6), ("population.total_demand_mw", 3.4e6),
          ("population.total_demand_mw", 1e-6), ("policy.holding_hours", 0.01),
          ("policy.holding_hours", 1e12), ("policy.carbon_price_usd_per_t", 1e9),
          ("policy.voll_usd_per_mwh", 1e12), ("policy.voll_usd_per_mwh", 1e-3),
          ("policy.egress_scale", 1e6), ("population.size_sigma", 5.0),
          ("population.operators", 1), ("market.forecast_noise", 1e3),
          ("market.rent_step_usd_per_mwh", 1e9), ("scenario.seed", 2**63 - 1),
          ("scenario.start", dt.datetime(2199, 12, 31, 20)), ("network.regional_rtt_ms", 1e-9))


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


def special_path(name: str, folder: Path) -> str:
    """A path naming a special file in ``folder`` (made on first use): a FIFO, a folder, a
    device, a 3 GB sparse file, a file holding :data:`SECRET`, a symlink loop, or a path with a
    NUL or a newline in it."""
    made = {"fifo": folder / "pipe.csv", "folder": folder / "dir.csv", "huge": folder / "huge.csv",
            "secret": folder / "netrc", "loop": folder / "loop.csv"}
    if name in made and not (made[name].exists() or made[name].is_symlink()):
        if name == "fifo":
            os.mkfifo(made[name])
        elif name == "folder":
            made[name].mkdir()
        elif name == "huge":
            with open(made[name], "wb") as f:
                f.truncate(3 * 2**30)
        elif name == "secret":
            made[name].write_text(f"machine example.com login alice password {SECRET}\n"
                                  f"zone,timestamp,price_usd_per_mwh\nX,{SECRET},1\n")
        else:
            made[name].symlink_to(made[name])
    if name in made:
        return str(made[name])
    return {"nul": str(folder / "a\x00b.csv"), "newline": str(folder / "a\nerror: b.csv")
            }.get(name, name)


def mutate(data: dict, rng: random.Random, trace_dir: Path) -> tuple[str, dict | bytes]:
    """One mutation of ``data`` (left unchanged): a description and the new table or raw text."""
    data = copy.deepcopy(data)
    paths = _paths(data)
    path = rng.choice(paths)
    parent, key = _parent(data, path), path[-1]
    old = parent[key]
    kind = rng.choice(("type", "missing", "unknown", "number", "number", "number", "id",
                       "duplicate", "trace", "text", "special", "control"))
    where = ".".join(map(str, path))
    if kind == "special":  # a special file where a file is named
        target = special_path(rng.choice(SPECIALS), trace_dir)
        slot = rng.choice(("signals.trace", "extends", "grid.data", "sweep.scenario"))
        table, name = slot.split(".") if "." in slot else (None, slot)
        if table is None:
            data[name] = target
        elif isinstance(data.get(table, {}), dict):
            data.setdefault(table, {})[name] = target
        return f"{slot} = special {target[-20:]!r}", data
    if kind == "control":  # a control character in a key or a string
        char = rng.choice(CONTROL)
        strings = [p for p in paths if isinstance(_parent(data, p)[p[-1]], str)]
        if strings and rng.random() < 0.5:
            path = rng.choice(strings)
            node = _parent(data, path)
            node[path[-1]] = node[path[-1]][:3] + char + node[path[-1]][3:]
            return f"control {char!r} in the value at {'.'.join(map(str, path))}", data
        table = parent if isinstance(parent, dict) else data
        table[f"k{char}ey"] = 1
        return f"control {char!r} in a key beside {where}", data
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
    """``count`` mutated files: (description, the shipped file mutated, file bytes). About one
    scenario in twenty sets a value near a limit instead (described ``limit: ...``): it must
    pass ``abm check`` and run to the end."""
    rng = random.Random(seed)
    sources = SWEEPS if sweeps else SCENARIOS
    tables = {src: (resolve_file(src) if not sweeps else _sweep_table(src)) for src in sources}
    out = []
    for _ in range(count):
        if not sweeps and rng.random() < 0.05:
            out.append(limit_case(tables[SCENARIOS[0]], rng))
            continue
        src = rng.choice(sources)
        what, new = mutate(tables[src], rng, trace_dir)
        out.append((what, src, new if isinstance(new, bytes) else dumps(new).encode()))
    return out


def limit_case(default: dict, rng: random.Random) -> tuple[str, Path, bytes]:
    """The default scenario with one value near its limit (:data:`LIMITS`), for 2 hours."""
    from abm.config.resolve import set_path

    data = copy.deepcopy(default)
    dotted, value = rng.choice(LIMITS)
    set_path(data, dotted, value)
    set_path(data, "scenario.hours", RUN_HOURS)
    return f"limit: {dotted} = {value}", SCENARIOS[0], dumps(data).encode()


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
                contextlib.redirect_stderr(err), warnings.catch_warnings():
            # a value outside its typical range warns and is still valid (abm check prints the
            # warning as a line of its own; a mutated file may well hold one)
            warnings.simplefilter("ignore", PlausibilityWarning)
            if sweep:
                from abm.sweeps.spec import load_spec

                try:
                    load_spec(path)
                except InputError as exc:
                    return _error(f"error: {exc}\n")
                return "ok", ""
            status = main(["check", str(path)])
            if SECRET in err.getvalue():
                return "leak", err.getvalue()[:300]
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
    """A clear error is one short line naming a file (warnings may come before it); anything
    else counts as a traceback, and a line quoting the secret file as a leak."""
    if SECRET in text:
        return "leak", text[:300]
    lines = [ln for ln in text.strip().splitlines() if not ln.startswith("warning: ")]
    if len(lines) == 1 and lines[0].startswith("error: /") and len(lines[0]) < 1_500:
        return "error", lines[0]
    return "traceback", f"unclear error: {text[:300]}"


def _run(path: Path) -> tuple[str, str]:
    from abm.config.scenario import load_scenario
    from abm.market.loop import run
    from abm.market.model import MarketModel

    try:
        model = MarketModel(load_scenario(path), hours=RUN_HOURS)
        run(model)
    except InputError as exc:  # input only the run reads (a trace file, say)
        return _error(f"error: {exc}\n")
    bad = [name for name in STEP_VALUES if not math.isfinite(model.outcome[name])]
    if bad:
        return "traceback", f"non-finite totals after {RUN_HOURS} h: {', '.join(bad)}"
    return "ok", ""


# ---------------------------------------------------------------------------------------------
# Damaged run and sweep folders

FOLDER_SCENARIO = """
[scenario]
name = "fuzzed"
start = 2024-01-08T00:00:00
hours = 4
seed = 5

[regions]
include = ["eu-france", "eu-sweden", "eu-frankfurt", "us-east-va"]

[market]
operator_detail = true

[templates.batch]
budget_ms = 1000.0
overhead_ms = 0.0
egress_gb_per_mwh = 30.0
state_gb_per_mw = 0.0
stateful = false

[population]
operators = 4
total_demand_mw = 40.0
classes = [1, 2]
templates = { batch = 1.0 }
"""
FOLDER_SWEEP = """
[sweep]
name = "fuzzed"
scenario = "scenario.toml"
hours = 2
seed = 3
design = "grid"

[parameters."policy.carbon_price_usd_per_t"]
values = [0.0, 200.0]

[parameters."policy.egress_scale"]
values = [0.5, 1.5]

[outcomes]
scalars = ["emissions_system_kg", "cost_usd"]
"""
DAMAGES = ("truncate", "random", "flip", "json list", "json other", "forge shape",
           "forge value", "fifo", "folder", "dev zero", "huge", "zip bomb", "delete", "foreign")


class Pristine:
    """Pristine folders to damage, made once in ``folder``: a complete run (``whole``), the
    same run interrupted after hour 3 with a checkpoint at hour 2 (``cut``), a finished sweep
    (``sweep``), and what reading each gives."""

    def __init__(self, folder: Path) -> None:
        from abm.config.scenario import load_scenario
        from abm.market.run import read_summary, read_tables, run_market
        from abm.sweeps.runner import run_sweep
        from abm.sweeps.spec import load_spec

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "scenario.toml").write_text(FOLDER_SCENARIO)
        (folder / "sweep.toml").write_text(FOLDER_SWEEP)
        scn = load_scenario(folder / "scenario.toml")
        self.scenario = folder / "scenario.toml"
        run_market(scn, folder / "whole", checkpoint_hours=2)

        def stop(done: int, total: int) -> None:
            if done == 3:
                raise KeyboardInterrupt

        try:
            run_market(scn, folder / "cut", checkpoint_hours=2, progress=stop)
        except KeyboardInterrupt:
            pass
        self.summary = read_summary(folder / "whole")
        self.tables = read_tables(folder / "whole")
        self.spec = folder / "sweep.toml"
        run_sweep(load_spec(self.spec), folder / "sweep")
        import pandas as pd

        self.results = pd.read_parquet(folder / "sweep" / "results.parquet")


def _stored(folder: Path, kind: str) -> list[Path]:
    """The stored files the tool reads back in a folder of ``kind``."""
    if kind == "sweep":
        return [folder / "manifest.json", *sorted((folder / "runs").glob("part-*.parquet"))]
    return [p for p in (folder / "run.json", folder / "summary.json",
                        *sorted(folder.glob("checkpoint-*")),
                        *sorted((folder / "tables").glob("*/*.parquet"))) if p.exists()]


def _reseal(folder: Path, kind: str, target: Path) -> None:
    """Recompute every checksum that covers ``target``, as a forger would."""
    from abm.files import sha256_bytes

    if kind == "sweep":
        from abm.sweeps.results import _sealed as seal_sweep

        if target.name == "manifest.json":
            try:
                doc = json.loads(target.read_bytes())
            except ValueError:
                return
            if isinstance(doc, dict):
                target.write_text(json.dumps(seal_sweep(doc)))
        else:
            digest = sha256_bytes(target.read_bytes())[:16]
            target.rename(target.with_name(re.sub(r"\.[0-9a-f]{16}\.", f".{digest}.",
                                                  target.name)))
        return
    from abm.market.run import _sealed as seal_run

    try:
        manifest = json.loads((folder / "run.json").read_bytes())
    except ValueError:  # the manifest itself was replaced (by a zip bomb, say)
        return
    if not isinstance(manifest, dict):
        return
    name = target.relative_to(folder).as_posix()
    data = target.read_bytes() if target.is_file() else b""
    if name == "summary.json":
        manifest["summary_sha256"] = sha256_bytes(data)
    elif name.endswith(".npz") and manifest.get("checkpoint"):
        doc_path = folder / manifest["checkpoint"]["file"]
        doc = json.loads(doc_path.read_bytes())
        doc["arrays_sha256"] = sha256_bytes(data)
        doc_path.write_text(json.dumps(doc, sort_keys=True) + "\n")
        manifest["checkpoint"]["sha256"] = sha256_bytes(doc_path.read_bytes())
    elif name.startswith("checkpoint-") and manifest.get("checkpoint"):
        manifest["checkpoint"]["sha256"] = sha256_bytes(data)
    else:
        for entries in manifest.get("tables", {}).values():
            for entry in entries:
                if entry.get("file") == name:
                    entry["sha256"] = sha256_bytes(data)
    manifest.pop("sha256", None)
    (folder / "run.json").write_text(json.dumps(seal_run(manifest)))


def _forge(doc: Any, rng: random.Random, value: bool) -> Any:
    """A JSON document with one value changed (``value``: a number nudged) or one structure
    broken (a field removed, retyped, a list or a string in an object's place)."""
    paths = [p for p in _paths(doc) if not (p and p[-1] == "sha256")] if isinstance(
        doc, dict | list) else []
    if value:
        numbers = [p for p in paths if isinstance(_parent(doc, p)[p[-1]], int | float)
                   and not isinstance(_parent(doc, p)[p[-1]], bool)]
        if numbers:
            p = rng.choice(numbers)
            _parent(doc, p)[p[-1]] = _parent(doc, p)[p[-1]] * 1.5 + 1
        return doc
    if not paths:
        return []
    p = rng.choice(paths)
    parent = _parent(doc, p)
    how = rng.choice(("remove", "retype", "list", "huge", "negative", "path"))
    if how == "remove":
        parent.pop(p[-1])
    else:
        parent[p[-1]] = {"retype": "text", "list": [1, [2]], "huge": 10**400 // 10**380,
                         "negative": -7, "path": "../../../etc/passwd"}[how]
    return doc


def damage(kind: str, src: Path, dst: Path, rng: random.Random) -> str:
    """Copy pristine folder ``src`` of ``kind`` (``whole``, ``cut``, ``sweep``) to ``dst`` and
    damage one stored file in it; return a description."""
    shutil.copytree(src, dst, symlinks=True)
    target = rng.choice(_stored(dst, kind))
    how = rng.choice(DAMAGES)
    name = target.relative_to(dst).as_posix()
    data = target.read_bytes()
    if how == "truncate":
        target.write_bytes(data[:rng.randrange(len(data))])
    elif how == "random":
        target.write_bytes(rng.randbytes(rng.randrange(1, 4000)))
    elif how == "flip":
        i = rng.randrange(len(data))
        target.write_bytes(data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:])
    elif how in ("json list", "json other"):
        target.write_bytes(b"[]" if how == "json list" else rng.choice(
            (b"null", b"42", b'"text"', b"{}", b"[" * 50_000 + b"]" * 50_000)))
    elif how in ("forge shape", "forge value"):
        if target.suffix != ".json":
            how = "forge value"
            if target.suffix == ".parquet":  # another part of the folder, resealed
                others = [p for p in _stored(dst, kind) if p.suffix == ".parquet" and p != target]
                if others:
                    target.write_bytes(rng.choice(others).read_bytes())
        else:
            target.write_text(json.dumps(_forge(json.loads(data), rng, how == "forge value")))
        _reseal(dst, kind, target)
    elif how == "fifo":
        target.unlink()
        os.mkfifo(target)
    elif how == "folder":
        target.unlink()
        target.mkdir()
    elif how == "dev zero":
        target.unlink()
        target.symlink_to("/dev/zero")
    elif how == "huge":
        with open(target, "r+b") as f:
            f.truncate(3 * 2**30)
    elif how == "zip bomb":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("operators.x_mw.npy", b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', "
                        b"'fortran_order': False, 'shape': (700000000,), }" + b" " * 53 + b"\n"
                        + b"\0" * (64 * 2**20))
        target.write_bytes(buf.getvalue())
        _reseal(dst, kind, target)
    elif how == "delete":
        target.unlink()
    else:  # foreign files where the tool writes
        for extra in ("notes.txt", "tables/model/notes.txt", "tables/mine/x.csv",
                      "runs/notes.txt", "runs/sub/part-0000001.0000000000000000.parquet"):
            (dst / extra).parent.mkdir(parents=True, exist_ok=True)
            (dst / extra).write_text("a user's file")
    return f"{how} {name}"


def _same_run(pristine: Pristine, summary: dict, tables: dict) -> bool:
    return summary == pristine.summary and tables.keys() == pristine.tables.keys() and all(
        tables[k].equals(pristine.tables[k]) for k in tables)


def folder_verdict(kind: str, folder: Path, what: str, pristine: Pristine,
                   seconds: float = 120.0) -> tuple[str, str]:
    """What ``abm`` makes of a damaged folder: read as the reports read it, then resumed (a
    cut run, a sweep): (``ok`` / ``error`` / ``forged`` / ``wrong`` / ``traceback`` / ``hang``,
    detail). ``ok``: the pristine numbers; ``error``: one line naming a file."""
    from abm.market.run import read_summary, read_tables
    from abm.sweeps.results import consolidate, manifest_spec, read_manifest

    forged = what.startswith("forge") or what.startswith("zip bomb")
    err = io.StringIO()
    try:
        with time_limit(seconds), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(err):
            argv = (["sweep", str(pristine.spec), "--out", str(folder), "--resume", "--workers",
                     "1", "--quiet"] if kind == "sweep" else
                    ["run", str(pristine.scenario), "--out", str(folder), "--resume", "--quiet",
                     "--checkpoint-hours", "2"])
            try:
                if kind == "sweep":
                    results, _ = consolidate(folder, manifest_spec(folder, read_manifest(folder)),
                                             write=False)
                    same = results.equals(pristine.results)
                else:
                    summary, tables = read_summary(folder), read_tables(folder)
                    same = kind == "cut" or _same_run(pristine, summary, tables)
                if not same:
                    return ("forged", what) if forged else ("wrong", f"{what}: read as other "
                                                            "numbers")
                read = "ok"
            except InputError as exc:
                read, text = _error(f"error: {exc}\n")
                if read != "error":
                    return read, text
            status = main(argv)
            if status != 0:  # 2: a stored file that cannot be trusted; 1: one that cannot be
                # written (a folder where the summary goes)
                return (_error(err.getvalue()) if status in (1, 2) else
                        ("traceback", f"exit {status}: {err.getvalue()[:300]}"))
            if kind == "sweep":
                import pandas as pd

                same = pd.read_parquet(folder / "results.parquet").equals(pristine.results)
            else:
                same = _same_run(pristine, read_summary(folder), read_tables(folder))
            if not same:
                return ("forged", what) if forged else ("wrong", f"{what}: resumed to other "
                                                        "numbers")
            return "ok" if read == "ok" else "error", what
    except Hang:
        return "hang", f"{what}: over {seconds:g} s"
    except Exception as exc:  # every other exception is what the fuzz looks for
        return "traceback", f"{what}: {type(exc).__name__}: {str(exc)[:300]}"


def damaged_folders(count: int, seed: int, pristine: Pristine, work: Path
                    ) -> list[tuple[str, str, Path]]:
    """``count`` damaged copies of the pristine folders in ``work``: (kind, what, folder)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        kind = rng.choice(("whole", "cut", "sweep"))
        folder = work / f"{kind}-{i}"
        what = damage(kind, pristine.folder / kind, folder, rng)
        out.append((kind, what, folder))
    return out
