"""Scenario files (TOML): validated into frozen, typed objects.

A scenario starts from the shipped dataset (regions, zones, RTTs, profiles) and overrides parts
of it; it may also ``extends`` another scenario file and override that. Every error names the
file, the field path and what is allowed. The schema is documented in ``docs/scenarios.md``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from abm.config.limits import (
    FIRST_START,
    LAST_END,
    MAX_CELLS,
    MAX_CLASSES,
    MAX_HOURS,
    MAX_INTEGER,
    MAX_OPERATORS,
    MAX_SEED,
    MAX_SIZE_SIGMA,
    MAX_VALUE,
)
from abm.config.registry import (
    ALLOCATION_RULES,
    FORECAST_MODES,
    GRID_RESPONSES,
    PLACEMENT_ENGINES,
    RENT_RULES,
    STRATEGIES,
)
from abm.data.dataset import JURISDICTIONS, Dataset, Latency, Region, Zone, shipped
from abm.data.geo import haversine_km, modelled_rtt_ms
from abm.data.grid_tables import GridData, load_grid_data
from abm.errors import InputError, cut, quoted

SCENARIO_DIR = Path(__file__).parents[1] / "scenarios"  # abm/scenarios
DEFAULT_SCENARIO = SCENARIO_DIR / "default.toml"
CARBON_SIGNALS = ("marginal", "average")
FOOTPRINT_KINDS = ("global", "continental", "home")
ACCOUNTING_BASES = ("average", "marginal")
OBJECTIVES = ("cost", "carbon")  # carbon: price-free, the carbon price x intensity only
CAPACITY_RULES = ("listed", "unlimited", "local_demand")
_MISSING = object()


# ---------------------------------------------------------------------------------------------
# Typed objects


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
    """One workload class of an operator; demand in MW of IT load (MWh per hourly step)."""

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


@dataclass(frozen=True)
class Operator:
    """An inference provider: footprint, internal carbon price, frictions and its classes."""

    id: str
    footprint: tuple[str, ...]
    internal_carbon_price_usd_per_t: float
    capacity_share: float
    warmup_usd_per_mw: float
    migration_fee_usd_per_mw: float
    latency_penalty_usd_per_ms_mwh: float
    classes: tuple[WorkloadClass, ...]
    forecast: str = "perfect"
    strategy: str = "lp"  # a name in abm.market.strategies.STRATEGIES


@dataclass(frozen=True)
class Policy:
    """Policy levers and accounting settings (docs/model.md section 6)."""

    carbon_price_usd_per_t: float = 0.0
    carbon_price_by_jurisdiction: tuple[tuple[str, float], ...] = ()
    residency: tuple[str, ...] = ("none",)
    placement_signal: str = "marginal"
    accounting_basis: str = "average"
    state_transfer: bool = False
    egress_scale: float = 1.0
    switching_fees: bool = True
    voll_usd_per_mwh: float = 10_000.0
    holding_hours: float = 24.0
    moratorium: tuple[str, ...] = ()
    grid_connection_cap_mw: tuple[tuple[str, float], ...] = ()
    objective: str = "cost"

    def carbon_price_at(self, jurisdiction: str) -> float:
        """Policy carbon price ($/tCO2) applying to load in ``jurisdiction``."""
        by_jurisdiction = dict(self.carbon_price_by_jurisdiction)
        return by_jurisdiction.get(jurisdiction, self.carbon_price_usd_per_t)


@dataclass(frozen=True)
class Market:
    """Settings of the agent-based market (docs/market.md)."""

    allocation: str = "first_come"
    solver: str = "flow"
    pricing: str = "fixed"
    rent_target_utilisation: float = 0.8
    rent_step_usd_per_mwh: float = 20.0
    rent_floor_usd_per_mwh: float = 0.0
    expansion_threshold: float = 0.9
    expansion_review_hours: int = 24
    expansion_lag_hours: int = 72
    expansion_fraction: float = 0.1
    grid_response: str = "calibrated"
    forecast_noise: float = 0.1
    operator_detail: bool = False


@dataclass(frozen=True)
class Grid:
    """Settings of the grid market (docs/grid.md, docs/scenarios.md): the carbon price on
    generators and the interconnectors, separate from the carbon prices operators pay.

    Attributes:
        carbon_price_usd_per_t: (scheme id, USD/t) replacing a shipped 2024 scheme's price
            (abm/data/grid/carbon_schemes.csv); a zone pays the sum of its schemes.
        carbon_price_elsewhere_usd_per_t: the price on generators in zones no scheme covers.
        interconnector_scale: factor on every shipped interconnector capacity.
        interconnector_capacity_mw: (line id, MW each way) replacing a line's capacity
            (not scaled).
        data: a folder of grid tables (the layout of ``abm/data/grid/``) replacing the shipped
            ones, or None.
        stack_from: (added zone, shipped zone): an added zone borrows the shipped zone's
            technology mix (scaled to its mean demand), fuel prices, demand shape and carbon
            schemes (``profile_from`` of ``[[zones.add]]``).
    """

    carbon_price_usd_per_t: tuple[tuple[str, float], ...] = ()
    carbon_price_elsewhere_usd_per_t: float = 0.0
    interconnector_scale: float = 1.0
    interconnector_capacity_mw: tuple[tuple[str, float], ...] = ()
    data: str | None = None
    stack_from: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Population:
    """How to generate operators (drawn from the model's random generator)."""

    operators: int
    total_demand_mw: float
    size_sigma: float
    classes: tuple[int, int]
    templates: tuple[tuple[str, float], ...]
    client_weights: tuple[tuple[str, float], ...]
    footprints: tuple[tuple[str, float], ...]
    continental_rtt_ms: float
    internal_carbon_price_usd_per_t: tuple[float, ...]
    warmup_usd_per_mw: tuple[float, ...]
    forecast: tuple[tuple[str, float], ...]
    strategies: tuple[tuple[str, float], ...] = (("lp", 1.0),)  # shares, summing to 1


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the world, its workloads and its policy."""

    name: str
    description: str
    source: str
    start: dt.datetime
    hours: int
    seed: int
    regional_rtt_ms: float
    regions: tuple[Region, ...]
    zones: tuple[Zone, ...]
    latency: Latency
    clients: tuple[Client, ...]
    service_nodes: tuple[ServiceNode, ...]
    operators: tuple[Operator, ...]
    policy: Policy
    residency_rules: tuple[tuple[str, tuple[str, ...]], ...]
    profiles: dict[tuple[str, str], np.ndarray]
    market: Market = Market()
    grid: Grid = Grid()
    population: Population | None = None
    trace: str | None = None  # hourly trace file replacing profiles where it has data
    templates: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    capacity: str = "listed"  # listed, unlimited or local_demand (resolved by population.realise)
    capacity_per_local_demand: float = 1.0  # for capacity = "local_demand"
    # [strategies.NAME]: settings of a strategy's parameters, name -> ((parameter, value), ...)
    strategy_settings: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()

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
# Reading tables with precise errors


class TableReader:
    """A TOML table being read: typed getters that know their field path; unknown keys rejected."""

    def __init__(self, data: Any, source: str, path: str) -> None:
        if not isinstance(data, dict):
            raise InputError(source, path or "(top level)",
                             f"expected a table, got {type(data).__name__}")
        self.data, self.source, self.path = data, source, path
        self.used: set[str] = set()

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, problem: str) -> InputError:
        return InputError(self.source, self._where(key), problem)

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise self.error(key, "is required")
            return default
        return self.data[key]

    def number(self, key: str, default: Any = _MISSING, *, minimum: float | None = 0.0,
               strict: bool = False, maximum: float = MAX_VALUE) -> float:
        """A finite number in [minimum, maximum] (``strict``: above ``minimum``); every number is
        at most ``abm.config.limits.MAX_VALUE`` in magnitude."""
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(key, f"expected a number, got {quoted(v)}")
        try:
            v = float(v)
        except OverflowError:  # an integer beyond the float range
            v = math.inf if v > 0 else -math.inf
        if not math.isfinite(v):
            raise self.error(key, f"expected a finite number, got {v}")
        if minimum is not None and (v < minimum or (strict and v == minimum)):
            raise self.error(key, f"expected a number {'>' if strict else '>='} {minimum}, got {v}")
        if v > maximum:
            raise self.error(key, f"expected a number <= {maximum:g}, got {v:g}")
        if v < -MAX_VALUE:
            raise self.error(key, f"expected a number >= {-MAX_VALUE:g}, got {v:g}")
        return v

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int = 0,
                maximum: int = MAX_INTEGER) -> int:
        """A whole number in [minimum, maximum]."""
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(key, f"expected an integer, got {quoted(v)}")
        if v < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {quoted(v, 30)}")
        if v > maximum:
            raise self.error(key, f"expected an integer <= {maximum:,}, got {quoted(v, 30)}")
        return v

    def string(self, key: str, default: Any = _MISSING, *, choices: tuple[str, ...] | None = None
               ) -> str:
        v = self.raw(key, default)
        if not isinstance(v, str) or not v:
            raise self.error(key, f"expected a non-empty string, got {quoted(v)}")
        if choices is not None and v not in choices:
            raise self.error(key, f"got {quoted(v)}; allowed: {', '.join(choices)}")
        return v

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        v = self.raw(key, default)
        if not isinstance(v, bool):
            raise self.error(key, f"expected true or false, got {quoted(v)}")
        return v

    def strings(self, key: str, default: Any = _MISSING, *,
                choices: tuple[str, ...] | None = None) -> tuple[str, ...]:
        v = self.raw(key, default)
        if isinstance(v, str) or not isinstance(v, list | tuple) or not all(
                isinstance(s, str) for s in v):
            raise self.error(key, f"expected a list of strings, got {quoted(v)}")
        if choices is not None:
            bad = [s for s in v if s not in choices]
            if bad:
                raise self.error(key, f"unknown value(s) {quoted(bad)}; allowed: "
                                 f"{', '.join(choices)}")
        if len(set(v)) != len(v):
            twice = sorted({x for x in v if v.count(x) > 1})
            raise self.error(key, f"has duplicates: {quoted(twice)}")
        return tuple(v)

    def table(self, key: str, default: Any = _MISSING) -> TableReader:
        return TableReader(self.raw(key, default), self.source, self._where(key))

    def tables(self, key: str) -> list[TableReader]:
        v = self.raw(key, [])
        if not isinstance(v, list):
            raise self.error(key, "expected an array of tables ([[...]])")
        return [TableReader(item, self.source, f"{self._where(key)}[{i}]")
                for i, item in enumerate(v)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            allowed = ", ".join(sorted(self.used))
            raise InputError(self.source, cut(self._where(unknown[0])),
                             f"unknown key; allowed here: {allowed}")


def _ids_unique(items, source: str, path: str) -> None:
    seen = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise InputError(source, f"{path}[{i}].id", f"duplicate id {quoted(item.id)}")
        seen.add(item.id)


# ---------------------------------------------------------------------------------------------
# Loading


def read_toml(path: Path) -> dict:
    """Parse a TOML file; a missing or malformed file is an InputError naming it."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
        return tomllib.loads(text)
    except FileNotFoundError:
        raise InputError(path, "", "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "", "is a folder; expected a scenario TOML file") from None
    except OSError as exc:
        raise InputError(path, "", f"cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, "", f"not UTF-8 text (byte {exc.start}); TOML files are UTF-8"
                         ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(path, "", "not valid TOML: arrays or tables nested too deeply") from None


def _merge(base: dict, over: dict) -> dict:
    """``over`` on ``base``: tables merge key by key, arrays of tables with ids merge by id
    (a new id is added, a known one replaced), other values replace."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        elif _by_id(v) and _by_id(out.get(k)):
            merged = {item["id"]: item for item in out[k]}
            merged.update((item["id"], item) for item in v)
            out[k] = list(merged.values())
        else:
            out[k] = v
    return out


def _by_id(value: Any) -> bool:
    """An array of tables with distinct string ids (duplicates are left to validation)."""
    return (isinstance(value, list) and bool(value)
            and all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in value)
            and len({item["id"] for item in value}) == len(value))


def resolve_file(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """The file's table, merged over whatever it ``extends`` (tables merge, arrays replace)."""
    try:
        path = path.resolve()
    except OSError as exc:  # a name the system cannot look up (too long, say)
        raise InputError(cut(str(path), 200), "", f"cannot be read: {exc.strerror}") from None
    if path in seen:
        raise InputError(path, "extends", "circular extends chain")
    data = read_toml(path)
    candidate = _parent(path, data.pop("extends", None))
    if candidate is None:
        return data
    return _merge(resolve_file(candidate, (*seen, path)), data)


def _parent(path: Path, parent: Any) -> Path | None:
    """The file that ``path``'s ``extends = parent`` names (a path beside it, or a shipped
    scenario's name), or None without one."""
    if parent is None:
        return None
    if not isinstance(parent, str):
        raise InputError(path, "extends", f"expected a scenario name or path, got {quoted(parent)}")
    candidate = (path.parent / parent)
    if not candidate.suffix:
        candidate = SCENARIO_DIR / f"{parent}.toml"
    try:
        found = candidate.is_file()
    except OSError as exc:  # a name the system cannot look up (too long, say)
        raise InputError(path, "extends", f"cannot be read: {exc.strerror}") from None
    if not found:
        raise InputError(path, "extends", f"no scenario {quoted(parent)} (looked for "
                         f"{quoted(str(candidate), 200)})")
    return candidate.resolve()


def extends_chain(path: str | Path) -> list[Path]:
    """The scenario files ``path`` extends, nearest first (resolved paths)."""
    chain: list[Path] = []
    current = _parent(Path(path).resolve(), read_toml(Path(path)).get("extends"))
    while current is not None and current not in chain:  # resolve_file rejects cycles
        chain.append(current)
        current = _parent(current, read_toml(current).get("extends"))
    return chain


def load_scenario(path: str | Path | None = None, dataset: Dataset | None = None,
                  overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file; ``None`` means the shipped default scenario.

    Args:
        path: the TOML file.
        dataset: the data to start from (default: the shipped dataset).
        overrides: values set by dotted path before validation, e.g.
            ``{"policy.carbon_price_usd_per_t": 100.0, "regions.set.eu-ireland.capacity_mw": 50}``;
            validated like the file's own values (errors name the path).
    """
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    data = resolve_file(path)
    for dotted, value in (overrides or {}).items():
        set_path(data, dotted, value, str(path))
    return parse_scenario(data, str(path), dataset)


def set_path(data: dict, dotted: str, value: Any, source: str = "overrides") -> None:
    """Set ``value`` at a dotted path in a scenario table, creating tables on the way."""
    keys = dotted.split(".")
    if not all(keys):
        raise InputError(source, dotted,
                         "expected a dotted path such as policy.carbon_price_usd_per_t")
    node = data
    for i, key in enumerate(keys[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise InputError(source, ".".join(keys[: i + 1]),
                             f"is a {type(child).__name__}, not a table: cannot set {dotted}")
        node = child
    node[keys[-1]] = value


def parse_scenario(data: dict, source: str, dataset: Dataset | None = None) -> Scenario:
    """Validate an already-parsed scenario table (``source`` names it in errors)."""
    ds = dataset or shipped()
    top = TableReader(data, source, "")
    head = top.table("scenario")
    name = head.string("name")
    description = head.string("description") if head.has("description") else ""
    start = _start(head)
    hours = head.integer("hours", 24, minimum=1, maximum=MAX_HOURS)
    if start + dt.timedelta(hours=hours) > LAST_END:
        raise head.error("hours", f"the run from {start.isoformat()} for {hours} h would end after "
                         f"{LAST_END.isoformat()}; runs end by then")
    seed = head.integer("seed", 0, maximum=MAX_SEED)
    head.done()

    net = top.table("network", {})
    metro_rtt = net.number("metro_access_rtt_ms", 5.0)
    regional_rtt = net.number("regional_rtt_ms", 50.0, strict=True)
    net.done()

    policy_t = top.table("policy", {})
    zones, profiles, donors = _zones(top.table("zones", {}), ds)
    regions_t = top.table("regions", {})
    capacity = regions_t.string("capacity", "listed", choices=CAPACITY_RULES)
    per_local = 1.0
    if capacity == "local_demand":
        per_local = regions_t.number("capacity_per_local_demand", strict=True)
    elif regions_t.has("capacity_per_local_demand"):
        raise regions_t.error("capacity_per_local_demand",
                              "only with capacity = \"local_demand\"")
    regions = _regions(regions_t, ds, zones)
    if capacity != "listed":
        fixed = [r.id for r in regions.values() if "capacity_mw" in r.overridden]
        if fixed:
            raise regions_t.error("capacity", f"{quoted(capacity)} sets every region's capacity, "
                                  f"but capacity_mw is also given for {fixed[0]}; remove one")
    policy, rules = _policy(policy_t, ds, regions)
    market = _market(top.table("market", {}))
    grid = _grid(top.table("grid", {}), source, donors)
    sig = top.table("signals", {})
    trace = None
    if sig.has("trace"):
        trace = str(Path(source).parent / sig.string("trace"))
        try:
            trace = str(Path(trace).resolve())
            found = Path(trace).is_file()
        except OSError as exc:
            raise sig.error("trace", f"cannot be read: {exc.strerror}") from None
        if not found:
            raise sig.error("trace", f"no such file: {cut(trace, 200)}")
    sig.done()
    latency = _latency(top.table("latency", {}), ds, regions)
    nodes = _service_nodes(top, regions)
    clients = _clients(top, regions, nodes, metro_rtt)
    templates = _templates(top.table("templates", {}))
    population = (_population(top.table("population"), regions, templates)
                  if top.has("population") else None)
    operators = _operators(top, regions, clients, templates, required=population is None)
    strategy_settings = _strategy_settings(top.table("strategies", {}))
    top.done()
    _check_size(source, operators, population, len(regions))

    used_zones = {r.zone for r in regions.values()}
    zones_t = tuple(z for z in zones.values() if z.id in used_zones)
    return Scenario(
        name=name, description=description, source=source, start=start, hours=hours, seed=seed,
        regional_rtt_ms=regional_rtt, regions=tuple(regions.values()), zones=zones_t,
        latency=latency, clients=tuple(clients.values()), service_nodes=tuple(nodes.values()),
        operators=operators, policy=policy, residency_rules=rules, profiles=profiles,
        market=market, grid=grid, population=population, trace=trace,
        templates=tuple((k, tuple(v.items())) for k, v in templates.items()),
        capacity=capacity, capacity_per_local_demand=per_local,
        strategy_settings=strategy_settings,
    )


def _start(head: TableReader) -> dt.datetime:
    v = head.raw("start", dt.datetime(2024, 1, 1))
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v)
        except ValueError:
            raise head.error("start", f"expected an ISO date-time, got {quoted(v)}") from None
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        v = dt.datetime(v.year, v.month, v.day)
    if not isinstance(v, dt.datetime):
        raise head.error("start", "expected a date-time such as 2024-01-08T00:00:00, got "
                         f"{quoted(v)}")
    if v.tzinfo is not None:
        v = v.astimezone(dt.UTC).replace(tzinfo=None)
    if v.minute or v.second or v.microsecond:
        raise head.error("start", f"must fall on a whole UTC hour, got {v.isoformat()}")
    if not FIRST_START <= v < LAST_END:
        raise head.error("start", f"expected a time from {FIRST_START.isoformat()} to before "
                         f"{LAST_END.isoformat()}, got {v.isoformat()}")
    return v


def _policy(t: TableReader, ds: Dataset, regions: dict[str, Region]) -> tuple[Policy, tuple]:
    regimes = (*ds.residency, "custom")
    by_j = t.table("carbon_price_by_jurisdiction", {})
    prices = tuple((j, by_j.number(j)) for j in list(by_j.data))
    for j, _ in prices:
        if j not in JURISDICTIONS:
            raise by_j.error(j, f"unknown jurisdiction; allowed: {', '.join(JURISDICTIONS)}")
    rules_t = t.table("residency_rules", {})
    rules = tuple((o, rules_t.strings(o, choices=JURISDICTIONS)) for o in list(rules_t.data))
    for o, _ in rules:
        if o not in JURISDICTIONS:
            raise rules_t.error(o, f"unknown jurisdiction; allowed: {', '.join(JURISDICTIONS)}")
    residency = t.strings("residency", ["none"], choices=regimes)
    if "custom" in residency and not rules:
        raise t.error("residency", "'custom' needs a [policy.residency_rules] table")
    if rules and "custom" not in residency:
        raise t.error("residency_rules", "given, but 'custom' is not in policy.residency")
    policy = Policy(
        carbon_price_usd_per_t=t.number("carbon_price_usd_per_t", 0.0),
        carbon_price_by_jurisdiction=prices,
        residency=residency,
        placement_signal=t.string("placement_signal", "marginal", choices=CARBON_SIGNALS),
        accounting_basis=t.string("accounting_basis", "average", choices=ACCOUNTING_BASES),
        state_transfer=t.boolean("state_transfer", False),
        egress_scale=t.number("egress_scale", 1.0),
        switching_fees=t.boolean("switching_fees", True),
        voll_usd_per_mwh=t.number("voll_usd_per_mwh", 10_000.0, strict=True),
        holding_hours=t.number("holding_hours", 24.0, strict=True),
        moratorium=t.strings("moratorium", [], choices=tuple(regions)),
        grid_connection_cap_mw=_region_numbers(t.table("grid_connection_cap_mw", {}), regions),
        objective=t.string("objective", "cost", choices=OBJECTIVES),
    )
    t.done()
    return policy, rules


def _region_numbers(t: TableReader, regions: dict[str, Region]) -> tuple[tuple[str, float], ...]:
    for rid in t.data:
        if rid not in regions:
            raise t.error(rid, f"unknown region; known: {', '.join(regions)}")
    out = tuple((rid, t.number(rid)) for rid in list(t.data))
    t.done()
    return out


def _market(t: TableReader) -> Market:
    if t.has("checkpoint_hours"):
        raise t.error("checkpoint_hours", "is no longer a scenario setting: how often a run "
                      "checkpoints is a run option (`abm run --checkpoint-hours N`; by default "
                      "every 60 s) and not part of the run's fingerprint; delete this line")
    m = Market(
        allocation=t.string("allocation", "first_come", choices=ALLOCATION_RULES.names()),
        solver=t.string("solver", "flow", choices=PLACEMENT_ENGINES.names()),
        pricing=t.string("pricing", "fixed", choices=RENT_RULES.names()),
        rent_target_utilisation=t.number("rent_target_utilisation", 0.8, maximum=1.0),
        rent_step_usd_per_mwh=t.number("rent_step_usd_per_mwh", 20.0),
        rent_floor_usd_per_mwh=t.number("rent_floor_usd_per_mwh", 0.0),
        expansion_threshold=t.number("expansion_threshold", 0.9, maximum=1.0),
        expansion_review_hours=t.integer("expansion_review_hours", 24, minimum=1),
        expansion_lag_hours=t.integer("expansion_lag_hours", 72, minimum=1),
        expansion_fraction=t.number("expansion_fraction", 0.1),
        grid_response=t.string("grid_response", "calibrated", choices=GRID_RESPONSES.names()),
        forecast_noise=t.number("forecast_noise", 0.1),
        operator_detail=t.boolean("operator_detail", False),
    )
    t.done()
    return m


def _names_numbers(t: TableReader) -> tuple[tuple[str, float], ...]:
    """A table of name -> number >= 0 (names are checked against the data where it is read)."""
    out = tuple((name, t.number(name)) for name in list(t.data))
    t.done()
    return out


def _grid(t: TableReader, source: str, donors: tuple[tuple[str, str], ...]) -> Grid:
    lines = t.table("interconnectors", {})
    data = None
    if t.has("data"):
        data = str((Path(source).parent / t.string("data")).resolve())
        if not Path(data).is_dir():
            raise t.error("data", f"no such folder: {data}")
    g = Grid(
        carbon_price_usd_per_t=_names_numbers(t.table("carbon_price_usd_per_t", {})),
        carbon_price_elsewhere_usd_per_t=t.number("carbon_price_elsewhere_usd_per_t", 0.0),
        interconnector_scale=lines.number("capacity_scale", 1.0),
        interconnector_capacity_mw=_names_numbers(lines.table("capacity_mw", {})),
        data=data,
        stack_from=donors,
    )
    lines.done()
    t.done()
    check_grid_names(g, source)
    return g


def check_grid_names(grid: Grid, source: str, data: GridData | None = None) -> None:
    """Raise an InputError naming ``source`` and the field if ``grid`` names a carbon scheme
    or an interconnector that the grid data (default: its ``grid.data`` folder or the shipped
    tables) does not have."""
    if not (grid.carbon_price_usd_per_t or grid.interconnector_capacity_mw):
        return
    data = data or load_grid_data(grid.data)
    for scheme, _ in grid.carbon_price_usd_per_t:
        if scheme not in data.schemes:
            raise InputError(source, f"grid.carbon_price_usd_per_t.{scheme}",
                             f"unknown carbon scheme; known: {', '.join(sorted(data.schemes))}")
    known = {ln.id for ln in data.lines}
    for line, _ in grid.interconnector_capacity_mw:
        if line not in known:
            raise InputError(source, f"grid.interconnectors.capacity_mw.{line}",
                             f"unknown interconnector; known: {', '.join(sorted(known))}")


def _weights(t: TableReader, key: str, default: Any, choices: tuple[str, ...]
             ) -> tuple[tuple[str, float], ...]:
    sub = t.table(key, default)
    for name in sub.data:
        if name not in choices:
            raise sub.error(name, f"unknown name; allowed: {', '.join(choices)}")
    out = tuple((name, sub.number(name)) for name in list(sub.data))
    sub.done()
    if not out or sum(w for _, w in out) <= 0:
        raise t.error(key, "needs at least one positive weight")
    return out


# Drawn operators are named gen000, gen001, ... (abm.config.population.realise).
_DRAWN_ID = re.compile(r"gen\d{3,}")


def _check_size(source: str, operators: tuple[Operator, ...], population: Population | None,
                regions: int) -> None:
    """Listed and drawn operators within ``abm.config.limits``; listed ids apart from drawn ones."""
    drawn = population.operators if population is not None else 0
    if len(operators) + drawn > MAX_OPERATORS:
        raise InputError(source, "operators", f"{len(operators)} listed + {drawn} drawn "
                         f"operators; at most {MAX_OPERATORS:,} in all")
    classes = max((len(o.classes) for o in operators), default=0)
    if population is not None:
        classes = max(classes, population.classes[1])
    cells = classes * (len(operators) + drawn) * regions
    if cells > MAX_CELLS:
        raise InputError(source, "operators", f"operators x workload classes x regions is "
                         f"{cells:,}; at most {MAX_CELLS:,} (the placement's dense arrays)")
    if population is not None:
        for i, o in enumerate(operators):
            if _DRAWN_ID.fullmatch(o.id):
                raise InputError(source, f"operators[{i}].id", f"{quoted(o.id)} looks like a "
                                 "drawn operator's id (gen000, gen001, ...); choose another")


def _numbers(t: TableReader, key: str, default: Any) -> tuple[float, ...]:
    v = t.raw(key, default)
    if not isinstance(v, list) or not v or any(
            isinstance(x, bool) or not isinstance(x, int | float) or not 0 <= x <= MAX_VALUE
            for x in v):
        raise t.error(key, f"expected a non-empty list of numbers in [0, {MAX_VALUE:g}], got "
                      f"{quoted(v)}")
    return tuple(float(x) for x in v)


def _population(t: TableReader, regions: dict[str, Region], templates: dict) -> Population:
    if not templates:
        raise t.error("templates", "a population draws classes from [templates.NAME]: add some")
    classes = t.raw("classes", [1, 3])
    if (not isinstance(classes, list) or len(classes) != 2
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in classes)
            or not 1 <= classes[0] <= classes[1] <= MAX_CLASSES):
        raise t.error("classes", f"expected [min, max] integers with 1 <= min <= max <= "
                      f"{MAX_CLASSES} (workload classes per operator), got {quoted(classes)}")
    clients = t.raw("clients", "capacity")
    if clients == "capacity":
        client_weights = tuple((r.id, r.capacity_mw) for r in regions.values())
    elif clients == "uniform":
        client_weights = tuple((r, 1.0) for r in regions)
    elif isinstance(clients, dict):
        client_weights = _weights(t, "clients", {}, tuple(regions))
    else:
        raise t.error("clients", "expected 'capacity', 'uniform' or a table region -> weight")
    pop = Population(
        operators=t.integer("operators", minimum=1, maximum=MAX_OPERATORS),
        total_demand_mw=t.number("total_demand_mw", strict=True),
        size_sigma=t.number("size_sigma", 1.0, maximum=MAX_SIZE_SIGMA),
        classes=(classes[0], classes[1]),
        templates=_weights(t, "templates", {k: 1.0 for k in templates}, tuple(templates)),
        client_weights=client_weights,
        footprints=_weights(t, "footprints", {"global": 1.0}, FOOTPRINT_KINDS),
        continental_rtt_ms=t.number("continental_rtt_ms", 100.0, strict=True),
        internal_carbon_price_usd_per_t=_numbers(t, "internal_carbon_price_usd_per_t", [0.0]),
        warmup_usd_per_mw=_numbers(t, "warmup_usd_per_mw", [0.0]),
        forecast=_weights(t, "forecast", {"perfect": 1.0}, FORECAST_MODES.names()),
        strategies=_strategy_shares(t),
    )
    t.done()
    return pop


def _strategy_settings(t: TableReader) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    """``[strategies.NAME]``: values (> 0) for the parameters a strategy declares."""
    out = []
    for name in list(t.data):
        if name not in STRATEGIES:
            raise t.error(name, f"unknown strategy; allowed: {', '.join(STRATEGIES)}")
        sub = t.table(name)
        allowed = STRATEGIES[name].parameters
        for key in sub.data:
            if key not in allowed:
                raise sub.error(key, f"unknown parameter of {name}; allowed: "
                                f"{', '.join(allowed) or '(none)'}")
        out.append((name, tuple((k, sub.number(k, strict=True)) for k in list(sub.data))))
        sub.done()
    t.done()
    return tuple(out)


def _strategy_shares(t: TableReader) -> tuple[tuple[str, float], ...]:
    """``strategies``: share of the drawn operators per strategy; ``lp`` takes the rest."""
    sub = t.table("strategies", {})
    shares = {}
    for name in list(sub.data):
        if name not in STRATEGIES:
            raise sub.error(name, f"unknown strategy; allowed: {', '.join(STRATEGIES)}")
        shares[name] = sub.number(name, maximum=1.0)
    sub.done()
    rest = 1.0 - sum(v for k, v in shares.items() if k != "lp")
    if rest < -1e-9 or ("lp" in shares and abs(rest - shares["lp"]) > 1e-9):
        raise t.error("strategies", f"shares must add up to 1 (lp takes what the others leave), "
                      f"got {shares}")
    shares["lp"] = max(rest, 0.0)
    return tuple((k, shares[k]) for k in STRATEGIES if shares.get(k, 0.0) > 0)


_ZONE_FIELDS = {"name": "string", "avg_carbon_g_per_kwh": "number",
                "marginal_carbon_g_per_kwh": "number", "price_usd_per_mwh": "signed",
                "load_mw": "positive"}
_ZONE_ATTR = {"avg_carbon_g_per_kwh": "avg_carbon_kg_per_mwh",
              "marginal_carbon_g_per_kwh": "marginal_carbon_kg_per_mwh",
              "price_usd_per_mwh": "price_usd_per_mwh", "name": "name", "load_mw": "load_mw"}


def _fields(t: TableReader, spec: dict[str, str], required: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, kind in spec.items():
        if not required and not t.has(key):
            continue
        if kind == "string":
            out[key] = t.string(key)
        elif kind == "jurisdiction":
            out[key] = t.string(key, choices=JURISDICTIONS)
        elif kind == "signed":
            out[key] = t.number(key, minimum=None)
        elif kind == "pue":
            out[key] = t.number(key, minimum=1.0)
        elif kind == "positive":
            out[key] = t.number(key, strict=True)
        else:
            out[key] = t.number(key)
    t.done()
    return out


def _zones(t: TableReader, ds: Dataset) -> tuple[dict[str, Zone], dict, tuple]:
    """Zones after overrides and additions, the profile table including added zones, and
    (added zone, shipped zone it borrows from) pairs."""
    zones = dict(ds.zones)
    profiles = dict(ds.profiles)
    spec = _ZONE_FIELDS
    overrides = t.table("set", {})
    for zid in list(overrides.data):
        if zid not in zones:
            raise overrides.error(zid, f"unknown zone; known: {', '.join(sorted(zones))}")
        vals = _fields(overrides.table(zid), spec, required=False)
        zones[zid] = with_overrides(zones[zid], {_ZONE_ATTR[k]: v for k, v in vals.items()}, vals)
    overrides.done()
    donors: list[tuple[str, str]] = []
    for sub in t.tables("add"):
        zid = sub.string("id")
        if zid in zones:
            raise sub.error("id", f"zone {quoted(zid)} already exists; change it under zones.set")
        source = sub.string("profile_from", choices=("flat", *sorted(ds.zones)))
        if source != "flat":
            donors.append((zid, source))
        for signal in ("price", "carbon"):
            profiles[zid, signal] = (np.ones((12, 24)) if source == "flat"
                                     else ds.profiles[source, signal])
        vals = _fields(sub, spec, required=True)
        zones[zid] = Zone(id=zid, **{_ZONE_ATTR[k]: v for k, v in vals.items()},
                          overridden=frozenset(vals))
    t.done()
    return zones, profiles, tuple(donors)


_ASSUMED_AS = {"capacity_mw": "capacity", "egress_usd_per_gb": "egress", "load_mw": "load",
               "marginal_carbon_g_per_kwh": "marginal_carbon", "price_usd_per_mwh": "price"}
"""Scenario field -> the name the shipped tables' ``assumed`` column gives it."""


def with_overrides(item: Any, attrs: dict[str, Any], fields: dict[str, Any] | set[str]) -> Any:
    """``item`` (a Region or Zone) with ``attrs`` set by the scenario fields ``fields``: they are
    recorded as overridden and no longer count as shipped assumptions."""
    gone = {_ASSUMED_AS.get(f, f) for f in fields}
    return replace(item, **attrs, assumed=item.assumed - gone,
                   overridden=item.overridden | frozenset(fields))


def scenario_overrides(scn: Scenario) -> list[str]:
    """What the scenario set over the shipped data: ``region.field = value`` for each field it
    overrode, ``id (added)`` for a region or zone it added (values in the scenario's units)."""
    out = []
    for items, spec, attr in ((scn.regions, _REGION_FIELDS, lambda f: f),
                              (scn.zones, _ZONE_FIELDS, _ZONE_ATTR.__getitem__)):
        for item in items:
            if set(spec) <= item.overridden:
                out.append(f"{item.id} (added)")
                continue
            out += [f"{item.id}.{f} = {getattr(item, attr(f))!r}"
                    for f in sorted(item.overridden)]
    return out


_REGION_FIELDS = {"name": "string", "lat": "signed", "lon": "signed", "zone": "string",
                  "jurisdiction": "jurisdiction", "pue": "pue", "egress_usd_per_gb": "number",
                  "capacity_mw": "number", "rent_usd_per_mwh": "number"}


_ALL_REGION_FIELDS = {k: _REGION_FIELDS[k] for k in (
    "pue", "egress_usd_per_gb", "capacity_mw", "rent_usd_per_mwh")}


def _check_region(t: TableReader, vals: dict, zones: dict[str, Zone]) -> None:
    if "zone" in vals and vals["zone"] not in zones:
        raise t.error("zone", f"unknown zone {quoted(vals['zone'])}; known: "
                      f"{', '.join(sorted(zones))}")
    if not -90 <= vals.get("lat", 0.0) <= 90:
        raise t.error("lat", f"expected degrees in [-90, 90], got {vals['lat']}")
    if not -180 <= vals.get("lon", 0.0) <= 180:
        raise t.error("lon", f"expected degrees in [-180, 180], got {vals['lon']}")


def _regions(t: TableReader, ds: Dataset, zones: dict[str, Zone]) -> dict[str, Region]:
    include = t.strings("include", ["*"])
    if include == ("*",):
        regions = dict(ds.regions)
    else:
        bad = [r for r in include if r not in ds.regions]
        if bad:
            raise t.error("include", f"unknown region(s) {bad}; known: {', '.join(ds.regions)}")
        regions = {r: ds.regions[r] for r in include}
    every = t.table("all", {})
    for key in every.data:
        if key not in _ALL_REGION_FIELDS:
            raise every.error(key, f"unknown key; allowed here: {', '.join(_ALL_REGION_FIELDS)}")
    vals = _fields(every, _ALL_REGION_FIELDS, required=False)
    every.done()
    if vals:
        regions = {rid: with_overrides(r, vals, vals) for rid, r in regions.items()}
    overrides = t.table("set", {})
    for rid in list(overrides.data):
        if rid not in regions:
            raise overrides.error(rid, f"unknown region; known: {', '.join(regions)}")
        sub = overrides.table(rid)
        vals = _fields(sub, _REGION_FIELDS, required=False)
        _check_region(sub, vals, zones)
        regions[rid] = with_overrides(regions[rid], vals, vals)
    overrides.done()
    for sub in t.tables("add"):
        rid = sub.string("id")
        if rid in regions or rid in ds.regions:
            raise sub.error("id", f"region {quoted(rid)} already exists; change it under "
                            "regions.set")
        spec = dict(_REGION_FIELDS)
        rent = sub.number("rent_usd_per_mwh", 0.0)
        spec.pop("rent_usd_per_mwh")
        vals = _fields(sub, spec, required=True)
        _check_region(sub, vals, zones)
        regions[rid] = Region(id=rid, rent_usd_per_mwh=rent,
                              overridden=frozenset({*vals, "rent_usd_per_mwh"}), **vals)
    t.done()
    if not regions:
        raise t.error("include", "a scenario needs at least one region")
    return regions


def _latency(t: TableReader, ds: Dataset, regions: dict[str, Region]) -> Latency:
    missing_rule = t.string("missing", "error", choices=("error", "distance"))
    ids = list(regions)
    n = len(ids)
    rtt = np.full((n, n), np.nan)
    measured = np.zeros((n, n), dtype=bool)
    np.fill_diagonal(rtt, 0.0)
    known = ds.latency
    for a, ra in enumerate(ids):
        for b, rb in enumerate(ids):
            if a != b and ra in known.region_ids and rb in known.region_ids:
                i, j = known.index(ra), known.index(rb)
                rtt[a, b], measured[a, b] = known.rtt_ms[i, j], known.measured[i, j]
    for sub in t.tables("pairs"):
        src = sub.string("src", choices=tuple(ids))
        dst = sub.string("dst", choices=tuple(ids))
        if src == dst:
            raise sub.error("dst", "a pair needs two different regions")
        a, b = ids.index(src), ids.index(dst)
        rtt[a, b] = rtt[b, a] = sub.number("rtt_ms", strict=True)
        measured[a, b] = measured[b, a] = sub.boolean("measured", False)
        sub.done()
    t.done()
    gaps = [(ids[a], ids[b]) for a, b in zip(*np.where(np.isnan(rtt)), strict=True) if a < b]
    if gaps and missing_rule == "error":
        raise t.error("pairs", f"no RTT for {len(gaps)} region pair(s), e.g. {gaps[0]}: add "
                      "[[latency.pairs]] or set latency.missing = 'distance' to estimate them")
    for x, y in gaps:
        a, b, one, other = ids.index(x), ids.index(y), regions[x], regions[y]
        rtt[a, b] = rtt[b, a] = float(modelled_rtt_ms(
            haversine_km(one.lat, one.lon, other.lat, other.lon)))
    return Latency(tuple(ids), rtt, measured)


def _service_nodes(top: TableReader, regions: dict[str, Region]) -> dict[str, ServiceNode]:
    nodes = {rid: ServiceNode(rid, rid) for rid in regions}
    for sub in top.tables("service_nodes"):
        nid = sub.string("id")
        if nid in nodes:
            raise sub.error("id", f"service node {quoted(nid)} already exists (every region id "
                            "is one)")
        nodes[nid] = ServiceNode(nid, sub.string("region", choices=tuple(regions)))
        sub.done()
    return nodes


def _clients(top: TableReader, regions: dict[str, Region], nodes: dict[str, ServiceNode],
             metro_rtt: float) -> dict[str, Client]:
    clients = {r.id: Client(r.id, r.lat, r.lon, r.jurisdiction, r.id, metro_rtt)
               for r in regions.values()}
    for sub in top.tables("clients"):
        cid = sub.string("id")
        if cid in clients:
            raise sub.error("id", f"client {quoted(cid)} already exists (every region id is one)")
        lat = sub.number("lat", minimum=-90.0, maximum=90.0)
        lon = sub.number("lon", minimum=-180.0, maximum=180.0)
        node = nodes[sub.string("service_node", choices=tuple(nodes))]
        home = regions[node.region]
        access = (sub.number("access_rtt_ms") if sub.has("access_rtt_ms")
                  else float(modelled_rtt_ms(haversine_km(lat, lon, home.lat, home.lon))))
        clients[cid] = Client(cid, lat, lon, sub.string("jurisdiction", choices=JURISDICTIONS),
                              node.id, access)
        sub.done()
    return clients


_CLASS_NUMBERS = ("budget_ms", "overhead_ms", "egress_gb_per_mwh", "state_gb_per_mw")


def _templates(t: TableReader) -> dict[str, dict[str, Any]]:
    out = {}
    for name in list(t.data):
        sub = t.table(name)
        vals: dict[str, Any] = {k: sub.number(k) for k in _CLASS_NUMBERS if sub.has(k)}
        if sub.has("diurnal_amplitude"):
            vals["diurnal_amplitude"] = sub.number("diurnal_amplitude", maximum=1.0)
        if sub.has("stateful"):
            vals["stateful"] = sub.boolean("stateful")
        sub.done()
        out[name] = vals
    t.done()
    return out


def _operators(top: TableReader, regions: dict[str, Region], clients: dict[str, Client],
               templates: dict[str, dict[str, Any]], required: bool = True
               ) -> tuple[Operator, ...]:
    ops = []
    region_ids = tuple(regions)
    for sub in top.tables("operators"):
        footprint = sub.strings("footprint", ["*"])
        if footprint != ("*",):
            bad = [r for r in footprint if r not in regions]
            if bad:
                raise sub.error("footprint",
                                f"unknown region(s) {bad}; known: {', '.join(regions)}")
        else:
            footprint = region_ids
        classes = []
        for ct in sub.tables("classes"):
            kind = ct.string("template", "") if ct.has("template") else ""
            if kind and kind not in templates:
                raise ct.error("template", f"unknown template {quoted(kind)}; defined: "
                               f"{', '.join(templates) or '(none: add [templates.NAME])'}")
            base = templates.get(kind, {})
            nums = {k: ct.number(k, base.get(k, _MISSING)) for k in _CLASS_NUMBERS}
            replicas = ct.strings("replicas", [])
            bad = [r for r in replicas if r not in regions]
            if bad:
                raise ct.error("replicas", f"unknown region(s) {bad}; known: {', '.join(regions)}")
            allowed = (ct.strings("allowed_jurisdictions", choices=JURISDICTIONS)
                       if ct.has("allowed_jurisdictions") else None)
            amplitude = ct.number("diurnal_amplitude", base.get("diurnal_amplitude", 0.0),
                                  maximum=1.0)
            classes.append(WorkloadClass(
                id=ct.string("id"), kind=kind or "custom",
                client=ct.string("client", choices=tuple(clients)),
                demand_mw=ct.number("demand_mw"), diurnal_amplitude=amplitude,
                stateful=ct.boolean("stateful", base.get("stateful", _MISSING)),
                replicas=replicas, allowed_jurisdictions=allowed, **nums))
            ct.done()
        if not classes:
            raise sub.error("classes", "an operator needs at least one [[operators.classes]]")
        _ids_unique(classes, sub.source, f"{sub.path}.classes")
        ops.append(Operator(
            id=sub.string("id"), footprint=footprint,
            internal_carbon_price_usd_per_t=sub.number("internal_carbon_price_usd_per_t", 0.0),
            capacity_share=sub.number("capacity_share", 1.0, strict=True, maximum=1.0),
            warmup_usd_per_mw=sub.number("warmup_usd_per_mw", 0.0),
            migration_fee_usd_per_mw=sub.number("migration_fee_usd_per_mw", 0.0),
            latency_penalty_usd_per_ms_mwh=sub.number("latency_penalty_usd_per_ms_mwh", 0.0),
            classes=tuple(classes),
            forecast=sub.string("forecast", "perfect", choices=FORECAST_MODES.names()),
            strategy=sub.string("strategy", "lp", choices=STRATEGIES.names())))
        sub.done()
    if not ops and required:
        raise top.error("operators", "a scenario needs [[operators]] or a [population]")
    _ids_unique(ops, top.source, "operators")
    return tuple(ops)
