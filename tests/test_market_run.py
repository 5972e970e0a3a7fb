"""Running the market to files (abm.market.run): tables, summary, restart, resume, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from abm.cli import main
from abm.config.scenario import load_scenario
from abm.errors import InputError, ResultError
from abm.market import MarketModel
from abm.market.run import read_tables, run_market, summary
from tests.conftest import BATCH_TEMPLATE, CONVERSATIONAL_TEMPLATE

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Tight capacity (expansions are ordered and come on line mid-run, so a resume has scheduled
# events to carry over), noisy forecasts (the RNG state must survive a checkpoint), rent that
# moves, and per-operator detail.
RUN = """
[scenario]
name = "run"
start = 2024-01-08T00:00:00
hours = 12
seed = 5

[regions]
include = ["eu-france", "eu-sweden", "eu-frankfurt", "us-east-va"]
[regions.set.eu-france]
capacity_mw = 12.0
[regions.set.eu-sweden]
capacity_mw = 6.0
[regions.set.eu-frankfurt]
capacity_mw = 12.0
[regions.set.us-east-va]
capacity_mw = 15.0

[policy]
carbon_price_usd_per_t = 80.0

[market]
pricing = "utilisation_target"
expansion_review_hours = 3
expansion_lag_hours = 4
forecast_noise = 0.3
operator_detail = true

""" + BATCH_TEMPLATE + CONVERSATIONAL_TEMPLATE.format(state=5.0) + """
[population]
operators = 5
total_demand_mw = 50.0
classes = [1, 2]
templates = { batch = 0.6, conversational = 0.4 }
warmup_usd_per_mw = [0.0, 50.0]
forecast = { perfect = 0.3, persistence = 0.3, noisy = 0.4 }
"""

SUMMARY_KEYS = {"demand_mwh", "served_mwh", "unserved_mwh", "moved_mwh", "cost_usd"}


@pytest.fixture
def scn(write_scenario):
    return load_scenario(write_scenario(RUN))


class Interrupt:
    """A progress callback that raises KeyboardInterrupt once ``at`` steps are done."""

    def __init__(self, at: int) -> None:
        self.at, self.seen = at, []

    def __call__(self, done: int, total: int) -> None:
        self.seen.append((done, total))
        if done == self.at:
            raise KeyboardInterrupt


def test_run_writes_tables_and_summary(scn, tmp_path):
    out = tmp_path / "out"
    seen = []
    result = run_market(scn, out, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(d, 12) for d in range(13)]  # once before the first hour, then each
    summary = json.loads((out / "summary.json").read_text())
    assert summary == result
    assert SUMMARY_KEYS <= set(summary)
    assert not any(isinstance(v, dict) for v in summary.values())  # one name per quantity
    assert summary["status"] == "complete" and summary["hours"] == 12
    written = read_tables(out)
    assert set(written) == {"model", "regions", "zones", "migrations", "lines", "operators"}
    model = written["model"]
    assert len(model) == 12
    assert model.hour.tolist() == list(range(12))
    assert summary["demand_mwh"] == pytest.approx(model.demand_mwh.sum())
    assert summary["served_mwh"] + summary["unserved_mwh"] == pytest.approx(
        summary["demand_mwh"])
    assert summary["unserved_mwh"] > 0  # capacity binds in this scenario
    for key in ("average", "marginal", "system"):
        assert summary[f"emissions_{key}_kg"] == pytest.approx(
            model[f"emissions_{key}_kg"].sum())
    regions, zones = written["regions"], written["zones"]
    assert len(regions) == 12 * 4 and set(regions.region) == set(scn.region_ids)
    assert regions.hour.tolist() == sorted(regions.hour)
    assert len(zones) == 12 * len(scn.zones)
    assert set(written["migrations"].columns) == {"hour", "time_utc", "from_region", "to_region",
                                                  "mw"}
    assert len(written["operators"]) == 12 * 5
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    start = pd.Timestamp(scn.start, tz="UTC")
    for name, table in written.items():  # every hourly table: its hour's start in UTC
        assert str(table.time_utc.dtype) == "datetime64[us, UTC]", name
        assert (table.time_utc == start + pd.to_timedelta(table.hour, unit="h")).all(), name


def test_existing_run_needs_resume_or_restart(scn, tmp_path):
    out = tmp_path / "out"
    first = run_market(scn, out, hours=4)
    with pytest.raises(InputError, match="--resume"):
        run_market(scn, out, hours=4)
    again = run_market(scn, out, hours=4, restart=True)
    assert again == first
    assert len(read_tables(out, "model")["model"]) == 4
    # resuming a complete run changes nothing
    assert run_market(scn, out, hours=4, resume=True) == first


@pytest.mark.parametrize("solver", ["flow", "highs"])
def test_resume_after_interruption_matches_an_uninterrupted_run(write_scenario, tmp_path,
                                                                solver):
    """Bit for bit, with either LP solver (HiGHS's warm-start bases are part of the state)."""
    scn = load_scenario(write_scenario(RUN), overrides={"market.solver": solver})
    whole = run_market(scn, tmp_path / "whole", checkpoint_hours=3)
    out = tmp_path / "cut"
    stop = Interrupt(7)
    with pytest.raises(KeyboardInterrupt):
        run_market(scn, out, checkpoint_hours=3, progress=stop)
    assert stop.seen[-1] == (7, 12)
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "running" and manifest["hours_done"] == 6
    assert len(read_tables(out, "model")["model"]) == 6
    with pytest.raises(InputError, match="--resume"):
        run_market(scn, out)
    with pytest.raises(InputError):
        run_market(scn, out, seed=99, resume=True)
    resumed_steps = []
    resumed = run_market(scn, out, resume=True, checkpoint_hours=3,
                         progress=lambda d, t: resumed_steps.append(d))
    assert resumed_steps == list(range(6, 13))  # from the 6 hours the folder has
    assert resumed == whole
    assert json.loads((out / "summary.json").read_text()) == whole
    got, want = read_tables(out), read_tables(tmp_path / "whole")
    for name in ("model", "regions", "zones", "migrations", "operators"):
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=True)
    # capacity did expand mid-run, across the checkpoint
    regions = got["regions"]
    assert regions.groupby("region").capacity_mw.nunique().max() > 1


