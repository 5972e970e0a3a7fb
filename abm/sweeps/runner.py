"""Running a sweep on any ``concurrent.futures.Executor``, writing runs as they finish.

Three executors, same results: in-process serial, local processes (``ProcessPoolExecutor``,
started with ``spawn``) and a Dask cluster (``distributed.Client.get_executor()``), local or
at a scheduler address. Only a bounded window of runs is in flight at once; every finished run
is written to its own Parquet part before the next is counted, so a crash or a kill of the
main process or a worker loses only the runs in flight, and ``resume`` runs exactly the
missing ones (and again any whose part is damaged or not its own). One process at a time runs
a sweep in a folder (a lock), and local worker processes end with the main process, even when
it is killed.
"""

from __future__ import annotations

import copy
import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from abm.config.scenario import parse_scenario, resolve_file, set_path
from abm.errors import InputError, quoted
from abm.files import folder_lock
from abm.market.fingerprint import code_fingerprint
from abm.market.loop import run as run_model
from abm.market.model import MarketModel
from abm.market.run import summary
from abm.sweeps.design import Run, runs
from abm.sweeps.results import (
    BASELINE,
    DAMAGED,
    MANIFEST,
    RESULTS,
    RUNS,
    SERIES_PREFIX,
    SWEEP,
    FolderKind,
    consolidate,
    finished_ids,
    read_manifest,
    schema,
    write_manifest,
    write_part,
)
from abm.sweeps.spec import OPTIONAL_OUTCOMES, Spec

log = logging.getLogger(__name__)  # the command line shows warnings as one line each

MANIFEST_EVERY_S = 2.0  # how often the manifest's progress is refreshed while runs finish


class SweepError(RuntimeError):
    """A sweep stopped because a run failed or a worker died; finished runs are kept."""


@dataclass(frozen=True)
class Task:
    """What a worker needs for one run (picklable; no file access on the worker).

    Attributes:
        run: the run (id, seed, parameter values).
        scenario: the resolved scenario table (its ``extends`` chain merged).
        source: the scenario file, named in errors.
        overrides: every setting of this run by dotted path (fixed, then the run's own).
        hours: hourly steps (``None``: the scenario's).
        outcomes: summary scalars to keep, by dotted path.
        series: per-hour model columns to keep whole.
    """

    run: Run
    scenario: dict[str, Any]
    source: str
    overrides: dict[str, Any]
    hours: int | None
    outcomes: tuple[str, ...]
    series: tuple[str, ...]


class Plan(Protocol):
    """Runs to execute into a folder, one Parquet row each, resumable: what :func:`run_plan`
    needs of a sweep (:class:`SweepPlan`) or of another set of runs into a folder."""

    @property
    def kind(self) -> str:
        """What the folder holds (``sweep``, ``audit``), as messages name it."""
        ...

    @property
    def folder(self) -> FolderKind:
        """How the folder's manifest is checked (its kind, fields, what to do if damaged)."""
        ...

    @property
    def source(self) -> str:
        """The file the runs come from, named in messages."""
        ...

    @property
    def resume_command(self) -> str:
        """The command that carries the runs on in a folder (``DIR`` stands for it)."""
        ...

    def runs(self) -> list[Run]:
        """Every run, in run-id order."""
        ...

    def tasks(self, todo: list[Run]) -> Iterator[Task]:
        """The tasks of the runs ``todo``."""
        ...

    def schema(self) -> pa.Schema:
        """The Arrow schema of a run's row."""
        ...

    def digest(self) -> str:
        """Hash of what the runs compute: a folder resumes only with the same one."""
        ...

    def header(self) -> dict[str, Any]:
        """The manifest fields of a new folder (name, settings, ``runs_total``, ...)."""
        ...

    def consolidate(self, out: Path) -> object:
        """Gather the finished rows in ``out`` into its results tables."""
        ...


