"""A Ctrl-C while a command loads still stops it (abm/cli/interrupts.py): in a subprocess, the
signal is sent the way CPython loses it (inside a weakref callback, as importlib's module-lock
callback runs, where an exception is "ignored") at the import of a library of each command's
load; and the hold itself, in this process, with real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import pytest

from abm.cli.interrupts import InterruptHold
from tests.terminal import foreground

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = str(ROOT / "abm" / "scenarios" / "default.toml")

# imported by the child's site module (PYTHONPATH): at the first import of $SIGINT_AT_IMPORT, a
# weakref callback sends the process SIGINT, so that CPython's handler runs inside the callback
LOSE_A_CTRL_C = '''
import os, signal, sys, weakref

AT = os.environ["SIGINT_AT_IMPORT"]


class _Lock:
    pass


def _sigint(ref):
    sys.stderr.write(f"test: SIGINT at the import of {AT}\\n")
    os.kill(os.getpid(), signal.SIGINT)


def _hook(event, args, fired=[]):
    if event == "import" and args[0] == AT and not fired:
        fired.append(True)
        lock = _Lock()
        ref = weakref.ref(lock, _sigint)
        del lock  # the callback runs here


sys.addaudithook(_hook)
'''

# each command (OUT: its output), where a Ctrl-C lands as it loads, and how its line starts and
# ends (abm run's says where its checkpoint is, or, after the run, the command's own line):
# abm run at the first module it loads, in the first hour as numba loads the compiled code from
# its cache (the last of the load), and after the run as the figures' library loads; abm report
# as its modules load and in its first run's first hour; abm frontier as its modules load and
# in its first budget's placement (numba's cache); the others as their modules load (the
# sweep's and the audit's up to numba, imported for the bar; the folder they would read need
# not exist: the Ctrl-C stops them first; a serial sweep in its first run's first hour too, as
# numba loads the compiled code from its cache); any command as the parser loads the
# subcommands' modules (abm check's first)
COMMANDS = {
    "run": (["run", DEFAULT, "--hours", "2", "--quiet", "--out", "OUT"],
            ("abm.config.scenario", "numba.np.arrayobj", "matplotlib"),
            ("the steps up to the last checkpoint ", "; carry on with --resume")),
    "report": (["report", DEFAULT, "--hours", "2", "--replications", "1", "--budgets", "50",
                "--quiet", "--out", "OUT/r.html"],
               ("abm.report.run_report", "numba.np.arrayobj"),
               ("no report was written (it is written only when complete); run the command "
                "again", "")),
    "headroom": (["headroom", "--quiet", "--out", "OUT"], ("abm.api",),
                 ("headroom.csv and the figures are written only when complete; run the "
                  "command again", "")),
    "sweep": (["sweep", str(ROOT / "experiments" / "sweeps" / "quick.toml"), "--workers", "1",
               "--quiet", "--out", "OUT"], ("numba", "numba.np.arrayobj"),
              ("finished runs are ", "; carry on with --resume")),
    "audit": (["audit", "--hours", "2", "--only", "fuel price", "--workers", "1", "--quiet",
               "--out", "OUT"], ("abm.sweeps.audit",),
              ("finished runs are kept in the audit folder; carry on with --resume", "")),
    "check": (["check", DEFAULT], ("abm.cli.headroom", "abm.core.masks"),
              ("nothing was written; run the command again", "")),
    "frontier": (["frontier", DEFAULT, "--budgets", "50,100", "--out", "OUT"],
                 ("abm.core.frontier", "numba.np.arrayobj"),
                 ("frontier.csv and frontier.png are written only when complete; run the "
                  "command again", "")),
    "sweep report": (["sweep", "report", "OUT"], ("abm.report.sweep_report",),
                     ("the report is written only when complete; run the command again", "")),
    "export pypsa": (["export", "pypsa", "OUT", "--out", "OUT/net.nc"], ("pypsa",),
                     ("the network file is written whole or not at all", "run the command again")),
    "dashboard": (["dashboard", "--port", "8799"], ("abm.dashboard.server",),
                  ("the dashboard stopped; it keeps nothing", "")),
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> None:
    """A run's compiled code in numba's cache, as on a machine that has run once: a first run
    that compiles lets a Ctrl-C through while it does (abm/cli/interrupts.py), so CPython
    would print the landing at numba's import as ignored (the run still stops, at the end of
    its first hour), and the landings below are of a run that loads its code."""
    out = tmp_path_factory.mktemp("compiled")
    subprocess.run([str(Path(sys.executable).with_name("abm")), "run", DEFAULT, "--hours", "1",
                    "--quiet", "--out", str(out)], cwd=ROOT, check=True, capture_output=True)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_ctrl_c_lost_by_cpython_while_a_command_loads_still_stops_it(tmp_path, command,
                                                                        compiled):
    """Without the hold, each of these commands ends 0 after CPython prints "Exception ignored
    in" the callback: the Ctrl-C is lost. With it, each stops with its one line and 130. (A
    command's landings run side by side: about 1-3 s of CPU each, most of it the imports.)"""
    argv, landings, (start, end) = COMMANDS[command]
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(LOSE_A_CTRL_C)
    script = Path(sys.executable).with_name("abm")  # as users run it (tests/test_bad_input.py)
    runs = {module: subprocess.Popen(
        [str(script), *[a.replace("OUT", str(tmp_path / module)) for a in argv]], cwd=ROOT,
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=foreground,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "hook"), "SIGINT_AT_IMPORT": module})
        for module in landings}
    try:
        for module, proc in runs.items():
            _, err = proc.communicate(timeout=300)
            assert f"test: SIGINT at the import of {module}" in err, err  # it was sent
            assert proc.returncode == 130, f"SIGINT at the import of {module}: {err}"
            assert "Exception ignored" not in err and "Traceback" not in err, err
            last = err.strip().splitlines()[-1]
            assert last.startswith("interrupted: " + start) and last.endswith(end), last
    finally:  # one that lost its Ctrl-C may carry on (the dashboard would serve for good)
        for proc in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def _lose_a_ctrl_c() -> None:
    """SIGINT to this process inside a weakref callback, where a ``KeyboardInterrupt`` raised
    by CPython's handler is printed as ignored and lost."""
    class Lock:
        pass

    lock = Lock()
    ref = weakref.ref(lock, lambda _: os.kill(os.getpid(), signal.SIGINT))
    del lock
    assert ref() is None


