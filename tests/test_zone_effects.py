"""abm.report.zone_effects: two runs compared zone by zone (or by any column of zone-hours).
Hand-made tables whose every sum is known, a property that the groups always add up to the
runs' totals, and two short runs whose summaries (the market's own totals) the groups must
reproduce."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from abm.report.zone_effects import generation_change, system_emissions_by, technologies

COLUMNS = ["hour", "zone", "dc_load_mw", "avg_carbon_kg_per_mwh", "marginal_carbon_kg_per_mwh",
           "marginal_technology", "emissions_kg", "emissions_system_kg", "gen_coal_mw",
           "gen_gas_mw"]


# Two zones, three hours. Case: zone A runs 3 MWh in a coal hour and 1 MWh in a gas hour
# (and none in a second gas hour); B runs nothing, but B's coal burns 100 kg for A's load
# (through a line). Reference: gas on every margin; A runs 2 MWh, B 4 MWh, and 200 kg more
# than B's marginal attribution burns in B.
CASE = pd.DataFrame([
    (0, "A", 3.0, 100.0, 1000.0, "coal", 10_000.0, 3000.0, 10.0, 0.0),
    (1, "A", 1.0, 300.0, 400.0, "gas", 5_000.0, 400.0, 0.0, 12.0),
    (2, "A", 0.0, 300.0, 400.0, "gas", 4_000.0, 0.0, 0.0, 10.0),
    (0, "B", 0.0, 50.0, 500.0, "gas", 1_000.0, 100.0, 1.0, 2.0),
    (1, "B", 0.0, 50.0, 500.0, "gas", 1_000.0, 0.0, 0.0, 2.0),
    (2, "B", 0.0, 50.0, 500.0, "gas", 1_000.0, 0.0, 0.0, 2.0),
], columns=COLUMNS)
REFERENCE = CASE.assign(
    dc_load_mw=[0.0, 2.0, 0.0, 1.0, 3.0, 0.0], marginal_technology="gas",
    marginal_carbon_kg_per_mwh=[400.0, 400.0, 400.0, 500.0, 500.0, 500.0],
    emissions_kg=[7_000.0, 5_400.0, 4_000.0, 1_600.0, 2_600.0, 1_000.0],
    emissions_system_kg=[0.0, 800.0, 0.0, 600.0, 1600.0, 0.0],
    gen_coal_mw=[7.0, 0.0, 0.0, 0.0, 0.0, 0.0], gen_gas_mw=[0.0, 13.0, 10.0, 3.0, 5.0, 2.0])


def test_zones_hand_solved():
    """Intensities are weighted by the load hour by hour (A's average 600 kg / 4 MWh = 150,
    not the 233 of its hours' mean), the technology on the margin is the one under most MWh
    (coal: 3 of A's 4 MWh, though gas is on A's margin in two hours of three), a zone without
    load has none, and the zones' changes add up to the difference of the runs' system
    emissions: (3400 + 100) - (800 + 2200) = 500 kg."""
    by = system_emissions_by(CASE, REFERENCE)
    a, b = by.loc["A"], by.loc["B"]
    assert (a.dc_energy_mwh_case, a.dc_energy_mwh_reference) == (4.0, 2.0)
    assert (a.emissions_average_kg_case, a.emissions_marginal_kg_case) == (600.0, 3400.0)
    assert (a.marginal_technology_case, a.marginal_technology_share_case) == ("coal", 0.75)
    assert (a.marginal_technology_reference, a.marginal_technology_share_reference) == ("gas",
                                                                                        1.0)
    assert (b.dc_energy_mwh_case, b.marginal_technology_case) == (0.0, "")
    assert np.isnan(b.marginal_technology_share_case)
    assert (b.emissions_marginal_kg_reference, b.emissions_system_kg_reference) == (2000.0,
                                                                                     2200.0)
    assert (a.emissions_system_change_kg, b.emissions_system_change_kg) == (2600.0, -2100.0)
    assert by.emissions_system_change_kg.sum() == (CASE.emissions_system_kg.sum()
                                                   - REFERENCE.emissions_system_kg.sum()) == 500.0


def test_grouped_by_margin_a_group_one_run_lacks_is_empty_there():
    """By the technology on the margin: the reference runs nothing where coal is on the margin,
    so its coal group is zeros, no technology; the groups still add up to the 500 kg."""
    by = system_emissions_by(CASE, REFERENCE, by="marginal_technology")
    coal, gas = by.loc["coal"], by.loc["gas"]
    assert (coal.dc_energy_mwh_case, coal.dc_energy_mwh_reference) == (3.0, 0.0)
    assert (coal.emissions_system_kg_case, coal.emissions_system_kg_reference) == (3000.0, 0.0)
    assert (gas.dc_energy_mwh_case, gas.dc_energy_mwh_reference) == (1.0, 6.0)
    assert (gas.emissions_system_change_kg, coal.emissions_system_change_kg) == (-2500.0, 3000.0)
    assert coal.marginal_technology_reference == ""
    assert by.emissions_system_change_kg.sum() == 500.0


def test_generation_change_hand_solved():
    change = generation_change(CASE, REFERENCE)
    assert technologies(CASE) == ["coal", "gas"]
    assert list(change.columns) == ["coal", "gas", "emissions_kg"]
    assert change.loc["A"].tolist() == [3.0, -1.0, 2600.0]
    assert change.loc["B"].tolist() == [1.0, -4.0, -2200.0]


finite = st.floats(0.0, 1e4, allow_nan=False)


@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_the_groups_add_up_to_the_runs_totals(n_zones: int, n_hours: int, data):
    """For any two runs, grouped by zone or by the technology on the margin, every quantity
    summed over the groups is the run's total, and the changes the difference of the totals
    (to rounding: the sums are taken in another order)."""
    n = n_zones * n_hours

    def run() -> pd.DataFrame:
        return pd.DataFrame({
            "hour": np.repeat(np.arange(n_hours), n_zones),
            "zone": [f"Z{i}" for i in range(n_zones)] * n_hours,
            "dc_load_mw": data.draw(st.lists(finite, min_size=n, max_size=n)),
            "avg_carbon_kg_per_mwh": data.draw(st.lists(finite, min_size=n, max_size=n)),
            "marginal_carbon_kg_per_mwh": data.draw(st.lists(finite, min_size=n, max_size=n)),
            "marginal_technology": data.draw(st.lists(st.sampled_from(["coal", "gas", "hydro"]),
                                                      min_size=n, max_size=n)),
            "emissions_system_kg": data.draw(st.lists(st.floats(-1e7, 1e7), min_size=n,
                                                      max_size=n))})
    case, reference = run(), run()
    for by in ("zone", "marginal_technology"):
        out = system_emissions_by(case, reference, by=by)
        for name, z in (("case", case), ("reference", reference)):
            assert out[f"dc_energy_mwh_{name}"].sum() == pytest.approx(z.dc_load_mw.sum())
            assert out[f"emissions_marginal_kg_{name}"].sum() == pytest.approx(
                (z.dc_load_mw * z.marginal_carbon_kg_per_mwh).sum())
        total = case.emissions_system_kg.sum() - reference.emissions_system_kg.sum()
        assert out.emissions_system_change_kg.sum() == pytest.approx(total, abs=1e-6)


def test_the_groups_of_two_runs_add_up_to_their_summaries():
    """Two short runs of the default world, placing on average and on marginal carbon: the
    zones' sums are the market's own totals on the three bases (its summary)."""
    import abm

    runs = [abm.simulate(hours=2, population__operators=4, policy__placement_signal=signal,
                         policy__carbon_price_usd_per_t=100.0, operator_detail=False)
            for signal in ("average", "marginal")]
    by = system_emissions_by(runs[0].zones, runs[1].zones)
    for name, r in zip(("case", "reference"), runs, strict=True):
        for basis in ("average", "marginal", "system"):
            assert by[f"emissions_{basis}_kg_{name}"].sum() == pytest.approx(
                r.summary[f"emissions_{basis}_kg"], rel=1e-9)
        assert by[f"dc_energy_mwh_{name}"].sum() == pytest.approx(r.summary["grid_energy_mwh"],
                                                                  rel=1e-9)
    assert by.emissions_system_change_kg.sum() == pytest.approx(
        runs[0].summary["emissions_system_kg"] - runs[1].summary["emissions_system_kg"],
        rel=1e-9, abs=1e-6)
