"""The placement core, pure numpy and Mesa-free (docs/architecture.md, floor "core").

``instance`` compiles a scenario to dense arrays, ``signals`` gives zone prices and carbon,
``masks`` and ``costs`` what may go where at what cost, ``problem`` is the placement contract
(it knows no engine), ``flow`` (min-cost flow, numba) and ``placement`` (LP on HiGHS, through
``highs``) solve it, ``metrics`` and ``frontier`` are the paper's measures. Imports config,
data and ``abm.errors``; never the grid, the market or Mesa.
"""
