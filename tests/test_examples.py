"""The example notebooks (examples/*.ipynb) are stored without outputs and run from top to
bottom in a fresh kernel, showing their figures (no abm module changes the inline backend), and
each shows what is so: a probe run after the last cell reads the runs' own tables, and the test
checks the numbers, labels and claims the notebook shows against them (never against typed
numbers, which change whenever the data or the model does)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

# Run after a notebook's last cell: every DataFrame and Figure it displayed (IPython's Out, by
# execution count) and the expressions a check asks for, as one JSON line.
PROBE = r'''
import json as _json
import matplotlib.figure as _mf
import pandas as _pd

def _figure(fig):
    return [{"title": " ".join(ax.get_title(loc) for loc in ("left", "center", "right")),
             "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
             "legend": [t.get_text() for t in ax.get_legend().get_texts()]
             if ax.get_legend() else [],
             "lines": [[float(v) for v in ln.get_ydata()] for ln in ax.get_lines()],
             "yticks": [t.get_text() for t in ax.get_yticklabels()],
             "hlines": [float(ln.get_ydata()[0]) for ln in ax.get_lines()
                        if len(set(ln.get_ydata())) == 1]}
            for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]

def _split(v):
    return _json.loads(v.to_json(orient="split", double_precision=15))

def _shown(v):
    if isinstance(v, _pd.DataFrame):
        return {"frame": _split(v)}
    if isinstance(v, _mf.Figure):
        return {"figure": _figure(v)}
    return None

print("PROBE:" + _json.dumps({
    "out": {n: _shown(v) for n, v in Out.items() if _shown(v) is not None},
    "data": {k: _split(v) if isinstance(v, (_pd.DataFrame, _pd.Series)) else v
             for k, v in {EXPRESSIONS}.items()},
}, default=float))
'''


def execute(path: Path, expressions: str) -> tuple[nbformat.NotebookNode, dict]:
    """Run the notebook and the probe (``expressions``: a Python dict display of name ->
    expression, evaluated in the notebook's kernel); return the executed notebook and the
    probe's data."""
    book = nbformat.read(path, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "stored with outputs"
    book.cells.append(nbformat.v4.new_code_cell(PROBE.replace("{EXPRESSIONS}", expressions)))
    NotebookClient(book, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    probe = book.cells.pop()
    text = "".join(o.text for o in probe.outputs if o.output_type == "stream")
    data = json.loads(text.split("PROBE:", 1)[1])
    for cell in code:  # a cell ending in a figure shows it, whether or not pyplot was loaded
        last = cell.source.splitlines()[-1]
        if "plot" in last or "figure(" in last:
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source
    warnings = [o.text for c in code for o in c.outputs
                if o.output_type == "stream" and o.name == "stderr" and "Warning" in o.text]
    assert not warnings, warnings
    return book, data


def cell(book: nbformat.NotebookNode, start: str) -> nbformat.NotebookNode:
    """The code cell whose source starts with ``start``."""
    return next(c for c in book.cells if c.cell_type == "code" and c.source.startswith(start))


def printed(c: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def shown(data: dict, c: nbformat.NotebookNode) -> dict:
    """What cell ``c`` displayed: {"frame": {index, columns, data}} or {"figure": [...]}."""
    return data["out"][str(c.execution_count)]


def frame(data: dict, c: nbformat.NotebookNode) -> dict[str, dict]:
    """The DataFrame cell ``c`` displayed, as column -> {row label: value}."""
    f = shown(data, c)["frame"]
    index = [tuple(i) if isinstance(i, list) else i for i in f["index"]]  # a MultiIndex
    return {col: dict(zip(index, (row[i] for row in f["data"]), strict=True))
            for i, col in enumerate(f["columns"])}


def change_pct(new: float, old: float) -> float:
    return 100.0 * (new / old - 1.0)


def test_the_five_examples_are_there():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


def test_01_quick_start_shows_its_run():
    book, data = execute(EXAMPLES / "01_quick_start.ipynb", """{
        "summary": run.summary, "priced": priced.summary,
        "priced_carbon_price": priced.scenario.policy.carbon_price_usd_per_t,
        "model_cost": float(run.model.cost_usd.sum()),
        "model_system_kg": float(run.model.emissions_system_kg.sum()),
        "regions": len(run.scenario.regions),
        "dc_load": run.zones.groupby("zone").dc_load_mw.mean(),
        "budgets": [10, 30, 50, 100, 200, 300]}""")
    d = data["data"]
    s = d["summary"]
    intro = book.cells[0].source
    assert f"{s['operators']} operators over {d['regions']} compute regions" in intro
    # the summary as printed, and the tables it sums
    text = printed(cell(book, "s = run.summary"))
    assert abs(d["model_cost"] - s["cost_usd"]) < 1e-6 * s["cost_usd"]
    names = ("energy", "carbon", "rent", "network", "migration")
    parts = ", ".join(f"{p} ${s[f'cost_{p}_usd']:,.0f}" for p in names)
    assert f"cost ${s['cost_usd']:,.0f} = {parts}" in text
    assert abs(sum(s[f"cost_{p}_usd"] for p in names) - s["cost_usd"]) < 1e-6 * s["cost_usd"]
    co2 = re.search(r"CO2 \(t\): (\{.*\})", text).group(1)
    assert co2 == str({b: round(s[f"emissions_{b}_kg"] / 1e3, 1)
                       for b in ("average", "marginal", "system")})
    assert abs(d["model_system_kg"] - s["emissions_system_kg"]) < 1e-6 * d["model_system_kg"]
    assert f"served away from the origin region: {s['relocated_share']:.1%}" in text
    # the zone plot_generation shows by default is the one with the most data-centre load
    busiest = max(d["dc_load"]["index"], key=lambda z: d["dc_load"]["data"][
        d["dc_load"]["index"].index(z)])
    titles = " ".join(str(a) if isinstance(a, str) else a["title"]
                      for a in shown(data, cell(book, "run.plot_generation()"))["figure"])
    assert busiest in titles
    # the frontier: the budgets asked for, cost and least emissions never rise as they relax
    front = frame(data, cell(book, "front = abm.frontier"))
    rows = sorted(front["budget_ms"], key=front["budget_ms"].get)
    assert [front["budget_ms"][r] for r in rows] == d["budgets"]
    for col, sign in (("cost_usd", -1), ("emissions_kg", -1), ("carbon_reduction", 1),
                      ("rid", 1)):
        values = np.array([front[col][r] for r in rows])
        assert (sign * np.diff(values) >= -1e-9 * np.abs(values).max()).all(), col
    # the comparison: its labels are true of the runs, its changes are the runs' changes
    table = frame(data, cell(book, "priced = abm.simulate"))
    assert list(table["cost_usd"]) == ["default", "carbon price 100 $/t"]
    assert d["priced_carbon_price"] == 100.0
    assert table["cost_usd"]["default"] == pytest.approx(s["cost_usd"])
    assert table["cost_usd_change_pct"]["carbon price 100 $/t"] == pytest.approx(
        change_pct(d["priced"]["cost_usd"], s["cost_usd"]))
    assert table["emissions_system_kg_change_pct"]["carbon price 100 $/t"] == pytest.approx(
        change_pct(d["priced"]["emissions_system_kg"], s["emissions_system_kg"]))
    error = printed(cell(book, "try:"))
    assert "policy.carbon_price: unknown key" in error and "carbon_price_usd_per_t" in error


def test_02_policy_scenarios_compares_what_it_says():
    book, data = execute(EXAMPLES / "02_policy_scenarios.ipynb", """{
        "summaries": {n: r.summary for n, r in runs.items()},
        "moratorium": list(runs["moratoria"].scenario.policy.moratorium),
        "lag_hours": runs["moratoria"].scenario.market.expansion_lag_hours,
        "hours": runs["moratoria"].summary["hours"], "bars": _figure(ax.figure)}""")
    d = data["data"]
    s = d["summaries"]
    names = list(s)
    table = frame(data, cell(book, "table = abm.compare"))
    assert list(table["cost_usd"]) == names
    for name in names:
        assert table["cost_usd_change_pct"][name] == pytest.approx(
            change_pct(s[name]["cost_usd"], s["baseline"]["cost_usd"]), abs=0.006)
        assert table["emissions_system_kg_change_pct"][name] == pytest.approx(change_pct(
            s[name]["emissions_system_kg"], s["baseline"]["emissions_system_kg"]),
            abs=0.006)
        assert table["unserved_mwh"][name] == pytest.approx(s[name]["unserved_mwh"], abs=0.006)
    bars = d["bars"][0]
    assert bars["yticks"] == names[1:] and "%" in bars["xlabel"]
    # "Moratoria stop capacity growth in three hubs ... Over six hours the two are identical:
    # capacity is built 72 hours after it is decided"
    story = next(c.source for c in book.cells if c.source.startswith("## A scenario against"))
    assert len(d["moratorium"]) == 3 and "three hubs" in story
    assert f"{d['lag_hours']} hours after" in story and d["hours"] < d["lag_hours"]
    assert "six hours" in story and d["hours"] == 6
    pair = frame(data, cell(book, "pair = abm.compare"))
    assert all(v == 0 for col, v in pair.items() if col.endswith(("_change_pct", "_change_pp"))
               for v in v.values())
    for key in ("cost_usd", "unserved_mwh", "emissions_system_kg", "moved_mwh"):
        assert s["moratoria"][key] == s["demand_x3"][key], key
    report = printed(cell(book, "import tempfile"))
    assert report.startswith("# Scenario report: demand_x3, moratoria against baseline")


def test_03_sweep_runs_the_design_it_describes():
    book, data = execute(EXAMPLES / "03_sweep_sensitivity.ipynb", """{
        "results": results, "coverage": box.coverage, "density": box.density,
        "threshold": float(threshold), "scatter": _figure(ax.figure)}""")
    d = data["data"]
    results = d["results"]
    col = {c: [row[i] for row in results["data"]] for i, c in enumerate(results["columns"])}
    intro = book.cells[0].source
    spec = cell(book, "import tempfile").source
    samples = int(re.search(r"samples = (\d+)", spec).group(1))
    hours = int(re.search(r"hours = (\d+)", spec).group(1))
    operators = int(re.search(r'"population.operators" = (\d+)', spec).group(1))
    assert f"({samples} {['', 'one', 'two', 'three', 'four'][hours]}-hour runs of {operators} "\
        "operators)" in intro.replace("\n", " ")
    assert len(col["run_id"]) == samples
    # the target: the top quarter of runs by saved system emissions, and the box PRIM found
    saved = np.array(col["saved.emissions_system_kg"])
    assert d["threshold"] == pytest.approx(np.quantile(saved, 0.75))
    assert printed(cell(book, "threshold =")).startswith(
        f"coverage {d['coverage']:.0%}, density {d['density']:.0%}")
    assert d["scatter"][0]["hlines"] == [pytest.approx(d["threshold"])]
    # the indices say what the runs show: the carbon price explains system emissions most
    table = frame(data, cell(book, "import pandas as pd"))["S1"]
    first = {p: v for (outcome, p), v in table.items() if outcome == "emissions_system_kg"}
    assert max(first, key=first.get) == "policy.carbon_price_usd_per_t"
    price = np.array(col["policy.carbon_price_usd_per_t"])
    for other in ("policy.egress_scale", "policy.holding_hours"):
        assert abs(np.corrcoef(price, saved)[0, 1]) > abs(np.corrcoef(col[other], saved)[0, 1])


def test_04_custom_strategy_and_rent_rule_show_what_they_do():
    book, data = execute(EXAMPLES / "04_custom_strategy.ipynb", """{
        "base": base.summary, "mixed": mixed.summary, "scarce": scarce.summary,
        "default_rule": default_rule, "base_pricing": base.scenario.market.pricing,
        "base_strategies": sorted(set(base.operators.strategy)),
        "mixed_strategies": mixed.operators.groupby("strategy").operator.nunique().to_dict(),
        "floor": scarce.scenario.market.rent_floor_usd_per_mwh,
        "rule_at": [scarcity(0.0, u, scarce.scenario.market) for u in (0.5, 0.8, 1.0)],
        "scarce_regions": scarce.regions[["hour", "region", "utilisation", "rent_usd_per_mwh"]],
        "base_rent": base.regions.groupby("hour").rent_usd_per_mwh.mean(),
        "rent_figure": _figure(ax.figure)}""")
    d = data["data"]
    assert "frictionless: the LP as if moves were held forever" in printed(
        cell(book, "import math"))
    # the strategy comparison: everyone on lp against half the drawn operators frictionless
    assert d["base_strategies"] == ["lp"]
    assert set(d["mixed_strategies"]) == {"lp", "frictionless"}
    table = frame(data, cell(book, "base = abm.simulate"))
    assert list(table["moved_mwh"]) == ["everyone lp", "half frictionless"]
    assert table["moved_mwh"]["half frictionless"] == pytest.approx(
        d["mixed"]["moved_mwh"], abs=0.006)
    # "Operators that take every move as held forever move more MWh and pay more friction"
    assert d["mixed"]["moved_mwh"] > d["base"]["moved_mwh"]
    assert (d["mixed"]["cost_migration_usd"] > d["base"]["cost_migration_usd"])
    # the rent rule does what its text says, and rent is not stuck at zero
    text = next(c.source for c in book.cells if c.source.startswith("## A rent rule"))
    assert f"`{d['base_pricing']}` rule" in text and d["default_rule"] == d["base_pricing"]
    low, mid, full = d["rule_at"]
    assert f"{low - d['floor']:.0f} $/MWh at half full, {mid - d['floor']:.0f} at 80 %, " \
        f"{full - d['floor']:.0f} when full" in text.replace("\n", " ")
    r = d["scarce_regions"]
    rows = [dict(zip(r["columns"], row, strict=True)) for row in r["data"]]
    for row in rows:  # the rent a region posts after an hour, from that hour's utilisation
        assert row["rent_usd_per_mwh"] == pytest.approx(
            d["floor"] + 100.0 * row["utilisation"] ** 4)
    assert d["scarce"]["cost_rent_usd"] > 0
    # the figure: each line labelled with the rule that made it, at the runs' mean rents
    axes = d["rent_figure"][0]
    assert axes["legend"] == ["scarcity", f"{d['base_pricing']} (default scenario)"]
    hours = sorted({row["hour"] for row in rows})
    scarce_mean = [np.mean([x["rent_usd_per_mwh"] for x in rows if x["hour"] == h])
                   for h in hours]
    np.testing.assert_allclose(axes["lines"][0], scarce_mean)
    np.testing.assert_allclose(axes["lines"][1], d["base_rent"]["data"])
    # the table: labels true of the runs; rent up, not -100 %; the friction claim holds
    pair = frame(data, cell(book, "pair = abm.compare"))
    assert list(pair["cost_rent_usd"]) == [f"{d['base_pricing']} rent", "scarcity rent"]
    assert pair["cost_rent_usd_change_pct"]["scarcity rent"] == pytest.approx(change_pct(
        d["scarce"]["cost_rent_usd"], d["base"]["cost_rent_usd"]), abs=0.006)
    assert pair["cost_rent_usd_change_pct"]["scarcity rent"] > -100
    claim = next(c.source for c in book.cells if c.source.startswith("Rent that is set afresh"))
    assert "migration friction" in claim
    assert d["scarce"]["moved_mwh"] > d["base"]["moved_mwh"]
    assert (d["scarce"]["cost_migration_usd"] > d["scarce"]["cost_rent_usd"])


def test_05_flexibility_compares_the_modes_it_names():
    book, data = execute(EXAMPLES / "05_flexibility.ipynb", """{
        "summaries": {n: r.summary for n, r in runs.items()},
        "hours": HOURS,
        "classes": {n: [(c.deferrable_share, c.deadline_hours, c.budget_ms)
                        for o in r.scenario.operators for c in o.classes]
                    for n, r in runs.items()},
        "backlog": {n: runs[n].model.backlog_mwh.tolist() for n in ("time only", "both")},
        "returns_figure": _figure(fig)}""")
    d = data["data"]
    s = d["summaries"]
    intro = book.cells[0].source.replace("\n", " ")
    # the intro's settings are the runs' settings
    assert f"two days ({d['hours']} hours)" in intro and all(
        v["hours"] == d["hours"] for v in s.values())
    share, deadline = 0.3, 4
    assert f"{share:.0%} of every class's demand deferrable up to {deadline} hours" in \
        intro.replace("30 %", "30%")
    for name in ("time only", "both"):
        assert {(c[0], c[1]) for c in d["classes"][name]} == {(share, deadline)}
        assert s[name]["work_arrived_mwh"] == pytest.approx(
            share * s[name]["demand_mwh"])
    for name in ("neither", "space only"):
        assert "work_arrived_mwh" not in s[name]
    # "kept local": budgets only the origin meets, and nothing moves
    assert {c[2] for n in ("neither", "time only") for c in d["classes"][n]} == {10.0}
    for name in ("time only", "neither"):  # a weighted mean of zeros: 0 up to rounding
        assert s[name]["relocated_share"] == pytest.approx(0.0, abs=1e-12)
    assert s["neither"]["relocation_effect_kg"] == 0
    assert s["both"]["relocated_share"] > 0 and s["space only"]["relocated_share"] > 0
    # the table is the runs' summaries
    table = frame(data, cell(book, "def row(run)"))
    assert list(table["away from origin (%)"]) == ["neither", "space only", "time only",
                                                   "both"]
    for name, summary in s.items():
        assert table["system emissions (t)"][name] == pytest.approx(
            summary["emissions_system_kg"] / 1e3, abs=0.006)
        assert table["effect vs status quo (t)"][name] == pytest.approx(
            summary["relocation_effect_kg"] / 1e3, abs=0.006)
        assert table["operators' cost (k USD)"][name] == pytest.approx(
            summary["cost_usd"] / 1e3, abs=0.006)
        assert table["away from origin (%)"][name] == pytest.approx(
            100 * summary["relocated_share"], abs=0.006)
        assert table["missed (MWh)"][name] == pytest.approx(
            summary.get("missed_mwh", 0.0), abs=0.006)
    # the backlog plot shows the runs' backlog
    axes = shown(data, cell(book, "backlog = "))["figure"][0]
    assert axes["legend"] == ["time only", "both"]
    np.testing.assert_allclose(axes["lines"][0], d["backlog"]["time only"])
    np.testing.assert_allclose(axes["lines"][1], d["backlog"]["both"])
    # the stored experiment: changes against each mode's run without deferral, from the CSV
    results = pd.read_csv(EXAMPLES.parent / "docs" / "flexibility.csv")
    cells = results.groupby(["mode", "deadline_hours", "flexible_share_pct"]
                            ).emissions_system_kg.mean()
    returns = frame(data, cell(book, "results = pd.read_csv"))
    figure = d["returns_figure"]
    for i, mode in enumerate(["space and time", "time only"]):
        none = cells[(mode, 0, 0.0)]
        ax = figure[i]
        assert ax["title"].strip() == mode
        assert ax["legend"] == ["deadline 1 h", "deadline 4 h", "deadline 24 h"]
        for j, deadline in enumerate((1, 4, 24)):
            want = [(cells[(mode, deadline, sh)] - none) / 1e3
                    for sh in sorted(results.flexible_share_pct.unique())]
            np.testing.assert_allclose(ax["lines"][j], want, rtol=1e-9, atol=1e-9)
            shares = sorted(results.flexible_share_pct.unique())
            assert [returns[deadline][(mode, sh)] for sh in shares] == pytest.approx(
                want, abs=0.051)
    # where emissions rise: the zones shown are those whose emissions change most
    gen = pd.read_csv(EXAMPLES.parent / "docs" / "flexibility_generation.csv")
    why = frame(data, cell(book, "gen = pd.read_csv"))
    shown_rows = set(next(iter(why.values())))
    for mode in gen["mode"].unique():
        g = gen[gen["mode"] == mode].drop_duplicates("zone")
        top = set(g.set_index("zone").zone_emissions_change_kg.abs().nlargest(3).index)
        assert {z for m, z in shown_rows if m == mode} == top
