"""Nothing stored is read back unchecked (issue 22, items 2, 3 and 5): every file of a run folder
the tool reads (summary, manifest, parts, checkpoint) is covered by the run's checksums and held
to its shape, so a damaged or forged one is one line naming the file and what to do, never a
report of wrong numbers or a traceback; a run resumes only with the code that started it; and
resume and ``--restart`` touch only the files the run wrote."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from abm.cli import main
from abm.config.scenario import load_scenario
from abm.errors import InputError
from abm.files import sha256_bytes
from abm.market import fingerprint
from abm.market.run import MANIFEST, SUMMARY, _sealed, load_arrays, read_tables, run_market
from abm.report.results import read_run
from tests.test_market_run import RUN, Interrupt

HOURS = 6


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A complete run and the same run interrupted after hour 3 (checkpoint at hour 2)."""
    folder = tmp_path_factory.mktemp("stored")
    assert "hours = 12\n" in RUN
    (folder / "run.toml").write_text(RUN.replace("hours = 12\n", f"hours = {HOURS}\n"))
    scn = load_scenario(folder / "run.toml")
    run_market(scn, folder / "whole", checkpoint_hours=2)
    with pytest.raises(KeyboardInterrupt):
        run_market(scn, folder / "cut", checkpoint_hours=2, progress=Interrupt(3))
    return scn, folder / "whole", folder / "cut"


@pytest.fixture
def whole(runs, tmp_path):
    shutil.copytree(runs[1], tmp_path / "whole")
    return tmp_path / "whole"


@pytest.fixture
def cut(runs, tmp_path):
    shutil.copytree(runs[2], tmp_path / "cut")
    return tmp_path / "cut"


def _reseal(folder: Path, manifest: dict) -> None:
    """Write ``manifest`` with its checksum recomputed, as a forger would."""
    (folder / MANIFEST).write_text(json.dumps(_sealed(manifest)))


def _one_error(capsys, argv: list[str]) -> str:
    status = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("warning")]
    assert status == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_one_digit_changed_in_the_summary_is_an_error_not_a_wrong_report(whole, tmp_path,
                                                                         capsys):
    """One digit changed in summary.json made ``abm report DIR`` show wrong figures, exit 0."""
    text = (whole / SUMMARY).read_text()
    key = '"cost_usd": '
    at = text.index(key) + len(key)
    digit = text[at]
    (whole / SUMMARY).write_text(text[:at] + str((int(digit) + 1) % 10) + text[at + 1:])
    line = _one_error(capsys, ["report", str(whole), "--out", str(tmp_path / "r.html"),
                               "--quiet"])
    assert "summary.json" in line and "checksum" in line and "--restart" in line
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(InputError, match=r"summary\.json"):
        read_run(whole)


