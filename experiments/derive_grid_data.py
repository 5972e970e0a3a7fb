"""Derive the shipped grid-market tables ``abm/data/grid/*.csv`` (issue 13).

Reads the researched draft in ``../shared/data/grid/`` (installed capacity by zone and technology,
``zone_mix.csv``) and combines it with the figures researched for the shipped tables, each with its
source below (2024 fuel and carbon prices, heat-rate tranches, interconnector ratings, the
CCGT/OCGT split, the month x hour background-demand shape). Every figure that is not a sourced
value is written with ``assumed = true`` and a source text starting with ``ASSUMPTION:``.
The column layout is documented in ``abm/data/SOURCES.md`` ("Grid market data").

Energy basis: higher heating value (HHV), as US heat rates, Henry Hub and TTF (GCV) prices are
quoted. Efficiency = 3412.14 Btu/kWh / heat rate; a tranche's emission factor (kg/MWh_el) =
fuel CO2 (kg/MWh_th) / efficiency.

Usage (from the repository root)::

    python experiments/derive_grid_data.py            # writes abm/data/grid/*.csv
    python experiments/derive_grid_data.py --check    # exits 1 if the shipped files differ
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from derive_profiles import UTC_OFFSET  # standard-time offsets: one table for both scripts

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "grid"
OUT = ROOT / "abm" / "data" / "grid"

BTU_PER_KWH = 3412.14            # 1 kWh = 3,412.14 Btu
MMBTU_PER_MWH = 3.41214
EUR_USD = 1.082                  # project-wide 2024 average (assumption, abm/data/SOURCES.md)
GBP_USD = 1.278                  # ASSUMPTION: approximate 2024 average rate
KRW_PER_USD = 1364.0             # ASSUMPTION: approximate 2024 average rate
SGD_USD = 0.744                  # as in ../shared/data/grid/fuel_prices_2024.csv (assumption)
JPY_USD = 0.00665                # as in abm/data/zones.csv (JEPX conversion)
COAL_MWH_PER_T = 6.98            # 6,000 kcal/kg = 25.1 GJ/t (World Bank / API2 basis)
OIL_MWH_PER_BBL = 5.8 / MMBTU_PER_MWH

TECHNOLOGIES = ("nuclear", "hydro", "wind", "solar", "bioenergy", "other", "coal", "lignite",
                "gas_ccgt", "gas_ocgt", "oil", "other_thermal")
FUEL_OF = {"nuclear": "uranium", "hydro": "water", "wind": "wind", "solar": "sun",
           "bioenergy": "biomass", "other": "geothermal", "coal": "hard_coal",
           "lignite": "lignite", "gas_ccgt": "natural_gas", "gas_ocgt": "natural_gas",
           "oil": "oil", "other_thermal": "unknown_thermal"}
KIND_OF = {"nuclear": "must_run", "hydro": "hydro", "wind": "variable", "solar": "variable",
           "other": "renewable"}
PRICED_FUELS = ("hard_coal", "lignite", "natural_gas", "oil", "biomass", "uranium",
                "unknown_thermal")

PYPSA_TD = "PyPSA technology-data outputs/costs_2025.csv (EUR->USD 1.082)"

# --- technologies.csv: variable O&M (USD/MWh_el) --------------------------------------------
VOM = {
    "nuclear": (4.8, f"{PYPSA_TD} 'nuclear' 4.459 EUR/MWh (Lazard LCOE+ v16)", False),
    "hydro": (0.0, f"{PYPSA_TD} 'hydro'/'ror': no VOM listed", False),
    "wind": (2.1, f"{PYPSA_TD} 'onwind' 1.9035 EUR/MWh (Danish Energy Agency)", False),
    "solar": (0.01, f"{PYPSA_TD} 'solar' 0.0134 EUR/MWh (placeholder ordering curtailment)",
              False),
    "bioenergy": (3.0, f"{PYPSA_TD} 'biomass CHP' 2.81 EUR/MWh (DEA)", False),
    "other": (0.0, "ASSUMPTION: geothermal/other renewables offer at zero variable cost "
              "(no VOM in the offline sources)", True),
    "coal": (4.4, f"{PYPSA_TD} 'coal' 4.1005 EUR/MWh (Lazard v16)", False),
    "lignite": (4.4, f"ASSUMPTION: as hard coal, {PYPSA_TD} 'coal' (no lignite VOM listed)",
                True),
    "gas_ccgt": (6.2, f"{PYPSA_TD} 'CCGT' 5.744 EUR/MWh (Danish Energy Agency)", False),
    "gas_ocgt": (6.5, f"{PYPSA_TD} 'OCGT' 6.0111 EUR/MWh (Danish Energy Agency)", False),
    "oil": (8.7, f"{PYPSA_TD} 'oil' 8.0148 EUR/MWh (DEA diesel engine farm)", False),
    "other_thermal": (6.5, "ASSUMPTION: unknown thermal offers with the OCGT VOM "
                      f"({PYPSA_TD} 'OCGT')", True),
}

# --- fuels.csv: direct CO2 per MWh of fuel heat (HHV) ----------------------------------------
EPA = "US EPA 40 CFR Part 98 Subpart C Table C-1 (default CO2 emission factors, HHV basis)"
FUEL_CO2 = {  # kg CO2 per MMBtu (HHV)
    "uranium": (0.0, "IPCC 2014 AR5 WG3 Annex III Table A.III.2: direct emissions 0", False),
    "water": (0.0, "IPCC 2014 AR5 WG3 Annex III: direct emissions 0", False),
    "wind": (0.0, "IPCC 2014 AR5 WG3 Annex III: direct emissions 0", False),
    "sun": (0.0, "IPCC 2014 AR5 WG3 Annex III: direct emissions 0", False),
    "geothermal": (0.0, "Electricity Maps config/defaults.yaml direct 'geothermal' = 0 "
                   "(IPCC 2014)", False),
    "biomass": (0.0, "biogenic CO2 counted as 0, the convention of the shipped direct "
                "average-carbon data (Electricity Maps defaults.yaml direct 'biomass' = 0, "
                "BEIS 2021)", False),
    "hard_coal": (93.28, f"{EPA}: bituminous coal 93.28 kg/MMBtu (sub-bituminous 97.17)",
                  False),
    "lignite": (97.72, f"{EPA}: lignite 97.72 kg/MMBtu", False),
    "natural_gas": (53.06, f"{EPA}: natural gas 53.06 kg/MMBtu", False),
    "oil": (73.96, f"{EPA}: distillate fuel oil No. 2 73.96 kg/MMBtu (residual No. 6: 75.10)",
            False),
    "unknown_thermal": (57.5, "ASSUMPTION: chosen so that a 10,000 Btu/kWh unit emits 575 "
                        "kg/MWh, Electricity Maps config/defaults.yaml direct 'unknown' = 575 "
                        "('assumes thermal: coal, gas or oil')", True),
}

# --- tranches.csv: heat rates (Btu/kWh, HHV), shares, availability ---------------------------
EIA81 = ("US EIA Electric Power Annual Table 8.1, average operating heat rate 2022 "
         "(Btu/kWh): coal 10,689, petroleum 11,166, natural gas 7,740, nuclear 10,448")
EIA_CC = ("US EIA Today in Energy (Oct 2020): natural-gas combined-cycle units installed since "
          "2015 average 6,654 Btu/kWh, units installed before 2000 average 8,840 Btu/kWh")
SHARES = (0.3, 0.4, 0.3)
SHARE_NOTE = ("capacity shares 0.3/0.4/0.3 (ASSUMPTION: the middle tranche at the fleet average "
              "holds most capacity)")
AVAIL_THERMAL = ("ASSUMPTION: availability 0.9 = 1 - typical forced and planned outage rate of "
                 "thermal fleets (NERC GADS equivalent availability ~0.85-0.9, recalled)")
TRANCHES = {  # technology -> [(heat_rate, availability, source, assumed)]
    "nuclear": [(10448, 0.9, f"{EIA81}; availability: ASSUMPTION 0.9 (US fleet capacity factor "
                 "~0.9; zones with sourced generation override it in capacity.csv)", True)],
    "coal": [(9800, 0.9, f"ASSUMPTION: best third of the fleet, fleet average -8% ({EIA81}; "
              "coal units span about 9,000-12,000 Btu/kWh); " + SHARE_NOTE, True),
             (10689, 0.9, f"{EIA81}: fleet average; {AVAIL_THERMAL}", False),
             (11600, 0.9, "ASSUMPTION: worst third, fleet average +8.5% (old sub-critical "
              f"units); {AVAIL_THERMAL}", True)],
    "lignite": [(10500, 0.9, "ASSUMPTION: modern lignite units (efficiency ~0.36 HHV), "
                 "1,026 kg/MWh", True),
                (11300, 0.9, "ASSUMPTION: lignite fleet average, 1,104 kg/MWh, matching the "
                 "UBA ~1,100-1,200 g/kWh of German lignite (PyPSA technology-data 'lignite')",
                 True),
                (12100, 0.9, "ASSUMPTION: oldest lignite units, 1,182 kg/MWh", True)],
    "gas_ccgt": [(6654, 0.9, f"{EIA_CC} (newest units); {AVAIL_THERMAL}", False),
                 (7747, 0.9, f"ASSUMPTION: midpoint of the two {EIA_CC} (close to the all-gas "
                  "fleet average 7,740 of EIA Table 8.1); " + SHARE_NOTE, True),
                 (8840, 0.9, f"{EIA_CC} (oldest units); {AVAIL_THERMAL}", False)],
    "gas_ocgt": [(10300, 0.9, "ASSUMPTION: gas steam units (EIA reports gas steam-turbine heat "
                  "rates around 10,300-10,500 Btu/kWh, recalled)", True),
                 (11300, 0.9, "ASSUMPTION: aeroderivative and frame gas turbines, average",
                  True),
                 (12300, 0.9, "ASSUMPTION: oldest peaking gas turbines", True)],
    "oil": [(10100, 0.9, "ASSUMPTION: fleet average -10% (diesel engines, oil steam)", True),
            (11166, 0.9, f"{EIA81}: petroleum fleet average; {AVAIL_THERMAL}", False),
            (12200, 0.9, "ASSUMPTION: fleet average +9% (old oil-fired peakers)", True)],
    "bioenergy": [(13500, 0.85, "ASSUMPTION: wood/biomass steam units ~13,500 Btu/kWh (EIA "
                   "order of magnitude, recalled); availability 0.85", True)],
    "other_thermal": [(10000, 0.9, "ASSUMPTION: unknown thermal at 10,000 Btu/kWh (with "
                       "fuels.csv unknown_thermal this gives Electricity Maps' 575 kg/MWh)",
                       True)],
    "hydro": [(BTU_PER_KWH, 0.4, "no fuel (efficiency 1); availability = ASSUMPTION: annual "
               "mean capacity factor fallback 0.4; gridcore calibrates the hourly value", True)],
    "wind": [(BTU_PER_KWH, 0.3, "no fuel (efficiency 1); availability = ASSUMPTION: annual "
              "mean capacity factor fallback 0.3; gridcore calibrates the hourly value", True)],
    "solar": [(BTU_PER_KWH, 0.18, "no fuel (efficiency 1); availability = ASSUMPTION: annual "
               "mean capacity factor fallback 0.18; gridcore calibrates the hourly value",
               True)],
    "other": [(BTU_PER_KWH, 0.7, "no fuel (efficiency 1); availability = ASSUMPTION 0.7 "
               "(geothermal fleets run near-baseload)", True)],
}

# --- capacity.csv: CCGT share of gas capacity (the rest is OCGT + gas steam) -----------------
US_GAS_MIX = ("; US-wide anchor: combined cycles were 53% of the 449 GW of US gas capacity in "
              "2016, combustion turbines 28%, steam 17% (EIA Today in Energy, 'Natural gas "
              "generators make up the largest share of overall U.S. generation capacity')")
CCGT_SHARE = {  # zone -> (share, reasoning)
    "US-PJM-DOM": (0.6, "Dominion's gas fleet is dominated by large combined cycles "
                   "(Brunswick, Greensville, Warren County)" + US_GAS_MIX),
    "US-NW-BPAT": (0.7, "Northwest gas is mostly combined cycle" + US_GAS_MIX),
    "US-MISO": (0.45, "MISO has many combustion-turbine peakers" + US_GAS_MIX),
    "US-ERCOT": (0.6, "ERCOT gas is mostly combined cycle with peakers and old steam units"
                 + US_GAS_MIX),
    "US-CAISO": (0.55, "California has ~20 GW of combined cycles and many peakers"
                 + US_GAS_MIX),
    "CA-QC": (0.0, "Quebec's only gas plant is the Becancour peaker"),
    "IE": (0.8, "Irish gas is mostly CCGT (Whitegate, Aghada, Huntstown, Dublin Bay)"),
    "NL": (0.75, "Dutch gas is mostly CCGT and CHP"),
    "DE-LU": (0.5, "German gas includes much CHP and open-cycle capacity"),
    "SE3": (0.0, "Swedish gas/oil capacity is reserve gas turbines"),
    "FI": (0.3, "Finnish gas is mostly CHP"),
    "FR": (0.5, "France has ~6.5 GW of CCGT of its gas capacity"),
    "GB": (0.85, "GB gas is mostly CCGT"),
    "IN-WE": (0.9, "Indian gas plants are combined cycles"),
    "SG": (0.9, "Singapore's gas fleet is combined cycle"),
    "JP-TK": (0.7, "TEPCO/JERA LNG is mostly combined cycle, some old LNG steam units"),
    "KR": (0.8, "Korean LNG is mostly combined cycle"),
    "AU-NSW": (0.2, "NSW gas is mostly peakers (Tallawarra is the one CCGT)"),
    "ZA": (0.0, "South Africa's gas-turbine capacity is open-cycle (Ankerlig, Gourikwa)"),
    "AE": (0.7, "UAE gas is mostly combined cycle, with open-cycle units at desalination plants"),
    "CN-SH": (0.9, "Shanghai's gas units are combined cycles"),
    "BR-CS": (0.8, "Brazilian gas units are mostly combined cycle"),
    "CL-SEN": (0.7, "Chilean LNG units are mostly combined cycle"),
}
# zone -> {technology: MW}: splits of aggregate rows (ASSUMPTIONS, documented in 'note')
SPLITS = {
    ("DE-LU", "coal"): ({"lignite": 17700.0, "coal": 14900.0},
                        "ASSUMPTION: split of the 32,600 MW coal row into lignite 17,700 and "
                        "hard coal 14,900 (order of the Energy-Charts/Fraunhofer ISE 2024 "
                        "split, recalled)"),
    ("CL-SEN", "other_thermal"): ({"coal": 3900.0, "gas": 5000.0, "oil": 3886.0},
                                  "ASSUMPTION: Chile's 12,786 MW 'unknown' thermal split into "
                                  "coal 3,900 (after 2019-24 retirements), gas 5,000, diesel "
                                  "3,886 (Chile 2023 generation: coal 14.0, gas 15.5, oil 3.3 "
                                  "TWh, OWID)"),
}
# (zone, technology) -> (MW added, reasoning): supply a zone draws from outside our zone list
ADDITIONS = {
    ("SE3", "hydro"): (7300.0, "ASSUMPTION: + 7,300 MW of northern Swedish hydro reaching SE3 "
                       "over the SE2->SE3 corridor (Svenska kraftnat 'snitt 2' transfer limit "
                       "~7,300 MW, recalled); SE1/SE2 are not zones here, and SE3's own fleet "
                       "cannot meet its winter peak"),
}
NUCLEAR_AVAILABILITY = {
    "FR": (0.671, "ASSUMPTION (recalled, verify): RTE Bilan electrique 2024 nuclear output "
           "361.7 TWh / 61,370 MW / 8,784 h = 0.671"),
}

EXCLUDED = {  # (zone, technology) rows of the research table left out of the stack
    ("CA-QC", "other_thermal"): "Electricity Maps' undated, unsourced 'unknown' 1,056 MW for "
                                "Quebec: no generation behind it in the Canada Energy Regulator "
                                "shares (hydro 92.1, wind 6.7, biomass 0.7, oil 0.3, gas 0.2 %) "
                                "and no other source; Quebec's thermal units are the gas, oil "
                                "and biomass rows",
}

# --- tranches.csv, region 'europe': the OPSD / DIW literature fit by commissioning year ------
OPSD_FIT = ("Open Power System Data conventional_power_plants, input_efficiency_literature_by_"
            "fuel_technology.csv (linear fit of Egerer et al. 2014, DIW Data Documentation 72: "
            "net electric efficiency by commissioning year, LHV)")
LHV_NOTE = ("converted to the HHV basis of this table by the gross/net calorific value ratio "
            "of the fuel (UN Statistics Division, International Recommendations for Energy "
            "Statistics, ch. 4, table of the difference between gross and net calorific values: "
            "about 5 % for coal, about 10 % for natural gas; ASSUMPTION: rounded ratios)")
HHV_PER_LHV = {"coal": 1.05, "gas_ccgt": 1.10, "gas_ocgt": 1.10}
EUROPE_TRANCHES = {  # technology -> (intercept, slope per year, [(year, why)] best to worst)
    "coal": (-4.575, 0.0025, [(2010, "the newest third commissioned around 2010"),
                              (1985, "the middle third around 1985"),
                              (1975, "the oldest third around 1975")]),
    "gas_ccgt": (-8.46, 0.0045, [(2012, "the newest third commissioned around 2012"),
                                 (2002, "the middle third around 2002"),
                                 (1992, "the oldest third around 1992")]),
    "gas_ocgt": (-4.82, 0.0026, [(2010, "the newest third commissioned around 2010"),
                                 (1990, "the middle third around 1990"),
                                 (1975, "the oldest third around 1975")]),
}
EUROPE = ("IE", "NL", "DE-LU", "SE3", "FI", "FR", "GB")
FLEET_REGION_SOURCE = {
    "europe": ("European fleet: hard coal, CCGT and OCGT efficiencies by vintage from the "
               f"{OPSD_FIT} (tranches.csv region 'europe')", False),
    "us": ("US fleet: EIA operating heat rates (tranches.csv region 'us')", False),
}
FLEET_REGION_OTHER = ("ASSUMPTION: no fleet heat rates for this zone offline; the US EIA "
                      "tranches (region 'us') are used")

# --- fuel_price_months.csv: each hub's monthly 2024 factor ----------------------------------
WB_MONTHLY = ("World Bank Commodity Price Data (Pink Sheet), monthly prices 2024 (CC BY 4.0): "
              "factor = month / mean of the 12 months")
HUB_MONTHLY = {  # hub -> (series of the monthly research table, source, assumed)
    "Henry Hub": ("Henry Hub gas", f"{WB_MONTHLY}, 'Natural gas, US' (Henry Hub)", False),
    "TTF": ("TTF gas", f"{WB_MONTHLY}, 'Natural gas, Europe' (TTF)", False),
    "JKM": ("LNG Japan", f"ASSUMPTION: JKM's monthly shape taken from the {WB_MONTHLY}, "
            "'LNG, Japan' import price (mostly oil-indexed; no monthly JKM offline)", True),
    "Brent": ("Brent crude", f"{WB_MONTHLY}, 'Crude oil, Brent'", False),
    "Newcastle": ("Newcastle thermal coal", f"{WB_MONTHLY}, 'Coal, Australian' (Newcastle)",
                  False),
    "Newcastle (proxy for Qinhuangdao)": (
        "Newcastle thermal coal", f"ASSUMPTION: Chinese domestic coal follows the {WB_MONTHLY}, "
        "'Coal, Australian' (Newcastle)", True),
}
FLAT_DEFAULT = ("ASSUMPTION: no monthly series offline; the 2024 annual price every month", True)
FLAT_HUB = {
    "API2": ("ASSUMPTION: no monthly API2 offline (only the H1-2024 mean, Montel News); the "
             "annual price every month", True),
    "NSW coal price cap": ("NSW domestic coal at a regulated price cap all year (the annual "
                           "price every month)", False),
    "EIA delivered (South Atlantic)": ("ASSUMPTION: US delivered coal is bought on long-term "
                                       "contracts; the annual price every month", True),
    "EIA delivered (Iowa)": ("ASSUMPTION: US delivered coal is bought on long-term contracts; "
                             "the annual price every month", True),
    "EIA delivered (Powder River Basin coal)": ("ASSUMPTION: US delivered coal is bought on "
                                                "long-term contracts; the annual price every "
                                                "month", True),
}

# --- reservoirs.csv and water_values.csv: reservoir hydro at its opportunity cost -------------
RESERVOIRS = {  # zone -> (reservoir share of hydro capacity, source, assumed)
    "CA-QC": (0.9, "ASSUMPTION: 0.9. Hydro-Quebec's reservoirs store 178.4 TWh "
              "(hydroquebec.com, investor relations, financial dashboard), close to its annual "
              "output: nearly all of its capacity can move energy between hours", True),
    "BR-CS": (0.7, "ASSUMPTION: 0.7. The Southeast/Centre-West subsystem holds most of Brazil's "
              "reservoir storage and its price (PLD) is the water value of the hydro-thermal "
              "dispatch (ONS/CCEE NEWAVE-DECOMP, hydro_water_values research notes); share "
              "recalled, not sourced", True),
    "SE3": (0.8, "ASSUMPTION: 0.8. Swedish hydro (and the northern hydro added to SE3) runs on "
            "regulated rivers with seasonal reservoirs; share recalled, not sourced", True),
    "US-NW-BPAT": (0.5, "ASSUMPTION: 0.5. The Columbia system's storage holds about a third of "
                   "its annual runoff (recalled), so about half its capacity can shift energy "
                   "between hours and days", True),
    "FR": (0.45, "ASSUMPTION: 0.45. French lake (reservoir) and pondage plants are about 45 % "
           "of hydro capacity excluding pumped storage, the rest run-of-river (RTE Bilan "
           "electrique categories, recalled)", True),
    "CL-SEN": (0.45, "ASSUMPTION: 0.45. Chile's reservoir plants (Laja, Ralco, Colbun, Rapel "
               "and others) are about 45 % of its hydro capacity (recalled)", True),
    "FI": (0.3, "ASSUMPTION: 0.3. Finnish hydro runs on rivers with limited regulation "
           "(Kemijoki, Oulujoki lake storage); share recalled, not sourced", True),
}
HYDRO = SHARED / "hydro_water_values.csv"
CAD_USD = 0.730  # ASSUMPTION: 2024 average (Bank of Canada annual average 1.370 CAD/USD, recalled)
SEK_PER_EUR = 11.43  # ASSUMPTION: 2024 average (recalled)


def _hydro_rows(prefix: str) -> pd.DataFrame:
    df = pd.read_csv(HYDRO)
    return df[df.zone_or_market.str.startswith(prefix)]


def _water_se3() -> tuple:
    se2 = _hydro_rows("SE2")
    se2 = se2[se2.period.str.fullmatch(r"2024-\d\d")].sort_values("period")
    prices = pd.read_csv(SHARED / "zone_prices_2024.csv")
    se3 = prices[prices.zone_or_market == "SE3"].set_index("period").value
    values = np.concatenate([se2.value.to_numpy(dtype=float) * EUR_USD,
                             [se3["2024-10"] / SEK_PER_EUR * EUR_USD,
                              se3["2024-11"] / SEK_PER_EUR * EUR_USD,
                              se3["2024-11"] / SEK_PER_EUR * EUR_USD]])
    return (values, "January-September: ENTSO-E day-ahead price of SE2 (northern Sweden, where "
            "reservoir hydro sets the price: an empirical water value), monthly means 2024 "
            "(research copy of the ENTSO-E Transparency series, hydro_water_values research "
            "table), EUR->USD 1.082; October-November: ASSUMPTION, SE3's own monthly means "
            "(Ember, in SEK, at 11.43 SEK/EUR) as the SE2 series ends on 4 October; December: "
            "ASSUMPTION, November's", np.arange(12) >= 9,
            "SE2 " + ", ".join(f"{v:g}" for v in se2.value) + " EUR/MWh")


def _water_br() -> tuple:
    pld = _hydro_rows("BR-CS (PLD")
    pld = pld[pld.period.str.fullmatch(r"2024-\d\d")].sort_values("period")
    return (pld.value.to_numpy(dtype=float),
            "CCEE PLD Sudeste/Centro-Oeste, monthly means 2024 (USD at a fixed rate; hourly "
            "series of HewlettPackard/green-dcc): the PLD is the marginal cost of the "
            "hydro-thermal dispatch (NEWAVE/DECOMP), i.e. the system's water value, floored at "
            "ANEEL's 61.07 BRL/MWh", np.zeros(12, dtype=bool), "")


def _water_qc() -> tuple:
    q1, q2, nine = 106.0, 79.0, 100.0  # CAD/MWh: Q1, Q2, January-September
    q3 = 3 * nine - q1 - q2
    quarters = np.array([q1, q2, q3, nine]) * CAD_USD
    return (np.repeat(quarters, 3),
            "Hydro-Quebec's realised export price, the opportunity cost of its stored water: Q1 "
            "2024 106 CAD/MWh (446 M CAD for 4.2 TWh, press release 10 May 2024), Q2 79, "
            "January-September 100 (company reports via the press); ASSUMPTION: Q3 = 3 x 100 - "
            "106 - 79 = 115 (equal quarterly volumes), Q4 = 100 (the January-September mean); "
            "CAD->USD 0.730 (assumption)", np.arange(12) >= 6,
            "revenue per MWh includes hedging; imports cost ~30 CAD/MWh")


def _own_price(zone: str, what: str, assumed: bool):
    def build() -> tuple:
        return (base_price_by_month(zone),
                f"{'ASSUMPTION: ' if assumed else ''}the zone's own monthly mean base price "
                f"(abm/data/zones.csv x profiles.csv; {what}) as the empirical water value: "
                "the price its reservoirs sell into", np.full(12, assumed), "")
    return build


def _water_fi() -> tuple:
    prices = pd.read_csv(SHARED / "zone_prices_2024.csv")
    fi = prices[(prices.zone_or_market == "FI") & prices.period.str.fullmatch(r"2024-\d\d")]
    fi = fi.sort_values("period")
    return (fi.value.to_numpy(dtype=float) * EUR_USD,
            "Ember European wholesale electricity prices, FI monthly day-ahead means 2024 (CC BY "
            "4.0; research table zone_prices_2024), EUR->USD 1.082: the market Finnish hydro "
            "sells into, as its empirical water value", np.zeros(12, dtype=bool), "")


WATER_VALUES = {
    "CA-QC": _water_qc, "BR-CS": _water_br, "SE3": _water_se3,
    "US-NW-BPAT": _own_price("US-NW-BPAT", "Mid-C assumed, no Mid-C series offline", True),
    "FR": _own_price("FR", "ENTSO-E FR day-ahead 2024", False),
    "CL-SEN": _own_price("CL-SEN", "CEN marginal cost, 2023 hourly series", False),
    "FI": _water_fi,
}

# --- fuel_prices.csv ---------------------------------------------------------------------------
PRICES = {  # key -> (USD/MWh_th, hub, source, assumed)
    "henry_hub": (2.21 * MMBTU_PER_MWH, "Henry Hub",
                  "US EIA Today in Energy (Jan 2025): 2024 Henry Hub spot average 2.21 "
                  "USD/MMBtu", False),
    "ttf": (10.960 * MMBTU_PER_MWH, "TTF",
            "World Bank Commodity Price Data (Pink Sheet) 'Natural gas, Europe' (TTF): mean of "
            "the 12 monthly 2024 prices, 10.96 USD/MMBtu", False),
    "jkm": (11.9 * MMBTU_PER_MWH, "JKM",
            "ASSUMPTION: JKM 2024 average ~11.9 USD/MMBtu; no full-year figure found offline. "
            "Anchors: JKM 'mid-$9s' in early April 2024 (JOGMEC via lngprime.com); World Bank "
            "'LNG, Japan' import price 11.8-13.7 USD/MMBtu Jan-May 2024; IGU Wholesale Gas Price "
            "Survey 2025 (via energymarketprice.com, 26 Jun 2025): 2024 Asia-Pacific wholesale "
            "average 9.19 USD/MMBtu, a mix of regulated, oil-indexed and spot gas, not JKM", True),
    "ae_gas": (4.0 * MMBTU_PER_MWH, "domestic/pipeline",
               "ASSUMPTION: 4 USD/MMBtu, between regulated domestic gas and Dolphin pipeline "
               "contract gas (no traded hub in the UAE)", True),
    "api2": (112.0 / COAL_MWH_PER_T, "API2",
             "ASSUMPTION: API2 2024 annual ~112 USD/t (6,000 kcal/kg); Montel News (19 June "
             "2024): front-month API2 averaged ~107 USD/t in H1-2024, H2 traded higher", True),
    "newcastle": (136.1 / COAL_MWH_PER_T, "Newcastle",
                  "World Bank Pink Sheet (Jan 2025) 'Coal, Australia' 2024 average 136.1 "
                  "USD/t at 6,000 kcal/kg", False),
    "nsw_cap": (125.0 * 0.66 / COAL_MWH_PER_T, "NSW coal price cap",
                "ASSUMPTION: NSW generators' domestic coal capped at 125 AUD/t (Energy Price "
                "Relief Plan, Dec 2022-2024, recalled) x 0.66 USD/AUD at 6,000 kcal/kg", True),
    "india_coal": (10.0, "Coal India notified prices",
                   "ASSUMPTION: landed domestic coal ~4,000 INR/t at ~4,000 kcal/kg (~48 USD/t "
                   "/ 4.65 MWh/t ~ 10 USD/MWh_th); notified price plus rail freight, recalled",
                   True),
    "eskom_coal": (8.0, "Eskom cost-plus contracts",
                   "ASSUMPTION: Eskom domestic coal ~8 USD/MWh_th (~45 USD/t at ~4,800 "
                   "kcal/kg); the Richards Bay export price (World Bank 2024: 105.8 USD/t = "
                   "15.2 USD/MWh_th) is an upper bound", True),
    "china_coal": (136.1 / COAL_MWH_PER_T, "Newcastle (proxy for Qinhuangdao)",
                   "ASSUMPTION: Chinese domestic 5,500 kcal coal (~850 CNY/t in 2024, "
                   "recalled) costs about the same per MWh as Newcastle: World Bank 2024 136.1 "
                   "USD/t used", True),
    "us_coal_sa": (3.43 * MMBTU_PER_MWH, "EIA delivered (South Atlantic)",
                   "US EIA Electric Power Monthly Table 4.10.B: average cost of coal delivered "
                   "for electricity generation, electric power sector, South Atlantic, "
                   "January-July 2024 YTD 3.43 USD/MMBtu", False),
    "us_coal_ia": (1.97 * MMBTU_PER_MWH, "EIA delivered (Iowa)",
                   "US EIA Electric Power Monthly Table 4.10.B: electric power sector, Iowa, "
                   "January-July 2024 YTD 1.97 USD/MMBtu (West North Central 1.80)", False),
    "us_coal_west": (2.0 * MMBTU_PER_MWH, "EIA delivered (Powder River Basin coal)",
                     "ASSUMPTION: 2.0 USD/MMBtu for Texas and western plants burning Powder "
                     "River Basin coal and lignite (EIA: Texas paid 1.92 USD/MMBtu for Wyoming "
                     "coal in 2012; Table 4.10.B 2024 West North Central 1.80)", True),
    "lignite": (2.9 * EUR_USD, "mine-mouth",
                "ASSUMPTION: mine-mouth lignite ~2.9 EUR/MWh_th (PyPSA technology-data fuel "
                "cost for lignite, DIW; recalled)", True),
    "brent": (81.0 / OIL_MWH_PER_BBL, "Brent",
              "US EIA STEO (Jan 2025): Brent averaged 81 USD/bbl in 2024, at 5.8 MMBtu/bbl",
              False),
    "uranium": (2.6 * EUR_USD, "nuclear fuel",
                "ASSUMPTION: nuclear fuel ~2.6 EUR/MWh_th (PyPSA technology-data 'uranium' "
                "fuel cost, recalled); ~9 USD/MWh_el at 10,448 Btu/kWh", True),
    "biomass": (15.0, "solid biomass",
                "ASSUMPTION: solid biomass ~15 USD/MWh_th (wood chips/pellets for power, "
                "order of magnitude)", True),
}
GAS_HUB = {**dict.fromkeys(["US-PJM-DOM", "US-NW-BPAT", "US-MISO", "US-ERCOT", "US-CAISO",
                            "CA-QC"], "henry_hub"),
           **dict.fromkeys(["IE", "NL", "DE-LU", "SE3", "FI", "FR", "GB"], "ttf"),
           **dict.fromkeys(["IN-WE", "SG", "JP-TK", "KR", "CN-SH", "BR-CS", "CL-SEN", "AU-NSW"],
                           "jkm"),
           "AE": "ae_gas", "ZA": "brent"}
COAL_HUB = {"US-PJM-DOM": "us_coal_sa", "US-MISO": "us_coal_ia", "US-ERCOT": "us_coal_west",
            "US-CAISO": "us_coal_west", "US-NW-BPAT": "us_coal_west", "CA-QC": "us_coal_sa",
            **dict.fromkeys(["IE", "NL", "DE-LU", "SE3", "FI", "FR", "GB", "CL-SEN", "BR-CS"],
                            "api2"),
            **dict.fromkeys(["JP-TK", "KR", "SG", "AE"], "newcastle"),
            "AU-NSW": "nsw_cap", "IN-WE": "india_coal", "ZA": "eskom_coal",
            "CN-SH": "china_coal"}
HUB_NOTE = {
    ("CA-QC", "natural_gas"): "Quebec buys gas at Henry Hub-linked Dawn prices (basis ignored)",
    ("AU-NSW", "natural_gas"): "ASSUMPTION: east-coast Australian gas is LNG-export-netback "
                               "priced; JKM used",
    ("ZA", "natural_gas"): "South Africa's open-cycle gas turbines burn diesel: Brent used",
    ("CL-SEN", "hard_coal"): "imported coal, priced at API2 (Colombian coal, Atlantic basis)",
    ("BR-CS", "hard_coal"): "imported coal, priced at API2",
    ("CA-QC", "hard_coal"): "no coal units; value only completes the table",
}

# --- carbon_schemes.csv (USD per t CO2, 2024) --------------------------------------------------
SCHEMES = [
    ("eu_ets", "EU", "NL;DE-LU;FR;FI;SE3;IE", 67.0, "EUR/t", 67.0 * EUR_USD,
     "Veyt, '2024 Year in Review EU ETS': average EUA price 67 EUR/t in 2024 (Argus: 2024 "
     "auctions cleared at 64.76 EUR/t on average); EUR->USD 1.082", False,
     "Ireland's all-island SEM generators are in the EU ETS"),
    ("uk_ets", "UK", "GB", 37.0, "GBP/t", 37.0 * GBP_USD,
     "ASSUMPTION: UKA 2024 average ~37 GBP/t: record low 31.48 GBP/t in January 2024, ~40 GBP/t "
     "in November 2024 (embapower.ro citing ICIS, 29 Jan 2025); front-December UKA fell 27% over "
     "2024 (Carbon Pulse, 16 Dec 2024); GBP->USD 1.278 (assumption)", True, ""),
    ("uk_cps", "UK", "GB", 18.0, "GBP/t", 18.0 * GBP_USD,
     "UK Carbon Price Support 18 GBP/t, fixed (Timera Energy, 'UK carbon allowances fall "
     "sharply beneath EU ETS'); GBP->USD 1.278 (assumption)", False,
     "paid by GB fossil generators on top of the UK ETS"),
    ("rggi", "US", "", 20.0, "USD/short ton", 20.0 * 1.10231,
     "ASSUMPTION: RGGI 2024 auction clearing prices ~16-24 USD/short ton (the Dec 2023 auction "
     "cleared at 14.88, ESAI Power; 2024 auctions higher, recalled). Covers NO zone here: "
     "Virginia left RGGI on 31 Dec 2023 (Augusta Free Press; S&P Global, 20 Nov 2024); a court "
     "voided the exit in Nov 2024 but no 2024 compliance obligation applied", True,
     "price per metric tonne = per short ton x 1.10231; scenarios may cover US-PJM-DOM"),
    ("california", "US", "US-CAISO;CA-QC", 35.2, "USD/t", 35.2,
     "ASSUMPTION: mean of the four 2024 joint California-Quebec auctions, ~35.2 USD/t: Feb "
     "41.76 (record, Politico/E&E 23 Feb 2024; EDF climate411 blog, 22 Feb 2024), Aug 30.24 and "
     "Nov 31.91 (Energir Blue Bulletin Dec 2024, 'Changes in CATS prices') sourced; May ~37 "
     "recalled (no source found); World Bank carbon price dashboard: 38.6 USD/t on 1 April 2024 "
     "(via Statista)", True,
     "Quebec's cap-and-trade is linked to California's (joint auctions), so CA-QC is covered"),
    ("korea_ets", "KR", "KR", 9340.0, "KRW/t", 9340.0 / KRW_PER_USD,
     "KRX ETS market (ets.krx.co.kr) daily closing prices of KAU24 over 2024 (244 trading days, "
     "2 Jan - 30 Dec), as compiled in github.com/JIN-Z-pop/korea-ets-mcp data/korea_ets.db "
     "(table kets_daily_price, MIT): mean 9,340 KRW/t, range 8,400-12,550 (volume-weighted "
     "9,781); KRW->USD 1/1364 (assumption)", False,
     "Korea reimburses part of generators' ETS cost in settlement; full price applied here"),
    ("china_ets", "CN", "CN-SH", 95.96, "CNY/t", 13.33,
     "ICAP ETS factsheet 'China National ETS': average secondary market price 2024 CNY 95.96 "
     "(USD 13.33)", False,
     "intensity-based free allocation: the marginal dispatch signal is weaker than the price"),
    ("singapore_tax", "SG", "SG", 25.0, "SGD/t", 25.0 * SGD_USD,
     "ASSUMPTION (unverified offline): Singapore Carbon Pricing Act rate 25 SGD/t from 2024; "
     "SGD->USD 0.744", True, ""),
    ("chile_tax", "CL", "CL-SEN", 5.0, "USD/t", 5.0,
     "ASSUMPTION (unverified offline): Chile green tax 5 USD/t CO2 (Law 20.780) on sources "
     ">= 25,000 t/yr", True, ""),
    ("japan_tax", "JP", "JP-TK", 289.0, "JPY/t", 289.0 * JPY_USD,
     "ASSUMPTION (unverified offline): Japan's tax for climate change mitigation, 289 JPY/t CO2 "
     "on fossil fuels; JPY->USD 0.00665", True,
     "an upstream fuel tax, paid by generators through fuel prices"),
]

# --- interconnectors.csv -----------------------------------------------------------------------
LINES = [
    ("FR-GB", "FR", "GB", 4000, 4000, "HVDC", False,
     "Electricity Maps config/exchanges/FR_GB.yaml [-4000, 4000]; IFA 2000 MW, IFA2 1000 MW, "
     "ElecLink 1000 MW (pypsa-eur data/links_p_nom.csv and new_links.csv)"),
    ("NL-GB", "NL", "GB", 1000, 1000, "HVDC", False,
     "BritNed 1000 MW: pypsa-eur data/links_p_nom.csv; Electricity Maps GB_NL.yaml"),
    ("IE-GB", "IE", "GB", 1000, 1000, "HVDC", False,
     "East West Interconnector 500 MW + Moyle 500 MW: pypsa-eur data/links_p_nom.csv; "
     "Electricity Maps GB_IE.yaml / GB_GB-NIR.yaml"),
    ("SE3-FI", "SE3", "FI", 1200, 1200, "HVDC", False,
     "Fenno-Skan 1+2 trading capacity: Electricity Maps FI_SE-SE3.yaml [-1200, 1200]"),
    ("DE-LU-FR", "DE-LU", "FR", 3000, 3000, "AC", True,
     "ASSUMPTION: 3,000 MW each way, the order of the historical DE-FR net transfer capacity "
     "(ENTSO-E NTC values, recalled); since 2022 the border is in Core flow-based market "
     "coupling with no fixed NTC"),
    ("DE-LU-NL", "DE-LU", "NL", 4250, 4250, "AC", True,
     "ASSUMPTION: 4,250 MW each way (historical NTC order). Physical lines: TenneT Meeden-Diele "
     "1,645 MW, Doetinchem-Wesel 2 x 2,635 MW thermal, Amprion 3.8 GW (ICIS, 16 Sep 2013); "
     "Core flow-based since 2022"),
    ("US-NW-BPAT-US-CAISO", "US-NW-BPAT", "US-CAISO", 8020, 6775, "AC + HVDC", True,
     "north to south: California-Oregon Intertie (WECC Path 66) 4,800 MW (Wikipedia 'Path 66', "
     "CC BY-SA) + Pacific DC Intertie (Path 65) 3,220 MW (BPA 'PDCI Upgrade Project': 3,100 -> "
     "3,220 MW; WECC Project Coordination Review Report 'Path 65 Upgrade', 19 Jun 2013; ABB "
     "commissioned the Celilo upgrade in 2016). South to north: PDCI 3,100 MW (same WECC report: "
     "'no change is proposed for the south to north direction') + ASSUMPTION: COI 3,675 MW "
     "(COI's lower S->N rating, recalled)"),
    ("US-PJM-DOM-US-MISO", "US-PJM-DOM", "US-MISO", 3000, 3000, "AC", True,
     "ASSUMPTION: 3,000 MW each way. The Dominion zone has no direct MISO tie; power flows "
     "through the rest of PJM and the PJM-MISO seam, so this is the share of the seam available "
     "to Dominion, a scenario parameter. Anchor: MISO put the whole seam's MISO->PJM total "
     "transfer capability at 5,300-6,300 MW (RTO Insider, 'PJM and MISO: Best of Frenemies')"),
]

# --- demand_shape.csv: synthetic month x hour shape (documented assumption) -------------------
# zone -> (winter amplitude, summer amplitude, daily swing (max-min)/mean, southern hemisphere)
# Seasonal term 1 + w cos(2 pi (m - peak_w)/12) + s cos(2 pi (m - peak_s)/12), peaks January and
# July (swapped south of the equator); daily term 1 + swing/2 x g(local hour), g in [-1, 1] a
# shape with a night trough at 04:00, a day plateau and an evening peak at 19:00.
DEMAND = {
    "US-PJM-DOM": (0.08, 0.10, 0.35, False, "both winter heating and summer cooling peaks"),
    "US-NW-BPAT": (0.12, 0.04, 0.30, False, "winter-peaking (electric heating)"),
    "US-MISO": (0.05, 0.12, 0.35, False, "summer-peaking (cooling)"),
    "US-ERCOT": (0.04, 0.18, 0.40, False, "strongly summer-peaking (cooling)"),
    "US-CAISO": (0.02, 0.12, 0.40, False, "summer-peaking, large evening ramp"),
    "CA-QC": (0.25, 0.0, 0.30, False, "strongly winter-peaking (electric heating)"),
    "BR-CS": (0.0, 0.05, 0.30, True, "mild summer (January-February) peak"),
    "CL-SEN": (0.03, 0.0, 0.25, True, "mild winter (July) peak"),
    "IE": (0.10, 0.0, 0.40, False, "winter-peaking, evening peak"),
    "NL": (0.06, 0.0, 0.35, False, "mild winter peak"),
    "DE-LU": (0.07, 0.0, 0.35, False, "mild winter peak"),
    "SE3": (0.20, 0.0, 0.30, False, "winter-peaking (electric heating)"),
    "FI": (0.18, 0.0, 0.25, False, "winter-peaking (electric heating, industry base load)"),
    "FR": (0.25, 0.0, 0.35, False, "strongly winter-peaking (electric heating)"),
    "GB": (0.12, 0.0, 0.45, False, "winter-peaking, pronounced evening peak"),
    "IN-WE": (0.0, 0.08, 0.25, False, "pre-monsoon (May) peak; summer term peaks in May"),
    "SG": (0.0, 0.02, 0.25, False, "almost no season (equatorial)"),
    "JP-TK": (0.08, 0.10, 0.40, False, "winter and summer peaks"),
    "KR": (0.08, 0.06, 0.35, False, "winter and summer peaks"),
    "AU-NSW": (0.05, 0.05, 0.40, True, "winter (July) and summer (January) peaks"),
    "ZA": (0.12, 0.0, 0.40, True, "winter (July) peak, morning and evening peaks"),
    "AE": (0.0, 0.30, 0.25, False, "strongly summer-peaking (air conditioning)"),
    "CN-SH": (0.06, 0.12, 0.35, False, "summer (cooling) and winter peaks"),
}
SUMMER_PEAK_MONTH = {"IN-WE": 5}
DAYS_2024 = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
DEMAND_SOURCE = (
    "ASSUMPTION: synthetic month x hour shape, no load data offline: seasonal cosine terms "
    "(winter amplitude {w:.2f}, summer amplitude {s:.2f}{hemi}) times a daily shape with a 04:00 "
    "trough, day plateau and 19:00 evening peak (daily swing {d:.2f} of the mean), local standard "
    "time UTC{off:+g}; reasoning: {why}. Replace with ENTSO-E/EIA-930/AEMO 2024 hourly load")


def daily_shape(local_hour: np.ndarray) -> np.ndarray:
    """Unit daily load shape in [-1, 1]: trough at 04:00, plateau by day, peak at 19:00."""
    day = -np.cos(2 * np.pi * (local_hour - 4.0) / 24.0)          # -1 at 04:00, +1 at 16:00
    evening = np.exp(-0.5 * ((local_hour - 19.0) / 2.0) ** 2)     # bump at 19:00
    g = 0.7 * day + 0.6 * evening
    return 2 * (g - g.min()) / (g.max() - g.min()) - 1


def demand_shape(zone: str) -> np.ndarray:
    """(12, 24) factors of mean background demand (UTC hours), weighted mean 1 over 2024."""
    w, s, swing, south, _ = DEMAND[zone]
    months = np.arange(1, 13)
    peak_w, peak_s = (7, 1) if south else (1, SUMMER_PEAK_MONTH.get(zone, 7))
    season = (1 + w * np.cos(2 * np.pi * (months - peak_w) / 12)
              + s * np.cos(2 * np.pi * (months - peak_s) / 12))
    grid = np.arange(0, 24, 0.25)  # evaluate on a fine grid so the min/max are the shape's own
    g_fine = daily_shape(grid)
    local = (np.arange(24) + UTC_OFFSET[zone]) % 24
    g = np.interp(local, grid, g_fine, period=24)
    table = season[:, None] * (1 + swing / 2 * g[None, :])
    weights = DAYS_2024[:, None] * np.ones((1, 24))
    return table / (table * weights).sum() * weights.sum()


# --- builders ----------------------------------------------------------------------------------
def technologies() -> pd.DataFrame:
    """One row per technology: fuel, kind, VOM (USD/MWh_el)."""
    rows = []
    for t in TECHNOLOGIES:
        vom, src, assumed = VOM[t]
        rows.append({"technology": t, "fuel": FUEL_OF[t], "kind": KIND_OF.get(t, "thermal"),
                     "vom_usd_per_mwh": vom, "source": src, "assumed": assumed, "note": ""})
    return pd.DataFrame(rows)


def fuels() -> pd.DataFrame:
    """One row per fuel: t CO2 per MWh of fuel heat (HHV)."""
    rows = []
    for f, (kg_per_mmbtu, src, assumed) in FUEL_CO2.items():
        rows.append({"fuel": f, "co2_t_per_mwh_th": round(kg_per_mmbtu * MMBTU_PER_MWH / 1000, 6),
                     "source": src, "assumed": assumed,
                     "note": f"{kg_per_mmbtu} kg/MMBtu x 3.41214 MMBtu/MWh" if kg_per_mmbtu
                     else ""})
    return pd.DataFrame(rows)


def tranches() -> pd.DataFrame:
    """Efficiency tranches per technology and fleet region (capacity share, efficiency,
    availability): US heat rates for region ``us`` (and ``all`` for technologies with one set),
    the European literature fit for region ``europe``."""
    rows = []
    for t in TECHNOLOGIES:
        sets = {"us" if t in EUROPE_TRANCHES else "all": TRANCHES[t]}
        if t in EUROPE_TRANCHES:
            a, b = EUROPE_TRANCHES[t][:2]
            sets["europe"] = [(BTU_PER_KWH * HHV_PER_LHV[t] / (a + b * year), 0.9,
                               f"{OPSD_FIT} {t}: efficiency = {a:g} + {b:g} x year, year {year} "
                               f"-> {a + b * year:.4f} LHV; {LHV_NOTE} ({HHV_PER_LHV[t]:g}); "
                               f"ASSUMPTION: {why}; {AVAIL_THERMAL}", True)
                              for year, why in EUROPE_TRANCHES[t][2]]
        for region, spec in sets.items():
            shares = SHARES if len(spec) == 3 else (1.0,)
            for i, ((hr, avail, src, assumed), share) in enumerate(zip(spec, shares,
                                                                       strict=True)):
                rows.append({"technology": t, "region": region, "tranche": i + 1,
                             "capacity_share": share, "efficiency": round(BTU_PER_KWH / hr, 6),
                             "heat_rate_btu_per_kwh": round(hr, 2), "availability": avail,
                             "source": src, "assumed": assumed, "note": ""})
    return pd.DataFrame(rows)


def fleet_regions(zone_ids: list[str]) -> pd.DataFrame:
    """The fleet region (efficiency tranches) of every zone."""
    rows = []
    for z in zone_ids:
        region = "europe" if z in EUROPE else "us"
        src, assumed = FLEET_REGION_SOURCE[region] if z in EUROPE or z.startswith("US-") \
            else (FLEET_REGION_OTHER, True)
        rows.append({"zone_id": z, "region": region, "source": src, "assumed": assumed,
                     "note": ""})
    return pd.DataFrame(rows)


def fuel_price_months() -> pd.DataFrame:
    """Monthly factor (2024 month / 2024 mean) of every fuel-price hub of fuel_prices.csv."""
    monthly = pd.read_csv(SHARED / "fuel_prices_2024_monthly.csv")
    hubs = sorted({PRICES[k][1] for k in PRICES})
    rows = []
    for hub in hubs:
        if hub in HUB_MONTHLY:
            series, src, assumed = HUB_MONTHLY[hub]
            m = monthly[monthly.zone_or_market.str.startswith(series)
                        & monthly.period.str.fullmatch(r"2024-\d\d")]
            values = m.sort_values("period").value.to_numpy(dtype=float)
            if len(values) != 12:
                raise SystemExit(f"{series}: expected 12 monthly values, got {len(values)}")
            factors = values / values.mean()
            note = (f"2024 monthly {m.unit.iloc[0]}: "
                    + ", ".join(f"{v:g}" for v in values) + f"; mean {values.mean():.3f}")
        else:
            factors, (src, assumed), note = np.ones(12), FLAT_HUB.get(hub, FLAT_DEFAULT), ""
        for month in range(12):
            rows.append({"hub": hub, "month": month + 1, "factor": round(float(factors[month]), 6),
                         "source": src, "assumed": assumed, "note": note if month == 0 else ""})
    return pd.DataFrame(rows)


def base_price_by_month(zone: str) -> np.ndarray:
    """(12,) mean of the zone's shipped base price (annual mean x month x hour profile) per
    month, USD/MWh."""
    zones = pd.read_csv(ROOT / "abm" / "data" / "zones.csv").set_index("zone_id")
    prof = pd.read_csv(ROOT / "abm" / "data" / "profiles.csv")
    p = prof[(prof.zone_id == zone) & (prof.signal == "price")]
    table = p.pivot(index="month", columns="hour_utc", values="factor").to_numpy()
    return float(zones.loc[zone, "price_usd_per_mwh"]) * table.mean(axis=1)


def reservoirs() -> pd.DataFrame:
    """The share of each zone's hydro capacity that is reservoir (storage) hydro."""
    return pd.DataFrame([{"zone_id": z, "reservoir_share": share, "source": src,
                          "assumed": assumed, "note": ""}
                         for z, (share, src, assumed) in RESERVOIRS.items()])


