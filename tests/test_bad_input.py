"""Bad input, interrupts and noise at the command line: a clear one-line error, never a traceback
(issue 12). Each case runs the real ``abm`` entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from abm.cli import main

ROOT = Path(__file__).resolve().parents[1]


def abm(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """``python -m abm.cli ARGS`` in a new process, output captured as text."""
    return subprocess.run([sys.executable, "-m", "abm.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, **kwargs)


def test_highs_banner_never_reaches_stdout(tmp_path):
    """The first HiGHS of a process prints a banner below Python; ``abm frontier`` solves LPs."""
    proc = abm("frontier", "--budgets", "50", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "HiGHS" not in proc.stdout and "HiGHS" not in proc.stderr
    assert proc.stdout.startswith("energy-latency frontier of default")


def test_broken_pipe_is_no_traceback():
    """``abm check | true``: the reader has gone before the command writes."""
    with subprocess.Popen([sys.executable, "-m", "abm.cli", "check"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=ROOT) as proc:
        proc.stdout.close()
        err = proc.stderr.read().decode()
    assert proc.returncode == 1
    assert "Traceback" not in err


def test_dashboard_on_another_host_warns_it_is_reachable(monkeypatch, capsys):
    pytest.importorskip("solara")
    import abm.dashboard.cli as dashboard

    calls = []
    monkeypatch.setattr(dashboard.subprocess, "call", lambda cmd, env: calls.append(env) or 0)
    assert main(["dashboard", "--host", "0.0.0.0"]) == 0
    err = capsys.readouterr().err
    assert "--host 0.0.0.0" in err and "reachable by other machines" in err
    assert "samesite" in calls[0]["PYTHONWARNINGS"].lower()
    assert main(["dashboard"]) == 0  # 127.0.0.1: no warning
    assert "warning" not in capsys.readouterr().err
