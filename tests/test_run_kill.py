"""Resume across processes: the fingerprint is the same in every process, and `abm run` killed
with SIGKILL at random moments, then resumed, ends byte for byte as an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from abm.cli import main
from abm.config.scenario import load_scenario
from abm.market.fingerprint import fingerprint
from tests.test_market_run import RUN

ROOT = Path(__file__).resolve().parents[1]
KILLS = 5
HOURS = 32


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


def test_fingerprint_is_the_same_in_every_process(write_scenario, tmp_path):
    """Two processes with different string hashing (which reorders sets) agree."""
    path = write_scenario(RUN)
    code = ("import sys; from abm.config.scenario import load_scenario; "
            "from abm.market.fingerprint import fingerprint; "
            "print(fingerprint(load_scenario(sys.argv[1])))")
    seen = {subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                           text=True, check=True, env={**_env(), "PYTHONHASHSEED": str(h)}
                           ).stdout.strip() for h in (1, 2)}
    assert seen == {fingerprint(load_scenario(path))}
    # the file's place does not count; its content does
    moved = tmp_path / "elsewhere" / "moved.toml"
    moved.parent.mkdir()
    moved.write_text(path.read_text())
    assert fingerprint(load_scenario(moved)) in seen
    moved.write_text(path.read_text().replace("forecast_noise = 0.3", "forecast_noise = 0.31"))
    assert fingerprint(load_scenario(moved)) not in seen


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def _running(proc: subprocess.Popen, out: Path) -> bool:
    """Wait until ``proc`` holds the run folder's lock (past start-up, running the market)."""
    lock = out / ".lock"
    while proc.poll() is None:
        if lock.exists() and lock.read_text().strip() == str(proc.pid):
            return True
        time.sleep(0.005)
    return False


def _hours_done(out: Path) -> int:
    """The hours a run folder's ``run.json`` says are done (0 while it is absent or being
    replaced)."""
    try:
        return int(json.loads((out / "run.json").read_text())["hours_done"])
    except (OSError, ValueError, KeyError):
        return 0


def test_sigkill_at_random_moments_then_resume_matches_an_uninterrupted_run(write_scenario,
                                                                           tmp_path):
    scenario = write_scenario(RUN.replace("hours = 12", f"hours = {HOURS}"))
    args = [str(scenario), "--checkpoint-hours", "2", "--quiet"]
    # when a fresh process runs its hours, timed on the path the kills hit: from taking the lock
    # to its first checkpoint (start-up: loading compiled code) and to its last (the hours
    # done; figures follow). A warm in-process run is several times shorter, and kills drawn
    # over it landed before the first checkpoint on a quiet machine.
    whole = subprocess.Popen([sys.executable, "-m", "abm.cli", "run", *args, "--out",
                              str(tmp_path / "whole")], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=_env())
    assert _running(whole, tmp_path / "whole")
    began, first_s, run_s = time.monotonic(), None, None
    while whole.poll() is None and run_s is None:
        hours_done = _hours_done(tmp_path / "whole")
        if first_s is None and hours_done > 0:
            first_s = time.monotonic() - began
        if hours_done == HOURS:
            run_s = time.monotonic() - began
        time.sleep(0.002)
    err = whole.communicate(timeout=300)[1]
    assert whole.returncode == 0, err
    assert first_s is not None and run_s is not None, "no checkpoint seen while the run ran"

    out, rng, kills, done = tmp_path / "cut", random.Random(12), 0, []
    for _ in range(4 * KILLS):
        manifest = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() \
            else {"status": "none", "hours_done": 0}
        again = {"running": ["--resume"], "complete": ["--restart"]}.get(manifest["status"], [])
        left = 1 - manifest["hours_done"] / HOURS if again == ["--resume"] else 1.0
        proc = subprocess.Popen([sys.executable, "-m", "abm.cli", "run", *args, "--out",
                                 str(out), *again], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=_env())
        if _running(proc, out):
            time.sleep(rng.uniform(first_s * left, first_s + left * (run_s - first_s)))
            if proc.poll() is None:
                proc.kill()
                kills += 1
        err = proc.communicate(timeout=60)[1]
        assert proc.returncode in (0, -signal.SIGKILL), err
        if (out / "run.json").exists():
            done.append(json.loads((out / "run.json").read_text())["hours_done"])
        if kills == KILLS:
            break
    assert kills == KILLS, f"only {kills} kills landed while the run ran"
    resume = ["--resume"] if (out / "run.json").exists() else []
    assert main(["run", *args, "--out", str(out), *resume]) == 0
    assert _files(out) == _files(tmp_path / "whole")
    assert any(0 < h < HOURS for h in done), f"no kill landed mid-run: {done}"