def water_values() -> pd.DataFrame:
    """Water value of every reservoir zone by month (USD/MWh)."""
    rows = []
    for z in RESERVOIRS:
        values, src, assumed, note = WATER_VALUES[z]()
        for month in range(12):
            rows.append({"zone_id": z, "month": month + 1,
                         "value_usd_per_mwh": round(float(values[month]), 3),
                         "source": src, "assumed": bool(assumed[month]),
                         "note": note if month == 0 else ""})
    return pd.DataFrame(rows)


def capacity(zone_ids: list[str]) -> pd.DataFrame:
    """Installed capacity by zone and technology (MW), gas split into CCGT and OCGT/steam."""
    mix = pd.read_csv(SHARED / "zone_mix.csv", dtype={"note": str}, keep_default_na=False)
    rows = []
    for _, r in mix.iterrows():
        if r.zone_id not in zone_ids or r.technology in ("pumped_hydro", "battery"):
            continue
        if r.capacity_mw == "" or float(r.capacity_mw) <= 0 or (r.zone_id,
                                                               r.technology) in EXCLUDED:
            continue
        cap = float(r.capacity_mw)
        gen = float(r.generation_gwh) if r.generation_gwh != "" else math.nan
        assumed = str(r.assumed).lower() == "true"
        parts = {r.technology: cap}
        note = r.note
        if (r.zone_id, r.technology) in SPLITS:
            parts, split_note = SPLITS[r.zone_id, r.technology]
            note, assumed = f"{split_note}; {note}", True
        if (r.zone_id, r.technology) in ADDITIONS:
            extra, add_note = ADDITIONS[r.zone_id, r.technology]
            parts = {r.technology: cap + extra}
            note, assumed = f"{add_note}; {note}", True
        elif assumed and "ASSUMPTION" not in f"{r.source} {note}":
            note = ("ASSUMPTION: undated or scaled capacity (abm/data/SOURCES.md, grid market "
                    f"data); {note}")
        for tech, mw in parts.items():
            share = min(mw / cap, 1.0)  # an addition keeps the sourced generation
            if tech == "gas":
                ccgt, why = CCGT_SHARE[r.zone_id]
                split = {"gas_ccgt": ccgt, "gas_ocgt": 1 - ccgt}
                gnote = (f"ASSUMPTION: CCGT share {ccgt:.2f} of gas capacity ({why}); no "
                         "offline source splits gas by zone")
            else:
                split, gnote = {tech: 1.0}, ""
            for t2, f in split.items():
                if f <= 0:
                    continue
                rows.append({
                    "zone_id": r.zone_id, "technology": t2, "capacity_mw": round(mw * f, 1),
                    "generation_gwh": "" if math.isnan(gen) else round(gen * share * f, 1),
                    "availability": "", "year": r.year, "source": r.source,
                    "assumed": assumed or bool(gnote),
                    "note": "; ".join(x for x in (gnote, note) if x)})
    out = pd.DataFrame(rows)
    for zone, (avail, src) in NUCLEAR_AVAILABILITY.items():
        i = out.index[(out.zone_id == zone) & (out.technology == "nuclear")]
        out.loc[i, "availability"] = str(avail)
        out.loc[i, "note"] = src + "; " + out.loc[i, "note"]
        out.loc[i, "assumed"] = True
    # merge duplicates (e.g. CL-SEN coal from the split and from a direct row) by summing
    order = {t: i for i, t in enumerate(TECHNOLOGIES)}
    out["_z"] = out.zone_id.map({z: i for i, z in enumerate(zone_ids)})
    out["_t"] = out.technology.map(order)
    if out.duplicated(["zone_id", "technology"]).any():
        dup = out[out.duplicated(["zone_id", "technology"], keep=False)]
        raise SystemExit(f"duplicate (zone, technology) rows: {dup[['zone_id', 'technology']]}")
    return out.sort_values(["_z", "_t"]).drop(columns=["_z", "_t"]).reset_index(drop=True)