@dataclass(frozen=True)
class SweepPlan:
    """A sweep file's runs as a :class:`Plan`."""

    spec: Spec
    kind: str = SWEEP.kind
    folder: FolderKind = SWEEP

    @property
    def source(self) -> str:
        """The sweep file."""
        return self.spec.source

    @property
    def resume_command(self) -> str:
        """``abm sweep SPEC --out DIR --resume``."""
        return f"abm sweep {self.spec.source} --out DIR --resume"

    def runs(self) -> list[Run]:
        """The design's runs, then the baselines."""
        return runs(self.spec)

    def tasks(self, todo: list[Run]) -> Iterator[Task]:
        """The tasks of ``todo`` (see :func:`tasks`)."""
        return tasks(self.spec, todo)

    def schema(self) -> pa.Schema:
        """A run's row: ids, parameters, outcomes, series."""
        return schema(self.spec)

    def digest(self) -> str:
        """The sweep table's and resolved scenario's hash."""
        return self.spec.digest()

    def header(self) -> dict[str, Any]:
        """The sweep as a table, its design and size."""
        spec = self.spec
        design = len(runs(spec))
        return {"name": spec.name,
                "spec_file": str(Path(spec.source).resolve()), "spec": spec.canonical(),
                "design": spec.design,
                "design_points": design // spec.replications - (spec.baseline is not None),
                "replications": spec.replications, "runs_total": design}

    def consolidate(self, out: Path) -> object:
        """``results.parquet`` and ``baseline.parquet``."""
        return consolidate(out, self.spec)


def tasks(spec: Spec, todo: list[Run]) -> Iterator[Task]:
    """The tasks of ``todo``, lazily (the scenario table is read once)."""
    scenario = resolve_file(Path(spec.scenario))
    for run in todo:
        own = spec.settings(run.values)
        if run.baseline:
            assert spec.baseline is not None  # baseline runs come from a [baseline] table
            own = spec.baseline
        yield Task(run, scenario, spec.scenario, {**spec.fixed, **own}, spec.hours,
                   spec.outcomes, spec.series)


