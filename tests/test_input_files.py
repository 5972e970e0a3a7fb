"""Inputs are opened only as what they claim to be (issue 22, item 1): a scenario, a sweep file or
a trace is a regular file, read only up to its bound (``abm/config/limits.py``), decoded
strictly, and an error about it quotes its name, line and column, never its bytes. ``abm
check`` reads the traces it names and checks what the run derives (item 4), so a scenario it
accepts runs to its end. Each case runs the real ``abm`` entry point in process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from abm.cli import main
from abm.config.limits import MAX_TOML_BYTES, MAX_TRACE_BYTES
from tests.conftest import SMALL
from tests.fuzzing import time_limit

SECRET = "hunter2-s3cret"
NETRC = f"machine example.com login alice password {SECRET}\n"
TRACE_HEADER = "zone,timestamp,price_usd_per_mwh,carbon_g_per_kwh\n"


def one_error(capsys, argv: list[str], seconds: float = 60) -> str:
    """Run ``abm ARGV`` (within ``seconds``: a hang fails); it must exit 2 with one line on
    stderr, which is returned."""
    with time_limit(seconds):
        status = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def with_trace(path: Path, trace: str) -> Path:
    """A small scenario beside ``path`` whose ``[signals] trace`` is ``trace`` (TOML string
    text: escapes such as ``\\u0000`` are TOML's)."""
    scenario = path / "scenario.toml"
    scenario.write_text(SMALL + f'\n[signals]\ntrace = "{trace}"\n')
    return scenario


def test_a_trace_naming_a_secret_file_never_prints_it(tmp_path, capsys):
    """``[signals] trace = "netrc"`` printed about 57 characters of the file (a password) in
    ``abm run``, and ``abm check`` said ok without reading it."""
    (tmp_path / "netrc").write_text(NETRC)
    scenario = with_trace(tmp_path, "netrc")
    for argv in (["check", str(scenario)],
                 ["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]):
        line = one_error(capsys, argv)
        assert "netrc" in line and "line 1" in line
        for word in ("machine", "alice", "password", SECRET, "example"):
            assert word not in line, line


def test_no_trace_error_quotes_a_cell(tmp_path, capsys):
    """Each kind of bad cell is named by line and column; none of the file's text is shown."""
    rows = {"timestamp": f"IE,{SECRET},1,2", "price_usd_per_mwh": f"IE,2024-01-08T00:00,{SECRET},2",
            "zone": f"{SECRET},2024-01-08T00:00,1,2"}
    for column, row in rows.items():
        (tmp_path / "t.csv").write_text(TRACE_HEADER + row + "\n")
        line = one_error(capsys, ["check", str(with_trace(tmp_path, "t.csv"))])
        assert SECRET not in line and "t.csv" in line, line
        assert column == "zone" or f"line 2, {column}" in line, line


@pytest.mark.parametrize("special", ["fifo", "folder", "/dev/zero", "/dev/null"])
def test_a_fifo_device_or_folder_is_refused_not_read(tmp_path, capsys, special):
    """``abm check`` on a FIFO or ``/dev/zero`` hung; a FIFO as a trace hung the run."""
    if special == "fifo":
        path = tmp_path / "pipe.toml"
        os.mkfifo(path)
    elif special == "folder":
        path = tmp_path / "dir.toml"
        path.mkdir()
    else:
        path = Path(special)
    kind = {"fifo": "FIFO", "folder": "folder", "/dev/zero": "device", "/dev/null": "device"}
    line = one_error(capsys, ["check", str(path)], seconds=20)
    assert str(path) in line and kind[special] in line and "not a regular file" in line
    line = one_error(capsys, ["check", str(with_trace(tmp_path, str(path)))], seconds=20)
    assert "signals.trace" in line and "not a regular file" in line


def test_a_huge_file_is_refused_by_its_size_before_it_is_read(tmp_path, capsys):
    """A 3 GB scenario or trace gave a MemoryError traceback; the bound is named."""
    for name in ("huge.toml", "huge.csv"):
        with open(tmp_path / name, "wb") as f:
            f.truncate(3 * 2**30)  # sparse: costs no disk
    line = one_error(capsys, ["check", str(tmp_path / "huge.toml")])
    assert "3 GiB" in line and f"{MAX_TOML_BYTES // 2**20} MiB" in line and "limits" in line
    line = one_error(capsys, ["check", str(with_trace(tmp_path, "huge.csv"))])
    assert "3 GiB" in line and f"{MAX_TRACE_BYTES // 2**20} MiB" in line


def test_a_file_that_grows_past_its_stated_size_is_cut_at_the_bound(tmp_path):
    """A ``/proc`` file states size 0 and still holds bytes: reading stops at the bound."""
    from abm.errors import InputError
    from abm.files import read_input

    with pytest.raises(InputError, match="holds more than 100 bytes"):
        read_input("/proc/self/environ" if Path("/proc/self/environ").stat().st_size == 0
                   and len(os.environ) else "/proc/self/maps", 100, "a test file")


def test_nul_and_control_characters_give_one_clean_line(tmp_path, capsys):
    """A NUL in a trace path gave ``ValueError: embedded null character``; a newline in a key
    split the one-line error in two."""
    line = one_error(capsys, ["check", str(with_trace(tmp_path, "a\\u0000b.csv"))])
    assert "signals.trace" in line and "NUL" in line and "\\x00" in line
    line = one_error(capsys, ["check", str(tmp_path / "x\x00y.toml")])
    assert "NUL" in line
    scenario = tmp_path / "keys.toml"
    scenario.write_text(SMALL + '\n[policy.carbon_price_by_jurisdiction]\n"EU\\nerror: forged" '
                        '= 1.0\n"\\u001b[31mred" = 2.0\n')
    line = one_error(capsys, ["check", str(scenario)])
    assert "\\n" in line and "\x1b" not in line


def test_check_reads_the_trace_it_names(tmp_path, capsys):
    """A trace that does not cover the scenario's hours passed ``abm check`` and failed the run."""
    (tmp_path / "short.csv").write_text(TRACE_HEADER + "FR,2024-01-08T00:00,50,60\n")
    line = one_error(capsys, ["check", str(with_trace(tmp_path, "short.csv"))])
    assert "short.csv" in line and "not covered" in line
    hours = "".join(f"FR,2024-01-08T{h:02d}:00,{50 + h},60\n" for h in range(3))
    (tmp_path / "ok.csv").write_text(TRACE_HEADER + hours)
    assert main(["check", str(with_trace(tmp_path, "ok.csv"))]) == 0
    assert "hourly trace" in capsys.readouterr().out


@pytest.mark.parametrize(("setting", "field"), [
    ("[policy]\nholding_hours = 5e-324", "policy.holding_hours"),
    ("[policy]\nholding_hours = 0.001", "policy.holding_hours"),
])
def test_check_refuses_what_the_run_cannot_compute(tmp_path, capsys, setting, field):
    """``holding_hours = 5e-324`` passed ``abm check`` and made every friction infinite."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SMALL.replace("[policy]\n", "") .replace(
        "carbon_price_usd_per_t = 100.0\n", "") + setting + "\n")
    line = one_error(capsys, ["check", str(scenario)])
    assert field in line and ">= 0.01" in line


@pytest.mark.parametrize("settings", [
    'extends = "scale"\n[regions]\nadd = []\n',  # KeyError: 'SYN-NO' at the run's start
    'extends = "default"\n[population]\ntotal_demand_mw = 1e6\n',  # the flow did not converge
])
def test_what_check_accepts_runs_to_the_end(tmp_path, capsys, settings):
    """Scenarios that passed ``abm check`` and crashed the run now run (2 hours)."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(settings + '[scenario]\nname = "s"\nhours = 2\n')
    assert main(["check", str(scenario)]) == 0, capsys.readouterr().err
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 0, \
        capsys.readouterr().err
