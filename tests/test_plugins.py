"""Extensions shipped as packages (abm/config/registry.py, docs/extending.md): the example
package examples/plugin is built into a wheel, installed by pip into a folder, and its entry
points reach ``abm run`` in a fresh process; a plug-in that fails to load or takes a shipped
name warns and is left out."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from abm.config.registry import ENTRY_POINT_GROUPS
from abm.config.scenario import load_scenario
from abm.errors import PluginWarning

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugin"
ABM = Path(sys.executable).with_name("abm")


def build_wheel(project: Path, out: Path) -> Path:
    """A pure-Python wheel (PEP 427) of ``project`` as its pyproject.toml declares it: its
    package, METADATA, WHEEL, entry_points.txt and RECORD (what a build backend writes; the
    test environment has no setuptools, and the network is not needed)."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    name, version = meta["name"], meta["version"]
    dist = f"{name.replace('-', '_')}-{version}"
    entry_points = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items())
                           for group, eps in meta["entry-points"].items())
    files = {p.relative_to(project).as_posix(): p.read_bytes()
             for p in sorted(project.glob(f"{name.replace('-', '_')}/*.py"))}
    files |= {f"{dist}.dist-info/METADATA":
              f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
              f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\n"
              b"Root-Is-Purelib: true\nTag: py3-none-any\n",
              f"{dist}.dist-info/entry_points.txt": entry_points.encode()}

    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{path},sha256={digest(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist}.dist-info/RECORD"] = (record + f"{dist}.dist-info/RECORD,,\n").encode()
    wheel = out / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """examples/plugin installed by pip into a folder of its own (put on the path to use it)."""
    tmp = tmp_path_factory.mktemp("plugin")
    wheel = build_wheel(PLUGIN, tmp)
    site = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    "--disable-pip-version-check", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    return site


def reload(monkeypatch, path: Path) -> None:
    """Every registry as a process with ``path`` on its path sees it: the installed packages'
    entries loaded again on next use (all restored after the test)."""
    for registry in ENTRY_POINT_GROUPS.values():
        registry.names()  # loaded without ``path`` first
    monkeypatch.syspath_prepend(str(path))
    for registry in ENTRY_POINT_GROUPS.values():
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
        monkeypatch.setattr(registry, "_plugged", False)


def test_every_group_of_the_example_is_a_registry():
    meta = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    assert set(meta["entry-points"]) <= set(ENTRY_POINT_GROUPS)
    assert set(ENTRY_POINT_GROUPS) == {"abm.rent_rules", "abm.grid_responses",
                                       "abm.allocation_rules", "abm.forecast_modes",
                                       "abm.strategies", "abm.placement_engines",
                                       "abm.event_rules"}


def test_installed_entries_join_the_registries_with_their_docstrings(installed, monkeypatch):
    reload(monkeypatch, installed)
    rules, strategies = ENTRY_POINT_GROUPS["abm.rent_rules"], ENTRY_POINT_GROUPS["abm.strategies"]
    assert rules.names()[-1] == "near_full" and "fixed" in rules
    assert rules.description("near_full") == ("floor + 100 $/MWh x utilisation^4: steep only "
                                              "near full [abm-example-plugin 0.1.0]")
    assert strategies["long_hold"].__name__ == "LongHold"
    assert "near_full: floor + 100" in rules.help()


def test_a_broken_or_clashing_plugin_warns_and_is_left_out(tmp_path, monkeypatch):
    info = tmp_path / "clumsy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: clumsy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[abm.rent_rules]\nfixed = clumsy_rules:fixed\n"
                                           "missing = clumsy_rules:missing\n")
    reload(monkeypatch, tmp_path)
    rules = ENTRY_POINT_GROUPS["abm.rent_rules"]
    with pytest.warns(PluginWarning) as caught:
        names = rules.names()
    assert [str(w.message) for w in caught] == [
        "entry point fixed = 'clumsy_rules:fixed' (abm.rent_rules, from clumsy 1.0): rent rule "
        "'fixed' is already registered (shipped with abm or by another package); left out",
        "entry point missing = 'clumsy_rules:missing' (abm.rent_rules, from clumsy 1.0): failed "
        "to load (ModuleNotFoundError: No module named 'clumsy_rules'); left out"]
    assert "missing" not in names and rules.description("fixed") == "rent never changes"


def test_abm_run_uses_an_installed_rule_and_strategy(installed, tmp_path, write_scenario):
    """``abm run`` in a fresh process with the package on its path: every region's rent is the
    plug-in's rule of its utilisation, and the operators drawn with ``long_hold`` use it;
    without the package the scenario is refused naming the rule."""
    path = write_scenario('extends = "default"\n[scenario]\nname = "plugged"\n'
                          '[market]\npricing = "near_full"\noperator_detail = true\n'
                          '[population.strategies]\nlp = 0.5\nlong_hold = 0.5\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(installed), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = tmp_path / "run"
    done = subprocess.run([str(ABM), "run", str(path), "--hours", "3", "--out", str(out),
                           "--quiet"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "summary.json").read_text())["hours"] == 3
    regions = pd.read_parquet(out / "tables" / "regions")
    floor_usd_per_mwh = load_scenario(None).market.rent_floor_usd_per_mwh
    assert len(regions) == 3 * 23 and regions.utilisation.max() > 0.5
    assert regions.rent_usd_per_mwh.to_numpy() == pytest.approx(
        floor_usd_per_mwh + 100.0 * regions.utilisation.to_numpy() ** 4)
    assert set(pd.read_parquet(out / "tables" / "operators").strategy) == {"lp", "long_hold"}
    refused = subprocess.run([str(ABM), "check", str(path)], capture_output=True, text=True)
    assert refused.returncode == 2
    assert ("market.pricing: got 'near_full'; allowed: fixed, utilisation_target (more: "
            "register a rent rule in abm.config.registry, or install a package with an entry "
            "point in abm.rent_rules; docs/extending.md)") in refused.stderr
