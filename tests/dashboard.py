"""Helpers of the dashboard's browser and server tests: start ``abm dashboard`` on a free
loopback port, find the process serving it, stop it; what the browser tests need."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.terminal import foreground

_PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent thread ends

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 60


def need_browser() -> None:
    """Skip (locally) or fail (under CI) when solara, Playwright or Chromium is missing."""
    missing = []
    if importlib.util.find_spec("solara") is None:
        missing.append("solara (the viz extra: ./bootstrap.sh test)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("playwright (the test extra: ./bootstrap.sh test)")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (as root: apt-get install chromium chromium-driver; "
                       "./bootstrap.sh test does it)")
    if missing:
        message = "browser tests need: " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _server_child() -> None:
    """In the server's child between ``fork`` and ``exec``: SIGINT at its default
    (``foreground``), and on Linux SIGTERM when the test process ends, however it ends: a
    server in a session of its own outlives a killed pytest (a CI timeout, ``kill -9``)
    otherwise, serving on with no one to stop it."""
    foreground()
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def start(args: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    """``abm dashboard ARGS --port P`` in a session of its own, once it answers: the process
    and its address. Its stdout and stderr go to ``log``; it gets SIGTERM should the test
    process end before ``stop`` (``_server_child``)."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "abm.cli", "dashboard", *args,
                                 "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_server_child)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"abm dashboard exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return proc, url
        except (OSError, urllib.error.HTTPError):
            pass
        if time.monotonic() > deadline:
            stop(proc)
            pytest.fail(f"abm dashboard did not answer in {START_TIMEOUT_S} s:\n"
                        f"{log.read_text()}")
        time.sleep(0.25)


def stop(proc: subprocess.Popen) -> None:
    """End ``proc``'s whole session (SIGKILL if SIGTERM is not enough): what a test leaves."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def listener(proc: subprocess.Popen, port: int) -> psutil.Process:
    """The process of ``proc``'s tree that listens on ``port`` (the one serving pages)."""
    root = psutil.Process(proc.pid)
    for p in [root, *root.children(recursive=True)]:
        if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN
               for c in p.net_connections("tcp")):
            return p
    raise AssertionError(f"no process of abm dashboard (pid {proc.pid}) listens on {port}")
