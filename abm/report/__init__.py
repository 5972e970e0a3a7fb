"""Products of runs and sweeps (docs/architecture.md, floor "products").

``results`` reads a run (:class:`~abm.report.results.Run`), ``run_report`` writes the scenario
report (``abm report``), ``sweep_report`` the sweep report (``abm sweep report``), ``figures``
and ``worldmap`` draw, ``findings`` words the headline results, ``decentralisation`` prices the
market against the planner, ``published`` sets up cases like published studies and
``pypsa_export`` writes a run's grid as a PyPSA network (``abm export pypsa``). May import
every floor below (sweeps, market, grid, core, config, data, base); never the faces.
"""
