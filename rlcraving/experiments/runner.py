"""Running a study: one task per (grid point, seed), on local processes or a Ray cluster.

Each task's tables are written atomically (temporary file, then `os.replace`) under
``<out>/runs/<key>.parquet`` as soon as it finishes, where the key is a digest of everything that
determines the task's numbers, with their SHA-256 checksums beside them. A re-run skips tasks
whose files match their checksums and runs again (saying so) any whose files are missing,
damaged or edited, so a killed sweep loses only the tasks in flight, and the final table is the
same as an uninterrupted run's. An interrupt (Ctrl-C) terminates the workers at once and keeps
every run that finished.

Backends:

- ``local``: `concurrent.futures.ProcessPoolExecutor` with ``workers`` processes (spawned, one
  BLAS/torch thread each); ``workers=1`` runs in this process.
- ``ray``: tasks as Ray remote functions; attaches to a cluster at ``address`` or starts a local
  instance with ``workers`` CPUs (and shuts it down afterwards). Workers return their tables to
  the driver, which writes them, so workers need no shared filesystem.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
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
from rlcraving.files import atomic_write_bytes, atomic_write_text, remove_stale_tmp

Backend = Literal["local", "ray"]
BACKENDS: tuple[str, ...] = ("local", "ray")
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


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
    """Finished tasks' tables under ``<out>/runs``: ``<key>.parquet`` (the table),
    ``<key>.traces.parquet`` and ``<key>.sha256.json`` (the SHA-256 of both, written last: it
    marks the task done). A task counts as done only while both files match their checksums."""

    def __init__(self, out: Path):
        self.folder = Path(out) / "runs"

    def _paths(self, key: str) -> tuple[Path, Path, Path]:
        return (self.folder / f"{key}.parquet", self.folder / f"{key}.traces.parquet",
                self.folder / f"{key}.sha256.json")

    def problem(self, key: str) -> str | None:
        """Why task `key`'s stored files are not a finished run (None when they are): "absent" when
        nothing is stored, otherwise what is missing, unreadable or changed."""
        table, traces, sums = self._paths(key)
        if not any(p.exists() for p in (table, traces, sums)):
            return "absent"
        try:
            recorded = json.loads(sums.read_text(encoding="utf-8"))
            if not isinstance(recorded, dict):
                raise ValueError
        except FileNotFoundError:
            return "its checksum file is missing (the run did not finish saving)"
        except (OSError, ValueError):
            return f"its checksum file {sums.name} is unreadable"
        for path, name in ((table, "table"), (traces, "traces")):
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except FileNotFoundError:
                return f"{path.name} is missing"
            except OSError as err:
                return f"{path.name} cannot be read ({err.strerror})"
            if digest != recorded.get(name):
                return f"{path.name} differs from the checksum recorded when the run finished (edited or damaged)"
        return None

    def done(self, key: str) -> bool:
        """Whether the task `key` has finished and its files match their checksums."""
        return self.problem(key) is None

    def discard(self, key: str) -> None:
        """Delete whatever is stored for task `key`."""
        for path in self._paths(key):
            path.unlink(missing_ok=True)

    def save(self, key: str, table: pd.DataFrame, traces: pd.DataFrame) -> None:
        """Store a finished task: the tables, then their checksums (each file written atomically)."""
        table_path, traces_path, sums_path = self._paths(key)
        sums = {}
        for frame, path, name in ((traces, traces_path, "traces"), (table, table_path, "table")):
            data = _parquet_bytes(frame)
            atomic_write_bytes(path, data)
            sums[name] = hashlib.sha256(data).hexdigest()
        atomic_write_text(sums_path, json.dumps(sums, indent=1) + "\n")

    def load(self, key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The tables of a finished task."""
        table, traces, _ = self._paths(key)
        return pd.read_parquet(table), pd.read_parquet(traces)

    def remove_stale_tmp(self) -> list[Path]:
        """Delete temporary files of writers that died (a killed sweep's), in ``runs/``."""
        return remove_stale_tmp(self.folder)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


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
    stale = store.remove_stale_tmp()
    if stale:
        _note(f"removed {len(stale)} temporary file(s) left in {store.folder} by an interrupted writer")
    pending = []
    for task in tasks:
        problem = store.problem(task.key)
        if problem is None:
            continue
        if problem != "absent":
            _note(f"run {task.key} ({task.condition}, seed {task.seed}): {problem}; running it again")
            store.discard(task.key)
        pending.append(task)
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


def _note(message: str) -> None:
    """A message for the user on stderr (shown even without the progress bar)."""
    tqdm.write(message, file=sys.stderr)


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Child processes started inside inherit one BLAS/OpenMP/numba thread each (the workers share the cores)."""
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
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it stops the workers
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _run_processes(tasks: Sequence[RunTask], runner: Runner, workers: int,
                   finished: Callable[[RunTask, Any], None]) -> None:
    """Run `tasks` on a pool of spawned processes. On an interrupt or error in the driver, runs
    already finished are still handed to `finished`, and the workers are terminated at once."""
    with _single_threaded_children():
        pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=get_context("spawn"),
                                   initializer=_init_worker)
    futures: dict[Future, RunTask] = {pool.submit(execute, t, runner): t for t in tasks}
    remaining, handled = set(futures), set()
    try:
        while remaining:
            done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for future in done:
                handled.add(future)
                error = future.exception()
                finished(futures[future], error if error is not None else future.result())
    except BaseException:
        _stop(pool)
        for future in set(futures) - handled:  # finished while the driver was busy: keep them
            if future.done() and not future.cancelled() and future.exception() is None:
                with contextlib.suppress(Exception):
                    finished(futures[future], future.result())
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued tasks and terminate the pool's worker processes (computing or idle)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)


@contextlib.contextmanager
def ray_connection(workers: int, address: str | None) -> Iterator[Any]:
    """The `ray` module, connected: to the cluster at `address`, or to a local instance of `workers` CPUs
    started here (and shut down on leaving; an instance already running is used and left running)."""
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
        yield ray
    finally:
        if started:
            ray.shutdown()


def _run_ray(tasks: Sequence[RunTask], runner: Runner, workers: int, address: str | None,
             finished: Callable[[RunTask, Any], None]) -> None:
    with ray_connection(workers, address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=0)(execute)
        refs = {remote.remote(t, runner): t for t in tasks}
        remaining = list(refs)
        try:
            while remaining:
                done, remaining = ray.wait(remaining, num_returns=1)
                for ref in done:
                    try:
                        outcome: Any = ray.get(ref)
                    except ray.exceptions.RayTaskError as err:
                        outcome = err.as_instanceof_cause()
                    finished(refs[ref], outcome)
        except BaseException:
            ready, remaining = ray.wait(remaining, num_returns=len(remaining), timeout=0) if remaining else ([], [])
            for ref in remaining:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            for ref in ready:  # finished while the driver was busy: keep them
                with contextlib.suppress(Exception):
                    finished(refs[ref], ray.get(ref))
            raise