def test_a_truncated_summary_is_an_error_in_report_and_resume(runs, whole, capsys):
    scn = runs[0]
    text = (whole / SUMMARY).read_bytes()
    (whole / SUMMARY).write_bytes(text[: len(text) // 2])
    with pytest.raises(InputError, match=r"summary\.json.*--restart"):
        run_market(scn, whole, resume=True)
    line = _one_error(capsys, ["run", scn.source, "--out", str(whole),
                               "--resume", "--quiet"])
    assert "summary.json" in line


# what a damaged or forged manifest may hold: each gives one line naming run.json
FORGED = {
    "truncated": lambda m, raw: raw[: len(raw) // 3],
    "random bytes": lambda m, raw: bytes(np.random.default_rng(1).integers(0, 256, 500,
                                                                           dtype=np.uint8)),
    "a JSON list": lambda m, raw: b"[1, 2, 3]",
    "nested too deep": lambda m, raw: b"[" * 100_000 + b"]" * 100_000,
    "not UTF-8": lambda m, raw: b"\xff\xfe" + raw,
    "seed a string": lambda m, raw: {**m, "seed": "5"},
    "hours negative": lambda m, raw: {**m, "hours": -1},
    "tables a list": lambda m, raw: {**m, "tables": []},
    "an entry lacks its checksum": lambda m, raw: {**m, "tables": {"model": [
        {k: v for k, v in m["tables"]["model"][0].items() if k != "sha256"}]}},
    "a file outside the folder": lambda m, raw: {**m, "checkpoint": {
        "file": "../../etc/passwd", "sha256": "0" * 64}},
    "an unknown table": lambda m, raw: {**m, "tables": {**m["tables"], "x": []}},
    "no code": lambda m, raw: {k: v for k, v in m.items() if k != "code"},
    "hours done beyond hours": lambda m, raw: {**m, "hours_done": 10**6},
    "status a list": lambda m, raw: {**m, "status": [1, [2]]},  # TypeError: unhashable (fuzz)
    "status an object": lambda m, raw: {**m, "status": {"running": 1}},
}


@pytest.mark.parametrize("forgery", list(FORGED))
def test_damaged_or_forged_manifests_give_one_line(runs, cut, tmp_path, capsys, forgery):
    """Three forged run.json structures gave tracebacks; a truncated one a JSONDecodeError."""
    raw = (cut / MANIFEST).read_bytes()
    manifest = {k: v for k, v in json.loads(raw).items() if k != "sha256"}
    damaged = FORGED[forgery](manifest, raw)
    if isinstance(damaged, dict):
        _reseal(cut, damaged)
    else:
        (cut / MANIFEST).write_bytes(damaged)
    line = _one_error(capsys, ["run", runs[0].source, "--out", str(cut),
                               "--resume", "--quiet"])
    assert "run.json" in line
    line = _one_error(capsys, ["report", str(cut), "--out", str(tmp_path / "r.html"),
                               "--quiet"])
    assert "run.json" in line


def test_a_forged_part_is_an_error_naming_it(runs, cut, capsys):
    """A part replaced by another table's (checksum recomputed) or by a FIFO."""
    manifest = json.loads((cut / MANIFEST).read_text())
    entry = manifest["tables"]["model"][0]
    other = manifest["tables"]["zones"][0]
    (cut / entry["file"]).write_bytes((cut / other["file"]).read_bytes())
    entry["sha256"] = other["sha256"]
    _reseal(cut, {k: v for k, v in manifest.items() if k != "sha256"})
    with pytest.raises(InputError, match=r"part-000000\.parquet.*lacks column"):
        read_tables(cut)
    os.unlink(cut / entry["file"])
    os.mkfifo(cut / entry["file"])  # a FIFO hung resume
    line = _one_error(capsys, ["run", runs[0].source, "--out", str(cut),
                               "--resume", "--quiet"])
    assert "part-000000.parquet" in line and "FIFO" in line


def test_an_npz_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    """A checkpoint whose arrays unpack far beyond their bound gave a MemoryError."""
    buf = io.BytesIO()
    np.savez_compressed(buf, big=np.zeros(50 * 2**20 // 8))  # 50 MB of zeros: ~50 kB packed
    data = buf.getvalue()
    assert len(data) < 200_000
    with pytest.raises(InputError, match="unpacks to more than 10,485,760 bytes"):
        load_arrays(data, tmp_path / "c.npz", 10 * 2**20)
    assert load_arrays(data, tmp_path / "c.npz", 60 * 2**20)["big"].shape == (50 * 2**17,)
    # a member whose array header declares more than the member holds
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as zf:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (10**12,)})
        zf.writestr("x.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\0" * 64)
    with pytest.raises(InputError, match="declares more than it holds"):
        load_arrays(raw.getvalue(), tmp_path / "c.npz", 2**30)


def test_resume_with_other_code_is_refused(runs, cut, tmp_path, monkeypatch, capsys):
    """Resume with changed code went on silently: hours 24-47 matched neither version."""
    copy = tmp_path / "abm"
    shutil.copytree(fingerprint.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "PACKAGE", copy)
    fingerprint.code_fingerprint.cache_clear()
    try:
        assert fingerprint.code_fingerprint() == json.loads(
            (cut / MANIFEST).read_text())["code"]  # the same files hash the same
        (copy / "core" / "flow.py").write_text((copy / "core" / "flow.py").read_text()
                                               + "\n# changed\n")
        fingerprint.code_fingerprint.cache_clear()
        line = _one_error(capsys, ["run", runs[0].source, "--out",
                                   str(cut), "--resume", "--quiet"])
        assert "run.json" in line and "other code" in line and "--restart" in line
    finally:
        fingerprint.code_fingerprint.cache_clear()


def test_resume_and_restart_touch_only_the_run_s_files(runs, cut, capsys, caplog):
    """Resume deleted a user's tables/model/notes.txt, and a sub-folder under tables/ blocked
    it with "Is a directory"."""
    scn, whole = runs[0], runs[1]
    mine = [cut / "tables" / "model" / "notes.txt", cut / "notes.txt",
            cut / "tables" / "mine" / "a.csv", cut / "tables" / "zones" / "sub" / "b.txt"]
    for path in mine:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep me")
    run_market(scn, cut, resume=True, checkpoint_hours=2)
    warning = caplog.text  # the library logs it (the command line prints it: below)
    assert "left alone" in warning and "tables/model/notes.txt" in warning
    assert "tables/zones/sub/" in warning and "tables/mine" in warning
    assert all(p.read_text() == "keep me" for p in mine)
    for name, table in read_tables(cut).items():
        assert table.equals(read_tables(whole)[name]), name
    run_market(scn, cut, restart=True, checkpoint_hours=2)
    assert all(p.read_text() == "keep me" for p in mine)
    assert (cut / SUMMARY).exists() and not list(cut.glob("checkpoint-*"))
    # abm run shows the library's warning as its one line on stderr, nothing on stdout
    capsys.readouterr()
    assert main(["run", scn.source, "--out", str(cut), "--restart", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith(f"warning: {cut}: not written by abm run, left alone: ")
    assert len(err.splitlines()) == 1 and "left alone" not in out


def test_no_space_left_names_the_file(runs, tmp_path, monkeypatch, capsys):
    """ "No space left on device" named no file."""
    import errno

    import abm.files

    real = abm.files._fsync

    def full(path):
        if str(path).endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path)

    monkeypatch.setattr(abm.files, "_fsync", full)
    status = main(["run", runs[0].source, "--hours", "2", "--out", str(tmp_path / "o"),
                   "--quiet"])
    err = capsys.readouterr().err.strip()
    assert status == 1 and err.endswith("No space left on device"), err
    assert err.startswith(f"error: {tmp_path / 'o'}/") and "Traceback" not in err


def test_a_folder_of_output_format_2_is_one_line_not_a_key_error(whole, tmp_path, capsys):
    """Format 2 nested the summary's emissions, cost parts and layers (``emissions_kg.system``);
    format 3 names each quantity once (``emissions_system_kg``): a reader of a format-2 folder
    is told so in one line, never a KeyError on a name that moved."""
    manifest = json.loads((whole / MANIFEST).read_text())
    summary = json.loads((whole / SUMMARY).read_text())
    summary["emissions_kg"] = {b: summary.pop(f"emissions_{b}_kg")
                               for b in ("average", "marginal", "system")}
    (whole / SUMMARY).write_text(json.dumps(summary))
    _reseal(whole, {**{k: v for k, v in manifest.items() if k != "sha256"}, "format": 2,
                    "summary_sha256": sha256_bytes((whole / SUMMARY).read_bytes())})
    with pytest.raises(InputError, match=r"output format 2; this version reads format 3.*"
                                         r"--restart"):
        read_run(whole)
    line = _one_error(capsys, ["report", str(whole), "--out", str(tmp_path / "r.html")])
    assert "output format 2" in line


def test_summary_checksum_is_in_the_manifest(whole):
    manifest = json.loads((whole / MANIFEST).read_text())
    assert manifest["summary_sha256"] == sha256_bytes((whole / SUMMARY).read_bytes())
