"""Run a validated study end to end: tasks, tables, statistics, figures, provenance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rlcraving.experiments import results
from rlcraving.experiments.loader import Study
from rlcraving.files import output_folder
from rlcraving.experiments.runner import Backend, RunError, Runner, RunStore, collect, plan, run_tasks, simulate


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
        executed = run_tasks(tasks, store, runner=runner, backend=backend, workers=workers, address=address,
                             progress=progress)
    except (RunError, KeyboardInterrupt):
        done = sum(store.done(t.key) for t in tasks)
        results.write_metadata(study, out, status=f"incomplete: {done} of {len(tasks)} runs saved", **context)
        raise
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
    results.write_metadata(study, out, status="complete", runs_executed=executed, finished=_now(), **context)
    return StudyResult(out, table, traces, outcomes, summary, tests, paths, len(tasks), executed)
