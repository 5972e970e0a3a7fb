"""Configuration: scenario files to frozen, validated objects (docs/architecture.md, floor
"config").

``scenario`` parses and validates scenario files (TOML), ``registry`` lists what a scenario may
choose at each extension point, ``limits`` the largest values accepted, ``population`` draws a
scenario's operator population. Imports only the data floor and ``abm.errors``; never the grid,
the core or the market.
"""
