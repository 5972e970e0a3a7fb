"""The tie rule of the coupled clearing (abm/grid/ties.py, docs/grid.md "Ties"): hand-solved
ties, the least tie cost against an independent lexicographic solve (scipy's linprog, interior
point), and the same per-zone answer from models whose rows and columns come in another order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import abm.grid.clearing as clearing
from abm.data.grid_tables import TECHNOLOGIES
from abm.grid.clearing import Network
from abm.grid.market import GridMarket
from abm.grid.ties import tie_costs
from tests.grid_systems import PRICE_CAP, fleet

COAL, GAS = TECHNOLOGIES.index("coal"), TECHNOLOGIES.index("gas_ccgt")
TECHS = ("nuclear", "coal", "gas_ccgt", "gas_ocgt", "oil")


def grid(units: list[dict], lines: list[tuple[str, int, int, float, float]], n_zones: int
         ) -> GridMarket:
    """A market of hand-given units (as ``tests.grid_systems.fleet``) and named lines
    (id, from, to, forward MW, backward MW), every unit available in full."""
    network = Network(tuple(ln[0] for ln in lines),
                      np.array([ln[1:3] for ln in lines], dtype=np.int64).reshape(-1, 2),
                      np.array([ln[3:] for ln in lines], dtype=float).reshape(-1, 2), n_zones)
    return GridMarket(fleet(units, n_zones), network, np.ones((n_zones, 12, 24)),
                      np.ones(n_zones), np.zeros(n_zones), PRICE_CAP)


def test_equal_offers_across_a_line_least_flow():
    """Zone A: coal, 100 MW at 50 $/MWh (1,000 kg/MWh); zone B: gas, 50 MW at 50 $/MWh (400
    kg/MWh); one line A-B of 100 MW each way; loads 20 and 80 MW. Every split of the 100 MW
    between the two units costs 5,000 $; the least line flow has B's unit full (50 MW) and A
    sending the other 30: A 50 MW (50,000 kg), B 50 MW (20,000 kg), flow 30, not congested.
    (Serving B from A alone would flow 80 MW and emit 100,000 kg.)"""
    m = grid([dict(zone=0, tech="coal", mw=100, fuel=50, co2=1.0),
              dict(zone=1, tech="gas_ccgt", mw=50, fuel=50, co2=0.4)],
             [("A-B", 0, 1, 100.0, 100.0)], 2)
    d = m.clear(np.array([20.0, 80.0]))
    assert d.cost_usd == pytest.approx(5000.0)
    assert d.generation_mw[:, COAL] == pytest.approx([50.0, 0.0])
    assert d.generation_mw[:, GAS] == pytest.approx([0.0, 50.0])
    assert d.flow_mw == pytest.approx([30.0])
    assert d.emissions_kg == pytest.approx([50_000.0, 20_000.0])
    assert d.congested.tolist() == [False]
    assert d.price_usd_per_mwh == pytest.approx([50.0, 50.0])


def test_equal_routes_go_over_the_line_first_by_id():
    """Hub H: 100 MW at 10 $/MWh and no load; A and B: gas at 50 $/MWh (100 MW each) and 80 MW of
    load each; lines H-A and H-B of 100 MW. The optimum sends all 100 cheap MW out and makes 60 MW
    of gas: H-A carries x, H-B 100 - x, 20 <= x <= 80, 100 MW of flow whatever x. Tie cost
    (2 lines: rho = 1/8 for H-A, the first by id, 1/4 for H-B): 9/8 x + 5/4 (100 - x) falls
    with x, so H-A carries 80 MW, H-B 20: A makes nothing, B 60 MW."""
    m = grid([dict(zone=0, tech="nuclear", mw=100, fuel=10),
              dict(zone=1, tech="gas_ccgt", mw=100, fuel=50, co2=0.4),
              dict(zone=2, tech="gas_ccgt", mw=100, fuel=50, co2=0.4)],
             [("H-B", 0, 2, 100.0, 100.0), ("H-A", 0, 1, 100.0, 100.0)], 3)
    d = m.clear(np.array([0.0, 80.0, 80.0]))
    assert d.cost_usd == pytest.approx(100 * 10.0 + 60 * 50.0)
    assert d.flow_mw == pytest.approx([20.0, 80.0])  # H-B, H-A
    assert d.generation_mw[:, GAS] == pytest.approx([0.0, 0.0, 60.0])


def test_least_total_flow_comes_before_the_line_order():
    """The rule is a priority order, not a trade-off: the line order decides only among
    dispatches of equal total flow. Hub H: 100 MW at 10 $/MWh, no load; A: 50 MW of load and
    gas at 50 $/MWh; B: nothing. Lines 'a' (H-B), 'b' (B-A) and 'z' (H-A), 100 MW each. The 50
    cheap MW reach A directly over 'z', the last line by id (tie cost 50 x (1 + 1/4)), or over
    'a' and 'b', the first two (100 MW of flow: 50 x (1 + 1/16) + 50 x (1 + 1/8)): the least
    total flow wins, whatever the lines' order."""
    m = grid([dict(zone=0, tech="nuclear", mw=100, fuel=10),
              dict(zone=1, tech="gas_ccgt", mw=50, fuel=50, co2=0.4)],
             [("z", 0, 1, 100.0, 100.0), ("a", 0, 2, 100.0, 100.0),
              ("b", 2, 1, 100.0, 100.0)], 3)
    d = m.clear(np.array([0.0, 50.0, 0.0]))
    assert d.cost_usd == pytest.approx(50 * 10.0)
    assert d.flow_mw == pytest.approx([50.0, 0.0, 0.0])  # z, a, b


