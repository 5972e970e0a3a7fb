"""A scenario compiled to dense numpy arrays: regions (R), operators (O) x classes (K).

Operators with fewer classes than the largest are padded with zero-demand classes whose
``valid`` flag is false; every mask is false for them, so they never carry load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as _replace

import numpy as np

from abm.config.population import realise
from abm.config.scenario import Scenario
from abm.data.dataset import shipped


@dataclass(frozen=True)
class Policy:
    """The scenario's policy compiled for the core and the market (docs/model.md sections 3
    and 6): what placement costs, what may run where, and what regions may build, fixed for
    a run. Nothing below the configuration reads ``scenario.policy`` again.

    Attributes:
        carbon_price_usd_per_t: (O, R) the policy carbon price where the region is (global,
            or by jurisdiction) plus the operator's internal price, $/tCO2.
        price_weight: weight of electricity price, rent, egress and latency penalty in the
            placement cost: 1 with the cost objective, 0 with the price-free carbon one.
        placement_signal: the carbon signal placement prices (``marginal`` or ``average``).
        accounting_basis: the carbon intensity emissions are attributed on.
        voll_usd_per_mwh: value of lost load, $ per MWh unserved.
        holding_hours: hours a move is expected to be held (friction amortised over them).
        egress_scale: factor on every egress tariff (served data and moved state).
        switching_fees: whether operators' switching fees are charged per MW moved.
        state_transfer: whether stateful classes may move their state.
        residency: (origin jurisdiction, jurisdictions allowed to process its data) rules of
            every regime in force, all of which apply.
        moratorium: (R,) bool, regions that may not expand.
        connection_cap_mw: (R,) MW a region's capacity may grow to (inf where none).
    """

    carbon_price_usd_per_t: np.ndarray
    price_weight: float
    placement_signal: str
    accounting_basis: str
    voll_usd_per_mwh: float
    holding_hours: float
    egress_scale: float
    switching_fees: bool
    state_transfer: bool
    residency: tuple[tuple[str, frozenset[str]], ...]
    moratorium: np.ndarray
    connection_cap_mw: np.ndarray


@dataclass(frozen=True)
class Instance:
    """Dense arrays of one scenario. Shapes: (R,) regions, (O, K) classes, (O, R) footprints."""

    scenario: Scenario = field(repr=False)
    region_ids: tuple[str, ...]
    operator_ids: tuple[str, ...]
    class_ids: tuple[tuple[str, ...], ...]
    # regions
    zone_index: np.ndarray  # (R,) index into scenario.zones
    jurisdiction: np.ndarray  # (R,) str
    pue: np.ndarray
    egress_usd_per_gb: np.ndarray
    capacity_mw: np.ndarray
    rent_usd_per_mwh: np.ndarray
    rtt_ms: np.ndarray  # (R, R)
    # operators
    footprint: np.ndarray  # (O, R) bool
    internal_carbon_price_usd_per_t: np.ndarray  # (O,)
    capacity_share: np.ndarray  # (O,)
    warmup_usd_per_mw: np.ndarray  # (O,) warm-up cost per MW moved
    migration_fee_usd_per_mw: np.ndarray  # (O,) fixed switching charge per MW moved
    latency_penalty_usd_per_ms_mwh: np.ndarray  # (O,)
    forecast: np.ndarray  # (O,) str: perfect, persistence or noisy
    strategy: np.ndarray  # (O,) str: a name in abm.market.strategies.STRATEGIES
    # classes
    valid: np.ndarray  # (O, K) bool
    kind: np.ndarray  # (O, K) str (template name)
    demand_mw: np.ndarray  # (O, K) mean demand
    diurnal_amplitude: np.ndarray  # (O, K)
    client_lon: np.ndarray  # (O, K) degrees, for the client's local solar hour
    origin: np.ndarray  # (O, K) int: region of the class's service node
    origin_jurisdiction: np.ndarray  # (O, K) str: the client's jurisdiction
    access_rtt_ms: np.ndarray  # (O, K) client to service node
    budget_ms: np.ndarray
    overhead_ms: np.ndarray
    egress_gb_per_mwh: np.ndarray
    state_gb_per_mw: np.ndarray
    stateful: np.ndarray  # (O, K) bool
    replica: np.ndarray  # (O, K, R) bool: state is present there (origin included)
    allowed: np.ndarray  # (O, K, R) bool: class-level jurisdiction list (all true if none given)
    deferrable_share: np.ndarray  # (O, K) share of demand that may wait, 0..1
    deadline_hours: np.ndarray  # (O, K) int: hours it may wait (0: runs as it arrives)
    policy: Policy  # the scenario's policy, compiled

    @property
    def shape(self) -> tuple[int, int, int]:
        """(operators, classes, regions)."""
        return (*self.demand_mw.shape, len(self.region_ids))

    def network_rtt_ms(self) -> np.ndarray:
        """(O, K, R) client-to-compute RTT in ms: access + service node to region + overhead."""
        return (self.access_rtt_ms[:, :, None] + self.rtt_ms[self.origin]
                + self.overhead_ms[:, :, None])

    def at_origin(self) -> np.ndarray:
        """(O, K, R) bool: region j is the class's origin region."""
        return self.origin[:, :, None] == np.arange(len(self.region_ids))[None, None, :]

    def status_quo_mw(self) -> np.ndarray:
        """(O, K, R) MW with every class served at its origin region."""
        return np.where(self.at_origin(), self.demand_mw[:, :, None], 0.0)

    def status_quo_load_mw(self) -> np.ndarray:
        """(R,) IT load per region (MW) when every class is served at its origin region: the
        region totals of ``status_quo_mw``."""
        return np.bincount(self.origin.ravel(), weights=self.demand_mw.ravel(),
                           minlength=len(self.region_ids))

    def demand_at(self, hour_utc: float) -> np.ndarray:
        """(O, K) demand in MW at a UTC hour: the mean times 1 + A cos(2 pi (h_local - 15) / 24),
        peaking at 15:00 local solar time (A = 0 gives a flat profile)."""
        local = (hour_utc + self.client_lon / 15.0) % 24.0
        return self.demand_mw * (1.0 + self.diurnal_amplitude
                                 * np.cos(2 * np.pi * (local - 15.0) / 24.0))

    def with_budget(self, budget_ms: float) -> Instance:
        """The same instance with every class's latency budget set to ``budget_ms``."""
        return _replace(self, budget_ms=np.where(self.valid, float(budget_ms), 0.0))

    def with_capacity(self, capacity_mw: np.ndarray) -> Instance:
        """The same instance with region capacities (MW) replaced."""
        return _replace(self, capacity_mw=np.asarray(capacity_mw, dtype=float))

    def with_demand(self, demand_mw: np.ndarray) -> Instance:
        """The same instance with class demands (MW, shape (O, K)) replaced."""
        return _replace(self, demand_mw=np.where(self.valid, demand_mw, 0.0))


