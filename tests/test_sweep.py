"""Sweeps: spec validation, designs and seeds, executors agreeing exactly, analysis, report."""

from __future__ import annotations

import contextlib
import socket
import textwrap

import numpy as np
import pandas as pd
import pytest

from abm.cli import main
from abm.errors import InputError
from abm.report.sweep_report import write_report
from abm.sweeps.analysis import parse_target, prim, sensitivity
from abm.sweeps.design import runs
from abm.sweeps.runner import open_executor, run_sweep
from abm.sweeps.spec import Discovery, load_spec

TINY = """
[sweep]
name = "tiny"
scenario = "default"
hours = 3
seed = 7
design = "lhs"
samples = 5
replications = 2

[fixed]
"policy.holding_hours" = 12.0

[parameters."policy.carbon_price_usd_per_t"]
range = [0.0, 300.0]

[parameters."population.operators"]
range = [1, 4]

[parameters."policy.placement_signal"]
values = ["marginal", "average"]

[outcomes]
scalars = ["emissions_system_kg", "cost_usd", "moved_mwh"]
series = ["emissions_system_kg"]
saved = ["emissions_system_kg"]

[baseline]
overrides = { "policy.carbon_price_usd_per_t" = 0.0 }
"""


def write(tmp_path, text: str, name: str = "sweep.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def tiny(tmp_path, text: str = TINY):
    return load_spec(write(tmp_path, text))


def test_design_ids_seeds_and_types_are_deterministic(tmp_path):
    spec = tiny(tmp_path)
    first, again = runs(spec), runs(tiny(tmp_path))
    assert first == again
    assert [r.run_id for r in first] == list(range(12))  # 5 points x 2 + 2 baselines
    assert [r.sample for r in first[-2:]] == [-1, -1]
    # common random numbers: replication r has one seed at every point and in the baseline
    assert {r.seed for r in first if r.replication == 0} == {first[0].seed}
    assert first[0].seed != first[1].seed
    ops = [r.values["population.operators"] for r in first[:-2]]
    assert all(type(v) is int and 1 <= v <= 4 for v in ops)


def test_grid_and_sampling_design_sizes(tmp_path):
    grid = TINY.replace('design = "lhs"\nsamples = 5', 'design = "grid"').replace(
        "range = [0.0, 300.0]", "range = [0.0, 300.0]\nlevels = 3")
    assert len(runs(tiny(tmp_path, grid))) == 3 * 4 * 2 * 2 + 2
    sobol = TINY.replace('design = "lhs"\nsamples = 5', 'design = "sobol"\nsamples = 4')
    assert len(runs(tiny(tmp_path, sobol))) == 4 * (3 + 2) * 2 + 2
    morris = TINY.replace('design = "lhs"\nsamples = 5', 'design = "morris"\nsamples = 3')
    assert len(runs(tiny(tmp_path, morris))) == 3 * (3 + 1) * 2 + 2


@pytest.mark.parametrize(("edit", "field", "words"), [
    (('design = "lhs"', 'design = "halton"'), "sweep.design", "allowed: grid, lhs"),
    (("samples = 5\n", ""), "sweep.samples", "is required for the lhs design"),
    (('design = "lhs"\nsamples = 5', 'design = "sobol"\nsamples = 5'), "sweep.samples",
     "power of 2"),
    (("range = [0.0, 300.0]", "range = [300.0, 0.0]"), 'parameters."policy.carbon_price_usd_per_t"'
     ".range", "low < high"),
    (("range = [0.0, 300.0]", "range = [0.0, -5.0, 1]"), 'parameters."policy.carbon_price_usd_'
     'per_t".range', "two finite numbers"),
    (('"emissions_system_kg", "cost_usd"', '"emissions.system", "cost_usd"'), "outcomes.scalars",
     "allowed: demand_mwh"),
    # a name from before the summary was flat (output format 2) is told its new name
    (('"emissions_system_kg", "cost_usd"', '"emissions_kg.system", "cost_usd"'),
     "outcomes.scalars", "'emissions_kg.system' is now 'emissions_system_kg'"),
    (('saved = ["emissions_system_kg"]', 'saved = ["layers.local"]'), "outcomes.saved",
     "'layers.local' is now 'layer_local_share'"),
    (("[baseline]\n", '[discovery]\noutcome = "saved.emissions_kg.system"\nabove = 0.1\n\n'
      "[baseline]\n"), "discovery.outcome",
     "'saved.emissions_kg.system' is now 'saved.emissions_system_kg'"),
    (('[parameters."policy.placement_signal"]', '[parameters."policy.placement_signl"]'),
     'parameters."policy.placement_signl"', "unknown key"),
    (('values = ["marginal", "average"]', 'values = ["marginal", "cheapest"]'),
     'parameters."policy.placement_signal"', "allowed: marginal, average"),
    (("range = [1, 4]", "range = [-1, 4]"), 'parameters."population.operators"',
     "rejects population.operators = -1: "),
    (("replications = 2", "replications = 0"), "sweep.replications", ">= 1"),
    (('scenario = "default"', 'scenario = "nowhere.toml"'), "sweep.scenario", "no scenario"),
    (("[baseline]\n", "[basline]\n"), "basline", "unknown key"),
    (('[parameters."policy.carbon_price_usd_per_t"]', "[parameters.policy.carbon_price_usd_per_t]"),
     "parameters.policy", "quote the dotted path"),
])
def test_bad_sweep_files_name_the_field(tmp_path, edit, field, words):
    old, new = edit
    assert old in TINY
    path = write(tmp_path, TINY.replace(old, new, 1))
    with pytest.raises(InputError) as err:
        load_spec(path)
    assert err.value.field.startswith(field), err.value
    assert words in str(err.value)
    assert str(path) in str(err.value)


def test_cli_reports_bad_sweep_file(tmp_path, capsys):
    path = write(tmp_path, TINY.replace("seed = 7", "seed = -7"))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    assert "sweep.seed: expected an integer >= 0" in capsys.readouterr().err


def test_serial_processes_and_dask_give_identical_results(tmp_path):
    """Serial, process and Dask executors give the same results; the local Dask cluster starts
    with port 8787 (Dask's default HTTP port) taken, as by another cluster, without a
    warning (filterwarnings = error): its HTTP server takes a free loopback port."""
    pytest.importorskip("distributed")
    spec = tiny(tmp_path)
    run_sweep(spec, tmp_path / "serial")
    with open_executor(2) as (ex, describe, slots):
        run_sweep(spec, tmp_path / "processes", ex, slots=slots, describe=describe)
    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # already taken: the same test
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        with open_executor(2, "local") as (ex, describe, slots):
            assert "Dask" in describe
            run_sweep(spec, tmp_path / "dask", ex, slots=slots, describe=describe)
    frames = {k: pd.read_parquet(tmp_path / k / "results.parquet")
              for k in ("serial", "processes", "dask")}
    ref = frames["serial"]
    assert list(ref.run_id) == list(range(10))
    assert ref["population.operators"].dtype == np.int64
    assert len(ref["series.emissions_system_kg"][0]) == 3
    assert ref["saved.emissions_system_kg"].notna().all()
    for name in ("processes", "dask"):
        got = frames[name]
        pd.testing.assert_frame_equal(got.drop(columns="series.emissions_system_kg"),
                                      ref.drop(columns="series.emissions_system_kg"),
                                      check_exact=True)
        assert all(np.array_equal(a, b) for a, b in zip(
            got["series.emissions_system_kg"], ref["series.emissions_system_kg"], strict=True))
        assert pd.read_parquet(tmp_path / name / "baseline.parquet").equals(
            pd.read_parquet(tmp_path / "serial" / "baseline.parquet"))


def test_resume_needs_the_same_spec_and_refuses_to_overwrite(tmp_path):
    small = TINY.replace("samples = 5", "samples = 2").replace("replications = 2",
                                                               "replications = 1")
    spec = tiny(tmp_path, small)
    out = tmp_path / "out"
    manifest = run_sweep(spec, out)
    assert manifest["status"] == "complete" and manifest["runs_done"] == 3  # 2 points, baseline
    with pytest.raises(InputError, match="pass --resume"):
        run_sweep(spec, out)
    assert run_sweep(spec, out, resume=True)["runs_done"] == 3  # nothing left to run
    other = tiny(tmp_path, small.replace("seed = 7", "seed = 8"))
    with pytest.raises(InputError) as err:
        run_sweep(other, out, resume=True)
    assert err.value.field == "spec_hash" and "another --out" in str(err.value)
    assert run_sweep(other, out, restart=True)["runs_done"] == 3


def test_sobol_indices_and_report(tmp_path):
    text = TINY.replace('design = "lhs"\nsamples = 5', 'design = "sobol"\nsamples = 2').replace(
        "replications = 2", "replications = 1") + (
        '\n[discovery]\noutcome = "saved.emissions_system_kg"\nabove = 0.0\n')
    spec = tiny(tmp_path, text)
    out = tmp_path / "out"
    run_sweep(spec, out)
    sens = sensitivity(spec, pd.read_parquet(out / "results.parquet"))
    assert [s.outcome for s in sens] == list(spec.all_outcomes)
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(sens[0].table.columns)
    assert list(sens[0].table.index) == list(spec.names)
    page = write_report(out).read_text()
    for words in ("Sensitivity", "Heat map", "Outcome distributions", "Series",
                  "Scenario discovery", "data:image/png;base64,"):
        assert words in page
    assert main(["sweep", "report", str(out), "--target", "cost_usd<1e12",
                 "--pair", "policy.carbon_price_usd_per_t,population.operators"]) == 0
    assert "cost_usd &lt; $1,000 bn" in (out / "report.html").read_text()
    assert main(["sweep", "report", str(out), "--target", "nonsense>1"]) == 2


def test_prim_finds_a_planted_box():
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.random(600), "b": rng.random(600),
                      "c": rng.choice(["x", "y", "z"], 600)})
    y = ((x.a > 0.6) & (x.b < 0.3) & (x.c != "z")).to_numpy(float)
    box = prim(x, Discovery("y", 0.5), y)
    assert box.density > 0.9 and box.coverage > 0.8
    assert box.limits["a"].low == pytest.approx(0.6, abs=0.05)
    assert box.limits["b"].high == pytest.approx(0.3, abs=0.05)
    assert set(box.limits["c"]) == {"x", "y"}


