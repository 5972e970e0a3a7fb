"""Registries (abm.config.registry): one source of truth for what a scenario may choose. A newly
registered entry is accepted by the validator, used by the market, listed by ``--help``, the
dashboard and the error messages; docs/scenarios.md names every shipped entry."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from scipy.optimize import linprog

from abm.cli import build_parser
from abm.config.registry import (
    ALLOCATION_RULES,
    FORECAST_MODES,
    GRID_RESPONSES,
    PLACEMENT_ENGINES,
    REGISTRIES,
    RENT_RULES,
    Registry,
    UnknownName,
)
from abm.config.scenario import load_scenario
from abm.core.problem import PlacementProblem
from abm.dashboard.state import forecast_choices
from abm.errors import InputError
from abm.grid.responses import CalibratedStacks, Dispatch
from abm.market import ComputeRegion, MarketModel
from abm.market.engines import PlacementEngine
from tests.conftest import SMALL

DOCS = Path(__file__).resolve().parents[1] / "docs"
HOURS = 3


@pytest.fixture
def registered():
    """Register entries for one test and withdraw them afterwards."""
    added: list[tuple[Registry, str]] = []

    def add(registry: Registry, name: str, description: str, obj) -> None:
        registry.register(name, description, obj)
        added.append((registry, name))

    yield add
    for registry, name in added:
        registry.unregister(name)


def run(write_scenario, market: str = "", forecast: str = "perfect", regions: str = ""
        ) -> MarketModel:
    text = SMALL.replace("warmup_usd_per_mw = 10.0",
                         f'warmup_usd_per_mw = 10.0\nforecast = "{forecast}"')
    model = MarketModel(load_scenario(write_scenario(text + regions + "\n[market]\n" + market)))
    for _ in range(HOURS):
        model.step()
    return model


def test_a_registered_rent_rule_is_accepted_and_runs(write_scenario, registered):
    registered(RENT_RULES, "plus_one", "one $/MWh more every hour",
               lambda rent, utilisation, market: rent + 1.0)
    start = run(write_scenario)
    model = run(write_scenario, 'pricing = "plus_one"')
    before = {r.region_id: r.rent_usd_per_mwh for r in start.agents_by_type[ComputeRegion]}
    for region in model.agents_by_type[ComputeRegion]:
        assert region.rent_usd_per_mwh == pytest.approx(before[region.region_id] + HOURS)


def test_a_registered_grid_response_is_accepted_and_runs(write_scenario, registered):
    class DoubledPrice(CalibratedStacks):
        def clear(self, dc_mw: np.ndarray) -> Dispatch:
            d = super().clear(dc_mw)
            return dataclasses.replace(d, price_usd_per_mwh=2 * d.price_usd_per_mwh)

    registered(GRID_RESPONSES, "doubled_price", "calibrated stacks at twice the price",
               lambda scenario, base, stamps: DoubledPrice(scenario, base, "merit_order"))
    base = run(write_scenario, 'grid_response = "calibrated"\npricing = "fixed"')
    model = run(write_scenario, 'grid_response = "doubled_price"\npricing = "fixed"')
    # the same zone loads clear at twice the price (operators' moves aside, prices scale)
    zero = np.zeros(len(model.zones))
    np.testing.assert_allclose(model.grid.clear(zero).price_usd_per_mwh,
                               2 * base.grid.clear(zero).price_usd_per_mwh)


def test_a_registered_allocation_rule_and_forecast_mode_are_used(write_scenario, registered):
    calls = {"allocation": 0, "forecast": 0}

    def counted_first_come(model) -> None:
        calls["allocation"] += 1
        ALLOCATION_RULES["first_come"](model)

    def counted_perfect(quotes, last, n, model) -> np.ndarray:
        calls["forecast"] += 1
        return FORECAST_MODES["perfect"](quotes, last, n, model)

    registered(ALLOCATION_RULES, "counted", "first come, counted", counted_first_come)
    registered(FORECAST_MODES, "counted", "perfect, counted", counted_perfect)
    base = run(write_scenario)
    model = run(write_scenario, 'allocation = "counted"', forecast="counted")
    assert calls == {"allocation": HOURS, "forecast": HOURS}
    np.testing.assert_array_equal(model.operators.x_mw, base.operators.x_mw)


class Linprog(PlacementEngine):
    """A placement engine by ``scipy.optimize.linprog`` (docs/model.md section 3, with the
    friction as a column m >= x - x_prev), one operator at a time: no tie rule, no walk."""

    calls: ClassVar[list[int]] = []

    def solve(self, o: int, problem: PlacementProblem) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(o)
        p = problem
        n_k, n_r = p.cost_usd_per_mwh.shape
        nx = n_k * n_r
        cost = np.where(p.feasible, p.cost_usd_per_mwh, 0.0).ravel()
        c = np.concatenate([cost, p.friction_usd_per_mw.ravel(), np.full(n_k, p.voll_usd_per_mwh)])
        a_eq = np.hstack([np.kron(np.eye(n_k), np.ones(n_r)), np.zeros((n_k, nx)), np.eye(n_k)])
        finite = np.isfinite(p.capacity_mw)
        a_ub = np.vstack([np.hstack([np.eye(nx), -np.eye(nx), np.zeros((nx, n_k))]),
                          np.hstack([np.kron(np.ones(n_k), np.eye(n_r)),
                                     np.zeros((n_r, nx + n_k))])[finite]])
        b_ub = np.concatenate([p.incumbent_mw.ravel(), p.capacity_mw[finite]])
        bounds = [(0, None if f else 0) for f in p.feasible.ravel()] + [(0, None)] * (nx + n_k)
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=p.demand_mw, bounds=bounds,
                      method="highs")
        assert res.status == 0, res.message
        return res.x[:nx].reshape(n_k, n_r), res.x[2 * nx:]


def test_a_registered_placement_engine_is_accepted_and_runs(write_scenario, registered):
    """An engine registered by name is validated, listed, and solves every LP of the market
    (operators one at a time: it does not walk); where the optimum is unique its placements
    are the shipped flow's."""
    registered(PLACEMENT_ENGINES, "linprog", "scipy's linprog, one operator at a time", Linprog)
    Linprog.calls.clear()
    base = run(write_scenario, 'solver = "flow"')
    model = run(write_scenario, 'solver = "linprog"')
    assert isinstance(model.operators.engine, Linprog) and not model.operators.engine.walks
    assert Linprog.calls == [0] * HOURS and model.operators.lp_solves == HOURS
    np.testing.assert_allclose(model.operators.x_mw, base.operators.x_mw, atol=1e-7)
    assert model.operators.x_mw.sum() == pytest.approx(10.0)  # one hour's demand, served
    with pytest.raises(InputError, match=r"market\.solver.*allowed: flow, highs, linprog"):
        load_scenario(write_scenario(SMALL + '\n[market]\nsolver = "simplex"\n'))


