"""Benchmarks: the figures of docs/performance.md, measured beside references in the same run.

`rlcraving bench` runs every benchmark, prints a table and writes JSON. Absolute speeds drift
on a shared machine, so each figure comes with a reference measured in the same process:
gymnasium's CartPole step, and the same work done subject by subject in a Python loop.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numba
import numpy as np

import rlcraving
from rlcraving.checks import check_bool, check_number
from rlcraving.core import SubjectBatch
from rlcraving.files import atomic_write_text, output_folder, save_figure
from rlcraving.protocol import session


@dataclass
class Figure:
    """One benchmark result."""

    name: str
    value: float
    unit: str
    target: str
    met: bool
    reference: dict[str, float] = field(default_factory=dict)
    note: str = ""


def _rate(work: Callable[[], int], min_seconds: float) -> float:
    """Units of work per second: repeat `work` (returns units done) for at least `min_seconds`."""
    work()  # warm up
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        done += work()
    return done / elapsed


def _single_env_steps_per_s(env_id: str, n_actions: int, seconds: float) -> float:
    """One gym.make environment (with its default wrappers), random actions, reset on episode end."""
    env = gym.make(env_id)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, n_actions, 1000)

    def work() -> int:
        for a in actions:
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()
        return len(actions)

    return _rate(work, seconds)


def cartpole_steps_per_s(seconds: float) -> float:
    """Reference: gymnasium's CartPole-v1, one env, random actions."""
    return _single_env_steps_per_s("CartPole-v1", 2, seconds)


def _long_session(batch: SubjectBatch) -> None:
    batch.start_sessions(np.arange(batch.n), session("self_administration", session_minutes=24 * 60), first=True)


def python_loop_subject_steps_per_s(seconds: float, n: int = 64) -> float:
    """Reference: the same model stepped subject by subject (N batches of one) in a Python loop."""
    batches = [SubjectBatch(1) for _ in range(n)]
    for b in batches:
        _long_session(b)
    actions = np.random.default_rng(0).integers(0, 3, (50, n, 1))

    def work() -> int:
        for row in actions:
            for b, a in zip(batches, row, strict=True):
                b.step(a)
        return actions.shape[0] * n

    return _rate(work, seconds)


def vector_env_subject_steps_per_s(n: int, seconds: float) -> float:
    """Native VectorEnv through gym.make_vec, random actions."""
    envs = gym.make_vec(rlcraving.ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 3, (100, n))

    def work() -> int:
        for a in actions:
            envs.step(a)
        return actions.size

    return _rate(work, seconds)


def single_env_steps_per_s(seconds: float) -> float:
    """One gym.make CocaineSeeking environment, random actions."""
    return _single_env_steps_per_s(rlcraving.ENV_ID, 3, seconds)


def core_subject_steps_per_s(n: int, seconds: float, steps: int = 50) -> float:
    """The bare core (no Gymnasium layer) at batch size `n`."""
    batch = SubjectBatch(n)
    _long_session(batch)
    actions = np.random.default_rng(0).integers(0, 3, (steps, n))

    def work() -> int:
        for a in actions:
            batch.step(a)
        return actions.size

    return _rate(work, seconds)


def memory_mb(n: int) -> float:
    """Peak resident memory added by `n` subjects stepping through a session (MB)."""
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    batch = SubjectBatch(n)
    _long_session(batch)
    actions = np.random.default_rng(0).integers(0, 3, n)
    for _ in range(20):
        batch.step(actions)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (after - before) / 1024.0


def scaling(sizes: tuple[int, ...], seconds: float) -> dict[str, list[float]]:
    """Cost per step (microseconds) of the core against batch size."""
    per_step = [1e6 / core_subject_steps_per_s(n, seconds) * n for n in sizes]
    return {"n_subjects": list(sizes), "us_per_step": per_step}



