"""The scenario schema: the frozen, typed objects a scenario file becomes, with their defaults.

Each default is stated once, here: the parser (``abm.config.parse``, ``abm.config.tables``)
reads a key the file leaves out from these classes, and ``tests/test_scenario_schema.py``
checks the table of keys and defaults in docs/scenarios.md against them. A TOML table maps to
a class (``[policy]`` to :class:`Policy`, ``[[operators]]`` to :class:`Operator`, ...); the
few keys that only shape how the file is read (``[network]``, ``regions.include``,
``latency.missing``, ``population.clients``) have their defaults below the classes.

A field whose key in the file is not its name says so in its metadata (``key``: relative to its
table, or, on :class:`Scenario`, the whole dotted path), and a field whose name carries no unit
states it (``unit``); ``abm.config.levers`` (what ``abm check`` lists) reads both from here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from abm.data.dataset import Latency, Region, Zone
from abm.data.grid_scale import Scale

# Allowed values of the fields that choose among fixed options (those chosen from a registry
# are listed in abm.config.registry).
CARBON_SIGNALS = ("marginal", "average")
FOOTPRINT_KINDS = ("global", "continental", "home")
ACCOUNTING_BASES = ("average", "marginal")
OBJECTIVES = ("cost", "carbon")  # carbon: price-free, the carbon price x intensity only
CAPACITY_RULES = ("listed", "unlimited", "local_demand")
# how the technology market counts reservoir water moved between hours (docs/grid.md)
MOVED_WATER_RULES = ("displaced_unit", "nothing_burnt")


@dataclass(frozen=True)
class Client:
    """A demand origin: where users are (lat, lon), their jurisdiction and their service node."""

    id: str
    lat: float
    lon: float
    jurisdiction: str
    service_node: str
    access_rtt_ms: float


@dataclass(frozen=True)
class ServiceNode:
    """A user-facing endpoint, co-located with its origin compute region."""

    id: str
    region: str


@dataclass(frozen=True)
class WorkloadClass:
    """One workload class of an operator (``[[operators.classes]]``); demand in MW of IT load
    (MWh per hourly step)."""

    id: str
    kind: str
    client: str
    demand_mw: float
    budget_ms: float
    overhead_ms: float
    egress_gb_per_mwh: float
    state_gb_per_mw: float
    stateful: bool
    replicas: tuple[str, ...] = ()
    allowed_jurisdictions: tuple[str, ...] | None = None
    diurnal_amplitude: float = 0.0  # demand x (1 + A cos(2 pi (local hour - 15) / 24))
    deferrable_share: float = 0.0  # share of demand that may wait (0..1; with deadline_hours)
    deadline_hours: int = 0  # hours deferrable work may wait (0: it runs as it arrives)


@dataclass(frozen=True)
class Event:
    """A demand-response event (``[events.NAME]``): zone ``zone`` asks for ``cut_pct`` % less
    data-centre load for ``hours`` hours, from hour ``start_hour`` of the run (a schedule) or
    whenever its rule ``rule`` calls one (``settings``: the rule's parameters); docs/market.md,
    "Demand-response events"."""

    name: str
    zone: str
    hours: int
    cut_pct: float
    start_hour: int | None = None  # a scheduled event: the run's hour it starts (0: the first)
    rule: str | None = None  # an event a rule calls (abm.config.registry.EVENT_RULES)
    settings: tuple[tuple[str, float], ...] = ()  # the rule's parameters

    @property
    def trigger(self) -> str:
        """What calls it: ``schedule`` or the rule's name."""
        return self.rule or "schedule"


@dataclass(frozen=True, kw_only=True)
class Operator:
    """An inference provider (``[[operators]]``): footprint, internal carbon price, frictions and
    its classes. ``footprint`` is region ids (the file's default, ``["*"]``, is every region)."""

    id: str
    footprint: tuple[str, ...]
    internal_carbon_price_usd_per_t: float = 0.0
    capacity_share: float = 1.0  # the share of a region's capacity it may take
    warmup_usd_per_mw: float = 0.0
    migration_fee_usd_per_mw: float = 0.0
    latency_penalty_usd_per_ms_mwh: float = 0.0
    classes: tuple[WorkloadClass, ...]
    forecast: str = "perfect"  # a name in abm.config.registry.FORECAST_MODES
    strategy: str = "lp"  # a name in abm.config.registry.STRATEGIES


@dataclass(frozen=True)
class Policy:
    """Policy levers and accounting settings (``[policy]``, docs/model.md section 6)."""

    carbon_price_usd_per_t: float = 0.0
    carbon_price_by_jurisdiction: tuple[tuple[str, float], ...] = field(
        default=(), metadata={"unit": "$/t"})
    residency: tuple[str, ...] = ("none",)
    placement_signal: str = "marginal"  # one of CARBON_SIGNALS
    accounting_basis: str = "average"  # one of ACCOUNTING_BASES
    state_transfer: bool = False
    egress_scale: float = 1.0
    switching_fees: bool = True
    voll_usd_per_mwh: float = 10_000.0
    holding_hours: float = 24.0
    moratorium: tuple[str, ...] = ()
    grid_connection_cap_mw: tuple[tuple[str, float], ...] = ()
    objective: str = "cost"  # one of OBJECTIVES

    def carbon_price_at(self, jurisdiction: str) -> float:
        """Policy carbon price ($/tCO2) applying to load in ``jurisdiction``."""
        by_jurisdiction = dict(self.carbon_price_by_jurisdiction)
        return by_jurisdiction.get(jurisdiction, self.carbon_price_usd_per_t)


@dataclass(frozen=True)
class Market:
    """Settings of the agent-based market (``[market]``, docs/market.md)."""

    allocation: str = "first_come"  # a name in abm.config.registry.ALLOCATION_RULES
    solver: str = "flow"  # a name in abm.config.registry.PLACEMENT_ENGINES
    pricing: str = "fixed"  # a name in abm.config.registry.RENT_RULES
    rent_target_utilisation: float = 0.8
    rent_step_usd_per_mwh: float = 20.0
    rent_floor_usd_per_mwh: float = 0.0
    expansion_threshold: float = 0.9
    expansion_review_hours: int = 24
    expansion_lag_hours: int = 72
    expansion_fraction: float = 0.1
    grid_response: str = "calibrated"  # a name in abm.config.registry.GRID_RESPONSES
    forecast_noise: float = 0.1
    operator_detail: bool = False


@dataclass(frozen=True)
class Grid:
    """Settings of the grid market (``[grid]``, docs/grid.md): the carbon price on generators and
    the interconnectors, separate from the carbon prices operators pay.

    Attributes:
        carbon_price_usd_per_t: (scheme id, USD/t) replacing a shipped 2024 scheme's price
            (abm/data/grid/carbon_schemes.csv); a zone pays the sum of its schemes.
        carbon_price_elsewhere_usd_per_t: the price on generators in zones no scheme covers.
        interconnector_scale: factor on every shipped interconnector capacity
            (``[grid.interconnectors] capacity_scale``).
        interconnector_capacity_mw: (line id, MW each way) replacing a line's capacity
            (not scaled; ``[grid.interconnectors.capacity_mw]``).
        data: a folder of grid tables (the layout of ``abm/data/grid/``) replacing the shipped
            ones, or None.
        stack_from: (added zone, shipped zone): an added zone borrows the shipped zone's
            technology mix (scaled to its mean demand), fuel prices, demand shape and carbon
            schemes (``profile_from`` of ``[[zones.add]]``).
        calibrate_prices: the technology market reproduces each hour's base price at the
            status quo (mark-ups on the offers, flows from the base prices); False: offers at
            cost (fuel, carbon, O&M, water values), each zone's carbon calibrated on its own.
        moved_water: what reservoir water moved between hours displaces (MOVED_WATER_RULES):
            ``displaced_unit``, the zone's fuel-burning unit whose cost is closest to the water
            value (0 where the water value is below every such unit's cost);
            ``nothing_burnt``, nothing that burns (factor 0 in every reservoir zone).
        scale: factors on figures of the grid tables (``[grid.scale.TABLE.COLUMN]``, selector
            -> factor), applied as the tables are read: the market and its calibration see the
            scaled figures as if the files said so (``abm.data.grid_scale``).
    """

    carbon_price_usd_per_t: tuple[tuple[str, float], ...] = ()
    carbon_price_elsewhere_usd_per_t: float = 0.0
    interconnector_scale: float = field(default=1.0,
                                        metadata={"key": "interconnectors.capacity_scale"})
    interconnector_capacity_mw: tuple[tuple[str, float], ...] = field(
        default=(), metadata={"key": "interconnectors.capacity_mw"})
    data: str | None = None
    stack_from: tuple[tuple[str, str], ...] = ()
    calibrate_prices: bool = True
    moved_water: str = "displaced_unit"
    scale: tuple[Scale, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Population:
    """How to generate operators (``[population]``; drawn from the model's random generator).

    ``templates`` (template -> weight; the file's default: every template, weight 1) and
    ``client_weights`` (region -> weight; from ``clients``, one of CLIENT_MIXES or a table)
    depend on the rest of the scenario.
    """

    operators: int
    total_demand_mw: float
    size_sigma: float = 1.0  # lognormal sigma of operator sizes
    classes: tuple[int, int] = (1, 3)  # [min, max] workload classes per operator
    templates: tuple[tuple[str, float], ...]
    client_weights: tuple[tuple[str, float], ...] = field(metadata={"key": "clients"})
    footprints: tuple[tuple[str, float], ...] = (("global", 1.0),)  # FOOTPRINT_KINDS -> weight
    continental_rtt_ms: float = 100.0
    internal_carbon_price_usd_per_t: tuple[float, ...] = (0.0,)  # drawn uniformly
    warmup_usd_per_mw: tuple[float, ...] = (0.0,)  # drawn uniformly
    forecast: tuple[tuple[str, float], ...] = (("perfect", 1.0),)  # forecast mode -> weight
    strategies: tuple[tuple[str, float], ...] = (("lp", 1.0),)  # shares, summing to 1


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A validated scenario: the world, its workloads and its policy. ``description``,
    ``start``, ``hours`` and ``seed`` are the ``[scenario]`` table's; ``regional_rtt_ms`` comes
    from ``[network]``."""

    name: str
    description: str = ""
    source: str
    start: dt.datetime = dt.datetime(2024, 1, 1)  # the first hour, UTC
    hours: int = 24  # the horizon in hourly steps
    seed: int = 0  # the one seed of every random draw
    regional_rtt_ms: float
    regions: tuple[Region, ...]
    zones: tuple[Zone, ...]
    latency: Latency
    clients: tuple[Client, ...]
    service_nodes: tuple[ServiceNode, ...]
    operators: tuple[Operator, ...]
    policy: Policy
    residency_rules: tuple[tuple[str, tuple[str, ...]], ...] = field(  # the custom regime
        default=(), metadata={"key": "policy.residency_rules"})
    profiles: dict[tuple[str, str], np.ndarray]
    market: Market = Market()
    grid: Grid = Grid()
    population: Population | None = None
    # hourly trace file replacing profiles where it has data
    trace: str | None = field(default=None, metadata={"key": "signals.trace"})
    templates: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    # one of CAPACITY_RULES (resolved by population.realise)
    capacity: str = field(default="listed", metadata={"key": "regions.capacity"})
    # for capacity = "local_demand", where the file must give it (the 1.0 is never read)
    capacity_per_local_demand: float = field(
        default=1.0, metadata={"key": "regions.capacity_per_local_demand"})
    # [strategies.NAME]: settings of a strategy's parameters, name -> ((parameter, value), ...)
    strategy_settings: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    # [events.NAME]: demand-response events, by schedule or by rule, in name order
    events: tuple[Event, ...] = ()

    @property
    def region_ids(self) -> tuple[str, ...]:
        """Region ids in matrix order."""
        return tuple(r.id for r in self.regions)

    def with_policy(self, **changes: Any) -> Scenario:
        """A copy with some policy fields changed."""
        return replace(self, policy=replace(self.policy, **changes))

    def with_market(self, **changes: Any) -> Scenario:
        """A copy with some market settings changed."""
        return replace(self, market=replace(self.market, **changes))

    def with_grid(self, **changes: Any) -> Scenario:
        """A copy with some grid-market settings changed."""
        return replace(self, grid=replace(self.grid, **changes))


# ---------------------------------------------------------------------------------------------
# Keys that shape how the file is read, and are not fields of the objects above


@dataclass(frozen=True)
class Network:
    """``[network]``: round-trip times that are not between regions (ms)."""

    metro_access_rtt_ms: float = 5.0  # from a region's metro client to its service node
    regional_rtt_ms: float = 50.0  # the regional layer's reach (Scenario.regional_rtt_ms)


@dataclass(frozen=True)
class LatencyPair:
    """``[[latency.pairs]]``: a round-trip time between two regions, replacing the shipped one."""

    src: str
    dst: str
    rtt_ms: float
    measured: bool = False  # measured (true) or estimated


EVERY_REGION = ("*",)  # regions.include and an operator's footprint: every region
MISSING_RTT_RULES = ("error", "distance")  # latency.missing; the first is the default
CLIENT_MIXES = ("capacity", "uniform")  # population.clients as a word; the first is the default


# The scenario file's tables of settings and the classes that state their defaults
TABLES: dict[str, type] = {"policy": Policy, "market": Market, "grid": Grid, "network": Network,
                           "population": Population}