def compile_scenario(scn: Scenario, rng: np.random.Generator | None = None) -> Instance:
    """Build the dense arrays of ``scn``, drawing its population (if any) from ``rng``
    (default: a generator seeded with the scenario's seed)."""
    scn = realise(scn, rng)
    rids = scn.region_ids
    ridx = {r: i for i, r in enumerate(rids)}
    zidx = {z.id: i for i, z in enumerate(scn.zones)}
    clients = {c.id: c for c in scn.clients}
    nodes = {n.id: n for n in scn.service_nodes}
    n_o, n_k, n_r = len(scn.operators), max(len(o.classes) for o in scn.operators), len(rids)

    def zeros(dtype=float):
        return np.zeros((n_o, n_k), dtype=dtype)

    valid, stateful = zeros(bool), zeros(bool)
    demand, access, budget, overhead, egress_g, state_gb, amplitude, lon = (
        zeros() for _ in range(8))
    origin, deadline = zeros(int), zeros(int)
    share = zeros()
    kind = np.full((n_o, n_k), "", dtype=object)
    origin_j = np.full((n_o, n_k), "", dtype=object)
    replica = np.zeros((n_o, n_k, n_r), dtype=bool)
    allowed = np.ones((n_o, n_k, n_r), dtype=bool)
    footprint = np.zeros((n_o, n_r), dtype=bool)
    region_j = np.array([r.jurisdiction for r in scn.regions], dtype=object)
    for o, op in enumerate(scn.operators):
        footprint[o, [ridx[r] for r in op.footprint]] = True
        for k, wc in enumerate(op.classes):
            client = clients[wc.client]
            valid[o, k] = True
            kind[o, k] = wc.kind
            demand[o, k] = wc.demand_mw
            amplitude[o, k] = wc.diurnal_amplitude
            share[o, k] = wc.deferrable_share
            deadline[o, k] = wc.deadline_hours
            lon[o, k] = client.lon
            origin[o, k] = ridx[nodes[client.service_node].region]
            origin_j[o, k] = client.jurisdiction
            access[o, k] = client.access_rtt_ms
            budget[o, k] = wc.budget_ms
            overhead[o, k] = wc.overhead_ms
            egress_g[o, k] = wc.egress_gb_per_mwh
            state_gb[o, k] = wc.state_gb_per_mw
            stateful[o, k] = wc.stateful
            replica[o, k, origin[o, k]] = True
            replica[o, k, [ridx[r] for r in wc.replicas]] = True
            if wc.allowed_jurisdictions is not None:
                allowed[o, k] = np.isin(region_j, wc.allowed_jurisdictions)
    allowed &= valid[:, :, None]
    return Instance(
        scenario=scn,
        region_ids=rids,
        operator_ids=tuple(o.id for o in scn.operators),
        class_ids=tuple(tuple(k.id for k in o.classes) for o in scn.operators),
        zone_index=np.array([zidx[r.zone] for r in scn.regions]),
        jurisdiction=region_j,
        pue=np.array([r.pue for r in scn.regions]),
        egress_usd_per_gb=np.array([r.egress_usd_per_gb for r in scn.regions]),
        capacity_mw=np.array([r.capacity_mw for r in scn.regions]),
        rent_usd_per_mwh=np.array([r.rent_usd_per_mwh for r in scn.regions]),
        rtt_ms=scn.latency.rtt_ms,
        footprint=footprint,
        internal_carbon_price_usd_per_t=np.array(
            [o.internal_carbon_price_usd_per_t for o in scn.operators]),
        capacity_share=np.array([o.capacity_share for o in scn.operators]),
        warmup_usd_per_mw=np.array([o.warmup_usd_per_mw for o in scn.operators]),
        migration_fee_usd_per_mw=np.array([o.migration_fee_usd_per_mw for o in scn.operators]),
        latency_penalty_usd_per_ms_mwh=np.array(
            [o.latency_penalty_usd_per_ms_mwh for o in scn.operators]),
        forecast=np.array([o.forecast for o in scn.operators], dtype=object),
        strategy=np.array([o.strategy for o in scn.operators], dtype=object),
        valid=valid, kind=kind, demand_mw=demand, diurnal_amplitude=amplitude, client_lon=lon,
        deferrable_share=share, deadline_hours=deadline,
        origin=origin, origin_jurisdiction=origin_j,
        access_rtt_ms=access, budget_ms=budget, overhead_ms=overhead,
        egress_gb_per_mwh=egress_g, state_gb_per_mw=state_gb, stateful=stateful,
        replica=replica, allowed=allowed,
        policy=compile_policy(scn, region_j),
    )


