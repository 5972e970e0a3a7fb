"""The grid as an electricity market, Mesa-free: data, supply stacks, availability calibration,
coupled clearing over interconnectors (see ``docs/grid.md``).

Layers, imports pointing down: ``abm.data.grid_tables`` (the tables) -> ``stack`` (units and
costs) -> ``availability`` (the hour's weather), ``clearing`` (merit order, HiGHS transport
model), ``trade`` (flows at the status quo) and ``offers`` (water values, mark-ups) ->
``market`` (``GridMarket``: calibrate the hour at the status quo, then clear; what the Mesa
``GridZone`` agents call); ``shedding`` (two clearings compared at the load both serve) and
``ties`` (the clearing's tie rule).
"""

from abm.data.grid_tables import TECHNOLOGIES, GridData, load_grid_data
from abm.grid.clearing import Dispatch, Network, build_network, traced_carbon_kg_per_mwh
from abm.grid.market import Calibration, GridMarket
from abm.grid.shedding import at_served_load
from abm.grid.stack import Fleet, build_fleet

__all__ = ["TECHNOLOGIES", "Calibration", "Dispatch", "Fleet", "GridData", "GridMarket",
           "Network", "at_served_load", "build_fleet", "build_network", "load_grid_data",
           "traced_carbon_kg_per_mwh"]
