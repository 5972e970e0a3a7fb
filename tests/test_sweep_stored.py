"""A sweep folder read back is checked (issue 22, items 2, 3 and 5): a damaged, truncated or
forged ``manifest.json`` or part is one line naming the file (``--resume`` rebuilds a damaged
manifest from the sweep file and keeps the runs that belong to it), a sweep resumes only with
the code that started it, and ``abm sweep report`` only reads the sweep folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from abm.cli import main
from abm.market import fingerprint
from abm.sweeps.results import MANIFEST, RESULTS, RUNS, _sealed

SPEC = """
[sweep]
name = "stored"
scenario = "default"
hours = 2
seed = 3
design = "grid"

[fixed]
"population.operators" = 3

[parameters."policy.carbon_price_usd_per_t"]
values = [0.0, 200.0]

[parameters."policy.egress_scale"]
values = [0.5, 1.5]

[outcomes]
scalars = ["emissions_system_kg", "cost_usd"]
"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A finished sweep (4 runs, serially) and its results."""
    folder = tmp_path_factory.mktemp("sweep")
    (folder / "spec.toml").write_text(SPEC)
    assert main(["sweep", str(folder / "spec.toml"), "--out", str(folder / "done"),
                 "--workers", "1", "--quiet"]) == 0
    return folder / "spec.toml", folder / "done", pd.read_parquet(folder / "done" / RESULTS)


@pytest.fixture
def done(sweep, tmp_path):
    shutil.copytree(sweep[1], tmp_path / "done")
    return tmp_path / "done"


def _one_error(capsys, argv: list[str], status: int = 2) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("warning")]
    assert code == status and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


DAMAGE = {
    "truncated": lambda raw, m: raw[: len(raw) // 2],
    "random bytes": lambda raw, m: os.urandom(300),
    "a JSON list": lambda raw, m: b"[]",
    "one digit edited": lambda raw, m: raw.replace(b'"runs_done": 4', b'"runs_done": 3'),
    "forged: spec a list": lambda raw, m: {**m, "spec": []},
    "forged: runs_total a string": lambda raw, m: {**m, "runs_total": "4"},
    "forged: spec_hash missing": lambda raw, m: {k: v for k, v in m.items() if k != "spec_hash"},
    "forged: a spec without parameters": lambda raw, m: {**m, "spec": {
        "sweep": m["spec"]["sweep"]}},
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_manifest_is_one_line_and_resume_rebuilds_it(sweep, done, tmp_path, capsys,
                                                               damage):
    """A truncated manifest, random bytes or a JSON list gave tracebacks in ``abm sweep
    --resume`` and ``abm sweep report``."""
    raw = (done / MANIFEST).read_bytes()
    manifest = {k: v for k, v in json.loads(raw).items() if k != "sha256"}
    broken = DAMAGE[damage](raw, manifest)
    if isinstance(broken, dict):
        broken = json.dumps(_sealed(broken)).encode()
    assert broken != raw
    (done / MANIFEST).write_bytes(broken)
    line = _one_error(capsys, ["sweep", "report", str(done), "--out", str(tmp_path / "r.html")])
    assert "manifest.json" in line and "--resume" in line
    assert main(["sweep", str(sweep[0]), "--out", str(done), "--resume", "--workers", "1",
                 "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "rebuilt from" in err or "forged" in damage
    pd.testing.assert_frame_equal(pd.read_parquet(done / RESULTS), sweep[2])


def test_a_fifo_or_folder_in_the_sweep_folder_never_hangs(sweep, done, tmp_path, capsys):
    part = next((done / RUNS).glob("part-*.parquet"))
    part.unlink()
    os.mkfifo(part)
    line = _one_error(capsys, ["sweep", "report", str(done), "--out", str(tmp_path / "r.html")])
    assert part.name in line and "FIFO" in line
    assert main(["sweep", str(sweep[0]), "--out", str(done), "--resume", "--workers", "1",
                 "--quiet"]) == 0
    assert "moved to runs/damaged/" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_parquet(done / RESULTS), sweep[2])
    (done / MANIFEST).unlink()
    os.mkfifo(done / MANIFEST)
    line = _one_error(capsys, ["sweep", "report", str(done), "--out", str(tmp_path / "r.html")])
    assert "manifest.json" in line and "FIFO" in line


def _listing(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_sweep_report_only_reads_the_sweep_folder(done, tmp_path, capsys):
    """``abm sweep report`` refused a read-only sweep folder: it rewrote results.parquet."""
    before = _listing(done)
    done.chmod(0o555)
    try:
        assert main(["sweep", "report", str(done), "--out", str(tmp_path / "r.html")]) == 0
    finally:
        done.chmod(0o755)
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert _listing(done) == before
    (done / "report.html").mkdir()  # a report that cannot be written says what to do
    line = _one_error(capsys, ["sweep", "report", str(done)])
    assert "report.html" in line and "--out FILE" in line


def test_sweep_resume_with_other_code_is_refused(sweep, done, tmp_path, monkeypatch, capsys):
    copy = tmp_path / "abm"
    shutil.copytree(fingerprint.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    changed = copy / "market" / "operators.py"
    changed.write_text(changed.read_text() + "\n# changed\n")
    monkeypatch.setattr(fingerprint, "PACKAGE", copy)
    fingerprint.code_fingerprint.cache_clear()
    try:
        line = _one_error(capsys, ["sweep", str(sweep[0]), "--out", str(done), "--resume",
                                   "--workers", "1", "--quiet"])
        assert "manifest.json" in line and "other code" in line
    finally:
        fingerprint.code_fingerprint.cache_clear()
