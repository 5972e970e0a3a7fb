"""Sweep files (TOML): which scenario settings vary, how they are sampled, what is kept.

The format is documented in ``docs/sweeps.md``. A parameter is a scenario setting by its dotted path
(the ``overrides`` of ``abm.config.scenario.load_scenario``); it takes a list of ``values`` or a
``range`` with a distribution. Every error names the sweep file, the field and what is allowed, and
every parameter is checked against the scenario at its extreme values before anything runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scipy import stats

from abm.config.limits import MAX_HOURS, MAX_RUNS, MAX_SEED
from abm.config.plausibility import check_plausible
from abm.config.resolve import find_scenario
from abm.config.scenario import (
    TableReader,
    parse_scenario,
    read_toml,
    resolve_file,
    set_path,
    shipped_scenarios,
)
from abm.errors import InputError, cut, quoted
from abm.market.events import TOTALS as EVENT_TOTALS
from abm.market.reporters import DEFERRAL_VALUES, EVENT_VALUES, STEP_VALUES

DESIGNS = ("grid", "lhs", "sobol", "morris")
DISTRIBUTIONS = ("uniform", "loguniform", "triangular", "normal")
SEED_MODES = ("common", "independent")
# Scalars of the summary of a run with deferrable work or demand-response events; a run
# without them has none of the work or events they count: 0
OPTIONAL_OUTCOMES = ("work_arrived_mwh", "work_run_mwh", "missed_mwh", "backlog_end_mwh",
                     "event_called", *(f"event_{k}" for k in EVENT_TOTALS))
OPTIONAL_SERIES = (*DEFERRAL_VALUES, *EVENT_VALUES)  # ... and its model table's columns
# Scalars of the run summary (abm.market.run.summary), by name.
SCALAR_OUTCOMES = (
    "demand_mwh", "served_mwh", "unserved_mwh", "moved_mwh", "herding_mwh", "cost_usd",
    "cost_usd_per_mwh", "grid_energy_mwh", "dc_price_usd_per_mwh", "emissions_average_kg",
    "emissions_marginal_kg", "emissions_system_kg", "relocation_effect_kg", "relocated_share",
    "layer_local_share", "layer_regional_share", "layer_energy_share", "operators",
    *OPTIONAL_OUTCOMES,
)
SERIES_OUTCOMES = (*STEP_VALUES, *OPTIONAL_SERIES)  # columns of the per-hour model table
# The summary's nested names before it named each quantity as the model table does
# (output format 3, docs/market.md): a sweep file that still uses one is told the new name.
RENAMED = {**{f"emissions_kg.{b}": f"emissions_{b}_kg" for b in ("average", "marginal", "system")},
           **{f"layers.{k}": f"layer_{k}_share" for k in ("local", "regional", "energy")},
           **{f"deferral.{k}": k for k in OPTIONAL_OUTCOMES[:4]},
           **{f"events.{k.removeprefix('event_')}": k for k in OPTIONAL_OUTCOMES[4:]}}
SAVED_PREFIX = "saved."


def renamed(names: tuple[str, ...] | list[str] | str) -> str:
    """A note naming the new name of each old outcome name in ``names`` (``saved.`` kept), or
    ``""`` when none is old."""
    found = [names] if isinstance(names, str) else list(names)
    pairs = [(n, n[:len(n) - len(n.removeprefix(SAVED_PREFIX))] + RENAMED[bare])
             for n in found if (bare := n.removeprefix(SAVED_PREFIX)) in RENAMED]
    return "; ".join(f"{quoted(old)} is now {quoted(new)}" for old, new in pairs)


def outcome_unit(outcome: str) -> str:
    """The unit of a scalar outcome: ``MWh``, ``$/MWh``, ``$``, ``kg``, ``share`` (0-1) or
    ``count``;
    ``saved.X`` (1 - X / X of the baseline) is a share."""
    if outcome.startswith(SAVED_PREFIX) or outcome.endswith("_share"):
        return "share"
    for tag, unit in (("_usd_per_mwh", "$/MWh"), ("_mwh", "MWh"), ("_usd", "$"), ("_kg", "kg")):
        if tag in outcome:
            return unit
    return "count"
# A normal distribution without a range is cut at these quantiles (Morris designs sample 0 and 1).
_NORMAL_TAIL = 1e-3
_RESERVED = ("scenario.seed",)


@dataclass(frozen=True)
class Parameter:
    """One varied scenario setting.

    Attributes:
        path: dotted path of the setting in the scenario, e.g. ``policy.carbon_price_usd_per_t``.
        kind: ``float``, ``int`` or ``choice`` (a list of values of any TOML type).
        distribution: ``uniform``, ``loguniform``, ``triangular``, ``normal`` or ``choice``.
        low, high: the range in the setting's own unit (``None`` for a normal without range).
        mode: the peak of a triangular distribution.
        mean, sd: of a normal distribution.
        values: the choices (``choice``), or the grid levels of a range (``levels``).
        also: more settings, by dotted path, that take the same value in every run (one axis
            that sets several settings, e.g. a share on every workload template).
    """

    path: str
    kind: str
    distribution: str
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    values: tuple[Any, ...] = ()
    also: tuple[str, ...] = ()

    def value(self, u: float) -> Any:
        """The setting's value at unit coordinate ``u`` in [0, 1] (an int for integer settings)."""
        if self.distribution == "choice":
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        low, high = self.low, self.high
        if self.distribution == "normal":
            assert self.mean is not None and self.sd is not None  # required by the file
            if low is None or high is None:
                u = min(max(u, _NORMAL_TAIL), 1 - _NORMAL_TAIL)
                return float(stats.norm.ppf(u, self.mean, self.sd))
            a, b = (low - self.mean) / self.sd, (high - self.mean) / self.sd
            return float(stats.truncnorm.ppf(u, a, b, self.mean, self.sd))
        assert low is not None and high is not None  # every other distribution has a range
        if self.kind == "int":  # uniform (the only distribution of an integer range)
            lo, hi = int(low), int(high)
            return min(lo + math.floor(u * (hi - lo + 1)), hi)
        if self.distribution == "uniform":
            return low + u * (high - low)
        if self.distribution == "loguniform":
            return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        assert self.distribution == "triangular" and self.mode is not None
        width = high - low
        return float(stats.triang.ppf(u, (self.mode - low) / width, low, width))

    @property
    def numeric(self) -> bool:
        """Whether values are numbers (ranges, or choices that are all numbers)."""
        return self.distribution != "choice" or all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)