def test_equal_offers_in_one_zone_follow_the_technology_order():
    """Zone A, coupled to B by a line, holds coal and gas at 50 $/MWh (50 MW each) and 30 MW of
    load; B has nothing. No flow is needed; coal comes before gas in the technology order, so
    coal makes the 30 MW, as the merit order of an isolated zone would settle it."""
    m = grid([dict(zone=0, tech="gas_ccgt", mw=50, fuel=50, co2=0.4),
              dict(zone=0, tech="coal", mw=50, fuel=50, co2=1.0)],
             [("A-B", 0, 1, 10.0, 10.0)], 2)
    d = m.clear(np.array([30.0, 0.0]))
    assert d.generation_mw[0, COAL] == pytest.approx(30.0)
    assert d.generation_mw[0, GAS] == pytest.approx(0.0)
    assert d.flow_mw == pytest.approx([0.0])


def test_tie_costs_by_hand():
    """Two components: zones 0-1-2 with lines 'b' (0-1) and 'a' (1-2), zones 3-4 with line 'c';
    zone 0 holds two units (technology 8, then 6), zone 1 one. rho: 'a' 2^-3, 'b' 2^-2 (L = 2),
    'c' 2^-2 (L = 1); unit ranks in zone 0 (L = 2, n = 2): 0 for technology 6, 2^-3 / 3 for 8,
    2 x 2^-3 / 3 for its unserved load; zone 1: 0 and 2^-3 / 2."""
    unit_w, line_w, shed_w, n_lines = tie_costs(
        np.array([0, 0, 1]), np.array([[8, 1], [6, 1], [2, 1]]),
        np.array([[0, 1], [1, 2], [3, 4]]), ["b", "a", "c"], np.array([0, 0, 0, 1, 1]))
    assert n_lines.tolist() == [2, 1]
    assert line_w == pytest.approx([1.25, 1.125, 1.25])
    assert unit_w == pytest.approx([2 ** -3 / 3, 0.0, 0.0])
    assert shed_w == pytest.approx([2 * 2 ** -3 / 3, 2 ** -3 / 2, 0.0, 0.0, 0.0])


def test_safe_weights_by_hand():
    """Component 0 (2 lines): offers 10, 10 + 1e-10 (within 1e-9 of the largest cost, 100: a
    tie), 12, 15 and the price cap 100: smallest gap 2, eps = 0.5 x 2 / 3.5; component 1 (1
    line): 5, 5 and the cap: gap 95, eps = 0.5 x 95 / 2.5; component 2 (no line) has only the
    cap: no gap, eps = 0.5 x 1 / 1.5."""
    from abm.grid.ties import safe_weights

    eps = safe_weights(np.array([10.0, 100.0, 12.0, 10.0 + 1e-10, 15.0, 5.0, 5.0, 100.0, 100.0]),
                       np.array([0, 0, 0, 0, 0, 1, 1, 1, 2]), np.array([2, 1, 0]), 100.0)
    assert eps == pytest.approx([1.0 / 3.5, 47.5 / 2.5, 0.5 / 1.5])


# --- random systems full of ties ------------------------------------------------------------------