def td_cohort_subject_steps_per_s(n: int, seconds: float, agent: str = "q_learning") -> float:
    """A TD cohort on the core: environment plus learning, `n` subjects in one long session."""
    from rlcraving.agents.td import make_agent

    batch = SubjectBatch(n)
    _long_session(batch)
    learner = make_agent(agent, batch)
    everyone = np.arange(n)
    learner.new_subjects(everyone)
    learner.begin(everyone)

    def work() -> int:
        for _ in range(50):
            obs, reward, terminated, truncated = batch.step(learner.actions)
            learner.learn(obs, reward, terminated | truncated)
        return 50 * n

    return _rate(work, seconds)


def ppo_env_steps_per_s(n_subjects: int = 64, timesteps: int = 40_000) -> float:
    """stable-baselines3 PPO (classroom defaults, one torch thread) through the batched VecEnv."""
    from rlcraving.agents.sb3 import make_env, make_model, torch_threads

    with torch_threads(1):
        model = make_model("PPO", make_env(n_subjects), seed=0)
        model.learn(total_timesteps=2 * model.n_steps * n_subjects)  # warm up
        start = time.perf_counter()
        model.learn(total_timesteps=timesteps, reset_num_timesteps=False)
        return timesteps / (time.perf_counter() - start)


def headline_study_seconds(n_subjects: int = 200) -> float:
    """Wall time of the headline study: cue-induced reinstatement after the default protocol,
    rat i.p. baclofen before the test at 5 doses, `n_subjects` TD subjects each (one process).
    The dose arms share their history, lived once (`run_cohort_arms`)."""
    from rlcraving.agents.cohort import run_cohort_arms
    from rlcraving.experiments.population import headline_study

    history, arms = headline_study()
    start = time.perf_counter()
    run_cohort_arms(n_subjects, history, arms, seed=0)
    return time.perf_counter() - start


def protocol_scaling(n: int, days: tuple[int, ...]) -> dict[str, list[float]]:
    """Wall time (s) of a TD cohort of `n` subjects against the number of 1-h sessions."""
    from rlcraving.agents.cohort import run_cohort

    seconds = []
    for d in days:
        start = time.perf_counter()
        run_cohort(n, [{"phase": "self_administration", "days": d}], seed=0)
        seconds.append(time.perf_counter() - start)
    return {"sessions": list(days), "seconds": seconds}


def run(out: Path | str = "results/bench", seconds: float = 2.0, quick: bool = False) -> dict[str, Any]:
    """Run the benchmarks; write `performance.md`, `performance/bench.json` and
    `performance/scaling.png` into `out`; return the report."""
    seconds = check_number("seconds", seconds, lo=0.01, hi=3600.0)
    quick = check_bool("quick", quick)
    out, _ = output_folder(out, "out")
    (out / "performance").mkdir(parents=True, exist_ok=True)
    seconds = 0.3 if quick else seconds
    core_subject_steps_per_s(1, 0.01)  # compile (or load) the core before timing anything
    cartpole = cartpole_steps_per_s(seconds)
    loop = python_loop_subject_steps_per_s(seconds)
    refs = {"cartpole_steps_per_s": cartpole, "python_loop_subject_steps_per_s": loop}

    def figure(name: str, value: float, unit: str, target: float, higher_is_better: bool = True,
               note: str = "") -> Figure:
        met = value >= target if higher_is_better else value <= target
        ratios = {"x_cartpole": value / cartpole, "x_python_loop": value / loop} if unit.endswith("/s") else {}
        sign = ">=" if higher_is_better else "<="
        return Figure(name, value, unit, f"{sign} {target:g}", met, {**refs, **ratios}, note)

    figures = [
        figure("vector_env_4096", vector_env_subject_steps_per_s(4096, seconds), "subject-steps/s", 10e6,
               note="gym.make_vec, N = 4096, random actions"),
        figure("td_cohort_4096", td_cohort_subject_steps_per_s(4096, seconds), "subject-steps/s", 15e6,
               note="core + Q-learning, N = 4096"),
        figure("single_env", single_env_steps_per_s(seconds), "steps/s", 30e3, note="gym.make, random actions"),
        figure("sb3_ppo", ppo_env_steps_per_s(64, 8_000 if quick else 40_000), "env-steps/s", 20e3,
               note="PPO, 64 subjects, classroom defaults"),
        figure("headline_study", headline_study_seconds(20 if quick else 200), "s", 10.0, higher_is_better=False,
               note=f"5 doses x {20 if quick else 200} TD subjects, default protocol, one process, "
               "shared history"),
        figure("memory_100k_subjects", memory_mb(100_000), "MB", 2048, higher_is_better=False,
               note="peak RSS added by 100,000 subjects in a session"),
    ]
    report = {
        "command": "rlcraving bench" + (" --quick" if quick else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "numpy": np.__version__, "numba": numba.__version__},
        "figures": [asdict(f) for f in figures],
        "scaling_with_n": scaling((1, 16, 256, 4096) if quick else (1, 16, 256, 4096, 32768), seconds / 2),
        "scaling_with_protocol": protocol_scaling(64, (1, 2) if quick else (1, 2, 4, 8, 16)),
    }
    report["machine"]["load_average"] = list(os.getloadavg())
    _plot_scaling(report, out / "performance" / "scaling.png")
    atomic_write_text(out / "performance" / "bench.json", json.dumps(report, indent=2))
    atomic_write_text(out / "performance.md", markdown(report))
    return report


