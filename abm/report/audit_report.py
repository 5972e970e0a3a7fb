"""An assumptions audit's report: the ranking as a table and a tornado chart, one HTML page.

``DIR/report.html`` (figure embedded) and ``DIR/tornado.png``: the audit's settings and base
run, the assumptions ranked by their largest effect on a headline (in % of the base run), each
headline's tornado (effect of the low and the high end of every assumption's range, or of a rule
switch's two values, largest swing on top), the ranges and rule switches with their sources,
and what was not varied and why.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from abm.data.audit_ranges import SWITCH, shown_range
from abm.errors import InputError
from abm.files import write_atomic, write_bytes
from abm.report.document import (
    Bullets,
    Cell,
    Document,
    Note,
    Section,
    Table,
    code,
    render_html,
    text,
)
from abm.report.document import Figure as DocFigure
from abm.report.figures import subplots
from abm.report.sweep_report import number, shown_path
from abm.sweeps.audit import AUDIT, OUTCOMES, RANKING, ROWS
from abm.sweeps.results import read_manifest

REPORT = "report.html"
TORNADO = "tornado.png"
TOP = 12  # assumptions per tornado panel
#: how each headline is shown: label, unit, divisor from the summary's unit
SHOWN = {"emissions_system_kg": ("system emissions", "t", 1e3),
         "relocation_effect_kg": ("relocation effect", "t", 1e3),
         "cost_usd": ("cost", "$", 1.0),
         "dc_price_usd_per_mwh": ("data-centre electricity price", "$/MWh", 1.0)}


def read_audit(out: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """An audit folder's manifest, runs and ranking.

    Raises:
        InputError: ``out`` is not an audit folder, or holds no finished run yet.
    """
    manifest = read_manifest(out, AUDIT)
    if not (out / RANKING).exists():
        raise InputError(out, RANKING, "missing: no run finished yet; carry on with --resume")
    return manifest, pd.read_parquet(out / ROWS), pd.read_csv(out / RANKING)


def write_report(out: Path) -> Path:
    """Write ``out/report.html`` and ``out/tornado.png`` for the audit in ``out``; return the
    report's path."""
    manifest, rows, ranked = read_audit(out)
    base = rows[rows["sample"] < 0]
    if base.empty or ranked.empty:
        raise InputError(out, "runs", "the base run or every assumption's pair of runs is "
                         "missing: carry on with --resume")
    fig = tornado_figure(ranked, base.iloc[0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    write_bytes(out / TORNADO, buf.getvalue())
    sections = [_settings(manifest, base.iloc[0], out), _ranking(ranked),
                Section("Tornado", (text(
                    "Each headline's change from the base run when one assumption is at the "
                    "low (light) or high (dark) end of its range (a rule switch: at its first or "
                    "second value); the largest swings on top."),
                    DocFigure("tornado", buf.getvalue(), "tornado chart of the assumptions"))),
                _ranges(manifest)]
    doc = Document(f"Assumptions audit: {manifest['name']}", text(
        "Which assumed figures the headline results hang on: each moved across its documented "
        "range, one at a time, everything else (seed included) as in the base run."),
        tuple(sections))
    page = render_html(doc)
    path = out / REPORT
    write_atomic(path, lambda tmp: tmp.write_text(page))
    return path


def _settings(m: dict, base: pd.Series, out: Path) -> Section:
    status = m.get("status")
    warn = () if status == "complete" else (Note(text(
        f"The audit is {status}: {m.get('runs_done')} of {m.get('runs_total')} runs. Carry on "
        "with ", code("--resume"), ".")),)
    rows = [["folder", shown_path(out)], ["scenario", shown_path(m["scenario_file"])],
            ["seed", str(m["seed"])], ["hours per run", str(m["hours"])],
            ["assumptions", str(len(m["assumptions"]))],
            ["runs", f"{m.get('runs_done')} of {m.get('runs_total')}"],
            ["executor", str(m.get("executor"))],
            ["wall time", number(m.get("elapsed_s") or 0.0, "s")],
            ["ranges", shown_path(m["ranges_file"])]]
    rows += [[f"base: {SHOWN[o][0]}", number(float(base[o]) / SHOWN[o][2], SHOWN[o][1])]
             for o in OUTCOMES]
    return Section("Settings and base run", (*warn, Table.of(["setting", "value"], rows)))


def _ranking(ranked: pd.DataFrame) -> Section:
    rows = []
    for _, r in ranked.iterrows():
        effects = []
        for o in OUTCOMES:
            _, unit, div = SHOWN[o]
            effects.append(Cell(f"{number(r[f'{o}.low'] / div, unit)} / "
                                f"{number(r[f'{o}.high'] / div, unit)}", numeric=True))
        rows.append([Cell(str(r["rank"]), numeric=True), Cell(r.assumption), Cell(r.figures),
                     Cell(r.range), *effects,
                     Cell(f"{r.score_pct:.1f} %", numeric=True)])
    return Section("Ranking", (
        text("Effects of the low / high end of each range against the base run (a rule "
             "switch: of its first / second value; the value the scenario has is the base run, "
             "effect 0); the score is the largest of the four swings in % of the base value (a "
             "headline whose base value is 0 does not count)."),
        Table.of(["rank", "assumption", "figures moved", "range", *(
            f"{SHOWN[o][0]} ({SHOWN[o][1]})" for o in OUTCOMES), "score"], rows)))


def _ranges(m: dict) -> Section:
    kinds: dict[str, dict] = {}
    for a in m["assumptions"]:
        kinds.setdefault(a["kind"], a)
    blocks: list = [Table.of(["assumption", "table", "range", "source"], [
        [k, a["table"], shown_range(a["low"], a["high"]), a["source"]]
        for k, a in kinds.items()])]
    if any(a["table"] == SWITCH for a in kinds.values()):
        blocks.append(text("A rule switch is a modelling rule, not a datum with a range: the "
                           "audit runs the scenario at each of its two values, the one the "
                           "scenario has (its ", code("figures moved"), ") being the base run."))
    if m.get("not_varied"):
        blocks += [text("Not varied in this scenario:"),
                   Bullets(tuple(text(s) for s in m["not_varied"]))]
    return Section("Ranges, rule switches and their sources", tuple(blocks), folded=True)


def tornado_figure(ranked: pd.DataFrame, base: pd.Series, top: int = TOP) -> Figure:
    """One panel per headline: the ``top`` assumptions with the largest swing on it, each a
    bar to the low end's effect (light) and one to the high end's (dark; a rule switch: its
    first and second value)."""
    fig, axes = subplots(2, 2, figsize=(13, 1.2 + 0.38 * min(top, len(ranked)) * 2),
                         squeeze=False)
    for ax, o in zip(axes.flat, OUTCOMES, strict=True):
        label, unit, div = SHOWN[o]
        lo, hi = ranked[f"{o}.low"] / div, ranked[f"{o}.high"] / div
        swing = np.maximum(lo.abs(), hi.abs())
        order = swing.sort_values(ascending=False, kind="stable").index[:top][::-1]
        y = np.arange(len(order))
        ax.barh(y, lo[order], 0.7, color="#9ecae1", label="low end")
        ax.barh(y, hi[order], 0.7, color="#08519c", label="high end", alpha=0.85)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, [f"{ranked.assumption[i]} ({ranked.range[i]})" for i in order],
                      fontsize=7)
        ax.set_xlabel(f"change from the base run ({unit})", fontsize=8)
        ax.set_title(f"{label}: base {number(float(base[o]) / div, unit)}", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    axes.flat[0].legend(fontsize=7, loc="lower right")
    return fig
