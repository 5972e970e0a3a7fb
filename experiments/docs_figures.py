"""Figures quoted in docs/, computed by the code that makes them and written into the docs.

A *figure* is a named piece of Markdown (a table, a sentence, a number) that a function
registered here computes. In a doc it sits between two markers, on their own lines for a block
or inside a sentence for a number::

    <!-- figure:grid-validation-price -->
    | zone | ... |
    <!-- /figure -->

    ... relocation cuts <!-- figure:week-relocation-kt -->5.5<!-- /figure --> kt ...

Usage (from the repository root)::

    python experiments/docs_figures.py                # recompute every figure, rewrite the docs
    python experiments/docs_figures.py NAME ...       # only these figures
    python experiments/docs_figures.py --check        # exit 1 naming every stale region
    python experiments/docs_figures.py --list         # the figures, cheap or slow, and where

Figures are *cheap* (seconds) or *slow* (the grid experiments, a sweep: about a minute
together; ``--cheap`` leaves them out); ``tests/test_docs_figures.py`` recomputes both and fails
on a stale doc. A figure may also draw files into docs/ (a PNG, a CSV: its ``files``), which
only a run that rewrites the docs writes, never ``--check`` or the tests. A figure that reads
the project's research data (``../shared``, not distributed) is skipped where that data is
absent. A new figure: a function returning Markdown, decorated with ``@figure(...)``, and a
marked region in a doc (docs/reproduce.md, "Figures in the docs").
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from abm.report.results import Run

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SHARED = ROOT.parent / "shared" / "data"
MARKER = re.compile(r"<!-- figure:(?P<name>[a-z0-9-]+) -->(?P<body>.*?)<!-- /figure -->",
                    re.DOTALL)


@dataclass(frozen=True)
class Figure:
    """A figure: its name, how to compute it (Markdown), whether it takes seconds (``cheap``)
    or longer, the files it needs (it is skipped where one is absent), and what writes the
    files it draws into docs/ (``files``; only when the docs are rewritten)."""

    name: str
    compute: Callable[[], str]
    cheap: bool
    needs: tuple[Path, ...] = ()
    files: Callable[[], None] | None = None

    def available(self) -> bool:
        """Whether every file the figure reads exists here."""
        return all(p.exists() for p in self.needs)


FIGURES: dict[str, Figure] = {}


def figure(name: str, *, cheap: bool = True, needs: tuple[Path, ...] = (),
           files: Callable[[], None] | None = None):
    """Register the decorated function as the figure ``name``."""
    def register(compute: Callable[[], str]) -> Callable[[], str]:
        if name in FIGURES:
            raise ValueError(f"figure {name!r} registered twice")
        FIGURES[name] = Figure(name, compute, cheap, needs, files)
        return compute
    return register


# -- the regions of a doc ------------------------------------------------------------------

CODE = re.compile(r"`[^`\n]*`")


def _matches(text: str) -> list[re.Match]:
    """The marked regions of ``text``, markers quoted in inline code (`...`) aside; an opening
    marker without its closing one is an error."""
    masked = CODE.sub(lambda m: " " * len(m.group(0)), text)
    found = list(MARKER.finditer(masked))
    if (masked.count("<!-- figure:") != len(found)
            or masked.count("<!-- /figure -->") != len(found)):
        raise ValueError("unbalanced figure markers: every '<!-- figure:NAME -->' needs one "
                         "'<!-- /figure -->' after it")
    return found


def regions(text: str) -> list[tuple[str, str]]:
    """(name, current content) of every marked region of a doc, in order."""
    return [(m.group("name"), text[m.start("body"):m.end("body")]) for m in _matches(text)]


def _framed(body: str, value: str) -> str:
    """``value`` laid out as the region's old content was: a block region (its content starts
    on a new line) keeps its own lines, an inline one stays inline."""
    return f"\n{value.strip()}\n" if body.startswith("\n") else value.strip()


def render(text: str, values: dict[str, str]) -> str:
    """``text`` with the content of every region whose figure is in ``values`` replaced."""
    out, last = [], 0
    for m in _matches(text):
        name = m.group("name")
        if name in values:
            body = text[m.start("body"):m.end("body")]
            out += [text[last:m.start("body")], _framed(body, values[name])]
            last = m.end("body")
    return "".join(out) + text[last:]


def stale(text: str, values: dict[str, str]) -> list[str]:
    """Names of the regions of ``text`` whose content differs from ``values``."""
    return [name for name, body in regions(text)
            if name in values and body != _framed(body, values[name])]


def docs() -> list[Path]:
    """Every Markdown file that may hold figures: docs/*.md and the README."""
    return [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]


def used() -> dict[str, list[Path]]:
    """figure name -> the docs that quote it."""
    out: dict[str, list[Path]] = {}
    for path in docs():
        for name, _ in regions(path.read_text()):
            out.setdefault(name, []).append(path)
    return out


# -- formatting ------------------------------------------------------------------------------

def table(df: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """A Markdown table: numbers right-aligned, with the column's format ('{:.1f}'...), NaN as
    an empty cell."""
    formats = formats or {}

    def cell(col: str, v: object) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else formats.get(col, "{:.1f}").format(v)
        return str(v)
    head = "| " + " | ".join(df.columns) + " |"
    align = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---"
                           for c in df.columns) + "|"
    body = ["| " + " | ".join(cell(c, v) for c, v in zip(df.columns, row, strict=True)) + " |"
            for row in df.itertuples(index=False)]
    return "\n".join([head, align, *body])


# -- shared inputs -----------------------------------------------------------------------------

def _module(name: str, folder: Path = ROOT / "experiments"):
    """A script of ``folder`` (default experiments/) as a module; the folder goes last on the
    path, for the modules the script imports beside it (experiments/paper/common.py)."""
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def validation():
    """experiments/validate_grid.py."""
    return _module("validate_grid")


@functools.cache
def observed() -> tuple[pd.DatetimeIndex, dict]:
    """The 2024 hourly observations (research data)."""
    return validation().observed()


@functools.cache
def compared(calibrated: bool) -> pd.DataFrame:
    """The validation table of the calibrated market, or of offers at cost."""
    v = validation()
    zone_ids, cells = v.model_cells(calibrated)
    return v.compare(zone_ids, cells, *observed())


@functools.cache
def default_week() -> tuple[dict, pd.DataFrame]:
    """The shipped default scenario's week, run as ``abm run`` runs it: its summary and zones
    table."""
    from abm.config.scenario import load_scenario
    from abm.market.run import read_tables, run_market

    with tempfile.TemporaryDirectory() as tmp:
        result = run_market(load_scenario(), Path(tmp) / "run")
        return result, read_tables(Path(tmp) / "run", "zones")["zones"]


HOURLY = (SHARED / "hourly_2024_compact.csv",)
RESEARCH = (*HOURLY, SHARED / "grid" / "zone_prices_2024.csv",
            SHARED / "grid" / "marginal_emission_factors.csv")


# -- figures: the default week -----------------------------------------------------------------

def week_price_fit() -> tuple[float, float, float]:
    """The default week's zone prices (what operators face) against the base prices: mean
    |deviation| weighted by the status-quo data-centre load (%), correlation, and the share of
    zone-hours whose status-quo carbon is the base carbon (%)."""
    _, z = default_week()
    w = z.reference_dc_mw
    dev = (z.price_usd_per_mwh / z.base_price_usd_per_mwh - 1).abs()
    corr = np.corrcoef(z.price_usd_per_mwh, z.base_price_usd_per_mwh)[0, 1]
    reached = ((z.reference_carbon_kg_per_mwh - z.base_carbon_kg_per_mwh).abs()
               <= 1e-6 * np.maximum(z.base_carbon_kg_per_mwh, 1.0))
    return 100 * float((dev * w).sum() / w.sum()), float(corr), 100 * float(reached.mean())


@figure("week-price-fit")
def _week_price_fit() -> str:
    dev, corr, reached = week_price_fit()
    return (f"In the default week the zone prices operators face (`price_usd_per_mwh` of the "
            f"`zones` table, at the placed load) differ from the hour's base price by "
            f"{dev:.2f} % on average, weighted by the status-quo data-centre load, and "
            f"correlate with it at {corr:.3f}; the status quo reproduces the base average "
            f"carbon (consumption-based, all zones cleared together) in {reached:.1f} % of the "
            "zone-hours.")


@figure("week-headline")
def _week_headline() -> str:
    s, z = default_week()
    system, reloc = s["emissions_system_kg"], s["relocation_effect_kg"]
    it, grid = s["served_mwh"], s["grid_energy_mwh"]
    rows = [("system emissions of the data-centre load (t)", f"{system / 1000:,.1f}"),
            ("relocation effect (t)", f"{reloc / 1000:,.1f}"),
            ("IT energy served (MWh) / grid energy with PUE (MWh)",
             f"{it:,.0f} / {grid:,.0f}"),
            ("system emissions per MWh of IT load / of grid electricity (kg/MWh)",
             f"{system / it:,.0f} / {system / grid:,.0f}"),
            ("marginal attribution per MWh of IT load / of grid electricity (kg/MWh)",
             f"{s['emissions_marginal_kg'] / it:,.0f} / "
             f"{s['emissions_marginal_kg'] / grid:,.0f}"),
            ("average-carbon attribution per MWh of IT load / of grid electricity (kg/MWh)",
             f"{s['emissions_average_kg'] / it:,.0f} / "
             f"{s['emissions_average_kg'] / grid:,.0f}"),
            ("served away from origin", f"{100 * s['relocated_share']:.1f} %"),
            ("unserved data-centre demand (MWh)", f"{s['demand_mwh'] - it:,.1f}"),
            ("background demand shed at VoLL (MWh), placed / status quo",
             f"{z.shed_mw.sum():,.1f} / {z.reference_shed_mw.sum():,.1f}")]
    return table(pd.DataFrame(rows, columns=["default week (168 h, technology market)",
                                             "value"]))


# -- figures: the scenarios' populations (docs/scenarios.md, docs/market.md) ------------------

@functools.cache
def population(file: str | None = None) -> tuple[int, int, float, int, float]:
    """A scenario's (default: the shipped default's) listed operators, their workload
    classes and demand (MW), and the operators drawn from ``[population]`` and their demand
    (MW), as ``abm check`` compiles it."""
    from abm.config.scenario import load_scenario
    from abm.core.instance import compile_scenario

    scn = load_scenario(None if file is None else ROOT / "experiments" / "scenarios" / file)
    inst = compile_scenario(scn)
    n = len(scn.operators)  # listed; compiling draws the rest after them
    return (n, int(inst.valid[:n].sum()), float(inst.demand_mw[:n].sum()),
            inst.shape[0] - n, float(inst.demand_mw[n:].sum()))


@figure("default-population")
def _default_population() -> str:
    n, classes, listed_mw, drawn, drawn_mw = population()
    return (f"{n} listed operators with {classes} workload classes ({listed_mw:,.0f} MW) and "
            f"{drawn} operators drawn from `[population]` ({drawn_mw:,.0f} MW)")


@figure("default-demand")
def _default_demand() -> str:
    _, _, listed_mw, _, drawn_mw = population()
    return f"{listed_mw + drawn_mw:,.0f} MW"


@figure("adoption-drawn")
def _adoption_drawn() -> str:
    _, _, listed_mw, drawn, drawn_mw = population()
    return f"{drawn} drawn operators ({drawn_mw:,.0f} of {listed_mw + drawn_mw:,.0f} MW)"


@figure("adoption-listed")
def _adoption_listed() -> str:
    n, _, listed_mw, _, _ = population()
    return f"{n} listed operators, {listed_mw:,.0f} MW"


@figure("mixed-strategies")
def _mixed() -> str:
    from abm.config.scenario import load_scenario
    from abm.core.instance import compile_scenario

    inst = compile_scenario(load_scenario(ROOT / "experiments" / "scenarios"
                                          / "mixed_strategies.toml"))
    demand = inst.demand_mw.sum(axis=1)
    names = ("greenest", "static", "lp")
    ops = [int((inst.strategy == k).sum()) for k in names]
    mw = [float(demand[inst.strategy == k].sum() / demand.sum()) for k in names]
    return (", ".join(f"{100 * o / inst.shape[0]:.0f}% `{k}`"
                      for o, k in zip(ops, names, strict=True))
            + f" of all {inst.shape[0]} operators, listed and drawn; "
            + ", ".join(f"{100 * m:.0f}%" for m in mw[:-1]) + f" and {100 * mw[-1]:.0f}% "
            "of the demand")


# -- figures: the model's own constants and shipped templates (docs/model.md) -----------------

@figure("rtt-model")
def _rtt_model() -> str:
    from abm.data.geo import RTT_INTERCEPT_MS, RTT_KM_PER_MS

    return f"`{RTT_INTERCEPT_MS:g} + d_km / {RTT_KM_PER_MS:g}`"


@figure("default-voll")
def _voll() -> str:
    from abm.config.schema import Policy

    return f"{Policy.voll_usd_per_mwh:,.0f} $/MWh"


@figure("default-holding-hours")
def _holding() -> str:
    from abm.config.schema import Policy

    return f"{Policy.holding_hours:g} h"


@figure("default-regional-rtt")
def _regional() -> str:
    from abm.config.schema import Network

    return f"{Network.regional_rtt_ms:g} ms"


def _template_budget(name: str) -> Callable[[], str]:
    def compute() -> str:
        from abm.config.scenario import load_scenario

        fields = dict(dict(load_scenario().templates)[name])
        return f"{fields['budget_ms']:,.0f} ms"
    return compute


for _name in ("interactive", "conversational", "batch"):
    figure(f"template-budget-{_name}")(_template_budget(_name))


# -- figures: validation against 2024 ----------------------------------------------------------

@figure("grid-validation-price", needs=HOURLY)
def _validation_price() -> str:
    cal = compared(True)
    cal = cal[cal.signal == "price"].set_index("zone")
    cost = compared(False)
    cost = cost[cost.signal == "price"].set_index("zone")
    df = pd.DataFrame({
        "zone": cal.index, "observed (USD/MWh)": cal.observed_mean,
        "ceiling": cal.ceiling,
        "calibrated: mean": cal.model_mean, "calibrated: level miss %": cal.level_miss_pct,
        "calibrated: corr": cal.correlation,
        "calibrated: captured %": 100 * cal.captured,
        "at cost: mean": cost.model_mean, "at cost: level miss %": cost.level_miss_pct,
        "at cost: corr": cost.correlation, "at cost: captured %": 100 * cost.captured})
    return table(df, {"ceiling": "{:.2f}", "calibrated: corr": "{:.2f}",
                      "calibrated: level miss %": "{:+.1f}",
                      "at cost: corr": "{:.2f}", "calibrated: captured %": "{:.0f}",
                      "at cost: captured %": "{:.0f}", "at cost: level miss %": "{:+.0f}"})


def median_captured(calibrated: bool) -> float:
    """The median zone's share of the explainable price variance captured (%)."""
    t = compared(calibrated)
    return 100 * float(t[t.signal == "price"].captured.median())


@figure("grid-captured-median", needs=HOURLY)
def _captured() -> str:
    return (f"the median zone captures {median_captured(True):.0f} % of the price variance its "
            f"month x hour cells can explain (in sample: the calibration's target), "
            f"{median_captured(False):.0f} % with offers at cost")


@figure("grid-level-misses", needs=HOURLY)
def _level_misses() -> str:
    cost = compared(False)
    cost = cost[cost.signal == "price"].set_index("zone").level_miss_pct
    top = cost[cost.abs().sort_values(ascending=False).index[:4]]
    return ", ".join(f"{z} {v:+.0f} %" for z, v in top.items())


@figure("grid-prices-unobserved", needs=RESEARCH)
def _unobserved() -> str:
    v = validation()
    zone_ids, cells = v.model_cells(True)
    t = compared(True)
    seen = set(t[t.signal == "price"].zone) | set(v.monthly_prices(zone_ids, cells).zone)
    return ", ".join(z for z in zone_ids if z not in seen)


@figure("grid-validation-carbon", needs=HOURLY)
def _validation_carbon() -> str:
    t = compared(True)
    prod = t[t.signal == "carbon"].set_index("zone")
    traced = t[t.signal == "carbon (traced)"].set_index("zone")
    df = pd.DataFrame({
        "zone": traced.index, "observed (g/kWh)": traced.observed_mean,
        "ceiling": traced.ceiling, "traced: mean": traced.model_mean,
        "traced: level miss %": traced.level_miss_pct, "traced: corr": traced.correlation,
        "traced: captured %": 100 * traced.captured,
        "produced: mean": prod.model_mean, "produced: corr": prod.correlation})
    return table(df, {"ceiling": "{:.2f}", "traced: corr": "{:.2f}", "produced: corr": "{:.2f}",
                      "traced: captured %": "{:.0f}", "traced: level miss %": "{:+.0f}"})


@figure("grid-monthly-prices", needs=RESEARCH)
def _monthly() -> str:
    v = validation()
    rows = []
    for calibrated in (True, False):
        zone_ids, cells = v.model_cells(calibrated)
        t = v.monthly_prices(zone_ids, cells)
        for z, g in t.groupby("zone", sort=False):
            rows.append({"zone": z, "offers": "calibrated" if calibrated else "at cost",
                         "months": len(g), "observed (USD/MWh)": g.observed.mean(),
                         "model": g.model.mean(),
                         "mean abs. miss %": 100 * float(
                             (g.model / g.observed - 1).abs().mean()),
                         "corr over months": np.corrcoef(g.model, g.observed)[0, 1]})
    return table(pd.DataFrame(rows), {"months": "{:.0f}", "mean abs. miss %": "{:.0f}",
                                      "corr over months": "{:.2f}"})


@figure("grid-markups")
def _markups() -> str:
    v = validation()
    zone_ids, cells = v.model_cells(True)
    m = v.marginal_summary(zone_ids, cells)
    water = cells["water_value"]
    w = v.hour_weights()
    rows = []
    for j, r in m.iterrows():
        res = np.isfinite(water[:, :, j])
        rows.append({"zone": r.zone,
                     "reservoir sets the price (% of hours)": 100 * float((res * w).sum()),
                     "water value (USD/MWh)": float(np.nanmean(water[:, :, j]))
                     if res.any() else np.nan,
                     "most frequent marginal technology": f"{r.marginal_technology} "
                                                          f"({100 * r.share:.0f} %)",
                     "mean mark-up (USD/MWh)": r.markup,
                     "mean abs. mark-up (% of base price)": r.markup_abs_pct})
    return table(pd.DataFrame(rows), {"reservoir sets the price (% of hours)": "{:.0f}",
                                      "mean abs. mark-up (% of base price)": "{:.0f}"})


@functools.cache
def beside_published() -> pd.DataFrame:
    """The model's marginal factors beside the published ones (calibrated market)."""
    v = validation()
    return v.beside_published(*v.model_cells(True))


@figure("grid-marginal-published", needs=RESEARCH)
def _published() -> str:
    t = beside_published()
    df = pd.DataFrame({"zone": t.zone, "model (kg/MWh)": t.model, "published": t.source,
                       "g/kWh": t.published, "deviation %": t.deviation_pct})
    return table(df, {"model (kg/MWh)": "{:.0f}", "g/kWh": "{:.0f}",
                      "deviation %": "{:+.0f}"})


@figure("grid-us-regional", needs=RESEARCH)
def _us_regional() -> str:
    v = validation()
    zone_ids, cells = v.model_cells(True)
    t = beside_published()
    t = t[t.source.isin(set(v.regional_us_factors().source))]
    lines = []
    for z, g in t.groupby("zone", sort=False):
        techs = v.marginal_shares(cells, zone_ids.index(z))
        on_margin = ", ".join(f"{k} {100 * s:.0f} %" for k, s in techs.items() if s >= 0.01)
        where = ("above every regional rate" if (g.deviation_pct > 0).all() else
                 "below every regional rate" if (g.deviation_pct < 0).all() else
                 "between the regional rates")
        against = "; ".join(f"{d:+.0f} % against {s}"
                            for s, d in zip(g.source, g.deviation_pct, strict=True))
        lines.append(f"- {z}: {g.model.iloc[0]:.0f} kg/MWh (on the margin: {on_margin}), "
                     f"{where}: {against}")
    return "\n".join(lines)


def _avert_timing_files() -> None:
    """docs/avert_timing.png: the daily profiles of the model's and AVERT's marginal factors
    of the US zones (``validate_grid.avert_profiles_figure``)."""
    from abm.report.figures import save

    v = validation()
    save(v.avert_profiles_figure(*v.model_cells(True), v.avert_month_hours()),
         DOCS / "avert_timing.png")


@figure("grid-avert-timing", files=_avert_timing_files)
def _avert_timing() -> str:
    v = validation()
    t = v.avert_timing(*v.model_cells(True), v.avert_month_hours())

    def hours(model: float, avert: int) -> str:
        return f"{'flat' if np.isnan(model) else f'{model:02.0f}'} / {avert:02d}"
    df = pd.DataFrame({
        "zone": t.zone, "r, 288 cells": t.cell_correlation, "AVERT's ceiling": t.cell_ceiling,
        "r, daily profile": t.diurnal_correlation,
        "cleanest UTC hour (model / AVERT)": [hours(m, a) for m, a in zip(
            t.model_cleanest_utc, t.avert_cleanest_utc, strict=True)],
        "dirtiest UTC hour (model / AVERT)": [hours(m, a) for m, a in zip(
            t.model_dirtiest_utc, t.avert_dirtiest_utc, strict=True)],
        "daily spread, model (kg/MWh)": t.model_spread,
        "daily spread, AVERT (kg/MWh)": t.avert_spread,
        "AVERT's s.e. per hour (kg/MWh)": t.avert_profile_se})
    lines = []
    for r in t.itertuples(index=False):
        sharp = (f"{r.avert_near_cleanest} of AVERT's hours (its cleanest included) are "
                 f"within two standard errors of its cleanest, {r.avert_near_dirtiest} of its "
                 "dirtiest")
        if np.isnan(r.model_cleanest_utc):
            lines.append(f"- {r.zone}: the model's margin is the same at every hour of a "
                         f"month's day (the month sets it), so deferring within a day changes "
                         f"nothing in the model, where AVERT's daily profile spans "
                         f"{r.avert_spread:.0f} kg/MWh; {sharp}.")
            continue
        among = [f"{'is' if near else 'is not'} among the {which}"
                 for near, which in ((r.model_cleanest_near, "former"),
                                     (r.model_dirtiest_near, "latter"))]
        saving = r.avert_saving_on_model_timing
        lines.append(f"- {r.zone}: {sharp}; the model's cleanest hour {among[0]}, its "
                     f"dirtiest {among[1]}. Moving a MWh from the model's dirtiest to its "
                     f"cleanest hour of the day saves {r.model_spread:.0f} kg in the model and "
                     f"{saving:.0f} kg by AVERT's rates ({100 * saving / r.avert_spread:.0f} % "
                     f"of the {r.avert_spread:.0f} kg AVERT's own timing would save).")
    varies = t[t.model_cleanest_utc.notna()]
    lines.append(f"\nThe model's daily spread is larger than AVERT's in "
                 f"{(varies.model_spread > varies.avert_spread).sum()} of the {len(varies)} "
                 "zones whose model margin varies within the day.")
    return (table(df, {"r, 288 cells": "{:+.2f}", "AVERT's ceiling": "{:.2f}",
                       "r, daily profile": "{:+.2f}", "daily spread, model (kg/MWh)": "{:.0f}",
                       "daily spread, AVERT (kg/MWh)": "{:.0f}",
                       "AVERT's s.e. per hour (kg/MWh)": "{:.0f}"})
            + "\n\n" + "\n".join(lines)
            + "\n\n![The model's and EPA AVERT's marginal factor of the five US zones by UTC "
            "hour, each hour's mean over the months (written)](avert_timing.png)")


@figure("grid-published-zones", needs=RESEARCH)
def _published_zones() -> str:
    t = beside_published()
    return f"{t.zone.nunique()} zones, {len(t)} published factors"


@figure("grid-carbon-reach")
def _reach() -> str:
    v = validation()
    zone_ids, cells = v.model_cells(True)
    w = v.hour_weights()
    base, got = cells["base_carbon"], cells["traced_carbon"]
    met = np.abs(got - base) <= 1e-6 * np.maximum(base, 1.0)
    rows = [{"zone": z, "cells reaching the base carbon (%)": 100 * float((met[:, :, j] * w)
                                                                           .sum()),
             "base (g/kWh)": float((base[:, :, j] * w).sum()),
             "status quo (g/kWh)": float((got[:, :, j] * w).sum())}
            for j, z in enumerate(zone_ids)]
    return table(pd.DataFrame(rows), {"cells reaching the base carbon (%)": "{:.0f}",
                                      "base (g/kWh)": "{:.0f}", "status quo (g/kWh)": "{:.0f}"})


@figure("grid-carbon-schemes")
def _schemes() -> str:
    from abm.data.dataset import DATA_DIR

    df = pd.read_csv(DATA_DIR / "grid" / "carbon_schemes.csv", keep_default_na=False)
    return table(pd.DataFrame({
        "scheme": df.scheme, "zones": [z.replace(";", ", ") or "none" for z in df.zones],
        "native": [f"{p:g} {u}" for p, u in zip(df.price_native, df.unit_native, strict=True)],
        "USD/t": df.price_usd_per_t.astype(float),
        "assumed": df.assumed.astype(str).str.lower()}), {"USD/t": "{:.2f}"})


@figure("grid-water-values")
def _water() -> str:
    from abm.data.dataset import DATA_DIR

    w = pd.read_csv(DATA_DIR / "grid" / "water_values.csv", keep_default_na=False)
    r = pd.read_csv(DATA_DIR / "grid" / "reservoirs.csv").set_index("zone_id").reservoir_share
    t = w.pivot(index="zone_id", columns="month", values="value_usd_per_mwh")
    t.columns = [f"{m}" for m in t.columns]
    t.insert(0, "reservoir share", r.reindex(t.index))
    t = t.reset_index().rename(columns={"zone_id": "zone"})
    return table(t, {"reservoir share": "{:.2f}", **{f"{m}": "{:.0f}" for m in range(1, 13)}})


@figure("grid-generation-shares")
def _shares() -> str:
    v = validation()
    zone_ids, cells = v.model_cells(True)
    t = v.generation_shares(zone_ids, cells)
    cols = {"zone": t.zone}
    for group in ("coal", "gas", "nuclear", "wind+solar", "hydro"):
        cols[group] = [f"{100 * a:.0f} / {100 * b:.0f}" for a, b in
                       zip(t[f"{group}_observed"], t[f"{group}_model"], strict=True)]
    return table(pd.DataFrame(cols))


# -- figures: the grid experiments (slow: five runs of the week and many clearings) ---------

EXPERIMENTS_OUT = ROOT / "out" / "grid_experiments"


@functools.cache
def experiments():
    """experiments/grid_experiments.py."""
    return _module("grid_experiments")


@functools.cache
def electrons_experiment(scenario: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Experiment (a) of docs/grid.md in ``scenario`` (runs kept in out/grid_experiments): its
    cases, and what changed in each zone."""
    return experiments().bits_vs_electrons(168, EXPERIMENTS_OUT, scenario)


def bits_vs_electrons(scenario: str) -> pd.DataFrame:
    """The cases of experiment (a) in ``scenario``."""
    return electrons_experiment(scenario)[0]


def _electrons_table(scenario: str) -> str:
    t = bits_vs_electrons(scenario)
    t = t[(t.case == "relocation") | (t.interconnector_scale.isin((1.25, 2.0)))]
    t = t[(t.lines != "all") | (t.interconnector_scale > 1) | (t.case == "relocation")]
    case = [("relocation, lines as shipped" if r.case == "relocation" else
             f"no relocation, {'every line' if r.lines == 'all' else r.lines} "
             f"x{r.interconnector_scale:g}") for r in t.itertuples()]
    return table(pd.DataFrame({"case": case,
                               "emissions change (t)": -t.emissions_reduction_t.to_numpy(),
                               "change of the offers' cost (M USD)":
                                   -t.cost_reduction_usd.to_numpy() / 1e6}),
                 {"emissions change (t)": "{:+,.0f}",
                  "change of the offers' cost (M USD)": "{:+.2f}"})


@figure("grid-bits-vs-electrons", cheap=False)
def _electrons() -> str:
    return _electrons_table("baseline.toml")


@figure("grid-bits-vs-electrons-100", cheap=False)
def _electrons_100() -> str:
    return _electrons_table("grid_carbon_generators.toml")


@figure("grid-electrons-scale", cheap=False)
def _electrons_scale() -> str:
    e = experiments()
    t = bits_vs_electrons("baseline.toml")
    out = []
    for lines in ("all", t[(t.case == "no relocation") & (t.lines != "all")].sort_values(
            "emissions_reduction_t").lines.iloc[-1]):
        k_e = e.matching_scale(t, lines, "emissions_reduction_t")
        k_c = e.matching_scale(t, lines, "cost_reduction_usd")
        what = "every line" if lines == "all" else lines
        out.append(f"{what}: x{k_e:.2f} to match relocation's emissions cut, x{k_c:.2f} its "
                   "dispatch-cost cut" if np.isfinite(k_e) or np.isfinite(k_c) else
                   f"{what}: no scale tried matches relocation's cuts")
    return "; ".join(out).replace("xnan", "no scale tried")


def _signed(items: pd.Series, fmt: str = "{:+,.0f}") -> str:
    return ", ".join(f"{k} {fmt.format(v)}" for k, v in items.items()) or "none"


def _mechanism_table(scenario: str) -> str:
    """Per case (relocation, every line x2, each line alone x2): the zones whose emissions
    changed most, and the zone x technology generation that rose and fell most, against the
    status quo, over the week (the model's own clearings)."""
    where = electrons_experiment(scenario)[1]
    gen_cols = [c for c in where.columns if c.endswith("_gwh")]
    keep = (where.case == "relocation") | (where.interconnector_scale == 2.0)
    rows = []
    for (case, lines), g in where[keep].groupby(["case", "lines"], sort=False):
        label = ("relocation, lines as shipped" if case == "relocation" else
                 f"no relocation, {'every line' if lines == 'all' else lines} x2")
        em = g.set_index("zone").emissions_change_t
        em = em[em.abs() >= 50.0]  # t: at least 0.05 kt, as shown
        em = em[em.abs().sort_values(ascending=False).index[:3]] / 1e3
        gen = g.melt(id_vars="zone", value_vars=gen_cols, var_name="technology",
                     value_name="gwh")
        gen.index = gen.zone + " " + gen.technology.str.removesuffix("_gwh")
        gen = gen.gwh
        rows.append({"case": label,
                     "emissions change, largest by zone (kt)": _signed(em, "{:+,.1f}"),
                     "generation up most (GWh)": _signed(gen[gen > 0.05].nlargest(3)),
                     "generation down most (GWh)": _signed(gen[gen < -0.05].nsmallest(3))})
    return table(pd.DataFrame(rows))


@figure("grid-electrons-mechanism", cheap=False)
def _electrons_mechanism() -> str:
    return _mechanism_table("baseline.toml")


@figure("grid-electrons-mechanism-100", cheap=False)
def _electrons_mechanism_100() -> str:
    return _mechanism_table("grid_carbon_generators.toml")


@functools.cache
def carbon_levers() -> pd.DataFrame:
    """Experiment (b) of docs/grid.md (runs kept in out/grid_experiments)."""
    return experiments().carbon_levers(168, EXPERIMENTS_OUT)


def _levers_generation() -> pd.DataFrame:
    """Each lever's change of generation by technology against none (GWh over the week),
    technologies that moved by at least 1 GWh under some lever."""
    b = carbon_levers().set_index("lever")
    gen = b[[c for c in b.columns if c.endswith("_gwh")]]
    gen.columns = [c.removesuffix("_gwh") for c in gen.columns]
    change = gen - gen.iloc[0]
    return change.loc[:, change.abs().max() >= 1.0].iloc[1:]


@figure("grid-carbon-levers-generation", cheap=False)
def _levers_generation_table() -> str:
    change = _levers_generation()
    return table(change.reset_index(), {c: "{:+,.0f}" for c in change.columns})


@figure("grid-carbon-levers-switch", cheap=False)
def _levers_switch() -> str:
    row = _levers_generation().loc["generators only"]
    down, up = row[row < 0].sort_values(), row[row > 0].sort_values(ascending=False)
    return (f"{_signed(down)} GWh over the week, against {_signed(up)} GWh")


@figure("grid-carbon-levers-relocated", cheap=False)
def _levers_relocated() -> str:
    b = carbon_levers().set_index("lever").relocated_share
    none, gen = b["none (2024 schemes)"], b["generators only"]
    more = "more" if gen > none else "less"
    return (f"it also makes operators relocate {more} (served away from origin "
            f"{100 * none:.1f} % without it, {100 * gen:.1f} % with it)")


@figure("grid-carbon-levers", cheap=False)
def _levers() -> str:
    b = carbon_levers()
    return table(pd.DataFrame({
        "lever": b.lever, "all zones' emissions (Mt/week)": b.total_emissions_t / 1e6,
        "data-centre system emissions (kt)": b.dc_system_emissions_t / 1e3,
        "relocation effect (kt)": b.relocation_effect_t / 1e3,
        "served away from origin": [f"{100 * x:.1f} %" for x in b.relocated_share],
        "mean zone price (USD/MWh)": b.mean_price_usd_per_mwh,
        "operators' cost (M USD)": b.operators_cost_usd / 1e6}),
        {"all zones' emissions (Mt/week)": "{:.2f}"})


# -- figures: the paper's figures (docs/reproduce.md; experiments/paper/fig_*.py) -----------

@functools.cache
def paper(name: str):
    """experiments/paper/NAME.py."""
    return _module(name, ROOT / "experiments" / "paper")


@functools.cache
def paper_frontier() -> pd.DataFrame:
    """Figure (a)'s table."""
    return paper("fig_a_frontier").table()


@figure("flex-local")
def _flex_local() -> str:
    from abm.config.scenario import load_scenario
    from abm.core.instance import compile_scenario
    from abm.core.masks import latency_mask

    scn = load_scenario(ROOT / "experiments" / "scenarios" / "flexible_local.toml")
    inst = compile_scenario(scn)
    budgets = {float(b) for b in inst.budget_ms[inst.valid]}
    rtt = inst.network_rtt_ms()
    home = inst.at_origin() & inst.valid[:, :, None]
    if not (latency_mask(inst) == home).all():
        raise AssertionError("flexible_local.toml lets some class leave its origin region")
    others = rtt[~inst.at_origin() & inst.valid[:, :, None]]
    return (f"a latency budget of {', '.join(f'{b:g}' for b in sorted(budgets))} ms on every "
            f"template, which only a class's own origin region meets "
            f"({rtt[home].max():g} ms of metro access; the nearest other region of any of the "
            f"{int(inst.valid.sum())} classes is {others.min():g} ms away)")


def _change(new: float, old: float) -> str:
    return f"{100 * (new / old - 1):+.0f}%"


@figure("paper-frontier")
def _paper_frontier() -> str:
    t = paper_frontier()

    def case(label: str) -> pd.DataFrame:
        d = t[t.case == label].set_index("budget_ms").drop(columns="case")
        return d.div(d.demand_mwh, axis=0)  # per MWh of demand
    fc, nn = case("frictions, capacity limits"), case("no frictions, unlimited capacity")
    ec, eu = case("no frictions, capacity limits"), nn
    first, last = fc.index.min(), fc.index.max()
    c0 = fc.cost_usd[first]
    e0 = ec.emissions_kg[first]
    near = ec.emissions_kg <= ec.emissions_kg[last] + 0.01 * (e0 - ec.emissions_kg[last])
    saturates = int(near[near].index.min())
    placed = fc.placed_emissions_kg
    gap = placed[last] - fc.emissions_kg[last]
    runs, start = [], None  # (rise, from, to) of each stretch of consecutive rises
    for a, b in zip(placed.index[:-1], placed.index[1:], strict=True):
        if placed[b] > placed[a] + 1e-9:
            start = a if start is None else start
            runs.append((placed[b] - placed[start], start, b))
        else:
            start = None
    if runs:
        _, a, b = max(runs)
        rise = (f"they rise most from {a:g} to {b:g} ms ({placed[a]:.0f} to {placed[b]:.0f} "
                f"kg/MWh{', above everything local' if placed[b] > e0 else ''}: cheap regions "
                "within reach are not clean ones)")
    else:
        rise = "they never rise"
    return (f"The cost C* falls from {c0:.1f} $/MWh (everything local, {first:g} ms) to "
            f"{fc.cost_usd[last]:.1f} $/MWh at {last:g} ms with frictions and shipped capacity "
            f"({_change(fc.cost_usd[last], c0)}), and to {nn.cost_usd[last]:.1f} $/MWh with "
            f"neither ({_change(nn.cost_usd[last], c0)}): frictions and capacity each cost a "
            f"few $/MWh at every budget. The least emissions E* fall from {e0:.0f} to "
            f"{ec.emissions_kg[last]:.0f} kgCO2/MWh with shipped capacity "
            f"({_change(ec.emissions_kg[last], e0)}) and to {eu.emissions_kg[last]:.0f} with "
            f"unlimited capacity ({_change(eu.emissions_kg[last], e0)}); with shipped capacity "
            f"99% of that fall is made by {saturates} ms. "
            f"The emissions of the *cost* optimum (frictions, shipped capacity) do not follow "
            f"E*: {rise}, and at {last:g} ms they stay {gap:.0f} kg/MWh above E*")


@figure("paper-layers")
def _paper_layers() -> str:
    layers, _ = paper("fig_b_layers").table()
    t = layers.set_index(["case", "kind"])

    def shares(case: str, kind: str) -> tuple[float, float, float]:
        r = t.loc[(case, kind)]
        return tuple(100 * r[c] for c in ("share_local", "share_regional", "share_energy"))
    budget = {k: f"{t.loc[('shipped capacity', k)].budget_ms:,.0f} ms"
              for k in ("interactive", "conversational", "batch")}
    i = shares("shipped capacity", "interactive")
    c = shares("shipped capacity", "conversational")
    b = shares("shipped capacity", "batch")
    cu = shares("unlimited capacity", "conversational")
    bu = shares("unlimited capacity", "batch")
    return (f"interactive load ({budget['interactive']}, stateful) stays {i[0]:.0f}% local; "
            f"conversational load ({budget['conversational']}) runs {c[0]:.0f}% local, "
            f"{c[1]:.0f}% regional, {c[2]:.0f}% energy-oriented; batch ({budget['batch']}) "
            f"{b[0]:.0f}% / {b[1]:.0f}% / {b[2]:.0f}% with shipped capacity. With unlimited "
            f"capacity, conversational {cu[0]:.0f} / {cu[1]:.0f} / {cu[2]:.0f} and batch "
            f"{bu[0]:.0f} / {bu[1]:.0f} / {bu[2]:.0f}")


@figure("paper-frictions")
def _paper_frictions() -> str:
    t = paper("fig_c_frictions").table()
    t = t.assign(per_mwh=t.benefit_usd / t.demand_mwh)
    w = t[t.kind == "waterfall"].reset_index(drop=True)
    free, real = w.per_mwh.iloc[0], w.per_mwh.iloc[-1]
    steps = ", ".join(f"{c[2:]} {-(w.per_mwh[i - 1] - w.per_mwh[i]):+.1f}"
                      for i, c in enumerate(w.case) if i)
    tor = t[t.kind == "tornado"]
    removed = (tor.per_mwh - real).to_numpy()
    names = [c.removeprefix("without ") for c in tor.case]
    order = np.argsort(-removed)
    lifted = ", ".join(f"{names[i]} {removed[i]:.1f}" for i in order)
    return (f"the frictionless benefit of relocation is {free:.1f} $ per MWh of demand; the "
            f"realised benefit {real:.1f} $/MWh ({_change(real, free)}). Added in turn: "
            f"{steps} $/MWh. Lifted one at a time (tornado): {lifted} $/MWh")


@figure("paper-breakeven")
def _paper_breakeven() -> str:
    _, pairs = paper("fig_d_breakeven").tables()
    n = len(pairs)
    pos = pairs.saving_usd_per_mwh > 0
    save = pairs.saving_usd_per_mwh[pos]

    def within(phi: float, hours: float) -> str:
        share = float((pairs[f"break_even_h_phi_{phi:g}"] <= hours).mean())
        return "none" if share == 0 else f"{100 * share:.0f}%"
    median_h = float(pairs.loc[pos, "break_even_h_phi_200"].median())
    return (f"{100 * pos.mean():.0f}% of the {n} ordered region pairs offer a positive saving "
            f"for a batch class (median {save.median():.0f} $/MWh, p90 "
            f"{save.quantile(0.9):.0f} $/MWh at annual means, law and latency aside). With the "
            f"default warm-up friction (200 $/MW) the median break-even horizon is "
            f"{median_h:.1f} h and {within(200, 24)} of pairs pay back within a day; at 1,000 "
            f"$/MW {within(1000, 24)} within a day and {within(1000, 168)} within a week; at "
            f"5,000 $/MW {within(5000, 24)} within a day and {within(5000, 168)} within a week")


# -- figures: the price of decentralisation (slow: a planner LP for every hour of each run) --

@functools.cache
def decentralisation(scenario: str) -> tuple[dict, pd.DataFrame]:
    """The run of ``scenario`` (a file of experiments/scenarios) and its market beside the
    planner (``abm.report.decentralisation``)."""
    from abm.config.scenario import load_scenario
    from abm.report.decentralisation import price_of_decentralisation
    from abm.report.results import simulate_scenario

    run = simulate_scenario(load_scenario(ROOT / "experiments" / "scenarios" / scenario))
    return run.summary, price_of_decentralisation(run)


def _money(usd: float) -> str:
    return f"${usd / 1e6:,.1f} M" if abs(usd) >= 1e8 else f"${usd / 1e6:,.2f} M"


@figure("market-decentralisation", cheap=False)
def _decentralisation() -> str:
    rows = []
    for label, file in (("baseline", "baseline.toml"),
                        ("carbon_price (100 $/t)", "carbon_price.toml"),
                        ("demand_x3", "demand_x3.toml")):
        _, g = decentralisation(file)
        rows.append({
            "scenario": label, "cost, market": _money(g.market.cost_usd),
            "cost, planner": _money(g.planner.cost_usd),
            "gap": f"{g.gap.cost_usd / 1e3:+,.0f} k$ ({g.gap_pct.cost_usd:+.1f} %)",
            "system CO2 gap": f"{g.gap_pct.emissions_system_kg:+.1f} %",
            "unserved, market / planner": f"{g.market.unserved_mwh:,.1f} / "
                                          f"{g.planner.unserved_mwh:,.1f} MWh"})
    return table(pd.DataFrame(rows))


@figure("published-planshare", cheap=False)
def _planshare() -> str:
    _, g = decentralisation("baseline.toml")
    kt = 1e-6

    def pct(q: str) -> str:
        return f"local {g.gap_pct[q]:+.1f} %"
    rows = [("cost", _money(g.market.cost_usd), _money(g.planner.cost_usd), pct("cost_usd")),
            ("system emissions", f"{g.market.emissions_system_kg * kt:.2f} kt",
             f"{g.planner.emissions_system_kg * kt:.2f} kt", pct("emissions_system_kg")),
            ("attributed, average / marginal",
             f"{g.market.emissions_average_kg * kt:.2f} / "
             f"{g.market.emissions_marginal_kg * kt:.2f} kt",
             f"{g.planner.emissions_average_kg * kt:.2f} / "
             f"{g.planner.emissions_marginal_kg * kt:.2f} kt",
             f"{pct('emissions_average_kg')} / {g.gap_pct.emissions_marginal_kg:+.1f} %"),
            ("unserved", f"{g.market.unserved_mwh:,.1f} MWh", f"{g.planner.unserved_mwh:,.1f} MWh",
             "")]
    return table(pd.DataFrame(rows, columns=["", "operator-local (the market)",
                                             "coordinated (the planner)", "gap"]))


# -- figures: docs/published.md (cases set up like published studies) ----------------------

SUKPRASERT_MS = (25, 50, 100, 150, 200, 250, 300)


@functools.cache
def sukprasert() -> pd.DataFrame:
    """Our carbon reduction (share) against everything local, by set-up (ours and each of our
    additions), capacity case and RTT cap: index (setup, case), columns the caps (ms)."""
    from abm.report.published import (
        SUKPRASERT_ADDITIONS,
        SUKPRASERT_CASES,
        carbon_reduction,
        sukprasert_scenario,
    )
    rows = {}
    for setup, changes in SUKPRASERT_ADDITIONS.items():
        for case, idle in SUKPRASERT_CASES.items():
            r = carbon_reduction(sukprasert_scenario(idle, **changes), SUKPRASERT_MS)
            rows[setup, case] = r.set_index("budget_ms").reduction
    return pd.DataFrame(rows).T


def _points(share: float) -> str:
    """A difference of shares in points, signed (0.0 unsigned)."""
    points = round(100 * share, 1)
    return "0.0" if points == 0 else f"{points:+.1f}"


@figure("published-sukprasert")
def _sukprasert() -> str:
    from abm.report.published import SUKPRASERT_PUBLISHED
    ours = sukprasert().loc["as theirs"]
    rows = []
    for ms in SUKPRASERT_MS[1:]:
        row = {"RTT cap": f"{ms} ms"}
        for case in SUKPRASERT_PUBLISHED:
            short = case.replace(" capacity", "")
            theirs = SUKPRASERT_PUBLISHED[case].get(ms)
            row[f"ours, {short}"] = f"{100 * ours.loc[case, ms]:.1f}%"
            row[f"theirs, {short}"] = "-" if theirs is None else f"{100 * theirs:.0f}%"
        rows.append(row)
    return table(pd.DataFrame(rows))


@figure("published-sukprasert-additions")
def _sukprasert_additions() -> str:
    t = sukprasert()
    cases = ("50% idle capacity", "unlimited capacity")
    rows = []
    for ms in SUKPRASERT_MS[:5]:
        row = {"RTT cap": f"{ms} ms"}
        for setup in ("+ 5 ms metro access", "+ PUE weighting", "+ both (our model)"):
            row[setup] = " / ".join(_points(t.loc[(setup, c), ms] - t.loc[("as theirs", c), ms])
                                    for c in cases)
        rows.append(row)
    return table(pd.DataFrame(rows))


@figure("published-sukprasert-gap")
def _sukprasert_gap() -> str:
    t = sukprasert()
    cases = ["50% idle capacity", "unlimited capacity"]
    gap = (t.loc["+ both (our model)"].loc[cases] - t.loc["as theirs"].loc[cases])[
        list(SUKPRASERT_MS[:5])]
    case, ms = gap.abs().stack().idxmax()
    later = gap.loc[:, [m for m in SUKPRASERT_MS[:5] if m >= 50]].abs().max().max()
    return (f"Our model with both differs from the set-up as theirs by at most "
            f"{100 * abs(gap.loc[case, ms]):.1f} points ({_points(gap.loc[case, ms])} at "
            f"{int(ms)} ms, {case}), and by at most {100 * later:.1f} points from 50 ms.")


@figure("published-pue")
def _pue() -> str:
    from abm.core.signals import mean_signals
    from abm.report.published import sukprasert_scenario

    scn = sukprasert_scenario(0.5, pue=True)
    carbon = pd.Series(mean_signals(scn).avg_carbon_kg_per_mwh,
                       index=[z.id for z in scn.zones])
    regions = pd.DataFrame([{"name": r.name.split("(")[-1].rstrip(")").split("/")[0].split(",")[0],
                             "pue": r.pue,
                             "carbon": carbon[r.zone]} for r in scn.regions])
    rho = regions.pue.rank().corr(regions.carbon.rank())
    top = regions.sort_values(["pue", "name"], ascending=[False, True]).head(4)
    listed = ", ".join(f"{r.name} {r.pue:.2f} at {r.carbon:.0f} g/kWh"
                       for r in top.itertuples())
    gap = sukprasert()
    pue = (gap.loc["+ PUE weighting"] - gap.loc["as theirs"]).loc[
        ["50% idle capacity", "unlimited capacity"], list(SUKPRASERT_MS[:5])]
    return (f"in our data PUE rises only loosely with a region's average carbon (rank "
            f"correlation {rho:.2f} over {len(regions)} regions; the highest PUE: {listed}), so "
            f"PUE weighting moves the reduction by {_points(pue.min().min())} to "
            f"{_points(pue.max().max())} points")


@functools.cache
def once_hourly() -> pd.DataFrame:
    """Migrating once against re-optimising hourly (100 ms cap), with and without frictions,
    for the set-up as theirs and our model (5 ms access, PUE)."""
    from abm.report.published import once_vs_hourly, sukprasert_scenario
    rows = []
    for label, changes in (("as theirs", {}), ("our model", {"access": True, "pue": True})):
        scn = sukprasert_scenario(**changes)
        for frictions in (True, False):
            r = once_vs_hourly(scn, 100.0, frictions=frictions)
            rows.append({"setup": label, "frictions": frictions, **r})
    return pd.DataFrame(rows)


@figure("published-once-hourly", cheap=False)
def _once_hourly() -> str:
    rows = []
    for r in once_hourly().itertuples():
        once, hourly = r.local_usd - r.once_usd, r.local_usd - r.hourly_usd
        rows.append({
            "": f"{r.setup}, " + ("with frictions (warm-up 200 $/MW)" if r.frictions
                                  else "without frictions"),
            "saving of migrating once": f"{once / 1e3:,.1f} k$",
            "saving of re-optimising hourly": f"{hourly / 1e3:,.1f} k$",
            "once / hourly": f"{100 * once / hourly:.1f}%",
            "MWh moved once / hourly": f"{r.once_moved_mwh:,.0f} / {r.hourly_moved_mwh:,.0f}"})
    return table(pd.DataFrame(rows))


@functools.cache
def gorka() -> dict[str, dict[str, float]]:
    """abm.report.published.attributed_vs_system (3 hours)."""
    from abm.report.published import attributed_vs_system
    return attributed_vs_system()


@figure("published-gorka")
def _gorka() -> str:
    from abm.data.dataset import shipped

    zones = shipped().zones
    ca, gb = zones["US-CAISO"], zones["GB"]
    e = gorka()
    avg, mar = e["average"], e["marginal"]
    rows = [
        {"placement signal": f"marginal (CAISO {ca.marginal_carbon_kg_per_mwh:.0f} < GB "
                             f"{gb.marginal_carbon_kg_per_mwh:.0f} g/kWh)",
         "where it runs": "California",
         "attributed, average (kg)": f"{mar['average']:,.0f}",
         "attributed, marginal (kg)": f"{mar['marginal']:,.0f}",
         "system (kg)": f"{mar['system']:,.0f}"},
        {"placement signal": f"average (GB {gb.avg_carbon_kg_per_mwh:.0f} < CAISO "
                             f"{ca.avg_carbon_kg_per_mwh:.0f} g/kWh)",
         "where it runs": "London",
         "attributed, average (kg)":
             f"{avg['average']:,.0f} ({100 * (avg['average'] / mar['average'] - 1):+.0f}%)",
         "attributed, marginal (kg)": f"{avg['marginal']:,.0f}",
         "system (kg)":
             f"{avg['system']:,.0f} ({100 * (avg['system'] / mar['system'] - 1):+.0f}%)"},
    ]
    return table(pd.DataFrame(rows))


@functools.cache
def placement_policies(moved_water: str | None = None) -> dict[str, Run]:
    """The runs of experiments/scenarios/placement_{average,marginal}.toml (the week, tables
    in memory); ``moved_water``: the rule ``[grid] moved_water`` instead of the files'."""
    from abm.api import simulate

    rule = {} if moved_water is None else {"grid.moved_water": moved_water}
    return {signal: simulate(ROOT / "experiments" / "scenarios" / f"placement_{signal}.toml",
                             operator_detail=False, overrides=rule)
            for signal in ("average", "marginal")}


@figure("published-placement-policy")
def _placement_policy() -> str:
    s = placement_policies()
    avg, mar = s["average"].summary, s["marginal"].summary
    none = default_week()[0]["emissions_system_kg"]  # the same world and seed, no carbon price
    return (f"with placement on average carbon instead of marginal carbon, attributed (average) "
            f"emissions are "
            f"{100 * (avg['emissions_average_kg'] / mar['emissions_average_kg'] - 1):+.1f} % and "
            f"system emissions "
            f"{100 * (avg['emissions_system_kg'] / mar['emissions_system_kg'] - 1):+.1f} %. "
            f"Against the default week without a carbon price ({none / 1e6:.2f} kt of system "
            f"emissions), the price on average carbon gives "
            f"{100 * (avg['emissions_system_kg'] / none - 1):+.1f} % "
            f"({avg['emissions_system_kg'] / 1e6:.2f} kt), "
            f"the price on marginal carbon "
            f"{100 * (mar['emissions_system_kg'] / none - 1):+.1f} % "
            f"({mar['emissions_system_kg'] / 1e6:.2f} kt)"
            + (": in this week, priced on average carbon, the load makes the grid emit more "
               "than with no carbon price at all" if avg["emissions_system_kg"] > none else ""))


PLACEMENT_ZONES = 8  # the zones shown: those whose system emissions differ most
PLACEMENT_RUNS = {"case": "average", "reference": "marginal"}  # the comparison's two runs


def _margins(run: Run) -> pd.Series:
    """Per zone-hour of a run, the technology on its margin; reservoir water moved between
    hours as ``water for <technology>``, the zone's fuel-burning unit that it stands for (found
    by its emission factor, docs/grid.md), or ``water, nothing burnt``."""
    z = run.zones
    fleet = run.market.grid.market.fleet
    zone_ids = np.array([zone.id for zone in run.scenario.zones])
    units = pd.DataFrame({"zone": zone_ids[fleet.zone],
                          "technology": np.array(fleet.technologies)[fleet.technology],
                          "kg_per_mwh": fleet.emission_kg_per_mwh})
    units = units[units.kg_per_mwh > 0].drop_duplicates(["zone", "kg_per_mwh"])
    water = z.marginal_technology == "hydro"
    found = z[water].merge(units, how="left", left_on=["zone", "marginal_carbon_kg_per_mwh"],
                           right_on=["zone", "kg_per_mwh"])
    if ((found.marginal_carbon_kg_per_mwh > 0) & found.kg_per_mwh.isna()).any():
        raise RuntimeError("a reservoir's marginal factor matches none of its zone's units")
    named = np.where(found.kg_per_mwh.notna(), "water for " + found.technology.astype(str),
                     "water, nothing burnt")
    return z.marginal_technology.mask(water, pd.Series(named, index=z.index[water]))


@functools.cache
def placement_by(by: str, moved_water: str | None = None) -> pd.DataFrame:
    """``abm.report.zone_effects.system_emissions_by`` of the two placement runs (on average
    carbon the case, on marginal carbon the reference; moved water counted by ``moved_water``
    as in :func:`placement_policies`), by ``zone`` or by ``marginal_technology`` (reservoir
    water by what it stands for: :func:`_margins`); checked to add up to each run's totals on
    the three bases."""
    from abm.report.zone_effects import system_emissions_by

    runs = {k: placement_policies(moved_water)[signal] for k, signal in PLACEMENT_RUNS.items()}
    out = system_emissions_by(*(r.zones.assign(marginal_technology=_margins(r))
                                for r in runs.values()), by=by)
    for k, r in runs.items():
        for basis in ("average", "marginal", "system"):
            got, want = out[f"emissions_{basis}_kg_{k}"].sum(), r.summary[f"emissions_{basis}_kg"]
            if not np.isclose(got, want, rtol=1e-9):
                raise RuntimeError(f"{r.label}: {basis} emissions by {by} add up to {got} kg, "
                                   f"the run's are {want} kg")
    return out


def _pair(values: list[float], fmt: str) -> str:
    """The two runs' values as ``a / b`` in ``fmt``, a NaN as "-"."""
    return " / ".join("-" if np.isnan(v) else fmt.format(v) for v in values)


def _margin(technology: str, share: float) -> str:
    """A zone's technology on the margin and its share of the MWh ("coal 79 %"; alone from
    99.5 %; "-" where no load ran)."""
    if not technology:
        return "-"
    return technology if share > 0.995 else f"{technology} {100 * share:.0f} %"


def _placement_row(by: pd.DataFrame, label: str, gen: pd.Series) -> dict[str, str]:
    """A row of the placement table: the zones of ``by`` together (the technology on the
    margin only for one zone), ``gen`` their change in generation by technology (MWh)."""
    energy = [by[f"dc_energy_mwh_{k}"].sum() for k in PLACEMENT_RUNS]

    def per_mwh(basis: str) -> list[float]:
        return [by[f"emissions_{basis}_kg_{k}"].sum() / e if e > 0 else np.nan
                for k, e in zip(PLACEMENT_RUNS, energy, strict=True)]
    margins = [] if len(by) > 1 else [_margin(by[f"marginal_technology_{k}"].iloc[0],
                                                by[f"marginal_technology_share_{k}"].iloc[0])
                                        for k in PLACEMENT_RUNS]
    gen = gen[gen.abs() >= 50.0].sort_values(ascending=False) / 1e3  # 0.05 GWh or more
    return {"zone": label,
            "data-centre load (MWh)": _pair(energy, "{:,.0f}"),
            "average g/kWh": _pair(per_mwh("average"), "{:.0f}"),
            "marginal g/kWh": _pair(per_mwh("marginal"), "{:.0f}"),
            "on the margin (share of the MWh)": " / ".join(dict.fromkeys(margins)),
            "generation change (GWh)": _signed(gen, "{:+,.1f}"),
            "system emissions change (kt)": f"{by.emissions_system_change_kg.sum() / 1e6:+,.2f}"}


@figure("published-placement-zones")
def _placement_zones() -> str:
    from abm.report.zone_effects import generation_change

    runs = placement_policies()
    by = placement_by("zone")
    gen = generation_change(*(runs[s].zones for s in PLACEMENT_RUNS.values()))
    gen = gen.drop(columns="emissions_kg")
    top = by.emissions_system_change_kg.abs().sort_values(ascending=False).index[
        :PLACEMENT_ZONES]
    rest = by.index.difference(top)
    rows = [_placement_row(by.loc[[z]], z, gen.loc[z]) for z in top]
    rows.append(_placement_row(by.loc[rest], f"the other {len(rest)} zones",
                               gen.loc[rest].sum()))
    rows.append(_placement_row(by, "all zones", gen.sum()))
    return table(pd.DataFrame(rows))


@figure("published-placement-checks")
def _placement_checks() -> str:
    runs = [placement_policies()[s] for s in PLACEMENT_RUNS.values()]
    a, m = (r.zones for r in runs)
    if not a[["hour", "zone"]].equals(m[["hour", "zone"]]):
        raise RuntimeError("the two placement runs' zones tables differ in their rows")
    without = ((a.emissions_kg - a.emissions_system_kg)
               - (m.emissions_kg - m.emissions_system_kg)).abs().max()
    status_quo = [(z.emissions_system_kg - z.relocation_effect_kg).sum() / 1e6 for z in (a, m)]
    shed = sum(z[c].sum() for z in (a, m) for c in ("shed_mw", "reference_shed_mw"))
    moved = int((~np.isclose(a.marginal_carbon_kg_per_mwh, m.marginal_carbon_kg_per_mwh)).sum())
    beyond = [(r.summary["emissions_system_kg"] - r.summary["emissions_marginal_kg"]) / 1e3
              for r in runs]
    return ("without the data-centre load both runs' zones emit the same in every hour (to "
            "1 g)"
            if without < 1e-3 else f"without the data-centre load the runs' zone emissions "
            f"differ by up to {without:,.3f} kg in an hour") + (
        f"; the status quo's system emissions are {_pair(status_quo, '{:,.2f}')} kt; "
        + ("neither sheds load" if shed == 0 else f"{shed:,.1f} MWh of load is shed")
        + f"; a zone's marginal factor differs between the runs in {moved} of {len(a):,} "
        f"zone-hours; and system emissions exceed marginal attribution by "
        f"{_pair(beyond, '{:,.0f}')} t")


@figure("published-placement-margins")
def _placement_margins() -> str:
    by = placement_by("marginal_technology")
    by = by.loc[by.emissions_system_change_kg.abs().sort_values(ascending=False).index]
    return "; ".join(
        f"{tech}: {_pair([r.dc_energy_mwh_case / 1e3, r.dc_energy_mwh_reference / 1e3], '{:,.1f}')}"
        f" GWh ({r.emissions_system_change_kg / 1e6:+,.2f} kt)" for tech, r in by.iterrows())


@figure("published-placement-water")
def _placement_water() -> str:
    rule = "nothing_burnt"
    diff = {}
    for key in (None, rule):
        avg, mar = (placement_policies(key)[s].summary["emissions_system_kg"]
                    for s in PLACEMENT_RUNS.values())
        diff[key] = (avg, mar, avg - mar, 100 * (avg / mar - 1))
    avg, mar, change, pct = diff[rule]
    water = {key: [by[f"dc_energy_mwh_{k}"][by.index.str.startswith("water")].sum() / 1e3
                   for k in PLACEMENT_RUNS]
             for key, by in ((k, placement_by("marginal_technology", k)) for k in (None, rule))}
    coal = placement_by("marginal_technology", rule).emissions_system_change_kg.get("coal", 0.0)
    side = {True: "more", False: "less"}
    now, before = side[change > 0], side[diff[None][2] > 0]
    verdict = (f"Under both rules the load placed on average carbon makes the grid emit {now} "
               "than placed on marginal carbon, so the sign of the difference does not rest on "
               "how moved water is counted" if now == before else
               f"The load placed on average carbon makes the grid emit {now} than placed on "
               f"marginal carbon under this rule, {before} under the default, so the sign of the "
               "difference rests on how moved water is counted")
    return (f"{avg / 1e6:.2f} kt of system emissions placed on average carbon and "
            f"{mar / 1e6:.2f} kt placed on marginal carbon, {change / 1e6:+,.2f} kt "
            f"({pct:+.1f} %), against {diff[None][2] / 1e6:+,.2f} kt ({diff[None][3]:+.1f} %) "
            f"with the default rule. {verdict}: counted as burning nothing, reservoir water "
            + ("draws more of the load placed on marginal carbon"
               if water[rule][1] > water[None][1] else
               "draws no more of the load placed on marginal carbon")
            + f" (grid energy where water was on the margin, placed on average / on marginal "
            f"carbon: {_pair(water[rule], '{:,.1f}')} GWh, against "
            f"{_pair(water[None], '{:,.1f}')} GWh with the default rule), and coal on the "
            f"margin gives {coal / 1e6:+,.2f} kt")


# -- figures: adoption of follow-the-green (slow: a sweep of 33 runs of the week) -------------

@functools.cache
def adoption() -> pd.DataFrame:
    """experiments/sweeps/adoption.toml run afresh (in a temporary folder), summarised by
    ``experiments/adoption_figure.py``: the mean and range over seeds per share."""
    from abm.api import sweep

    results = sweep(ROOT / "experiments" / "sweeps" / "adoption.toml", workers=None)
    return adoption_script().summarise(results)


@functools.cache
def adoption_script():
    """experiments/adoption_figure.py."""
    return _module("adoption_figure")


def _adoption_files() -> None:
    """docs/adoption.png and docs/adoption.csv from the sweep
    (``experiments/adoption_figure.py``)."""
    t = adoption()
    adoption_script().figure(t, DOCS / "adoption.png")
    t.to_csv(DOCS / "adoption.csv", float_format="%.6g")


@figure("market-adoption", cheap=False, files=_adoption_files)
def _adoption() -> str:
    t = adoption().xs("mean", axis=1, level=1)
    ends = t.loc[[t.index.min(), t.index.max()]]
    rows = [("system emissions (kt CO2 / week)", "emissions_system_kg", 1e-6, "{:,.1f}"),
            ("price data-centre load pays (USD/MWh)", "dc_price_usd_per_mwh", 1.0, "{:,.1f}"),
            ("unserved demand (MWh / week)", "unserved_mwh", 1.0, "{:,.0f}"),
            ("herding (MWh / week)", "herding_mwh", 1.0, "{:,.0f}"),
            ("MWh moved", "moved_mwh", 1.0, "{:,.0f}"),
            ("operators' cost (M USD)", "cost_usd", 1e-6, "{:,.2f}")]
    df = pd.DataFrame([{"outcome (mean over seeds)": name,
                        "none following the green": fmt.format(ends[col].iloc[0] * scale),
                        "all drawn operators": fmt.format(ends[col].iloc[1] * scale),
                        "change": f"{100 * (ends[col].iloc[1] / ends[col].iloc[0] - 1):+.0f} %"}
                       for name, col, scale, fmt in rows])
    return table(df)


# -- figures: grid headroom (docs/headroom.md) -------------------------------------------------

#: Norris et al. (2025), "Rethinking Load Growth" (hdl.handle.net/10161/32077): curtailment-
#: enabled headroom of 22 US balancing authorities at 0.25 / 0.5 / 1 % curtailment, GW
DUKE_GW = {0.25: 76.0, 0.5: 98.0, 1.0: 126.0}


@functools.cache
def headroom() -> pd.DataFrame:
    """``abm headroom`` of the shipped default scenario, at its defaults."""
    from abm.api import headroom as compute_headroom

    return compute_headroom()


@figure("headroom-curtail")
def _headroom_curtail() -> str:
    df = headroom()
    curt = df[df["mode"] == "curtail"]
    mw = curt.pivot(index="zone_id", columns="share_pct", values="headroom_mw")
    pct = curt.pivot(index="zone_id", columns="share_pct", values="headroom_pct_of_peak")
    first = curt.drop_duplicates("zone_id").set_index("zone_id")
    zones = list(first.index)
    out = pd.DataFrame({"zone": zones, "peak (MW)": first.peak_mw.loc[zones].to_numpy(),
                        "hours at peak": first.peak_hours.loc[zones].astype(str).to_numpy()})
    for share in sorted(mw.columns):
        out[f"{share:g} % (MW)"] = mw.loc[zones, share].to_numpy()
        out[f"{share:g} % (% of peak)"] = pct.loc[zones, share].to_numpy()
    formats = {c: "{:,.0f}" for c in out.columns if "(MW)" in c}
    formats |= {c: "{:.2f}" for c in out.columns if "of peak" in c}
    return table(out, formats)


@figure("headroom-variants")
def _headroom_variants() -> str:
    df = headroom()
    at = df[df.share_pct == 1.0]
    variants = list(dict.fromkeys(at.variant))
    mw = at.pivot(index="zone_id", columns="variant", values="headroom_mw")
    zones = list(dict.fromkeys(at.zone_id))
    out = pd.DataFrame({"zone": zones})
    for v in variants:
        out[v] = mw.loc[zones, v].to_numpy()
    return table(out, {v: "{:,.0f}" for v in variants})


def _headroom_files() -> None:
    """docs/headroom.png, as ``abm headroom --out`` draws it."""
    from abm.report.figures import save
    from abm.report.headroom_figures import headroom_variants_figure

    save(headroom_variants_figure(headroom(), "default: headroom under the annual peak"),
         DOCS / "headroom.png")


@figure("headroom-figure", files=_headroom_files)
def _headroom_figure() -> str:
    return ("![Headroom of the default zones by variant and share, % of peak (colour) and MW "
            "(written)](headroom.png)")


@figure("headroom-totals")
def _headroom_totals() -> str:
    df = headroom()
    curt = df[df["mode"] == "curtail"]
    first = curt.drop_duplicates("zone_id")
    us = first.zone_id.str.startswith("US-")
    total = curt.groupby("share_pct").headroom_mw.sum() / 1000
    us_total = curt[curt.zone_id.str.startswith("US-")].groupby("share_pct").headroom_mw.sum()
    shares = sorted(total.index)
    at = " / ".join(f"{total[s]:,.1f}" for s in shares)
    at_us = " / ".join(f"{us_total[s] / 1000:,.1f}" for s in shares)
    duke = " / ".join(f"{DUKE_GW[s]:g}" for s in shares)
    ie = df[(df.zone_id == "IE") & (df.share_pct == 1.0)].set_index("variant")
    far = ie.loc["relocate 150 ms"]
    away = 100 * far.relocated_mwh / (far.headroom_mw * far.series_hours)
    return (f"Summed over the {len(first)} zones (peaks {first.peak_mw.sum() / 1000:,.0f} GW in "
            f"all), the curtailed headroom is {at} GW at "
            f"{' / '.join(f'{s:g}' for s in shares)} %; the {int(us.sum())} US zones "
            f"({first.peak_mw[us].sum() / 1000:,.0f} GW of peak) give {at_us} GW, where Norris "
            f"et al. find {duke} GW over 22 balancing authorities with about 95 % of US load. "
            f"Relocating within 150 ms, Ireland (peak {far.peak_mw / 1000:,.1f} GW) would "
            f"\"host\" {far.headroom_mw / 1000:,.0f} GW at 1 %, {away:.0f} % of whose energy "
            "runs in other zones.")


# -- figures: the assumptions audit (docs/audit.md) -------------------------------------------

AUDIT_OUT = ROOT / "out" / "audit_week"


@figure("audit-ranges")
def _audit_ranges() -> str:
    from abm.data.audit_ranges import load_ranges

    return table(pd.DataFrame([{
        "assumption": r.assumption,
        "figures moved": f"`{r.table}`: " + ", ".join(f"`{c}`" for c in r.columns)
                         + (f", one assumption per `{r.each}`" if r.each else ""),
        "rows": " or ".join(f"`{s}`" for s in r.rows) or "the scenario's value",
        "range": r.shown(), "source": r.source} for r in load_ranges()]))


@functools.cache
def week_audit() -> tuple[pd.Series, pd.DataFrame]:
    """The default week's audit, as ``abm audit`` runs it (kept in out/audit_week and resumed
    there, started again if the scenario or ranges changed): its base run and ranking."""
    from abm.errors import InputError
    from abm.sweeps.audit import RANKING, ROWS, plan_audit
    from abm.sweeps.runner import open_executor, run_plan

    plan = plan_audit()
    with open_executor() as (executor, describe, slots):
        try:
            run_plan(plan, AUDIT_OUT, executor, slots=slots, describe=describe,
                     resume=(AUDIT_OUT / "manifest.json").exists())
        except InputError:  # another audit's folder: start again
            run_plan(plan, AUDIT_OUT, executor, slots=slots, describe=describe, restart=True)
    rows = pd.read_parquet(AUDIT_OUT / ROWS)
    return rows[rows["sample"] < 0].iloc[0], pd.read_csv(AUDIT_OUT / RANKING)


@figure("audit-week-top", cheap=False)
def _audit_week_top() -> str:
    _, r = week_audit()
    r = r.head(10)

    def pair(col: str, scale: float, fmt: str) -> list[str]:
        return [f"{fmt.format(lo * scale)} / {fmt.format(hi * scale)}"
                for lo, hi in zip(r[f"{col}.low"], r[f"{col}.high"], strict=True)]
    return table(pd.DataFrame({
        "rank": r["rank"], "assumption": r.assumption, "range": r["range"],
        "system emissions (t)": pair("emissions_system_kg", 1e-3, "{:+,.0f}"),
        "relocation effect (t)": pair("relocation_effect_kg", 1e-3, "{:+,.0f}"),
        "cost (k USD)": pair("cost_usd", 1e-3, "{:+,.0f}"),
        "data-centre price (USD/MWh)": pair("dc_price_usd_per_mwh", 1.0, "{:+.2f}"),
        "score (%)": r.score_pct}))


def _week_ranked(name: str) -> tuple[pd.Series, str, float, float]:
    """Assumption ``name``'s row of the week's ranking, "ranks R of N", and the base run's
    relocation effect and system emissions (kg)."""
    base, r = week_audit()
    row = r[r.assumption == name].iloc[0]
    return (row, f"ranks {row['rank']} of {len(r)}", base["relocation_effect_kg"],
            base["emissions_system_kg"])


@figure("audit-week-line", cheap=False)
def _audit_week_line() -> str:
    line, ranks, reloc, system = _week_ranked("line rating: US-PJM-DOM-US-MISO")
    return (f"{ranks}: without it the week's relocation effect is "
            f"{(reloc + line['relocation_effect_kg.low']) / 1e6:+.2f} kt instead of "
            f"{reloc / 1e6:+.2f} kt ({100 * line['relocation_effect_kg.low'] / abs(reloc):+.0f} "
            f"%) and the data centres' system emissions "
            f"{100 * line['emissions_system_kg.low'] / system:+.1f} %; at 1.5 times the "
            f"rating, {(reloc + line['relocation_effect_kg.high']) / 1e6:+.2f} kt")


@figure("audit-week-water", cheap=False)
def _audit_week_water() -> str:
    water, ranks, reloc, system = _week_ranked("moved water")
    return (f"{ranks}: with moved water counted as burning nothing the week's relocation effect "
            f"is {(reloc + water['relocation_effect_kg.high']) / 1e6:+.2f} kt instead of "
            f"{reloc / 1e6:+.2f} kt, and the data centres' system emissions "
            f"{(system + water['emissions_system_kg.high']) / 1e6:,.1f} kt instead of "
            f"{system / 1e6:,.1f} kt ({100 * water['emissions_system_kg.high'] / system:+.1f} %)")


# -- figures: deferral against relocation (docs/flexibility.md) -------------------------------
# Read from the stored results of experiments/flexibility.py (the CSVs and JSON in docs/), so
# cheap: tests/test_flexibility_docs.py checks those against the sweeps they came from.

FLEX = (DOCS / "flexibility.csv", DOCS / "flexibility_generation.csv",
        DOCS / "flexibility_cost_parts.csv", DOCS / "flexibility.json")


@functools.cache
def flexibility():
    """experiments/flexibility.py."""
    return _module("flexibility")


@functools.cache
def flex_means() -> pd.DataFrame:
    """The stored flexibility results, mean per mode, deadline and share, with changes."""
    f = flexibility()
    return f.means(f.load_results())


def _flex_cell(mode: str, deadline: int, share_pct: float) -> pd.Series:
    m = flex_means()
    return m[(m["mode"] == mode) & (m.deadline_hours == deadline)
             & np.isclose(m.flexible_share_pct, share_pct)].iloc[0]


@figure("flex-run", needs=FLEX)
def _flex_run() -> str:
    import json

    from abm.sweeps.spec import load_spec

    f = flexibility()
    info = json.loads(f.RUN_INFO.read_text())
    r = f.load_results()
    spec = load_spec(f.SWEEPS["space and time"])
    hours = spec.hours or scenario_hours(spec.scenario)
    shares = sorted(r.flexible_share_pct.unique())
    deadlines = sorted(r.deadline_hours.unique())
    reps = r.replication.nunique()
    return (f"{info['runs']} runs of {hours} h: {len(f.SWEEPS)} sweeps of "
            f"{len(shares)} shares ({', '.join(f'{s:g}' for s in shares)} %) x "
            f"{len(deadlines)} deadlines ({', '.join(str(d) for d in deadlines)} h) x "
            f"{reps} seed{'s' if reps > 1 else ''} (master seed {spec.seed}), then "
            f"{2 * len(f.SWEEPS)} runs again with their tables and "
            f"{len(info['migration_by_shares'])} once more hour by hour (the stricter friction "
            f"rule). The sweeps' elapsed times "
            f"add up to {info['sweeps_wall_s'] / 60:.0f} min ({info['sweeps_executor']} each, "
            f"on {info['cores']} cores shared with other work); the runs after them took "
            f"{info['explain_wall_s']} s ({info['explain_cpu_s']} s CPU)")


def scenario_hours(scenario: str) -> int:
    """The hours of a scenario file."""
    from abm.config.scenario import load_scenario

    return load_scenario(scenario).hours


@figure("flex-grid", needs=FLEX)
def _flex_grid() -> str:
    m = flex_means()
    keep = ((m.deadline_hours == 0) & (m.flexible_share_pct == 0)) | (
        (m.deadline_hours > 0) & (m.flexible_share_pct > 0))
    m = m[keep]
    out = pd.DataFrame({
        "mode": m["mode"], "deadline (h)": m.deadline_hours.astype(str),
        "flexible share (%)": [f"{v:g}" for v in m.flexible_share_pct],
        "system emissions (kt)": m.emissions_system_kg / 1e6,
        "vs no deferral (%)": m.emissions_system_change_pct,
        "operators' cost (M USD)": m.cost_usd / 1e6,
        "cost vs no deferral (%)": m.cost_change_pct,
        "relocation effect (kt)": m.relocation_effect_kg / 1e6,
        "missed (MWh)": m.missed_mwh, "waiting at the end (MWh)": m.backlog_end_mwh})
    return table(out, {"system emissions (kt)": "{:,.2f}", "vs no deferral (%)": "{:+.2f}",
                       "operators' cost (M USD)": "{:,.3f}",
                       "cost vs no deferral (%)": "{:+.2f}",
                       "relocation effect (kt)": "{:+,.2f}", "missed (MWh)": "{:,.0f}",
                       "waiting at the end (MWh)": "{:,.0f}"})


def _change(new: float, old: float) -> str:
    return f"{100 * (new / old - 1):+.1f} %"


@figure("flex-headline", needs=FLEX)
def _flex_headline() -> str:
    m = flex_means()
    top, longest = m.flexible_share_pct.max(), int(m.deadline_hours.max())
    neither = _flex_cell("time only", 0, 0.0)
    space = _flex_cell("space and time", 0, 0.0)
    time_ = _flex_cell("time only", longest, top)
    both = _flex_cell("space and time", longest, top)
    deferring = m[(m.deadline_hours > 0) & (m.flexible_share_pct > 0)]
    up = deferring[deferring.emissions_change_t > 0]
    cost_up = int((deferring.cost_change_pct > 0).sum())
    lines = [
        f"Relocation alone (space only) changes the data centres' system emissions by "
        f"{_change(space.emissions_system_kg, neither.emissions_system_kg)} against neither "
        f"and their operators' cost by {_change(space.cost_usd, neither.cost_usd)}.",
        f"Deferring {top:g} % of demand up to {longest} h changes system emissions by "
        f"{_change(time_.emissions_system_kg, neither.emissions_system_kg)} kept local (time "
        f"only) and by {_change(both.emissions_system_kg, space.emissions_system_kg)} on top "
        f"of relocation (both: {_change(both.emissions_system_kg, neither.emissions_system_kg)}"
        f" against neither), and the operators' cost by "
        f"{_change(time_.cost_usd, neither.cost_usd)} and "
        f"{_change(both.cost_usd, space.cost_usd)} against each mode's run without deferral.",
        f"The operators' cost falls with deferral in {len(deferring) - cost_up} of the "
        f"{len(deferring)} deferring cells and rises in {cost_up}; system emissions rise in "
        f"{len(up)}"
        + (" (" + ", ".join(f"{r['mode']} {r.flexible_share_pct:g} % {r.deadline_hours} h: "
                            f"{r.emissions_change_t:+,.0f} t" for _, r in up.iterrows()) + ")"
           if len(up) else "") + ".",
        f"Work missing its deadline is at most {deferring.missed_mwh.max():,.0f} MWh of "
        f"{deferring.work_arrived_mwh.max():,.0f} MWh deferred in a week "
        f"({100 * (deferring.missed_mwh / deferring.work_arrived_mwh).max():.2f} % in the "
        "worst cell).",
    ]
    return "\n".join(f"- {line}" for line in lines)


FLEX_SHARE_PCT = 30.0  # the shipped flexible scenarios' share ...
FLEX_DEADLINE_H = 4  # ... and deadline (experiments/scenarios/flexible*.toml)


@figure("flex-modes", needs=FLEX)
def _flex_modes() -> str:
    s, d = FLEX_SHARE_PCT, FLEX_DEADLINE_H
    rows = [("neither (kept local, no deferral)", _flex_cell("time only", 0, 0.0)),
            ("space only (relocation, no deferral)", _flex_cell("space and time", 0, 0.0))]
    for deadline in (d, 24):
        rows += [(f"time only ({s:g} %, {deadline} h, kept local)",
                  _flex_cell("time only", deadline, s)),
                 (f"both ({s:g} %, {deadline} h, relocation)",
                  _flex_cell("space and time", deadline, s))]
    base = rows[0][1]
    out = pd.DataFrame([{
        "": label, "system emissions (kt)": c.emissions_system_kg / 1e6,
        "vs neither (%)": 100 * (c.emissions_system_kg / base.emissions_system_kg - 1),
        "operators' cost (M USD)": c.cost_usd / 1e6,
        "cost vs neither (%)": 100 * (c.cost_usd / base.cost_usd - 1),
        "effect vs status quo (kt)": c.relocation_effect_kg / 1e6,
        "served away from origin (%)": 100 * c.relocated_share,
        "missed (MWh)": c.missed_mwh} for label, c in rows])
    return table(out, {"system emissions (kt)": "{:,.2f}", "vs neither (%)": "{:+.2f}",
                       "operators' cost (M USD)": "{:,.3f}", "cost vs neither (%)": "{:+.2f}",
                       "effect vs status quo (kt)": "{:+,.2f}",
                       "served away from origin (%)": "{:.1f}",
                       "missed (MWh)": "{:,.0f}"})


def flex_returns(mode: str, deadline: int) -> pd.Series:
    """A mode's change in system emissions against no deferral (t) by flexible share, at a
    deadline (share 0: none)."""
    m = flex_means()
    c = m[(m["mode"] == mode) & (m.deadline_hours == deadline)]
    return c.set_index("flexible_share_pct").emissions_change_t


@figure("flex-returns", needs=FLEX)
def _flex_returns() -> str:
    parts = []
    for mode in flexibility().SWEEPS:
        for deadline in (4, 24):
            r = flex_returns(mode, deadline)
            top = r.index.max()
            cut = -r[top]
            shares = [s for s in r.index if 0 < s < top]
            if cut > 0:
                got = ", ".join(f"{100 * -r[s] / cut:.0f} %" for s in shares)
                even = ", ".join(f"{100 * s / top:.0f} %" for s in shares)
                parts.append(f"{mode}, {deadline} h: {cut / 1e3:,.2f} kt less at {top:g} %, of "
                             f"which {got} already at {', '.join(f'{s:g}' for s in shares)} % "
                             f"(in proportion to the share: {even})")
            else:
                parts.append(f"{mode}, {deadline} h: {-cut / 1e3:,.2f} kt *more* at {top:g} % "
                             "than without deferral")
    return "; ".join(parts)


@functools.cache
def flex_generation() -> pd.DataFrame:
    """docs/flexibility_generation.csv."""
    return pd.read_csv(flexibility().GENERATION)


@figure("flex-why", needs=FLEX)
def _flex_why() -> str:
    g = flex_generation()
    rows = []
    for mode in dict.fromkeys(g["mode"]):
        z = g[g["mode"] == mode]
        first = z.iloc[0]
        emissions = (z.drop_duplicates("zone").set_index("zone").zone_emissions_change_kg
                     .sort_values(key=abs, ascending=False))
        for zone in emissions.index[:5]:
            t = z[z.zone == zone].set_index("technology").generation_change_mwh
            up, down = t.idxmax(), t.idxmin()
            rows.append({
                "case": f"{mode}, {first.flexible_share_pct:g} %, {first.deadline_hours} h",
                "zone": zone, "emissions change (t)": emissions[zone] / 1e3,
                "rises most (MWh)": f"{up} {t[up]:+,.0f}" if t[up] > 0.5 else "",
                "falls most (MWh)": f"{down} {t[down]:+,.0f}" if t[down] < -0.5 else ""})
    return table(pd.DataFrame(rows), {"emissions change (t)": "{:+,.1f}"})


def _flex_case(mode: str, first: pd.Series) -> str:
    """A flexibility case's label: its mode, deferrable share and deadline."""
    return f"{mode} ({first.flexible_share_pct:g} % deferrable, {first.deadline_hours} h)"


@figure("flex-why-totals", needs=FLEX)
def _flex_why_totals() -> str:
    g = flex_generation()
    parts = []
    for mode in dict.fromkeys(g["mode"]):
        z = g[g["mode"] == mode]
        first = z.iloc[0]
        tech = z.groupby("technology").generation_change_mwh.sum().sort_values()
        tech = tech[tech.abs() > 0.5]
        total = z.drop_duplicates("zone").zone_emissions_change_kg.sum() / 1e3
        parts.append(
            f"{_flex_case(mode, first)}: "
            f"{total:+,.1f} t over all zones; generation "
            + ", ".join(f"{k} {v / 1e3:+,.2f} GWh" for k, v in tech.items()))
    return "; ".join(parts)


def _k_usd(usd: float, sign: bool = False) -> str:
    """USD in thousands to the nearest k ("1,234 k"; with ``sign``, "+1,234 k" / "-1,234 k"):
    what rounds to zero is "0 k", never "-0 k" or "+0 k"."""
    k = round(usd / 1e3)
    if k == 0:
        return "0 k"
    return f"{k:+,d} k" if sign else f"{k:,d} k"


@figure("flex-why-cost", needs=FLEX)
def _flex_why_cost() -> str:
    c = pd.read_csv(flexibility().COST_PARTS)
    parts = []
    for mode in dict.fromkeys(c["mode"]):
        z = c[c["mode"] == mode].pivot(index="part", columns="run", values="cost_usd")
        first = c[(c["mode"] == mode) & (c.run == "case")].iloc[0]
        d = (z["case"] - z["reference"]).sort_values(key=abs, ascending=False)
        total = z["case"].sum() - z["reference"].sum()
        parts.append(
            f"{_flex_case(mode, first)}: "
            f"cost {_k_usd(total, sign=True)} USD against no deferral, of which "
            + ", ".join(f"{k} {_k_usd(v, sign=True)}" for k, v in d.items()))
    return "; ".join(parts)


@figure("flex-by-shares", needs=FLEX)
def _flex_by_shares() -> str:
    import json

    f = flexibility()
    c = pd.read_csv(f.COST_PARTS)
    parts = []
    for check in json.loads(f.RUN_INFO.read_text())["migration_by_shares"]:
        mode = check["mode"]
        ref = c[(c["mode"] == mode) & (c.run == "reference") & (c.part == "migration")]
        extra = check["by_shares_usd"] - check["charged_usd"]
        cell = (f"{mode}, {check['flexible_share_pct']:g} % deferrable, "
                f"{check['deadline_hours']} h:")
        if check["by_shares_usd"] == check["charged_usd"] == 0.0:
            parts.append(f"{cell} none by either rule (nothing moves)")
            continue
        parts.append(
            f"{cell} {_k_usd(check['by_shares_usd'])} USD instead of "
            f"{_k_usd(check['charged_usd'])} ({_k_usd(extra, sign=True)}; "
            f"{_k_usd(check['by_shares_usd'] - ref.cost_usd.iloc[0], sign=True)} against no "
            "deferral)")
    return "; ".join(parts)


# -- running -----------------------------------------------------------------------------------

def compute(names: list[str]) -> dict[str, str]:
    """The Markdown of the named figures that can be computed here."""
    return {n: FIGURES[n].compute() for n in names if FIGURES[n].available()}


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or check) the figures' regions in the docs."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="figures to compute (default: all)")
    p.add_argument("--check", action="store_true", help="exit 1 if a region is stale")
    p.add_argument("--list", action="store_true", help="list the figures")
    p.add_argument("--cheap", action="store_true", help="only the cheap figures")
    args = p.parse_args(argv)
    where = used()
    if args.list:
        for name, f in sorted(FIGURES.items()):
            docs_of = ", ".join(str(d.relative_to(ROOT)) for d in where.get(name, []))
            print(f"{name}: {'cheap' if f.cheap else 'slow'}; {docs_of or 'in no doc'}")
        return 0
    unknown = sorted(set(args.names) - set(FIGURES)) + sorted(set(where) - set(FIGURES))
    if unknown:
        print(f"unknown figure(s): {unknown}; known: {sorted(FIGURES)}", file=sys.stderr)
        return 2
    names = args.names or [n for n, f in FIGURES.items() if f.cheap or not args.cheap]
    values = compute(names)
    skipped = sorted(set(names) - set(values))
    if skipped:
        print(f"skipped (their research data is absent): {skipped}", file=sys.stderr)
    if not args.check:  # the files figures draw into docs/ (never when checking)
        for name in values:
            if (files := FIGURES[name].files) is not None:
                files()
    out_of_date = []
    for path in docs():
        text = path.read_text()
        if args.check:
            out_of_date += [f"{path.relative_to(ROOT)}: {n}" for n in stale(text, values)]
        elif (new := render(text, values)) != text:
            path.write_text(new)
            print(f"wrote {path.relative_to(ROOT)}")
    if out_of_date:
        print("stale figures:\n  " + "\n  ".join(out_of_date), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
