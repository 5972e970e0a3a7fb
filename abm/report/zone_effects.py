"""What changed zone by zone between two runs of one world (the same zones and hours, from
their ``zones`` tables, ``Run.zones``): the data-centre load each zone carried, what it was
attributed on the average and marginal bases where and when it ran, the technology on the
zone's margin, the zone's generation by technology and the system emissions there. The zones
are the parts of the runs' totals: summed over them, each quantity is the run's own (the
summary's ``emissions_system_kg``, ``emissions_average_kg``, ...). docs/published.md explains
placement on average against marginal carbon with it, docs/flexibility.md deferral's zones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RUNS = ("case", "reference")
"""The two runs compared, as the suffixes of :func:`system_emissions_by`'s columns."""


def technologies(zones: pd.DataFrame) -> list[str]:
    """The technologies of a zones table, from its ``gen_<technology>_mw`` columns."""
    return [c[4:-3] for c in zones.columns if c.startswith("gen_") and c.endswith("_mw")]


def generation_change(case: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per zone (the index), what the run ``case`` generated and emitted over its hours less
    what ``reference`` did: a column per technology (MWh: the tables' hourly MW summed) and
    ``emissions_kg`` (the zone's emissions, kg CO2)."""
    cols = [*(f"gen_{t}_mw" for t in technologies(case)), "emissions_kg"]
    change = case.groupby("zone")[cols].sum() - reference.groupby("zone")[cols].sum()
    return change.rename(columns=lambda c: c[4:-3] if c.startswith("gen_") else c)


def _sums(zones: pd.DataFrame, by: str) -> pd.DataFrame:
    """One run's sums per group of zone-hours (the columns of :func:`system_emissions_by`,
    unsuffixed)."""
    load = zones.dc_load_mw
    z = zones.assign(emissions_average_kg=load * zones.avg_carbon_kg_per_mwh,
                     emissions_marginal_kg=load * zones.marginal_carbon_kg_per_mwh)
    out = z.groupby(by)[["dc_load_mw", "emissions_average_kg", "emissions_marginal_kg",
                         "emissions_system_kg"]].sum()
    out = out.rename(columns={"dc_load_mw": "dc_energy_mwh"})
    by_margin = z.groupby([by, "marginal_technology"]).dc_load_mw.sum().unstack(fill_value=0)
    by_margin = by_margin.reindex(out.index, fill_value=0.0)
    ran = (out.dc_energy_mwh > 0).to_numpy()
    out["marginal_technology"] = by_margin.idxmax(axis=1).where(ran, "")
    out["marginal_technology_share"] = np.divide(
        by_margin.max(axis=1).to_numpy(), out.dc_energy_mwh.to_numpy(),
        out=np.full(len(out), np.nan), where=ran)
    return out


def system_emissions_by(case: pd.DataFrame, reference: pd.DataFrame, by: str = "zone"
                        ) -> pd.DataFrame:
    """Per group of zone-hours (the index: the values of the column ``by``, default the zone),
    the data-centre load of two runs and what the group adds to the difference of their system
    emissions. For each run, suffixed ``_case`` and ``_reference``:

    - ``dc_energy_mwh``: the load's grid energy in the group (MWh);
    - ``emissions_average_kg``, ``emissions_marginal_kg``: that load attributed at its zone's
      average and marginal intensity hour by hour (kg; divided by ``dc_energy_mwh``, the
      intensities where and when the load ran, kg/MWh = g/kWh);
    - ``marginal_technology``, ``marginal_technology_share``: the technology on the zone's
      margin for the largest part of that energy, and that part (0-1; "" and NaN where none
      ran);
    - ``emissions_system_kg``: the change in the zones' emissions that the data-centre load
      causes (kg; counted where the fuel burns);

    and ``emissions_system_change_kg``, case less reference. The groups are the parts of the
    difference: summed over them, the change is the difference of the runs' system emissions.
    """
    parts = [_sums(zones, by).add_suffix(f"_{run}")
             for run, zones in zip(RUNS, (case, reference), strict=True)]
    out = pd.concat(parts, axis=1)
    # a group that one run has no zone-hours of (grouped by a column whose values differ
    # between the runs, such as the margin): nothing there
    sums = [c for c in out.columns if not c.startswith("marginal_technology")]
    out[sums] = out[sums].fillna(0.0)
    names = [f"marginal_technology_{run}" for run in RUNS]
    out[names] = out[names].fillna("")
    out["emissions_system_change_kg"] = (out.emissions_system_kg_case
                                         - out.emissions_system_kg_reference)
    return out
