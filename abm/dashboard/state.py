"""The dashboard's controller: control values -> scenario -> market run -> the numbers shown.

Pure Python on the library (no solara, no browser): the page in ``abm/dashboard/app.py`` only
draws what this module computes, so what a control does, what a step does and what the numbers
are is unit-tested here. A control change rebuilds the scenario and restarts the run at hour 0
with the same seed (as Mesa's visualisation does); the discarded run is kept so that the
headline numbers can be compared with it hour for hour.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.config.registry import EVENT_RULES, FORECAST_MODES, STRATEGIES
from abm.config.scenario import SCENARIO_DIR, Scenario, WorkloadClass, load_scenario
from abm.core.frontier import DEFAULT_BUDGETS_MS, frontier
from abm.core.instance import compile_scenario
from abm.core.metrics import cost_usd_per_mwh, shift_matrix
from abm.core.signals import mean_signals
from abm.data.dataset import shipped
from abm.market import reporters
from abm.market.events import COLUMNS as EVENT_COLUMNS
from abm.market.fingerprint import fingerprint
from abm.market.loop import run
from abm.market.model import MarketModel
from abm.market.run import events_table, lines_table
from abm.report.figures import FLEX_COLUMNS
from abm.report.worldmap import zone_locations

SCENARIO_MIX = "scenario"
LAYERS = ("local", "regional", "energy")
# experiments/scenarios of the clone this package runs from (an installed package has none)
CLONE = Path(__file__).resolve().parents[2]
EXPERIMENT_DIR = CLONE / "experiments" / "scenarios"
FRONTIERS_KEPT = 16  # frontiers kept for every session (a large scenario's takes minutes)


def forecast_choices() -> tuple[str, ...]:
    """The forecast menu: the scenario's own mix, then every registered forecast mode."""
    return (SCENARIO_MIX, *FORECAST_MODES.names())


def strategy_choices() -> tuple[str, ...]:
    """The strategy menu: the scenario's own mix, then every registered strategy."""
    return (SCENARIO_MIX, *STRATEGIES.names())


@dataclass(frozen=True)
class Controls:
    """The values of the dashboard's controls.

    Attributes:
        scenario: path of the scenario TOML file.
        budgets_ms: latency budget (ms, round trip) per tier, i.e. per workload template;
            every class of that template gets it.
        carbon_price_usd_per_t: the policy carbon price, $/tCO2, everywhere.
        residency: the residency regimes in force (``("none",)`` for none).
        friction_scale: multiplies every migration friction (state transfer, warm-up and
            switching fees); 0 is frictionless, 1 the scenario's own.
        forecast: ``"scenario"`` keeps the scenario's forecast modes; otherwise every operator
            forecasts this way (perfect, persistence or noisy).
        strategy: ``"scenario"`` keeps the scenario's strategies; otherwise every operator
            places by this one (``abm.config.registry.STRATEGIES``).
    """

    scenario: str
    budgets_ms: tuple[tuple[str, float], ...]
    carbon_price_usd_per_t: float
    residency: tuple[str, ...]
    friction_scale: float = 1.0
    forecast: str = SCENARIO_MIX
    strategy: str = SCENARIO_MIX


def experiment_dir() -> Path | None:
    """The clone's ``experiments/scenarios`` folder, or None when this package is installed
    (a wheel ships the scenarios of ``abm/scenarios`` only)."""
    return EXPERIMENT_DIR if (CLONE / "pyproject.toml").is_file() and EXPERIMENT_DIR.is_dir() \
        else None


def scenario_choices(extra: str | Path | None = None) -> dict[str, str]:
    """Menu name -> file: ``extra`` (a user's file) first, then the shipped scenarios
    (``default``, ``scale``), then, run from a clone, every experiment scenario
    (``experiments/NAME``)."""
    experiments = experiment_dir()
    files = (([Path(extra)] if extra else []) + sorted(SCENARIO_DIR.glob("*.toml"))
             + (sorted(experiments.glob("*.toml")) if experiments else []))
    out: dict[str, str] = {}
    for path in files:
        if path.parent == SCENARIO_DIR:
            name = path.stem
        elif experiments is not None and path.parent == experiments:
            name = f"experiments/{path.stem}"
        else:
            name = f"{path.stem} ({path})"
        out.setdefault(name, str(path))
    return out


