"""The import contracts of pyproject.toml (docs/architecture.md) hold for abm/, and each one
fails when a wrong import is added: lint-imports runs on a copy of abm/ with one bad import per
contract and must name every one of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# (file under abm/, the line added to it, the contract id it breaks, a line of the report)
WRONG = [
    ("config/limits.py", "import abm.market.model", "floors",
     "abm.config.limits -> abm.market.model"),
    ("config/schema.py", "import abm.config.tables", "config-rooms",
     "abm.config.schema -> abm.config.tables"),
    ("data/geo.py", "import matplotlib", "libraries",
     "abm.data.geo -> matplotlib"),
    ("grid/stack.py", "import numba", "libraries",
     "abm.grid.stack -> numba"),
    ("sweeps/design.py", "import mesa", "libraries",
     "abm.sweeps.design -> mesa"),
    ("core/problem.py", "import highspy", "placement-contract",
     "abm.core.problem -> highspy"),
    ("core/backlog.py", "import abm.core.horizon_flow", "horizon-contract",
     "abm.core.backlog -> abm.core.horizon_flow"),
    ("core/masks.py", "import abm.core.metrics", "acyclic",
     "No cycles are allowed in abm.core"),
]


def contracts() -> dict[str, str]:
    """Contract id -> name, as pyproject.toml declares them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in config["contracts"]}


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with the project's contracts on the ``abm`` found in ``package_parent``."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=package_parent, env=env, capture_output=True, text=True,
                          timeout=120)


def test_contracts_hold():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in contracts().values():
        assert f"{name} KEPT" in proc.stdout


def test_every_contract_catches_a_wrong_import(tmp_path):
    assert {contract for _, _, contract, _ in WRONG} == set(contracts()), \
        "each contract of pyproject.toml needs a wrong import here"
    shutil.copytree(ROOT / "abm", tmp_path / "abm",
                    ignore=shutil.ignore_patterns("__pycache__", "*.csv", "*.toml", "*.md"))
    for path, line, _, _ in WRONG:
        file = tmp_path / "abm" / path
        file.write_text(f"{file.read_text()}\n{line}\n")
    proc = lint_imports(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    names = contracts()
    for _, line, contract, report in WRONG:
        assert f"{names[contract]} BROKEN" in proc.stdout, (line, proc.stdout)
        assert report in proc.stdout, (line, proc.stdout)

