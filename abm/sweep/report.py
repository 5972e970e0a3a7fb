"""``abm sweep report DIR``: the analysis of a sweep as one self-contained HTML page.

The page (``DIR/report.html``, figures embedded as PNG) holds the sweep's settings and
progress, outcome statistics, sensitivity indices with 95% intervals (table and tornado
chart), a heat map of the outcome over the two most influential parameters, outcome
distributions against the baseline, per-hour series bands, and the scenario-discovery box.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from abm.errors import InputError
from abm.sweep.analysis import Box, Sensitivity, by_point, codes, prim, sensitivity
from abm.sweep.results import MANIFEST, SERIES_PREFIX, consolidate, read_manifest
from abm.sweep.spec import Discovery, Parameter, Spec, parse_spec

REPORT = "report.html"
HEAT_BINS = 6
_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.9em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left}img{max-width:100%}
.note{color:#8a5a00}code{background:#f4f4f4;padding:0 3px}h2{border-bottom:1px solid #ddd}"""


def write_report(out: str | Path, target: Discovery | None = None,
                 pair: tuple[str, str] | None = None) -> Path:
    """Analyse the sweep in ``out`` and write ``out/report.html``; return its path.

    Args:
        out: the sweep folder (finished or not: the report covers the runs written so far).
        target: the scenario-discovery target (default: the sweep file's ``[discovery]``, else
            the top quarter of the first outcome).
        pair: the two parameters of the heat map (default: the two most influential).
    """
    out = Path(out)
    manifest = read_manifest(out)
    spec = parse_spec(manifest["spec"], str(out / MANIFEST), out, check_files=False)
    results, baseline = consolidate(out, spec)
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
    parts = [_header(spec, manifest), _parameters(spec), _outcomes(spec, results, baseline),
             _sensitivity(spec, sens)]
    if pair is not None:
        parts.append(f"<h2>Heat map: {html.escape(outcome)}</h2>"
                     + _img(heatmap_figure(by_point(spec, results), pair, outcome)))
    parts.append("<h2>Outcome distributions</h2><p>Over all runs; dashed: the baseline "
                 "run(s).</p>" + _img(distribution_figure(spec, results, baseline)))
    if spec.series:
        parts.append("<h2>Series</h2><p>Median and 5-95% band over runs, per hour.</p>"
                     + _img(series_figure(spec, results)))
    parts.append(_discovery(box))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Sweep "
            f"{html.escape(spec.name)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")
    path = out / REPORT
    path.write_text(page)
    return path


def _top_two(s: Sensitivity, spec: Spec) -> tuple[str, str] | None:
    if len(spec.names) < 2:
        return None
    order = s.table[s.key].fillna(-1.0).sort_values(ascending=False, kind="stable").index
    return order[0], order[1]


def _img(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return f"<img src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>"


def _table(df: pd.DataFrame, index: bool = False) -> str:
    return df.to_html(float_format=lambda v: f"{v:,.4g}", na_rep="–", border=0, index=index)


def _describe(p: Parameter) -> str:
    if p.distribution == "choice":
        return f"values {list(p.values)}"
    if p.distribution == "normal":
        cut = f", cut to [{p.low:g}, {p.high:g}]" if p.low is not None else ""
        return f"normal(mean {p.mean:g}, sd {p.sd:g}){cut}"
    mode = f", mode {p.mode:g}" if p.mode is not None else ""
    return f"{p.distribution} [{p.low:g}, {p.high:g}]{mode} ({p.kind})"


def _header(spec: Spec, m: dict) -> str:
    status = m.get("status")
    warn = ("" if status == "complete" else f"<p class='note'>The sweep is {status}: "
            f"{m.get('runs_done')} of {m.get('runs_total')} runs. Carry on with "
            "<code>abm sweep SPEC --out DIR --resume</code>.</p>")
    rows = {"scenario": m["spec"]["sweep"].get("scenario"), "design": (
        f"{spec.design}, {m.get('design_points')} points x {spec.replications} replication(s)"
        + (" + baseline" if spec.baseline is not None else "")),
        "hours per run": spec.hours or "the scenario's", "master seed": spec.seed,
        "seeds": spec.seeds, "runs": f"{m.get('runs_done')} of {m.get('runs_total')}",
        "executor": m.get("executor"), "wall time (s)": m.get("elapsed_s"),
        "fixed settings": spec.fixed or "none", "baseline overrides": spec.baseline,
        "spec hash": m.get("spec_hash"), "updated (UTC)": m.get("updated_utc")}
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows.items())
    desc = f"<p>{html.escape(spec.description)}</p>" if spec.description else ""
    return f"<h1>Sweep {html.escape(spec.name)}</h1>{desc}{warn}<table>{body}</table>"


def _parameters(spec: Spec) -> str:
    df = pd.DataFrame({"parameter": spec.names,
                       "sampled as": [_describe(p) for p in spec.parameters]})
    return "<h2>Parameters</h2>" + df.to_html(index=False, border=0)


def _outcomes(spec: Spec, results: pd.DataFrame, baseline: pd.DataFrame) -> str:
    cols = list(spec.all_outcomes)
    stats = results[cols].describe(percentiles=[0.05, 0.5, 0.95]).T
    if not baseline.empty:
        stats["baseline"] = baseline[list(spec.outcomes)].mean().reindex(cols)
    return ("<h2>Outcomes</h2><p>Units: MWh, $, kgCO2, shares (0-1); <code>saved.X</code> = 1 - "
            "X / X of the baseline with the same seed.</p>" + _table(stats, index=True))


