"""The dashboard page (Solara): controls on the left; headline numbers, the world map, the zones'
time series, the execution layers and the energy-latency frontier on the right.

:func:`App` opens a scenario (:func:`Live`: controls, Step / Play / Reset) or an ``abm run``
folder (:func:`Viewer`: read-only, any stored hour). Served by ``abm dashboard``
(:mod:`abm.dashboard.server`), whose ``Page`` takes the source from ``ABM_DASHBOARD_SOURCE``;
in a notebook, :func:`abm.dashboard.show` displays ``App(source, embedded=True)``. Every number
is computed by :class:`abm.dashboard.state.Dashboard` or :class:`abm.dashboard.stored.StoredRun`;
this module only wires controls to them and draws what they return.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import solara
from matplotlib.figure import Figure

import abm.dashboard.plots as plots
from abm.config.scenario import Scenario
from abm.dashboard.server import SOURCE_ENV
from abm.dashboard.state import (
    SCENARIO_MIX,
    Dashboard,
    View,
    event_lines,
    forecast_choices,
    residency_choices,
    strategy_choices,
)
from abm.dashboard.state import Controls as ControlValues
from abm.dashboard.stored import StoredRun, is_run_folder
from abm.errors import InputError

PLAY_INTERVAL_S = 0.3
DRAW_WAIT_S = 10.0  # Play waits at most this long for an hour to be drawn
CSS = """
.headline { background: #fff; border-radius: 8px; padding: 10px 14px; min-width: 128px;
            flex: 1 1 0; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
.headline-label { font-size: 13px; color: #555; white-space: nowrap; }
.headline-value { font-size: 20px; font-weight: 600; color: #1b2a3a; margin: 2px 0; }
.headline-note { font-size: 12px; color: #666; }
.headline-note .up { color: #b23b3b; } .headline-note .down { color: #2e7d32; }
.control-label { font-size: 14px; color: #333; }
.control-help { font-size: 12px; color: #666; margin: -8px 0 12px 0; }
.control-section { font-weight: 600; margin: 14px 0 6px 0; color: #1b2a3a; }
.run-status { font-size: 14px; color: #333; }
.panel { background: #fff; border-radius: 8px; padding: 6px;
         box-shadow: 0 1px 3px rgba(0,0,0,.15); }
"""
# key, label, unit, scale, decimals
HEADLINES = (
    ("cost_usd", "cost", "$", 1.0, 0),
    ("cost_usd_per_mwh", "cost per MWh of demand (unserved at VoLL)", "$/MWh", 1.0, 1),
    ("emissions_average_kg", "CO2 average basis", "t", 1e-3, 1),
    ("emissions_marginal_kg", "CO2 marginal basis", "t", 1e-3, 1),
    ("emissions_system_kg", "CO2 system", "t", 1e-3, 1),
    ("unserved_mwh", "unserved", "MWh", 1.0, 1),
    ("moved_mwh", "moved", "MWh", 1.0, 0),
    ("relocated_share", "away from origin", "%", 100.0, 1),
)
SHARES = ("relocated_share",)  # compared in percentage points


def _number(value: float, unit: str, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return f"${text}" if unit == "$" else f"{text} {unit}"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


@solara.component
def Plot(make: Callable[[], Figure], dependencies: list, width: str = "100%") -> None:
    """A matplotlib figure as a PNG, redrawn only when ``dependencies`` change."""
    png = solara.use_memo(lambda: _png(make()), dependencies)
    with solara.Div(classes=["panel"]):
        solara.Image(png, width=width)


def change_text(key: str, now: float, before: float) -> str | None:
    """The change of a headline against the previous settings: relative for totals,
    percentage points for shares (as in the reports); None when there is nothing to compare."""
    if key in SHARES:
        return f"{100 * (now - before):+.1f} pp"
    return f"{now / before - 1.0:+.1%}" if before else None


@solara.component
def Headline(key: str, label: str, value: str, note: str, change: str | None) -> None:
    """One headline card: label, value, and its change against the previous settings."""
    with solara.Div(classes=["headline", f"headline-{key}"]):
        solara.Div(children=[label], classes=["headline-label"])
        solara.Div(children=[value], classes=["headline-value"])
        solara.Div(children=[note], classes=["headline-note"])
        if change is not None:
            solara.HTML(tag="div", classes=["headline-note"], unsafe_innerHTML=(
                f"<span class='{'down' if change.startswith('-') else 'up'}'>{change}</span> "
                "vs previous settings"))


@solara.component
def Headlines(now: dict[str, float], before: dict[str, float] | None,
              last: dict[str, float] | None) -> None:
    """Cards with the run's totals so far (``now``), this hour's value (``last``) and the
    change against the run with the previous settings over the same hours (``before``)."""
    with solara.Row(style={"flex-wrap": "wrap", "gap": "10px"}):
        for key, label, unit, scale, decimals in HEADLINES:
            value = _number(now[key] * scale, unit, decimals)
            note = (f"this hour {_number(last[key] * scale, unit, decimals)}" if last
                    else "no hour run yet")
            change = None if before is None else change_text(key, now[key], before[key])
            Headline(key, label, value, note, change)


@solara.component
def Slider(label: str, unit: str, key: str, value: float, lo: float, hi: float, step: float,
           on_value: Callable[[float], None], help_text: str) -> None:
    """A labelled slider with a line of help, wrapped in ``control-KEY`` for tests."""
    with solara.Div(classes=[f"control-{key}"]):
        solara.Div(children=[f"{label}: {value:g} {unit}"], classes=["control-label"])
        if isinstance(step, int):
            solara.SliderInt("", value=int(value), min=int(lo), max=int(hi), step=step,
                             on_value=on_value)
        else:
            solara.SliderFloat("", value=value, min=lo, max=hi, step=step, on_value=on_value)
        solara.Div(children=[help_text], classes=["control-help"])


def Section(title: str) -> None:
    """A heading in the sidebar."""
    solara.Div(children=[title], classes=["control-section"])


@solara.component
def Controls(dash: Dashboard, c: ControlValues, change: Callable[..., None]) -> None:
    """Scenario, policy and operator controls at values ``c``: each change restarts the run."""
    names = {path: name for name, path in dash.choices.items()}
    solara.Select("Scenario", values=list(dash.choices), value=names[c.scenario],
                  on_value=lambda name: change(scenario=dash.choices[name]),
                  classes=["control-scenario"])
    Section("Policy")
    Slider("Carbon price", "$/t CO2", "carbon-price", c.carbon_price_usd_per_t, 0, 500, 5,
           lambda v: change(carbon_price_usd_per_t=float(v)),
           "charged on the placement carbon signal, everywhere")
    regimes = {" + ".join(r): r for r in residency_choices(c.residency)}
    solara.Select("Data residency", values=list(regimes), value=" + ".join(c.residency),
                  on_value=lambda label: change(residency=regimes[label]),
                  classes=["control-residency"])
    Section("Latency budgets by tier (round trip)")
    budgets = dict(c.budgets_ms)
    for tier, budget in c.budgets_ms:
        def set_budget(v: float, tier: str = tier) -> None:
            change(budgets_ms=tuple((t, float(v) if t == tier else b) for t, b in budgets.items()))
        Slider(tier, "ms", f"budget-{tier}", budget, 5, max(300, int(budget) * 2), 5, set_budget,
               f"every {tier} class; scenario value {dict(dash.base_budgets)[tier]:g} ms")
    Section("Operators")
    Slider("Migration friction", "x scenario", "friction", c.friction_scale, 0.0, 5.0, 0.25,
           lambda v: change(friction_scale=float(v)),
           "scales state transfer, warm-up and switching fees; 0 is frictionless")
    labels = {SCENARIO_MIX: "scenario's mix", **{m: m for m in forecast_choices()[1:]}}
    solara.Select("Forecast mode", values=list(labels.values()), value=labels[c.forecast],
                  on_value=lambda label: change(forecast={v: k for k, v in labels.items()}[label]),
                  classes=["control-forecast"])
    kinds = {SCENARIO_MIX: "scenario's mix", **{s: s for s in strategy_choices()[1:]}}
    solara.Select("Strategy", values=list(kinds.values()), value=kinds[c.strategy],
                  on_value=lambda label: change(strategy={v: k for k, v in kinds.items()}[label]),
                  classes=["control-strategy"])


def frame(embedded: bool, sidebar: Callable[[], object], main: Callable[[], object]) -> None:
    """The page's layout: served, an app bar and the controls in Solara's sidebar; embedded
    in a notebook, the controls in a column beside the views."""
    solara.Style(CSS)
    solara.Title("GeoInference ABM dashboard")
    if embedded:
        with solara.Columns([3, 9], classes=["abm-dashboard"]):
            with solara.Column():
                sidebar()
            with solara.Column():
                main()
        return
    with solara.AppBar():
        solara.AppBarTitle("GeoInference ABM: where inference load goes")
    with solara.Sidebar():
        sidebar()
    main()


def hour_status(scn: Scenario, hour: int, hours: int) -> None:
    """The hour shown and its time (UTC), in ``.run-hour``."""
    stamp = scn.start + dt.timedelta(hours=hour)
    solara.Div(children=[f"hour {hour} / {hours} · {stamp:%Y-%m-%d %H:00} UTC"],
               classes=["run-status", "run-hour"])


def snapshot(view: View) -> dict:
    """What the views show of ``view`` (a live run or a stored one), read in one piece."""
    return {"hour": view.hour, "now": view.totals(),
            "last": view.last_hour(), "regions": view.regions(),
            "flows": view.flows(), "zones": view.zone_series(), "lines": view.lines(),
            "layers": view.layer_series(), "flex": view.flex_series(), "events": view.events()}


@solara.component
def Views(view: View, shown: dict, before: dict[str, float] | None,
          key: list, setting: list, map_title: str, flow_label: str) -> None:
    """The right side: headline cards, the world map, the zones' series, one zone's
    generation, the backlog and demand-response events, the execution layers (redrawn when
    ``key`` changes) and the frontier (redrawn when ``setting`` changes)."""
    zone = solara.use_reactive("")  # the zone whose generation is shown ("": the busiest)
    with solara.Column(style={"background": "#f4f6f8", "padding": "12px", "gap": "12px"}):
        Headlines(shown["now"], before, shown["last"])
        Plot(lambda: plots.map_figure(shown["regions"], shown["flows"], map_title,
                                      lines=shown["lines"], zone_xy=view.zone_locations(),
                                      flow_label=flow_label), key)
        with solara.Columns([6, 4]):
            with solara.Column():
                start = view.scenario.start  # the run's first hour (UTC): the axes' dates
                Plot(lambda: plots.series_figure(shown["zones"], view.hours, start), key)
                zone_ids = [z.id for z in view.scenario.zones]
                shown_zone = zone.value if zone.value in zone_ids else str(
                    shown["regions"].groupby("zone").load_mw.sum().idxmax())
                solara.Select("Zone (generation by technology)", values=zone_ids,
                              value=shown_zone, on_value=zone.set, classes=["control-zone"])
                Plot(lambda: plots.generation_plot(shown["zones"], shown_zone, view.hours,
                                                   start), [*key, shown_zone])
                Plot(lambda: plots.flexibility_plot(shown["flex"], shown["events"], view.hours,
                                                    start), key)
                for line in event_lines(view.scenario):
                    solara.Div(children=[line], classes=["event-line"],
                               style={"font-size": "12px", "color": "#a63603"})
            with solara.Column():
                Plot(lambda: plots.layers_figure(shown["layers"], view.hours, start), key)
                Plot(lambda: plots.frontier_plot(view.frontier, view.budgets_ms), setting)


@solara.component
def Live(scenario: str | None, embedded: bool) -> None:
    """The dashboard on a scenario: controls, Step / Play / Reset, the views of the run."""
    dash = solara.use_memo(lambda: Dashboard(scenario), [scenario])
    lock = solara.use_memo(threading.Lock, [])
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    error = solara.use_reactive("")
    # the controls of the last scenario asked for
    switching: solara.Reactive[dict | None] = solara.use_reactive(None)
    handled: list[dict | None] = solara.use_memo(lambda: [None], [])  # ... and the last loaded
    drawn = solara.use_memo(lambda: [0], [])  # the version last drawn, set after each render
    solara.use_effect(lambda: drawn.__setitem__(0, version.value), [version.value])
    closed = solara.use_memo(threading.Event, [])  # set when the page's session closes
    solara.use_effect(lambda: closed.set, [])

    def changed() -> None:
        version.value += 1

    def change(**controls: object) -> None:
        if controls.get("scenario", dash.controls.scenario) != dash.controls.scenario:
            switching.value = controls  # built in a thread, with a progress bar (switch below)
            return
        apply(controls)

    def apply(controls: dict) -> None:
        try:
            with lock:
                updated = dash.set_controls(**controls)
        except Exception as exc:  # an invalid combination: say so, keep the last settings
            error.value = str(exc)
            return
        error.value = ""
        if updated:
            changed()

    def switch() -> None:
        """Load another scenario and compute its frontier (a large one takes minutes: the
        planner's LP over all its operators at every budget) while the page shows a progress
        bar. The request is marked done in
        ``handled``, not by resetting ``switching`` (a task may not set its own dependency)."""
        request = switching.value
        if request is not None and handled[0] is not request:
            apply(dict(request))
            with lock:
                dash.frontier  # noqa: B018 (computed here, not while the page draws: the slow part)
            handled[0] = request
            changed()

    def step() -> None:
        with lock:
            dash.step()
        changed()

    def reset() -> None:
        playing.value = False
        with lock:
            dash.reset()
        changed()

    def play() -> None:
        # until paused, or the page closed (the thread must end then, or it would keep the
        # server's process alive after SIGINT)
        while playing.value and not closed.is_set():
            with lock:
                ran = dash.step()
            if not ran:
                playing.value = False
                break
            changed()
            # the next hour only once this one is drawn: a page slower to draw than the model
            # is to step would otherwise never show a finished hour
            drawn_by = time.monotonic() + DRAW_WAIT_S
            while (playing.value and not closed.is_set() and drawn[0] < version.value
                   and time.monotonic() < drawn_by):
                time.sleep(0.02)
            time.sleep(PLAY_INTERVAL_S)

    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)
    solara.lab.use_task(switch, dependencies=[switching.value], prefer_threaded=True)
    if switching.value is not None and handled[0] is not switching.value:  # being loaded
        name = Path(str(switching.value["scenario"])).stem
        solara.Title("GeoInference ABM dashboard")
        with solara.Column(style={"padding": "24px", "gap": "12px"}):
            solara.Div(children=[f"Loading scenario {name}: drawing its operators, preparing "
                                 "its grid and solving its energy-latency frontier (a large "
                                 "scenario takes a few minutes)..."],
                       classes=["run-status", "loading"])
            solara.ProgressLinear(True)
        return
    c = dash.controls
    with lock:  # what is shown, read in one piece (Play steps the model in another thread)
        shown = snapshot(dash)
        before = dash.previous_totals()

    def sidebar() -> None:
        with solara.Row(style={"gap": "6px", "flex-wrap": "wrap"}):
            solara.Button("Step", icon_name="mdi-step-forward", color="primary", on_click=step,
                          disabled=playing.value or dash.done, classes=["btn-step"])
            solara.Button("Pause" if playing.value else "Play",
                          icon_name="mdi-pause" if playing.value else "mdi-play",
                          color="primary", disabled=dash.done and not playing.value,
                          on_click=lambda: playing.set(not playing.value), classes=["btn-play"])
            solara.Button("Reset", icon_name="mdi-restore", outlined=True, on_click=reset,
                          classes=["btn-reset"])
        hour_status(dash.scenario, shown["hour"], dash.hours)
        solara.Div(children=["A change of any control restarts the run at hour 0."],
                   classes=["control-help"], style={"margin": "4px 0 14px 0"})
        Controls(dash, c, change)
        if error.value:
            solara.Error(error.value)

    title = (f"{dash.scenario.name}, hour {shown['hour']}: IT load by region (bubble area) "
             "and MW served away from its origin region (arrows)" if shown["hour"]
             else f"{dash.scenario.name}, hour 0: every class at its origin")
    frame(embedded, sidebar, lambda: Views(dash, shown, before, [version.value, c], [c], title,
                                           "served away from origin"))


@solara.component
def Viewer(folder: str, embedded: bool) -> None:
    """The dashboard on an ``abm run`` folder, read-only: any stored hour, every view."""
    def load() -> StoredRun | str:
        try:
            return StoredRun(folder)
        except InputError as exc:  # the folder changed since abm dashboard checked it
            return str(exc)

    run = solara.use_memo(load, [folder])
    hour = solara.use_reactive(run.hours if isinstance(run, StoredRun) else 1)
    if isinstance(run, str):
        solara.Error(run)
        return
    run.seek(hour.value)
    shown = snapshot(run)
    s = run.summary

    def sidebar() -> None:
        solara.Div(children=[f"Run folder {run.folder}"], classes=["run-status", "run-folder"])
        solara.Div(children=[f"{run.scenario.name}, seed {s['seed']}: {run.hours} of "
                             f"{s['hours_planned']} hours stored ({s['status']})"],
                   classes=["control-help"], style={"margin": "4px 0 10px 0"})
        if run.run.warning:
            solara.Warning(run.run.warning)
        hour_status(run.scenario, shown["hour"], run.hours)
        with solara.Div(classes=["control-hour"]):
            solara.SliderInt("", value=hour, min=1, max=max(run.hours, 1))
        solara.Div(children=["Read-only: the run's stored tables, nothing runs. Arrows are the "
                             "MW moved between regions in the hour shown. To change its "
                             f"settings, open its scenario: abm dashboard {run.scenario.source}"],
                   classes=["control-help"])

    title = (f"{run.scenario.name} (stored run), hour {shown['hour']}: IT load by region "
             "(bubble area) and MW moved between regions in this hour (arrows)")
    frame(embedded, sidebar, lambda: Views(run, shown, None, [shown["hour"]], [folder], title,
                                           "moved this hour"))


@solara.component
def App(source: str | None = None, embedded: bool = False) -> None:
    """The dashboard on ``source``: a scenario file (default: the shipped default scenario)
    or an ``abm run`` folder (read-only). ``embedded``: laid out for a notebook cell."""
    if source and is_run_folder(source):
        Viewer(source, embedded)
    else:
        Live(source, embedded)


@solara.component
def Page() -> None:
    """The served page (``abm dashboard``): its source comes in ``ABM_DASHBOARD_SOURCE``."""
    App(os.environ.get(SOURCE_ENV) or None)
