"""numba's on-disk cache of a module is keyed on that module's source alone, so each module
whose compiled code uses names of other modules carries digests of them
(tools/compiled_deps.py): the digests in abm are current, the uses are found from the source
(checked against the compiled functions' own globals), a changed callee makes its callers
stale, and rewriting the digests makes numba compile the caller afresh."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
HOW = ("run `.venv/bin/python tools/compiled_deps.py` and commit the rewritten comment blocks "
       "(a module a compiled function of another module uses has changed; rewriting the block "
       "changes the caller, so numba compiles it afresh instead of loading stale machine code "
       "from its cache). Nothing else is needed; a rebase conflict in those blocks is settled "
       "by the same command")


@pytest.fixture(scope="module")
def deps():
    return load_script(ROOT / "tools" / "compiled_deps.py")


def test_the_digests_in_abm_are_current(deps):
    stale = deps.stale()
    assert not stale, f"stale numba cache digests in {sorted(stale)}: {HOW}"


def _globals(code) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _globals(const)
    return names


def test_uses_found_in_the_source_include_every_compiled_call_across_modules(deps):
    """The oracle: each compiled function's own globals, in the imported modules, that are
    compiled functions of another module of abm."""
    from numba.extending import is_jitted

    found = {(use.module, use.source) for use in deps.uses()}
    calls = set()
    for module in {use.module for use in deps.uses()} | {"abm/core/tally.py",
                                                         "abm/grid/clearing_loops.py"}:
        dotted = module.removesuffix(".py").replace("/", ".")
        loaded = importlib.import_module(dotted)
        for value in vars(loaded).values():
            if not (is_jitted(value) and value.py_func.__module__ == dotted):
                continue
            for name in _globals(value.py_func.__code__):
                callee = vars(loaded).get(name)
                if is_jitted(callee) and callee.py_func.__module__ != dotted:
                    source = callee.py_func.__module__.replace(".", "/") + ".py"
                    calls.add((module, source))
    assert calls, "no compiled call across modules found at all"
    assert ("abm/core/horizon_walk.py", "abm/core/horizon_flow.py") in calls
    assert calls <= found, f"compiled calls the source scan missed: {sorted(calls - found)}"
    # constants are frozen into the compiled code too: a use the oracle cannot see
    assert ("abm/core/horizon_walk.py", "abm/core/horizon.py") in found


@pytest.fixture
def copy_of_abm(tmp_path):
    for path in (ROOT / "abm").rglob("*.py"):
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return tmp_path


def test_a_changed_callee_makes_its_callers_stale_until_rewritten(deps, copy_of_abm):
    root = copy_of_abm
    assert deps.stale(root) == {}
    with open(root / "abm/core/horizon_flow.py", "a", encoding="utf-8") as f:
        f.write("\n_EXTRA = 1\n")
    assert set(deps.stale(root)) == {"abm/core/horizon_walk.py"}
    # a change deeper down reaches every module that compiles it in, through the blocks
    with open(root / "abm/core/problem_check.py", "a", encoding="utf-8") as f:
        f.write("\n_EXTRA = 1\n")
    before = (root / "abm/core/horizon_walk.py").read_text(encoding="utf-8")
    rewritten = set(deps.update(root))
    assert rewritten == {"abm/core/flow.py", "abm/core/horizon_flow.py",
                         "abm/core/horizon_walk.py"}
    assert deps.stale(root) == {}
    after = (root / "abm/core/horizon_walk.py").read_text(encoding="utf-8")
    assert after != before
    changed = set(after.split("\n")) ^ set(before.split("\n"))
    assert all(row.startswith(deps.LINE) for row in changed)  # only digests changed


def test_a_new_use_gets_a_block_after_the_docstring(deps, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "callee.py").write_text("import numba\n\nLIMIT = 3\n")
    (pkg / "caller.py").write_text(textwrap.dedent('''\
        """Doc."""

        from __future__ import annotations

        import numba as nb

        from .callee import LIMIT


        @nb.njit(cache=True)
        def capped(x):
            return min(x, LIMIT)
        '''))
    assert set(deps.stale(tmp_path, "pkg")) == {"pkg/caller.py"}
    deps.update(tmp_path, "pkg")
    rows = (pkg / "caller.py").read_text().split("\n")
    assert rows[:2] == ['"""Doc."""', ""]
    assert rows[2:2 + len(deps.HEADER)] == list(deps.HEADER)
    assert rows[2 + len(deps.HEADER)].startswith(f"{deps.LINE}pkg/callee.py ")
    assert rows[3 + len(deps.HEADER):5 + len(deps.HEADER)] == [
        "", "from __future__ import annotations"]
    assert deps.stale(tmp_path, "pkg") == {}


CALLEE = """import numba


@numba.njit(cache=True)
def step(x):
    return x + {}
"""
CALLER = """import numba

from pkg.callee import step


@numba.njit(cache=True)
def twice(x):
    return step(step(x))
"""


def test_rewritten_digests_make_numba_compile_the_caller_afresh(deps, tmp_path):
    """A real numba cache in a fresh process each time: after the callee changes, the
    rewritten block makes the caller's result the new one."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "callee.py").write_text(CALLEE.format(1))
    (pkg / "caller.py").write_text(CALLER)
    deps.update(tmp_path, "pkg")

    def run() -> str:
        done = subprocess.run([sys.executable, "-c", "from pkg.caller import twice; "
                               "print(twice(0))"], cwd=tmp_path, capture_output=True,
                              text=True, check=True)
        return done.stdout.strip()

    assert run() == "2"
    assert list((pkg / "__pycache__").glob("caller.twice-*.nbi"))  # cached on disk
    (pkg / "callee.py").write_text(CALLEE.format(10))
    assert set(deps.stale(tmp_path, "pkg")) == {"pkg/caller.py"}
    deps.update(tmp_path, "pkg")
    assert run() == "20"
