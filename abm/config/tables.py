"""The scenario's tables of places and actors: zones, regions, round-trip times, service
nodes, clients, workload templates, operators, the drawn population and strategy settings,
each read from its TOML table into the schema's objects (abm.config.schema) over the shipped
dataset, with errors naming the file, the field and what is allowed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from abm.config.limits import MAX_CLASSES, MAX_OPERATORS, MAX_SIZE_SIGMA, MAX_VALUE
from abm.config.reader import REQUIRED, TableReader
from abm.config.registry import FORECAST_MODES, STRATEGIES
from abm.config.schema import (
    CLIENT_MIXES,
    EVERY_REGION,
    FOOTPRINT_KINDS,
    MISSING_RTT_RULES,
    Client,
    LatencyPair,
    Operator,
    Population,
    ServiceNode,
    WorkloadClass,
)
from abm.data.dataset import JURISDICTIONS, Dataset, Latency, Region, Zone
from abm.data.geo import haversine_km, modelled_rtt_ms
from abm.errors import InputError, quoted

# [zones.set.ID] keys, how each is read, and the Zone attribute it sets
_ZONE_FIELDS = {"name": "string", "avg_carbon_g_per_kwh": "number",
                "marginal_carbon_g_per_kwh": "number", "price_usd_per_mwh": "signed",
                "load_mw": "positive"}
ZONE_ATTR = {"avg_carbon_g_per_kwh": "avg_carbon_kg_per_mwh",
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

def read_zones(t: TableReader, ds: Dataset) -> tuple[dict[str, Zone], dict, tuple]:
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
        zones[zid] = with_overrides(zones[zid], {ZONE_ATTR[k]: v for k, v in vals.items()}, vals)
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
        zones[zid] = Zone(id=zid, **{ZONE_ATTR[k]: v for k, v in vals.items()},
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

# [regions.set.ID] keys and how each is read
REGION_FIELDS = {"name": "string", "lat": "signed", "lon": "signed", "zone": "string",
                 "jurisdiction": "jurisdiction", "pue": "pue", "egress_usd_per_gb": "number",
                 "capacity_mw": "number", "rent_usd_per_mwh": "number"}


_ALL_REGION_FIELDS = {k: REGION_FIELDS[k] for k in (
    "pue", "egress_usd_per_gb", "capacity_mw", "rent_usd_per_mwh")}

def _check_region(t: TableReader, vals: dict, zones: dict[str, Zone]) -> None:
    if "zone" in vals and vals["zone"] not in zones:
        raise t.error("zone", f"unknown zone {quoted(vals['zone'])}; known: "
                      f"{', '.join(sorted(zones))}")
    if not -90 <= vals.get("lat", 0.0) <= 90:
        raise t.error("lat", f"expected degrees in [-90, 90], got {vals['lat']}")
    if not -180 <= vals.get("lon", 0.0) <= 180:
        raise t.error("lon", f"expected degrees in [-180, 180], got {vals['lon']}")


def read_regions(t: TableReader, ds: Dataset, zones: dict[str, Zone]) -> dict[str, Region]:
    include = t.strings("include", EVERY_REGION)
    if include == EVERY_REGION:
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
        vals = _fields(sub, REGION_FIELDS, required=False)
        _check_region(sub, vals, zones)
        regions[rid] = with_overrides(regions[rid], vals, vals)
    overrides.done()
    for sub in t.tables("add"):
        rid = sub.string("id")
        if rid in regions or rid in ds.regions:
            raise sub.error("id", f"region {quoted(rid)} already exists; change it under "
                            "regions.set")
        spec = dict(REGION_FIELDS)
        rent = sub.number("rent_usd_per_mwh", Region.rent_usd_per_mwh)
        spec.pop("rent_usd_per_mwh")
        vals = _fields(sub, spec, required=True)
        _check_region(sub, vals, zones)
        regions[rid] = Region(id=rid, rent_usd_per_mwh=rent,
                              overridden=frozenset({*vals, "rent_usd_per_mwh"}), **vals)
    t.done()
    if not regions:
        raise t.error("include", "a scenario needs at least one region")
    return regions

def read_latency(t: TableReader, ds: Dataset, regions: dict[str, Region]) -> Latency:
    missing_rule = t.string("missing", MISSING_RTT_RULES[0], choices=MISSING_RTT_RULES)
    ids = list(regions)
    n = len(ids)
    rtt = np.full((n, n), np.nan)
    measured = np.zeros((n, n), dtype=bool)
    given = np.zeros((n, n), dtype=bool)
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
        measured[a, b] = measured[b, a] = sub.boolean("measured", LatencyPair.measured)
        given[a, b] = given[b, a] = True
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
    return Latency(tuple(ids), rtt, measured, given)

def latency_provenance(latency: Latency) -> str:
    """Where a scenario's region-pair RTTs come from, for ``abm check``: measured (shipped
    Azure figures, or pairs the scenario gave with ``measured = true``), given by the scenario
    as estimates, and estimated by the distance model (the shipped estimates and, with
    ``latency.missing = "distance"``, the pairs with no RTT)."""
    upper = np.triu(np.ones_like(latency.measured, dtype=bool), k=1)
    given = latency.given if latency.given is not None else np.zeros_like(upper)
    measured = int((latency.measured & upper).sum())
    stated = int((given & ~latency.measured & upper).sum())
    modelled = int(upper.sum()) - measured - stated
    parts = [f"{measured} measured"]
    if stated:
        parts.append(f"{stated} given by the scenario as estimates")
    parts.append(f"{modelled} estimated by the distance model")
    return f"{int(upper.sum())} pairs: " + ", ".join(parts)


def read_service_nodes(top: TableReader, regions: dict[str, Region]) -> dict[str, ServiceNode]:
    nodes = {rid: ServiceNode(rid, rid) for rid in regions}
    for sub in top.tables("service_nodes"):
        nid = sub.string("id")
        if nid in nodes:
            raise sub.error("id", f"service node {quoted(nid)} already exists (every region id "
                            "is one)")
        nodes[nid] = ServiceNode(nid, sub.string("region", choices=tuple(regions)))
        sub.done()
    return nodes


def read_clients(top: TableReader, regions: dict[str, Region], nodes: dict[str, ServiceNode],
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


def read_deferral(t: TableReader, hours: int, base: dict[str, Any]) -> dict[str, Any]:
    """A class's or template's ``deferrable_share`` (0..1) and ``deadline_hours`` (0..the
    run's hours), each as the table gives it or else ``base``'s (the template's)."""
    out = {}
    if t.has("deferrable_share") or "deferrable_share" in base:
        out["deferrable_share"] = t.number("deferrable_share", base.get("deferrable_share"),
                                           maximum=1.0)
    if t.has("deadline_hours") or "deadline_hours" in base:
        deadline = t.integer("deadline_hours", base.get("deadline_hours"))
        if deadline > hours:
            raise t.error("deadline_hours", f"{deadline} h is beyond the run ({hours} h); "
                          f"allowed: 0 to {hours}")
        out["deadline_hours"] = deadline
    return out


def read_templates(t: TableReader, hours: int) -> dict[str, dict[str, Any]]:
    out = {}
    for name in list(t.data):
        sub = t.table(name)
        vals: dict[str, Any] = {k: sub.number(k) for k in _CLASS_NUMBERS if sub.has(k)}
        if sub.has("diurnal_amplitude"):
            vals["diurnal_amplitude"] = sub.number("diurnal_amplitude", maximum=1.0)
        vals.update(read_deferral(sub, hours, {}))
        if sub.has("stateful"):
            vals["stateful"] = sub.boolean("stateful")
        sub.done()
        out[name] = vals
    t.done()
    return out


def read_operators(top: TableReader, regions: dict[str, Region], clients: dict[str, Client],
               templates: dict[str, dict[str, Any]], hours: int, required: bool = True
               ) -> tuple[Operator, ...]:
    ops = []
    region_ids = tuple(regions)
    for sub in top.tables("operators"):
        footprint = sub.strings("footprint", EVERY_REGION)
        if footprint != EVERY_REGION:
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
            nums: dict[str, Any] = {k: ct.number(k, base.get(k, REQUIRED))
                                    for k in _CLASS_NUMBERS}
            replicas = ct.strings("replicas", WorkloadClass.replicas)
            bad = [r for r in replicas if r not in regions]
            if bad:
                raise ct.error("replicas", f"unknown region(s) {bad}; known: {', '.join(regions)}")
            allowed = (ct.strings("allowed_jurisdictions", choices=JURISDICTIONS)
                       if ct.has("allowed_jurisdictions") else WorkloadClass.allowed_jurisdictions)
            amplitude = ct.number("diurnal_amplitude",
                                  base.get("diurnal_amplitude", WorkloadClass.diurnal_amplitude),
                                  maximum=1.0)
            classes.append(WorkloadClass(
                id=ct.string("id"), kind=kind or "custom",
                client=ct.string("client", choices=tuple(clients)),
                demand_mw=ct.number("demand_mw"), diurnal_amplitude=amplitude,
                stateful=ct.boolean("stateful", base.get("stateful", REQUIRED)),
                replicas=replicas, allowed_jurisdictions=allowed, **nums,
                **read_deferral(ct, hours, base)))
            ct.done()
        if not classes:
            raise sub.error("classes", "an operator needs at least one [[operators.classes]]")
        unique_ids(classes, sub.source, f"{sub.path}.classes")
        ops.append(Operator(
            id=sub.string("id"), footprint=footprint,
            internal_carbon_price_usd_per_t=sub.number("internal_carbon_price_usd_per_t",
                                                       Operator.internal_carbon_price_usd_per_t),
            capacity_share=sub.number("capacity_share", Operator.capacity_share, strict=True,
                                      maximum=1.0),
            warmup_usd_per_mw=sub.number("warmup_usd_per_mw", Operator.warmup_usd_per_mw),
            migration_fee_usd_per_mw=sub.number("migration_fee_usd_per_mw",
                                                Operator.migration_fee_usd_per_mw),
            latency_penalty_usd_per_ms_mwh=sub.number("latency_penalty_usd_per_ms_mwh",
                                                      Operator.latency_penalty_usd_per_ms_mwh),
            classes=tuple(classes),
            forecast=sub.string("forecast", Operator.forecast, choices=FORECAST_MODES.names(),
                                hint=FORECAST_MODES.hint()),
            strategy=sub.string("strategy", Operator.strategy, choices=STRATEGIES.names(),
                                hint=STRATEGIES.hint())))
        sub.done()
    if not ops and required:
        raise top.error("operators", "a scenario needs [[operators]] or a [population]")
    unique_ids(ops, top.source, "operators")
    return tuple(ops)

def unique_ids(items, source: str, path: str) -> None:
    seen = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise InputError(source, f"{path}[{i}].id", f"duplicate id {quoted(item.id)}")
        seen.add(item.id)

def _weights(t: TableReader, key: str, default: Any, choices: tuple[str, ...], hint: str = ""
             ) -> tuple[tuple[str, float], ...]:
    sub = t.table(key, default)
    for name in sub.data:
        if name not in choices:
            raise sub.error(name, f"unknown name; allowed: {', '.join(choices)}"
                            + (f" ({hint})" if hint else ""))
    out = tuple((name, sub.number(name)) for name in list(sub.data))
    sub.done()
    if not out or sum(w for _, w in out) <= 0:
        raise t.error(key, "needs at least one positive weight")
    return out

def _numbers(t: TableReader, key: str, default: Any) -> tuple[float, ...]:
    v = t.raw(key, default)
    if not isinstance(v, list) or not v or any(
            isinstance(x, bool) or not isinstance(x, int | float) or not 0 <= x <= MAX_VALUE
            for x in v):
        raise t.error(key, f"expected a non-empty list of numbers in [0, {MAX_VALUE:g}], got "
                      f"{quoted(v)}")
    return tuple(float(x) for x in v)


def read_population(t: TableReader, regions: dict[str, Region], templates: dict) -> Population:
    if not templates:
        raise t.error("templates", "a population draws classes from [templates.NAME]: add some")
    classes = t.raw("classes", list(Population.classes))
    if (not isinstance(classes, list) or len(classes) != 2
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in classes)
            or not 1 <= classes[0] <= classes[1] <= MAX_CLASSES):
        raise t.error("classes", f"expected [min, max] integers with 1 <= min <= max <= "
                      f"{MAX_CLASSES} (workload classes per operator), got {quoted(classes)}")
    clients = t.raw("clients", CLIENT_MIXES[0])
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
        size_sigma=t.number("size_sigma", Population.size_sigma, maximum=MAX_SIZE_SIGMA),
        classes=(classes[0], classes[1]),
        templates=_weights(t, "templates", {k: 1.0 for k in templates}, tuple(templates)),
        client_weights=client_weights,
        footprints=_weights(t, "footprints", dict(Population.footprints), FOOTPRINT_KINDS),
        continental_rtt_ms=t.number("continental_rtt_ms", Population.continental_rtt_ms,
                                    strict=True),
        internal_carbon_price_usd_per_t=_numbers(t, "internal_carbon_price_usd_per_t",
                                                 list(Population.internal_carbon_price_usd_per_t)),
        warmup_usd_per_mw=_numbers(t, "warmup_usd_per_mw", list(Population.warmup_usd_per_mw)),
        forecast=_weights(t, "forecast", dict(Population.forecast), FORECAST_MODES.names(),
                          FORECAST_MODES.hint()),
        strategies=_strategy_shares(t),
    )
    t.done()
    return pop


def read_strategy_settings(t: TableReader) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    """``[strategies.NAME]``: values (> 0) for the parameters a strategy declares."""
    out = []
    for name in list(t.data):
        if name not in STRATEGIES:
            raise t.error(name, f"unknown strategy; allowed: {', '.join(STRATEGIES)} "
                             f"({STRATEGIES.hint()})")
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
            raise sub.error(name, f"unknown strategy; allowed: {', '.join(STRATEGIES)} "
                             f"({STRATEGIES.hint()})")
        shares[name] = sub.number(name, maximum=1.0)
    sub.done()
    rest = 1.0 - sum(v for k, v in shares.items() if k != "lp")
    if rest < -1e-9 or ("lp" in shares and abs(rest - shares["lp"]) > 1e-9):
        raise t.error("strategies", f"shares must add up to 1 (lp takes what the others leave), "
                      f"got {shares}")
    shares["lp"] = max(rest, 0.0)
    return tuple((k, shares[k]) for k in STRATEGIES if shares.get(k, 0.0) > 0)
