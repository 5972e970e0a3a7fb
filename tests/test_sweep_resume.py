"""Crash safety: a sweep killed with SIGKILL (a worker, or every process) resumes to the same
results as a clean serial run, with no finished run lost and none run twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from abm.cli import main
from abm.errors import InputError
from abm.files import folder_lock
from abm.sweeps.results import consolidate
from abm.sweeps.runner import run_sweep
from abm.sweeps.spec import load_spec

SPEC = """
[sweep]
name = "killed"
scenario = "default"
hours = 8
seed = 11
design = "lhs"
samples = 24

[parameters."policy.carbon_price_usd_per_t"]
range = [0.0, 300.0]

[parameters."population.operators"]
range = [2, 6]

[outcomes]
scalars = ["emissions_system_kg", "cost_usd", "relocated_share"]
series = ["moved_mwh"]
"""
TOTAL = 24


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The sweep file and its results from a clean serial run."""
    folder = tmp_path_factory.mktemp("sweep")
    path = folder / "killed.toml"
    path.write_text(SPEC)
    run_sweep(load_spec(path), folder / "reference")
    return path, pd.read_parquet(folder / "reference" / "results.parquet")


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(c) for c in (task / "children").read_text().split()]
    return kids


def _parts(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("part-*.parquet")}


def _start_and_wait(spec: Path, out: Path, *options: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "abm.cli", "sweep", str(spec), "--out", str(out), "--workers",
         "2", "--quiet", *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    deadline = time.monotonic() + 90
    while len(_parts(out)) < 3 if (out / "runs").exists() else True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no run finished in time"
        time.sleep(0.02)
    return proc


def _resume_and_compare(spec: Path, out: Path, reference: pd.DataFrame) -> None:
    before = _parts(out)
    assert 0 < len(before) < TOTAL, "the kill should land mid-way"
    assert main(["sweep", str(spec), "--out", str(out), "--resume", "--workers", "1",
                 "--quiet"]) == 0
    after = _parts(out)
    assert len(after) == TOTAL
    assert {k: after[k] for k in before} == before  # finished runs were not run again
    got = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(got.drop(columns="series.moved_mwh"),
                                  reference.drop(columns="series.moved_mwh"), check_exact=True)
    assert got["series.moved_mwh"].map(list).tolist() == \
        reference["series.moved_mwh"].map(list).tolist()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_sigkill_of_a_worker_then_resume(sweep, tmp_path):
    spec, reference = sweep
    out = tmp_path / "out"
    proc = _start_and_wait(spec, out)
    workers = [c for c in _children(proc.pid)
               if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    assert workers
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "worker process died" in err and "--resume" in err
    _resume_and_compare(spec, out, reference)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("options", [(), ("--scheduler", "local")], ids=["processes", "dask"])
def test_sigkill_of_the_main_process_leaves_no_worker_then_resume(sweep, tmp_path, options):
    """Local processes end by their parent-death signal; a local Dask cluster's worker
    processes by distributed's own pipe from their nanny (in the main process), whose closing
    ends them (distributed.process.AsyncProcess._immediate_exit_when_closed)."""
    if options:
        pytest.importorskip("distributed")
    spec, reference = sweep
    out = tmp_path / "out"
    proc = _start_and_wait(spec, out, *options)
    children = _children(proc.pid)
    assert any(b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes() for c in children)
    os.kill(proc.pid, signal.SIGKILL)  # the main process alone
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while (alive := [c for c in children if _alive(c)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive, f"worker processes {alive} outlived the killed sweep"
    _resume_and_compare(spec, out, reference)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to read it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _part(out: Path, run_id: int) -> Path:
    (path,) = (out / "runs").glob(f"part-{run_id:07d}.*.parquet")
    return path


def test_damaged_copied_or_missing_parts_are_named_then_run_again(sweep, tmp_path, capsys):
    spec, reference = sweep
    out = tmp_path / "out"
    shutil.copytree(spec.parent / "reference", out)
    flipped = _part(out, 3)
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x04
    flipped.write_bytes(bytes(data))
    copied = _part(out, 7)  # run 5's part under run 7's name, its own checksum kept
    copied.unlink()
    shutil.copy(_part(out, 5), out / "runs" / _part(out, 5).name.replace("0000005", "0000007"))
    _part(out, 11).unlink()  # missing, though the manifest says complete
    with pytest.raises(InputError, match=r"part-0000003\..*damaged"):
        consolidate(out, load_spec(spec))
    assert main(["sweep", "report", str(out)]) == 2
    assert "part-0000003" in capsys.readouterr().err
    (out / "runs" / flipped.name).unlink()
    with pytest.raises(InputError, match=r"part-0000007\..*another run's row"):
        consolidate(out, load_spec(spec))
    (out / "runs" / flipped.name).write_bytes(bytes(data))
    assert main(["sweep", str(spec), "--out", str(out), "--resume", "--workers", "1",
                 "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "part-0000003" in err and "part-0000007" in err and "run again" in err
    assert {p.name for p in (out / "runs" / "damaged").iterdir()} == {
        flipped.name, f"part-0000007.{_part(out, 5).name.split('.')[1]}.parquet"}
    # runs 3, 7 and 11 ran again, to the same bytes (so the same names) as the reference's
    assert {p.name for p in (out / "runs").glob("part-*.parquet")} == {
        p.name for p in (spec.parent / "reference" / "runs").glob("part-*.parquet")}
    got = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(got.drop(columns="series.moved_mwh"),
                                  reference.drop(columns="series.moved_mwh"), check_exact=True)


def test_two_processes_never_write_into_one_sweep(sweep, tmp_path):
    spec, _ = sweep
    out = tmp_path / "out"
    with folder_lock(out), pytest.raises(InputError, match="another process"):
        run_sweep(load_spec(spec), out)