def _sensitivity(spec: Spec, sens: list[Sensitivity]) -> str:
    what = {"sobol": "Sobol indices (SALib): S1 first order, ST total; 95% bootstrap "
                     "half-widths.",
            "morris": "Morris elementary effects (SALib): mu* (mean |effect|, outcome units "
                      "per full range of the parameter), sigma (interactions, non-linearity).",
            "first-order": "First-order index: share of the outcome's variance explained by "
                           "each parameter alone (correlation ratio, binned), 95% bootstrap "
                           "half-width."}[sens[0].method]
    parts = [f"<h2>Sensitivity</h2><p>{what}</p>", _img(tornado_figure(sens))]
    for s in sens:
        note = f" <span class='note'>({html.escape(s.note)})</span>" if s.note else ""
        parts.append(f"<h3>{html.escape(s.outcome)}{note}</h3>" + _table(s.table.reset_index()))
    return "".join(parts)


def _discovery(box: Box) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>"
                   + (f"{v[0]:,.4g} to {v[1]:,.4g}" if isinstance(v[0], float)
                      else html.escape(", ".join(map(str, v)))) + "</td></tr>"
                   for k, v in box.limits.items())
    if box.base_rate == 0:
        return (f"<h2>Scenario discovery (PRIM)</h2><p class='note'>No run meets the target "
                f"<code>{html.escape(box.target.describe())}</code>; choose another with "
                "<code>abm sweep report DIR --target OUTCOME&gt;X</code>.</p>")
    limits = (f"<table><tr><th>parameter</th><th>box</th></tr>{rows}</table>" if rows else
              "<p class='note'>No box beats the whole space: the target does not concentrate "
              "in any parameter range.</p>")
    return (f"<h2>Scenario discovery (PRIM)</h2><p>Target: <code>"
            f"{html.escape(box.target.describe())}</code> in {box.base_rate:.1%} of runs. "
            f"Box: coverage {box.coverage:.1%} of the target runs, density {box.density:.1%} "
            f"(target runs among the box's), mass {box.mass:.1%} of all runs.</p>{limits}"
            + _img(prim_figure(box)))


def tornado_figure(sens: list[Sensitivity]) -> plt.Figure:
    """One panel per outcome: parameters ranked by their index, with 95% intervals."""
    n = len(sens)
    cols = 2 if n > 1 else 1
    rows = -(-n // cols)
    height = max(1.0, 0.45 * len(sens[0].table)) + 1.2
    fig, axes = plt.subplots(rows, cols, figsize=(11, height * rows), squeeze=False,
                             constrained_layout=True)
    for ax, s in zip(axes.flat, sens, strict=False):
        t = s.table.fillna(0.0).sort_values(s.key)
        y = np.arange(len(t))
        if s.method == "sobol":
            ax.barh(y + 0.2, t.ST, 0.4, xerr=t.ST_conf, color="#08519c", label="ST", capsize=3)
            ax.barh(y - 0.2, t.S1, 0.4, xerr=t.S1_conf, color="#9ecae1", label="S1", capsize=3)
            ax.legend(fontsize=7, loc="lower right")
        else:
            ax.barh(y, t[s.key], 0.6, xerr=t[f"{s.key}_conf"], color="#08519c", capsize=3)
        ax.set_yticks(y, t.index, fontsize=8)
        ax.set_xlabel({"sobol": "Sobol index", "morris": "mu* (outcome units)",
                       "first-order": "first-order index"}[s.method], fontsize=8)
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
            labels.append(f"{lo:.3g}" if lo == hi else f"{lo:.3g}–{hi:.3g}")
    return labels


def heatmap_figure(points: pd.DataFrame, pair: tuple[str, str], outcome: str) -> plt.Figure:
    """Mean outcome over binned values of two parameters (design points, replications averaged)."""
    a, b = pair
    ca, cb = codes(points[a], HEAT_BINS), codes(points[b], HEAT_BINS)
    grid = np.full((cb.max() + 1, ca.max() + 1), np.nan)
    frame = pd.DataFrame({"a": ca, "b": cb, "y": points[outcome].to_numpy(float)})
    for (i, j), v in frame.groupby(["a", "b"]).y.mean().items():
        grid[j, i] = v
    fig, ax = plt.subplots(figsize=(8, 5.5), constrained_layout=True)
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    for (j, i), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(i, j, f"{v:.3g}", ha="center", va="center", fontsize=7, color="white")
    ax.set_xticks(range(grid.shape[1]), _bin_labels(points[a], ca), fontsize=7, rotation=30)
    ax.set_yticks(range(grid.shape[0]), _bin_labels(points[b], cb), fontsize=7)
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    fig.colorbar(im, ax=ax, label=f"mean {outcome}")
    return fig


def distribution_figure(spec: Spec, results: pd.DataFrame, baseline: pd.DataFrame
                        ) -> plt.Figure:
    """A histogram per outcome over all runs, the baseline marked."""
    cols = list(spec.all_outcomes)
    ncols = min(3, len(cols))
    nrows = -(-len(cols) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(11, 2.8 * nrows), squeeze=False,
                             constrained_layout=True)
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


def series_figure(spec: Spec, results: pd.DataFrame) -> plt.Figure:
    """Per kept series: median and 5-95% band over runs, hour by hour."""
    fig, axes = plt.subplots(len(spec.series), 1, figsize=(11, 3 * len(spec.series)),
                             squeeze=False, constrained_layout=True)
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


def prim_figure(box: Box) -> plt.Figure:
    """PRIM's peeling trajectory: density against coverage, the chosen box marked."""
    t = box.trajectory
    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
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
