"""Run a validated study end to end: tasks, tables, statistics, figures, provenance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rlcraving.experiments import results
from rlcraving.experiments.loader import Study
from rlcraving.experiments.runner import Backend, RunError, Runner, RunStore, collect, plan, run_tasks, simulate
from rlcraving.files import output_folder


@dataclass
class StudyResult:
    """What a study produced, and where it was written."""

    out: Path
    table: pd.DataFrame
    traces: pd.DataFrame
    outcomes: pd.DataFrame
    summary: pd.DataFrame
    tests: pd.DataFrame
    figures: list[Path] = field(default_factory=list)
    runs_total: int = 0
    runs_executed: int = 0


class StudyInterrupted(KeyboardInterrupt):
    """A study stopped by an interrupt: `saved` of `total` runs are kept in `out`/runs."""

    def __init__(self, saved: int, total: int, out: Path):
        super().__init__(f"interrupted: {saved} of {total} run(s) saved in {out / 'runs'}")
        self.saved, self.total, self.out = saved, total, out


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def run_study(study: Study, out: str | Path, *, runner: Runner = simulate, backend: Backend = "local",
              workers: int = 1, address: str | None = None, progress: bool = True,
              figures: bool = True) -> StudyResult:
    """Run every (grid point, seed) of `study` not already in `out`, then write the tidy tables,
    statistics, figures, resolved spec and metadata there (see `rlcraving.experiments.results`)."""
    out, _ = output_folder(out, "out")
    tasks = plan(study)
    context = {"backend": backend, "workers": workers, "address": address, "runs": len(tasks), "started": _now()}
    results.write_spec(study, out)
    results.write_metadata(study, out, status="running", **context)
    store = RunStore(out)
    try:
        return _run_and_write(study, out, tasks, store, context, runner=runner, figures=figures, progress=progress)
    except BaseException as err:
        saved = sum(store.done(t.key) for t in tasks)
        if isinstance(err, KeyboardInterrupt):
            status = f"interrupted: {saved} of {len(tasks)} runs saved"
        elif isinstance(err, RunError):
            status = f"incomplete: {saved} of {len(tasks)} runs saved"
        else:
            status = f"failed: {saved} of {len(tasks)} runs saved; {type(err).__name__}: {' '.join(str(err).split())}"
        try:
            results.write_metadata(study, out, status=status, runs_saved=saved, stopped=_now(), **context)
        except OSError as meta_err:
            err.add_note(f"metadata.json could not be updated ({meta_err.strerror}); it may still say 'running'")
        if isinstance(err, KeyboardInterrupt) and not isinstance(err, StudyInterrupted):
            raise StudyInterrupted(saved, len(tasks), out) from None
        raise


def _run_and_write(study: Study, out: Path, tasks: list, store: RunStore, context: dict, *, runner: Runner,
                   figures: bool, progress: bool) -> StudyResult:
    """The body of `run_study` once metadata.json says "running"."""
    backend, workers, address = context["backend"], context["workers"], context["address"]
    executed = run_tasks(tasks, store, runner=runner, backend=backend, workers=workers, address=address,
                         progress=progress)
    table, traces = collect(tasks, store)
    results.write_table(table, out, "results")
    results.write_table(traces, out, "traces")
    outcomes = results.outcome_table(study, table)
    summary = results.summarise(study, outcomes)
    tests = results.compare(study, outcomes)
    for frame, stem in ((outcomes, "outcomes"), (summary, "summary"), (tests, "tests")):
        results.write_table(frame, out, stem, csv_only=True)
    paths = []
    if figures:
        from rlcraving.experiments.figures import write_figures
        paths = write_figures(study, table, traces, summary, out)
    results.write_metadata(study, out, status="complete", runs_saved=len(tasks), runs_executed=executed,
                           finished=_now(), **context)
    return StudyResult(out, table, traces, outcomes, summary, tests, paths, len(tasks), executed)
