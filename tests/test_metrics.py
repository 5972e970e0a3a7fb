"""Unit costs, frictions and the operational metrics (docs/model.md sections 3-4), by hand.

The world is the pinned one of ``tests.test_masks`` restricted to three regions:

    region        jur  PUE  egress $/GB  rent  price  avg  marginal   RTT from fra / lon
    eu-frankfurt  EU   1.5  0.10         2     100    400  600          0 / 10
    uk-london     UK   1.0  0.20         5      80    200  300         10 /  0
    us-east-va    US   1.2  0.05         0      40    300  500         90 / 80

Policy carbon price 50 $/t, 100 $/t in the UK; the operator adds 10 $/t internally, so
tau = (60, 110, 60) $/t. Operator: latency penalty 0.01 $/ms/MWh, warm-up 200 $/MW, switching
fee 30 $/MW. Classes: b1 (template batch) from berlin (fra, access 5 ms), 10 MW, egress 20 GB/MWh,
state 50 GB/MW; c1 (template chat) from the London metro (access 5 ms), 5 MW, egress 10 GB/MWh,
no state.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from abm.config.scenario import load_scenario
from abm.core.costs import energy_cost, friction, placement_carbon, unit_cost
from abm.core.instance import compile_scenario
from abm.core.metrics import (
    break_even_horizon_h,
    break_even_spread_usd_per_mwh,
    cost_breakdown,
    emissions_kg,
    layer_of,
    layer_shares,
    layer_shares_by_kind,
    pairwise_saving_usd_per_mwh,
    realised_relocation,
    returns_on_latency,
    shift_index,
    shift_matrix,
    zone_load_mwh,
)
from abm.core.placement import Placement
from abm.core.signals import Signals, mean_signals
from abm.market.energy import energy_and_carbon
from tests.test_masks import FRA, LON, VA, klass, operator, world

THREE = (FRA, LON, VA)
TEMPLATES = {"batch": {"stateful": False}, "chat": {"stateful": False}}


def text(policy=None, regional_rtt_ms=50.0, **op_attrs):
    attrs = {"internal_carbon_price_usd_per_t": 10.0, "latency_penalty_usd_per_ms_mwh": 0.01,
             "warmup_usd_per_mw": 200.0,
             "migration_fee_usd_per_mw": 30.0, **op_attrs}
    attrs = {k: v for k, v in attrs.items() if v is not None}
    op = operator("op",
                  klass("b1", "berlin", 10.0, egress=20.0, state=50.0, template="batch"),
                  klass("c1", LON, 5.0, egress=10.0, template="chat"),
                  **attrs)
    pol = {"carbon_price_usd_per_t": 50.0, **(policy or {})}
    return world(op, regions=THREE, policy=pol, carbon_by_jurisdiction={"UK": 100.0},
                 templates=TEMPLATES, regional_rtt_ms=regional_rtt_ms)


@pytest.fixture
def build(write_scenario):
    def go(**kw):
        scn = load_scenario(write_scenario(text(**kw)))
        return compile_scenario(scn), scn

    return go


# Hand placement: b1 (origin fra) 6 / 3 / 1, c1 (origin lon) 1 / 4 / 0.
X = np.array([[[6.0, 3.0, 1.0], [1.0, 4.0, 0.0]]])


# --- costs ----------------------------------------------------------------------------------------


def test_carbon_price_by_jurisdiction_plus_internal(build):
    inst, _ = build()
    assert_allclose(inst.policy.carbon_price_usd_per_t, [[60.0, 110.0, 60.0]])
    inst, _ = build(internal_carbon_price_usd_per_t=0.0)
    assert_allclose(inst.policy.carbon_price_usd_per_t, [[50.0, 100.0, 50.0]])


def test_unit_cost_by_hand_marginal_signal(build):
    """c = PUE (price + tau mu/1000) + rent + egress g [off origin] + 0.01 * network RTT.

    b1: fra 1.5 (100 + 60*0.6) + 2 + 0 + 0.05 = 206.05
        lon 1.0 (80 + 110*0.3) + 5 + 20*0.2 + 0.15 = 122.15
        va  1.2 (40 + 60*0.5) + 0 + 20*0.05 + 0.95 = 85.95
    c1: fra 206 + 10*0.1 + 0.15 = 207.15; lon 118 + 0 + 0.05 = 118.05; va 84 + 0.5 + 0.85 = 85.35
    """
    inst, scn = build()
    c = unit_cost(inst, mean_signals(scn))
    assert c.shape == (1, 2, 3)
    assert_allclose(c[0, 0], [206.05, 122.15, 85.95], rtol=1e-12)
    assert_allclose(c[0, 1], [207.15, 118.05, 85.35], rtol=1e-12)


def test_unit_cost_by_hand_average_signal(build):
    """b1 on average carbon: fra 1.5 (100 + 60*0.4) + 2.05 = 188.05;
    lon 80 + 110*0.2 + 5 + 4 + 0.15 = 111.15; va 1.2 (40 + 60*0.3) + 1 + 0.95 = 71.55."""
    inst, scn = build(policy={"placement_signal": "average"})
    assert_allclose(unit_cost(inst, mean_signals(scn))[0, 0], [188.05, 111.15, 71.55], rtol=1e-12)


def test_unit_cost_egress_scale_and_explicit_rent(build):
    """egress_scale 2 doubles the egress term: lon 122.15 + 4, va 85.95 + 1; a posted rent of
    (0, 0, 10) replaces the instance's (2, 5, 0)."""
    inst, scn = build(policy={"egress_scale": 2.0})
    sig = mean_signals(scn)
    assert_allclose(unit_cost(inst, sig)[0, 0], [206.05, 126.15, 86.95], rtol=1e-12)
    assert_allclose(unit_cost(inst, sig, np.array([0.0, 0.0, 10.0]))[0, 0],
                    [204.05, 121.15, 96.95], rtol=1e-12)