def compile_policy(scn: Scenario, jurisdiction: np.ndarray) -> Policy:
    """``scn``'s policy as the arrays and numbers the core reads; ``jurisdiction`` (R,) of
    each region. The scenario's population must be realised (its operators listed)."""
    policy = scn.policy
    by_region = np.array([policy.carbon_price_at(j) for j in jurisdiction])
    internal = np.array([o.internal_carbon_price_usd_per_t for o in scn.operators])
    regimes = dict(shipped().residency)
    regimes["custom"] = {o: frozenset(a) for o, a in scn.residency_rules}
    caps = dict(policy.grid_connection_cap_mw)
    return Policy(
        carbon_price_usd_per_t=by_region[None, :] + internal[:, None],
        price_weight=float(policy.objective == "cost"),
        placement_signal=policy.placement_signal,
        accounting_basis=policy.accounting_basis,
        voll_usd_per_mwh=policy.voll_usd_per_mwh,
        holding_hours=policy.holding_hours,
        egress_scale=policy.egress_scale,
        switching_fees=policy.switching_fees,
        state_transfer=policy.state_transfer,
        residency=tuple((origin, frozenset(allowed)) for name in policy.residency
                        for origin, allowed in regimes[name].items()),
        moratorium=np.array([r in policy.moratorium for r in scn.region_ids], dtype=bool),
        connection_cap_mw=np.array([float(caps.get(r, np.inf)) for r in scn.region_ids]),
    )
