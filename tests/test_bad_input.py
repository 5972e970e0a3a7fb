"""Bad input, interrupts and noise at the command line: a clear one-line error, never a traceback
(issue 12). Each case runs the real ``abm`` entry point."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from abm.cli import main
from tests.conftest import SMALL
from tests.terminal import foreground

ROOT = Path(__file__).resolve().parents[1]


def abm(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """``python -m abm.cli ARGS`` in a new process, output captured as text."""
    return subprocess.run([sys.executable, "-m", "abm.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, **kwargs)


def test_highs_banner_never_reaches_stdout(tmp_path):
    """The first HiGHS of a process prints a banner below Python; ``abm frontier`` solves LPs."""
    small = tmp_path / "small.toml"
    small.write_text(SMALL)
    proc = abm("frontier", str(small), "--budgets", "50", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "HiGHS" not in proc.stdout and "HiGHS" not in proc.stderr
    assert proc.stdout.startswith("energy-latency frontier of small")


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
    import abm.dashboard.server as server

    calls = []
    monkeypatch.setattr(server, "serve", lambda *args: calls.append(args))
    assert main(["dashboard", "--host", "0.0.0.0"]) == 0
    err = capsys.readouterr().err
    assert "--host 0.0.0.0" in err and "reachable by other machines" in err
    assert calls == [(None, "0.0.0.0", 8765, 8, frozenset())]
    assert main(["dashboard"]) == 0  # 127.0.0.1: no warning
    assert "warning" not in capsys.readouterr().err


DEFAULT = (ROOT / "abm" / "scenarios" / "default.toml").read_text()


@pytest.mark.parametrize(("old", "new", "field", "bound"), [
    ("classes = [1, 4]", "classes = [1, 1000000]", "population.classes", "<= 100"),
    ("operators = 44", "operators = 1000000000", "population.operators", "<= 100,000"),
    ("hours = 168", "hours = 9223372036854775807", "scenario.hours", "<= 87,840"),
    ("start = 2024-01-08T00:00:00", "start = 9999-12-31T23:00:00", "scenario.start",
     "before 2200-01-01"),
    ("total_demand_mw = 300.0", "total_demand_mw = 1e300", "population.total_demand_mw",
     "<= 1e+12"),
    ("demand_mw = 20.0", "demand_mw = 1.7e308", "operators[0].classes[0].demand_mw", "<= 1e+12"),
    ("demand_mw = 20.0", "demand_mw = 1.8e308", "operators[0].classes[0].demand_mw", "finite"),
    ("size_sigma = 1.0", "size_sigma = 800.0", "population.size_sigma", "<= 5"),
    ("seed = 42", "seed = 9223372036854775808", "scenario.seed", "<= 9,223,372,036,854,775,807"),
    ('id = "atlas"', 'id = "gen000"', "operators[0].id", "drawn operator"),
])
def test_values_beyond_what_the_model_computes_are_refused(write_scenario, capsys, old, new,
                                                           field, bound):
    """The values of issue 12 that passed ``abm check`` and then hung, crashed or overflowed."""
    assert old in DEFAULT
    path = write_scenario(DEFAULT.replace(old, new, 1))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: {field}: ") and bound in err, err
    assert len(err.splitlines()) == 1


def test_unreadable_scenarios_are_clear_errors(tmp_path, capsys):
    not_utf8 = tmp_path / "latin1.toml"
    not_utf8.write_bytes('[scenario]\nname = "café"\n'.encode("latin-1"))
    secret = tmp_path / "environ"
    secret.write_bytes(b"SECRET_TOKEN=abc123\0" * 5000)  # like /proc/self/environ: one long line
    for path, problem in ((not_utf8, "not UTF-8"), (tmp_path, "is a folder"),
                          (secret, "not valid TOML")):
        assert main(["check", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: ") and problem in err
    assert "SECRET" not in err


def test_errors_quote_values_briefly(write_scenario, capsys):
    long_name = "x" * 100_000
    path = write_scenario(DEFAULT.replace('name = "default"', f"name = {[long_name]}"))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "scenario.name: expected a non-empty string, got ['xxx" in err and len(err) < 300


def test_a_trace_path_never_prints_the_file(write_scenario, tmp_path, capsys):
    secret = tmp_path / "secrets.txt"
    secret.write_text("PASSWORD=hunter2," * 10_000 + "\n")
    path = write_scenario(SMALL_WITH_TRACE.format(trace=secret))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {secret}: header: unrecognised header (line 1)")
    assert "PASSWORD" not in err and "hunter2" not in err  # not even cut to 60 characters
    assert len(err) < 400


def test_trace_zones_that_match_nothing_are_named_with_their_aliases(write_scenario, tmp_path,
                                                                     capsys):
    trace = tmp_path / "em.csv"
    trace.write_text("zone,timestamp,carbon_g_per_kwh\n" + "".join(
        f"{zone},2024-01-08T0{h}:00:00,100\n" for zone in ("DE", "XX") for h in range(3)))
    path = write_scenario(SMALL_WITH_TRACE.format(trace=trace))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {trace}: zone: the zone ids of line 5 match no zone of the "
                          "scenario")  # named by line, never by the file's text
    assert "known aliases: DE is DE-LU here" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "--seed", "-1", "--out", "{tmp}/o"], "expected a seed in 0..9223372036854775807"),
    (["sweep", str(ROOT / "experiments" / "sweeps" / "quick.toml"), "--out", "{file}"],
     "cannot be a folder"),
    (["run", "--out", "{file}/sub"], "is a file"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, argv, message):
    (tmp_path / "file").write_text("")
    argv = [a.format(tmp=tmp_path, file=tmp_path / "file") for a in argv]
    proc = abm(*argv)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


SMALL_WITH_TRACE = SMALL + """
[signals]
trace = "{trace}"
"""


def test_report_on_a_name_with_a_slash_and_html(write_scenario, tmp_path):
    """The name becomes a file name of a figure (slash) and text of the Markdown twin (HTML)."""
    odd = write_scenario(SMALL.replace('name = "small"', 'name = "a/b <script>x</script>"'),
                         "odd.toml")
    out = tmp_path / "r.html"
    assert main(["report", str(odd), "--hours", "1", "--out", str(out), "--quiet",
                 "--budgets", "50"]) == 0
    md = out.with_suffix(".md").read_text()
    assert "<script>" not in md and "a/b \\<script\\>x\\</script\\>" in md  # escaped
    assert "<script>" not in out.read_text()
    assert (tmp_path / "r_figures" / "map_a-b-script-x-script.png").is_file()


def _interrupt(argv: list[str], ready: str) -> subprocess.CompletedProcess:
    """Run ``abm ARGV``, send Ctrl-C (SIGINT) once stderr matches the regular expression
    ``ready``, collect the end.

    The installed ``abm`` script, as users run it, not ``python -m abm.cli``: under ``-m``,
    CPython ends the process by SIGINT after ``sys.exit(130)`` when the Ctrl-C had ended a
    string ``exec`` on its way to the command's handler (``abm/cli/__main__.py``)."""
    script = Path(sys.executable).with_name("abm")
    assert script.is_file(), f"no installed abm command beside {sys.executable}"
    with subprocess.Popen([str(script), *argv], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, preexec_fn=foreground) as proc:
        seen = ""
        while not re.search(ready, seen):
            char = proc.stderr.read(1)
            assert char, f"abm {argv[0]} ended before {ready!r}: {seen}"
            seen += char
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, proc.returncode, out, seen + err)


