"""Checkpoints as data (abm/market/state.py): every changing field declared, strict restore,
tampered, truncated, copied or crafted checkpoints refused with an error naming the file, and
never a pickle loaded."""

from __future__ import annotations

import dataclasses
import io
import json
import pickle
import shutil
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from abm.config.scenario import load_scenario
from abm.errors import InputError
from abm.files import folder_lock, sha256_bytes
from abm.market import MarketModel
from abm.market.run import MANIFEST, _sealed, read_tables, run_market, summary, tables
from abm.market.state import StateError
from tests.test_market_run import RUN, Interrupt

HOURS = 10
LEARNERS = {"population.strategies": {"adaptive": 0.4, "greenest": 0.2}}
# deferrable work: the Operators' backlog is state (docs/market.md, "Deferrable work")
DEFERRAL = {"templates.batch.deferrable_share": 0.5, "templates.batch.deadline_hours": 3}
# demand-response events: the running events and their references are state (docs/market.md,
# "Demand-response events"): a schedule across the cut at hour 4, and a rule that always calls
EVENTS = {"events.cut.zone": "DE-LU", "events.cut.start_hour": 3, "events.cut.hours": 4,
          "events.cut.cut_pct": 40.0, "events.dear.zone": "FR", "events.dear.rule": "price_above",
          "events.dear.price_usd_per_mwh": 0.0, "events.dear.hours": 3,
          "events.dear.cut_pct": 20.0}


