"""The one run loop (abm.market.loop.run): every face that runs the market steps it through
``run``, in one go or in pieces, and reads the results from the model's DataCollector."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from abm.config.scenario import load_scenario
from abm.market import MarketModel
from abm.market.loop import run
from abm.market.run import read_tables, run_market, summary, tables
from abm.report.results import simulate_scenario
from tests.test_market_run import RUN

ABM = Path(__file__).resolve().parents[1] / "abm"


@pytest.fixture
def scenario(write_scenario):
    return load_scenario(write_scenario(RUN))


def test_run_steps_to_the_end_and_calls_on_step_after_every_hour(scenario):
    model = MarketModel(scenario)
    seen = []
    assert run(model, on_step=lambda m: seen.append((m is model, int(m.steps)))) == 12
    assert seen == [(True, h) for h in range(1, 13)]
    assert run(model) == 0 and model.steps == 12  # nothing left: never past the last hour


def test_run_in_pieces_never_passes_the_last_hour(scenario):
    model = MarketModel(scenario)
    assert [run(model, 5), run(model, 0), run(model, 4), run(model, 100)] == [5, 0, 4, 3]
    assert model.steps == model.hours == 12
    with pytest.raises(ValueError, match="hours must be >= 0"):
        run(model, -1)


def test_a_run_in_pieces_collects_what_one_run_collects(scenario):
    """The dashboard steps a few hours at a time; its tables are those of one call."""
    whole, pieces = MarketModel(scenario), MarketModel(scenario)
    run(whole)
    while run(pieces, 5):
        pass
    for name, df in tables(whole).items():
        pd.testing.assert_frame_equal(tables(pieces)[name], df, check_exact=True)
    assert summary(pieces, "complete") == summary(whole, "complete")


def test_the_cli_writer_the_api_and_the_loop_agree(scenario, tmp_path):
    """``abm run`` (checkpointing in its ``on_step``) and ``abm.simulate`` give the tables of a
    plain ``run``, to the bit."""
    model = MarketModel(scenario)
    run(model)
    written = run_market(scenario, tmp_path / "out", checkpoint_hours=5)
    in_memory = simulate_scenario(scenario)
    reference = summary(model, "complete")
    assert written == reference and in_memory.summary == reference
    stored = read_tables(tmp_path / "out")
    for name, df in tables(model).items():
        pd.testing.assert_frame_equal(stored[name], df, check_exact=True, check_dtype=False)
        pd.testing.assert_frame_equal(in_memory.tables[name], df, check_exact=True)


def _steps_a_model(call: ast.Call) -> bool:
    """Whether ``call`` is ``<...>model.step()``."""
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "step" and not call.args
            and ast.unparse(func.value).split(".")[-1] == "model")


def test_only_the_loop_steps_the_model():
    """No face writes a loop of its own: ``model.step()`` is called in abm/market/loop.py only
    (Mesa calls it there; the faces call ``run``)."""
    callers = sorted(str(path.relative_to(ABM.parent)) for path in ABM.rglob("*.py")
                     for node in ast.walk(ast.parse(path.read_text()))
                     if isinstance(node, ast.Call) and _steps_a_model(node))
    assert callers == ["abm/market/loop.py"]