def residency_choices(current: tuple[str, ...] = ("none",)) -> list[tuple[str, ...]]:
    """Residency settings to offer: none, each shipped regime, all of them together, and
    ``current`` (e.g. a scenario's custom rules) if it is none of these."""
    regimes = [r for r in shipped().residency if r != "none"]
    out = [("none",)] + [c for n in range(1, len(regimes) + 1) for c in combinations(regimes, n)]
    return out if current in out else [*out, current]


def tier_budgets(scn: Scenario) -> tuple[tuple[str, float], ...]:
    """(template, budget ms) of the scenario's templates that set a latency budget."""
    return tuple((name, float(dict(values)["budget_ms"])) for name, values in scn.templates
                 if "budget_ms" in dict(values))


def controls_for(path: str | Path) -> Controls:
    """The controls at the values of the scenario file ``path``."""
    scn = load_scenario(path)
    return Controls(scenario=str(path), budgets_ms=tier_budgets(scn),
                    carbon_price_usd_per_t=scn.policy.carbon_price_usd_per_t,
                    residency=scn.policy.residency)


def apply_controls(base: Scenario, controls: Controls) -> Scenario:
    """``base`` with the control values applied (the scenario file itself is not read).

    Budgets apply to every class of the tier's template, listed or drawn; the friction scale
    multiplies state sizes, warm-up costs and switching fees, so every friction phi scales
    by it exactly; the population's draws are unchanged, so the same operators result.
    """
    budgets = dict(controls.budgets_ms)
    f = controls.friction_scale
    mode, strategy = controls.forecast, controls.strategy

    def workload(k: WorkloadClass) -> WorkloadClass:
        return replace(k, budget_ms=budgets.get(k.kind, k.budget_ms),
                       state_gb_per_mw=k.state_gb_per_mw * f)

    operators = tuple(replace(
        op, classes=tuple(workload(k) for k in op.classes),
        warmup_usd_per_mw=op.warmup_usd_per_mw * f,
        migration_fee_usd_per_mw=op.migration_fee_usd_per_mw * f,
        forecast=op.forecast if mode == SCENARIO_MIX else mode,
        strategy=op.strategy if strategy == SCENARIO_MIX else strategy)
        for op in base.operators)

    def template(name: str, values: tuple) -> tuple:
        fields = dict(values)
        if "budget_ms" in fields:
            fields["budget_ms"] = budgets.get(name, fields["budget_ms"])
        if "state_gb_per_mw" in fields:
            fields["state_gb_per_mw"] *= f
        return name, tuple(fields.items())

    templates = tuple(template(name, values) for name, values in base.templates)
    pop = base.population
    if pop is not None:
        pop = replace(pop, warmup_usd_per_mw=tuple(w * f for w in pop.warmup_usd_per_mw),
                      forecast=pop.forecast if mode == SCENARIO_MIX else ((mode, 1.0),),
                      strategies=(pop.strategies if strategy == SCENARIO_MIX
                                  else ((strategy, 1.0),)))
    return replace(base, operators=operators, templates=templates, population=pop).with_policy(
        carbon_price_usd_per_t=float(controls.carbon_price_usd_per_t),
        residency=tuple(controls.residency))


def event_lines(scn: Scenario) -> list[str]:
    """One line per demand-response event of the scenario: what calls it, in the words of
    the rule's registry entry (``EVENT_RULES``), and what it asks."""
    out = []
    for e in scn.events:
        when = (f"from hour {e.start_hour}" if e.rule is None else
                f"when {EVENT_RULES.description(e.rule)} ({e.rule}: "
                + ", ".join(f"{k} = {v:g}" for k, v in e.settings) + ")")
        out.append(f"{e.name}: {e.zone} -{e.cut_pct:g}% for {e.hours} h {when}")
    return out


