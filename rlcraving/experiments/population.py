"""Population-scale cohorts: N subjects run as chunks on local processes or Ray, merged into one table.

Subject i of a seed's cohort is the same whatever cohort it is in (its random key is made from
the seed and i), so a cohort of N subjects splits into chunks of subjects [s, s + chunk) that
run independently, and the chunks' tables, concatenated, are the whole cohort's table bit for
bit. Each chunk runs `run_cohort_arms` (the arms share their history, lived once per chunk), and
its rows, an Arrow table, are written (by the worker that ran it, on local processes) to a folder
beside the table as an Arrow IPC file; the driver appends each finished chunk, in subject order,
to one Parquet file as the study goes (the same file whatever the workers). Only a few chunks are
held at a time, so memory is bounded by the chunk size and the number of workers, not by N. The
chunk files are kept until the table is complete, so an interrupt (Ctrl-C) keeps them and the same
command resumes, running only the chunks not finished:

    rlcraving population --subjects 1000000 --workers 2                      # local processes
    rlcraving population --subjects 1000000 --backend ray --address auto     # a Ray cluster

(the headline study: `headline_study`).

Columns are those of the cohort table (`rlcraving.agents.cohort.tidy_table`): subject (int64),
condition, day (int64), phase, measure (dictionary-coded strings), value (float64); read it with
`pandas.read_parquet` (condition, phase and measure come back as categoricals) or, larger than
memory, with `pyarrow.dataset` / `pyarrow.parquet.ParquetFile.iter_batches`.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shlex
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.parquet as pq

from rlcraving.checks import check_number
from rlcraving.experiments.runner import (
    BACKENDS,
    Backend,
    _init_worker,
    _single_threaded_children,
    _stop,
    ray_connection,
)
from rlcraving.files import atomic_write, output_folder

#: Subjects per chunk: the core and the learners run fastest at a few thousand subjects (their
#: per-subject state then stays in the processor's caches); a chunk of 2,048 of the headline study
#: (5 arms, 21 sessions, 11 measures) is 2.4 M rows, 66 MB.
DEFAULT_CHUNK_SUBJECTS = 2048
#: Compression of the chunk files waiting to be merged (Arrow IPC): a 2,048-subject chunk of the
#: headline study is 3 MB, written in 25 ms and read in 16 (66 MB and 28 / 8 ms uncompressed).
PART_COMPRESSION = "lz4"
#: Schema of the merged table (28 bytes a row).
SCHEMA = pa.schema([("subject", pa.int64()), ("condition", pa.dictionary(pa.int16(), pa.string())),
                    ("day", pa.int64()), ("phase", pa.dictionary(pa.int8(), pa.string())),
                    ("measure", pa.dictionary(pa.int8(), pa.string())), ("value", pa.float64())])


#: Doses of the headline study (rat i.p. baclofen, mg/kg, 30 min before the cue test).
HEADLINE_DOSES_MG_PER_KG = (0.0, 1.25, 2.5, 3.75, 5.0)


def headline_study() -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The headline study as (history, arms): the default calendar's self-administration and
    extinction, then the cue-induced reinstatement test after each baclofen dose."""
    from rlcraving.pharmacology import RatIP
    from rlcraving.protocol import default_calendar

    entries = [dict(e.overrides, phase=e.phase, days=e.days) for e in default_calendar().entries]
    arms = {f"{dose:g} mg/kg": [dict(entries[-1], baclofen=RatIP(dose))] for dose in HEADLINE_DOSES_MG_PER_KG}
    return entries[:-1], arms


@dataclass(frozen=True)
class Chunk:
    """One chunk of a population: subjects first ... first + n - 1 through the shared history, then each arm."""

    first: int
    n: int
    history: tuple[Mapping[str, Any], ...]
    arms: Mapping[str, tuple[Mapping[str, Any], ...]]
    agent: str
    agent_params: Mapping[str, float] | None
    env_kwargs: Mapping[str, Any] | None
    seed: int


