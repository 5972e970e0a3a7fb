"""One rule names a scenario everywhere (abm.config.resolve.scenario_file): a file wins, else a
shipped scenario's name, else one line naming the argument and listing the shipped names. Every
command that takes a scenario runs a shipped one by name, refuses a wrong name in that line
(exit 2, nothing written), and records the resolved file of the scenario it ran."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import abm
from abm.cli import main
from abm.config.resolve import SCENARIO_DIR, read_toml, scenario_file, shipped_scenarios
from abm.market.progress import RunProgress
from abm.market.run import scenario_of_run
from abm.sweeps.audit import AUDIT
from abm.sweeps.results import read_manifest
from abm.sweeps.spec import parse_spec
from tests.conftest import SMALL

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ", ".join(shipped_scenarios())


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """A working folder with no file named like a shipped scenario."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_shipped_names_are_the_files_of_abm_scenarios():
    assert {"default", "scale"} <= set(shipped_scenarios())
    assert scenario_file(None) == SCENARIO_DIR / "default.toml"


def test_check_and_headroom_name_a_shipped_scenario(elsewhere, capsys):
    assert main(["check", "scale"]) == 0
    out = capsys.readouterr().out
    assert f"scenario   scale  ({SCENARIO_DIR / 'scale.toml'})" in out
    assert "levers set by scale.toml" in out  # abm check's levers read the named file too
    assert main(["headroom", "default", "--shares", "1", "--rtt-ms", "50", "--defer-h", "4",
                 "--quiet"]) == 0
    assert "headroom of default's" in capsys.readouterr().out


def test_frontier_names_a_shipped_scenario(elsewhere, capsys):
    assert main(["frontier", "default", "--budgets", "50", "--out", "f"]) == 0
    assert capsys.readouterr().out.startswith("energy-latency frontier of default")
    assert (elsewhere / "f" / "frontier.csv").is_file()


def test_run_names_a_shipped_scenario_and_records_its_file(elsewhere, capsys):
    assert main(["run", "scale", "--hours", "2", "--out", "r", "--quiet"]) == 0
    manifest = json.loads((elsewhere / "r" / "run.json").read_text())
    assert (manifest["scenario"], manifest["hours"]) == ("scale", 2)
    assert manifest["scenario_source"] == str(SCENARIO_DIR / "scale.toml")


def test_report_names_shipped_scenarios_and_reads_folders(elsewhere, capsys):
    assert main(["report", "default", "--hours", "2", "--replications", "1", "--budgets", "50",
                 "--out", "rep/r.html", "--quiet"]) == 0
    assert "default (shipped)" in (elsewhere / "rep" / "r.md").read_text()  # never a path here


def test_audit_names_a_shipped_scenario_and_records_its_file(elsewhere, capsys):
    assert main(["audit", "default", "--hours", "1", "--only", "fuel price: natural_gas",
                 "--workers", "1", "--quiet", "--out", "a"]) == 0
    manifest = read_manifest(elsewhere / "a", AUDIT)
    assert manifest["scenario_file"] == str(SCENARIO_DIR / "default.toml")


def test_dashboard_names_a_shipped_scenario(elsewhere, monkeypatch, capsys):
    pytest.importorskip("solara")
    import abm.dashboard.server as server

    calls = []
    monkeypatch.setattr(server, "serve", lambda *args: calls.append(args))
    assert main(["dashboard", "scale"]) == 0
    assert calls[0][0] == str(SCENARIO_DIR / "scale.toml")


@pytest.mark.parametrize(("argv", "argument", "what"), [
    (["check", "scal"], "scenario", "scenario file"),
    (["frontier", "scal", "--out", "out"], "scenario", "scenario file"),
    (["run", "scal", "--hours", "2", "--out", "out"], "scenario", "scenario file"),
    (["headroom", "scal", "--out", "out"], "scenario", "scenario file"),
    (["report", "default", "scal", "--out", "out/r.html"], "scenario",
     "scenario file or run folder"),
    (["report", "default", "--baseline", "scal", "--out", "out/r.html"], "--baseline",
     "scenario file or run folder"),
    (["audit", "scal", "--out", "out"], "scenario", "scenario file or run folder"),
    (["dashboard", "scal"], "scenario", "scenario file or run folder"),
], ids=["check", "frontier", "run", "headroom", "report", "report-baseline", "audit",
        "dashboard"])
