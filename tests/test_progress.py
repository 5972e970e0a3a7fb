"""Progress that tells the truth (abm/market/progress.py): the first run on a machine says it
compiles, and its rate and ETA count from the end of the first hour; arguments are checked
before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numba
import pytest

import abm
import abm.core.flow
import abm.market.progress
from abm.cli import main
from abm.errors import InputError
from abm.market.progress import COMPILING, RunProgress

FLEXIBLE = Path(__file__).resolve().parents[1] / "experiments" / "scenarios" / "flexible.toml"


def test_the_first_run_says_it_compiles_and_its_clock_starts_after_the_first_hour(
        monkeypatch, capsys):
    monkeypatch.setattr(abm.market.progress, "needs_compiling", lambda scenario=None: True)
    bar = RunProgress("abm run x")
    bar(0, 10)  # before the first hour
    assert capsys.readouterr().err.rstrip().endswith(f"0/10 [00:00<?, ?h/s, {COMPILING}]")
    time.sleep(0.3)  # the first hour: compiling
    after_first = time.time()
    bar(1, 10)
    assert bar.bar.start_t >= after_first and bar.bar.initial == 1  # rate and ETA from here
    bar(2, 10)
    assert bar.bar.format_dict["elapsed"] < 0.3 and bar.bar.n == 2
    assert COMPILING not in capsys.readouterr().err.split("\r")[-1]
    for done in range(3, 11):
        bar(done, 10)
    assert bar.bar.disable  # closed at the last hour


def test_no_compiling_notice_once_compiled(monkeypatch, capsys):
    monkeypatch.setattr(abm.market.progress, "needs_compiling", lambda scenario=None: False)
    bar = RunProgress("abm run x", quiet=False)
    bar(3, 10)  # a resumed run: 3 hours already done
    assert "3/10" in capsys.readouterr().err and COMPILING not in capsys.readouterr().err
    bar.close()


def test_work_that_compiles_nothing_never_says_compiling(monkeypatch, capsys):
    """The headroom of zones compiles nothing: even on a fresh machine its bar says nothing of
    compiling, and its clock runs from the bar's first drawing (no restart after a step)."""
    monkeypatch.setattr(abm.market.progress, "needs_compiling", lambda scenario=None: True)
    bar = RunProgress("abm headroom x", unit="zone", compiles=False)
    bar(0, 3)
    start = bar.bar.start_t
    assert capsys.readouterr().err.rstrip().endswith("0/3 [00:00<?, ?zone/s]")
    bar(1, 3)
    assert bar.bar.start_t == start and bar.bar.initial == 0 and bar.bar.n == 1
    bar(3, 3)
    err = capsys.readouterr().err
    assert "3/3" in err and COMPILING not in err and bar.bar.disable  # closed at the last zone


def test_the_headroom_api_draws_its_bar_from_the_first_zone(capsys):
    abm.headroom(shares_pct=[1.0], rtt_ms=[10], defer_h=[1], progress=True)
    frames = capsys.readouterr().err.split("\r")
    zones = len(abm.load_scenario().zones)
    assert "abm headroom default:   0%" in frames[1] and f"0/{zones} " in frames[1]
    assert f"{zones}/{zones} " in frames[-1] and COMPILING not in "".join(frames)


def test_needs_compiling_reads_numba_s_cache():
    """Without a cache (a fresh machine) the compiled placement is still to be built; once a
    run has used it in this process, it is not."""
    code = "from abm.core.flow import needs_compiling; print(needs_compiling())"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "NUMBA_CACHE_DIR": "/nonexistent-abm-cache"},
                           check=True)
    assert fresh.stdout.strip() == "True"
    abm.simulate(hours=1, seed=1, population__operators=2)
    assert not abm.core.flow.needs_compiling()


@numba.njit(cache=True)
def _never_built(x):  # never called: no numba cache on disk, no signature in this process
    return x


