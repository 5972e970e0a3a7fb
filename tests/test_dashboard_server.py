"""``abm dashboard``'s server: which Host and Origin headers it accepts (by hand); that SIGINT
or SIGTERM stops it with everything it started, leaving the port free; and that it opens an
``abm run`` folder read-only (a real server, driven by headless Chromium)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from abm.dashboard.server import host_allowed, host_name, origin_allowed
from tests import dashboard

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:8765", "127.0.0.1"), ("LocalHost:80", "localhost"), ("[::1]:8765", "::1"),
    ("[::1]", "::1"), ("::1", "::1"), ("example.org", "example.org"), ("", "")])
def test_host_name_of_a_host_header(header, name):
    assert host_name(header) == name


@pytest.mark.parametrize(("name", "bound", "extra", "ok"), [
    ("127.0.0.1", "127.0.0.1", (), True),
    ("localhost", "127.0.0.1", (), True),  # any loopback name reaches a loopback server
    ("::1", "localhost", (), True),
    ("evil.example", "127.0.0.1", (), False),  # DNS rebinding: a name of the attacker's
    ("localhost.evil.example", "127.0.0.1", (), False),
    ("", "127.0.0.1", (), False),  # no Host header
    ("10.0.0.5", "10.0.0.5", (), True),
    ("localhost", "10.0.0.5", (), False),  # bound to one address: only that one
    ("10.0.0.6", "10.0.0.5", (), False),
    ("192.168.1.20", "0.0.0.0", (), True),  # every interface: any address, no other name
    ("fe80::1", "::", (), True),
    ("localhost", "0.0.0.0", (), True),
    ("myhost.lan", "0.0.0.0", (), False),
    ("myhost.lan", "0.0.0.0", ("myhost.lan",), True),  # --allow-host
    ("myhost.lan", "127.0.0.1", ("myhost.lan",), True),
])
def test_host_is_checked_against_the_bound_address(name, bound, extra, ok):
    assert host_allowed(name, bound, frozenset(extra)) is ok


@pytest.mark.parametrize(("origin", "ok"), [
    (None, True),  # not a browser
    ("http://127.0.0.1:8765", True),
    ("https://127.0.0.1:8765", True),
    ("http://127.0.0.1:9999", False),  # another port of this machine is another origin
    ("http://localhost:8765", False),  # same machine, but not the host the page was loaded as
    ("http://evil.example", False),
    ("null", False),  # a sandboxed frame or a file
    ("ws://127.0.0.1:8765", False),
])
def test_origin_must_be_the_page_of_this_host(origin, ok):
    assert origin_allowed(origin, "127.0.0.1:8765") is ok


@pytest.fixture
def browser():
    """Headless Chromium (Playwright); closed afterwards."""
    dashboard.need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(dashboard.CHROMIUM), headless=True,
                                      args=dashboard.CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _stop(proc: subprocess.Popen, sig: signal.Signals) -> tuple[list, int, float]:
    """Send ``sig`` to ``abm dashboard``: the processes it had started, its exit status and the
    seconds it took to stop."""
    started = psutil.Process(proc.pid).children(recursive=True)
    t0 = time.monotonic()
    proc.send_signal(sig)
    status = proc.wait(timeout=20)
    return started, status, time.monotonic() - t0


def _assert_all_gone(started: list, seconds: float, port: int) -> None:
    assert seconds < 10
    assert not [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not dashboard.port_open(port)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].strip("/"))


def test_sigint_stops_a_playing_page_its_session_and_thread(browser, tmp_path):
    """Ctrl+C while a page plays (a thread of its session steps the model): the command ends
    within seconds with status 130 and its message, nothing survives, the port is free."""
    proc, url = dashboard.start([], tmp_path / "server.log")
    try:
        page = browser.new_page()
        page.set_default_timeout(30_000)
        page.goto(url)
        page.click(".btn-play", timeout=dashboard.START_TIMEOUT_S * 1000)
        page.wait_for_function("() => !document.querySelector('.run-hour')"
                               ".innerText.startsWith('hour 0 ')")
        started, status, seconds = _stop(proc, signal.SIGINT)
    finally:
        dashboard.stop(proc)
    assert status == 130
    _assert_all_gone(started, seconds, _port(url))
    assert "interrupted: the dashboard stopped" in (tmp_path / "server.log").read_text()


def test_a_run_folder_opens_read_only_and_sigterm_stops_it(browser, default_run, tmp_path):
    """``abm dashboard RUN_DIR`` shows the run's last hour, any hour on the slider, nothing to
    run; SIGTERM then stops it: no process it started survives, the port is free (before, the
    Solara child it started went on serving)."""
    proc, url = dashboard.start([str(default_run)], tmp_path / "server.log")
    try:
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.set_default_timeout(30_000)
        page.goto(url)
        page.wait_for_selector(".headline-cost_usd", timeout=dashboard.START_TIMEOUT_S * 1000)
        assert page.inner_text(".run-folder") == f"Run folder {default_run.resolve()}"
        assert page.inner_text(".run-hour").startswith("hour 5 / 5 · 2024-01-08 05:00 UTC")
        end_cost = page.inner_text(".headline-cost_usd .headline-value")
        assert page.locator(".btn-step, .btn-play, .control-carbon-price").count() == 0
        assert page.locator(".panel img").count() == 6  # with the backlog and events panel
        page.focus(".control-hour [role=slider]")
        page.keyboard.press("Home")
        page.wait_for_function("() => document.querySelector('.run-hour')"
                               ".innerText.startsWith('hour 1 / 5')")
        assert page.inner_text(".headline-cost_usd .headline-value") != end_cost
        started, status, seconds = _stop(proc, signal.SIGTERM)
    finally:
        dashboard.stop(proc)
    assert status == -signal.SIGTERM
    _assert_all_gone(started, seconds, _port(url))


_STARTS_A_SERVER = """
import sys, time
from pathlib import Path
from tests import dashboard
proc, url = dashboard.start([], Path(sys.argv[1]))
print(proc.pid, url, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_server_the_tests_started_ends_when_the_test_process_is_killed(tmp_path):
    """A test process killed outright (a CI timeout, ``kill -9``: no fixture's ``stop`` runs)
    takes the dashboard it started with it (``tests/dashboard.py``, ``_server_child``): the
    server runs in a session of its own, so it served on with no parent before."""
    dashboard.need_browser()  # solara, as every server test
    server = None
    with subprocess.Popen([sys.executable, "-c", _STARTS_A_SERVER,
                           str(tmp_path / "server.log")], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True) as tester:
        try:
            line = tester.stdout.readline()
            assert line, f"the test process started no server (status {tester.wait(30)})"
            pid, url = line.split()
            server = psutil.Process(int(pid))
            tester.kill()
            tester.wait(timeout=10)
            gone, alive = psutil.wait_procs([server], timeout=15)
            assert gone and not alive
            assert not dashboard.port_open(_port(url))
        finally:
            tester.kill()
            if server is not None and server.is_running():
                server.kill()