def test_flow_and_highs_give_every_operator_the_same_optimum(write_scenario):
    """One hour with each solver from the same state: every operator's LP objective agrees
    (placements may differ where optima tie)."""
    objectives = {}
    for solver in ("flow", "highs"):
        scn = load_scenario(write_scenario(RUN), overrides={"market.solver": solver})
        model = MarketModel(scn)
        model.step()
        ops = model.operators
        moved = np.maximum(ops.x_mw - ops.incumbent_mw, 0.0)
        objectives[solver] = ((ops.x_mw * ops.cost_usd_per_mwh).sum(axis=(1, 2))
                              + (moved * ops.planning_friction_usd_per_mw).sum(axis=(1, 2))
                              + model.inst.policy.voll_usd_per_mwh * ops.unserved_mw.sum(axis=1))
        assert ops.lp_solves > 0
    np.testing.assert_allclose(objectives["flow"], objectives["highs"], rtol=1e-9)


def test_resume_with_nothing_there_raises(scn, tmp_path):
    with pytest.raises(InputError, match="no run to resume"):
        run_market(scn, tmp_path / "empty", resume=True)


def test_resume_with_another_seed_or_horizon_raises(scn, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_market(scn, out, hours=6, progress=Interrupt(3))
    with pytest.raises(InputError, match="another scenario, seed or horizon"):
        run_market(scn, out, hours=6, seed=scn.seed + 1, resume=True)
    with pytest.raises(InputError, match="another scenario, seed or horizon"):
        run_market(scn, out, hours=8, resume=True)
    assert run_market(scn, out, hours=6, resume=True)["hours"] == 6


def test_cli_run_writes_figures(write_scenario, tmp_path, capsys):
    path = write_scenario(RUN)
    out = tmp_path / "cli"
    assert main(["run", str(path), "--hours", "6", "--out", str(out), "--quiet"]) == 0
    for fig in ("zone_load.png", "emissions.png", "shifts.png"):
        data = (out / fig).read_bytes()
        assert data.startswith(PNG_MAGIC), fig
    assert len(read_tables(out, "model")["model"]) == 6
    assert "summary.json" in capsys.readouterr().out


def test_cli_run_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--resume" in out and "--restart" in out


def test_report_of_a_run_folder_says_when_its_scenario_file_changed(write_scenario, tmp_path,
                                                                    caplog):
    from abm.report.run_report import read_run, write_report

    path = write_scenario(RUN)
    out = tmp_path / "out"
    run_market(load_scenario(path), out, hours=2)
    assert read_run(out).warning == ""
    path.write_text(RUN.replace("forecast_noise = 0.3", "forecast_noise = 0.5"))
    changed = read_run(out)
    assert "has changed since this run was made" in changed.warning
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # logged, not printed
    assert "has changed since this run was made" in caplog.records[0].getMessage()
    _, md = write_report([changed], changed, tmp_path / "r.html", budgets_ms=(10, 300))
    assert "has changed since this run was made" in md.read_text()


def test_a_non_finite_total_stops_the_run_with_an_error_naming_it(scn):
    model = MarketModel(scn, hours=3)
    for _ in range(3):
        model.step()
    table = model.datacollector.get_model_vars_dataframe().copy()
    assert np.isfinite(summary(model, "complete", table)["cost_usd"])
    table.loc[table.index[1], "cost_usd"] = np.inf
    table.loc[table.index[2], "emissions_system_kg"] = np.nan
    with pytest.raises(ResultError, match=r"after 3 h are not finite: cost_usd, "
                                          r"emissions_system_kg, cost_usd_per_mwh;"):
        summary(model, "complete", table)


def test_cli_reports_a_non_finite_result_in_one_line(write_scenario, tmp_path, capsys,
                                                     monkeypatch):
    def broken(*args, **kwargs):
        raise ResultError("the run's results after 1 h are not finite: cost_usd")

    monkeypatch.setattr("abm.market.run.summary", broken)
    status = main(["run", str(write_scenario(RUN)), "--hours", "1", "--quiet",
                   "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1
    assert err.strip().splitlines() == [
        "error: the run's results after 1 h are not finite: cost_usd"]
