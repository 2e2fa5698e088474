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
import numpy as np

import rlcraving
from rlcraving.core import SubjectBatch
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


def cartpole_steps_per_s(seconds: float) -> float:
    """Reference: gymnasium's CartPole-v1, one env, random actions."""
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, 1000)

    def work() -> int:
        for a in actions:
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()
        return len(actions)

    return _rate(work, seconds)


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
    """One gym.make environment (with its default wrappers), random actions."""
    env = gym.make(rlcraving.ENV_ID)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 3, 1000)

    def work() -> int:
        for a in actions:
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()
        return len(actions)

    return _rate(work, seconds)


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


OPTIONAL: dict[str, str] = {
    "td_cohort": "rlcraving.agents.td",
    "sb3_ppo": "rlcraving.agents.sb3",
    "headline_study": "rlcraving.experiments",
}


def run(out: Path | str = "results/bench", seconds: float = 2.0, quick: bool = False) -> list[Figure]:
    """Run the benchmarks; write `bench.json` (and return the figures)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seconds = 0.3 if quick else seconds
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
        figure("vector_env_4096", vector_env_subject_steps_per_s(4096, seconds), "subject-steps/s", 10e6),
        figure("single_env", single_env_steps_per_s(seconds), "steps/s", 30e3),
        figure("memory_100k_subjects", memory_mb(100_000), "MB", 2048, higher_is_better=False),
    ]
    for name, module in OPTIONAL.items():
        try:
            bench_fn = __import__(module, fromlist=["benchmark"]).benchmark
        except (ImportError, AttributeError):
            figures.append(Figure(name, float("nan"), "", "", False, note=f"{module}.benchmark not available"))
            continue
        figures.append(bench_fn(seconds=seconds, references=refs))
    report = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "numpy": np.__version__},
        "figures": [asdict(f) for f in figures],
        "scaling": scaling((1, 16, 256, 4096, 32768) if not quick else (1, 256), seconds / 2),
    }
    tmp = out / "bench.json.tmp"
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, out / "bench.json")
    return figures


def format_table(figures: list[Figure]) -> str:
    """Plain-text table of the figures."""
    rows = [f"{'benchmark':<24} {'value':>14} {'unit':<16} {'target':<12} met  x CartPole  x Python loop"]
    for f in figures:
        rows.append(f"{f.name:<24} {f.value:>14,.1f} {f.unit:<16} {f.target:<12} {'yes' if f.met else 'NO ':<4}"
                    f" {f.reference.get('x_cartpole', float('nan')):>10.2f} "
                    f"{f.reference.get('x_python_loop', float('nan')):>14.1f}  {f.note}")
    return "\n".join(rows)


def main(out: str = "results/bench", seconds: float = 2.0, quick: bool = False) -> dict[str, Any]:
    """Entry point of `rlcraving bench`."""
    figures = run(out, seconds, quick)
    print(format_table(figures))
    print(f"wrote {Path(out) / 'bench.json'}")
    return {"figures": [asdict(f) for f in figures]}


if __name__ == "__main__":
    main()