def execute(task: Task, on_step: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Run the market for one task and return its results row; ``on_step(model)`` after
    every hour (``abm.market.loop.run``), if given.

    Returns:
        ``run_id``, ``sample``, ``replication``, ``seed``, the parameter values, the kept
        outcomes (units of the summary: MWh, $, kgCO2, shares) and ``series.X`` lists.
    """
    run = task.run
    data = copy.deepcopy(task.scenario)
    for dotted, value in task.overrides.items():
        set_path(data, dotted, value, task.source)
    try:
        scn = parse_scenario(data, task.source)
    except InputError as exc:  # InputError does not pickle back to the main process
        raise ValueError(str(exc)) from None
    model = MarketModel(scn, rng=run.seed, hours=task.hours)
    run_model(model, on_step=on_step)
    result = summary(model, "complete")
    row: dict[str, Any] = {"run_id": run.run_id, "sample": run.sample,
                           "replication": run.replication, "seed": run.seed, **run.values}
    for outcome in task.outcomes:
        # a run without deferrable work or events counts none of them: 0
        row[outcome] = float(result.get(outcome, 0.0) if outcome in OPTIONAL_OUTCOMES
                             else result[outcome])
    if task.series:
        df = model.datacollector.get_model_vars_dataframe()
        for name in task.series:
            row[SERIES_PREFIX + name] = (df[name].astype(float).tolist() if name in df
                                         else [0.0] * len(df))
    return row


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent ends


def die_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when process ``parent`` (the sweep's main process)
    ends, even by SIGKILL: the kernel's parent-death signal on Linux, else a watchdog thread."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (AttributeError, OSError):
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent ended before the signal was set
        os._exit(1)


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process (the reference executor)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Call ``fn(*args, **kwargs)`` now; return a finished future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


@contextmanager
def open_executor(workers: int | None = None, scheduler: str | None = None
                  ) -> Iterator[tuple[Executor, str, int]]:
    """An executor, a description of it and how many runs it executes at once.

    Args:
        workers: local processes (default: one per core); 1 runs serially in this process.
            With ``scheduler="local"``, the number of Dask workers.
        scheduler: ``"local"`` for a local Dask cluster, or a Dask scheduler address such as
            ``tcp://10.0.0.5:8786`` (its workers need this package installed).
    """
    if scheduler is None:
        n = workers or os.cpu_count() or 1
        if n == 1:
            yield SerialExecutor(), "serial (in process)", 1
            return
        pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=die_with_parent, initargs=(os.getpid(),))
        try:
            yield pool, f"{n} local processes", n
        finally:  # on an interrupt too: queued runs are dropped, running ones end
            pool.shutdown(wait=True, cancel_futures=True)
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("--scheduler", "dask", "Dask is not installed: pip install "
                         "'geoinference-abm[dask]' (dask[distributed])") from None
    if scheduler == "local":
        n = workers or os.cpu_count() or 1
        # dashboard_address=None only leaves out the Bokeh pages: the scheduler's HTTP server
        # (health, metrics) still binds 8787 and, when another cluster holds it, warns "Port
        # 8787 is already in use" (distributed.node.start_http_server). Port 0 on loopback
        # (not ":0", which binds every interface) never clashes; dashboard=False keeps the
        # pages off.
        with (LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address="127.0.0.1:0",
                           scheduler_kwargs={"dashboard": False}) as cluster,
              Client(cluster) as client):
            yield client.get_executor(pure=False), f"local Dask cluster, {n} workers", n
        return
    if workers is not None:
        raise InputError("--workers", "workers", "a remote Dask cluster has its own workers; "
                         "drop --workers or use --scheduler local")
    with Client(scheduler) as client:
        n = max(sum(client.nthreads().values()), 1)
        yield client.get_executor(pure=False), f"Dask cluster at {scheduler}, {n} threads", n


def prepare(plan: Plan, out: Path, *, resume: bool = False, restart: bool = False
            ) -> dict[str, Any]:
    """Check ``out`` against the plan, clear it on ``restart``, and return its manifest.

    Raises:
        InputError: ``out`` holds runs and neither flag is given; ``resume`` without runs
            there; or the runs there were made from other settings or another scenario.
    """
    out = Path(out)
    digest = plan.digest()
    if restart:
        shutil.rmtree(out / RUNS, ignore_errors=True)
        for name in (RESULTS, BASELINE, MANIFEST):
            (out / name).unlink(missing_ok=True)
    elif (out / MANIFEST).exists() or (out / MANIFEST).is_symlink():
        try:
            found = read_manifest(out, plan.folder)
        except InputError as exc:
            if not resume or exc.field == "kind":
                raise
            # the parts name their plan: a manifest rebuilt from the plan keeps exactly
            # those of these runs (the others are moved to runs/damaged/ and run again)
            log.warning("%s: %s: rebuilt from %s; the runs written for this %s are kept",
                        exc.source, exc.problem.split(";")[0], plan.source, plan.kind)
            return _new_manifest(plan, out, digest)
        if not resume:
            raise InputError(out, "", f"holds a {found.get('status')} {plan.kind} "
                             f"({found.get('runs_done')} of {found.get('runs_total')} runs): "
                             "pass --resume to carry on or --restart to start again")
        code = code_fingerprint()
        if found["code"] != code:
            raise InputError(out / MANIFEST, "code", "was made by other code (abm "
                             f"{quoted(found['code']['version'], 20)}, sources "
                             f"{quoted(found['code']['sources'], 20)}; this is abm "
                             f"{code['version']}, sources {code['sources']}): its runs and "
                             "the rest would come from two versions of the model; use another "
                             "--out, or --restart")
        if found.get("spec_hash") != digest:
            raise InputError(out / MANIFEST, "spec_hash", f"holds {plan.kind} "
                             f"{found.get('name')!r} with hash {found.get('spec_hash')}, but "
                             f"{plan.source} (with its scenario) makes {plan.kind} runs that "
                             f"hash to {digest}: a {plan.kind} resumes only with the same "
                             "settings and scenario; use another --out, or --restart")
        return found
    elif resume:
        raise InputError(out, "", f"no {plan.kind} to resume here (no manifest.json)")
    return _new_manifest(plan, out, digest)


def _new_manifest(plan: Plan, out: Path, digest: str) -> dict[str, Any]:
    """The manifest of a plan's runs starting in ``out``, written."""
    (out / RUNS).mkdir(parents=True, exist_ok=True)
    return write_manifest(out, {**plan.header(), "spec_hash": digest, "runs_done": 0,
                                "status": "running", "elapsed_s": 0.0, "executor": "",
                                "code": code_fingerprint()})


def run_sweep(spec: Spec, out: str | Path, executor: Executor | None = None, *,
              slots: int = 1, describe: str = "serial (in process)", resume: bool = False,
              restart: bool = False, progress: Callable[[int, int], None] | None = None
              ) -> dict[str, Any]:
    """Run (or resume) a sweep into ``out``; return the final manifest (see
    :func:`run_plan` for the arguments)."""
    return run_plan(SweepPlan(spec), out, executor, slots=slots, describe=describe,
                    resume=resume, restart=restart, progress=progress)


def run_plan(plan: Plan, out: str | Path, executor: Executor | None = None, *,
             slots: int = 1, describe: str = "serial (in process)", resume: bool = False,
             restart: bool = False, progress: Callable[[int, int], None] | None = None,
             first_hour: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a plan's runs into ``out``, writing each row as its run finishes;
    return the final manifest.

    Args:
        plan: the runs (a sweep's, an audit's).
        out: the folder (created).
        executor: where runs execute (default: serially in this process).
        slots: runs the executor executes at once; twice as many are kept in flight.
        describe: the executor, as recorded in the manifest.
        resume: carry on the runs in ``out``, running only the runs without a row.
        restart: discard the runs in ``out`` and start again.
        progress: called as ``progress(done, total)`` once at the start and after every run.
        first_hour: called once, in this process: after the first hour of the first run
            where the executor runs them here (a ``SerialExecutor``: that hour loads the
            compiled code, and ``abm sweep --workers 1`` holds a Ctrl-C until then,
            ``abm/cli/interrupts.py``), else before the runs start (they load it elsewhere).

    Raises:
        SweepError: a run failed or a worker died; finished runs are kept (resume later).
    """
    out = Path(out)
    executor = executor or SerialExecutor()
    if first_hour is not None and not isinstance(executor, SerialExecutor):
        first_hour()
        first_hour = None
    with folder_lock(out):
        return _run_locked(plan, out, executor, slots, describe, resume, restart, progress,
                           first_hour)


def _run_locked(plan: Plan, out: Path, executor: Executor, slots: int, describe: str,
                resume: bool, restart: bool, progress: Callable[[int, int], None] | None,
                first_hour: Callable[[], None] | None) -> dict[str, Any]:
    manifest = prepare(plan, out, resume=resume, restart=restart)
    sweep = manifest["spec_hash"]
    row_schema = plan.schema()
    all_runs = plan.runs()
    done, damaged = finished_ids(out, row_schema, sweep)
    for path, why in damaged.items():
        log.warning("%s: %s; moved to %s/%s/ and run again", path, why, RUNS, DAMAGED)
    todo = [r for r in all_runs if r.run_id not in done]
    total, count = len(all_runs), len(all_runs) - len(todo)
    elapsed0, start, last = float(manifest.get("elapsed_s", 0.0)), time.monotonic(), 0.0
    manifest = write_manifest(out, manifest, status="running", executor=describe,
                              runs_done=count)
    if progress:
        progress(count, total)
    queue = plan.tasks(todo)
    inflight: dict[Future, Run] = {}
    failure: str | None = None
    status = "interrupted"
    try:
        while True:
            while failure is None and len(inflight) < 2 * slots:
                task = next(queue, None)
                if task is None:
                    break
                on_step = _once(first_hour) if first_hour is not None else None
                first_hour = None
                try:
                    inflight[executor.submit(execute, task, on_step)] = task.run
                except BrokenProcessPool as exc:  # a worker died while runs were queued
                    failure = _describe_failure(task.run, exc)
            if not inflight:
                break
            finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: inflight[f].run_id):
                run = inflight.pop(future)
                try:
                    write_part(out, row_schema, future.result(), sweep)
                except Exception as exc:
                    failure = failure or _describe_failure(run, exc)
                    continue
                count += 1
                if progress:
                    progress(count, total)
                if time.monotonic() - last > MANIFEST_EVERY_S:
                    last = time.monotonic()
                    write_manifest(out, manifest, runs_done=count,
                                   elapsed_s=elapsed0 + last - start)
        status = "failed" if failure else "complete"
    finally:
        for future in inflight:
            future.cancel()
        write_manifest(out, manifest, status=status, runs_done=count,
                       elapsed_s=round(elapsed0 + time.monotonic() - start, 3))
        plan.consolidate(out)
    if failure:
        resume_with = plan.resume_command.replace("DIR", str(out))
        raise SweepError(f"{failure}; {count} of {total} runs are written in {out}: fix the "
                         f"cause and carry on with `{resume_with}`")
    return manifest


def _once(call: Callable[[], None]) -> Callable[[Any], None]:
    """An ``on_step`` that calls ``call()`` after the first step only."""
    called: list[bool] = []

    def on_step(model: Any) -> None:
        if not called:
            called.append(True)
            call()

    return on_step


def _describe_failure(run: Run, exc: BaseException) -> str:
    what = "baseline" if run.baseline else ", ".join(f"{k}={v!r}" for k, v in run.values.items())
    if isinstance(exc, BrokenProcessPool):
        return (f"a worker process died (killed, or out of memory) while running run "
                f"{run.run_id} ({what})")
    return f"run {run.run_id} ({what}, seed {run.seed}) failed: {type(exc).__name__}: {exc}"