def fuel_prices(zone_ids: list[str]) -> pd.DataFrame:
    """One row per zone x priced fuel, USD per MWh of fuel heat (HHV)."""
    rows = []
    for z in zone_ids:
        for f in PRICED_FUELS:
            key = {"natural_gas": GAS_HUB[z], "unknown_thermal": GAS_HUB[z],
                   "hard_coal": COAL_HUB[z], "lignite": "lignite", "oil": "brent",
                   "uranium": "uranium", "biomass": "biomass"}[f]
            value, hub, src, assumed = PRICES[key]
            note = HUB_NOTE.get((z, f), "")
            if f == "unknown_thermal":
                note = "ASSUMPTION: unknown thermal priced as the zone's gas"
                assumed = True
            rows.append({"zone_id": z, "fuel": f, "price_usd_per_mwh_th": round(value, 3),
                         "hub": hub, "source": src, "assumed": assumed, "note": note})
    return pd.DataFrame(rows)


def carbon_schemes() -> pd.DataFrame:
    """2024 carbon prices on generators by scheme, with the zones each covers."""
    cols = ["scheme", "jurisdiction", "zones", "price_native", "unit_native", "price_usd_per_t",
            "source", "assumed", "note"]
    df = pd.DataFrame(SCHEMES, columns=cols)
    df["price_usd_per_t"] = df.price_usd_per_t.round(2)
    df.insert(6, "year", 2024)
    return df