@dataclass(frozen=True)
class PopulationResult:
    """Where a population's table went, its size, and what it cost."""

    path: Path
    n_subjects: int
    n_rows: int
    n_chunks: int
    seconds: float
    #: Peak resident memory of this process and of the largest worker process (MB); the
    #: study's peak is at most driver + workers x worker.
    driver_peak_mb: float
    worker_peak_mb: float
    workers: int
    #: Chunks found finished by an earlier, interrupted call and not run again.
    resumed_chunks: int = 0

    @property
    def peak_mb_bound(self) -> float:
        """Upper bound of the resident memory of the whole run (MB)."""
        return self.driver_peak_mb + (self.workers * self.worker_peak_mb if self.workers > 1 else 0.0)


def run_chunk(chunk: Chunk) -> pa.Table:
    """The rows of one chunk, every arm, in arm order (an Arrow table with `SCHEMA`)."""
    from rlcraving.agents.cohort import run_cohort_arms

    results = run_cohort_arms(chunk.n, list(chunk.history), {k: list(v) for k, v in chunk.arms.items()},
                              agent=chunk.agent, agent_params=chunk.agent_params, env_kwargs=chunk.env_kwargs,
                              seed=chunk.seed, first_subject=chunk.first)
    conditions = pa.array(list(chunk.arms), pa.string())
    tables = []
    for code, name in enumerate(chunk.arms):
        frame = results.pop(name).table
        tables.append(pa.table({
            "subject": frame["subject"].to_numpy(),
            "condition": pa.DictionaryArray.from_arrays(np.full(len(frame), code, dtype=np.int16), conditions),
            "day": frame["day"].to_numpy(),
            "phase": _categories(frame["phase"], pa.int8()),   # 28 bytes a row instead of ~80
            "measure": _categories(frame["measure"], pa.int8()),
            "value": frame["value"].to_numpy(),
        }, schema=SCHEMA))
    return pa.concat_tables(tables)


def _categories(column: pd.Series, index: pa.DataType) -> pa.DictionaryArray:
    """`column` dictionary-coded with its distinct values sorted, as `column.astype("category")` codes it."""
    values = pa.array(column)
    names = pc.unique(values)
    names = names.take(pc.sort_indices(names))
    return pa.DictionaryArray.from_arrays(pc.index_in(values, value_set=names).cast(index), names.cast(pa.string()))


def run_population(n_subjects: int, history: Sequence[Mapping[str, Any]],
                   arms: Mapping[str, Sequence[Mapping[str, Any]]], out: str | Path, *,
                   chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS, workers: int = 1, backend: Backend = "local",
                   address: str | None = None, agent: str = "q_learning",
                   agent_params: Mapping[str, float] | None = None, env_kwargs: Mapping[str, Any] | None = None,
                   seed: int = 0, progress: bool = False) -> PopulationResult:
    """Run `n_subjects` TD subjects through `history` and then each of `arms` (as `run_cohort_arms`),
    in chunks of `chunk_subjects`, on `workers` local processes or Ray (`backend`, `address`);
    write the merged table to the Parquet file `out` (atomically) and return where and what it cost.

    Each finished chunk is kept in a folder beside `out` until the merge; after an interrupt
    (`PopulationInterrupted`) the same call runs only the chunks not yet finished."""
    n = check_number("n_subjects", n_subjects, lo=1, hi=2**31, integer=True)
    size = check_number("chunk_subjects", chunk_subjects, lo=1, hi=10_000_000, integer=True)
    workers = check_number("workers", workers, lo=1, hi=4096, integer=True)
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not allowed; choose one of {list(BACKENDS)}")
    if not isinstance(arms, Mapping) or not arms:
        raise ValueError(f"arms={arms!r} must be a non-empty dict of name -> calendar entries")
    chunks = [Chunk(first, count, tuple(history), {k: tuple(v) for k, v in arms.items()}, agent, agent_params,
                    env_kwargs, int(seed)) for first, count in ((f, min(size, n - f)) for f in range(0, n, size))]
    out = Path(out)
    parts = _parts_folder(out, n, size, chunks[0])
    parts.mkdir(parents=True, exist_ok=True)
    todo = [c for c in chunks if not _part(parts, c).exists()]
    start = time.perf_counter()
    rows = 0

    def merge(tmp: Path) -> None:
        """Append every chunk, in subject order, to the Parquet file `tmp` as soon as it and those before are done."""
        nonlocal rows
        finished = _finished(todo, parts, workers, backend, address)
        running = {c.first for c in todo}
        try:
            with pq.ParquetWriter(tmp, SCHEMA) as writer:
                for done, chunk in enumerate(chunks, start=1):
                    if chunk.first in running:
                        next(finished)
                        if progress:
                            print(f"\rchunks {done}/{len(chunks)}", end="", file=sys.stderr, flush=True)
                    table = feather.read_table(_part(parts, chunk))
                    writer.write_table(table)
                    rows += table.num_rows
        finally:
            finished.close()   # stops the workers (at once, after an interrupt or error)

    try:
        atomic_write(out, merge)
    except KeyboardInterrupt:
        kept = sum(_part(parts, c).exists() for c in chunks)
        raise PopulationInterrupted(kept, len(chunks), parts) from None
    finally:
        if progress:
            print(file=sys.stderr)
    shutil.rmtree(parts)
    seconds = time.perf_counter() - start
    return PopulationResult(out, n, rows, len(chunks), seconds, _peak_mb(resource.RUSAGE_SELF),
                            _peak_mb(resource.RUSAGE_CHILDREN), workers, len(chunks) - len(todo))


