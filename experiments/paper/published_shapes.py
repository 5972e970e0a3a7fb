"""Our numbers beside published ones (docs/published.md): Sukprasert et al. (EuroSys 2024)
and Gorka, Rhodes and Roald (2024), from the cases in abm/report/published.py.

    python experiments/paper/published_shapes.py [--out out/paper]
"""

from __future__ import annotations

import pandas as pd
from common import parse_out

from abm.report.published import (
    SUKPRASERT_ADDITIONS,
    SUKPRASERT_CASES,
    SUKPRASERT_PUBLISHED,
    attributed_vs_system,
    carbon_reduction,
    once_vs_hourly,
    sukprasert_scenario,
)

BUDGETS_MS = (50, 100, 150, 200, 250, 300)


def main(argv: list[str] | None = None) -> None:
    """Print the comparison tables and write published_shapes_*.csv."""
    out = parse_out(__doc__.split("\n")[0], argv)
    scn = sukprasert_scenario()
    rows = []
    for setup, changes in SUKPRASERT_ADDITIONS.items():
        for case, idle in SUKPRASERT_CASES.items():
            ours = carbon_reduction(sukprasert_scenario(idle, **changes), BUDGETS_MS)
            ours = ours.set_index("budget_ms").reduction
            rows += [{"setup": setup, "case": case, "rtt_cap_ms": b,
                      "ours": round(float(ours[b]), 3),
                      "sukprasert_2024": SUKPRASERT_PUBLISHED[case].get(b)}
                     for b in BUDGETS_MS]
    frontier_table = pd.DataFrame(rows)
    shifts = pd.DataFrame([{"frictions": f, **once_vs_hourly(scn, 100.0, frictions=f)}
                           for f in (True, False)])
    shifts["once_share_of_hourly_gain"] = ((shifts.local_usd - shifts.once_usd)
                                           / (shifts.local_usd - shifts.hourly_usd))
    signals = pd.DataFrame(attributed_vs_system()).T.rename_axis("placement_signal").reset_index()
    for name, df in (("frontier", frontier_table), ("once_vs_hourly", shifts),
                     ("signals", signals)):
        df.to_csv(out / f"published_shapes_{name}.csv", index=False)
        print(df.to_string(index=False), end="\n\n")


if __name__ == "__main__":
    main()
