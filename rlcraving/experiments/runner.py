"""Running a study: one task per (grid point, seed), on local processes or a Ray cluster.

Each task's tables are written atomically (temporary file, then `os.replace`) under
``<out>/runs/<key>.parquet`` as soon as it finishes, where the key is a digest of everything that
determines the task's numbers. A re-run skips tasks whose file exists, so a killed sweep loses
only the tasks in flight, and the final table is the same as an uninterrupted run's.

Backends:

- ``local``: `concurrent.futures.ProcessPoolExecutor` with ``workers`` processes (spawned, one
  BLAS/torch thread each); ``workers=1`` runs in this process.
- ``ray``: tasks as Ray remote functions; attaches to a cluster at ``address`` or starts a local
  instance with ``workers`` CPUs (and shuts it down afterwards). Workers return their tables to
  the driver, which writes them, so workers need no shared filesystem.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal, Protocol

import pandas as pd
from tqdm.auto import tqdm

from rlcraving.experiments.loader import Study
from rlcraving.experiments.spec import SB3AgentSpec, TDAgentSpec, run_key
from rlcraving.files import atomic_write

Backend = Literal["local", "ray"]
BACKENDS: tuple[str, ...] = ("local", "ray")
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class CohortLike(Protocol):
    """What a runner returns (`rlcraving.agents.cohort.CohortResult`)."""

    table: pd.DataFrame
    traces: pd.DataFrame


@dataclass(frozen=True)
class RunTask:
    """Everything one cohort run needs: picklable, and sent as is to a worker."""

    key: str
    point: int
    seed: int
    condition: str
    columns: dict[str, Any]
    agent: TDAgentSpec | SB3AgentSpec
    n_subjects: int
    calendar: tuple[dict[str, Any], ...]
    env_kwargs: dict[str, Any]
    trace_sessions: tuple[int, ...]
    entries: tuple[str, ...] = field(default=())


Runner = Callable[[RunTask], CohortLike]


class RunError(RuntimeError):
    """Some tasks failed; the others' results are saved."""


def plan(study: Study) -> list[RunTask]:
    """The study's tasks in order: grid points (row-major over the grid keys) times seeds."""
    names = study.axis_columns
    tasks = []
    for point in study.points:
        spec = point.spec
        for seed in spec.seeds:
            tasks.append(RunTask(
                key=run_key(spec, seed), point=point.index, seed=seed, condition=study.condition(point),
                columns=point.columns(names), agent=spec.agent_spec, n_subjects=spec.n_subjects,
                calendar=tuple(spec.calendar_entries()), env_kwargs=spec.env_kwargs(),
                trace_sessions=spec.trace_sessions(), entries=tuple(spec.entry_names())))
    return tasks


def simulate(task: RunTask) -> CohortLike:
    """The default runner: a TD cohort (`run_cohort`) or an SB3 arm (`run_sb3_cohort`)."""
    agent = task.agent
    if isinstance(agent, TDAgentSpec):
        from rlcraving.agents.cohort import run_cohort
        return run_cohort(task.n_subjects, list(task.calendar), agent=agent.name,
                          agent_params=dict(agent.params) or None, env_kwargs=dict(task.env_kwargs),
                          seed=task.seed, condition=task.condition, trace_sessions=task.trace_sessions)
    from rlcraving.agents.sb3 import run_sb3_cohort
    return run_sb3_cohort(task.n_subjects, list(task.calendar), algo=agent.algo,
                          algo_kwargs=dict(agent.algo_kwargs) or None, env_kwargs=dict(task.env_kwargs),
                          seed=task.seed, condition=task.condition, trace_sessions=task.trace_sessions)


