"""Operator populations generated from a scenario's ``[population]`` settings.

Every draw comes from the generator passed in: the market passes its model's ``rng``, and the
static tools pass ``numpy.random.default_rng(scenario.seed)``, which gives the same operators as
``Model(rng=scenario.seed)`` because the model draws its population first.
"""

from __future__ import annotations

import bisect
from dataclasses import replace
from functools import lru_cache

import numpy as np

from abm.config.schema import Operator, Scenario, WorkloadClass
from abm.config.tables import with_overrides
from abm.errors import InputError

_TEMPLATE_KEYS = ("budget_ms", "overhead_ms", "egress_gb_per_mwh", "state_gb_per_mw", "stateful")


@lru_cache(maxsize=1024)
def _cumulative(weighted: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float]]:
    """The names and the cumulative probabilities ``rng.choice(n, p=p)`` searches, for
    weights (name, weight >= 0, a positive sum): ``p = w / w.sum()``, its cumulative sum
    divided by its last entry, as numpy's ``Generator.choice`` computes them."""
    w = np.array([v for _, v in weighted], dtype=float)
    p = w / w.sum()
    if not (np.isfinite(p).all() and (p >= 0).all()):
        raise ValueError(f"weights must be non-negative with a positive sum, got {weighted}")
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return tuple(n for n, _ in weighted), cdf.tolist()


def _pick(rng: np.random.Generator, weighted: tuple[tuple[str, float], ...]) -> str:
    """One name drawn with probability proportional to its weight: the draw of
    ``rng.choice(len(weighted), p=w / w.sum())`` (one uniform, the first cumulative
    probability above it), the same name from the same generator state and the same state
    after, without numpy's checks of ``p`` on each of the 220,000 draws of a 10,000-operator
    population (2.6 s of CPU that way, 0.2 so: benchmarks/RESULTS.md)."""
    names, cdf = _cumulative(weighted)
    return names[bisect.bisect_right(cdf, rng.random())]


def _footprint(scn: Scenario, kind: str, home: str, continental_rtt_ms: float) -> tuple[str, ...]:
    ids = scn.region_ids
    if kind == "global":
        return ids
    limit = continental_rtt_ms if kind == "continental" else scn.regional_rtt_ms
    row = scn.latency.rtt_ms[ids.index(home)]
    return tuple(r for r, rtt in zip(ids, row, strict=True) if rtt <= limit)


def assign_strategies(rng: np.random.Generator, shares: tuple[tuple[str, float], ...],
                      n: int) -> list[str]:
    """Strategies of ``n`` operators in exact ``shares`` (counts rounded by largest remainder,
    ties to the strategy listed first), in an order drawn from ``rng``; a single strategy
    draws nothing."""
    if len(shares) == 1:
        return [shares[0][0]] * n
    w = np.array([v for _, v in shares], dtype=float)
    exact = n * w / w.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[:n - counts.sum()]] += 1
    names = np.repeat([name for name, _ in shares], counts)
    return [str(names[i]) for i in rng.permutation(n)]


def generate_operators(scn: Scenario, rng: np.random.Generator) -> tuple[Operator, ...]:
    """Draw the scenario's population of operators (none if it has no ``[population]``)."""
    pop = scn.population
    if pop is None:
        return ()
    templates = {name: dict(values) for name, values in scn.templates}
    for name, _ in pop.templates:
        missing = [k for k in _TEMPLATE_KEYS if k not in templates[name]]
        if missing:
            raise InputError(scn.source, f"templates.{name}",
                             f"a population needs every class field in its templates; "
                             f"missing: {', '.join(missing)}")
    sizes = rng.lognormal(0.0, pop.size_sigma, pop.operators)
    sizes *= pop.total_demand_mw / sizes.sum()
    capacity = {r.id: r.capacity_mw for r in scn.regions}
    operators = []
    for i, size in enumerate(sizes):
        home = _pick(rng, pop.client_weights)
        kind = _pick(rng, pop.footprints)
        footprint = _footprint(scn, kind, home, pop.continental_rtt_ms)
        local = tuple((r, w) for r, w in pop.client_weights if r in footprint and w > 0)
        n_classes = int(rng.integers(pop.classes[0], pop.classes[1] + 1))
        shares = rng.dirichlet(np.ones(n_classes))
        classes = []
        for j in range(n_classes):
            template = _pick(rng, pop.templates)
            client = home if j == 0 else _pick(rng, local or ((home, 1.0),))
            t = templates[template]
            classes.append(WorkloadClass(
                id=f"{template}-{client}-{j}", kind=template, client=client,
                demand_mw=float(size * shares[j]), budget_ms=t["budget_ms"],
                overhead_ms=t["overhead_ms"], egress_gb_per_mwh=t["egress_gb_per_mwh"],
                state_gb_per_mw=t["state_gb_per_mw"], stateful=t["stateful"],
                diurnal_amplitude=t.get("diurnal_amplitude", WorkloadClass.diurnal_amplitude),
                deferrable_share=t.get("deferrable_share", WorkloadClass.deferrable_share),
                deadline_hours=t.get("deadline_hours", WorkloadClass.deadline_hours)))
        if not any(capacity[r] > 0 for r in footprint):
            footprint = scn.region_ids
        operators.append(Operator(  # capacity share, migration fee, latency penalty: defaults
            id=f"gen{i:03d}", footprint=footprint,
            internal_carbon_price_usd_per_t=float(rng.choice(
                pop.internal_carbon_price_usd_per_t)),
            warmup_usd_per_mw=float(rng.choice(pop.warmup_usd_per_mw)),
            classes=tuple(classes), forecast=_pick(rng, pop.forecast)))
    strategies = assign_strategies(rng, pop.strategies, len(operators))
    return tuple(replace(op, strategy=s) for op, s in zip(operators, strategies, strict=True))


def realise(scn: Scenario, rng: np.random.Generator | None = None) -> Scenario:
    """The scenario with its population drawn and appended to its explicit operators, and
    region capacities given relative to demand (``regions.capacity``) resolved in MW."""
    if scn.population is not None:
        rng = np.random.default_rng(scn.seed) if rng is None else rng
        scn = replace(scn, operators=scn.operators + generate_operators(scn, rng),
                      population=None)
    return resolve_capacity(scn)


def resolve_capacity(scn: Scenario) -> Scenario:
    """Region capacities (MW IT) by ``scn.capacity``: ``listed`` keeps each region's own;
    ``local_demand`` sets it to ``capacity_per_local_demand`` x the mean demand whose origin is
    the region; ``unlimited`` lets every region hold all the scenario's demand at its diurnal
    peak (the sum of each class's demand x (1 + amplitude)), so capacity never binds."""
    if scn.capacity == "listed":
        return scn
    region_of = {n.id: n.region for n in scn.service_nodes}
    node_of = {c.id: c.service_node for c in scn.clients}
    classes = [k for op in scn.operators for k in op.classes]
    if scn.capacity == "unlimited":
        peak = sum(k.demand_mw * (1.0 + k.diurnal_amplitude) for k in classes)
        capacity = dict.fromkeys(scn.region_ids, peak)
    else:
        capacity = dict.fromkeys(scn.region_ids, 0.0)
        for k in classes:
            capacity[region_of[node_of[k.client]]] += scn.capacity_per_local_demand * k.demand_mw
    return replace(scn, capacity="listed", regions=tuple(
        with_overrides(r, {"capacity_mw": capacity[r.id]}, {"capacity_mw"})
        for r in scn.regions))