def region_frame(scn: Scenario, load_mw: np.ndarray, capacity_mw: np.ndarray,
                 zone_carbon_kg_per_mwh: dict[str, float]) -> pd.DataFrame:
    """The map's regions: one row per region of ``scn`` with its location, zone, IT load and
    capacity (MW, in the scenario's region order) and its zone's marginal carbon (kg/MWh)."""
    return pd.DataFrame({
        "region": [r.id for r in scn.regions],
        "lat": [r.lat for r in scn.regions],
        "lon": [r.lon for r in scn.regions],
        "zone": [r.zone for r in scn.regions],
        "load_mw": load_mw,
        "capacity_mw": capacity_mw,
        "marginal_carbon_kg_per_mwh": [zone_carbon_kg_per_mwh[r.zone] for r in scn.regions],
    })


def layer_frame(steps: list[dict]) -> pd.DataFrame:
    """Share of served demand per execution layer, one row per step value dict."""
    return pd.DataFrame({layer: [s[f"layer_{layer}_share"] for s in steps] for layer in LAYERS})


_frontiers: OrderedDict[tuple[str, tuple[float, ...]], pd.DataFrame] = OrderedDict()
_frontiers_lock = threading.Lock()


def frontier_of(scn: Scenario, tiers: Iterable[tuple[str, float]]) -> pd.DataFrame:
    """The energy-latency frontier of ``scn`` (annual-mean signals, with frictions) over the
    usual budgets and the tiers' own (ms). Kept for every session by the scenario's
    fingerprint (the :data:`FRONTIERS_KEPT` last used): a second page on the same settings
    does not solve it again."""
    budgets = tuple(sorted({*DEFAULT_BUDGETS_MS, *(b for _, b in tiers)}))
    key = (fingerprint(scn), budgets)
    with _frontiers_lock:
        if key in _frontiers:
            _frontiers.move_to_end(key)
            return _frontiers[key]
    df = frontier(compile_scenario(scn), mean_signals(scn), list(budgets))
    with _frontiers_lock:
        _frontiers[key] = df
        while len(_frontiers) > FRONTIERS_KEPT:
            _frontiers.popitem(last=False)
    return df


def totals(steps: list[dict[str, float]], voll_usd_per_mwh: float) -> dict[str, float]:
    """Headline numbers over ``steps`` (the model's step values, one dict per hour).

    Sums of demand, served, unserved and moved MWh, cost ($) and emissions (kg) on the three
    bases; ``relocated_share`` is served-weighted; ``cost_usd_per_mwh`` is the cost per MWh of
    demand with unserved MWh at ``voll_usd_per_mwh`` (:func:`abm.core.metrics.cost_usd_per_mwh`,
    the rule of the reports and the run summary).
    """
    summed = ("demand_mwh", "served_mwh", "unserved_mwh", "moved_mwh", "cost_usd",
              "emissions_average_kg", "emissions_marginal_kg", "emissions_system_kg")
    out = {name: float(sum(s[name] for s in steps)) for name in summed}
    served = out["served_mwh"]
    out["relocated_share"] = (sum(s["relocated_share"] * s["served_mwh"] for s in steps) / served
                              if served else 0.0)
    out["cost_usd_per_mwh"] = cost_usd_per_mwh(out["cost_usd"], out["demand_mwh"],
                                               out["unserved_mwh"], voll_usd_per_mwh)
    return out