def test_parse_target():
    assert parse_target("cost_usd>5", ("cost_usd",)) == Discovery("cost_usd", 5.0, True)
    assert parse_target("cost_usd < -1", ("cost_usd",)) == Discovery("cost_usd", -1.0, False)
    with pytest.raises(InputError, match="--target"):
        parse_target("cost>5", ("cost_usd",))
    with pytest.raises(InputError, match=r"'saved\.emissions_kg\.average' is now "
                                         r"'saved\.emissions_average_kg'"):
        parse_target("saved.emissions_kg.average>0.1", ("saved.emissions_average_kg",))


def test_scalar_outcomes_are_the_summary_numbers():
    from abm.config.scenario import load_scenario
    from abm.market.run import simulate
    from abm.sweeps.spec import SCALAR_OUTCOMES, SERIES_OUTCOMES

    # with deferrable work and a demand-response event, so the summary has every number
    result = simulate(load_scenario(overrides={
        "population.operators": 1, "templates.batch.deferrable_share": 0.5,
        "templates.batch.deadline_hours": 2, "events.e.zone": "DE-LU",
        "events.e.start_hour": 0, "events.e.hours": 1, "events.e.cut_pct": 10.0}),
        seed=0, hours=1)
    numbers = {k for k, v in result.items() if isinstance(v, int | float)}
    assert set(SCALAR_OUTCOMES) <= numbers - {"seed", "hours", "hours_planned"}
    # every total but the counts is named as the model table's column it sums (one name)
    # (backlog_end_mwh is the last hour's backlog_mwh; cost_usd_per_mwh a ratio of two totals)
    assert set(SCALAR_OUTCOMES) - {"operators", "backlog_end_mwh", "cost_usd_per_mwh"} <= set(
        SERIES_OUTCOMES)