@pytest.fixture(scope="module")
def scn(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "run.toml"
    path.write_text(RUN)
    return load_scenario(path, overrides={"scenario.hours": HOURS})


def _same(a, b, where: str) -> None:
    """Assert two attribute values are equal, recursing into containers and dataclasses."""
    if isinstance(a, mesa.agent.AgentSet):
        assert sorted(x.unique_id for x in a) == sorted(x.unique_id for x in b), where
    elif isinstance(a, mesa.Agent) or isinstance(a, mesa.Model):
        assert type(a) is type(b) and a.unique_id == b.unique_id if isinstance(
            a, mesa.Agent) else True, where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif hasattr(a, "__dict__") and not callable(a):  # e.g. a strategy: its own declarations
        assert type(a) is type(b), where
        declared = {*getattr(a, "STATE", ()), *getattr(a, "SCRATCH", ())}
        for name in vars(a).keys() - declared:
            _same(getattr(a, name), getattr(b, name),
                  f"{where}.{name} (declare it in {type(a).__name__}.STATE)")
    else:
        assert a == b, where


@pytest.mark.parametrize("more", [{}, {**DEFERRAL, **EVENTS}])
def test_every_attribute_that_changes_is_declared(scn, more):
    """An attribute a step changes must be in its class's STATE (stored) or SCRATCH
    (recomputed every hour): a field added without declaring it fails here, by name."""
    scn = load_scenario(scn.source, overrides={"scenario.hours": HOURS, **LEARNERS, **more})
    fresh, stepped = MarketModel(scn), MarketModel(scn)
    assert any(op.strategy.learns for op in stepped.operators.by_index)
    for _ in range(HOURS):
        stepped.step()
    assert any(r.pending_mw for r in stepped.regions) or any(
        r.capacity_mw != f.capacity_mw for r, f in zip(stepped.regions, fresh.regions,
                                                         strict=True))
    mesa_model = set(vars(mesa.Model(rng=0)))
    mesa_agent = set(vars(mesa.Agent(mesa.Model(rng=0))))
    mesa_set = set(vars(mesa.agent.AgentSet([], random=fresh.random)))
    owned = {*MarketModel.COMPONENTS, *MarketModel.AGENT_SETS}
    pairs = [(fresh, stepped, mesa_model | owned)]
    pairs += [(getattr(fresh, c), getattr(stepped, c), set()) for c in MarketModel.COMPONENTS]
    pairs += [(getattr(fresh, s), getattr(stepped, s), mesa_set) for s in MarketModel.AGENT_SETS]
    for agent_type in fresh.agents_by_type:
        pairs += [(a, b, mesa_agent) for a, b in zip(
            sorted(fresh.agents_by_type[agent_type], key=lambda x: x.unique_id),
            sorted(stepped.agents_by_type[agent_type], key=lambda x: x.unique_id), strict=True)]
    for a, b, owned in pairs:
        cls = type(a)
        assert not set(cls.STATE) & set(cls.SCRATCH), cls.__name__
        for name in vars(a).keys() - owned - set(cls.STATE) - set(cls.SCRATCH):
            _same(getattr(a, name), getattr(b, name),
                  f"{cls.__name__}.{name} changed during the run but is not declared in "
                  f"{cls.__name__}.STATE (or SCRATCH)")


def _serialised(model: MarketModel) -> tuple[dict, dict]:
    """The model's state through the bytes a checkpoint holds (npz and JSON)."""
    arrays, meta = model.state()
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)
    with np.load(io.BytesIO(buf.getvalue()), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, json.loads(json.dumps(meta))


@pytest.mark.parametrize("market", [{"market.solver": "highs"},
                                    {"market.allocation": "proportional"}, LEARNERS,
                                    {**DEFERRAL, **LEARNERS}, {**DEFERRAL, **EVENTS}])
def test_restored_state_continues_bit_for_bit(scn, market):
    """HiGHS bases (highs), Mesa's random.Random (proportional's shuffle), what adaptive
    strategies learned, the backlog of deferrable work and the running demand-response events
    survive too."""
    scn = load_scenario(scn.source, overrides={"scenario.hours": HOURS, **market})
    whole = MarketModel(scn)
    for _ in range(HOURS):
        whole.step()
    first = MarketModel(scn)
    for _ in range(4):
        first.step()
    resumed = MarketModel(scn)
    resumed.restore(*_serialised(first))
    assert resumed.steps == 4 and resumed.time == 4.0
    for _ in range(HOURS - 4):
        resumed.step()
    assert resumed.steps == HOURS
    a, b = tables(whole), tables(resumed)
    for name in b:
        assert a[name].iloc[len(a[name]) - len(b[name]):].reset_index(drop=True).equals(
            b[name]), name
    assert summary(resumed, "complete", a["model"]) == summary(whole, "complete")


def test_missing_unknown_or_reshaped_field_is_refused(scn):
    model = MarketModel(scn)
    model.step()
    arrays, meta = _serialised(model)
    for broken, match in (
        ({k: v for k, v in arrays.items() if k != "ComputeRegion.recent"},
         "lacks ComputeRegion.recent"),
        ({**arrays, "GridZone.learned_bid": np.zeros(len(model.zones))},
         "does not know: GridZone.learned_bid"),
        ({**arrays, "operators.x_mw": arrays["operators.x_mw"][:1]},
         r"operators.x_mw is float64\[1"),
        ({**arrays, "operators.shift_mwh": arrays["operators.shift_mwh"].astype(np.float32)},
         "float32"),
        ({**arrays, "zones.generation_mw": arrays["zones.generation_mw"][:, :1]},
         r"zones.generation_mw is float64\[\d+, 1\]"),
    ):
        with pytest.raises(StateError, match=match):
            MarketModel(scn).restore(broken, meta)
    with pytest.raises(StateError, match="lacks hour"):
        MarketModel(scn).restore(arrays, {k: v for k, v in meta.items() if k != "hour"})
    with pytest.raises(StateError, match="hour is str"):
        MarketModel(scn).restore(arrays, {**meta, "hour": "3"})


# ---------------------------------------------------------------------------------------------
# Checkpoint files on disk


@pytest.fixture(scope="module")
def pristine(scn, tmp_path_factory):
    """A run interrupted after hour 5 with a checkpoint at hour 4, and its whole twin's
    summary."""
    folder = tmp_path_factory.mktemp("runs")
    whole = run_market(scn, folder / "whole", checkpoint_hours=2)
    with pytest.raises(KeyboardInterrupt):
        run_market(scn, folder / "cut", checkpoint_hours=2, progress=Interrupt(5))
    manifest = json.loads((folder / "cut" / MANIFEST).read_text())
    assert manifest["hours_done"] == 4 and manifest["checkpoint"]["file"] == \
        "checkpoint-000004.json"
    return folder / "cut", whole


@pytest.fixture
def cut(pristine, tmp_path):
    """A copy of the interrupted run to damage, and the whole run's summary."""
    shutil.copytree(pristine[0], tmp_path / "cut")
    return tmp_path / "cut", pristine[1]


def _reseal(out: Path, npz: bytes | None = None, state: dict | None = None) -> None:
    """Replace the checkpoint's arrays and/or its JSON state and fix every checksum, as a
    careful forger (or an older version of abm) would."""
    manifest = json.loads((out / MANIFEST).read_text())
    doc_path = out / manifest["checkpoint"]["file"]
    doc = json.loads(doc_path.read_text())
    if state is not None:
        doc["state"] = state
    npz = (out / doc["arrays"]).read_bytes() if npz is None else npz
    (out / doc["arrays"]).write_bytes(npz)
    doc["arrays_sha256"] = sha256_bytes(npz)
    text = (json.dumps(doc, sort_keys=True) + "\n").encode()
    doc_path.write_bytes(text)
    manifest["checkpoint"]["sha256"] = sha256_bytes(text)
    (out / MANIFEST).write_text(json.dumps(_sealed(manifest)))


def _resume(scn, out):
    return run_market(scn, out, resume=True, checkpoint_hours=2)


def test_intact_checkpoint_resumes_to_the_whole_run(scn, cut):
    out, whole = cut
    assert _resume(scn, out) == whole


@pytest.mark.parametrize("damage", ["truncate", "flip", "edit_json", "edit_manifest"])
def test_damaged_checkpoint_is_a_clear_error_naming_the_file(scn, cut, damage):
    out, _ = cut
    npz, doc = out / "checkpoint-000004.npz", out / "checkpoint-000004.json"
    if damage == "truncate":
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
        name = npz.name
    elif damage == "flip":
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 0x01
        npz.write_bytes(bytes(data))
        name = npz.name
    elif damage == "edit_json":
        doc.write_text(doc.read_text().replace('"hour": ', '"hour": 1'))
        name = doc.name
    else:
        manifest = json.loads((out / MANIFEST).read_text())
        manifest["hours_done"] = 2
        (out / MANIFEST).write_text(json.dumps(manifest))
        name = MANIFEST
    with pytest.raises(InputError, match="damaged") as err:
        _resume(scn, out)
    assert name in str(err.value)


def test_checkpoint_from_another_run_is_refused(scn, cut, tmp_path):
    out, _ = cut
    other = tmp_path / "other"
    with pytest.raises(KeyboardInterrupt):
        run_market(scn, other, seed=scn.seed + 1, checkpoint_hours=2, progress=Interrupt(5))
    for suffix in (".json", ".npz"):
        name = f"checkpoint-000004{suffix}"
        (out / name).write_bytes((other / name).read_bytes())
    with pytest.raises(InputError, match=r"checkpoint-000004.json.*damaged"):
        _resume(scn, out)
    # resealed with the other run's checksums: its identity still gives it away
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["checkpoint"] = json.loads((other / MANIFEST).read_text())["checkpoint"]
    (out / MANIFEST).write_text(json.dumps(_sealed(manifest)))
    with pytest.raises(InputError, match=r"belongs to run .* copied from elsewhere"):
        _resume(scn, out)


def test_consistently_forged_state_is_refused_not_half_used(scn, cut):
    out, _ = cut
    with np.load(out / "checkpoint-000004.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "operators.x_mw"}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _reseal(out, buf.getvalue())
    with pytest.raises(InputError, match=r"checkpoint-000004.json: state: .*lacks operators.x_mw"):
        _resume(scn, out)


class _Payload:
    """Unpickling this creates a file: proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_crafted_pickle_in_a_checkpoint_is_never_executed(scn, cut, tmp_path):
    out, _ = cut
    marker = tmp_path / "pwned"
    with np.load(out / "checkpoint-000004.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(marker)
    arrays["operators.x_mw"] = payload
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=True, **arrays)
    _reseal(out, buf.getvalue())
    assert pickle.dumps(_Payload(marker))  # the payload is a real one
    with pytest.raises(InputError, match=r"checkpoint-000004.npz.*not a readable array file"):
        _resume(scn, out)
    assert not marker.exists()
    # an old-format pickled checkpoint is not looked at either
    (out / "checkpoint.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    (out / MANIFEST).write_text(json.dumps({"status": "running", "hours_done": 4}))
    with pytest.raises(InputError, match=r"output format 1.*--restart"):
        _resume(scn, out)
    assert not marker.exists()


def test_damaged_or_foreign_table_part_is_named(scn, cut, tmp_path):
    out, _ = cut
    part = out / "tables" / "zones" / "part-000002.parquet"
    good = part.read_bytes()
    part.write_bytes(good[:-100])
    with pytest.raises(InputError, match=r"part-000002.parquet.*damaged"):
        read_tables(out)
    with pytest.raises(InputError, match=r"part-000002.parquet.*damaged"):
        _resume(scn, out)  # the model table is read back; the zones part is checked on read
    part.write_bytes(good)
    other = tmp_path / "other"
    with pytest.raises(KeyboardInterrupt):
        run_market(scn, other, seed=scn.seed + 1, checkpoint_hours=2, progress=Interrupt(5))
    manifest = json.loads((out / MANIFEST).read_text())
    theirs = json.loads((other / MANIFEST).read_text())["tables"]["zones"][1]
    part.write_bytes((other / theirs["file"]).read_bytes())
    entry = next(e for e in manifest["tables"]["zones"] if e["file"] == theirs["file"])
    entry["sha256"] = theirs["sha256"]
    (out / MANIFEST).write_text(json.dumps(_sealed(manifest)))
    with pytest.raises(InputError, match=r"part-000002.parquet.*belongs to run"):
        read_tables(out, "zones")


def test_second_writer_is_refused(scn, cut):
    out, _ = cut
    with folder_lock(out), pytest.raises(InputError, match=r"another process .* is writing"):
        _resume(scn, out)
    assert _resume(scn, out)["status"] == "complete"  # the lock is released


def test_scenario_setting_checkpoint_hours_is_refused_with_a_note(write_scenario):
    path = write_scenario(RUN.replace("[market]\n", "[market]\ncheckpoint_hours = 6\n"))
    with pytest.raises(InputError, match=r"market.checkpoint_hours: .*--checkpoint-hours"):
        load_scenario(path)


def test_the_default_scenario_technology_grid_resumes_exactly(tmp_path):
    """The shipped default (coupled technology grid cleared on HiGHS) checkpoints its state and
    resumes to the tables of an uninterrupted run."""
    scn = load_scenario()
    whole = run_market(scn, tmp_path / "whole", hours=12, checkpoint_hours=4)
    with pytest.raises(KeyboardInterrupt):
        run_market(scn, tmp_path / "cut", hours=12, checkpoint_hours=4, progress=Interrupt(6))
    assert run_market(scn, tmp_path / "cut", hours=12, checkpoint_hours=4, resume=True) == whole
    got, want = read_tables(tmp_path / "cut"), read_tables(tmp_path / "whole")
    for name in want:
        assert got[name].equals(want[name]), name


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def test_complete_run_has_one_part_per_table_however_it_was_checkpointed(scn, tmp_path):
    """Parts are appended per checkpoint (by hours or by wall time), then gathered: the
    folder ends with the same bytes at any interval."""
    run_market(scn, tmp_path / "a", checkpoint_hours=3)
    run_market(scn, tmp_path / "b", checkpoint_hours=7)
    with pytest.raises(KeyboardInterrupt):  # every hour by wall time, then cut
        run_market(scn, tmp_path / "c", checkpoint_seconds=1e-9, progress=Interrupt(6))
    assert json.loads((tmp_path / "c" / MANIFEST).read_text())["hours_done"] == 5
    assert len(list((tmp_path / "c" / "tables" / "model").glob("part-*.parquet"))) == 5
    run_market(scn, tmp_path / "c", resume=True)
    a = _files(tmp_path / "a")
    assert {k for k in a if k.startswith("tables/")} == {
        f"tables/{t}/part-complete.parquet"
        for t in ("model", "regions", "zones", "migrations", "lines", "operators")}
    assert a == _files(tmp_path / "b") == _files(tmp_path / "c")


def test_a_forged_manifest_reaches_no_file_outside_the_run(scn, cut, tmp_path):
    out, _ = cut
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["tables"]["zones"][0]["file"] = "../victim.txt"
    (out / MANIFEST).write_text(json.dumps(_sealed(manifest)))
    with pytest.raises(InputError, match=r"run\.json: tables: names a file outside"):
        _resume(scn, out)
    assert victim.read_text() == "keep me"


def test_a_checkpoint_of_the_older_state_layout_is_refused_with_a_hint(scn, cut):
    """A checkpoint written before the market's arrays moved to their agent sets (layout 1, no
    ``version`` in its state) is refused by name, with the way out, never half restored."""
    out, _ = cut
    doc = json.loads((out / "checkpoint-000004.json").read_text())
    old = {k: v for k, v in doc["state"].items() if k != "version"}
    _reseal(out, state=old)
    with pytest.raises(InputError, match=r"checkpoint-000004.json: state: cannot be restored "
                       r"\(it holds the model's state in layout 1, and this version of abm reads "
                       r"layout 2: .*\): run it again with --restart"):
        _resume(scn, out)


def test_agents_read_and_write_their_row_of_the_set(scn):
    """State follows behaviour: an agent's attribute is its row of its agent set's array."""
    model = MarketModel(scn)
    model.step()
    region = model.regions.by_index[2]
    assert region.capacity_mw == model.regions.capacity_mw[2]
    region.capacity_mw = 99.0
    assert model.regions.capacity_mw[2] == 99.0
    op = model.operators.by_index[1]
    assert np.shares_memory(op.x_mw, model.operators.x_mw)
    np.testing.assert_array_equal(op.x_mw, model.operators.x_mw[1])
    zone = model.zones.by_index[0]
    assert zone.price_usd_per_mwh == model.zones.price_usd_per_mwh[0]
    np.testing.assert_array_equal(zone.generation_mw, model.zones.generation_mw[0])


@pytest.mark.parametrize("market", [{"market.solver": "highs"}, LEARNERS])
def test_a_pickled_model_continues_bit_for_bit(scn, market):
    """The agent sets pickle with their arrays (and the HiGHS engine without its live
    models): a copy made mid-run ends as the original does."""
    scn = load_scenario(scn.source, overrides={"scenario.hours": HOURS, **market})
    model = MarketModel(scn)
    for _ in range(4):
        model.step()
    copy = pickle.loads(pickle.dumps(model))
    for m in (model, copy):
        for _ in range(HOURS - 4):
            m.step()
    a, b = tables(model), tables(copy)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
