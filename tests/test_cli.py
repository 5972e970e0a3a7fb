"""The ``abm`` command line: check, frontier, help and input errors."""

from __future__ import annotations

import pandas as pd
import pytest

from abm.cli import build_parser, main
from tests.conftest import SMALL

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_check_default_scenario_prints_ok(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().splitlines()[-1] == "ok"
    assert "scenario   default" in out
    assert "rid" in out


def test_check_a_scenario_file(write_scenario, capsys):
    assert main(["check", str(write_scenario(SMALL))]) == 0
    out = capsys.readouterr().out
    assert "small" in out
    assert out.rstrip().endswith("ok")


ADDED_REGION_AND_PAIRS = """
[[regions.add]]
id = "eu-lyon"
name = "Lyon"
lat = 45.76
lon = 4.84
zone = "FR"
jurisdiction = "EU"
pue = 1.2
egress_usd_per_gb = 0.05
capacity_mw = 50.0

[latency]
missing = "distance"

[[latency.pairs]]
src = "eu-france"
dst = "eu-sweden"
rtt_ms = 30.0

[[latency.pairs]]
src = "eu-frankfurt"
dst = "us-east-va"
rtt_ms = 90.0
measured = true

[policy]"""


def test_check_says_where_each_rtt_comes_from(write_scenario, capsys):
    """Of the 10 pairs of 5 regions: the shipped measured ones (all 6 among the 4 shipped
    regions), one of which the scenario gives again as an estimate (no longer measured) and one
    as measured; the 4 pairs of an added region, which only the distance model can fill. A
    pair the scenario gives is never called the distance model's."""
    assert main(["check", str(write_scenario(SMALL))]) == 0
    assert "latency    6 pairs: 6 measured, 0 estimated by the distance model\n" in (
        capsys.readouterr().out)
    added = SMALL.replace("\n[policy]", ADDED_REGION_AND_PAIRS, 1)
    assert main(["check", str(write_scenario(added))]) == 0
    assert ("latency    10 pairs: 5 measured, 1 given by the scenario as estimates, 4 estimated "
            "by the distance model\n") in capsys.readouterr().out


def test_frontier_writes_csv_and_png(tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert main(["frontier", "--out", str(out_dir), "--budgets", "10,50,300"]) == 0
    df = pd.read_csv(out_dir / "frontier.csv")
    assert {"budget_ms", "cost_usd", "emissions_kg", "rid"} <= set(df.columns)
    assert len(df) == 3
    assert df.budget_ms.tolist() == [10.0, 50.0, 300.0]
    png = (out_dir / "frontier.png").read_bytes()
    assert len(png) > len(PNG_MAGIC)
    assert png.startswith(PNG_MAGIC)
    printed = capsys.readouterr().out
    assert "frontier.csv" in printed and "with frictions" in printed


def test_frontier_options_hour_and_no_frictions(write_scenario, tmp_path, capsys):
    path = write_scenario(SMALL)
    assert main(["frontier", str(path), "--out", str(tmp_path), "--budgets", "300,10",
                 "--hour", "1", "--no-frictions"]) == 0
    df = pd.read_csv(tmp_path / "frontier.csv")
    assert df.budget_ms.tolist() == [10.0, 300.0]
    assert (df.migration_usd == 0).all()
    out = capsys.readouterr().out
    assert "hour 1" in out and "no frictions" in out


def test_frontier_hour_uses_that_hours_demand(tmp_path):
    """``--hour 14`` of the default scenario places hour 14's demand (diurnal), not the mean."""
    from abm.config.scenario import load_scenario
    from abm.core.frontier import at_hour
    from abm.core.instance import compile_scenario

    assert main(["frontier", "--out", str(tmp_path), "--budgets", "50", "--hour", "14"]) == 0
    df = pd.read_csv(tmp_path / "frontier.csv")
    scn = load_scenario()
    inst = compile_scenario(scn)
    hour_inst, _ = at_hour(scn, inst, 14)
    assert df.demand_mwh.iloc[0] == pytest.approx(hour_inst.demand_mw.sum(), rel=1e-9)
    assert df.demand_mwh.iloc[0] > 1.01 * inst.demand_mw.sum()


def test_frontier_duplicate_budgets_are_merged(tmp_path):
    assert main(["frontier", "--out", str(tmp_path), "--budgets", "50, 10,50"]) == 0
    assert pd.read_csv(tmp_path / "frontier.csv").budget_ms.tolist() == [10.0, 50.0]


@pytest.mark.parametrize(("command", "options"), [
    ([], ["check", "frontier"]),
    (["check"], ["scenario"]),
    (["frontier"], ["--budgets", "--out", "--hour", "--no-frictions", "scenario"]),
])
def test_help_exits_zero_and_mentions_options(capsys, command, options):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in options:
        assert option in out


def test_version_is_the_installed_package_s(capsys):
    """``abm --version`` prints the version the installed distribution declares (pyproject.toml),
    which is ``abm.__version__``."""
    from importlib.metadata import version

    import abm

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"abm {version('geoinference-abm')}\n"
    assert abm.__version__ == version("geoinference-abm")


def test_the_package_is_typed():
    """``abm/py.typed`` exists and ships as package data (PEP 561), so mypy reads abm's
    annotations in users' code."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "py.typed" in setuptools["package-data"]["abm"]
    assert (root / "abm" / "py.typed").is_file()


@pytest.mark.parametrize("budgets", ["10,abc", "-5", "0", "10,-5", "", "nan", "inf"])
def test_bad_budgets_exit_2(tmp_path, capsys, budgets):
    with pytest.raises(SystemExit) as exc:
        main(["frontier", "--out", str(tmp_path), f"--budgets={budgets}"])
    assert exc.value.code == 2
    assert "budgets" in capsys.readouterr().err


@pytest.mark.parametrize("budgets", ["10,abc", "-5"])
def test_bad_budgets_as_separate_argument_exit_2(tmp_path, budgets):
    with pytest.raises(SystemExit) as exc:
        main(["frontier", "--out", str(tmp_path), "--budgets", budgets])
    assert exc.value.code == 2


def test_missing_out_and_unknown_command_exit_2():
    with pytest.raises(SystemExit) as exc:
        main(["frontier"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["nope"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


@pytest.mark.parametrize("command", ["check", "frontier"])
def test_missing_scenario_file_is_an_error(tmp_path, capsys, command):
    args = [command, str(tmp_path / "missing.toml")]
    if command == "frontier":
        args += ["--out", str(tmp_path / "out")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:")
    assert "missing.toml" in err
    assert not (tmp_path / "out").exists()


def test_invalid_scenario_content_is_an_error(write_scenario, capsys):
    path = write_scenario(SMALL.replace("hours = 3", "hours = 3\nbogus = 1"))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "bogus" in err


def test_not_toml_is_an_error(write_scenario, capsys):
    assert main(["check", str(write_scenario("this is = = not toml"))]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_hour_out_of_range_is_an_error(write_scenario, tmp_path, capsys):
    path = write_scenario(SMALL)  # 3 hours
    assert main(["frontier", str(path), "--out", str(tmp_path), "--hour", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "hour" in err


def test_parser_defaults():
    args = build_parser().parse_args(["frontier", "--out", "x"])
    assert args.budgets is None  # the handler uses abm.core.frontier.DEFAULT_BUDGETS_MS
    assert args.hour is None and not args.no_frictions and args.scenario is None


def test_negative_hour_is_an_error(write_scenario, tmp_path, capsys):
    assert main(["frontier", str(write_scenario(SMALL)), "--out", str(tmp_path),
                 "--hour", "-1"]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_out_that_is_a_file_is_an_error(write_scenario, tmp_path, capsys):
    not_a_dir = tmp_path / "taken"
    not_a_dir.write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["frontier", str(write_scenario(SMALL)), "--out", str(not_a_dir), "--budgets", "10"])
    assert exc.value.code == 2
    assert "argument --out: " in capsys.readouterr().err
