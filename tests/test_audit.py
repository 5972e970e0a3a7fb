"""``abm audit``: the ranking of assumptions against effects solved by hand on the two-zone
system of test_grid_market (one hour, 20 MW of data-centre load moved from FR to DE-LU)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from abm.cli import main
from abm.data.audit_ranges import RANGES_FILE, load_ranges
from abm.errors import InputError
from abm.market.run import read_summary
from abm.sweeps.audit import AUDIT, OUTCOMES, RANKING, ROWS, plan_audit
from abm.sweeps.results import RUNS, read_manifest
from abm.sweeps.runner import run_plan
from tests.test_grid_market import MOVE, TWO_ZONES

HEADER = "assumption,table,columns,rows,each,low,high,source\n"
# three assumptions, each on the margin of the hand-solved case
RANGES = HEADER + (
    "line rating,interconnectors,capacity_forward_mw;capacity_backward_mw,assumed=true,"
    "line_id,0,1.5,test\n"
    "coal efficiency,tranches,efficiency,technology=coal,,0.9,1.1,test\n"
    "gas price,fuel_prices,price_usd_per_mwh_th,fuel=natural_gas,,0.75,1.5,test\n")
SWITCH = "moved water,switch,grid.moved_water,,,displaced_unit,nothing_burnt,test\n"


@pytest.fixture
def system(tmp_path) -> Path:
    """The two-zone grid tables, the move scenario (offers at cost) and the ranges file."""
    (tmp_path / "grid").mkdir()
    for name, text in TWO_ZONES.items():
        (tmp_path / "grid" / name).write_text(text)
    (tmp_path / "move.toml").write_text(MOVE.format(grid="", calibrate="false"))
    (tmp_path / "ranges.csv").write_text(RANGES)
    return tmp_path


def hand_effects() -> dict[str, dict[str, tuple[float, float]]]:
    """Each assumption's effect (low end, high end) on each headline, solved by hand.

    Base (line 5 MW, coal 12 $/MWh_th / 0.4, gas 30 / 0.5): with the 20 MW in DE-LU,
    geothermal 100 MW, 5 MW of coal imported, gas 5 MW; the system emits 10 MW of coal x 900
    + 5 x 400 = 11,000 kg more than without it; against the status quo (20 MW in FR, coal 515
    MW) the move's effect is 454,500 + 2,000 - 463,500 = -7,000 kg; DE-LU's price is gas's
    60 $/MWh, so the data centres pay 20 MWh x 60 = $1,200.

    - line x0: no import: gas 10 MW, 4,000 kg (-7,000); status quo 520 MW of coal against
      500 + 10 MW gas: -14,000 (-7,000). Line x1.5 (7.5 MW): coal +15 MW x 900 + gas 2.5 x
      400 = 14,500 (+3,500); status quo 512.5 MW of coal, move 507.5 + gas: -3,500 (+3,500).
      Gas stays marginal in DE-LU: price, cost unchanged.
    - coal efficiency x0.9 (0.36): 1,000 kg/MWh: 10 x 1,000 + 2,000 = 12,000 (+1,000),
      effect -10,000 + 2,000 = -8,000 (-1,000); x1.1 (0.44): 818.18 kg/MWh, 10,181.8
      (-818.2), -6,181.8 (+818.2). Coal stays below gas: prices unchanged.
    - gas price x0.75: 22.5 / 0.5 = 45 $/MWh (-15; cost -300); x1.5: 90 (+30, +600); the
      dispatch, hence emissions, unchanged.
    """
    coal_high = 0.36 / 0.44 * 1e3  # kg/MWh of coal at efficiency 0.44
    return {
        "line rating: FR-DE-LU": {"emissions_system_kg": (-7000.0, 3500.0),
                                  "relocation_effect_kg": (-7000.0, 3500.0),
                                  "cost_usd": (0.0, 0.0), "dc_price_usd_per_mwh": (0.0, 0.0)},
        "coal efficiency": {"emissions_system_kg": (1000.0, 10 * coal_high + 2000 - 11000),
                            "relocation_effect_kg": (-1000.0, -10 * coal_high + 2000 + 7000),
                            "cost_usd": (0.0, 0.0), "dc_price_usd_per_mwh": (0.0, 0.0)},
        "gas price": {"emissions_system_kg": (0.0, 0.0), "relocation_effect_kg": (0.0, 0.0),
                      "cost_usd": (-300.0, 600.0), "dc_price_usd_per_mwh": (-15.0, 30.0)},
    }
BASE = {"emissions_system_kg": 11000.0, "relocation_effect_kg": -7000.0, "cost_usd": 1200.0,
        "dc_price_usd_per_mwh": 60.0}


def audit(system: Path, out: str = "out", **kwargs):
    plan = plan_audit(system / "move.toml", ranges=system / "ranges.csv", **kwargs)
    run_plan(plan, system / out)
    return plan, pd.read_csv(system / out / RANKING)


def test_the_ranking_is_the_hand_solved_effects_ranked(system):
    plan, ranked = audit(system)
    assert [a.name for a in plan.items] == ["line rating: FR-DE-LU", "coal efficiency",
                                            "gas price"]
    rows = pd.read_parquet(system / "out" / ROWS)
    base = rows[rows["sample"] < 0].iloc[0]
    assert {o: base[o] for o in OUTCOMES} == pytest.approx(BASE)
    hand = hand_effects()
    for _, r in ranked.iterrows():
        for o in OUTCOMES:
            assert (r[f"{o}.low"], r[f"{o}.high"]) == pytest.approx(hand[r.assumption][o],
                                                                    abs=1e-6), (r.assumption, o)
    # score: the largest swing in % of the base value, ranked from the hand-solved effects
    score = {name: max(100 * max(abs(x) for x in e[o]) / abs(BASE[o]) for o in OUTCOMES)
             for name, e in hand.items()}
    assert ranked.assumption.tolist() == sorted(score, key=lambda n: -score[n])
    assert ranked.score_pct.tolist() == pytest.approx(sorted(score.values(), reverse=True))
    assert ranked["rank"].tolist() == [1, 2, 3]
    assert ranked.score_pct.tolist() == pytest.approx([100.0, 50.0, 100 / 7])


def test_a_resumed_audit_runs_only_the_missing_runs_and_ranks_the_same(system):
    plan, ranked = audit(system)
    parts = sorted((system / "out" / RUNS).glob("part-*.parquet"))
    assert len(parts) == 7
    parts[3].unlink()
    seen = []
    run_plan(plan, system / "out", resume=True, progress=lambda done, total: seen.append(done))
    assert seen == [6, 7]
    pd.testing.assert_frame_equal(pd.read_csv(system / "out" / RANKING), ranked)


def test_an_audit_records_its_resolved_file_and_resumes_from_another_folder(system,
                                                                            monkeypatch, capsys):
    flags = ["--only", "gas", "--workers", "1", "--quiet"]
    monkeypatch.chdir(system)
    assert main(["audit", "move.toml", "--out", "out", "--ranges", "ranges.csv", *flags]) == 0
    assert read_manifest(system / "out", AUDIT)["scenario_file"] == str(system / "move.toml")
    ranked = pd.read_csv(system / "out" / RANKING)
    parts = sorted((system / "out" / RUNS).glob("part-*.parquet"))
    assert len(parts) == 3
    parts[1].unlink()
    (system / "elsewhere").mkdir()
    monkeypatch.chdir(system / "elsewhere")
    assert main(["audit", "../move.toml", "--out", "../out", "--ranges", "../ranges.csv",
                 "--resume", *flags]) == 0
    assert len(list((system / "out" / RUNS).glob("part-*.parquet"))) == 3
    assert read_manifest(system / "out", AUDIT)["scenario_file"] == str(system / "move.toml")
    pd.testing.assert_frame_equal(pd.read_csv(system / "out" / RANKING), ranked)
    capsys.readouterr()


def test_only_keeps_the_named_assumptions_and_an_existing_scale_multiplies(system):
    plan = plan_audit(system / "move.toml", ranges=system / "ranges.csv", only=("GAS",))
    assert [a.name for a in plan.items] == ["gas price"]
    assert len(plan.runs()) == 3
    # a scenario that already scales the gas price: the audit's factor multiplies it
    (system / "move.toml").write_text(MOVE.format(
        grid='[grid.scale.fuel_prices.price_usd_per_mwh_th]\n"fuel=natural_gas" = 2.0\n',
        calibrate="false"))
    plan = plan_audit(system / "move.toml", ranges=system / "ranges.csv", only=("gas",))
    high = next(t for t in plan.tasks(plan.runs()) if t.run.values["factor"] == 1.5)
    assert high.scenario["grid"]["scale"]["fuel_prices"]["price_usd_per_mwh_th"] == {
        "fuel=natural_gas": 3.0}


def test_the_default_week_varies_the_dominion_miso_line_and_every_shipped_range():
    plan = plan_audit()
    names = [a.name for a in plan.items]
    line = next(a for a in plan.items if a.name == "line rating: US-PJM-DOM-US-MISO")
    assert (line.low, line.high) == (0.0, 1.5)
    assert line.figures == "capacity_forward_mw 3000, capacity_backward_mw 3000"
    kinds = {a.kind for a in plan.items} | {s.split(":")[0] for s in plan.skipped}
    assert kinds == {r.assumption for r in load_ranges(RANGES_FILE)}
    assert len(names) == len(set(names))
    # the moved-water rule: the default week has displaced_unit, so nothing_burnt is one run
    water = next(a for a in plan.items if a.switch)
    assert (water.name, water.figures, water.ends) == (
        "moved water", "grid.moved_water = displaced_unit", ("high",))
    assert plan.runs()[0].sample == -1 and len(plan.runs()) == 1 + 2 * len(names) - 1


def test_the_command_writes_ranking_figure_and_report_with_processes(system, capsys):
    out = system / "cli"
    assert main(["audit", str(system / "move.toml"), "--out", str(out), "--ranges",
                 str(system / "ranges.csv"), "--workers", "2", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "7 of 7 runs complete" in printed and "2 local processes" in printed
    for name in ("ranking.csv", "audit.parquet", "tornado.png", "report.html", "manifest.json"):
        assert (out / name).exists(), name
    _, serial = audit(system)  # processes rank exactly as the serial run
    pd.testing.assert_frame_equal(pd.read_csv(out / RANKING), serial)
    page = (out / "report.html").read_text()
    assert "line rating: FR-DE-LU" in page and "Tornado" in page


BAD_RANGES = [
    ("line,lines,capacity_mw,*,,0,1,s\n", "row 2.table", "'lines' is not a grid table"),
    ("w,switch,grid.moved_water,*,,displaced_unit,nothing_burnt,s\n", "row 2.columns",
     "a rule switch is one dotted path"),
    ("w,switch,grid.moved_water,,,displaced_unit,,s\n", "row 2.high",
     "a rule switch names a value of the rule at each end"),
    ("w,switch,grid.moved_water,,,nothing_burnt,nothing_burnt,s\n", "row 2.high",
     "a rule switch needs two different values, got 'nothing_burnt' twice"),
    ("x,tranches,capacity_mw,*,,0,1,s\n", "row 2.columns",
     "'capacity_mw' not a figure of tranches.csv that scales"),
    ("x,tranches,efficiency,coal,,0,1,s\n", "row 2.rows", "expected '*' or column=value"),
    ("x,tranches,efficiency,*,,1.1,0.9,s\n", "row 2.high", "the high factor must exceed"),
    ("x,tranches,efficiency,*,,-1,0.9,s\n", "row 2.low", "expected a number >= 0.0"),
    ("x,tranches,efficiency,*,,0.9,1.1,\n", "row 2.source", "every range needs its source"),
    ("x,scenario,policy.egress_scale,*,,0.5,2,s\n", "row 2.columns",
     "a scenario number is one dotted path"),
]


@pytest.mark.parametrize(("row", "field", "problem"), BAD_RANGES)
def test_bad_ranges_name_the_file_row_and_field(tmp_path, row, field, problem):
    path = tmp_path / "r.csv"
    path.write_text(HEADER + row)
    with pytest.raises(InputError) as err:
        load_ranges(path)
    assert (err.value.source, err.value.field) == (str(path), field)
    assert err.value.problem.startswith(problem)


def test_bad_audits_are_one_line_errors(system, tmp_path, capsys):
    (system / "other.csv").write_text(HEADER + "x,scenario,policy.residency,,,0.5,2,s\n")
    (system / "rule.csv").write_text(HEADER + SWITCH.replace("nothing_burnt", "spilled"))
    (system / "number.csv").write_text(HEADER + "x,switch,policy.egress_scale,,,1,2,s\n")
    (system / "none.csv").write_text(HEADER + "x,tranches,efficiency,technology=oil,,0.9,1.1,s\n")
    cases = [
        (["--ranges", str(system / "ranges.csv"), "--only", "wind"],
         "error: --only: wind matches no assumption; the audit has: line rating: FR-DE-LU, "
         "coal efficiency, gas price"),
        (["--ranges", str(system / "other.csv")],
         f"error: {system / 'other.csv'}: row 2.columns: policy.residency is not a number of "
         "the scenario"),
        (["--ranges", str(system / "rule.csv")],
         f"error: {system / 'rule.csv'}: row 2.high: grid.moved_water: got 'spilled'; "
         "allowed: displaced_unit, nothing_burnt"),
        (["--ranges", str(system / "number.csv")],
         f"error: {system / 'number.csv'}: row 2.columns: policy.egress_scale is not a rule "
         "of the scenario (a setting with named values"),
        (["--ranges", str(system / "none.csv")],
         f"error: {system / 'none.csv'}: no assumption of it is in {system / 'move.toml'}"),
        (["--ranges", str(system / "missing.csv")],
         f"error: {system / 'missing.csv'}: no such ranges file"),
        ([str(tmp_path)], f"error: {tmp_path}: run.json: missing: not a folder written by "
                          "`abm run`"),
    ]
    for extra, message in cases:
        source = [] if extra[0].startswith(str(tmp_path)) else [str(system / "move.toml")]
        assert main(["audit", *source, "--out", str(tmp_path / "o"), *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(message), err
    (system / "calibrated.toml").write_text(MOVE.format(grid="", calibrate="false").replace(
        'grid_response = "technology"', 'grid_response = "calibrated"'))
    assert main(["audit", str(system / "calibrated.toml"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        f"error: {system / 'calibrated.toml'}: market.grid_response: is 'calibrated': the audit "
        "moves figures of the technology market's grid tables; set grid_response = "
        "\"technology\"\n")


def test_an_audit_folder_resumes_only_the_same_audit_and_is_no_sweep(system):
    audit(system)
    with pytest.raises(InputError) as err:
        read_manifest(system / "out")
    assert (err.value.field, err.value.problem) == (
        "kind", "is the manifest of an audit, not of a sweep: use another folder, or --restart")
    shutil.copy(system / "ranges.csv", system / "r2.csv")
    (system / "r2.csv").write_text(RANGES.replace("0.75,1.5", "0.5,1.5"))
    plan = plan_audit(system / "move.toml", ranges=system / "r2.csv")
    with pytest.raises(InputError, match="resumes only with the same settings"):
        run_plan(plan, system / "out", resume=True)


def test_a_run_folder_is_audited_with_its_scenario_seed_and_hours(system, capsys):
    assert main(["run", str(system / "move.toml"), "--out", str(system / "run"), "--seed", "7",
                 "--quiet"]) == 0
    assert main(["audit", str(system / "run"), "--out", str(system / "a"), "--only", "gas",
                 "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    manifest = read_manifest(system / "a", AUDIT)
    assert (manifest["seed"], manifest["hours"]) == (7, 1)
    assert manifest["scenario_file"] == str((system / "move.toml").resolve())
    assert [a["name"] for a in manifest["assumptions"]] == ["fuel price: natural_gas"]


def test_a_rule_switch_runs_its_other_value_and_ranks_as_a_range_end(system, capsys):
    """The moved-water rule on the two-zone system, beside the gas price (``--only``): the
    scenario counts moved water by ``displaced_unit``, so the switch is one run, at
    ``nothing_burnt``, and its low end is the base run. The system has no reservoir, so no
    water is moved: every effect of the switch is exactly 0 (score 0, ranked last), the gas
    price's as solved by hand. A resumed audit runs only the switch's missing run."""
    (system / "ranges.csv").write_text(RANGES + SWITCH)
    out = system / "out"
    flags = ["--ranges", str(system / "ranges.csv"), "--only", "gas,moved water", "--workers",
             "1", "--quiet"]
    assert main(["audit", str(system / "move.toml"), "--out", str(out), *flags]) == 0
    rows = pd.read_parquet(out / ROWS)
    switched = rows[rows.assumption == "moved water"]
    assert (switched.end.tolist(), switched.value.tolist()) == (["high"], ["nothing_burnt"])
    assert switched.factor.isna().all() and len(rows) == 4
    ranked = pd.read_csv(out / RANKING)
    assert ranked.assumption.tolist() == ["gas price", "moved water"]
    water = ranked.iloc[1]
    assert (water.low, water.high, water.range, water.score_pct) == (
        "displaced_unit", "nothing_burnt", "rule switch: displaced_unit / nothing_burnt", 0.0)
    assert [water[f"{o}.{e}"] for o in OUTCOMES for e in ("low", "high")] == [0.0] * 8
    gas = hand_effects()["gas price"]
    assert [ranked.iloc[0][f"{o}.{e}"] for o in OUTCOMES for e in ("low", "high")] == (
        pytest.approx([x for o in OUTCOMES for x in gas[o]]))
    page = (out / "report.html").read_text()
    assert "rule switch: displaced_unit / nothing_burnt" in page and "A rule switch" in page
    part = next(p for p in (out / RUNS).glob("part-*.parquet")
                if pd.read_parquet(p).assumption.tolist() == ["moved water"])
    part.unlink()
    capsys.readouterr()
    seen: list[int] = []
    plan = plan_audit(system / "move.toml", ranges=system / "ranges.csv",
                      only=("gas", "moved water"))
    run_plan(plan, out, resume=True, progress=lambda done, total: seen.append(done))
    assert seen == [3, 4]
    pd.testing.assert_frame_equal(pd.read_csv(out / RANKING), ranked)
    # a scenario that sets nothing_burnt: the switch runs displaced_unit, its low end
    (system / "move.toml").write_text(MOVE.format(
        grid='moved_water = "nothing_burnt"\n', calibrate="false"))
    plan = plan_audit(system / "move.toml", ranges=system / "ranges.csv", only=("moved",))
    (task,) = plan.tasks(plan.runs()[1:])
    assert (plan.items[0].ends, task.run.values["value"]) == (("low",), "displaced_unit")
    assert task.scenario["grid"]["moved_water"] == "displaced_unit"


def test_the_moved_water_switch_is_the_run_of_a_scenario_that_sets_the_rule(tmp_path):
    """The default scenario for 2 hours, its reservoirs counted both ways: the switch's run
    gives exactly the headlines of ``abm run`` of a file that extends the default and sets
    ``[grid] moved_water = "nothing_burnt"``, and its effects are that run's headlines minus
    the base run's (which differ: the rule moves the system emissions)."""
    plan = plan_audit(hours=2, only=("moved water",))
    assert [r.values for r in plan.runs()] == [
        {"assumption": None, "end": None, "factor": 1.0, "value": None},
        {"assumption": "moved water", "end": "high", "factor": None, "value": "nothing_burnt"}]
    run_plan(plan, tmp_path / "audit")
    (tmp_path / "burnt.toml").write_text(
        'extends = "default"\n\n[grid]\nmoved_water = "nothing_burnt"\n')
    assert main(["run", str(tmp_path / "burnt.toml"), "--hours", "2", "--out",
                 str(tmp_path / "run"), "--quiet"]) == 0
    plain = read_summary(tmp_path / "run")
    rows = pd.read_parquet(tmp_path / "audit" / ROWS).set_index("run_id")
    assert {o: rows.loc[1, o] for o in OUTCOMES} == {o: plain[o] for o in OUTCOMES}
    ranked = pd.read_csv(tmp_path / "audit" / RANKING).iloc[0]
    for o in OUTCOMES:
        assert ranked[f"{o}.low"] == 0.0
        assert ranked[f"{o}.high"] == pytest.approx(plain[o] - rows.loc[0, o], rel=1e-12)
    assert ranked["emissions_system_kg.high"] < 0


def test_the_help_lists_what_the_shipped_table_varies(capsys):
    """``abm audit --help`` reads abm/data/audit_ranges.csv: every row, the rule switch marked
    as one."""
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    printed = capsys.readouterr().out
    assert "\n  moved water (grid.moved_water): rule switch: displaced_unit / nothing_burnt\n" in (
        printed)
    assert "\n  line rating (interconnectors.capacity_forward_mw/capacity_backward_mw, each " \
        "line_id): x0 to x1.5\n" in printed
    assert all(f"\n  {r.assumption} (" in printed for r in load_ranges(RANGES_FILE))