@pytest.fixture
def default_handler():
    """CPython's own SIGINT handler, as in a terminal (not so in a background job), and a check
    that the hold put it back."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    try:
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_held_ctrl_c_is_raised_on_release(default_handler):
    with InterruptHold() as hold:
        os.kill(os.getpid(), signal.SIGINT)  # noted only
        _lose_a_ctrl_c()
        assert hold.held
        with pytest.raises(KeyboardInterrupt):
            hold.release()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        hold.release()  # again: nothing held, nothing raised


def test_a_held_ctrl_c_is_raised_on_leaving_the_hold(default_handler):
    with pytest.raises(KeyboardInterrupt), InterruptHold():
        os.kill(os.getpid(), signal.SIGINT)
    with InterruptHold():  # nothing pressed: nothing raised
        pass


def test_an_error_goes_first_and_the_handler_is_back(default_handler):
    with pytest.raises(ValueError, match="bad"), InterruptHold():
        os.kill(os.getpid(), signal.SIGINT)
        raise ValueError("bad")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the lost one
def test_once_let_through_a_ctrl_c_is_raised_at_once_and_a_lost_one_on_release(
        default_handler):
    with InterruptHold() as hold:
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):  # the one held, as the run goes on to compile
            hold.let_through()
    with InterruptHold() as hold:
        hold.let_through()  # nothing held: nothing raised
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    # it was raised where it landed (and caught there): leaving raises nothing more
    with InterruptHold() as hold:
        hold.let_through()
        _lose_a_ctrl_c()  # raised in the callback, printed as ignored: lost
        with pytest.raises(KeyboardInterrupt):
            hold.release()


def test_no_hold_outside_the_main_thread_or_where_sigint_is_not_python_s(default_handler):
    seen = []

    def in_a_thread():
        with InterruptHold() as hold:
            seen.append(hold.holding)
            seen.append(signal.getsignal(signal.SIGINT) is signal.default_int_handler)

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [False, True]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job
    try:
        with InterruptHold() as hold:
            assert not hold.holding and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_the_run_s_bar_lets_a_ctrl_c_through_while_it_compiles_and_ends_the_hold(
        monkeypatch, default_handler):
    """``abm run``'s bar (abm/market/progress.py) tells the hold: a run that compiles lets a
    Ctrl-C through from its first frame; one that loads only holds it to the first hour's end."""
    import abm.market.progress
    from abm.market.progress import RunProgress

    monkeypatch.setattr(abm.market.progress, "needs_compiling", lambda scenario=None: True)
    with InterruptHold() as hold:
        bar = RunProgress("abm run x", quiet=True, hold=hold)
        bar(0, 3)
        assert not hold.holding
        with pytest.raises(KeyboardInterrupt):  # at once, where it lands
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(abm.market.progress, "needs_compiling", lambda scenario=None: False)
    with InterruptHold() as hold:
        bar = RunProgress("abm run x", quiet=True, hold=hold)
        bar(0, 3)
        assert hold.holding
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            bar(1, 3)  # the first hour is done
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        bar(2, 3)  # nothing held any more
