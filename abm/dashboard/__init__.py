"""The interactive dashboard (``abm dashboard``): a Solara page over a pure controller.

``state`` computes everything shown (no solara); ``plots`` draws it with matplotlib; ``app`` is
the Solara page (needs the optional ``viz`` extra); ``server`` serves it in this process behind
host, origin and session checks; the ``abm dashboard`` subcommand that serves it is
``abm/cli/dashboard.py``.
"""

SCENARIO_ENV = "ABM_DASHBOARD_SCENARIO"  # the scenario file the served page opens first