def tied_system(rng: np.random.Generator, n_zones: int, n_lines: int):
    """Units whose offers come from four values (ties across zones everywhere), lines between
    random pairs (loops where there are enough), named at random."""
    units = [dict(zone=z, tech=TECHS[t], mw=float(rng.uniform(5, 100)),
                  fuel=float(rng.choice([10.0, 20.0, 30.0, 40.0])), co2=float(rng.uniform(0, 1)))
             for z in range(n_zones) for t in rng.permutation(len(TECHS))[:rng.integers(1, 4)]]
    pairs = [(a, b) for a in range(n_zones) for b in range(a + 1, n_zones)]
    lines = [(f"L{rng.integers(1000):03d}-{i}", *pairs[k], float(rng.uniform(1, 60)),
              float(rng.uniform(1, 60)))
             for i, k in enumerate(rng.permutation(len(pairs))[:n_lines])]
    return units, lines


def lexicographic(units, lines, n_zones, load):
    """The documented rule solved independently: scipy's interior-point linprog minimises the
    offer cost, then the tie cost (the weights of ``tie_costs``) subject to the offer cost at
    its minimum. Returns generation per unit and flow per line."""
    nu, nl = len(units), len(lines)
    zone = np.array([u["zone"] for u in units])
    ends = np.array([ln[1:3] for ln in lines], dtype=np.int64).reshape(-1, 2)
    # an isolated zone is a component of its own with no line: its units in technology order,
    # as its merit order settles equal offers
    component = np.arange(n_zones)
    net = Network(tuple(ln[0] for ln in lines), ends, np.zeros((nl, 2)), n_zones)
    for comp in net.components():
        component[comp] = n_zones + comp[0]
    component = np.unique(component, return_inverse=True)[1]
    key = np.array([[TECHNOLOGIES.index(u["tech"]), 1] for u in units])
    unit_w, line_w, shed_w, _ = tie_costs(zone, key, ends, [ln[0] for ln in lines], component)
    a = np.zeros((n_zones, nu + 2 * nl + n_zones))
    a[zone, np.arange(nu)] = 1.0
    for j, (f, t) in enumerate(ends):
        a[f, nu + j], a[t, nu + j] = -1.0, 1.0
        a[f, nu + nl + j], a[t, nu + nl + j] = 1.0, -1.0
    a[:, nu + 2 * nl:] = np.eye(n_zones)
    cost = np.concatenate([[u["fuel"] for u in units], np.zeros(2 * nl),
                           np.full(n_zones, PRICE_CAP)])
    tie = np.concatenate([unit_w, line_w, line_w, shed_w])
    bounds = ([(0, u["mw"]) for u in units] + [(0, ln[3]) for ln in lines]
              + [(0, ln[4]) for ln in lines] + [(0, None)] * n_zones)
    first = linprog(cost, A_eq=a, b_eq=load, bounds=bounds, method="highs-ipm")
    assert first.status == 0
    second = linprog(tie, A_ub=cost[None, :], b_ub=[first.fun + 1e-9 * max(1.0, first.fun)],
                     A_eq=a, b_eq=load, bounds=bounds, method="highs-ipm")
    assert second.status == 0
    x = second.x
    return x[:nu], x[nu:nu + nl] - x[nu + nl:nu + 2 * nl]


def unit_generation(d, units) -> np.ndarray:
    """Per unit (one a zone and technology) from the dispatch's generation by technology."""
    return np.array([d.generation_mw[u["zone"], TECHNOLOGIES.index(u["tech"])] for u in units])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_zones=st.integers(2, 5), n_lines=st.integers(1, 7))
def test_least_tie_cost_equals_an_independent_lexicographic_solve(seed, n_zones, n_lines):
    """On random systems full of equal offers and loops, the clearing's dispatch (two loads of
    one hour: the second may keep the first's basis) is the one linprog finds by minimising
    the offer cost, then the tie cost: generation of every unit and flow of every line."""
    rng = np.random.default_rng(seed)
    units, lines = tied_system(rng, n_zones, n_lines)
    m = grid(units, lines, n_zones)
    first = rng.uniform(0, 150, n_zones)
    for load in (first, first * rng.uniform(0.8, 1.2, n_zones)):
        d = m.clear(load)
        gen, flow = lexicographic(units, lines, n_zones, load)
        assert unit_generation(d, units) == pytest.approx(gen, abs=1e-4)
        assert d.flow_mw == pytest.approx(flow, abs=1e-4)


def relabelled(rng: np.random.Generator, units, lines, n_zones):
    """The same system with zones renumbered, units and lines in another order and some lines
    reversed (from and to swapped, forward and backward capacities too); returns it, the new
    zone of each old zone, the order of the units and lines, and which lines were reversed."""
    zone = rng.permutation(n_zones)
    unit_order = rng.permutation(len(units))
    line_order = rng.permutation(len(lines))
    flip = rng.random(len(lines)) < 0.5
    new_units = [{**units[i], "zone": int(zone[units[i]["zone"]])} for i in unit_order]
    new_lines = []
    for i in line_order:
        name, a, b, fwd, back = lines[i]
        new_lines.append((name, int(zone[b]), int(zone[a]), back, fwd) if flip[i]
                         else (name, int(zone[a]), int(zone[b]), fwd, back))
    return new_units, new_lines, zone, unit_order, line_order, flip


