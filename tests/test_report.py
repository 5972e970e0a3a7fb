"""abm report: two tiny scenarios give an HTML file with embedded figures and a Markdown twin
with the headline table; a bad scenario is an InputError naming its file."""

from __future__ import annotations

import base64
import re

import pytest

from abm.cli import main
from abm.errors import InputError
from abm.report.run_report import frontier_figure, get_run, write_report
from tests.conftest import SMALL


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
                 "--out", str(out), "--quiet", "--budgets", "10,50,300"]) == 0
    text = out.read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) >= 5  # frontier, layers, two maps, zone changes
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    for heading in ("Set-up and assumptions", "Headline results against the baseline",
                    "Energy-latency frontier", "Execution layers", "Where demand moved",
                    "Zone prices and carbon", "Who gains and who loses",
                    "Data provenance and caveats"):
        assert heading in text
    # the busiest zone's generation by technology, one figure per scenario
    assert re.search(r"<h2>Generation in [A-Z0-9-]+</h2>", text)
    assert (out.parent / "report_figures" / "generation_priced.png").is_file()
    md = out.with_suffix(".md").read_text()
    assert "| metric | unit | small | priced |" in md and "against small" in md
    row = next(line for line in md.splitlines() if line.startswith("| demand | MWh"))
    assert "(+0.0%)" in row
    assert "policy.carbon_price_usd_per_t = 400" in md
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
    assert f"| small | {run_dir} |" in md_path.read_text() and html_path.is_file()
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
    import pandas as pd

    front = pd.DataFrame({"budget_ms": [10.0, 300.0], "cost_usd": [100.0, 80.0],
                          "demand_mwh": 1.0, "unserved_mwh": 0.0, "emissions_kg": [300.0, 150.0],
                          "min_emissions_unserved_mwh": 0.0})
    png = frontier_figure({f"a_long_scenario_name_{i}": front for i in range(13)})
    assert png.startswith(b"\x89PNG")


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
    assert f"FR name France -&gt; {evil} grid".replace("-&gt;", "->") in shown.replace(
        "-&gt;", "->")
    assert script_links(out.read_text()) == []
