"""``abm dashboard``'s server: which Host and Origin headers it accepts (by hand), and that
SIGTERM or SIGINT stops it with everything it started, leaving the port free (a real server,
driven by headless Chromium while it plays)."""

from __future__ import annotations

import signal
import subprocess
import time

import psutil
import pytest

from abm.dashboard.server import host_allowed, host_name, origin_allowed
from tests import dashboard


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


def _play_then(url: str, proc: subprocess.Popen, sig: signal.Signals) -> tuple[list, int, float]:
    """Open the page in Chromium, press Play, wait for hours to pass, then send ``sig`` to
    ``abm dashboard``: the processes it had started, its exit status, seconds to stop."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(dashboard.CHROMIUM), headless=True,
                                     args=dashboard.CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(url)
            page.click(".btn-play", timeout=dashboard.START_TIMEOUT_S * 1000)
            page.wait_for_function("() => !document.querySelector('.run-hour')"
                                   ".innerText.startsWith('hour 0 ')")
            started = psutil.Process(proc.pid).children(recursive=True)
            t0 = time.monotonic()
            proc.send_signal(sig)
            status = proc.wait(timeout=20)
            return started, status, time.monotonic() - t0
        finally:
            browser.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_its_sessions_and_children(sig, tmp_path):
    """The page is playing (a thread of its session steps the model) when the signal comes:
    the command ends within seconds, nothing it started survives, the port is free."""
    dashboard.need_browser()
    proc, url = dashboard.start([], tmp_path / "server.log")
    port = int(url.rsplit(":", 1)[1].strip("/"))
    try:
        started, status, seconds = _play_then(url, proc, sig)
    finally:
        dashboard.stop(proc)
    assert status == {signal.SIGTERM: -signal.SIGTERM, signal.SIGINT: 130}[sig]
    assert seconds < 10
    assert not [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not dashboard.port_open(port)
    if sig == signal.SIGINT:
        assert "interrupted: the dashboard stopped" in (tmp_path / "server.log").read_text()
