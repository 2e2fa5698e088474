"""Running studies: tidy outputs, resuming an interrupted sweep, process and Ray backends agree."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rlcraving.experiments import RunError, load_spec, loads_spec, plan, run_study
from rlcraving.experiments.runner import RunStore, RunTask, collect, run_tasks
from rlcraving.files import atomic_write
from rlcraving.protocol import Calendar

SMOKE = Path(__file__).resolve().parents[1] / "experiments" / "smoke_test.yaml"

SPEC = """\
name: machinery
subjects: 5
seeds: [0, 1]
calendar:
  - {label: sa, phase: self_administration, days: 3}
  - {label: ext, phase: extinction, days: 2}
  - {label: test, phase: cue_reinstatement}
baclofen:
  regimen: {type: RatIP, mg_per_kg: 0.0}
  sessions: [test]
traces: ["sa:0", test]
grid:
  baclofen.regimen.mg_per_kg: [0.0, 2.5, 5.0]
  environment.kor_knockout: [false, true]
analysis:
  axis: baclofen.regimen.mg_per_kg
  outcomes:
    - {name: cue, measure: active_presses, session: test, baseline: "ext:-1"}
"""


@dataclass
class FakeResult:
    table: pd.DataFrame
    traces: pd.DataFrame


def fake_runner(task: RunTask) -> FakeResult:
    """Poisson presses whose test-session rate falls with the baclofen dose; seeded by the task."""
    sessions = Calendar(list(task.calendar)).sessions
    dose = next((e["baclofen"].mg_per_kg for e in task.calendar if hasattr(e.get("baclofen"), "mg_per_kg")), 0.0)
    rng = np.random.default_rng([task.seed, int(10 * dose), int(task.env_kwargs["kor_knockout"])])
    rates = {"self_administration": 30.0, "extinction": 6.0, "cue_reinstatement": 20.0 / (1.0 + dose)}
    rows = [(s, task.condition, d, settings.phase, measure, float(rng.poisson(rates[settings.phase] if
                                                                             measure == "active_presses" else 2)))
            for s in range(task.n_subjects) for d, settings in enumerate(sessions)
            for measure in ("active_presses", "inactive_presses", "infusions")]
    table = pd.DataFrame(rows, columns=["subject", "condition", "day", "phase", "measure", "value"])
    traces = pd.DataFrame([(task.condition, d, sessions[d].phase, t, "prediction_error", np.exp(-t / 600.0) / (d + 1))
                           for d in task.trace_sessions for t in np.arange(0.0, 3600.0, 600.0)],
                          columns=["condition", "day", "phase", "time_s", "signal", "value"])
    return FakeResult(table, traces)


class WorkerKilledError(RuntimeError):
    """Stands for a worker killed mid-sweep."""


def interrupted_runner(task: RunTask) -> FakeResult:
    if task.point == 3 or (task.point == 4 and task.seed == 1):
        raise WorkerKilledError("killed")
    return fake_runner(task)


def test_plan_orders_points_then_seeds():
    study = loads_spec(SPEC)
    tasks = plan(study)
    assert [(t.point, t.seed) for t in tasks] == [(p, s) for p in range(6) for s in (0, 1)]
    assert len({t.key for t in tasks}) == 12
    assert tasks[2].condition == "mg_per_kg=0.0, kor_knockout=True"
    assert tasks[2].columns == {"mg_per_kg": 0.0, "kor_knockout": True}
    assert tasks[2].env_kwargs["kor_knockout"] is True and tasks[0].trace_sessions == (0, 5)
    assert tasks[0].entries == ("sa", "sa", "sa", "ext", "ext", "test")


def test_run_study_writes_tidy_results_and_provenance(tmp_path):
    study = loads_spec(SPEC, source="machinery.yaml", overrides=["subjects=4"])
    result = run_study(study, tmp_path, runner=fake_runner, progress=False)
    table = pd.read_parquet(tmp_path / "results.parquet")
    assert list(table.columns) == ["condition", "point", "mg_per_kg", "kor_knockout", "seed", "subject", "day",
                                   "entry", "phase", "measure", "value"]
    assert len(table) == 6 * 2 * 4 * 6 * 3
    pd.testing.assert_frame_equal(table, result.table)
    csv = pd.read_csv(tmp_path / "results.csv")
    assert np.array_equal(csv["value"].to_numpy(), table["value"].to_numpy())
    assert set(pd.read_parquet(tmp_path / "traces.parquet")["day"]) == {0, 5}
    # the resolved spec loads back to the spec that ran
    assert load_spec(tmp_path / "spec.yaml").spec == study.spec
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["status"] == "complete" and meta["seeds"] == [0, 1] and meta["runs"] == 12
    assert meta["packages"]["pandas"] == pd.__version__ and meta["overrides"] == ["subjects=4"]
    assert "revision" in (meta["git"] or {"revision": None})
    # statistics: one summary row per condition, dose trend within each genotype
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 6 and summary["n"].eq(8).all()
    assert (summary["ci_low"] <= summary["mean"]).all() and (summary["mean"] <= summary["ci_high"]).all()
    tests = pd.read_csv(tmp_path / "tests.csv")
    trend = tests[tests["test"] == "trend"]
    assert len(trend) == 2 and (trend["spearman_rho"] < -0.5).all() and (trend["p_jonckheere"] < 0.01).all()
    versus = tests[tests["test"] == "vs_reference"]
    assert sorted(versus["level"].unique()) == [2.5, 5.0] and (versus["hedges_g"] < 0).all()
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figures == ["outcome_cue.png", "sessions.png", "traces_session.png"]


def test_interrupted_sweep_resumes_to_the_same_table(tmp_path):
    study = loads_spec(SPEC)
    with pytest.raises(RunError, match="3 of 12 run"):
        run_study(study, tmp_path / "resumed", runner=interrupted_runner, progress=False)
    meta = json.loads((tmp_path / "resumed" / "metadata.json").read_text())
    assert meta["status"] == "incomplete: 9 of 12 runs saved"
    assert not (tmp_path / "resumed" / "results.parquet").exists()
    resumed = run_study(study, tmp_path / "resumed", runner=fake_runner, progress=False, figures=False)
    assert resumed.runs_executed == 3
    fresh = run_study(study, tmp_path / "fresh", runner=fake_runner, progress=False, figures=False)
    pd.testing.assert_frame_equal(resumed.table, fresh.table)
    for name in ("results.csv", "traces.csv", "summary.csv", "tests.csv"):
        assert (tmp_path / "resumed" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    again = run_study(study, tmp_path / "fresh", runner=interrupted_runner, progress=False, figures=False)
    assert again.runs_executed == 0   # everything done: the failing runner is never called


def test_process_backend_matches_in_process(tmp_path):
    study = loads_spec(SPEC, overrides=["grid.environment.kor_knockout=[false]"])
    tasks = plan(study)
    serial, parallel = RunStore(tmp_path / "serial"), RunStore(tmp_path / "parallel")
    assert run_tasks(tasks, serial, runner=fake_runner, progress=False) == 6
    assert run_tasks(tasks, parallel, runner=fake_runner, workers=2, progress=False) == 6
    for a, b in zip(collect(tasks, serial), collect(tasks, parallel), strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_backend_and_worker_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="backend='dask' is not allowed"):
        run_tasks([], RunStore(tmp_path), backend="dask")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers=0"):
        run_tasks([], RunStore(tmp_path), workers=0)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    def broken(path: Path) -> None:
        path.write_text("partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "x.csv", broken)
    assert list(tmp_path.iterdir()) == []
    atomic_write(tmp_path / "x.csv", lambda p: p.write_text("ok"))
    assert (tmp_path / "x.csv").read_text() == "ok" and len(list(tmp_path.iterdir())) == 1


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'rlcraving[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_backend_matches_local_backend(ray_cluster, tmp_path):
    pytest.importorskip("rlcraving.agents.cohort", reason="the TD cohort runner is not available")
    study = load_spec(SMOKE, ["seeds=[0]"])
    tasks = plan(study)
    local, remote = RunStore(tmp_path / "local"), RunStore(tmp_path / "ray")
    run_tasks(tasks, local, progress=False)
    assert run_tasks(tasks, remote, backend="ray", workers=2, progress=False) == len(tasks)
    assert ray_cluster.is_initialized()   # an attached cluster is left running
    for a, b in zip(collect(tasks, local), collect(tasks, remote), strict=True):
        assert len(a)
        pd.testing.assert_frame_equal(a, b)
    assert yaml.safe_load(SMOKE.read_text())["name"] == "smoke_test"


def slow_after_first_runner(task: RunTask) -> FakeResult:
    """The first two tasks finish at once; every other one would take a minute."""
    if task.point > 0:
        import time

        time.sleep(60.0)
    return fake_runner(task)


def test_ray_interrupt_keeps_what_finished_and_cancels_the_rest(ray_cluster, tmp_path):
    """Ctrl-C in the driver of a Ray sweep: finished runs are saved, running ones are cancelled
    at once, and an attached cluster is left running."""
    import os
    import signal
    import sys
    import threading
    import time

    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not import the tests
    tasks = plan(loads_spec(SPEC))
    store = RunStore(tmp_path / "runs")

    def interrupt_when_saved() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len([t for t in tasks if store.done(t.key)]) < 2:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)   # what Ctrl-C does to the driver

    threading.Thread(target=interrupt_when_saved, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, store, backend="ray", workers=2, runner=slow_after_first_runner, progress=False)
    assert time.monotonic() - start < 50, "the running tasks were waited for, not cancelled"
    saved = [t for t in tasks if store.done(t.key)]
    assert [(t.point, t.seed) for t in saved] == [(0, 0), (0, 1)]
    assert all(store.problem(t.key) == "absent" for t in tasks if t.point > 0)
    assert ray_cluster.is_initialized()
    deadline = time.monotonic() + 20    # the cancelled tasks' workers are killed: the CPUs come back
    while time.monotonic() < deadline and ray_cluster.available_resources().get("CPU", 0) < 2:
        time.sleep(0.2)
    assert ray_cluster.available_resources().get("CPU", 0) == 2, "cancelled tasks still hold the cluster"
