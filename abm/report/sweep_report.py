"""``abm sweep report DIR``: the analysis of a sweep as one self-contained HTML page.

The page (``DIR/report.html``, figures embedded as PNG) holds the sweep's settings and
progress, outcome statistics, sensitivity indices with 95% intervals (table and tornado
chart), a heat map of the outcome over the two most influential parameters, outcome
distributions against the baseline, per-hour series bands, and the scenario-discovery box.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from abm.config.scenario import SCENARIO_DIR
from abm.errors import InputError
from abm.files import write_atomic
from abm.report.document import (
    Block,
    Cell,
    Document,
    Note,
    Section,
    Table,
    bold,
    code,
    render_html,
    text,
)
from abm.report.document import Figure as DocFigure
from abm.report.figures import subplots
from abm.sweeps.analysis import (
    WIDE_INTERVAL,
    Box,
    Range,
    Sensitivity,
    by_point,
    codes,
    prim,
    sensitivity,
)
from abm.sweeps.results import SERIES_PREFIX, consolidate, manifest_spec, read_manifest
from abm.sweeps.spec import Discovery, Parameter, Spec, outcome_unit

REPORT = "report.html"
HEAT_BINS = 6


def write_report(out: str | Path, target: Discovery | None = None,
                 pair: tuple[str, str] | None = None, dest: str | Path | None = None) -> Path:
    """Analyse the sweep in ``out`` and write the report to ``dest`` (default:
    ``out/report.html``); return its path. The sweep folder is only read (it may be
    read-only): nothing but the report is written, and only where ``dest`` says.

    Args:
        out: the sweep folder (finished or not: the report covers the runs written so far).
        target: the scenario-discovery target (default: the sweep file's ``[discovery]``, else
            the top quarter of the first outcome).
        pair: the two parameters of the heat map (default: the two most influential).
        dest: the HTML file to write.

    Raises:
        InputError: the folder holds no sweep or a damaged one, or ``dest`` cannot be written
            (a read-only folder: the message says to pass another).
    """
    out = Path(out)
    manifest = read_manifest(out)
    spec = manifest_spec(out, manifest)
    results, baseline = consolidate(out, spec, write=False)
    if results.empty:
        raise InputError(out, "runs", "no finished runs yet: nothing to report")
    sens = sensitivity(spec, results)
    outcome = (target or spec.discovery).outcome if (target or spec.discovery) else \
        spec.all_outcomes[0]
    for name in pair or ():
        if name not in spec.names:
            raise InputError("--pair", "pair", f"unknown parameter {name!r}; the sweep varies "
                             f"{', '.join(spec.names)}")
    pair = pair or _top_two(next(s for s in sens if s.outcome == outcome), spec)
    if target is None:
        target = spec.discovery or Discovery(
            outcome, float(np.nanquantile(results[outcome], 0.75)), above=True)
    box = prim(results[list(spec.names)], target, results[target.outcome].to_numpy(float))
    sections = [_header(spec, manifest, out), _parameters(spec),
                _outcomes(spec, results, baseline), _sensitivity(spec, sens)]
    if pair is not None:
        sections.append(Section(f"Heat map: {outcome}", (_figure(
            "heatmap", heatmap_figure(by_point(spec, results), pair, outcome)),)))
    sections.append(Section("Outcome distributions", (
        text("Over all runs; dashed: the baseline run(s)."),
        _figure("distributions", distribution_figure(spec, results, baseline)))))
    if spec.series:
        sections.append(Section("Series", (
            text("Median and 5-95% band over runs, per hour."),
            _figure("series", series_figure(spec, results)))))
    sections.append(_discovery(box))
    doc = Document(f"Sweep {spec.name}", text(spec.description), tuple(sections))
    page = render_html(doc)
    path = out / REPORT if dest is None else Path(dest)
    try:
        write_atomic(path, lambda tmp: tmp.write_text(page))
    except OSError as exc:
        raise InputError(path, "", f"cannot be written ({exc.strerror}): pass --out FILE to "
                         "write the report elsewhere") from None
    return path


def _top_two(s: Sensitivity, spec: Spec) -> tuple[str, str] | None:
    if len(spec.names) < 2:
        return None
    order = s.table[s.key].fillna(-1.0).sort_values(ascending=False, kind="stable").index
    return order[0], order[1]


def _figure(name: str, fig: Figure) -> DocFigure:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return DocFigure(name, buf.getvalue(), name)


def number(value: float, unit: str = "") -> str:
    """A figure as a reader should see it: about 3 significant digits with k / M / bn, thousands
    separators, no exponent above 0.01; shares as percentages; ``$`` before, other units
    after."""
    if value is None or not np.isfinite(value):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    size, suffix = abs(value), ""
    for above, scale, name in ((1e9, 1e9, " bn"), (1e6, 1e6, " M"), (1e4, 1e3, " k")):
        if size >= above:
            value, size, suffix = value / scale, size / scale, name
            break
    digits = 0 if size >= 100 or size == 0 else 1 if size >= 10 else 2 if size >= 0.01 else None
    text = (f"{value:,.{digits}f}" if digits is not None else f"{value:.3g}") + suffix
    if unit == "$":
        return f"-${text[1:]}" if text.startswith("-") else f"${text}"
    return f"{text} {unit}".rstrip()


def shown_path(path: str | Path) -> str:
    """A path as the report shows it: a shipped scenario by name, else relative to the working
    folder, else the name alone (never an absolute path of this machine)."""
    p = Path(path).resolve()
    if p.parent == SCENARIO_DIR.resolve():
        return f"{p.stem} (shipped)"
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return p.name


def _describe(p: Parameter) -> str:
    if p.distribution == "choice":
        return f"values {list(p.values)}"
    if p.distribution == "normal":
        cut = f", cut to [{p.low:g}, {p.high:g}]" if p.low is not None else ""
        return f"normal(mean {p.mean:g}, sd {p.sd:g}){cut}"
    mode = f", mode {p.mode:g}" if p.mode is not None else ""
    return f"{p.distribution} [{p.low:g}, {p.high:g}]{mode} ({p.kind})"


def _header(spec: Spec, m: dict, out: Path) -> Section:
    status = m.get("status")
    warn = () if status == "complete" else (Note(text(
        f"The sweep is {status}: {m.get('runs_done')} of {m.get('runs_total')} runs. Carry on "
        "with ", code("abm sweep SPEC --out DIR --resume"), ".")),)
    rows = {"folder": shown_path(out),
            "scenario": shown_path(m["spec"]["sweep"].get("scenario")), "design": (
        f"{spec.design}, {m.get('design_points')} points x {spec.replications} replication(s)"
        + (" + baseline" if spec.baseline is not None else "")),
        "hours per run": spec.hours or "the scenario's", "master seed": spec.seed,
        "seeds": spec.seeds, "runs": f"{m.get('runs_done')} of {m.get('runs_total')}",
        "executor": m.get("executor"), "wall time": number(m.get("elapsed_s") or 0.0, "s"),
        "fixed settings": spec.fixed or "none", "baseline overrides": spec.baseline,
        "spec hash": m.get("spec_hash"), "updated (UTC)": m.get("updated_utc")}
    return Section("Settings", (*warn, Table.of(
        ["setting", "value"], [[k, str(v)] for k, v in rows.items()])))


def _parameters(spec: Spec) -> Section:
    return Section("Parameters", (Table.of(
        ["parameter", "sampled as"], [[n, _describe(p)] for n, p in
                                      zip(spec.names, spec.parameters, strict=True)]),))


def _outcomes(spec: Spec, results: pd.DataFrame, baseline: pd.DataFrame) -> Section:
    cols = list(spec.all_outcomes)
    stats = results[cols].describe(percentiles=[0.05, 0.5, 0.95]).T
    if not baseline.empty:
        stats["baseline"] = baseline[list(spec.outcomes)].mean().reindex(cols)
    rows = [[Cell(o), Cell(outcome_unit(o)),
             *[Cell(number(v, "count" if c == "count" else outcome_unit(o)), numeric=True)
               for c, v in stats.loc[o].items()]] for o in stats.index]
    return Section("Outcomes", (
        text("Units: MWh, $, kgCO2, shares (0-1, shown as %); ", code("saved.X"),
             " = 1 - X / X of the baseline with the same seed."),
        Table.of(["outcome", "unit", *map(str, stats.columns)], rows)))


def _sensitivity(spec: Spec, sens: list[Sensitivity]) -> Section:
    what = {"sobol": "Sobol indices (SALib, Saltelli/Jansen estimators): S1 first order, ST "
                     "total; 95% bootstrap half-widths.",
            "morris": "Morris elementary effects (SALib): mu* (mean |effect|, outcome units "
                      "per full range of the parameter), sigma (interactions, non-linearity); "
                      "95% bootstrap half-width of mu*.",
            "rbd-fast": "First-order indices S1 by RBD-FAST (SALib, bias-corrected): the share "
                        "of the outcome's variance explained by each parameter alone; 95% "
                        "bootstrap half-widths. A Latin hypercube gives no total indices: use "
                        "a Sobol design for those.",
            "anova": "Analysis of variance over the grid's levels (exact for the full "
                     "factorial): S1 first order, ST total (1 - the variance explained by all "
                     "the other parameters together)."}[sens[0].method]
    flagged = [f"{s.outcome}: {p} ({f})" for s in sens for p, f in s.table.flag.items() if f]
    blocks: list[Block] = [text(what)]
    if flagged:
        blocks.append(Note(text(
            f"Read with care (interval half-width above {WIDE_INTERVAL:g}, or a quarter of "
            "the largest mu*; an index above 1 or below 0 beyond its interval is estimator "
            "noise; more design points narrow them): " + "; ".join(flagged))))
    blocks.append(_figure("tornado", tornado_figure(sens)))
    for s in sens:
        unit = outcome_unit(s.outcome) if s.method == "morris" else ""
        shown = s.table.reset_index()
        rows = [[Cell(str(v)) if col in ("parameter", "flag") else Cell(
                    number(v, unit) if unit else ("–" if not np.isfinite(v) else f"{v:.3f}"),
                    numeric=True) for col, v in row.items()] for _, row in shown.iterrows()]
        blocks.append(text(bold(s.outcome), f" ({s.note})" if s.note else ""))
        blocks.append(Table.of(list(shown.columns), rows))
    return Section("Sensitivity", tuple(blocks))


def _target(target: Discovery) -> str:
    return (f"{target.outcome} {'>' if target.above else '<'} "
            f"{number(target.threshold, outcome_unit(target.outcome))}")


def _discovery(box: Box) -> Section:
    title = "Scenario discovery (PRIM)"
    if box.base_rate == 0:
        return Section(title, (Note(text(
            "No run meets the target ", code(_target(box.target)), "; choose another with ",
            code("abm sweep report DIR --target OUTCOME>X"), ".")),))
    rows = [[k, f"{number(v.low)} to {number(v.high)}" if isinstance(v, Range)
             else ", ".join(map(str, v))] for k, v in box.limits.items()]
    limits: Block = (Table.of(["parameter", "box"], rows) if rows else Note(text(
        "No box beats the whole space: the target does not concentrate in any parameter "
        "range.")))
    return Section(title, (
        text("Target: ", code(_target(box.target)), f" in {box.base_rate:.1%} of runs. Box: "
             f"coverage {box.coverage:.1%} of the target runs, density {box.density:.1%} "
             f"(target runs among the box's), mass {box.mass:.1%} of all runs."),
        limits, _figure("prim", prim_figure(box))))


def tornado_figure(sens: list[Sensitivity]) -> Figure:
    """One panel per outcome: parameters ranked by their index, with 95% intervals."""
    n = len(sens)
    cols = 2 if n > 1 else 1
    rows = -(-n // cols)
    height = max(1.0, 0.45 * len(sens[0].table)) + 1.2
    fig, axes = subplots(rows, cols, figsize=(11, height * rows), squeeze=False)
    for ax, s in zip(axes.flat, sens, strict=False):
        t = s.table.drop(columns="flag").fillna(0.0).sort_values(s.key)
        y = np.arange(len(t))
        if "ST" in t:
            ax.barh(y + 0.2, t.ST, 0.4, xerr=t.ST_conf, color="#08519c", label="ST", capsize=3)
            ax.barh(y - 0.2, t.S1, 0.4, xerr=t.S1_conf, color="#9ecae1", label="S1", capsize=3)
            ax.legend(fontsize=7, loc="lower right")
        else:
            ax.barh(y, t[s.key], 0.6, xerr=t[f"{s.key}_conf"], color="#08519c", capsize=3)
        ax.set_yticks(y, t.index, fontsize=8)
        ax.set_xlabel({"sobol": "Sobol index", "morris": f"mu* ({outcome_unit(s.outcome)})",
                       "rbd-fast": "first-order index (RBD-FAST)",
                       "anova": "variance share (grid ANOVA)"}[s.method], fontsize=8)
        ax.set_title(s.outcome + (" (no indices)" if s.note and s.table.isna().all().all()
                                  else ""), fontsize=9)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig


def _bin_labels(values: pd.Series, code: np.ndarray) -> list[str]:
    labels = []
    for c in range(code.max() + 1):
        v = values[code == c]
        if not pd.api.types.is_numeric_dtype(values):
            labels.append(str(v.iloc[0]))
        else:
            lo, hi = v.min(), v.max()
            labels.append(number(lo) if lo == hi else f"{number(lo)}–{number(hi)}")
    return labels


def heatmap_figure(points: pd.DataFrame, pair: tuple[str, str], outcome: str) -> Figure:
    """Mean outcome over binned values of two parameters (design points, replications averaged)."""
    a, b = pair
    unit = outcome_unit(outcome)
    ca, cb = codes(points[a], HEAT_BINS), codes(points[b], HEAT_BINS)
    grid = np.full((cb.max() + 1, ca.max() + 1), np.nan)
    frame = pd.DataFrame({"a": ca, "b": cb, "y": points[outcome].to_numpy(float)})
    for (i, j), v in frame.groupby(["a", "b"]).y.mean().items():
        grid[j, i] = v
    fig, ax = subplots(figsize=(8, 5.5))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    for (j, i), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(i, j, number(v, unit), ha="center", va="center", fontsize=7, color="white")
    ax.set_xticks(range(grid.shape[1]), _bin_labels(points[a], ca), fontsize=7, rotation=30)
    ax.set_yticks(range(grid.shape[0]), _bin_labels(points[b], cb), fontsize=7)
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    fig.colorbar(im, ax=ax, label=f"mean {outcome} ({unit})")
    return fig


def distribution_figure(spec: Spec, results: pd.DataFrame, baseline: pd.DataFrame
                        ) -> Figure:
    """A histogram per outcome over all runs, the baseline marked."""
    cols = list(spec.all_outcomes)
    ncols = min(3, len(cols))
    nrows = -(-len(cols) // ncols)
    fig, axes = subplots(nrows, ncols, figsize=(11, 2.8 * nrows), squeeze=False)
    for ax, col in zip(axes.flat, cols, strict=False):
        v = results[col].dropna()
        ax.hist(v, bins=min(30, max(5, len(v) // 3)), color="#6baed6")
        if col in baseline:
            for ref in baseline[col]:
                ax.axvline(ref, color="k", ls="--", lw=1)
        ax.set_title(col, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(cols):]:
        ax.set_visible(False)
    return fig


def series_figure(spec: Spec, results: pd.DataFrame) -> Figure:
    """Per kept series: median and 5-95% band over runs, hour by hour."""
    fig, axes = subplots(len(spec.series), 1, figsize=(11, 3 * len(spec.series)), squeeze=False)
    for ax, name in zip(axes.flat, spec.series, strict=True):
        mat = np.vstack(results[SERIES_PREFIX + name].to_numpy())
        hours = np.arange(mat.shape[1])
        lo, mid, hi = np.quantile(mat, [0.05, 0.5, 0.95], axis=0)
        ax.fill_between(hours, lo, hi, color="#9ecae1", label="5-95%")
        ax.plot(hours, mid, color="#08519c", label="median")
        ax.set_xlabel("hour of the run")
        ax.set_ylabel(name)
        ax.legend(fontsize=8)
    return fig


def prim_figure(box: Box) -> Figure:
    """PRIM's peeling trajectory: density against coverage, the chosen box marked."""
    t = box.trajectory
    fig, ax = subplots(figsize=(7, 4.2))
    sc = ax.scatter(t.coverage, t.density, c=t.restricted, cmap="viridis", s=25)
    ax.plot(t.coverage[box.chosen], t.density[box.chosen], "o", ms=14, mfc="none", mec="red",
            label="chosen box")
    ax.set_xlabel("coverage (share of target runs in the box)")
    ax.set_ylabel("density (share of the box's runs on target)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    fig.colorbar(sc, ax=ax, label="restricted parameters")
    return fig