def cost_only(units, lines, n_zones, load) -> np.ndarray:
    """Generation per unit of the offer cost's optimum alone (linprog, dual simplex): where
    optima tie, whichever vertex the pivoting reaches."""
    nu, nl = len(units), len(lines)
    a = np.zeros((n_zones, nu + nl + n_zones))
    for i, u in enumerate(units):
        a[u["zone"], i] = 1.0
    for j, (_, f, t, _, _) in enumerate(lines):
        a[f, nu + j], a[t, nu + j] = -1.0, 1.0
    a[:, nu + nl:] = np.eye(n_zones)
    cost = np.concatenate([[u["fuel"] for u in units], np.zeros(nl), np.full(n_zones, PRICE_CAP)])
    bounds = ([(0, u["mw"]) for u in units] + [(-ln[4], ln[3]) for ln in lines]
              + [(0, None)] * n_zones)
    res = linprog(cost, A_eq=a, b_eq=load, bounds=bounds, method="highs-ds")
    assert res.status == 0
    return res.x[:nu]


def test_relabelled_models_agree_zone_by_zone_where_cost_alone_does_not():
    """Forty random tie-rich systems, each cleared as given and relabelled (zones renumbered,
    units and lines reordered, lines reversed): the clearings agree on every unit's generation
    and every line's flow. The offer cost alone, solved the same two ways, disagrees on some
    units' generation in many of them: the optima tie, and the tie rule settles them."""
    rng = np.random.default_rng(2024)
    differed = 0
    for _ in range(40):
        n_zones = int(rng.integers(3, 6))
        units, lines = tied_system(rng, n_zones, int(rng.integers(2, 7)))
        new_units, new_lines, zone, unit_order, line_order, flip = relabelled(
            rng, units, lines, n_zones)
        load = rng.uniform(0, 150, n_zones)
        new_load = np.empty(n_zones)
        new_load[zone] = load
        d = grid(units, lines, n_zones).clear(load)
        e = grid(new_units, new_lines, n_zones).clear(new_load)
        assert unit_generation(e, new_units) == pytest.approx(
            unit_generation(d, units)[unit_order], abs=1e-6)
        assert e.flow_mw == pytest.approx(
            np.where(flip[line_order], -1.0, 1.0) * d.flow_mw[line_order], abs=1e-6)
        assert e.emissions_kg[zone] == pytest.approx(d.emissions_kg, abs=1e-3)
        assert e.congested.tolist() == d.congested[line_order].tolist()
        plain = cost_only(units, lines, n_zones, load)
        plain_new = cost_only(new_units, new_lines, n_zones, new_load)
        differed += not np.allclose(plain_new, plain[unit_order], atol=1e-6)
    assert differed >= 5, differed


@pytest.mark.parametrize("weight", [1e6, 0.0], ids=["unsafe-weight", "no-weight"])
def test_the_checks_settle_what_the_weight_cannot(monkeypatch, weight):
    """With a weight far above safe (the weighted optimum trades offer cost for tie cost) or
    none (HiGHS returns any cost optimum), the checks catch it and the clearing still returns
    the rule's dispatch: the offer cost alone, then the least tie cost over its optima."""
    rng = np.random.default_rng(5)
    cases = []
    for _ in range(12):
        n_zones = int(rng.integers(2, 5))
        units, lines = tied_system(rng, n_zones, int(rng.integers(1, 6)))
        cases.append((units, lines, n_zones, rng.uniform(0, 150, n_zones)))
    expected = [grid(u, ln, n).clear(load) for u, ln, n, load in cases]
    monkeypatch.setattr(clearing, "safe_weights",
                        lambda offers, component, n_lines, scale: np.full(len(n_lines), weight))
    settled = 0
    for (units, lines, n_zones, load), d in zip(cases, expected, strict=True):
        m = grid(units, lines, n_zones)
        e = m.clear(load)
        assert e.cost_usd == pytest.approx(d.cost_usd, rel=1e-9)
        assert e.generation_mw == pytest.approx(d.generation_mw, abs=1e-6)
        assert e.flow_mw == pytest.approx(d.flow_mw, abs=1e-6)
        assert e.price_usd_per_mwh == pytest.approx(d.price_usd_per_mwh, abs=1e-6)
        settled += m._lp.tie_lp.calls
    assert settled > 0