@pytest.mark.parametrize(("command", "kept"), [
    ("report", "interrupted: no report was written"),
    ("run", "--resume"),
])
def test_ctrl_c_exits_130_with_one_line(tmp_path, command, kept):
    out = tmp_path / ("r.html" if command == "report" else "run")
    proc = _interrupt([command, str(ROOT / "abm" / "scenarios" / "default.toml"), "--out",
                       str(out), "--hours", "720"], r"h/s\]")
    # from the bar's first frame, drawn while numba still loads (both hold a Ctrl-C there:
    # abm/cli/interrupts.py); a month, so that the run cannot end before the signal lands
    assert proc.returncode == 130, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted: ") and kept in last and "Traceback" not in proc.stderr
    assert not out.exists() if command == "report" else out.is_dir()


def test_every_number_at_its_bound_still_gives_finite_totals(write_scenario):
    """A run never ends with a non-finite total: the default scenario with every decimal at
    ``abm.config.limits.MAX_VALUE`` (shares and spreads at their own bounds) runs with finite
    totals. (Such a world is impossible, and load_scenario refuses it: abm.config.plausibility;
    the numerics are held beyond it, read with the parser alone.)"""
    import re

    from abm.config.limits import MAX_SIZE_SIGMA, MAX_VALUE
    from abm.config.scenario import parse_scenario, resolve_file
    from abm.market.model import MarketModel
    from abm.market.reporters import STEP_VALUES

    text = re.sub(r"(?m)^(\s*[a-z_]+\s*=\s*)\d+\.\d+", rf"\g<1>{MAX_VALUE:g}", DEFAULT)
    for share in ("rent_target_utilisation", "expansion_threshold", "expansion_fraction",
                  "diurnal_amplitude", "forecast_noise"):
        text = text.replace(f"{share} = {MAX_VALUE:g}", f"{share} = 0.5")
    text = text.replace(f"size_sigma = {MAX_VALUE:g}", f"size_sigma = {MAX_SIZE_SIGMA}")
    path = write_scenario(text)
    model = MarketModel(parse_scenario(resolve_file(path), str(path)), hours=3)
    for _ in range(3):
        model.step()
    assert model.outcome["demand_mwh"] > 1e12
    assert all(np.isfinite(model.outcome[name]) for name in STEP_VALUES)


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("demand_mw = 10.0", "demand_mw = 10.0\ndeferrable_share = 1.5",
     "operators[0].classes[0].deferrable_share", "expected a number <= 1, got 1.5"),
    ("demand_mw = 10.0", "demand_mw = 10.0\ndeferrable_share = -0.1",
     "operators[0].classes[0].deferrable_share", "expected a number >= 0.0, got -0.1"),
    ("demand_mw = 10.0", "demand_mw = 10.0\ndeferrable_share = 0.3\ndeadline_hours = 4",
     "operators[0].classes[0].deadline_hours", "4 h is beyond the run (3 h); allowed: 0 to 3"),
    ("stateful = false", "stateful = false\ndeadline_hours = 48", "templates.batch.deadline_hours",
     "48 h is beyond the run (3 h); allowed: 0 to 3"),
    ("stateful = false", "stateful = false\ndeadline_hours = 1.5",
     "templates.batch.deadline_hours", "expected an integer, got 1.5"),
])
def test_deferral_settings_are_checked(write_scenario, capsys, old, new, field, message):
    """A share outside 0-1 or a deadline beyond the run: one line naming the file, the field and
    what is allowed."""
    path = write_scenario(SMALL.replace(old, new, 1))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {path}: {field}: {message}\n", err
