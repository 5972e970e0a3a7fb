"""``python -m abm.cli ...``: the ``abm`` command."""

import sys

from abm.cli import main

if __name__ == "__main__":
    sys.exit(main())
