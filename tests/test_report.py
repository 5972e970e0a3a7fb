"""abm report: two tiny scenarios give an HTML file with embedded figures and a Markdown twin
with the headline table; a bad scenario is an InputError naming its file."""

from __future__ import annotations

import base64
import re

import pytest

from abm.cli import main
from abm.errors import InputError
from abm.report.comparison import frontier_figure
from abm.report.run_report import get_run, write_report
from tests.conftest import ATYPICAL, SMALL


@pytest.fixture
def two(write_scenario):
    base = write_scenario(SMALL, "base.toml")
    priced = write_scenario(SMALL.replace('name = "small"', 'name = "priced"').replace(
        "carbon_price_usd_per_t = 100.0", "carbon_price_usd_per_t = 400.0"), "priced.toml")
    return base, priced


def test_report_writes_html_with_embedded_figures_and_markdown(two, tmp_path, capsys):
    base, priced = two
    out = tmp_path / "r" / "report.html"
    assert main(["report", str(priced), "--baseline", str(base), "--hours", "4",
                 "--out", str(out), "--budgets", "10,50,300", "--replications", "2"]) == 0
    err = capsys.readouterr().err
    assert "abm report: priced (seed 2/2)" in err  # a bar per run
    assert "abm report: post-processing" in err and "writing" in err  # and after the runs
    text = out.read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    # headline, frontier, layers, generation, three heat maps, two maps, headroom
    assert len(images) == 10
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    for heading in ("Findings", "Headline results against the baseline",
                    "Energy-latency frontier and execution layers", "Zone changes",
                    "Where demand moved", "Set-up and levers", "Who gains and who loses",
                    "The price of decentralisation", "Grid headroom", "Data provenance"):
        assert f"<h2>{heading}</h2>" in text
    assert re.search(r"<h2>Generation in [A-Z0-9-]+</h2>", text)
    # the baseline's headroom, as abm.headroom computes it, in the CSV and the table
    import pandas as pd

    import abm

    room = pd.read_csv(out.parent / "report_figures" / "headroom.csv").fillna(
        {"relocation_zones": ""})
    expected = abm.headroom(base)
    pd.testing.assert_frame_equal(room, expected, check_dtype=False)
    assert (out.parent / "report_figures" / "headroom.png").is_file()
    assert (out.parent / "report_figures" / "generation.png").is_file()
    md = out.with_suffix(".md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| scenario | demand"))
    assert "cost per MWh of demand, unserved at VoLL ($/MWh)" in header
    row = next(line for line in md.splitlines() if line.startswith("| priced | "))
    assert "40.0 (+0.0% (+0.0 to +0.0))" in row  # demand: the same in both seeds
    assert "policy.carbon\\_price\\_usd\\_per\\_t = 400" not in md  # inside words: not escaped
    assert "policy.carbon_price_usd_per_t = 400" in md
    assert "2 seeds per scenario" in md
    at_1 = expected[(expected.share_pct == 1) & (expected.variant == "curtail")].iloc[0]
    assert f"| {at_1.zone_id} | {at_1.peak_mw:,.0f} | {at_1.headroom_mw:,.0f} |" in md
    for link in re.findall(r"\]\((report_figures/[^)]+\.png)\)", md):
        assert (out.parent / link).is_file()


def test_report_reads_a_run_folder(two, tmp_path):
    base, priced = two
    run_dir = tmp_path / "run"
    assert main(["run", str(base), "--hours", "3", "--out", str(run_dir), "--quiet"]) == 0
    from_folder = get_run(run_dir)
    in_memory = get_run(base, hours=3, quiet=True)
    assert from_folder.summary["cost_usd"] == pytest.approx(in_memory.summary["cost_usd"])
    other = get_run(priced, hours=3, quiet=True)
    html_path, md_path = write_report([from_folder, other], from_folder, tmp_path / "x.html",
                                      budgets_ms=(10, 300), zone="FR")
    # where a run came from, never as an absolute path of this machine (outside the working
    # folder: its name)
    assert "| small | run |" in md_path.read_text() and html_path.is_file()
    assert "One run per scenario with one seed" in md_path.read_text()
    assert "## Generation in FR" in md_path.read_text()
    with pytest.raises(InputError, match="share a name"):
        write_report([from_folder, in_memory], from_folder, tmp_path / "y.html")
    with pytest.raises(InputError, match=r"--zone.*unknown zone 'XX'.*FR"):
        write_report([from_folder, other], from_folder, tmp_path / "z.html", zone="XX")
    assert not (tmp_path / "y.html").exists() and not (tmp_path / "z.html").exists()


