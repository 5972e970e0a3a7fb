"""What the model can compute: the bounds that validation puts on every size and value.

Standard library only (the command line's argument types use it). Each bound keeps a run's
memory and time within a workstation and every total finite; the messages quote the bound.
"""

from __future__ import annotations

import datetime as dt

# Seeds are stored as signed 64-bit integers (run manifests, sweep tables).
MAX_SEED = 2**63 - 1
# Ten leap years of hours: signals are (hours x zones) arrays, tables have a row per hour.
MAX_HOURS = 87_840
# Time stamps are numpy/pandas nanoseconds (which end in 2262); runs start and end within these.
FIRST_START = dt.datetime(1900, 1, 1)
LAST_END = dt.datetime(2200, 1, 1)
# Operators and workload classes: the placement holds dense (operators x classes x regions) arrays.
MAX_OPERATORS = 100_000
MAX_CLASSES = 100
MAX_CELLS = 20_000_000  # operators x classes x regions: 160 MB per float64 array
# Any number in a scenario or sweep file, in its own unit (MW, $/MWh, ms, GB, ...): far above any
# real value, and low enough that sums and products over a run stay finite.
MAX_VALUE = 1e12
# Any other whole number (lags, review periods, levels, samples, ...).
MAX_INTEGER = 1_000_000_000
# Spread of drawn operator sizes (lognormal sigma): beyond it, one operator holds all the demand
# to machine precision and the rest round to zero.
MAX_SIZE_SIGMA = 5.0
# A sweep's runs (design points x replications): one Parquet row and one model run each.
MAX_RUNS = 1_000_000
# Seeds per scenario of `abm report --replications` (each one a full market run).
MAX_REPLICATIONS = 100

# Bytes read from a file before it is parsed (abm.files.read_input): larger files are refused
# with a message naming the bound, so no file (a 3 GB scenario, /dev/zero) exhausts memory.
# A scenario or sweep file (TOML): 100,000 listed operators fit in a few MB.
MAX_TOML_BYTES = 64 * 2**20
# A trace (CSV): a year of hours for 500 zones at about 60 bytes a row.
MAX_TRACE_BYTES = 256 * 2**20
# A table of a [grid] data folder (CSV).
MAX_TABLE_BYTES = 64 * 2**20
# A stored file the tool reads back: run.json, summary.json, a checkpoint's JSON, a sweep's
# manifest.json, a Parquet part of a run's or a sweep's table.
MAX_STORED_BYTES = 2 * 2**30
# A checkpoint's arrays (.npz), unpacked: every array's declared size counts, so a zip bomb is
# refused before anything is decompressed.
MAX_STATE_BYTES = 4 * 2**30
# How long a move may be expected to be held (policy.holding_hours, h): friction is amortised
# over it, so a smaller value would make the amortised friction overflow.
MIN_HOLDING_HOURS = 0.01