class View(ABC):
    """What the dashboard's views read of a run, live (:class:`Dashboard`) or stored
    (:class:`abm.dashboard.stored.StoredRun`), up to the hour shown: the scenario, the step
    values of each hour (``steps``: a model table's rows) and the tables below.

    Attributes:
        scenario: the run's scenario.
        steps: one dict of step values per hour shown.
    """

    scenario: Scenario
    steps: list[dict]

    @property
    def hour(self) -> int:
        """Hours shown."""
        return len(self.steps)

    @property
    @abstractmethod
    def hours(self) -> int:
        """Hours of the run."""

    @abstractmethod
    def regions(self) -> pd.DataFrame:
        """The map's regions in the last hour shown (:func:`region_frame`)."""

    @abstractmethod
    def flows(self) -> pd.DataFrame:
        """The map's arrows (MW): columns origin, region, mw; largest first."""

    @abstractmethod
    def zone_series(self) -> pd.DataFrame:
        """One row per hour shown and zone: the columns of a run's zones table."""

    @abstractmethod
    def lines(self) -> pd.DataFrame:
        """The interconnectors in the last hour shown: flow (MW) and congestion."""

    @property
    def budgets_ms(self) -> tuple[tuple[str, float], ...]:
        """The tiers' latency budgets (ms) of the run shown."""
        return tier_budgets(self.scenario)

    def totals(self) -> dict[str, float]:
        """Headline numbers of the hours shown (see :func:`totals`)."""
        return totals(self.steps, self.scenario.policy.voll_usd_per_mwh)

    def last_hour(self) -> dict[str, float] | None:
        """Headline numbers of the last hour shown (see :func:`totals`); None before the first."""
        return totals(self.steps[-1:], self.scenario.policy.voll_usd_per_mwh) if self.steps \
            else None

    def zone_locations(self) -> dict[str, tuple[float, float]]:
        """Zone -> (lon, lat), the mean location of its regions (for the map)."""
        return zone_locations(self.scenario.regions)

    def layer_series(self) -> pd.DataFrame:
        """Share of served demand per execution layer, one row per hour shown."""
        return layer_frame(self.steps)

    def flex_series(self) -> pd.DataFrame:
        """One row per hour shown: ``hour`` and what the run has of the backlog (work waiting
        at the hour's end, missed, MWh) and of its demand-response events (MWh asked,
        delivered, deferred, relocated, shed); only ``hour`` for a run with neither."""
        first = self.steps[0] if self.steps else self.flex_columns()
        cols = [c for c in FLEX_COLUMNS if c in first]
        return pd.DataFrame([{"hour": h, **{c: s[c] for c in cols}}
                             for h, s in enumerate(self.steps)], columns=["hour", *cols])

    def flex_columns(self) -> tuple[str, ...]:
        """The backlog and event columns this run has, before its first hour."""
        return FLEX_COLUMNS

    @abstractmethod
    def events(self) -> pd.DataFrame:
        """The demand-response events' hourly rows of the hours shown (the run's ``events``
        table; no rows for a run without events)."""

    @property
    def frontier(self) -> pd.DataFrame:
        """The energy-latency frontier of the run's settings (:func:`frontier_of`)."""
        return frontier_of(self.scenario, self.budgets_ms)