def test_bad_scenario_is_an_input_error_naming_the_file(two, write_scenario, tmp_path, capsys):
    base, _ = two
    bad = write_scenario(SMALL.replace("demand_mw = 10.0", "demand_mw = -1.0"), "bad.toml")
    with pytest.raises(InputError, match=r"bad\.toml"):
        get_run(bad, hours=3, quiet=True)
    assert main(["report", str(bad), "--baseline", str(base), "--out",
                 str(tmp_path / "r.html"), "--quiet"]) == 2
    assert "bad.toml" in capsys.readouterr().err


def test_frontier_labels_of_many_identical_scenarios_keep_the_axes():
    """Thirteen scenarios with one frontier share one long label; it is wrapped, so the axes
    keep their size (matplotlib warns, an error here, when constrained layout collapses)."""
    import io

    import pandas as pd

    front = pd.DataFrame({"budget_ms": [10.0, 300.0], "served_cost_usd": [100.0, 80.0],
                          "demand_mwh": 1.0, "unserved_mwh": 0.0, "emissions_kg": [300.0, 150.0],
                          "min_emissions_unserved_mwh": 0.0})
    fig = frontier_figure({f"a_long_scenario_name_{i}": [front, front] for i in range(13)})
    fig.savefig(io.BytesIO(), format="png")


def test_a_renamed_zone_and_a_link_in_a_name_are_reported_as_typed(write_scenario, tmp_path):
    """A scenario that renames a zone crashed the report after every run (``Unknown format
    code 'g'``); a scenario or zone name holding a Markdown link became a link in the twin."""
    from tests.test_document import markdown_html, script_links

    evil = "[x](javascript:alert(1))"
    base = write_scenario(SMALL, "base.toml")
    renamed = write_scenario(SMALL.replace('name = "small"', f'name = "{evil}"') + (
        f'\n[zones.set.FR]\nname = "{evil} grid"\n'), "renamed.toml")
    out = tmp_path / "report.html"
    assert main(["report", str(renamed), "--baseline", str(base), "--hours", "2", "--out",
                 str(out), "--quiet", "--budgets", "10,300"]) == 0
    md = out.with_suffix(".md").read_text()
    shown = markdown_html(md)
    assert script_links(shown) == []
    assert f"zones.FR.name = {evil} grid (baseline France)" in shown
    assert script_links(out.read_text()) == []


def test_arguments_are_checked_before_any_scenario_runs(two, tmp_path, monkeypatch, capsys):
    """A typo in --zone, two scenarios of one name or too many replications were found only
    after every scenario had run; now before the first."""
    import abm.report.run_report as run_report

    def no_run(*args, **kwargs):
        raise AssertionError("a scenario ran before the arguments were checked")

    monkeypatch.setattr(run_report, "simulate_scenario", no_run)
    base, priced = two
    out = str(tmp_path / "r.html")
    assert main(["report", str(priced), "--baseline", str(base), "--out", out,
                 "--zone", "XX"]) == 2
    assert "unknown zone 'XX'" in capsys.readouterr().err
    assert main(["report", str(base), str(base.with_name("copy.toml")), "--out", out]) == 2
    assert "no such scenario file or run folder" in capsys.readouterr().err
    twin = base.with_name("twin.toml")
    twin.write_text(base.read_text())
    assert main(["report", str(base), str(twin), "--out", out]) == 2
    assert "two scenarios share a name (small)" in capsys.readouterr().err
    assert main(["report", str(base), "--out", out, "--replications", "101"]) == 2
    assert "expected 1 to 100 seeds per scenario" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_caveats_follow_the_scenarios_settings(write_scenario):
    """The caveats say which grid response, VoLL and seeds these runs used, not a fixed text
    about another set-up."""
    import abm
    from abm.report.findings import caveats

    calibrated = abm.simulate(write_scenario(SMALL, "a.toml"), hours=1)
    technology = abm.simulate(write_scenario(SMALL.replace(
        "carbon_price_usd_per_t = 100.0",
        "carbon_price_usd_per_t = 100.0\nvoll_usd_per_mwh = 5000.0") + (
        '\n[market]\ngrid_response = "technology"\n'), "b.toml"), hours=1)
    first = " ".join(map(str, caveats([calibrated])))
    second = " ".join(map(str, caveats([technology])))
    assert "the 'calibrated' response" in first and "'technology'" not in first
    assert "recalibrated each hour" in first
    assert "the 'technology' response" in second and "'calibrated'" not in second
    assert "merit order of technologies" in second
    assert "10,000 $/MWh" in first and "5,000 $/MWh" in second
    # the moved-water rule, for the technology market only, each rule in words
    from abm.config.schema import MOVED_WATER_RULES
    from abm.report.findings import MOVED_WATER_CAVEATS

    assert set(MOVED_WATER_CAVEATS) == set(MOVED_WATER_RULES)
    assert "grid.moved_water" not in first
    assert "Deferrable work" not in second  # SMALL has none
    from dataclasses import replace

    waiting = replace(technology, summary={**technology.summary, "work_arrived_mwh": 10.0})
    assert ("Deferrable work in the scenario waits for the hours the model's marginal factor "
            "and price are lowest") in " ".join(map(str, caveats([waiting])))
    assert ("Reservoir water moved between hours in the scenario: counted as 'displaced_unit' "
            f"(grid.moved_water: {MOVED_WATER_CAVEATS['displaced_unit']})") in second
    assert "One run per scenario with one seed" in first
    reseeded = abm.simulate(write_scenario(SMALL, "a.toml"), hours=1, seed=7)
    both = " ".join(map(str, caveats([calibrated], {"small": [calibrated, reseeded]})))
    assert "2 seeds per scenario" in both and "One run per scenario" not in both


