"""The notebook API (abm.simulate, frontier, sweep, ...): the same results as the modules it
wraps, overrides validated with errors naming the field, figures as Figures, and importing abm
neither loads the model nor changes matplotlib's backend."""

from __future__ import annotations

import dataclasses
import inspect
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import abm
from abm.config.scenario import load_scenario
from abm.core.frontier import at_hour, frontier
from abm.core.instance import compile_scenario
from abm.core.signals import mean_signals
from abm.errors import InputError
from abm.market.run import read_tables, run_market
from tests.conftest import SMALL
from tests.test_startup import ROOT, heavy_imports


@pytest.fixture(scope="module")
def run():
    return abm.simulate(hours=3, seed=5, population__operators=6,
                        policy__carbon_price_usd_per_t=80.0)


def test_simulate_returns_the_run_tables_and_summary_of_abm_run(run, tmp_path):
    scn = load_scenario(overrides={"population.operators": 6,
                                   "policy.carbon_price_usd_per_t": 80.0})
    written = run_market(scn.with_market(operator_detail=True), tmp_path, hours=3, seed=5)
    assert {k: v for k, v in run.summary.items() if k != "status"} == {
        k: v for k, v in written.items() if k != "status"}
    written_tables = read_tables(tmp_path)
    for name in ("model", "regions", "zones", "lines", "operators", "migrations"):
        pd.testing.assert_frame_equal(getattr(run, name).reset_index(drop=True),
                                      written_tables[name], check_dtype=False)
    assert len(run.model) == 3
    assert run.summary["operators"] == run.operators.operator.nunique()
    assert abm.read_run(tmp_path).summary == written


def test_cost_parts_add_up_to_the_cost(run):
    cols = [f"cost_{p}_usd" for p in ("energy", "carbon", "rent", "network", "migration")]
    parts = {c: run.summary[c] for c in cols}
    assert sum(parts.values()) == pytest.approx(run.summary["cost_usd"], rel=1e-12)
    assert parts["cost_carbon_usd"] > 0  # a carbon price of 80 $/t on a grid that emits
    np.testing.assert_allclose(run.model[cols].sum(), list(parts.values()), rtol=1e-12)
    np.testing.assert_allclose(run.model[cols].sum(axis=1), run.model.cost_usd, rtol=1e-12)


def test_agent_results_the_mesa_way(run):
    """Mesa's get_agenttype_vars_dataframe holds what run.operators holds."""
    mesa = run.agents(abm.Operator)
    assert mesa.index.names == ["Step", "AgentID"]
    np.testing.assert_allclose(np.sort(mesa.cost_usd.to_numpy()),
                               np.sort(run.operators.cost_usd.to_numpy()))
    assert isinstance(run.market, abm.MarketModel)


def test_plots_are_figures(run):
    for fig in (run.plot_zone_load(), run.plot_generation(), run.plot_emissions(),
                run.plot_shifts(), run.plot_map(), run.plot_map(baseline=run)):
        assert isinstance(fig, Figure) and fig.axes
    with pytest.raises(InputError, match="plot_generation: zone: unknown zone 'XX'"):
        run.plot_generation("XX")
    assert "<table>" in run._repr_html_()


