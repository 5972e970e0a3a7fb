"""Sensitivity estimators of every design against hand-solved indices, a parameter with no
effect, flags on doubtful indices, and the report on a grid of numeric levels (formatted
numbers, no machine paths)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abm.report.sweep_report import number, write_report
from abm.sweeps import analysis
from abm.sweeps.analysis import BOUND_TOLERANCE, sensitivity
from abm.sweeps.design import runs
from abm.sweeps.runner import run_sweep
from abm.sweeps.spec import load_spec

PRICE, HOURS, DUMMY = ("policy.carbon_price_usd_per_t", "policy.holding_hours",
                       "policy.egress_scale")
SPEC = """
[sweep]
name = "dummy"
scenario = "default"
hours = 1
seed = 11
{design}

[parameters."policy.carbon_price_usd_per_t"]
{price}

[parameters."policy.holding_hours"]
{hours}

[parameters."policy.egress_scale"]
{dummy}

[outcomes]
scalars = ["cost_usd"]
"""
RANGES = dict(price="range = [0.0, 300.0]", hours="range = [1.0, 48.0]",
              dummy="range = [0.0, 2.0]")
LEVELS = dict(price="values = [0.0, 150.0, 300.0]", hours="values = [1.0, 24.5, 48.0]",
              dummy="values = [0.0, 1.0, 2.0]")


def spec_of(tmp_path, design: str, **params):
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent(SPEC.format(design=design, **(params or RANGES))))
    return load_spec(path)


def synthetic(spec, f) -> pd.DataFrame:
    """The results a sweep of ``y = f(price, hours)`` would write (the dummy has no effect)."""
    rows = [{"run_id": r.run_id, "sample": r.sample, "replication": r.replication,
             **r.values} for r in runs(spec)]
    df = pd.DataFrame(rows)
    return df.assign(cost_usd=f(df[PRICE].to_numpy(float), df[HOURS].to_numpy(float)))


def linear(price, hours):
    """y = u1 + 2 u2 on the unit coordinates: S1 = ST = (1/5, 4/5, 0) exactly."""
    return price / 300.0 + 2.0 * (hours - 1.0) / 47.0


def interacting(price, hours):
    return np.sin(2 * np.pi * price / 300.0) * 3.0 + (hours / 48.0) ** 2 * 5.0 \
        + 2.0 * price / 300.0 * hours / 48.0


@pytest.mark.parametrize(("design", "columns"), [
    ('design = "lhs"\nsamples = 512', ("S1",)),
    ('design = "sobol"\nsamples = 256', ("S1", "ST")),
    ('design = "grid"', ("S1", "ST")),
])
def test_indices_of_a_linear_outcome_and_a_dummy(tmp_path, design, columns):
    """Each design's estimator recovers S1 = (0.2, 0.8) and gives the dummy parameter (no
    effect on the outcome) indices below 0.05; the grid's analysis of variance is exact."""
    spec = spec_of(tmp_path, design, **(LEVELS if "grid" in design else RANGES))
    (s,) = sensitivity(spec, synthetic(spec, linear))
    exact = "grid" in design
    for col in columns:
        assert s.table.loc[DUMMY, col] == pytest.approx(0.0, abs=1e-12 if exact else 0.05)
        assert s.table.loc[PRICE, col] == pytest.approx(0.2, abs=1e-12 if exact else 0.05)
        assert s.table.loc[HOURS, col] == pytest.approx(0.8, abs=1e-12 if exact else 0.05)
    assert s.table.flag.loc[DUMMY] == ""


@pytest.mark.parametrize("design", ['design = "lhs"\nsamples = 512',
                                    'design = "sobol"\nsamples = 256',
                                    'design = "morris"\nsamples = 40'])
def test_a_dummy_parameter_gets_indices_near_zero(tmp_path, design):
    """A non-linear outcome with an interaction: the dummy's first-order and total indices
    (mu* for Morris, against the largest) stay below 0.05."""
    spec = spec_of(tmp_path, design)
    (s,) = sensitivity(spec, synthetic(spec, interacting))
    if s.method == "morris":
        assert s.table.mu_star[DUMMY] < 0.05 * s.table.mu_star.max()
    else:
        for col in ("S1", "ST"):
            if col in s.table:
                assert abs(s.table.loc[DUMMY, col]) < 0.05
        assert s.table.loc[PRICE, "S1"] > 0.2 and s.table.loc[HOURS, "S1"] > 0.2