class Dashboard(View):
    """One analyst's session: the control values, the scenario they make and its market run.

    Args:
        scenario: the scenario file to start with (default: the shipped default scenario).
    """

    def __init__(self, scenario: str | Path | None = None) -> None:
        self.choices = scenario_choices(scenario)
        self.controls = controls_for(next(iter(self.choices.values())))
        self.previous: list[dict[str, float]] = []
        self.base = load_scenario(self.controls.scenario)
        self.reset()

    # -- controls and the run ----------------------------------------------------------------

    def set_controls(self, **changes: Any) -> bool:
        """Change control values (fields of :class:`Controls`) and restart the run.

        A new scenario resets every other control to that scenario's values first and drops
        the comparison run (another scenario's numbers are no baseline for this one); within a
        scenario, the run being discarded becomes the comparison run if it took a step.

        Returns:
            whether anything changed.
        """
        new = self.controls
        path = changes.pop("scenario", new.scenario)
        if path != new.scenario:
            new = controls_for(path)
        new = replace(new, **changes)
        if new == self.controls:
            return False
        if new.scenario != self.controls.scenario:
            self.base = load_scenario(new.scenario)
            self.previous = []
        elif self.steps:
            self.previous = self.steps
        self.controls = new
        self.reset()
        return True

    def reset(self) -> None:
        """Start the run again at hour 0 with the current controls (same seed); the comparison
        run stays the one with the previous settings."""
        self.scenario = apply_controls(self.base, self.controls)
        self.model = MarketModel(self.scenario)
        self.steps = []
        self.zone_rows: list[dict[str, object]] = []  # one per hour and zone: the zone reporters
        self.zone_reporters = reporters.zone_reporters(self.model.grid.technologies)

    @property
    def base_budgets(self) -> tuple[tuple[str, float], ...]:
        """The tiers' budgets as the scenario file sets them."""
        return tier_budgets(self.base)

    @property
    def hours(self) -> int:
        """Length of the run (the scenario's hours)."""
        return self.model.hours

    @property
    def done(self) -> bool:
        """Whether the run has reached its last hour."""
        return self.hour >= self.hours

    def step(self, n: int = 1) -> int:
        """Run up to ``n`` hours (fewer at the end of the run); return how many ran."""
        def record(model: MarketModel) -> None:
            self.steps.append({name: float(value) for name, value in model.outcome.items()})
            if model.events:
                self.steps[-1].update({name: reporters.event_total(name, model)
                                       for name in reporters.EVENT_VALUES})
            hour = len(self.steps) - 1
            when = pd.Timestamp(model.stamps[hour], tz="UTC")
            self.zone_rows += [{"hour": hour, "time_utc": when,
                                **{k: f(z) for k, f in self.zone_reporters.items()}}
                               for z in model.zones]

        return run(self.model, n, on_step=record)

    # -- the numbers shown -------------------------------------------------------------------

    def previous_totals(self) -> dict[str, float] | None:
        """Headline numbers of the comparison run over the same hours, if it ran that far."""
        if not self.steps or len(self.previous) < self.hour:
            return None
        return totals(self.previous[: self.hour], self.scenario.policy.voll_usd_per_mwh)

    def regions(self) -> pd.DataFrame:
        """One row per region: where it is, its zone's marginal carbon (kg/MWh) and its IT
        load now (MW; before the first step, the status quo: every class at its origin)."""
        m = self.model
        load = m.regions.load_mw if self.steps else m.operators.region_load_mw()
        return region_frame(self.scenario, load, m.regions.capacity_mw,
                            dict(zip((zone.id for zone in self.scenario.zones),
                                     m.zones.marginal_carbon_kg_per_mwh.tolist(), strict=True)))

    def flows(self) -> pd.DataFrame:
        """MW served this hour away from the origin region: origin -> region, largest first."""
        inst = self.model.inst
        matrix = shift_matrix(inst, self.model.operators.x_mw, by="region")
        np.fill_diagonal(matrix, 0.0)  # served at the origin
        i, j = np.nonzero(matrix > 1e-6)
        df = pd.DataFrame({"origin": [inst.region_ids[a] for a in i],
                           "region": [inst.region_ids[b] for b in j], "mw": matrix[i, j]})
        return df.sort_values("mw", ascending=False, ignore_index=True)

    def zone_series(self) -> pd.DataFrame:
        """One row per hour run and zone, the columns of a run's zones table: the hour and its
        start (``time_utc``), price ($/MWh), marginal and average carbon (kg/MWh), marginal
        technology, data-centre grid load, net imports and generation by technology (MW),
        emissions (kg)."""
        cols = ["hour", "time_utc", *self.zone_reporters]
        return pd.DataFrame(self.zone_rows, columns=cols)

    def lines(self) -> pd.DataFrame:
        """The interconnectors in the last hour run: flow (MW, + from ``from_zone``) and
        whether each is congested (no rows before the first step or without lines)."""
        table = lines_table(self.model)
        return table[table.hour == self.hour - 1].reset_index(drop=True)

    def flex_columns(self) -> tuple[str, ...]:
        """The backlog and event columns this run will have."""
        model = self.model
        return ((("backlog_mwh", "missed_mwh") if model.operators.defers.any() else ())
                + (reporters.EVENT_VALUES if model.events else ()))

    def events(self) -> pd.DataFrame:
        """The demand-response events' hourly rows of the hours run."""
        return events_table(self.model) if self.model.events else pd.DataFrame(
            columns=list(EVENT_COLUMNS))

    @property
    def budgets_ms(self) -> tuple[tuple[str, float], ...]:
        """The tiers' latency budgets in force (the controls')."""
        return self.controls.budgets_ms

