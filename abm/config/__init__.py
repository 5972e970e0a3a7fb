"""Configuration: scenario files to frozen, validated objects (docs/architecture.md, floor
"config").

``scenario`` loads a scenario file (``load_scenario``) through ``resolve`` (files, ``extends``,
shipped names, overrides), ``reader`` and ``tables`` (TOML tables read with errors naming the
file, the field and what is allowed) and ``parse`` (the whole file), into the frozen objects of
``schema``, where every default is stated once. ``registry`` lists what a scenario may choose
at each extension point, ``limits`` the largest values accepted, ``population`` draws a
scenario's operator population. Imports only the data floor and ``abm.errors``; never the grid,
the core or the market.
"""
