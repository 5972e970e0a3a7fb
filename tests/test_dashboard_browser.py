"""The dashboard end to end in a real browser: ``abm dashboard`` on a free loopback port, driven
by headless Chromium (Debian's /usr/bin/chromium through Playwright; no browser download).

The page must load with every request outside the machine refused, a changed carbon price must
restart the run, steps and play must run, and the headline numbers and the map must change
accordingly. A screenshot is saved to ``out/test-artefacts/dashboard.png``. Without Chromium,
solara or Playwright the tests are skipped locally and fail under CI (``CI=true``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artefacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 60
WAIT_MS = 20_000


def _missing() -> list[str]:
    out = []
    if importlib.util.find_spec("solara") is None:
        out.append("solara (the viz extra: ./bootstrap.sh test)")
    if importlib.util.find_spec("playwright") is None:
        out.append("playwright (the test extra: ./bootstrap.sh test)")
    if not CHROMIUM.exists():
        out.append(f"{CHROMIUM} (as root: apt-get install chromium chromium-driver; "
                   "./bootstrap.sh test does it)")
    return out


def _log(tmp_path_factory) -> Path:
    """The file the dashboard's stdout and stderr go to."""
    return tmp_path_factory.getbasetemp() / "dashboard-server.log"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``abm dashboard`` on a free loopback port; terminated (with its server) afterwards."""
    missing = _missing()
    if missing:
        message = "browser tests need: " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = _log(tmp_path_factory)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "abm.cli", "dashboard", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"abm dashboard exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"abm dashboard did not answer in {START_TIMEOUT_S} s:\n"
                            f"{log.read_text()}")
            time.sleep(0.25)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the command and the solara server it started
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser_page(server, tmp_path_factory):
    """A Chromium page on the dashboard; requests leaving the machine are refused and listed."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def only_loopback(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1500, "height": 1650})
        try:
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            page.route("**/*", only_loopback)
            page.goto(server)
            page.wait_for_selector(".headline-cost_usd", timeout=START_TIMEOUT_S * 1000)
            yield page, outside
        finally:
            context.close()


def _hour(page) -> int:
    return int(re.match(r"hour (\d+) /", page.inner_text(".run-hour")).group(1))


def _wait_hour(page, test: str) -> None:
    """Wait until the shown hour satisfies the JavaScript expression ``test`` on ``h``."""
    page.wait_for_function(
        "test => { const e = document.querySelector('.run-hour');"
        " if (!e) return false; const h = parseInt(e.innerText.split(' ')[1]);"
        " return eval(test); }", arg=test)


def _value(page, key: str) -> float:
    text = page.inner_text(f".headline-{key} .headline-value")
    return float(re.sub(r"[^0-9.\-]", "", text))


def _step(page, times: int) -> None:
    for _ in range(times):
        start = _hour(page)
        page.click(".btn-step")
        _wait_hour(page, f"h === {start + 1}")


def test_page_loads_without_leaving_the_machine(browser_page):
    page, outside = browser_page
    assert _hour(page) == 0
    assert page.inner_text(".headline-cost_usd .headline-value") == "$0"
    assert "VoLL" in page.inner_text(".headline-cost_usd_per_mwh .headline-label")
    for control in ("scenario", "carbon-price", "residency", "budget-interactive",
                    "budget-conversational", "budget-batch", "friction", "forecast"):
        assert page.locator(f".control-{control}").count() == 1, control
    assert outside == []


def test_carbon_price_and_play_move_load_and_the_numbers(browser_page):
    page, outside = browser_page
    map_panel = page.locator(".panel").first
    _step(page, 3)
    before = {k: _value(page, k) for k in ("cost_usd", "emissions_marginal_kg")}
    map_before = map_panel.screenshot()
    assert before["cost_usd"] > 0

    # the carbon price slider: focus its thumb and jump to the maximum (500 $/t)
    page.focus(".control-carbon-price [role=slider]")
    page.keyboard.press("End")
    page.wait_for_function("() => document.querySelector('.control-carbon-price')"
                           ".innerText.includes('500 $/t')")
    _wait_hour(page, "h === 0")

    page.click(".btn-play")
    _wait_hour(page, "h >= 3")
    page.click(".btn-play")  # pause
    page.wait_for_function("() => /play/i.test(document.querySelector('.btn-play').innerText)")
    played = _hour(page)
    page.click(".btn-reset")
    _wait_hour(page, "h === 0")
    _step(page, 3)
    after = {k: _value(page, k) for k in ("cost_usd", "emissions_marginal_kg")}
    assert played >= 3
    assert after["cost_usd"] > before["cost_usd"]  # carbon is now charged
    assert after["emissions_marginal_kg"] < before["emissions_marginal_kg"]
    assert re.search(r"\+\d+\.\d% vs previous settings", page.inner_text(".headline-cost_usd"))
    assert map_panel.screenshot() != map_before
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "dashboard.png"), full_page=True)
    assert outside == []


def test_page_loads_print_nothing(browser_page, tmp_path_factory):
    """Solara's 12-line cookie warning on every connection over http never reaches the user."""
    lines = _log(tmp_path_factory).read_text().splitlines()
    assert not [line for line in lines if "samesite" in line.lower() or "Warning" in line]
    assert lines[0].startswith("abm dashboard: serving on http://127.0.0.1:")