def interconnectors() -> pd.DataFrame:
    """Lines between our zones (MW each way)."""
    cols = ["line_id", "zone_from", "zone_to", "capacity_forward_mw", "capacity_backward_mw",
            "type", "assumed", "source"]
    df = pd.DataFrame(LINES, columns=cols)
    df.insert(6, "year", 2024)
    df["note"] = ""
    return df[["line_id", "zone_from", "zone_to", "capacity_forward_mw", "capacity_backward_mw",
               "type", "year", "source", "assumed", "note"]]


def demand(zone_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The month x UTC-hour background-demand factors and their per-zone sources."""
    rows, sources = [], []
    for z in zone_ids:
        table = demand_shape(z)
        for m in range(12):
            for h in range(24):
                rows.append({"zone_id": z, "month": m + 1, "hour_utc": h,
                             "factor": round(float(table[m, h]), 4)})
        w, s, d, south, why = DEMAND[z]
        sources.append({"zone_id": z, "basis": "synthetic",
                        "source": DEMAND_SOURCE.format(
                            w=w, s=s, d=d, off=UTC_OFFSET[z], why=why,
                            hemi=", southern-hemisphere seasons" if south else ""),
                        "assumed": True})
    return pd.DataFrame(rows), pd.DataFrame(sources)


def build() -> dict[str, pd.DataFrame]:
    """All grid tables by file name."""
    zone_ids = pd.read_csv(ROOT / "abm" / "data" / "zones.csv").zone_id.tolist()
    shape, shape_sources = demand(zone_ids)
    return {"technologies.csv": technologies(), "fuels.csv": fuels(),
            "tranches.csv": tranches(), "fleet_regions.csv": fleet_regions(zone_ids),
            "capacity.csv": capacity(zone_ids), "fuel_price_months.csv": fuel_price_months(),
            "reservoirs.csv": reservoirs(), "water_values.csv": water_values(),
            "fuel_prices.csv": fuel_prices(zone_ids), "carbon_schemes.csv": carbon_schemes(),
            "interconnectors.csv": interconnectors(), "demand_shape.csv": shape,
            "demand_shape_sources.csv": shape_sources}


def main(argv: list[str] | None = None) -> int:
    """Write (or, with --check, compare) the grid tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the shipped files")
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, df in build().items():
        text = df.to_csv(index=False, lineterminator="\n")
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)} ({len(df)} rows)")
    if stale:
        print(f"stale: {stale}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