PROFILE_NOTES = """\
## What the profile showed, and what was done

Profiled with pyinstrument and cProfile on the core at N = 1 and N = 4096 with random actions:

- A step was ~80 numpy operations, and each costs a microsecond or more whatever the number of
  subjects: 75 us a step for one subject. The arithmetic of a step is now compiled with numba
  as a few loops over the subjects (`chamber.schedule`: presses, ratios, infusions, cues,
  timeouts and the drug Pavlovian trials; `core._advance`: kinetics, stress, allostasis,
  signals, reward, clocks and the observation). A quiet step for one subject costs ~5 us.
- Each phase of the step is one loop over all subjects: a compiled helper called once per
  subject with array arguments paid reference counting on every call (70 ns a subject).
- Per-subject state lives in matrices with one row per subject (named columns are views). In
  the transposed layout, rows of 4096 values lie 32 KiB apart and a subject's ~40 values
  competed for the same cache sets.
- Rare events stay in numpy and run only when some subject has one: pellets and their trials,
  shocks, catheter transit, i.p. absorption. Baclofen's kinetics do not depend on behaviour, so
  each session's effects are tabulated once per group of identical subjects and read by index.
- The Rescorla-Wagner rule is one compiled function (`pavlovian.trial`), used by the compiled
  step and by `pavlovian.learn` alike. The compiled step reproduces the numpy one bit for bit
  except for the order in which a trial's prediction is summed (differences of 1e-16).

The first step of a fresh install compiles the core (about 2 s, cached under `__pycache__`);
later processes load it in well under a second.

The TD learners are compiled too (`rlcraving.agents.compiled`): features, values, the softmax
choice and every agent's error and update run as loops over subjects, row by row (a subject's
weights lie N values apart; a loop over one subject's features would touch a cache line per
feature, all in one cache set), and a lever's update runs only for the subjects that pressed it.
The exponentials stay numpy's: its vectorised float32 exp differs from the C library's in the
last bit for about a third of arguments, and a choice near a boundary would follow that bit. The
compiled step reproduces the numpy rule bit for bit (tests/test_td_compiled.py); in CPU time at
N = 4096 the learner went from about 1.4x the core's step to about 1x.

Studies of any size run as chunks of subjects (`rlcraving population`, on local processes or a
Ray cluster with `--backend ray --address HOST:PORT`): subject i is the same in any chunk, so the
chunks' rows, appended in subject order to one Parquet file with dictionary-coded strings (28
bytes a row), are the whole cohort's table; memory is bounded by the chunk size and the workers.
"""


def _load_text(machine: dict[str, Any]) -> str:
    load = machine.get("load_average")
    if not load:
        return ""
    busy = ", so the figures were taken under load" if load[1] > 0.5 * machine["cpus"] else ""
    return (f"; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} over 1 / 5 / 15 min at the end of "
            f"the run{busy}")