def test_unit_cost_without_latency_penalty_or_carbon_price(build):
    inst, scn = build(policy={"carbon_price_usd_per_t": 0.0}, internal_carbon_price_usd_per_t=0.0,
                      latency_penalty_usd_per_ms_mwh=0.0)
    # UK keeps its own 100 $/t: lon 80 + 100*0.3 + 5 + 4 = 119
    assert_allclose(unit_cost(inst, mean_signals(scn))[0, 0], [152.0, 119.0, 49.0], rtol=1e-12)


@pytest.mark.parametrize(("policy", "b1", "c1"), [
    # phi = state 50 * egress_j * scale + warm-up 200 + fee 30
    ({}, [235.0, 240.0, 232.5], [230.0] * 3),
    ({"switching_fees": False}, [205.0, 210.0, 202.5], [200.0] * 3),
    ({"egress_scale": 2.0}, [240.0, 250.0, 235.0], [230.0] * 3),
    ({"egress_scale": 0.0, "switching_fees": False}, [200.0] * 3, [200.0] * 3),
])
def test_friction_by_hand(build, policy, b1, c1):
    inst, _ = build(policy=policy)
    phi = friction(inst)
    assert_allclose(phi[0, 0], b1, rtol=1e-12)
    assert_allclose(phi[0, 1], c1, rtol=1e-12)


# --- placement metrics ----------------------------------------------------------------------------


def test_realised_relocation_by_hand(build):
    """Served 15 MWh, off origin b1 3 + 1 and c1 1: 5 / 15."""
    inst, _ = build()
    assert realised_relocation(inst, X) == pytest.approx(1 / 3)
    assert realised_relocation(inst, np.zeros_like(X)) == 0.0
    local = np.array([[[10.0, 0.0, 0.0], [0.0, 5.0, 0.0]]])
    assert realised_relocation(inst, local) == 0.0


def test_layers_by_hand(build):
    """Regional threshold 50 ms: fra-lon (10) regional, fra-va (90), lon-va (80) energy.
    local 6 + 4 = 10, regional 3 + 1 = 4, energy 1 of 15."""
    inst, _ = build()
    assert_array_equal(layer_of(inst)[0], [[0, 1, 2], [1, 0, 2]])
    got = layer_shares(inst, X)
    assert got == pytest.approx({"local": 10 / 15, "regional": 4 / 15, "energy": 1 / 15})
    assert sum(got.values()) == pytest.approx(1.0)


