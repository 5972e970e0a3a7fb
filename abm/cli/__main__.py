"""``python -m abm.cli ...``: the ``abm`` command.

One difference from the installed ``abm`` script: a Ctrl-C that lands while a string ``exec``
runs (the code that dataclasses, named tuples or numba generate as a module loads) marks the
process in CPython as ended by an unhandled Ctrl-C, even though the command catches it, prints
its one line and exits 130; under ``-m`` (not for a script) CPython then ends the process by
SIGINT after ``sys.exit`` (a parent sees -2 instead of 130; a shell shows 130 either way).
``abm run`` and ``abm report`` raise no Ctrl-C while their libraries and compiled code load
(they hold one until their first hour is done: ``abm/cli/interrupts.py``), except in a first
run's compiling.
"""

import sys

from abm.cli import main

if __name__ == "__main__":
    sys.exit(main())