def markdown(report: dict[str, Any]) -> str:
    """The performance report (docs/performance.md) of a `run`."""
    m = report["machine"]
    refs = report["figures"][0]["reference"]
    by_n = report["scaling_with_n"]
    rows = "\n".join(f"| {n:,} | {us:,.0f} | {us / n:,.3f} |"
                      for n, us in zip(by_n["n_subjects"], by_n["us_per_step"], strict=True))
    days = report["scaling_with_protocol"]
    per_day = "\n".join(f"| {d} | {t:.1f} |" for d, t in zip(days["sessions"], days["seconds"], strict=True))
    return f"""# Performance

Produced by `{report['command']}` on {report['date']} ({m['platform']}, Python {m['python']}, numpy
{m['numpy']}, numba {m.get('numba', '-')}, {m['cpus']} CPUs, a shared machine{_load_text(m)}). Every figure is
measured beside two references in the same run, because absolute speeds drift on a shared machine: gymnasium's
CartPole-v1 step ({refs['cartpole_steps_per_s']:,.0f} steps/s) and the same model stepped subject by subject in a
Python loop ({refs['python_loop_subject_steps_per_s']:,.0f} subject-steps/s).

{format_table(report["figures"])}

![cost against N and protocol length](performance/scaling.png)

Cost of one core step against the number of subjects (random actions):

| subjects | us per step | us per subject-step |
|---|---|---|
{rows}

Wall time of a 64-subject TD cohort against the number of 1-h sessions (linear: each session is the
same work):

| sessions | seconds |
|---|---|
{per_day}

{PROFILE_NOTES}"""


def _plot_scaling(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_n, by_days = report["scaling_with_n"], report["scaling_with_protocol"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    n = np.array(by_n["n_subjects"], dtype=float)
    us = np.array(by_n["us_per_step"])
    left.loglog(n, us, "o-", label="core step")
    left.loglog(n, us[0] * n / n[0], ":", color="grey", label="proportional to N")
    left.set_xlabel("subjects N")
    left.set_ylabel("time per step (us)")
    left.legend(fontsize=8)
    left.set_title("cost against cohort size", fontsize=10)
    right.plot(by_days["sessions"], by_days["seconds"], "o-")
    right.set_xlabel("1-h sessions in the protocol")
    right.set_ylabel("wall time (s), 64 TD subjects")
    right.set_title("cost against protocol length", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def _ratio(reference: dict[str, float], key: str) -> str:
    return f"{reference[key]:.2f}" if key in reference else "-"


def format_table(figures: list[dict[str, Any]]) -> str:
    """Markdown table of the figures."""
    rows = ["| benchmark | value | unit | target | met | x CartPole step | x Python loop | what |",
            "|---|---|---|---|---|---|---|---|"]
    for f in figures:
        cartpole, loop = (_ratio(f["reference"], key) for key in ("x_cartpole", "x_python_loop"))
        rows.append(f"| {f['name']} | {f['value']:,.1f} | {f['unit']} | {f['target']} | "
                    f"{'yes' if f['met'] else 'no'} | {cartpole} | {loop} | {f['note']} |")
    return "\n".join(rows)


def main(out: str = "results/bench", seconds: float = 2.0, quick: bool = False) -> dict[str, Any]:
    """Entry point of `rlcraving bench`: measure, print the table, write the report.

    Args:
        out: directory for performance.md and performance/ (bench.json, scaling.png).
        seconds: minimum time per rate measurement.
        quick: small sizes, for a smoke test (figures not comparable with the targets).
    """
    seconds = check_number("seconds", seconds, lo=0.01, hi=3600.0)
    folder, created = output_folder(out, "out")
    if created:
        print(f"created folder {folder}")
    report = run(folder, seconds, quick)
    refs = report["figures"][0]["reference"]
    print(f"references: CartPole {refs['cartpole_steps_per_s']:,.0f} steps/s; the model subject by subject in a "
          f"Python loop {refs['python_loop_subject_steps_per_s']:,.0f} subject-steps/s")
    print(format_table(report["figures"]))
    print(f"wrote {folder / 'performance.md'} and {folder / 'performance'}/")
    return report


if __name__ == "__main__":
    main()