def test_doubtful_indices_are_flagged(tmp_path):
    """With 24 Latin-hypercube points RBD-FAST's intervals are wide: every index is flagged;
    a Sobol estimate above 1 is flagged too."""
    spec = spec_of(tmp_path, 'design = "lhs"\nsamples = 24')
    (s,) = sensitivity(spec, synthetic(spec, interacting))
    assert s.table.flag.str.contains("S1 interval wide").all()
    spec = spec_of(tmp_path, 'design = "sobol"\nsamples = 4')
    (s,) = sensitivity(spec, synthetic(spec, lambda p, h: np.where(p > 150, 1e3, 0) * h))
    assert (s.table.flag != "").any()
    above = s.table[(s.table.S1 > 1) | (s.table.ST > 1)]
    assert above.flag.str.contains("> 1").all()


def test_rounding_beyond_the_bounds_is_not_flagged(tmp_path, monkeypatch):
    """y = 1 + 3.6 u1 on the grid: the price explains all of it, and the analysis of variance
    computes its S1 as 1 + 4e-16 (flagged "S1 > 1" with no tolerance). Within
    ``BOUND_TOLERANCE`` that is 1, reported as 1 and not flagged."""
    spec = spec_of(tmp_path, 'design = "grid"', **LEVELS)
    results = synthetic(spec, lambda p, h: 1.0 + 3.6 * p / 300.0)
    with monkeypatch.context() as m:
        m.setattr(analysis, "BOUND_TOLERANCE", 0.0)
        (raw,) = sensitivity(spec, results)
    assert 1.0 < raw.table.loc[PRICE, "S1"] < 1.0 + 1e-15
    assert raw.table.flag.loc[PRICE] == "S1 > 1"
    (s,) = sensitivity(spec, results)
    assert s.table.loc[PRICE, "S1"] == 1.0
    assert (s.table.flag == "").all()


def test_a_real_excess_is_flagged_and_rounding_is_not():
    """The flags' bounds: 1e-3 beyond 0 or 1 is flagged, a hundredth of ``BOUND_TOLERANCE``
    is not (a Sobol table, intervals narrow). docs/sweeps.md states the tolerance."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "sweeps.md"
    stated = f"{BOUND_TOLERANCE:.0e}".replace("e-0", "e-")  # 1e-9
    assert f"within {stated} (a share" in " ".join(docs.read_text().split())
    rounding, real = BOUND_TOLERANCE / 100, 1e-3
    table = pd.DataFrame({"S1": [1 + rounding, 1 + real], "S1_conf": [0.01, 0.01],
                          "ST": [-rounding, -real], "ST_conf": [0.0, 0.0]},
                         index=pd.Index(["a", "b"], name="parameter"))
    flags = analysis._flagged(table, "sobol").flag
    assert flags.tolist() == ["", "S1 > 1; ST < 0"]


def test_number_formatting():
    assert number(7.473e6, "$") == "$7.47 M"
    assert number(31300.2, "kg") == "31.3 k kg"
    assert number(-4567.0, "$") == "-$4,567"
    assert number(0.1234, "share") == "12.3%"
    assert number(30.63, "MWh") == "30.6 MWh"
    assert number(float("nan"), "$") == "–"


def test_report_of_a_grid_with_numeric_levels(tmp_path):
    """The grid sweep's report (which crashed with IndexError) names the folder relatively,
    shows no path of this machine and no exponent figures."""
    spec = spec_of(tmp_path, 'design = "grid"', price="values = [0.0, 100.0, 300.0]",
                   hours="values = [12.0, 48.0]", dummy="values = [1.0]")
    out = tmp_path / "grid-sweep"
    run_sweep(spec, out)
    page = write_report(out).read_text()
    text = re.sub(r"<img[^>]*>", "", page)
    assert str(tmp_path) not in text and "/work/" not in text and "/tmp/" not in text
    assert "grid-sweep" in text and "default (shipped)" in text
    assert not re.search(r"\d[eE][+-]\d", re.sub(r"<[^>]+>", " ", text)), "raw exponents"
    assert "Analysis of variance" in text and "Scenario discovery" in text
