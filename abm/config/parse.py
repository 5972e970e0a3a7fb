"""Scenario tables to validated objects: ``parse_scenario`` reads the ``[scenario]``,
``[network]``, ``[policy]``, ``[market]``, ``[grid]`` and ``[signals]`` tables, the tables of
places and actors (abm.config.tables), checks the sizes against abm.config.limits, and returns
a frozen :class:`~abm.config.schema.Scenario`. A key the file leaves out takes the schema's
default; every error names the file, the field and what is allowed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from abm.config.events import read_events
from abm.config.limits import (
    FIRST_START,
    LAST_END,
    MAX_CELLS,
    MAX_HOURS,
    MAX_OPERATORS,
    MAX_SEED,
    MAX_TABLE_BYTES,
    MAX_TRACE_BYTES,
    MIN_HOLDING_HOURS,
)
from abm.config.reader import TableReader
from abm.config.registry import ALLOCATION_RULES, GRID_RESPONSES, PLACEMENT_ENGINES, RENT_RULES
from abm.config.resolve import beside
from abm.config.schema import (
    ACCOUNTING_BASES,
    CAPACITY_RULES,
    CARBON_SIGNALS,
    MOVED_WATER_RULES,
    OBJECTIVES,
    Grid,
    Market,
    Network,
    Operator,
    Policy,
    Population,
    Scenario,
)
from abm.config.tables import (
    read_clients,
    read_latency,
    read_operators,
    read_population,
    read_regions,
    read_service_nodes,
    read_strategy_settings,
    read_templates,
    read_zones,
)
from abm.data.dataset import JURISDICTIONS, Dataset, Region, shipped
from abm.data.grid_scale import SCALABLE, Scale
from abm.data.grid_tables import GridData, load_grid_data, missing_problem, missing_tables
from abm.errors import InputError, cut, quoted
from abm.files import check_input


def parse_scenario(data: dict, source: str, dataset: Dataset | None = None) -> Scenario:
    """Validate an already-parsed scenario table (``source`` names it in errors)."""
    ds = dataset or shipped()
    top = TableReader(data, source, "")
    head = top.table("scenario")
    name = head.string("name")
    description = (head.string("description") if head.has("description")
                   else Scenario.description)
    start = _start(head)
    hours = head.integer("hours", Scenario.hours, minimum=1, maximum=MAX_HOURS)
    check_hours(source, "scenario.hours", start, hours)
    seed = head.integer("seed", Scenario.seed, maximum=MAX_SEED)
    head.done()

    net = top.table("network", {})
    metro_rtt = net.number("metro_access_rtt_ms", Network.metro_access_rtt_ms)
    regional_rtt = net.number("regional_rtt_ms", Network.regional_rtt_ms, strict=True)
    net.done()

    policy_t = top.table("policy", {})
    zones, profiles, donors = read_zones(top.table("zones", {}), ds)
    regions_t = top.table("regions", {})
    capacity = regions_t.string("capacity", Scenario.capacity, choices=CAPACITY_RULES)
    per_local = Scenario.capacity_per_local_demand
    if capacity == "local_demand":
        per_local = regions_t.number("capacity_per_local_demand", strict=True)
    elif regions_t.has("capacity_per_local_demand"):
        raise regions_t.error("capacity_per_local_demand",
                              "only with capacity = \"local_demand\"")
    regions = read_regions(regions_t, ds, zones)
    if capacity != "listed":
        fixed = [r.id for r in regions.values() if "capacity_mw" in r.overridden]
        if fixed:
            raise regions_t.error("capacity", f"{quoted(capacity)} sets every region's capacity, "
                                  f"but capacity_mw is also given for {fixed[0]}; remove one")
    policy, rules = _policy(policy_t, ds, regions)
    market = _market(top.table("market", {}))
    used_zones = {r.zone for r in regions.values()}
    # a zone no region is in (added, then its regions dropped) is not in the scenario: nor is
    # the stack it borrows
    grid = _grid(top.table("grid", {}), source,
                 tuple((zone, donor) for zone, donor in donors if zone in used_zones))
    sig = top.table("signals", {})
    trace = Scenario.trace
    if sig.has("trace"):
        trace = _input_file(sig, "trace", beside(source, sig.string("trace")), MAX_TRACE_BYTES,
                            "a trace file (CSV)")
    sig.done()
    latency = read_latency(top.table("latency", {}), ds, regions)
    nodes = read_service_nodes(top, regions)
    clients = read_clients(top, regions, nodes, metro_rtt)
    templates = read_templates(top.table("templates", {}), hours)
    population = (read_population(top.table("population"), regions, templates)
                  if top.has("population") else Scenario.population)
    operators = read_operators(top, regions, clients, templates, hours,
                               required=population is None)
    strategy_settings = read_strategy_settings(top.table("strategies", {}))
    events = read_events(top.table("events", {}), tuple(z for z in zones if z in used_zones),
                         hours)
    top.done()
    _check_size(source, operators, population, len(regions))

    zones_t = tuple(z for z in zones.values() if z.id in used_zones)
    return Scenario(
        name=name, description=description, source=source, start=start, hours=hours, seed=seed,
        regional_rtt_ms=regional_rtt, regions=tuple(regions.values()), zones=zones_t,
        latency=latency, clients=tuple(clients.values()), service_nodes=tuple(nodes.values()),
        operators=operators, policy=policy, residency_rules=rules, profiles=profiles,
        market=market, grid=grid, population=population, trace=trace,
        templates=tuple((k, tuple(v.items())) for k, v in templates.items()),
        capacity=capacity, capacity_per_local_demand=per_local,
        strategy_settings=strategy_settings, events=events,
    )

def _input_file(t: TableReader, key: str, path: Path, max_bytes: int, what: str) -> str:
    """The resolved path of the file ``key`` names, checked to be a regular file of at most
    ``max_bytes`` (as it will be read); an error naming the field otherwise."""
    try:
        check_input(path, max_bytes, what)
        return str(path.resolve())
    except InputError as exc:
        raise t.error(key, f"{cut(exc.source, 200)}: {exc.problem}") from None
    except (OSError, ValueError) as exc:  # a name the system cannot resolve (a loop, say)
        raise t.error(key, f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from None


def check_hours(source: str, field: str, start: dt.datetime, hours: int) -> None:
    """Raise an InputError naming ``source`` and ``field`` unless a run of ``hours`` hourly
    steps from ``start`` fits ``abm.config.limits`` (at most MAX_HOURS, ending by LAST_END):
    for the scenario's own hours and for every face's ``--hours`` before anything runs."""
    if hours > MAX_HOURS:
        raise InputError(source, field, f"expected an integer <= {MAX_HOURS:,} (ten years of "
                         f"hours), got {hours:,}")
    if start + dt.timedelta(hours=hours) > LAST_END:
        raise InputError(source, field, f"the run from {start.isoformat()} for {hours:,} h "
                         f"would end after {LAST_END.isoformat()}; runs end by then")


def _start(head: TableReader) -> dt.datetime:
    v = head.raw("start", Scenario.start)
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
    residency = t.strings("residency", Policy.residency, choices=regimes)
    if "custom" in residency and not rules:
        raise t.error("residency", "'custom' needs a [policy.residency_rules] table")
    if rules and "custom" not in residency:
        raise t.error("residency_rules", "given, but 'custom' is not in policy.residency")
    policy = Policy(
        carbon_price_usd_per_t=t.number("carbon_price_usd_per_t", Policy.carbon_price_usd_per_t),
        carbon_price_by_jurisdiction=prices,
        residency=residency,
        placement_signal=t.string("placement_signal", Policy.placement_signal,
                                  choices=CARBON_SIGNALS),
        accounting_basis=t.string("accounting_basis", Policy.accounting_basis,
                                  choices=ACCOUNTING_BASES),
        state_transfer=t.boolean("state_transfer", Policy.state_transfer),
        egress_scale=t.number("egress_scale", Policy.egress_scale),
        switching_fees=t.boolean("switching_fees", Policy.switching_fees),
        voll_usd_per_mwh=t.number("voll_usd_per_mwh", Policy.voll_usd_per_mwh, strict=True),
        holding_hours=t.number("holding_hours", Policy.holding_hours,
                               minimum=MIN_HOLDING_HOURS),
        moratorium=t.strings("moratorium", Policy.moratorium, choices=tuple(regions)),
        grid_connection_cap_mw=_region_numbers(t.table("grid_connection_cap_mw", {}), regions),
        objective=t.string("objective", Policy.objective, choices=OBJECTIVES),
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
    if "checkpoint_hours" in t.data:  # not t.has: a key no longer allowed
        raise t.error("checkpoint_hours", "is no longer a scenario setting: how often a run "
                      "checkpoints is a run option (`abm run --checkpoint-hours N`; by default "
                      "every 60 s) and not part of the run's fingerprint; delete this line")
    m = Market(
        allocation=t.string("allocation", Market.allocation, choices=ALLOCATION_RULES.names(),
                            hint=ALLOCATION_RULES.hint()),
        solver=t.string("solver", Market.solver, choices=PLACEMENT_ENGINES.names(),
                        hint=PLACEMENT_ENGINES.hint()),
        pricing=t.string("pricing", Market.pricing, choices=RENT_RULES.names(),
                         hint=RENT_RULES.hint()),
        rent_target_utilisation=t.number("rent_target_utilisation",
                                         Market.rent_target_utilisation, maximum=1.0),
        rent_step_usd_per_mwh=t.number("rent_step_usd_per_mwh", Market.rent_step_usd_per_mwh),
        rent_floor_usd_per_mwh=t.number("rent_floor_usd_per_mwh", Market.rent_floor_usd_per_mwh),
        expansion_threshold=t.number("expansion_threshold", Market.expansion_threshold,
                                     maximum=1.0),
        expansion_review_hours=t.integer("expansion_review_hours", Market.expansion_review_hours,
                                         minimum=1),
        expansion_lag_hours=t.integer("expansion_lag_hours", Market.expansion_lag_hours,
                                      minimum=1),
        expansion_fraction=t.number("expansion_fraction", Market.expansion_fraction),
        grid_response=t.string("grid_response", Market.grid_response,
                               choices=GRID_RESPONSES.names(),
                               hint=GRID_RESPONSES.hint()),
        forecast_noise=t.number("forecast_noise", Market.forecast_noise),
        operator_detail=t.boolean("operator_detail", Market.operator_detail),
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
    data = Grid.data
    if t.has("data"):
        folder = beside(source, t.string("data"))
        try:
            found = folder.is_dir()
            data = str(folder.resolve())
        except (OSError, ValueError) as exc:
            raise t.error("data", f"cannot be read: {getattr(exc, 'strerror', None) or exc}"
                          ) from None
        if not found:
            raise t.error("data", f"no such folder: {cut(data, 200)}")
        missing = missing_tables(Path(data))
        if missing:
            raise t.error("data", f"{cut(data, 200)}: {missing_problem(missing)}")
        for table in sorted(Path(data).glob("*.csv")):  # read by name, by pandas, later
            _input_file(t, "data", table, MAX_TABLE_BYTES, "a grid data table (CSV)")
    g = Grid(
        carbon_price_usd_per_t=_names_numbers(t.table("carbon_price_usd_per_t", {})),
        carbon_price_elsewhere_usd_per_t=t.number("carbon_price_elsewhere_usd_per_t",
                                                  Grid.carbon_price_elsewhere_usd_per_t),
        interconnector_scale=lines.number("capacity_scale", Grid.interconnector_scale),
        interconnector_capacity_mw=_names_numbers(lines.table("capacity_mw", {})),
        data=data,
        stack_from=donors,
        calibrate_prices=t.boolean("calibrate_prices", Grid.calibrate_prices),
        moved_water=t.string("moved_water", Grid.moved_water, choices=MOVED_WATER_RULES),
        scale=_scales(t.table("scale", {})),
    )
    lines.done()
    t.done()
    check_grid_names(g, source)
    return g


def _scales(t: TableReader) -> tuple[Scale, ...]:
    """``[grid.scale.TABLE.COLUMN]`` selector -> factor (rows are matched where the tables are
    read, :func:`check_grid_names`)."""
    out = []
    for table in list(t.data):
        if table not in SCALABLE:
            raise t.error(table, f"not a grid table whose figures scale; allowed: "
                          f"{', '.join(SCALABLE)}")
        columns = t.table(table)
        for column in list(columns.data):
            if column not in SCALABLE[table]:
                raise columns.error(column, f"not a figure of {table}.csv that scales; "
                                    f"allowed: {', '.join(SCALABLE[table])}")
            rows = columns.table(column)
            for selector in list(rows.data):
                scale = Scale(table, column, selector, rows.number(selector))
                try:
                    scale.conditions()
                except ValueError as exc:
                    raise rows.error(selector, str(exc)) from None
                out.append(scale)
            rows.done()
        columns.done()
    t.done()
    return tuple(out)


def check_grid_names(grid: Grid, source: str, data: GridData | None = None) -> None:
    """Raise an InputError naming ``source`` and the field if ``grid`` names a carbon scheme
    or an interconnector that the grid data (default: its ``grid.data`` folder or the shipped
    tables) does not have, or scales figures the tables cannot give (``[grid.scale]``: a
    selector that picks no row, or a scaled table that is no longer valid)."""
    if grid.scale and data is None:
        try:
            data = load_grid_data(grid.data, grid.scale, source)
        except InputError as exc:
            if exc.field.startswith("grid.scale."):  # a selector that picks nothing
                raise
            raise InputError(source, "grid.scale", f"the scaled grid tables are not valid: "
                             f"{exc}") from None
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
