"""docs/flexibility.md is built from stored results (docs/flexibility*.csv, .json) that
experiments/flexibility.py writes from two sweeps; the experiments are far too slow for the
suite, so these tests check, cheaply, that the stored results are those of the sweep files and
scenarios as they are now (their digests), that they hold the whole design and balance their
energy, and that the explaining runs are the cells the rule picks. The Markdown quoted from
them is checked by tests/test_docs_figures.py (cheap figures)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def flex():
    return load_script(ROOT / "experiments" / "flexibility.py")


def test_stored_results_are_of_the_sweeps_as_they_are(flex):
    """A changed sweep file or flexible scenario (or the default it extends) makes the stored
    results stale: run ``python experiments/flexibility.py``."""
    stored = json.loads(flex.RUN_INFO.read_text())["digests"]
    assert stored == flex.digests(), (
        "docs/flexibility.csv is stale: its sweeps or scenarios changed; run python "
        "experiments/flexibility.py")


def test_the_digests_do_not_depend_on_where_the_repository_is(flex, tmp_path):
    """The same sweep files and scenarios elsewhere give the same digests (they once held the
    scenario's absolute path, so a fresh clone read the stored results as stale)."""
    import shutil

    for folder, names in (("sweeps", [p.name for p in flex.SWEEPS.values()]),
                          ("scenarios", ["flexible.toml", "flexible_local.toml"])):
        (tmp_path / folder).mkdir()
        for name in names:
            shutil.copy(ROOT / "experiments" / folder / name, tmp_path / folder / name)
    moved = {mode: tmp_path / "sweeps" / path.name for mode, path in flex.SWEEPS.items()}
    assert flex.digests(moved) == flex.digests()


def test_stored_results_hold_the_whole_design_and_balance(flex):
    from abm.sweeps.design import runs
    from abm.sweeps.spec import load_spec

    results = flex.load_results()
    for mode, path in flex.SWEEPS.items():
        spec = load_spec(path)
        want = sorted((int(r.values[flex.DEADLINE]), round(100 * r.values[flex.SHARE], 6),
                       r.replication, r.seed) for r in runs(spec))
        got = results[results["mode"] == mode]
        assert sorted(zip(got.deadline_hours, got.flexible_share_pct.round(6),
                          got.replication, got.seed, strict=True)) == want
    # no MWh appears or disappears: demand = served + unserved + work still waiting at the end
    np.testing.assert_allclose(results.demand_mwh, results.served_mwh + results.unserved_mwh
                               + results.backlog_end_mwh, rtol=1e-6)
    # the share of every class's demand that may wait is the share of all demand that does
    deferring = results.deadline_hours > 0
    np.testing.assert_allclose(results.work_arrived_mwh[deferring], results.demand_mwh[deferring]
                               * results.flexible_share_pct[deferring] / 100, rtol=1e-6)
    assert (results.work_arrived_mwh[~deferring] == 0).all()
    # kept local, nothing runs away from its origin region
    assert (results[results["mode"] == "time only"].relocated_share < 1e-12).all()
    assert (results[results["mode"] == "space and time"].relocated_share > 0).all()


def test_the_explaining_runs_are_the_cells_the_rule_picks(flex):
    gen = pd.read_csv(flex.GENERATION)
    m = flex.means(flex.load_results())
    for mode in flex.SWEEPS:
        cell = flex.rising(m, mode)
        g = gen[gen["mode"] == mode]
        assert set(zip(g.deadline_hours, g.flexible_share_pct, strict=True)) == {
            (cell.deadline_hours, cell.flexible_share_pct)}
        # each zone's emissions change once per technology row, and the zones' sum is the
        # change in the data-centre load's system emissions between the two sweep runs
        per_zone = g.groupby("zone").zone_emissions_change_kg.agg(["min", "max"])
        assert (per_zone["min"] == per_zone["max"]).all()
        assert per_zone["min"].sum() == pytest.approx(cell.emissions_change_t * 1e3, rel=1e-4,
                                                      abs=1.0)
    # the cost parts of those runs add up to the sweep's cost of the same cells
    parts = pd.read_csv(flex.COST_PARTS)
    for (mode, _), p in parts.groupby(["mode", "run"]):
        cell = m[(m["mode"] == mode) & (m.deadline_hours == p.deadline_hours.iloc[0])
                 & np.isclose(m.flexible_share_pct, p.flexible_share_pct.iloc[0])].iloc[0]
        assert p.cost_usd.sum() == pytest.approx(cell.cost_usd, rel=1e-6)
    assert set(parts.run) == {"case", "reference"}
    # the stepped runs pricing the moves by the stricter rule: each mode's case (its charged
    # friction the case's migration part) and its largest share at the longest deadline; kept
    # local nothing relocates, so the stricter rule charges nothing, and the market's rule
    # charges only MW above the incumbent at a class's one region, which a class that left
    # load unserved the hour before can run (its incumbent is scaled against MW served and
    # unserved, docs/model.md "Migration friction"): a few dollars in a week at most
    checks = pd.DataFrame(json.loads(flex.RUN_INFO.read_text())["migration_by_shares"])
    for mode in flex.SWEEPS:
        cell, c = flex.rising(m, mode), checks[checks["mode"] == mode]
        top = m[m["mode"] == mode]
        assert set(zip(c.flexible_share_pct, c.deadline_hours, strict=True)) == {
            (cell.flexible_share_pct, cell.deadline_hours),
            (top.flexible_share_pct.max(), top.deadline_hours.max())}
        case = c[c.deadline_hours == cell.deadline_hours].iloc[0]
        paid = parts[(parts["mode"] == mode) & (parts.run == "case")
                     & (parts.part == "migration")].cost_usd.iloc[0]
        assert case.charged_usd == pytest.approx(paid, rel=1e-6, abs=0.01)
    local = checks[checks["mode"] == "time only"]
    assert (local.by_shares_usd == 0).all()
    assert (local.charged_usd <= 1e-6 * local.cost_usd).all()


def test_rising_picks_the_largest_rise_and_means_average_replications(flex):
    """Hand-made results: two replications average, changes are against the mode's run
    without deferral, and the rule picks the deferring cell with the largest rise."""
    rows = []
    for rep, bump in ((0, 0.0), (1, 2.0)):
        for deadline, share, e in ((0, 0.0, 100.0), (4, 10.0, 103.0), (4, 20.0, 99.0),
                                   (24, 10.0, 101.0)):
            rows.append({"mode": "m", "deadline_hours": deadline, "flexible_share_pct": share,
                         "replication": rep, "seed": rep, "emissions_system_kg": e + bump,
                         "cost_usd": 10.0 * (1 + share / 100)})
    m = flex.means(pd.DataFrame(rows))
    cell = flex.rising(m, "m")
    assert (cell.deadline_hours, cell.flexible_share_pct) == (4, 10.0)
    assert cell.emissions_system_kg == 104.0 and cell.emissions_change_t == pytest.approx(3e-3)
    assert cell.emissions_system_change_pct == pytest.approx(100 * 3 / 101)  # base: 101 kg
    assert cell.cost_change_pct == pytest.approx(10.0)


@pytest.mark.parametrize("mode, deadline_h, share_pct", [("space and time", 0, 0.0),
                                                         ("time only", 1, 10.0)])
def test_stored_results_are_of_the_code_as_it_is(flex, mode, deadline_h, share_pct):
    """The digests see the sweep files and scenarios, not the code: two cheap cells of the
    stored design (no deferral with relocation; 10 % that may wait 1 h, kept local) are run
    again as the sweep runs them and must give the stored numbers (to the CSV's 6 decimals).
    A market change that moves them makes the docs stale: run ``python
    experiments/flexibility.py``."""
    from abm.sweeps.design import runs
    from abm.sweeps.runner import execute, tasks
    from abm.sweeps.spec import load_spec

    spec = load_spec(flex.SWEEPS[mode])
    run = next(r for r in runs(spec) if int(r.values[flex.DEADLINE]) == deadline_h
               and round(100 * r.values[flex.SHARE], 6) == share_pct)
    row = execute(next(tasks(spec, [run])))
    results = flex.load_results()
    stored = results[(results["mode"] == mode) & (results.deadline_hours == deadline_h)
                     & (results.flexible_share_pct.round(6) == share_pct)
                     & (results.seed == run.seed)]
    assert len(stored) == 1
    for outcome in spec.outcomes:
        assert row[outcome] == pytest.approx(float(stored[outcome].iloc[0]), rel=1e-9,
                                             abs=1e-6), (
            f"docs/flexibility.csv is stale ({outcome}): run python experiments/flexibility.py")