def test_the_docs_list_exactly_the_scalar_outcomes():
    """docs/sweeps.md's "Outcomes" paragraph names every outcome a sweep accepts, and no other
    (it listed cost_usd_per_mwh while the sweep refused it)."""
    import re
    from pathlib import Path

    from abm.sweeps.spec import SCALAR_OUTCOMES

    text = (Path(__file__).resolve().parents[1] / "docs" / "sweeps.md").read_text()
    paragraph = text.split("**Outcomes.**", 1)[1].split("`series`", 1)[0]
    named = set(re.findall(r"`([a-z_]+)`", paragraph)) - {"scalars", "emissions_kg"}
    assert named == set(SCALAR_OUTCOMES)


def test_deferral_settings_are_sweep_axes(tmp_path):
    """A template's deferrable share and deadline vary like any setting, checked at both ends
    and every value by the scenario's own rules."""
    axes = TINY.replace('[parameters."policy.placement_signal"]', """
[parameters."templates.batch.deferrable_share"]
range = [0.0, 0.5]

[parameters."templates.batch.deadline_hours"]
values = [0, 1, 4, 24]

[parameters."policy.placement_signal"]""")
    spec = tiny(tmp_path, axes)
    assert {"templates.batch.deferrable_share", "templates.batch.deadline_hours"} <= set(
        spec.names)
    bad = write(tmp_path, axes.replace("range = [0.0, 0.5]", "range = [0.0, 1.5]"), "bad.toml")
    with pytest.raises(InputError, match=r"expected a number <= 1, got 1\.5"):
        load_spec(bad)


