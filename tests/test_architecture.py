"""docs/architecture.md tells the truth: every module of abm stands on one of its floors, every
import that runs points down (or within its floor), no import cycle, and Mesa, matplotlib and
Solara stay on the floors that the page names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "architecture.md").read_text()
MODULES = sorted((ROOT / "abm").rglob("*.py"))


def floors() -> list[list[str]]:
    """The paths of each line of the page's text diagram, top line first."""
    block = re.search(r"^```\n(faces .*?)^```", PAGE, re.S | re.M).group(1)
    return [re.findall(r"abm/[\w./]*", line) for line in block.splitlines()]


def rank(path: Path) -> int:
    """The line of the text diagram whose path holds ``path`` (the longest that does)."""
    rel = path.relative_to(ROOT).as_posix()
    found = [(len(p), i) for i, line in enumerate(floors()) for p in line
             if rel == p or (p.endswith("/") and rel.startswith(p))]
    assert found, f"{rel} stands on no floor of docs/architecture.md"
    return max(found)[1]


def module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    return next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()), None)


def imports(path: Path) -> set[Path]:
    """The abm modules that ``path`` imports when it runs (lazy imports included, imports under
    ``if TYPE_CHECKING:`` left out)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]  # a module's or __init__'s
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                base = ".".join([*package[:len(package) - node.level + 1], *filter(None, [base])])
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            if not name.startswith("abm"):
                continue
            while module_file(name) is None and "." in name:
                name = name.rpartition(".")[0]
            target = module_file(name)
            if target is not None and target != path:
                out.add(target)
    return out


def test_the_two_diagrams_agree():
    mermaid = re.search(r"^```mermaid\n(.*?)^```", PAGE, re.S | re.M).group(1)
    labels = re.findall(r"abm/[\w./]*", mermaid.split("-->")[0])
    assert labels == [p for line in floors() for p in line]


def test_every_module_stands_on_a_floor_and_imports_point_down():
    up = [f"{m.relative_to(ROOT)} -> {t.relative_to(ROOT)}" for m in MODULES
          for t in imports(m) if rank(t) < rank(m)]
    assert not up, "imports running up the floors of docs/architecture.md:\n" + "\n".join(up)


def test_no_import_cycle():
    graph = {m: imports(m) for m in MODULES}
    done: set[Path] = set()

    def visit(m: Path, path: list[Path]) -> None:
        if m in path:
            cycle = [*path[path.index(m):], m]
            raise AssertionError(" -> ".join(str(p.relative_to(ROOT)) for p in cycle))
        if m not in done:
            for t in sorted(graph[m]):
                visit(t, [*path, m])
            done.add(m)

    for m in MODULES:
        visit(m, [])


def test_heavy_libraries_stay_on_their_floors():
    allowed = {"mesa": ("abm/market/",), "matplotlib": ("abm/report/", "abm/dashboard/"),
               "solara": ("abm/dashboard/app.py",)}
    for m in MODULES:
        rel = m.relative_to(ROOT).as_posix()
        used = {a.name.split(".")[0] for n in ast.walk(ast.parse(m.read_text()))
                if isinstance(n, ast.Import) for a in n.names}
        used |= {(n.module or "").split(".")[0] for n in ast.walk(ast.parse(m.read_text()))
                 if isinstance(n, ast.ImportFrom) and not n.level}
        for lib, where in allowed.items():
            assert lib not in used or rel.startswith(where), f"{rel} imports {lib}"
