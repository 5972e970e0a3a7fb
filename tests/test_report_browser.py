"""The policy report of the shipped scenarios on a laptop: rendered by headless Chromium
(Debian's /usr/bin/chromium through Playwright) 1,280 px wide, no table is wider than its
column and the page, its details folded, is under a third of the length per scenario it
measured before (issue 21: 27,948 px for the 13 scenarios of then; each shipped scenario adds a
row to the tables and a bar to the figures, so the bound grows with the set). Short runs keep
it cheap (3 hours, two seeds, two latency budgets); the scenario set, names, levers and sections
are the real ones. A screenshot goes to
``out/test-artefacts/report.png``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from abm.cli import main
from tests.dashboard import CHROMIUM, CHROMIUM_ARGS
from tests.test_dashboard_browser import ARTEFACTS

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "experiments" / "scenarios").glob("*.toml"))
WIDTH_PX = 1280
BEFORE_PX = 27_948  # the report's length at 1,280 px before (issue 21) ...
BEFORE_SCENARIOS = 13  # ... of this many scenario files


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    missing = [m for m, ok in (("playwright (./bootstrap.sh test)",
                                importlib.util.find_spec("playwright") is not None),
                               (f"{CHROMIUM}", CHROMIUM.exists())) if not ok]
    if missing:
        message = "the report's browser test needs: " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("policy") / "policy.html"
    assert main(["report", *map(str, SCENARIOS), "--baseline",
                 str(ROOT / "experiments" / "scenarios" / "baseline.toml"), "--hours", "3",
                 "--replications", "2", "--budgets", "50,300", "--quiet",
                 "--out", str(out)]) == 0
    return out


def test_policy_report_fits_a_laptop(report):
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def only_the_file(route):
        if route.request.url.startswith(("file://", "data:")):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH_PX, "height": 900})
            page.route("**/*", only_the_file)
            page.goto(report.as_uri())
            folded_px = page.evaluate("document.documentElement.scrollHeight")
            assert folded_px < BEFORE_PX / BEFORE_SCENARIOS * len(SCENARIOS) / 3, folded_px
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            tables = page.evaluate("""() => [...document.querySelectorAll('table')].map(t => ({
                first: t.rows[0].cells[0].innerText,
                width: t.getBoundingClientRect().width,
                scroll: t.parentElement.scrollWidth,
                column: document.body.clientWidth
                    - parseFloat(getComputedStyle(document.body).paddingLeft)
                    - parseFloat(getComputedStyle(document.body).paddingRight)}))""")
            # set-up, two headline, two folded headline, two per extended scenario,
            # decentralisation, two grid, gains
            assert len(tables) >= 12
            for t in tables:
                assert t["width"] <= t["column"] + 0.5, t
                assert t["scroll"] <= t["column"] + 0.5, t
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH_PX
            images = page.evaluate("""() => [...document.querySelectorAll('img')].map(
                i => [i.getBoundingClientRect().width, i.naturalWidth])""")
            assert images and all(0 < shown <= 1180.5 and natural > 0
                                  for shown, natural in images)
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = false)")
            page.screenshot(path=str(ARTEFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert outside == []
