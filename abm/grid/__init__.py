"""The grid as an electricity market, Mesa-free: data, supply stacks, availability calibration,
coupled clearing over interconnectors (see ``docs/grid.md``).

Layers, imports pointing down: ``data`` (the tables) -> ``stack`` (units and offers) ->
``availability`` (hourly calibration) and ``clearing`` (merit order, HiGHS transport model) ->
``market`` (``GridMarket``: what the Mesa ``GridZone`` agents call).
"""

from abm.data.grid_tables import TECHNOLOGIES, GridData, load_grid_data
from abm.grid.clearing import Dispatch, Network, build_network, traced_carbon_kg_per_mwh
from abm.grid.market import Calibration, GridMarket
from abm.grid.stack import Fleet, build_fleet

__all__ = ["TECHNOLOGIES", "Calibration", "Dispatch", "Fleet", "GridData", "GridMarket",
           "Network", "build_fleet", "build_network", "load_grid_data",
           "traced_carbon_kg_per_mwh"]