@ATYPICAL  # 100 GW of demand, so that most goes unserved
def test_demand_left_unserved_reads_dearer_in_every_place(write_scenario, tmp_path):
    """Demand beyond capacity leaves MWh unserved; the cost per MWh of demand counts them at
    VoLL in the run summary (the API's Run.summary), the report's headline and its findings,
    all by abm.core.metrics.cost_usd_per_mwh."""
    import abm
    from abm.core.metrics import cost_usd_per_mwh
    from abm.report.run_report import headline_numbers

    base = abm.simulate(write_scenario(SMALL, "a.toml"), hours=2)
    big = abm.simulate(write_scenario(SMALL.replace('name = "small"', 'name = "big"').replace(
        "demand_mw = 10.0", "demand_mw = 100000.0"), "b.toml"), hours=2)
    s = big.summary
    assert s["unserved_mwh"] > 1.0
    rule = cost_usd_per_mwh(s["cost_usd"], s["demand_mwh"], s["unserved_mwh"],
                            big.scenario.policy.voll_usd_per_mwh)
    assert s["cost_usd_per_mwh"] == pytest.approx(rule)
    assert s["cost_usd"] / s["demand_mwh"] < base.summary["cost_usd_per_mwh"] < rule
    table = headline_numbers([base, big], base)
    assert table.loc["big", "cost_usd_per_mwh"] == pytest.approx(rule)
    assert table.loc["big", "cost_usd_per_mwh_change_pct"] > 0
    _, md = write_report([base, big], base, tmp_path / "r.html", budgets_ms=(50, 300))
    line = next(x for x in md.read_text().splitlines() if "Largest changes in cost" in x)
    assert re.search(r"\*\*big\*\* \+\d", line)


def test_drawn_operators_are_named_from_the_scenario(write_scenario):
    """A drawn operator (gen000) is named by the strategy, demand and home the scenario's
    population gave it in this run (the model's own operators)."""
    import abm
    from abm.report.run_report import operator_names

    run = abm.simulate(write_scenario(SMALL + """
[population]
operators = 3
total_demand_mw = 30.0
size_sigma = 0.5
classes = [1, 2]
templates = { batch = 1.0 }
clients = "capacity"
footprints = { global = 1.0 }
continental_rtt_ms = 100.0
internal_carbon_price_usd_per_t = [0.0]
warmup_usd_per_mw = [100.0]
forecast = { perfect = 1.0 }
""", "p.toml"), hours=1, seed=5)
    names = operator_names(run)
    model_ops = run.market.inst.scenario.operators
    assert list(names) == [o.id for o in model_ops]
    assert names["op"] == "op"
    for o in model_ops[1:]:
        mw = sum(k.demand_mw for k in o.classes)
        assert names[o.id] == (f"{o.id} (drawn: {o.strategy}, {mw:,.1f} MW from "
                               f"{o.classes[0].client})")