def balanced_chunk(n: int, size: int, workers: int) -> int:
    """The largest chunk size, at most `size`, whose number of chunks of `n` subjects is a multiple of
    `workers` (when there are more chunks than workers), so that no worker runs a last chunk alone while
    the others wait; `size` itself if none is (with subjects below workers x chunks)."""
    count = _ceil_div(n, size)
    if count <= workers:
        return size
    for chunks in range(_ceil_div(count, workers) * workers, n + 1, workers):
        even = _ceil_div(n, chunks)   # the size that splits n into `chunks` chunks, if any does
        if _ceil_div(n, even) == chunks:
            return even
    return size


def _ceil_div(a: int, b: int) -> int:
    """a / b rounded up (positive integers)."""
    return -(-a // b)


class PopulationInterrupted(KeyboardInterrupt):
    """A population study stopped by an interrupt: `kept` of `total` chunks are kept in `parts`, and the
    same call again runs only the others."""

    def __init__(self, kept: int, total: int, parts: Path):
        super().__init__(f"interrupted: {kept} of {total} chunk(s) kept in {parts}")
        self.kept, self.total, self.parts = kept, total, parts


def _parts_folder(out: Path, n: int, size: int, chunk: Chunk) -> Path:
    """Where the finished chunks of this study wait to be merged into `out`: a folder beside it named by
    the study (subjects, chunk size, protocol, agent, environment, seed), so that only the same study resumes."""
    study = repr((n, size, chunk.history, sorted(chunk.arms.items()), chunk.agent, chunk.agent_params,
                  chunk.env_kwargs, chunk.seed, SCHEMA.to_string(), "arrow-ipc", PART_COMPRESSION))
    return out.with_name(f".{out.name}.parts-{hashlib.sha256(study.encode()).hexdigest()[:16]}")


def _part(parts: Path, chunk: Chunk) -> Path:
    return parts / f"subjects-{chunk.first:010d}.arrow"


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def _run_part(chunk: Chunk, parts: Path) -> None:
    """Run `chunk` and write its rows to its file in `parts`."""
    _write_part(parts, chunk, run_chunk(chunk))


def _write_part(parts: Path, chunk: Chunk, table: pa.Table) -> None:
    atomic_write(_part(parts, chunk),
                 lambda tmp: feather.write_feather(table, tmp, compression=PART_COMPRESSION))


def _finished(chunks: Sequence[Chunk], parts: Path, workers: int, backend: Backend,
              address: str | None) -> Iterator[Chunk]:
    """Run every chunk and write its file in `parts`; yield the chunks in order as their files are
    written, with at most workers + 1 chunks in flight. Local worker processes write their chunks'
    files themselves (the driver only reads them); Ray's workers, maybe on other machines, return
    their rows to the driver, which writes them."""
    if backend == "local" and workers == 1:
        for chunk in chunks:
            _run_part(chunk, parts)
            yield chunk
        return
    if backend == "ray":
        for chunk, table in zip(chunks, _ordered_ray(run_chunk, chunks, workers, address), strict=True):
            _write_part(parts, chunk, table)
            yield chunk
        return
    with _single_threaded_children(), ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        try:
            for chunk, _ in zip(chunks, _windowed(lambda c: pool.submit(_run_part, c, parts), lambda f: f.result(),
                                                  chunks, workers + 1), strict=True):
                yield chunk
        except BaseException:   # an interrupt, an error, or the caller closing early: no chunk is waited for
            _stop(pool)
            raise


def _ordered_ray(work: Callable[[Chunk], pa.Table], chunks: Sequence[Chunk], workers: int,
                 address: str | None) -> Iterator[pa.Table]:
    with ray_connection(workers, address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=0)(work)
        window = 1 + (workers if address is None else int(ray.cluster_resources().get("CPU", workers)))
        yield from _windowed(remote.remote, ray.get, chunks, window)


def _windowed(submit: Callable[[Chunk], Any], result: Callable[[Any], Any], chunks: Sequence[Chunk],
              window: int) -> Iterator[Any]:
    """Submit chunks ahead, at most `window` in flight, and yield their results in order."""
    pending: deque[Any] = deque()
    queue = iter(chunks)
    for chunk in queue:
        pending.append(submit(chunk))
        if len(pending) >= window:
            break
    while pending:
        table = result(pending.popleft())
        for chunk in queue:
            pending.append(submit(chunk))
            break
        yield table


def main(subjects: int = 100_000, out: str = "results/population", chunk: int = DEFAULT_CHUNK_SUBJECTS,
         workers: int = min(2, os.cpu_count() or 1), backend: str = "local", address: str | None = None,
         seed: int = 0) -> PopulationResult:
    """Entry point of `rlcraving population`: the headline study (10 days of self-administration,
    10 of extinction, a cue test after rat i.p. baclofen 0-5 mg/kg) for `subjects` TD subjects.

    Args:
        subjects: number of subjects (each lives the history once, then every dose arm).
        out: folder for results.parquet (one row per subject x arm x session x measure).
        chunk: most subjects per chunk (memory grows with chunk x workers, not with subjects); lowered
            so that the chunks are a multiple of the workers (`balanced_chunk`).
        workers: local processes, or Ray CPUs of a local Ray instance.
        backend: local or ray.
        address: Ray cluster address (with --backend ray), e.g. auto or HOST:PORT.
        seed: cohort seed.
    """
    check_number("subjects", subjects, lo=1, hi=2**31, integer=True)
    check_number("chunk", chunk, lo=1, hi=10_000_000, integer=True)
    check_number("workers", workers, lo=1, hi=4096, integer=True)
    check_number("seed", seed, lo=0, hi=2**63 - 1, integer=True)
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not allowed; choose one of {list(BACKENDS)}")
    folder, created = output_folder(out, "out")
    for path in created:
        print(f"created folder {path}")
    history, arms = headline_study()
    try:
        result = run_population(subjects, history, arms, folder / "results.parquet",
                                chunk_subjects=balanced_chunk(subjects, chunk, workers),
                                workers=workers, backend=backend, address=address, seed=seed, progress=True)
    except PopulationInterrupted as err:
        again = shlex.join(["rlcraving", *sys.argv[1:]]) if sys.argv[1:] else "the same command"
        print(f"rlcraving population: {err}; resume with: {again} (kept chunks are not run again)",
              file=sys.stderr)
        raise SystemExit(130) from None
    if result.resumed_chunks:
        print(f"resumed: {result.resumed_chunks} of {result.n_chunks} chunks were kept from an interrupted run")
    memory = (f"{result.driver_peak_mb:,.0f} MB here, {result.worker_peak_mb:,.0f} MB in the largest worker "
              f"(at most {result.peak_mb_bound:,.0f} MB in all)" if workers > 1 else f"{result.driver_peak_mb:,.0f} MB")
    print(f"{result.n_subjects:,} subjects x {len(arms)} arms: {result.n_rows:,} rows in {result.n_chunks} chunks, "
          f"{result.seconds:.1f} s; peak memory {memory}")
    print(f"wrote {result.path}")
    return result


__all__ = ["DEFAULT_CHUNK_SUBJECTS", "HEADLINE_DOSES_MG_PER_KG", "PART_COMPRESSION", "SCHEMA",
           "Chunk", "PopulationInterrupted", "PopulationResult", "balanced_chunk", "headline_study", "main",
           "run_chunk", "run_population"]