def test_overrides_by_keyword_and_by_dict_are_the_same_scenario():
    a = abm.load_scenario(policy__carbon_price_usd_per_t=50.0, market__pricing="utilisation_target")
    b = abm.load_scenario("default", overrides={"policy.carbon_price_usd_per_t": 50.0,
                                                "market.pricing": "utilisation_target"})
    assert a.policy == b.policy and a.market == b.market
    assert a.policy.carbon_price_usd_per_t == 50.0 and a.market.pricing == "utilisation_target"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: abm.simulate(hours=1, policy__carbon_price=5),
     r"policy\.carbon_price: unknown key; allowed here: .*carbon_price_usd_per_t"),
    (lambda: abm.simulate(hours=1, policy__carbon_price_usd_per_t="high"),
     r"policy\.carbon_price_usd_per_t: expected a number, got 'high'"),
    (lambda: abm.simulate(hours=1, market__pricing="auction"),
     r"market\.pricing: .*'auction'.*allowed"),
    (lambda: abm.simulate(hours=1, carbon=5), r"overrides: carbon: expected a dotted path"),
    (lambda: abm.simulate(hours=0), r"simulate: hours: expected a whole number >= 1"),
    (lambda: abm.simulate(seed=-1), r"simulate: seed: expected a whole number"),
    (lambda: abm.simulate("no-such"),
     r"scenario 'no-such': no such scenario file.*shipped: default"),
    (lambda: abm.simulate(abm.load_scenario(), policy__egress_scale=0.0),
     r"overrides: overrides apply to a scenario file"),
    (lambda: abm.frontier(budgets_ms=[0]), r"frontier: budgets_ms: expected positive"),
])
def test_bad_input_names_the_field(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_frontier_is_the_core_frontier(write_scenario):
    path = write_scenario(SMALL)
    scn = load_scenario(path)
    expected = frontier(compile_scenario(scn), mean_signals(scn), [20.0, 100.0])
    pd.testing.assert_frame_equal(abm.frontier(path, [20.0, 100.0]), expected)
    at_1 = frontier(*at_hour(scn, compile_scenario(scn), 1), [20.0, 100.0])
    pd.testing.assert_frame_equal(abm.frontier(path, [20.0, 100.0], hour=1), at_1)


def test_frontier_and_sweep_are_plain_api_functions():
    """``abm.frontier`` and ``abm.sweep`` are the functions of ``abm.api``, with their
    signatures, whatever has been imported before (the packages are ``abm.core`` and
    ``abm.sweeps``, so no submodule shadows them)."""
    import abm.core.frontier
    import abm.sweeps
    from abm import api

    assert abm.frontier is api.frontier and abm.sweep is api.sweep
    assert "budgets_ms" in inspect.signature(abm.frontier).parameters
    assert "workers" in inspect.signature(abm.sweep).parameters
    assert {"frontier", "sweep"} <= set(abm.__all__) and "frontier" in dir(abm)


SWEEP = """
[sweep]
name = "api"
scenario = "{scenario}"
hours = 2
seed = 3
design = "grid"
replications = 1

[parameters."policy.carbon_price_usd_per_t"]
values = [0.0, 400.0]

[outcomes]
scalars = ["cost_usd", "emissions_average_kg"]
"""


def test_sweep_returns_one_row_per_run(write_scenario, tmp_path):
    scenario = write_scenario(SMALL)
    spec = tmp_path / "api.toml"
    spec.write_text(textwrap.dedent(SWEEP.format(scenario=scenario)))
    df = abm.sweep(spec, workers=1)
    assert list(df["policy.carbon_price_usd_per_t"]) == [0.0, 400.0]
    priced = abm.simulate(scenario, hours=2, seed=int(df.seed[1]),
                          policy__carbon_price_usd_per_t=400.0, operator_detail=False)
    assert df.cost_usd[1] == pytest.approx(priced.summary["cost_usd"], rel=1e-12)
    sens = abm.sensitivity(spec, df)
    assert {s.outcome for s in sens} == {"cost_usd", "emissions_average_kg"}


def test_import_abm_is_cheap_and_every_module_leaves_the_backend_alone():
    assert heavy_imports("import abm\nabm.__version__\nabm.__all__") == []
    probe = textwrap.dedent("""
        import importlib, pkgutil, matplotlib
        matplotlib.use("svg")
        import abm
        skip = {"abm.dashboard.app", "abm.report.pypsa_export"}  # solara and PyPSA: slow imports
        for m in pkgutil.walk_packages(abm.__path__, "abm."):
            if m.name not in skip:
                importlib.import_module(m.name)
        print(matplotlib.get_backend())
    """)
    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, timeout=180, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "svg"


def test_docs_api_lists_every_exported_name_and_run_attribute():
    text = (ROOT / "docs" / "api.md").read_text()
    headings = set(re.findall(r"^##+ `abm\.(\w+)`", text, re.M))
    assert headings == set(abm.__all__)
    table = text.split("## `abm.Run`")[1].split("\n## ")[0]
    public = {n for n in dir(abm.Run) if not n.startswith("_")} | {
        f.name for f in dataclasses.fields(abm.Run)}
    assert all(f"`{n}" in table for n in public), sorted(n for n in public if f"`{n}" not in table)


def test_compare_gives_changes_in_percent_and_shares_in_points(run):
    other = abm.simulate(hours=3, seed=5, population__operators=6,
                         policy__carbon_price_usd_per_t=0.0)
    df = abm.compare([run, other])
    assert list(df.index) == [run.label, other.label] or len(df) == 2
    a, b = df.iloc[0], df.iloc[1]
    assert b.cost_usd_change_pct == pytest.approx(100 * (b.cost_usd - a.cost_usd) / a.cost_usd)
    assert b.relocated_share_change_pp == pytest.approx(
        100 * (b.relocated_share - a.relocated_share))
    assert df.emissions_system_kg_change_pct.iloc[0] == 0.0