def test_unknown_names_list_what_is_registered(write_scenario, registered):
    registered(RENT_RULES, "plus_one", "one $/MWh more every hour", lambda r, u, m: r + 1)
    with pytest.raises(InputError, match=r"market\.pricing.*allowed: fixed, "
                       r"utilisation_target, plus_one"):
        load_scenario(write_scenario(SMALL + '\n[market]\npricing = "plus_two"\n'))
    with pytest.raises(UnknownName, match=r"unknown rent rule 'plus_two'.*plus_one"):
        RENT_RULES["plus_two"]
    assert issubclass(UnknownName, KeyError) and issubclass(UnknownName, ValueError)


def test_help_and_dashboard_menus_read_the_registries(registered, capsys):
    registered(FORECAST_MODES, "oracle", "knows the future", lambda q, last, n, m: q)
    registered(RENT_RULES, "plus_one", "one $/MWh more every hour", lambda r, u, m: r + 1)
    assert forecast_choices()[1:] == FORECAST_MODES.names()
    assert "oracle" in forecast_choices()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["check", "--help"])
    out = capsys.readouterr().out
    for registry in REGISTRIES:
        assert registry.field in out
        for name in registry.names():
            assert f"{name}: {registry.description(name)}" in out


def test_docs_name_every_shipped_entry():
    text = (DOCS / "scenarios.md").read_text()
    for registry in REGISTRIES:
        for name in registry.names():
            assert f"`{name}`" in text, f"docs/scenarios.md does not name {registry.kind} {name}"


def test_registration_rejects_clashes_and_bad_names():
    reg: Registry[int] = Registry("widget", "x.widget")
    reg.register("a", "the first", 1)
    reg.register("a", "the first", 1)  # the same object again is harmless
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", "another", 2)
    with pytest.raises(ValueError, match="letters, digits"):
        reg.register("a b", "spaced", 3)
    with pytest.raises(ValueError, match="description"):
        reg.register("b", " ", 3)
    assert reg.names() == ("a",) and "a" in reg and len(reg) == 1


def test_the_documented_rent_rule_snippet_works(write_scenario):
    text = (DOCS / "extending.md").read_text()
    snippet = next(block.split("```", 1)[0] for block in text.split("```python\n")[1:]
                   if "RENT_RULES.register" in block)
    try:
        exec(snippet, {})
        model = run(write_scenario, 'pricing = "scarcity"\nrent_floor_usd_per_mwh = 2.0')
        regions = list(model.agents_by_type[ComputeRegion])
        for r in regions:  # the rule of this hour's utilisation
            assert r.rent_usd_per_mwh == pytest.approx(2.0 + 100.0 * r.utilisation**4)
        assert max(r.utilisation for r in regions) > 0.1
    finally:
        RENT_RULES.unregister("scarcity")
