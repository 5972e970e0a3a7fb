"""Feasibility masks (docs/model.md section 2) checked by hand on small pinned worlds.

The helper ``world`` writes a small scenario over a few shipped regions whose every number that
matters (PUE, egress, capacity, rent, zone prices and carbon, RTTs, access RTTs) is pinned to a
round value, so that masks, costs and optima can be computed by hand. Other test modules of this
suite import it.

Pinned world (regions in this order unless a test picks fewer):

    region        zone        jur  PUE   egress $/GB  cap MW  rent   price  avg  marginal
    eu-frankfurt  DE-LU       EU   1.5   0.10         100     2      100    400  600
    uk-london     GB          UK   1.0   0.20         100     5       80    200  300
    us-east-va    US-PJM-DOM  US   1.2   0.05         100     0       40    300  500
    jp-tokyo      JP-TK       JP   1.1   0.10         100     0       60    500  700
    cn-shanghai   CN-SH       CN   1.25  0.10         100     0       50    600  800

RTT (ms): fra-lon 10, fra-va 90, fra-tok 230, fra-sha 240, lon-va 80, lon-tok 220, lon-sha 250,
va-tok 150, va-sha 200, tok-sha 40. Metro clients (one per region id) have access RTT 5 ms;
``berlin`` is an explicit EU client on the Frankfurt node with access RTT 5 ms.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from abm.config.scenario import load_scenario
from abm.core.instance import compile_scenario
from abm.core.masks import MASK_NAMES, masks
from abm.core.metrics import relocatable_by_mask, relocatable_share

FRA, LON, VA, TOK, SHA = "eu-frankfurt", "uk-london", "us-east-va", "jp-tokyo", "cn-shanghai"
REGIONS = (FRA, LON, VA, TOK, SHA)
ZONE_OF = {FRA: "DE-LU", LON: "GB", VA: "US-PJM-DOM", TOK: "JP-TK", SHA: "CN-SH"}
REGION_VALUES = {
    FRA: {"pue": 1.5, "egress_usd_per_gb": 0.1, "capacity_mw": 100.0, "rent_usd_per_mwh": 2.0},
    LON: {"pue": 1.0, "egress_usd_per_gb": 0.2, "capacity_mw": 100.0, "rent_usd_per_mwh": 5.0},
    VA: {"pue": 1.2, "egress_usd_per_gb": 0.05, "capacity_mw": 100.0, "rent_usd_per_mwh": 0.0},
    TOK: {"pue": 1.1, "egress_usd_per_gb": 0.1, "capacity_mw": 100.0, "rent_usd_per_mwh": 0.0},
    SHA: {"pue": 1.25, "egress_usd_per_gb": 0.1, "capacity_mw": 100.0, "rent_usd_per_mwh": 0.0},
}
ZONE_VALUES = {
    "DE-LU": (100.0, 400.0, 600.0),
    "GB": (80.0, 200.0, 300.0),
    "US-PJM-DOM": (40.0, 300.0, 500.0),
    "JP-TK": (60.0, 500.0, 700.0),
    "CN-SH": (50.0, 600.0, 800.0),
}
RTT = {
    (FRA, LON): 10.0, (FRA, VA): 90.0, (FRA, TOK): 230.0, (FRA, SHA): 240.0,
    (LON, VA): 80.0, (LON, TOK): 220.0, (LON, SHA): 250.0,
    (VA, TOK): 150.0, (VA, SHA): 200.0, (TOK, SHA): 40.0,
}
CLIENTS = [
    {"id": "berlin", "lat": 52.5, "lon": 13.4, "jurisdiction": "EU",
     "service_node": FRA, "access_rtt_ms": 5.0},
]


def _val(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str | list | tuple):
        return json.dumps(list(v) if isinstance(v, tuple) else v)
    return repr(float(v))


def _kv(d: dict) -> list[str]:
    return [f"{k} = {_val(v)}" for k, v in d.items()]


def klass(id: str, client: str, demand: float, budget: float = 1000.0, *, overhead: float = 0.0,
          egress: float = 0.0, state: float = 0.0, stateful: bool = False, **extra) -> str:
    """One [[operators.classes]] table with every number explicit."""
    lines = ["[[operators.classes]]", *_kv({
        "id": id, "client": client, "demand_mw": demand, "budget_ms": budget,
        "overhead_ms": overhead, "egress_gb_per_mwh": egress, "state_gb_per_mw": state,
        "stateful": stateful, **extra})]
    return "\n".join(lines) + "\n"


def operator(id: str, *classes: str, **attrs) -> str:
    """One [[operators]] table followed by its classes."""
    return "\n".join(["[[operators]]", *_kv({"id": id, **attrs})]) + "\n" + "\n".join(classes)


def world(*operators: str, regions=REGIONS, policy: dict | None = None,
          rules: dict | None = None, carbon_by_jurisdiction: dict | None = None,
          region_set: dict | None = None, zone_set: dict | None = None,
          rtt: dict | None = None, clients=None, templates: dict | None = None,
          regional_rtt_ms: float = 50.0, hours: int = 1) -> str:
    """TOML text of a pinned world (see the module docstring); overrides merge over defaults."""
    out = ["[scenario]", 'name = "pinned"', "start = 2024-01-08T00:00:00", f"hours = {hours}",
           "", "[network]", "metro_access_rtt_ms = 5.0", f"regional_rtt_ms = {regional_rtt_ms!r}"]
    out += ["", "[policy]", *_kv(policy or {})]
    if rules:
        out += ["", "[policy.residency_rules]", *_kv(rules)]
    if carbon_by_jurisdiction:
        out += ["", "[policy.carbon_price_by_jurisdiction]", *_kv(carbon_by_jurisdiction)]
    out += ["", "[regions]", f"include = {_val(list(regions))}"]
    for r in regions:
        vals = {**REGION_VALUES[r], **(region_set or {}).get(r, {})}
        out += ["", f"[regions.set.{r}]", *_kv(vals)]
    for r in regions:
        zone = ZONE_OF[r]
        price, avg, marg = ZONE_VALUES[zone]
        vals = {"price_usd_per_mwh": price, "avg_carbon_g_per_kwh": avg,
                "marginal_carbon_g_per_kwh": marg, **(zone_set or {}).get(zone, {})}
        out += ["", f"[zones.set.{zone}]", *_kv(vals)]
    pairs = {**RTT, **(rtt or {})}
    for (a, b), ms in pairs.items():
        if a in regions and b in regions:
            out += ["", "[[latency.pairs]]", *_kv({"src": a, "dst": b, "rtt_ms": ms})]
    for c in CLIENTS if clients is None else clients:
        if c["service_node"] in regions:
            out += ["", "[[clients]]", *_kv(c)]
    for name, vals in (templates or {}).items():
        out += ["", f"[templates.{name}]", *_kv(vals)]
    out += ["", *operators]
    return "\n".join(out) + "\n"


@pytest.fixture
def compile_text(write_scenario):
    """TOML text -> compiled instance."""

    def go(text: str):
        return compile_scenario(load_scenario(write_scenario(text)))

    return go


def test_world_compiles_with_pinned_values(compile_text):
    inst = compile_text(world(operator("op", klass("b", "berlin", 10.0))))
    assert inst.region_ids == REGIONS
    assert_array_equal(inst.pue, [1.5, 1.0, 1.2, 1.1, 1.25])
    assert_array_equal(inst.capacity_mw, [100.0] * 5)
    assert inst.rtt_ms[0, 1] == 10.0 and inst.rtt_ms[1, 0] == 10.0
    assert inst.rtt_ms[3, 4] == 40.0
    assert inst.access_rtt_ms[0, 0] == 5.0
    assert list(inst.jurisdiction) == ["EU", "UK", "US", "JP", "CN"]


# --- latency --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("budget", "expected"), [
    # access 5 + RTT + overhead 2: fra 7, lon 17, va 97, tok 237, sha 247
    (17.0, [True, True, False, False, False]),  # equality at lon counts as feasible
    (16.999, [True, False, False, False, False]),
    (97.0, [True, True, True, False, False]),
    (237.0, [True, True, True, True, False]),
    (1000.0, [True] * 5),
    (6.5, [False] * 5),  # not even the origin: access + overhead = 7 > 6.5
])
def test_latency_mask_by_hand(compile_text, budget, expected):
    inst = compile_text(world(operator("op", klass("i", "berlin", 10.0, budget, overhead=2.0))))
    assert_array_equal(inst.network_rtt_ms()[0, 0], [7.0, 17.0, 97.0, 237.0, 247.0])
    m = masks(inst)
    assert_array_equal(m.latency[0, 0], expected)
    # the other masks are all true here, so feasible is the latency mask
    assert_array_equal(m.feasible[0, 0], expected)


def test_latency_mask_uses_the_clients_own_access_rtt(compile_text):
    """An explicit client with access 12 ms: 12 + 10 = 22 > 20 excludes lon; fra (12) stays."""
    clients = [{**CLIENTS[0], "access_rtt_ms": 12.0}]
    inst = compile_text(world(operator("op", klass("i", "berlin", 1.0, 20.0)), clients=clients))
    assert_array_equal(masks(inst).latency[0, 0], [True, False, False, False, False])
    inst = compile_text(world(operator("op", klass("i", "berlin", 1.0, 22.0)), clients=clients))
    assert_array_equal(masks(inst).latency[0, 0], [True, True, False, False, False])


# --- legal ----------------------------------------------------------------------------------------

ALL = [True] * 5
EU_STRICT = [True, True, False, True, False]  # EU, UK, JP (adequacy); not US, not CN
CN_ONLY = [False, False, False, False, True]


def _legal_instance(compile_text, residency, rules=None, **class_extra):
    op = operator("op",
                  klass("eu", "berlin", 1.0, **class_extra),
                  klass("cn", SHA, 1.0),
                  klass("us", VA, 1.0))
    return compile_text(world(op, policy={"residency": residency}, rules=rules))


@pytest.mark.parametrize(("residency", "rules", "eu", "cn", "us"), [
    (["none"], None, ALL, ALL, ALL),
    (["strict_eu"], None, EU_STRICT, ALL, ALL),
    (["sovereign_cn"], None, ALL, CN_ONLY, ALL),
    (["strict_eu", "sovereign_cn"], None, EU_STRICT, CN_ONLY, ALL),
    (["custom"], {"EU": ["EU", "US"]}, [True, False, True, False, False], ALL, ALL),
    (["custom"], {"US": ["US"]}, ALL, ALL, [False, False, True, False, False]),
    # intersection: strict_eu {EU, UK, CA, JP, KR} & custom {EU, US} = {EU}
    (["strict_eu", "custom"], {"EU": ["EU", "US"]}, [True, False, False, False, False], ALL, ALL),
    (["custom", "sovereign_cn"], {"CN": ["CN", "JP"]}, ALL, CN_ONLY, ALL),
])
def test_legal_mask_by_regime(compile_text, residency, rules, eu, cn, us):
    legal = masks(_legal_instance(compile_text, residency, rules)).legal
    assert_array_equal(legal[0, 0], eu)
    assert_array_equal(legal[0, 1], cn)
    assert_array_equal(legal[0, 2], us)


@pytest.mark.parametrize(("residency", "allowed", "expected"), [
    (["none"], ["UK", "JP"], [False, True, False, True, False]),
    (["strict_eu"], ["UK", "JP"], [False, True, False, True, False]),
    (["strict_eu"], ["EU", "US"], [True, False, False, False, False]),
    (["strict_eu"], ["US", "CN"], [False] * 5),
])
def test_class_allowed_jurisdictions_intersect_with_the_regime(compile_text, residency, allowed,
                                                               expected):
    inst = _legal_instance(compile_text, residency, allowed_jurisdictions=allowed)
    assert_array_equal(masks(inst).legal[0, 0], expected)
    # the other classes keep the regime's answer
    assert_array_equal(masks(inst).legal[0, 2], ALL)


def test_legal_mask_follows_the_clients_jurisdiction_not_the_node(compile_text):
    """An EU client served through the US node: strict_eu forbids even its US origin region."""
    clients = [*CLIENTS, {"id": "eu-in-va", "lat": 39.0, "lon": -77.5, "jurisdiction": "EU",
                          "service_node": VA, "access_rtt_ms": 5.0}]
    inst = compile_text(world(operator("op", klass("x", "eu-in-va", 1.0)),
                              policy={"residency": ["strict_eu"]}, clients=clients))
    assert inst.origin[0, 0] == 2
    assert_array_equal(masks(inst).legal[0, 0], EU_STRICT)


# --- state ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stateful", "replicas", "transfer", "expected"), [
    (True, [], False, [True, False, False, False, False]),
    (True, [TOK], False, [True, False, False, True, False]),
    (True, [LON, SHA], False, [True, True, False, False, True]),
    (True, [TOK], True, ALL),
    (True, [], True, ALL),
    (False, [], False, ALL),
])
def test_state_mask_by_hand(compile_text, stateful, replicas, transfer, expected):
    inst = compile_text(world(
        operator("op", klass("s", "berlin", 1.0, stateful=stateful, state=50.0,
                             replicas=replicas)),
        policy={"state_transfer": transfer}))
    m = masks(inst)
    assert_array_equal(m.state[0, 0], expected)
    assert_array_equal(m.feasible[0, 0], expected)


# --- capacity -------------------------------------------------------------------------------------


def test_capacity_mask_footprint_and_zero_capacity(compile_text):
    op = operator("op", klass("b", "berlin", 1.0), footprint=[FRA, LON, VA], capacity_share=0.5)
    inst = compile_text(world(op, region_set={VA: {"capacity_mw": 0.0}}))
    assert_array_equal(masks(inst).capacity[0, 0], [True, True, False, False, False])
    inst = compile_text(world(op))
    assert_array_equal(masks(inst).capacity[0, 0], [True, True, True, False, False])


def test_capacity_mask_zero_capacity_at_the_origin(compile_text):
    inst = compile_text(world(operator("op", klass("b", "berlin", 1.0)),
                              region_set={FRA: {"capacity_mw": 0.0}}))
    assert_array_equal(masks(inst).capacity[0, 0], [False, True, True, True, True])


def test_padded_classes_are_false_in_every_mask(compile_text):
    text = world(operator("a", klass("x", "berlin", 1.0), klass("y", "berlin", 2.0)),
                 operator("b", klass("z", "berlin", 3.0)))
    inst = compile_text(text)
    assert inst.shape == (2, 2, 5)
    assert not inst.valid[1, 1]
    m = masks(inst)
    for name in MASK_NAMES:
        assert not getattr(m, name)[1, 1].any(), name
        assert getattr(m, name)[1, 0].all(), name
    assert not m.feasible[1, 1].any()


# --- without and relocatable_by_mask --------------------------------------------------------------


def test_without_and_relocatable_by_mask_by_hand(compile_text):
    """Four classes, 100 MW, strict_eu + sovereign_cn.

    a: EU (berlin), budget 17, stateful, 10 MW. latency {fra, lon}; legal {fra, lon, tok};
       state {fra}; capacity all.
    b: EU (berlin), batch, 30 MW. latency all; legal {fra, lon, tok}; state all; capacity all.
    c: CN metro, batch, 20 MW. latency all; legal {sha}; state all; capacity all.
    d: US metro (second operator, footprint {va, tok}), budget 100, 40 MW.
       latency {fra 95, lon 85, va 5}; legal all; state all; capacity {va, tok}.

    feasible: a {fra}; b {fra, lon, tok}; c {sha}; d {va} -> RID = 30 / 100.
    each mask alone: latency a b c d = 1.0; legal a b d = 0.8; state b c d = 0.9;
    capacity a b c d (d: tok) = 1.0.
    all but latency: a no (state), b, c no (legal), d tok -> 0.7, removes 0.4;
    all but legal: a no, b, c (latency ok) yes, d va only -> 0.5, removes 0.2;
    all but state: a lon, b -> 0.4, removes 0.1;
    all but capacity: b, d (lon, fra) -> 0.7, removes 0.4.
    """
    text = world(
        operator("one",
                 klass("a", "berlin", 10.0, 17.0, stateful=True, state=50.0),
                 klass("b", "berlin", 30.0),
                 klass("c", SHA, 20.0)),
        operator("two", klass("d", VA, 40.0, 100.0), footprint=[VA, TOK]),
        policy={"residency": ["strict_eu", "sovereign_cn"]})
    inst = compile_text(text)
    m = masks(inst)
    T, F = True, False
    assert_array_equal(m.feasible[0, 0], [T, F, F, F, F])
    assert_array_equal(m.feasible[0, 1], [T, T, F, T, F])
    assert_array_equal(m.feasible[0, 2], [F, F, F, F, T])
    assert_array_equal(m.feasible[1, 0], [F, F, T, F, F])
    assert not m.feasible[1, 1:].any()
    # without(name) is the conjunction of the other three
    assert_array_equal(m.without("state")[0, 0], [T, T, F, F, F])
    assert_array_equal(m.without("latency")[1, 0], [F, F, T, T, F])
    assert_array_equal(m.without("legal")[0, 2], [T, T, T, T, T])
    assert_array_equal(m.without("capacity")[1, 0], [T, T, T, F, F])
    for name in MASK_NAMES:
        others = [getattr(m, o) for o in MASK_NAMES if o != name]
        assert_array_equal(m.without(name), others[0] & others[1] & others[2])
        assert_array_equal(m.without(name) & getattr(m, name), m.feasible)

    got = relocatable_by_mask(inst, m)
    expected = {
        "rid": 0.3,
        "rid_latency_only": 1.0, "removed_by_latency": 0.4,
        "rid_legal_only": 0.8, "removed_by_legal": 0.2,
        "rid_state_only": 0.9, "removed_by_state": 0.1,
        "rid_capacity_only": 1.0, "removed_by_capacity": 0.4,
    }
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key
    assert relocatable_share(inst, m.feasible) == pytest.approx(0.3)


def test_relocatable_share_of_zero_demand_is_zero(compile_text):
    inst = compile_text(world(operator("op", klass("b", "berlin", 0.0))))
    assert relocatable_share(inst, masks(inst).feasible) == 0.0
    assert np.isfinite(list(relocatable_by_mask(inst, masks(inst)).values())).all()