def execute(task: RunTask, runner: Runner = simulate) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run one task; its tables with the point, seed, grid values and calendar entry names added."""
    result = runner(task)
    return _decorate(result.table, task), _decorate(result.traces, task)


def _decorate(frame: pd.DataFrame, task: RunTask) -> pd.DataFrame:
    frame = frame.copy()
    front: dict[str, Any] = {"condition": task.condition, "point": task.point, **task.columns, "seed": task.seed}
    for i, (name, value) in enumerate(front.items()):
        if name in frame.columns:
            frame = frame.drop(columns=name)
        frame.insert(i, name, value)
    if "day" in frame.columns and task.entries:
        entries = pd.Series(task.entries, dtype="string")
        position = list(frame.columns).index("day") + 1
        frame.insert(position, "entry", entries.reindex(frame["day"].to_numpy()).to_numpy())
    return frame.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------


class RunStore:
    """Finished tasks' tables under ``<out>/runs``: ``<key>.parquet`` (the table, written last,
    marks the task done) and ``<key>.traces.parquet``."""

    def __init__(self, out: Path):
        self.folder = Path(out) / "runs"

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.parquet", self.folder / f"{key}.traces.parquet"

    def done(self, key: str) -> bool:
        """Whether the task `key` has finished."""
        table, traces = self._paths(key)
        return table.exists() and traces.exists()

    def save(self, key: str, table: pd.DataFrame, traces: pd.DataFrame) -> None:
        """Store a finished task (traces first, so a table file always has its traces)."""
        table_path, traces_path = self._paths(key)
        atomic_write(traces_path, lambda p: traces.to_parquet(p, index=False))
        atomic_write(table_path, lambda p: table.to_parquet(p, index=False))

    def load(self, key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The tables of a finished task."""
        table, traces = self._paths(key)
        return pd.read_parquet(table), pd.read_parquet(traces)


def collect(tasks: Sequence[RunTask], store: RunStore) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All tasks' tables, concatenated in plan order."""
    loaded = [store.load(t.key) for t in tasks]
    tables = [t for t, _ in loaded]
    traces = [tr for _, tr in loaded if len(tr)]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    trace = pd.concat(traces, ignore_index=True) if traces else pd.DataFrame()
    return table, trace


# ---------------------------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------------------------


def run_tasks(tasks: Sequence[RunTask], store: RunStore, *, runner: Runner = simulate, backend: Backend = "local",
              workers: int = 1, address: str | None = None, progress: bool = True) -> int:
    """Run the tasks not yet in `store`; returns how many ran. Raises `RunError` after the
    remaining tasks finished if any failed."""
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not allowed; choose one of {list(BACKENDS)}")
    if workers < 1:
        raise ValueError(f"workers={workers} must be at least 1")
    pending = [t for t in tasks if not store.done(t.key)]
    unique = list({t.key: t for t in pending}.values())
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), desc="runs", unit="run",
               disable=not progress, file=sys.stderr)
    failures: list[str] = []

    def finished(task: RunTask, outcome: tuple[pd.DataFrame, pd.DataFrame] | BaseException) -> None:
        if isinstance(outcome, BaseException):
            failures.append(f"{task.condition} (seed {task.seed}): "
                            + "".join(traceback.format_exception_only(type(outcome), outcome)).strip())
        else:
            store.save(task.key, *outcome)
        bar.update(sum(t.key == task.key for t in pending))

    try:
        if not unique:
            pass
        elif backend == "ray":
            _run_ray(unique, runner, workers, address, finished)
        elif workers == 1:
            for task in unique:
                try:
                    outcome: Any = execute(task, runner)
                except Exception as err:
                    outcome = err
                finished(task, outcome)
        else:
            _run_processes(unique, runner, workers, finished)
    finally:
        bar.close()
    if failures:
        raise RunError(f"{len(failures)} of {len(unique)} run(s) failed (the others are saved; re-run to retry):\n  "
                       + "\n  ".join(failures))
    return len(unique)


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Child processes started inside inherit one BLAS/OpenMP thread each."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update(dict.fromkeys(_THREAD_VARS, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _init_worker() -> None:
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _run_processes(tasks: Sequence[RunTask], runner: Runner, workers: int,
                   finished: Callable[[RunTask, Any], None]) -> None:
    with _single_threaded_children(), ProcessPoolExecutor(
            max_workers=min(workers, len(tasks)), mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        futures: dict[Future, RunTask] = {pool.submit(execute, t, runner): t for t in tasks}
        try:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    error = future.exception()
                    finished(futures[future], error if error is not None else future.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _run_ray(tasks: Sequence[RunTask], runner: Runner, workers: int, address: str | None,
             finished: Callable[[RunTask, Any], None]) -> None:
    try:
        import ray
    except ImportError:
        raise RuntimeError("the ray backend needs Ray: pip install 'rlcraving[ray]' (or use --backend local)") \
            from None
    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if address is None:
            kwargs["num_cpus"] = workers
        ray.init(address=address, **kwargs)
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(execute)
        refs = {remote.remote(t, runner): t for t in tasks}
        remaining = list(refs)
        while remaining:
            done, remaining = ray.wait(remaining, num_returns=1)
            for ref in done:
                try:
                    outcome: Any = ray.get(ref)
                except ray.exceptions.RayTaskError as err:
                    outcome = err.as_instanceof_cause()
                finished(refs[ref], outcome)
    finally:
        if started:
            ray.shutdown()
