"""Quick to start: the parser, ``abm check`` and validating a sweep file load neither Mesa,
matplotlib nor numba (checked in a fresh interpreter, where ``sys.modules`` starts empty)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("mesa", "matplotlib", "numba")
PROBE = """
import contextlib, io, json, sys
{code}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def heavy_imports(code: str, watch: tuple[str, ...] = HEAVY) -> list[str]:
    """The packages of ``watch`` loaded by running ``code`` in a new interpreter."""
    proc = subprocess.run([sys.executable, "-c", PROBE.format(code=code, heavy=watch)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [
    # abm --help, and every subcommand's --help
    "from abm.cli import build_parser\n"
    "for argv in (['--help'], ['check', '--help'], ['run', '--help'], ['report', '--help'],\n"
    "             ['sweep', '--help'], ['dashboard', '--help'], ['frontier', '--help']):\n"
    "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
    "        build_parser().parse_args(argv)",
    # abm check on the shipped default scenario
    "from abm.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    assert main(['check']) == 0",
    # validating a sweep file (every parameter checked against the scenario)
    "from abm.sweeps import load_spec\n"
    "load_spec('experiments/sweeps/quick.toml')",
], ids=["help", "check", "sweep-file"])
def test_start_up_loads_no_heavy_package(code):
    assert heavy_imports(code) == []


def test_building_the_parser_imports_no_numerics():
    """``abm --help`` and ``abm run --help`` stay within the standard library (and ``abm``)."""
    code = ("from abm.cli import main\n"
            "for argv in (['--help'], ['run', '--help'], ['sweep', '--help']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "        main(argv)")
    assert heavy_imports(code, (*HEAVY, "numpy", "pandas", "scipy", "highspy")) == []


def test_the_probe_sees_heavy_imports():
    """The probe is not vacuous: running the market loads Mesa."""
    assert "mesa" in heavy_imports("import abm.market.model")
