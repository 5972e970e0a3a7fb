"""``[events.NAME]``: demand-response events, read into :class:`~abm.config.schema.Event`
(docs/scenarios.md, "Demand-response events"; docs/market.md for what a run does with them).

An event is called by a schedule (``start_hour``) or by a registered rule (``rule``, with the
numbers the rule declares in its ``parameters``); errors name the file, the field and what is
allowed. Two scheduled events of one zone may not overlap.
"""

from __future__ import annotations

from itertools import pairwise

from abm.config.reader import REQUIRED, TableReader
from abm.config.registry import EVENT_RULES
from abm.config.schema import Event
from abm.errors import InputError, quoted


def read_events(t: TableReader, zones: tuple[str, ...], hours: int) -> tuple[Event, ...]:
    """Every ``[events.NAME]`` of ``t``, in name order, checked against the scenario's
    ``zones`` and its ``hours``."""
    out = []
    for name in sorted(t.data):
        sub = t.table(name)
        zone = sub.string("zone")
        if zone not in zones:
            raise sub.error("zone", f"unknown zone {quoted(zone)}; the scenario's zones: "
                            f"{', '.join(zones)}")
        length = sub.integer("hours", minimum=1)
        if length > hours:
            raise sub.error("hours", f"{length} h is longer than the run ({hours} h)")
        cut = sub.number("cut_pct", maximum=100.0)
        if sub.has("start_hour") == sub.has("rule"):
            raise sub.error("start_hour" if sub.has("start_hour") else "rule",
                            "give one of start_hour (a scheduled event) or rule (an event a "
                            f"rule calls: {', '.join(EVENT_RULES.names())})")
        event = Event(name=name, zone=zone, hours=length, cut_pct=cut)
        if sub.has("start_hour"):
            start = sub.integer("start_hour", maximum=hours - 1)
            if start + length > hours:
                raise sub.error("hours", f"the event from hour {start} for {length} h ends "
                                f"after the run ({hours} h)")
            event = Event(name=name, zone=zone, hours=length, cut_pct=cut, start_hour=start)
        else:
            rule = sub.string("rule", choices=EVENT_RULES.names(), hint=EVENT_RULES.hint())
            event = Event(name=name, zone=zone, hours=length, cut_pct=cut, rule=rule,
                          settings=_settings(sub, rule))
        sub.done()
        out.append(event)
    t.done()
    _check_overlaps(t, out)
    return tuple(out)


def check_rules(events: tuple[Event, ...], grid: object, source: str) -> None:
    """Raise an InputError naming ``source`` and the event when an event's rule reads the
    zone's fleet (its class's ``needs_fleet``) and the grid response ``grid`` has none
    (``available_mw``: only ``technology`` has one). The market's model calls it as it
    builds, and ``abm check`` before a run (docs/scenarios.md)."""
    for e in events:
        if e.rule is not None and getattr(EVENT_RULES[e.rule], "needs_fleet", False) \
                and not hasattr(grid, "available_mw"):
            raise InputError(source, f"events.{e.name}.rule", f"{e.rule} reads the zone's "
                             "fleet: it needs market.grid_response = 'technology'")


def _settings(sub: TableReader, rule: str) -> tuple[tuple[str, float], ...]:
    """The numbers of the parameters ``rule`` declares (required unless the rule's class
    gives a default of the same name)."""
    cls = EVENT_RULES[rule]
    return tuple((p, sub.number(p, getattr(cls, p, REQUIRED), minimum=None))
                 for p in cls.parameters)


def _check_overlaps(t: TableReader, events: list[Event]) -> None:
    """Two scheduled events of one zone may not share an hour (the zone calls one at a time;
    rules wait while an event runs, docs/market.md)."""
    scheduled = sorted((e for e in events if e.start_hour is not None),
                       key=lambda e: (e.zone, e.start_hour))
    for a, b in pairwise(scheduled):
        assert a.start_hour is not None and b.start_hour is not None
        if a.zone == b.zone and b.start_hour < a.start_hour + a.hours:
            raise t.error(f"{b.name}.start_hour", f"overlaps event {quoted(a.name)} in zone "
                          f"{a.zone} (hours {a.start_hour} to {a.start_hour + a.hours - 1}); "
                          "a zone calls one event at a time")
