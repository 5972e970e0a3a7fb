"""Does the number of BLAS threads change the bytes of a result? Serial runs and local
processes use one OpenBLAS thread per core; Dask starts its workers with one
(``OPENBLAS_NUM_THREADS=1``). This runs (1) numpy's BLAS and LAPACK calls at several sizes and
(2) the runs of the sweep of ``tests/test_sweep.py`` with 1 and with 2 threads, each in a fresh
process, and prints which results differ. Figures in benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/blas_threads.py [--runs]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPES = [(30, 400), (40, 2000), (5, 50_000), (1000, 50), (100, 5000), (200, 200), (400, 400)]


def blas_digests() -> dict[str, str]:
    """Digest of each product and factorisation, by shape."""
    import numpy as np

    rng = np.random.default_rng(0)
    out = {}
    for m, n in SHAPES:
        a, x, y = rng.random((m, n)), rng.random(n), rng.random(m)
        results = {f"{m}x{n} A @ x": a @ x, f"{m}x{n} A.T @ y": a.T @ y,
                   f"{n} x @ x": x @ x, f"{m}x{n} A @ A.T": a @ a.T}
        if n >= m:  # the leading square block
            results |= {f"{m}x{m} inv": np.linalg.inv(a[:, :m]),
                        f"{m}x{m} solve": np.linalg.solve(a[:, :m], y)}
        for name, value in results.items():
            out[name] = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    return out


def run_digests() -> dict[str, str]:
    """Digest of each result row of the test sweep's runs."""
    sys.path.insert(0, str(ROOT))
    from abm.sweeps.design import runs
    from abm.sweeps.runner import execute, tasks
    from abm.sweeps.spec import load_spec
    from tests.test_sweep import TINY

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sweep.toml"
        path.write_text(textwrap.dedent(TINY))
        spec = load_spec(path)
        return {f"run {row['run_id']}": hashlib.sha256(pickle.dumps(row)).hexdigest()
                for row in map(execute, tasks(spec, runs(spec)))}


def main() -> None:
    """Compare the digests of fresh processes with 1 and with 2 BLAS threads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", action="store_true", help="also the test sweep's runs")
    parser.add_argument("--child", choices=("blas", "runs"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.stdout.buffer.write(pickle.dumps(blas_digests() if args.child == "blas"
                                             else run_digests()))
        return
    for part in ("blas", "runs") if args.runs else ("blas",):
        found = [pickle.loads(subprocess.run(
            [sys.executable, __file__, "--child", part], check=True, capture_output=True,
            env={**os.environ, "OPENBLAS_NUM_THREADS": str(threads)}).stdout)
            for threads in (1, 2)]
        differ = [k for k in found[0] if found[0][k] != found[1][k]]
        print(f"{part}: {len(found[0]) - len(differ)} of {len(found[0])} identical with 1 and 2 "
              f"threads; differ: {', '.join(differ) or 'none'}")


if __name__ == "__main__":
    main()