@dataclass(frozen=True)
class Discovery:
    """The scenario-discovery target: runs where ``outcome`` is above (or below) ``threshold``."""

    outcome: str
    threshold: float
    above: bool = True

    def describe(self) -> str:
        """The target as text, e.g. ``saved.emissions_system_kg > 0.2``."""
        return f"{self.outcome} {'>' if self.above else '<'} {self.threshold:g}"


@dataclass(frozen=True)
class Spec:
    """A validated sweep file.

    Attributes:
        name, description: what the sweep is.
        source: the sweep file (named in errors).
        scenario: the scenario file (absolute path).
        hours: hourly steps of every run (``None``: the scenario's own).
        seed: the master seed every run's seed derives from.
        replications: runs per design point, each with its own derived seed.
        seeds: ``common`` (replication r uses the same seed at every design point: common
            random numbers) or ``independent`` (every run its own seed).
        design: ``grid``, ``lhs``, ``sobol`` or ``morris``.
        samples: LHS points, Sobol base samples (N) or Morris trajectories.
        second_order: Sobol second-order indices (N (2D + 2) runs instead of N (D + 2)).
        levels: Morris grid levels.
        parameters: the varied settings, in file order.
        fixed: settings applied to every run (dotted path -> value).
        outcomes: summary scalars kept, by dotted path.
        series: per-hour model columns kept whole (a list per run).
        saved: outcomes whose saving against the baseline is derived
            (``saved.X = 1 - X / X_baseline``).
        baseline: settings of the baseline run (one per replication, on top of ``fixed``);
            ``None`` without a ``[baseline]`` table.
        discovery: the scenario-discovery target, if the file sets one.
    """

    name: str
    source: str
    scenario: str
    seed: int
    design: str
    parameters: tuple[Parameter, ...]
    outcomes: tuple[str, ...]
    description: str = ""
    hours: int | None = None
    replications: int = 1
    seeds: str = "common"
    samples: int | None = None
    second_order: bool = False
    levels: int = 4
    fixed: dict[str, Any] = field(default_factory=dict)
    series: tuple[str, ...] = ()
    saved: tuple[str, ...] = ()
    baseline: dict[str, Any] | None = None
    discovery: Discovery | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The parameters' dotted paths."""
        return tuple(p.path for p in self.parameters)

    def settings(self, values: dict[str, Any]) -> dict[str, Any]:
        """A design point's settings by dotted path: each parameter's value at its own path and
        at every path it sets ``also``."""
        return {path: values[p.path] for p in self.parameters if p.path in values
                for path in (p.path, *p.also)}

    @property
    def all_outcomes(self) -> tuple[str, ...]:
        """Scalar outcome columns of the results: kept outcomes, then derived savings."""
        return self.outcomes + tuple(SAVED_PREFIX + o for o in self.saved)

    def canonical(self) -> dict[str, Any]:
        """The sweep as a TOML-shaped table with the scenario's absolute path (readable back)."""
        return {**self.raw, "sweep": {**self.raw["sweep"], "scenario": self.scenario}}

    def digest(self) -> str:
        """Hash of what the runs compute: the sweep as written and the resolved scenario table
        (their content, not where they are: a moved or cloned repository has the same one)."""
        scenario = resolve_file(Path(self.scenario))
        text = json.dumps({"sweep": self.raw, "scenario": scenario}, sort_keys=True,
                          default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_spec(path: str | Path) -> Spec:
    """Read and validate a sweep file; check every parameter against the scenario.

    Args:
        path: the TOML sweep file; its ``scenario`` is relative to it, or a shipped name.
    """
    path = Path(path)
    spec = parse_spec(read_toml(path), str(path), path.parent)
    check_against_scenario(spec)
    return spec


def parse_spec(data: dict[str, Any], source: str, base: Path, *, check_files: bool = True
               ) -> Spec:
    """Validate a sweep table (``source`` names it in errors; ``base`` anchors the scenario).

    Args:
        data: the parsed TOML.
        source: the file named in errors.
        base: the folder a relative scenario path is read from.
        check_files: require the scenario file to exist (not needed to analyse results).
    """
    top = TableReader(data, source, "")
    head = top.table("sweep")
    name = head.string("name")
    description = head.string("description", "") if head.has("description") else ""
    scenario = _scenario_path(head, base, check_files)
    hours = head.integer("hours", minimum=1, maximum=MAX_HOURS) if head.has("hours") else None
    seed = head.integer("seed", maximum=MAX_SEED)
    replications = head.integer("replications", 1, minimum=1, maximum=MAX_RUNS)
    seeds = head.string("seeds", "common", choices=SEED_MODES)
    design = head.string("design", choices=DESIGNS)
    samples = (head.integer("samples", minimum=1, maximum=MAX_RUNS) if head.has("samples")
               else None)
    if design == "grid" and samples is not None:
        raise head.error("samples", "a grid design takes no samples: its size is the product "
                         "of the parameters' levels")
    if design != "grid" and samples is None:
        raise head.error("samples", f"is required for the {design} design (points, base "
                         "samples or trajectories; see docs/sweeps.md)")
    if design == "sobol" and samples is not None and samples & (samples - 1):
        raise head.error("samples", f"Sobol base samples must be a power of 2, got {samples}")
    second_order = head.boolean("second_order", False)
    levels = head.integer("levels", 4, minimum=2, maximum=MAX_RUNS)
    if second_order and design != "sobol":
        raise head.error("second_order", "applies to the sobol design only")
    head.done()

    params = _parameters(top.table("parameters"), design)
    dims = len(params)
    points = (math.prod(len(p.values) for p in params) if samples is None else  # grid
              samples * {"lhs": 1, "sobol": 2 * dims + 2 if second_order else dims + 2,
                         "morris": dims + 1}[design])
    if points * replications > MAX_RUNS:
        raise head.error("design", f"{points:,} design points x {replications} replication(s) "
                         f"is {points * replications:,} runs; at most {MAX_RUNS:,}")
    fixed = _overrides(top.table("fixed", {}))
    outcomes_t = top.table("outcomes")
    for key in ("scalars", "saved"):
        given = outcomes_t.raw(key, [])
        old = renamed([n for n in given if isinstance(n, str)] if isinstance(given, list) else [])
        if old:
            raise outcomes_t.error(key, f"{old} (one name per quantity: docs/sweeps.md)")
    outcomes = outcomes_t.strings("scalars", choices=SCALAR_OUTCOMES)
    if not outcomes:
        raise outcomes_t.error("scalars", f"keep at least one of {', '.join(SCALAR_OUTCOMES)}")
    series = outcomes_t.strings("series", [], choices=SERIES_OUTCOMES)
    saved = outcomes_t.strings("saved", [], choices=outcomes)
    outcomes_t.done()
    baseline = None
    if top.has("baseline"):
        base_t = top.table("baseline")
        baseline = _overrides(base_t.table("overrides", {}))
        base_t.done()
    discovery = (_discovery(top.table("discovery"), outcomes + tuple(SAVED_PREFIX + s
                                                                      for s in saved))
                 if top.has("discovery") else None)
    top.done()
    if saved and baseline is None:
        raise top.error("outcomes.saved", "a saving needs a [baseline] table (its overrides "
                        "may be empty: the scenario itself)")
    for key in fixed:
        if key in {p.path for p in params} | {a for p in params for a in p.also}:
            raise InputError(source, f'fixed."{key}"', "is also a parameter: set it in one place")
    return Spec(name=name, description=description, source=source, scenario=scenario,
                hours=hours, seed=seed, replications=replications, seeds=seeds, design=design,
                samples=samples, second_order=second_order, levels=levels, parameters=params,
                fixed=fixed, outcomes=outcomes, series=series, saved=saved, baseline=baseline,
                discovery=discovery, raw=data)


def check_against_scenario(spec: Spec) -> None:
    """Validate the scenario with ``fixed`` and every parameter at its extremes and choices,
    plausibility included (``abm.config.plausibility``: an atypical value warns here, once,
    before anything runs; the runs themselves do not check again).

    Raises:
        InputError: naming the sweep file and the parameter whose value the scenario rejects.
    """
    base = resolve_file(Path(spec.scenario))
    checks: list[tuple[str, str, dict[str, Any]]] = [("fixed", "these settings", spec.fixed)]
    if spec.baseline is not None:
        checks.append(("baseline.overrides", "these settings", {**spec.fixed, **spec.baseline}))
    for p in spec.parameters:
        points = p.values if p.distribution == "choice" else (p.value(0.0), p.value(1.0))
        checks.extend((f'parameters."{p.path}"', f"{p.path} = {v!r}",
                       {**spec.fixed, **spec.settings({p.path: v})}) for v in points)
    for where, what, overrides in checks:
        data = copy.deepcopy(base)
        try:
            for dotted, value in overrides.items():
                set_path(data, dotted, value, spec.scenario)
            check_plausible(parse_scenario(data, spec.scenario))
        except InputError as exc:
            raise InputError(spec.source, where, f"the scenario rejects {what}: {exc}") from None


def _scenario_path(head: TableReader, base: Path, check: bool) -> str:
    text = head.string("scenario", "default")
    if "\x00" in text:
        raise head.error("scenario", "the path holds a NUL character; name a scenario file")
    found = find_scenario(text, base)
    if found is not None:
        return str(found)
    candidate = base / text
    if check:
        shipped = ", ".join(shipped_scenarios())
        raise head.error("scenario", f"no scenario {quoted(text)} (no file "
                         f"{cut(str(candidate), 200)}); give a path relative to the sweep file "
                         f"or a shipped name ({shipped})")
    try:
        return str(candidate.resolve())
    except OSError as exc:  # a name the system cannot look up (too long, say)
        raise head.error("scenario", f"cannot be read: {exc.strerror}") from None


def _overrides(t: TableReader) -> dict[str, Any]:
    out = {}
    for key in list(t.data):
        value = t.raw(key)
        if isinstance(value, dict):
            raise t.error(key, f'expected a value; quote the dotted path: "{key}.…" = value')
        if key in _RESERVED:
            raise t.error(key, "run seeds derive from [sweep] seed; it cannot be set here")
        out[key] = value
    return out


def _discovery(t: TableReader, outcomes: tuple[str, ...]) -> Discovery:
    old = t.raw("outcome", "")
    if isinstance(old, str) and renamed(old):
        raise t.error("outcome", f"{renamed(old)} (one name per quantity: docs/sweeps.md)")
    outcome = t.string("outcome", choices=outcomes)
    has_above, has_below = t.has("above"), t.has("below")
    if has_above == has_below:
        raise t.error("above", "give exactly one of above = X or below = X")
    key = "above" if has_above else "below"
    threshold = t.number(key, minimum=None)
    t.done()
    return Discovery(outcome, threshold, above=has_above)


_PARAM_KEYS = ("values", "range", "distribution", "type", "levels", "mode", "mean", "sd",
               "also")


def _parameters(t: TableReader, design: str) -> tuple[Parameter, ...]:
    if not t.data:
        raise t.error("", "vary at least one setting: [parameters.\"policy.x\"] range = [a, b]")
    params = []
    for key in list(t.data):
        if key in _RESERVED:
            raise t.error(key, "run seeds derive from [sweep] seed and replications")
        sub = t.raw(key)
        if isinstance(sub, dict) and sub and not set(sub) & set(_PARAM_KEYS):
            raise t.error(key, f'expected a parameter table; quote the dotted path: '
                          f'[parameters."{key}.…"]')
        params.append(_parameter(TableReader(sub, t.source, f'parameters."{key}"'), key, design))
    seen = {p.path: p.path for p in params}
    for p in params:
        where = f'parameters."{p.path}".also'
        for path in p.also:
            if path in _RESERVED:
                raise InputError(t.source, where, f"{path}: run seeds derive from [sweep] seed")
            if path in seen:
                raise InputError(t.source, where, f"{path} is already set by the parameter "
                                 f"{seen[path]}: set each setting in one place")
            seen[path] = p.path
    return tuple(params)


def _parameter(t: TableReader, path: str, design: str) -> Parameter:
    also = t.strings("also", [])  # read first: the axis's own keys end with t.done()
    return replace(_axis(t, path, design), also=also)


def _axis(t: TableReader, path: str, design: str) -> Parameter:
    has_values, has_range = t.has("values"), t.has("range")
    normal = t.data.get("distribution") == "normal"
    if (has_values and (has_range or t.has("distribution"))) or not (
            has_values or has_range or normal):
        raise t.error("values", "give values = [...], or range = [low, high] with an optional "
                      "distribution, or distribution = \"normal\" with mean and sd")
    if has_values:
        values = t.raw("values")
        if not isinstance(values, list) or not values:
            raise t.error("values", f"expected a non-empty list, got {quoted(values)}")
        if len({json.dumps(v, default=str) for v in values}) != len(values):
            raise t.error("values", f"has duplicates: {values}")
        kinds = {type(v) for v in values}
        kind = "int" if kinds == {int} else "float" if kinds <= {int, float} else "choice"
        values = [float(v) for v in values] if kind == "float" else values
        t.done()
        return Parameter(path, kind, "choice", values=tuple(values))

    kind = t.string("type", "float", choices=("float", "int"))
    dist = t.string("distribution", "uniform", choices=DISTRIBUTIONS)
    low = high = None
    if t.has("range"):
        rng = t.raw("range")
        if (not isinstance(rng, list) or len(rng) != 2 or any(
                isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
                for v in rng)):
            raise t.error("range", "expected [low, high] with two finite numbers, got "
                          f"{quoted(rng)}")
        low, high = float(rng[0]), float(rng[1])
        if low >= high:
            raise t.error("range", f"expected low < high, got {rng}")
        if kind == "float" and all(isinstance(v, int) for v in rng) and not t.has("type"):
            kind = "int"  # integers in the file: an integer setting (overrides keep the type)
    if kind == "int" and dist != "uniform":
        raise t.error("distribution", "an integer setting takes a uniform range or values")
    mode = mean = sd = None
    if dist != "normal":
        assert low is not None and high is not None  # checked above: only a normal may go without
        if kind == "int" and (low != int(low) or high != int(high)):
            raise t.error("range", f"an integer setting needs integer bounds, got {[low, high]}")
        if dist == "loguniform" and low <= 0:
            raise t.error("range", f"a loguniform range must be > 0, got {[low, high]}")
        if dist == "triangular":
            mode = t.number("mode", minimum=low, maximum=high)
    if dist == "normal":
        mean = t.number("mean", minimum=None)
        sd = t.number("sd", strict=True)
    levels = t.integer("levels", minimum=2, maximum=MAX_RUNS) if t.has("levels") else None
    t.done()
    p = Parameter(path, kind, dist, low, high, mode, mean, sd)
    if design != "grid":
        if levels is not None:
            raise t.error("levels", "applies to grid designs only (other designs sample ranges)")
        return p
    if low is None or high is None:  # a normal without range
        raise t.error("range", "a grid design needs values or a range with levels")
    if kind == "int":
        grid = list(range(int(low), int(high) + 1))
        if levels is not None:
            grid = sorted({round(low + i * (high - low) / (levels - 1)) for i in range(levels)})
        return Parameter(path, kind, "choice", values=tuple(int(v) for v in grid))
    if levels is None:
        raise t.error("levels", "a range in a grid design needs levels (or give values)")
    return Parameter(path, kind, "choice",
                     values=tuple(low + i * (high - low) / (levels - 1) for i in range(levels)))
