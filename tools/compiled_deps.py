"""Keep numba's on-disk caches honest across modules.

numba caches a compiled function (``@numba.njit(cache=True)``) beside its module and keys the
cache on that module's source alone. What the function compiles in from another module (a
compiled function it calls, a constant it reads) is frozen into the cache: a change to that
other module alone leaves stale machine code running (numba's "Cache limitations",
https://numba.readthedocs.io/en/stable/user/jit.html#cache; numba issue #1833).

So each module of ``abm`` whose compiled code uses names of other ``abm`` modules carries a
block of comments with a digest of each such module's source::

    # numba keys this file's cache on its bytes alone: digests of the modules whose names its
    # compiled code uses (tools/compiled_deps.py writes them; docs/architecture.md)
    # compiled with abm/core/flow.py 0123456789ab

A change to one of those modules makes the digest stale; rewriting it changes this file, which
invalidates its cache. The modules are found from the source (the functions decorated with
numba, the names they use, the imports those names come from), not from a list; a module whose
own block changes changes in turn for the modules that use it.
``tests/test_numba_cache.py`` fails on a stale or missing block.

Usage (from the repository root)::

    python tools/compiled_deps.py           # rewrite every stale block
    python tools/compiled_deps.py --check   # exit 1 naming every stale block
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "abm"
HEADER = (
    "# numba keys this file's cache on its bytes alone: digests of the modules whose names its",
    "# compiled code uses (tools/compiled_deps.py writes them; docs/architecture.md)",
)
LINE = "# compiled with "
DIGEST_CHARS = 12
_NUMBA_DECORATORS = {"njit", "jit", "vectorize", "guvectorize", "cfunc", "stencil"}


@dataclass(frozen=True)
class Use:
    """A compiled function of ``module`` uses ``name``, defined in ``source`` (both paths
    relative to the repository root, posix)."""

    module: str
    function: str
    name: str
    source: str


def module_path(root: Path, dotted: str) -> Path | None:
    """The file of module ``dotted`` under ``root``, or None when it is not a module there."""
    base = root.joinpath(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _dotted(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _imports(root: Path, path: Path, tree: ast.Module,
             package: str) -> dict[str, tuple[str, str | None]]:
    """Names the top of a module binds by importing from ``package``: name -> (the module
    imported from, the name imported there; None where the name is bound to that module)."""
    dotted = _dotted(root, path)
    here = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    names: dict[str, tuple[str, str | None]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.asname: (a.name, None) for a in node.names if a.asname}
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                parts = here.split(".")
                source = ".".join([*parts[:len(parts) - node.level + 1], *source.split(".")])
            for alias in node.names:
                names[alias.asname or alias.name] = (source.strip("."), alias.name)
    return {name: (source, attr) for name, (source, attr) in names.items()
            if source.split(".")[0] == package}


def _definer(root: Path, package: str, source: str, name: str | None,
             depth: int = 0) -> Path | None:
    """The file that defines ``name`` imported from module ``source`` (a submodule of that
    name, or re-exports followed), or that module's file when ``name`` is None."""
    if name is not None and (submodule := module_path(root, f"{source}.{name}")):
        return submodule
    path = module_path(root, source)
    if path is None or name is None or depth > 20:
        return path
    imported = _imports(root, path, ast.parse(path.read_text(encoding="utf-8")), package)
    if name in imported:
        return _definer(root, package, *imported[name], depth=depth + 1)
    return path


def _numba_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """How the module spells numba (``import numba as nb``) and its decorators imported bare."""
    modules, bare = set(), set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "numba"}
        elif isinstance(node, ast.ImportFrom) and node.module == "numba":
            bare |= {a.asname or a.name for a in node.names if a.name in _NUMBA_DECORATORS}
    return modules, bare


def _compiled(node: ast.FunctionDef, modules: set[str], bare: set[str]) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id in bare:
            return True
        if (isinstance(target, ast.Attribute) and target.attr in _NUMBA_DECORATORS
                and isinstance(target.value, ast.Name) and target.value.id in modules):
            return True
    return False


def uses(root: Path = ROOT, package: str = PACKAGE) -> list[Use]:
    """Every name of another module of ``package`` (a folder of ``root``) that a compiled
    function of ``package`` uses."""
    found: list[Use] = []
    for path in sorted((root / package).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "numba" not in text:
            continue
        tree = ast.parse(text)
        modules, bare = _numba_names(tree)
        if not modules and not bare:
            continue
        imported = {name: _definer(root, package, *where)
                    for name, where in _imports(root, path, tree, package).items()}
        for node in tree.body:
            if not (isinstance(node, ast.FunctionDef) and _compiled(node, modules, bare)):
                continue
            used = {n.id for part in (node.args, *node.body) for n in ast.walk(part)
                    if isinstance(n, ast.Name)}
            for name in sorted(used & imported.keys()):
                source = imported[name]
                if source is not None and source != path:
                    found.append(Use(_rel(root, path), node.name, name, _rel(root, source)))
    return found


def digest(path: Path) -> str:
    """The first characters of the SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_CHARS]


def block(root: Path, sources: set[str]) -> list[str]:
    """The comment block a module whose compiled code uses these modules carries."""
    return [*HEADER, *(f"{LINE}{source} {digest(root / source)}" for source in sorted(sources))]


def _with_block(text: str, lines: list[str]) -> str:
    """The module's text with its block replaced by ``lines`` (put after the module's
    docstring when it has none yet)."""
    rows = text.split("\n")
    start = next((i for i, row in enumerate(rows) if row == HEADER[0]), None)
    if start is not None:
        end = start + 1
        while end < len(rows) and (rows[end] in HEADER or rows[end].startswith(LINE)):
            end += 1
        return "\n".join([*rows[:start], *lines, *rows[end:]])
    first = ast.parse(text).body[0] if text.strip() else None
    docstring = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                 and isinstance(first.value.value, str))
    after = (first.end_lineno or 0) if docstring and first is not None else 0
    return "\n".join([*rows[:after], "", *lines, *rows[after:]])


def stale(root: Path = ROOT, package: str = PACKAGE) -> dict[str, list[str]]:
    """Modules whose block is stale or missing: module -> its block as it should be."""
    needed: dict[str, set[str]] = {}
    for use in uses(root, package):
        needed.setdefault(use.module, set()).add(use.source)
    out = {}
    for module, sources in sorted(needed.items()):
        lines = block(root, sources)
        text = (root / module).read_text(encoding="utf-8")
        if _with_block(text, lines) != text:
            out[module] = lines
    return out


def update(root: Path = ROOT, package: str = PACKAGE) -> list[str]:
    """Rewrite every stale block until none is (a module whose block changed changes for the
    modules that use it); the modules rewritten."""
    rewritten: list[str] = []
    for _ in range(len(list((root / package).rglob("*.py"))) + 1):
        todo = stale(root, package)
        if not todo:
            return rewritten
        for module, lines in todo.items():
            path = root / module
            path.write_text(_with_block(path.read_text(encoding="utf-8"), lines),
                            encoding="utf-8")
            rewritten.append(module)
    raise RuntimeError(f"digests do not settle (an import cycle?): {sorted(stale(root, package))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only name the stale blocks (exit status 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        todo = stale()
        for module in todo:
            print(f"{module}: stale digests of the modules its compiled code uses")
        return 1 if todo else 0
    for module in dict.fromkeys(update()):
        print(f"rewrote {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