LINKED = """
[sweep]
name = "linked"
scenario = "default"
hours = 3
seed = 11
design = "grid"

[fixed]
"population.operators" = 2

[parameters."templates.batch.deferrable_share"]
values = [0.0, 0.5]
also = ["templates.interactive.deferrable_share", "templates.conversational.deferrable_share"]

[parameters."templates.batch.deadline_hours"]
values = [2]
also = ["templates.interactive.deadline_hours", "templates.conversational.deadline_hours"]

[outcomes]
scalars = ["demand_mwh", "unserved_mwh", "work_arrived_mwh", "work_run_mwh", "missed_mwh",
           "backlog_end_mwh"]
"""


def test_one_axis_sets_every_path_it_names_also(tmp_path):
    """``also``: a share set on every template at once makes that share of all demand work
    (work arrived = share x demand), each run as ``abm.simulate`` runs those settings."""
    from abm.api import simulate
    from abm.sweeps.results import consolidate
    from abm.sweeps.runner import tasks

    spec = tiny(tmp_path, LINKED)
    assert spec.names == ("templates.batch.deferrable_share", "templates.batch.deadline_hours")
    paths = {f"templates.{t}.{f}" for t in ("interactive", "conversational", "batch")
             for f in ("deferrable_share", "deadline_hours")}
    overrides = [t.overrides for t in tasks(spec, runs(spec))]
    assert [set(o) - {"population.operators"} for o in overrides] == [paths, paths]
    assert [o["templates.interactive.deferrable_share"] for o in overrides] == [0.0, 0.5]
    with open_executor(1) as (executor, describe, slots):
        run_sweep(spec, tmp_path / "out", executor, slots=slots, describe=describe)
    results = consolidate(tmp_path / "out", spec)[0].sort_values("run_id")
    none, half = results.iloc[0], results.iloc[1]
    for col in ("work_arrived_mwh", "work_run_mwh", "missed_mwh", "backlog_end_mwh"):
        assert none[col] == 0.0
    assert half["work_arrived_mwh"] == pytest.approx(0.5 * half["demand_mwh"])
    alone = simulate(hours=3, seed=int(half["seed"]), overrides={
        **{p: 0.5 if p.endswith("share") else 2 for p in paths}, "population.operators": 2})
    for col in ("missed_mwh", "unserved_mwh", "backlog_end_mwh"):
        assert half[col] == alone.summary[col]


@pytest.mark.parametrize(("edit", "field", "words"), [
    (('also = ["templates.interactive.deadline_hours", "templates.conversational.deadline_hours"]',
      'also = ["templates.batch.deferrable_share"]'), 'parameters."templates.batch.deadline_hours'
     '".also', "already set by the parameter templates.batch.deferrable_share"),
    (('"population.operators" = 2', '"templates.interactive.deferrable_share" = 0.1'),
     'fixed."templates.interactive.deferrable_share"', "is also a parameter"),
    (('also = ["templates.interactive.deadline_hours", "templates.conversational.deadline_hours"]',
      'also = ["templates.interactive.deadline_hours", "policy.placement_signal"]'),
     'parameters."templates.batch.deadline_hours"', "rejects templates.batch.deadline_hours = 2"),
    (('also = ["templates.interactive.deferrable_share", "templates.conversational.deferrable_'
      'share"]', 'also = "templates.interactive.deferrable_share"'),
     'parameters."templates.batch.deferrable_share".also', "expected a list of strings"),
])
def test_bad_linked_settings_name_the_field(tmp_path, edit, field, words):
    old, new = edit
    assert old in LINKED
    with pytest.raises(InputError) as err:
        tiny(tmp_path, LINKED.replace(old, new, 1))
    assert err.value.field.startswith(field), err.value
    assert words in str(err.value)
