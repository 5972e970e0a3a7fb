"""Every code block in the docs runs: TOML scenario fragments load (extending the default),
sweep files parse, Python blocks execute as written."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

import abm.sweeps
import abm.sweeps.runner
from abm.config.registry import REGISTRIES
from abm.config.scenario import load_scenario
from abm.market.run import run_market
from abm.sweeps import load_spec

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted(ROOT.glob("docs/*.md")), ROOT / "README.md"]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
# blocks other tests run: (file, language, first line) -> the test that runs them
ELSEWHERE = {("data.md", "bash", "python experiments/derive_profiles.py \\"):
             "tests/test_shipped_data.py re-runs the script on the shared hourly file",
             ("architecture.md", "mermaid", "flowchart TD"):
             "tests/test_architecture.py holds the floors against the imports",
             ("scenarios.md", "toml",
              "# A world of your own: two flat zones (tests/test_own_world.py runs it)"):
             "tests/test_own_world.py runs it with its grid tables (it extends nothing)"}


def blocks(lang: str) -> list:
    return [pytest.param(text, id=f"{doc.name}:{n}") for doc in DOCS
            for n, (kind, text) in enumerate(BLOCK.findall(doc.read_text())) if kind == lang]


def test_every_block_is_run_here_or_elsewhere():
    for doc in DOCS:
        for kind, text in BLOCK.findall(doc.read_text()):
            key = (doc.name, kind, text.splitlines()[0])
            assert kind in ("toml", "python") or key in ELSEWHERE, key


@pytest.mark.parametrize("text", blocks("toml"))
def test_toml_blocks_load(text, tmp_path):
    elsewhere = [why for (_, kind, first), why in ELSEWHERE.items()
                 if kind == "toml" and text.startswith(first)]
    if elsewhere:
        pytest.skip(elsewhere[0])
    path = tmp_path / "snippet.toml"
    if text.startswith("[sweep]"):
        path.write_text(text)
        assert load_spec(path).name
        return
    path.write_text('extends = "default"\n' + text)
    scn = load_scenario(path)
    default = load_scenario()
    # nothing listed in the default is lost by a fragment that adds operators
    assert {o.id for o in default.operators} <= {o.id for o in scn.operators}


def test_operator_snippet_adds_to_the_default_operators(tmp_path):
    text = next(p.values[0] for p in blocks("toml") if "frontier-lab" in p.values[0])
    path = tmp_path / "snippet.toml"
    path.write_text('extends = "default"\n' + text)
    ids = [o.id for o in load_scenario(path).operators]
    assert ids == [o.id for o in load_scenario().operators] + ["frontier-lab"]


def smaller_sweep(path):
    """The docs' sweep, cut to a 1-hour run per point with 2 operators, 2 Sobol samples."""
    return replace(load_spec(path), hours=1, samples=2, fixed={"population.operators": 2})


@pytest.mark.parametrize("text", blocks("python"))
def test_python_blocks_run(text, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if "out/run" in text:  # a snippet that reads an `abm run` folder gets a short one
        run_market(load_scenario(), Path("out/run"), hours=2)
    # the sweep example runs as written on a smaller sweep, serially
    monkeypatch.setattr(abm.sweeps, "load_spec", lambda p: smaller_sweep(ROOT / p))
    opener = abm.sweeps.runner.open_executor
    monkeypatch.setattr(abm.sweeps.runner, "open_executor",
                        lambda **kw: opener(**{**kw, "workers": 1}))
    before = [set(r.names()) for r in REGISTRIES]
    try:
        exec(compile(text, "snippet", "exec"), {"__name__": "snippet"})
    finally:  # what the snippet registered does not outlive it
        for registry, names in zip(REGISTRIES, before, strict=True):
            for name in set(registry.names()) - names:
                registry.unregister(name)
    capsys.readouterr()
