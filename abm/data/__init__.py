"""The shipped data and its readers (docs/architecture.md, floor "data").

The tables live in this folder (``*.csv``, ``residency.toml``, ``grid/*.csv``; every source in
``SOURCES.md``); ``dataset`` reads regions, zones, round-trip times, profiles and residency
regimes, ``grid_tables`` the grid market's tables, ``traces`` the hourly traces a user brings,
and ``geo`` holds the great-circle distance model of round-trip time fitted to them. Imports
only ``abm.errors``.
"""