def test_layers_follow_regional_rtt_threshold(build):
    """With 95 ms, fra-va (90) becomes regional: local 10, regional 5, energy 0."""
    inst, _ = build(regional_rtt_ms=95.0)
    assert layer_shares(inst, X) == pytest.approx(
        {"local": 10 / 15, "regional": 5 / 15, "energy": 0.0})
    inst, _ = build(regional_rtt_ms=90.0)  # equality counts as regional
    assert layer_shares(inst, X)["energy"] == pytest.approx(0.0)


def test_layer_shares_by_kind(build):
    inst, _ = build()
    got = layer_shares_by_kind(inst, X)
    assert set(got) == {"batch", "chat"}
    assert got["batch"] == pytest.approx({"local": 0.6, "regional": 0.3, "energy": 0.1})
    assert got["chat"] == pytest.approx({"local": 0.8, "regional": 0.2, "energy": 0.0})


def test_layer_shares_of_nothing_served_are_zero(build):
    inst, _ = build()
    assert layer_shares(inst, np.zeros_like(X)) == {"local": 0.0, "regional": 0.0, "energy": 0.0}


def test_shift_matrix_by_hand(build):
    """Origin zone rows, execution zone columns: DE-LU -> (6, 3, 1), GB -> (1, 4, 0)."""
    inst, scn = build()
    s = shift_matrix(inst, X)
    z = inst.zone_index
    assert s.shape == (len(scn.zones), len(scn.zones)) == (3, 3)
    by_region = np.array([[6.0, 3.0, 1.0], [1.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    expected = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            expected[z[a], z[b]] += by_region[a, b]
    assert_allclose(s, expected)
    assert s.sum() == pytest.approx(X.sum())
    assert_allclose(s.sum(axis=0)[z], X.sum(axis=(0, 1)))
    assert_allclose(s.sum(axis=1)[z[:2]], [10.0, 5.0])
    assert_allclose(shift_matrix(inst, X, by="region"), by_region)
    assert_allclose(shift_matrix(inst, X, index=shift_index(inst)), s)
    with pytest.raises(ValueError, match="by must be one of"):
        shift_matrix(inst, X, by="country")


def test_zone_load_and_emissions_by_hand(build):
    """Served per region (7, 7, 1) x PUE (1.5, 1, 1.2) = (10.5, 7, 1.2) MWh of grid energy.
    average 10.5*400 + 7*200 + 1.2*300 = 5960 kg; marginal 10.5*600 + 7*300 + 1.2*500 = 9000 kg."""
    inst, scn = build()
    load = zone_load_mwh(inst, X)
    assert_allclose(load[inst.zone_index], [10.5, 7.0, 1.2])
    assert load.sum() == pytest.approx(18.7)
    em = emissions_kg(inst, X, mean_signals(scn))
    assert em == pytest.approx({"average": 5960.0, "marginal": 9000.0})


def test_cost_breakdown_by_hand(build):
    """energy 7*1.5*100 + 7*80 + 1.2*40 = 1658; carbon 7*60*1.5*0.6 + 7*110*0.3 + 60*1.2*0.5
    = 645; rent 7*2 + 7*5 = 49; network: egress 3*20*0.2 + 1*20*0.05 + 1*10*0.1 = 14, latency
    0.01 (6*5 + 3*15 + 1*95 + 1*15 + 4*5) = 2.05 -> 16.05; migration with moved b1 (0, 3, 1), c1
    (1, 0, 0) at phi b1 (235, 240, 232.5), c1 230: 720 + 232.5 + 230 = 1182.5."""
    inst, scn = build()
    sig = mean_signals(scn)
    moved = np.array([[[0.0, 3.0, 1.0], [1.0, 0.0, 0.0]]])
    p = Placement(X, np.zeros((1, 2)), moved, 0.0)
    parts = cost_breakdown(inst, p, sig, friction=friction(inst))
    assert parts.energy_usd == pytest.approx(1658.0)
    assert parts.carbon_usd == pytest.approx(645.0)
    assert parts.rent_usd == pytest.approx(49.0)
    assert parts.network_usd == pytest.approx(16.05)
    assert parts.migration_usd == pytest.approx(1182.5)
    assert parts.total_usd == pytest.approx(1658 + 645 + 49 + 16.05 + 1182.5)
    assert parts.total_usd == pytest.approx(
        float((X * unit_cost(inst, sig)).sum() + (moved * friction(inst)).sum()))
    no_phi = cost_breakdown(inst, p, sig)
    assert no_phi.migration_usd == 0.0
    assert no_phi.total_usd == pytest.approx(float((X * unit_cost(inst, sig)).sum()))


def test_cost_breakdown_with_posted_rent(build):
    inst, scn = build()
    sig = mean_signals(scn)
    rent = np.array([10.0, 0.0, 1.0])
    p = Placement(X, np.zeros((1, 2)), np.zeros_like(X), 0.0)
    parts = cost_breakdown(inst, p, sig, rent_usd_per_mwh=rent)
    assert parts.rent_usd == pytest.approx(7 * 10 + 1 * 1)
    assert parts.network_usd == pytest.approx(16.05)
    assert parts.total_usd == pytest.approx(float((X * unit_cost(inst, sig, rent)).sum()))


def test_cost_breakdown_on_average_signal_uses_average_carbon(build):
    inst, scn = build(policy={"placement_signal": "average"})
    p = Placement(X, np.zeros((1, 2)), np.zeros_like(X), 0.0)
    parts = cost_breakdown(inst, p, mean_signals(scn))
    # 7*60*1.5*0.4 + 7*110*0.2 + 60*1.2*0.3 = 252 + 154 + 21.6
    assert parts.carbon_usd == pytest.approx(427.6)



def test_cost_breakdown_under_the_carbon_objective_is_the_carbon_part(build):
    """Price-free objective: energy, rent and network drop out; carbon 645 as by hand above,
    and the parts still add up to the unit cost of the placement."""
    inst, scn = build(policy={"objective": "carbon"})
    sig = mean_signals(scn)
    p = Placement(X, np.zeros((1, 2)), np.zeros_like(X), 0.0)
    parts = cost_breakdown(inst, p, sig)
    assert (parts.energy_usd, parts.rent_usd, parts.network_usd) == (0.0, 0.0, 0.0)
    assert parts.carbon_usd == pytest.approx(645.0)
    assert parts.total_usd == pytest.approx(float((X * unit_cost(inst, sig)).sum()))

# --- frontier-derived and break-even metrics ------------------------------------------------------


def test_returns_on_latency_on_a_made_up_frontier():
    """C = (100, 80, 70, 70) at B = (10, 20, 40, 50), demand 2 MWh:
    -(80-100)/10/2 = 1, -(70-80)/20/2 = 0.25, 0, then NaN."""
    got = returns_on_latency(np.array([10.0, 20.0, 40.0, 50.0]),
                             np.array([100.0, 80.0, 70.0, 70.0]), 2.0)
    assert_allclose(got[:-1], [1.0, 0.25, 0.0])
    assert np.isnan(got[-1])
    assert np.isnan(returns_on_latency([10.0, 20.0], [1.0, 0.0], 0.0)).all()
    assert np.isnan(returns_on_latency([10.0], [1.0], 1.0)).all()
    # a rising value gives a negative return
    assert returns_on_latency([0.0, 5.0], [0.0, 10.0], 1.0)[0] == pytest.approx(-2.0)


def test_break_even_horizon_and_spread():
    """phi 240 $/MW: saving 10 $/MWh pays back in 24 h; 0 or negative never."""
    h = break_even_horizon_h(np.array([10.0, 0.0, -5.0, 240.0]), 240.0)
    assert_allclose(h, [24.0, np.inf, np.inf, 1.0])
    assert break_even_horizon_h(1.0, 0.0) == 0.0
    assert_allclose(break_even_spread_usd_per_mwh(240.0, 24.0), 10.0)
    assert_allclose(break_even_spread_usd_per_mwh([240.0, 48.0], [24.0, 48.0]), [10.0, 1.0])
    # consistent: a saving equal to the spread breaks even at exactly the horizon
    assert break_even_horizon_h(break_even_spread_usd_per_mwh(235.0, 12.0), 235.0) == \
        pytest.approx(12.0)


def test_pairwise_saving_by_hand(build):
    """Per-MWh energy + carbon + rent: fra 206, lon 118, va 84; b1 egress at j: 20 * (0.1, 0.2,
    0.05) = (2, 4, 1). saving[i, j] = E_i - E_j - egress_j, zero diagonal."""
    inst, scn = build()
    s = pairwise_saving_usd_per_mwh(inst, mean_signals(scn), 0, 0)
    expected = [[0.0, 84.0, 121.0],
                [-90.0, 0.0, 33.0],
                [-124.0, -38.0, 0.0]]
    assert_allclose(s, expected, atol=1e-9)
    # c1 (egress 10): fra -> lon = 206 - 118 - 2 = 86
    assert pairwise_saving_usd_per_mwh(inst, mean_signals(scn), 0, 1)[0, 1] == pytest.approx(86.0)
    assert_allclose(s, _energy_differences(inst, scn) - egress_at_j(inst, 0), atol=1e-9)
    # and the break-even horizon of moving b1 fra -> va at phi 232.5: 232.5 / 121 h
    h = break_even_horizon_h(s, friction(inst)[0, 0][None, :])
    assert h[0, 2] == pytest.approx(232.5 / 121.0)
    assert np.isinf(h[2, 0]) and np.isinf(np.diag(h)).all()


def _energy_differences(inst, scn) -> np.ndarray:
    """(R, R) energy_cost of region i minus that of j for the operator, diagonal zero."""
    e = energy_cost(inst, mean_signals(scn))[0]
    d = e[:, None] - e[None, :]
    np.fill_diagonal(d, 0.0)
    return d


def egress_at_j(inst, k) -> np.ndarray:
    """(R, R) class k's egress $/MWh at the column region, off the diagonal (by hand)."""
    g = inst.egress_gb_per_mwh[0, k] * inst.egress_usd_per_gb
    out = np.broadcast_to(g, (3, 3)).copy()
    np.fill_diagonal(out, 0.0)
    return out


def test_pairwise_saving_under_the_carbon_objective_by_hand(build):
    """Price-free objective: the saving is the carbon part alone, PUE tau mu: fra 1.5*60*0.6 =
    54, lon 1.0*110*0.3 = 33, va 1.2*60*0.5 = 36 $/MWh; no price, rent or egress (the copy of
    the formula this replaced counted them: fra -> va was 121 $/MWh instead of 18)."""
    inst, scn = build(policy={"objective": "carbon"})
    for k in (0, 1):
        s = pairwise_saving_usd_per_mwh(inst, mean_signals(scn), 0, k)
        assert_allclose(s, [[0.0, 21.0, 18.0],
                            [-21.0, 0.0, -3.0],
                            [-18.0, 3.0, 0.0]], atol=1e-9)
        assert_allclose(s, _energy_differences(inst, scn), atol=0.0)


@pytest.mark.parametrize("objective", ["cost", "carbon"])
def test_pairwise_saving_is_the_difference_of_energy_costs(build, objective):
    """One formula: under either objective the pairwise saving is energy_cost(i) -
    energy_cost(j), less the egress the objective charges at j; and it is the difference of
    the unit costs of a class at its origin i and away at j (latency penalty aside)."""
    inst, scn = build(policy={"objective": objective}, latency_penalty_usd_per_ms_mwh=0.0)
    sig = mean_signals(scn)
    weight = 1.0 if objective == "cost" else 0.0
    c = unit_cost(inst, sig)[0, 0]  # b1, whose origin is fra (region 0)
    for k in (0, 1):
        s = pairwise_saving_usd_per_mwh(inst, sig, 0, k)
        assert_allclose(s, _energy_differences(inst, scn) - weight * egress_at_j(inst, k),
                        atol=1e-12)
    assert_allclose(pairwise_saving_usd_per_mwh(inst, sig, 0, 0)[0], c[0] - c, atol=1e-12)


@pytest.mark.parametrize("objective", ["cost", "carbon"])
@pytest.mark.parametrize("basis", ["marginal", "average"])
def test_energy_cost_is_the_formula_element_by_element(objective, basis):
    """energy_cost (computed in place on one array) is PUE (p price + tau mu) + p rent taken
    one element at a time in Python floats, to the bit, for per-operator (O, Z) forecasts and
    for one (Z,) hour of cleared signals, on the default scenario's 50 operators, and
    placement_carbon is mu PUE; the signals they read are left as they were; the market's
    compiled pass (abm.market.energy.energy_and_carbon) gives the same bits."""
    scn = load_scenario(None)
    scn = dataclasses.replace(scn, policy=dataclasses.replace(
        scn.policy, objective=objective, placement_signal=basis))
    inst = compile_scenario(scn)
    n_o, n_z = inst.policy.carbon_price_usd_per_t.shape[0], len(scn.zones)
    rng = np.random.default_rng(7)
    rent = rng.uniform(0.0, 40.0, len(inst.region_ids))
    for shape in ((n_o, n_z), (n_z,)):
        sig = Signals(rng.uniform(-50.0, 300.0, shape), rng.uniform(0.0, 900.0, shape),
                      rng.uniform(0.0, 900.0, shape))
        before = [a.copy() for a in (sig.price_usd_per_mwh, sig.avg_carbon_kg_per_mwh,
                                     sig.marginal_carbon_kg_per_mwh)]
        got = energy_cost(inst, sig, rent)
        carbon = placement_carbon(inst, sig) if len(shape) == 2 else None
        # the market's compiled pass (abm.market.energy): the same bits as the reference,
        # on the signals as the market holds a forecast (strided views of one (O, Z, 3) array)
        stacked = np.stack([sig.price_usd_per_mwh, sig.avg_carbon_kg_per_mwh,
                            sig.marginal_carbon_kg_per_mwh], axis=-1)
        strided = Signals(stacked[..., 0], stacked[..., 1], stacked[..., 2])
        fast, fast_carbon = energy_and_carbon(inst, strided, rent, carbon=len(shape) == 2)
        assert_array_equal(fast, got)
        assert fast.tobytes() == got.tobytes()
        if carbon is None:
            assert fast_carbon is None
        else:
            assert fast_carbon is not None and fast_carbon.tobytes() == carbon.tobytes()
        price, mu = sig.price_usd_per_mwh, sig.carbon(basis)
        p, tau = inst.policy.price_weight, inst.policy.carbon_price_usd_per_t
        for o in range(n_o):
            for j, z in enumerate(inst.zone_index):
                at = (o, z) if len(shape) == 2 else (z,)
                want = (float(inst.pue[j]) * (p * float(price[at])
                                              + float(tau[o, j]) * (float(mu[at]) / 1e3))
                        + p * float(rent[j]))
                assert got[o, j] == want, (shape, o, j)
                if len(shape) == 2:  # what the operators' views show: mu x PUE, kg/MWh
                    assert carbon[o, j] == float(mu[at]) * float(inst.pue[j]), (o, j)
        for a, b in zip(before, (sig.price_usd_per_mwh, sig.avg_carbon_kg_per_mwh,
                                 sig.marginal_carbon_kg_per_mwh), strict=True):
            assert_array_equal(a, b)


def test_emissions_follow_the_signal_arrays():
    """emissions_kg reads the signals it is given, not the scenario's."""
    scn = load_scenario()
    inst = compile_scenario(scn)
    x = np.zeros(inst.shape)
    x[0, 0, 0] = 2.0
    sig = Signals(np.zeros(len(scn.zones)), np.full(len(scn.zones), 100.0),
                  np.full(len(scn.zones), 300.0))
    em = emissions_kg(inst, x, sig)
    assert em == pytest.approx({"average": 2.0 * inst.pue[0] * 100.0,
                                "marginal": 2.0 * inst.pue[0] * 300.0})


def test_cost_per_mwh_counts_unserved_demand_at_voll():
    """By hand: 300 MWh demanded, 20 unserved, $2,800 paid, VoLL 10,000 $/MWh:
    (2,800 + 200,000) / 300 = 676 $/MWh; against 1,000 $ for 100 MWh all served (10 $/MWh)
    leaving demand unserved reads dearer, not 6.7% cheaper (2,800 / 300 = 9.33)."""
    from abm.core.metrics import cost_usd_per_mwh

    assert cost_usd_per_mwh(2800.0, 300.0, 20.0, 10_000.0) == pytest.approx(676.0)
    assert cost_usd_per_mwh(1000.0, 100.0, 0.0, 10_000.0) == pytest.approx(10.0)
    assert cost_usd_per_mwh(0.0, 0.0, 0.0, 10_000.0) == 0.0