def test_a_wrong_name_is_one_line_listing_the_shipped_names(elsewhere, monkeypatch, capsys,
                                                            argv, argument, what):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())  # dashboard
    assert main(argv) == 2
    assert capsys.readouterr().err == (f"error: {argument} 'scal': no such {what}, and no "
                                       f"shipped scenario of that name (shipped: {SHIPPED})\n")
    assert not (elsewhere / "out").exists()


def test_a_file_named_like_a_shipped_scenario_wins_and_a_folder_does_not(elsewhere, capsys):
    (elsewhere / "scale").write_text(SMALL)
    assert main(["check", "scale"]) == 0
    assert f"scenario   small  ({elsewhere / 'scale'})" in capsys.readouterr().out
    assert abm.load_scenario("scale").name == "small"  # the API's rule is the same one
    (elsewhere / "default").mkdir()  # say, the output folder of `abm run default`
    assert abm.load_scenario("default").source == str(SCENARIO_DIR / "default.toml")
    assert main(["check", str(elsewhere / "default")]) == 2  # named as a path: refused
    assert "is a folder" in capsys.readouterr().err


def test_extends_and_sweep_files_follow_the_same_rule(tmp_path):
    (tmp_path / "default").write_text(SMALL)  # beside the naming file: it wins
    (tmp_path / "child.toml").write_text('extends = "default"\n')
    assert abm.load_scenario(tmp_path / "child.toml").name == "small"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.toml").write_text('extends = "default"\n')
    assert abm.load_scenario(tmp_path / "sub" / "child.toml").name == "default"
    sweep = read_toml(ROOT / "experiments" / "sweeps" / "quick.toml")
    sweep["sweep"]["scenario"] = "default"
    assert parse_spec(sweep, "s.toml", tmp_path).scenario == str(tmp_path / "default")
    assert parse_spec(sweep, "s.toml", tmp_path / "sub").scenario == str(
        SCENARIO_DIR / "default.toml")


def stop_after_hour_1(monkeypatch) -> None:
    """Make a run stop by Ctrl-C once its hour 1 is done (its checkpoint written): its
    progress bar raises it."""
    call = RunProgress.__call__

    def stop(self, done, total):
        call(self, done, total)
        if done == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunProgress, "__call__", stop)


def test_a_run_records_its_resolved_file_and_resumes_from_another_folder(tmp_path, monkeypatch,
                                                                          capsys):
    first, other = tmp_path / "first", tmp_path / "other"
    first.mkdir()
    other.mkdir()
    (first / "small.toml").write_text(SMALL)  # 3 hours
    monkeypatch.chdir(first)
    stop_after_hour_1(monkeypatch)
    assert main(["run", "small.toml", "--out", "out", "--checkpoint-hours", "1", "--quiet"]) == 130
    manifest = json.loads((first / "out" / "run.json").read_text())
    assert (manifest["status"], manifest["hours_done"]) == ("running", 1)
    assert manifest["scenario_source"] == str((first / "small.toml").resolve())
    monkeypatch.undo()
    monkeypatch.chdir(other)
    assert main(["run", "../first/small.toml", "--out", "../first/out", "--resume",
                 "--checkpoint-hours", "1", "--quiet"]) == 0
    manifest = json.loads((first / "out" / "run.json").read_text())
    assert (manifest["status"], manifest["hours_done"]) == ("complete", 3)
    assert manifest["scenario_source"] == str((first / "small.toml").resolve())
    monkeypatch.chdir(tmp_path)
    scn, _, same = scenario_of_run(first / "out")  # read back from a third folder
    assert (scn.name, same) == ("small", True)
    capsys.readouterr()


def test_resume_without_a_scenario_carries_on_the_run_in_the_folder(tmp_path, monkeypatch,
                                                                     capsys):
    """``abm run --out DIR --resume`` with no SCENARIO carries on the run DIR holds, with the
    scenario file, hours and seed it was started with (not the default scenario's)."""
    (tmp_path / "small.toml").write_text(SMALL)  # 3 hours
    monkeypatch.chdir(tmp_path)
    stop_after_hour_1(monkeypatch)
    assert main(["run", "small.toml", "--hours", "2", "--seed", "7", "--out", "out",
                 "--checkpoint-hours", "1", "--quiet"]) == 130
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path / "out")  # anywhere: the folder names the run
    assert main(["run", "--out", ".", "--resume", "--checkpoint-hours", "1", "--quiet"]) == 0
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert (manifest["status"], manifest["hours_done"], manifest["hours"], manifest["seed"],
            manifest["scenario"]) == ("complete", 2, 2, 7, "small")
    # given hours that are not the run's: the run's identity does not match, one line
    capsys.readouterr()
    assert main(["run", "--out", ".", "--resume", "--hours", "3", "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