def test_the_notice_counts_the_grid_s_loops_where_a_run_clears_zones_with_them(monkeypatch):
    """The technology market's clearing calls the grid's loops in every hour (the cheapest
    source and the basis's check only where zones are coupled); the calibrated stacks call
    none. A loop not yet built makes the notice show for a run that calls it, only."""
    from abm.config.registry import GRID_RESPONSES
    from abm.grid import clearing_loops as loops
    from abm.market.progress import needs_compiling

    technology = GRID_RESPONSES["technology"]
    scn = abm.load_scenario()  # the technology market, 23 zones, interconnectors among them
    assert scn.market.grid_response == "technology"
    assert technology.compiled(scn) == (loops.next_units, loops.cheapest_sources,
                                        loops.offer_check)
    island = replace(scn, zones=tuple(z for z in scn.zones if z.id == "SG"))
    assert technology.compiled(island) == (loops.next_units,)
    assert not hasattr(GRID_RESPONSES["calibrated"], "compiled")
    abm.simulate(hours=1, seed=1, population__operators=2)  # what a run calls is loaded
    calibrated = scn.with_market(grid_response="calibrated")
    assert not needs_compiling(scn) and not needs_compiling(calibrated)
    monkeypatch.setattr(loops, "next_units", _never_built)  # as on a machine without its cache
    assert needs_compiling(scn) and needs_compiling(island)
    assert not needs_compiling(calibrated) and not needs_compiling(None)


def test_the_grid_s_loops_the_notice_counts_are_called_in_a_run_s_first_hour():
    """Else the notice would show on every run (a run caches only what it calls): in a fresh
    process, each loop counted for the default scenario is built after one hour of it."""
    code = ("import abm; from abm.config.registry import GRID_RESPONSES; "
            "counted = GRID_RESPONSES['technology'].compiled(abm.load_scenario()); "
            "abm.simulate(hours=1, seed=1, population__operators=2); "
            "print(len(counted), sorted(f.__name__ for f in counted if not f.signatures))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "3 []", done.stdout


def test_hours_beyond_the_limits_are_refused_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--hours", "1000000", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(
        "error: --hours: hours: expected an integer <= 87,840 (ten years of hours), got 1,000,000")
    assert not out.exists()
    with pytest.raises(InputError, match="would end after 2200-01-01"):
        abm.simulate(hours=87_000, overrides={"scenario.start": "2195-01-01T00:00:00"})
    report = tmp_path / "r.html"
    assert main(["report", "experiments/scenarios/baseline.toml", "--hours", "90000", "--out",
                 str(report), "--quiet"]) == 2
    assert "--hours: hours (experiments/scenarios/baseline.toml)" in capsys.readouterr().err
    assert not report.exists()


def test_a_bar_interrupted_before_its_owner_holds_it_still_ends_its_line(capsys):
    """Ctrl-C between tqdm drawing a bar and RunProgress holding it (a race seen in CI): the
    interrupt's message still starts on a line of its own."""
    from tqdm import tqdm

    from abm.market.progress import end_bars

    tqdm(total=168, desc="abm run x", unit="h", file=sys.stderr)  # drawn, held by no one
    end_bars()
    print("interrupted: ...", file=sys.stderr)
    assert capsys.readouterr().err.splitlines()[-1] == "interrupted: ..."


def test_the_notice_counts_the_deferral_loops_where_classes_have_work_that_waits(monkeypatch):
    """A run with deferrable work calls the backlog's passes and, for its ``lp`` operators on
    the flow engine, the walk of plans in every hour: not yet built, they make the notice
    show for such a run only (before, a first flexible run compiled for tens of seconds with
    no notice, holding a Ctrl-C all along)."""
    from abm.core import backlog_loops
    from abm.market.progress import _deferral_loops, needs_compiling

    flexible = abm.load_scenario(FLEXIBLE)
    plain = abm.load_scenario()
    assert _deferral_loops(plain) == []
    assert len(_deferral_loops(flexible)) == 5  # four backlog passes and the walk of plans
    assert len(_deferral_loops(flexible.with_market(solver="highs"))) == 4  # no walk of plans
    abm.simulate(FLEXIBLE, hours=1, seed=1, population__operators=2)  # what it calls is loaded
    abm.simulate(hours=1, seed=1, population__operators=2)
    assert not needs_compiling(flexible) and not needs_compiling(plain)
    monkeypatch.setattr(backlog_loops, "arrive", _never_built)  # as without its cache
    assert needs_compiling(flexible) and not needs_compiling(plain)


def test_the_loops_the_notice_counts_are_called_in_a_flexible_run_s_first_hour():
    """Else the notice would show on every run of a scenario with deferrable work: in a fresh
    process, every function counted for ``flexible.toml`` is built after one hour of it."""
    code = ("import abm; from abm.market.progress import _deferral_loops; "
            "from abm.market.energy import _energy_and_carbon; "
            f"counted = [*_deferral_loops(abm.load_scenario({str(FLEXIBLE)!r})), "
            "_energy_and_carbon]; "
            f"abm.simulate({str(FLEXIBLE)!r}, hours=1, seed=1, population__operators=2); "
            "print(len(counted), sorted(f.__name__ for f in counted if not f.signatures))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "6 []", done.stdout + done.stderr
