"""Benchmarks: the figures of docs/performance.md, measured beside references in the same run.

`rlcraving bench` runs every benchmark, prints a table and writes JSON. Absolute speeds drift
on a shared machine, so every figure is the min / median / max over repeats and comes with peers
measured in the same process: gymnasium's CartPole step (one env, and its own vectorised CartPole
at the same N), the same work done subject by subject in a Python loop, and a memory-bandwidth
ceiling (a large numpy copy's bytes per second over the bytes of state a subject-step moves).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Iterator
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

REPEATS = 3


@dataclass
class Figure:
    """One benchmark result: `value` is the median over repeats, `low` and `high` the min and max;
    `reference` holds the median's ratio to each peer measured in the same run."""

    name: str
    value: float
    unit: str
    target: str
    met: bool
    reference: dict[str, float] = field(default_factory=dict)
    note: str = ""
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Spread:
    """Min, median and max of repeated measurements of one quantity."""

    low: float
    median: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(min(values), statistics.median(values), max(values))


def _repeated(measure: Callable[[], float], repeats: int) -> Spread:
    """Spread of `repeats` calls of `measure`."""
    repeats = check_number("repeats", repeats, lo=1, hi=1000, integer=True)
    return Spread.of([measure() for _ in range(repeats)])


def _rate(work: Callable[[], int], min_seconds: float, repeats: int = REPEATS) -> Spread:
    """Units of work per second: after one warm-up call, each repeat runs `work` (returns units
    done) for at least `min_seconds`."""
    work()  # warm up

    def once() -> float:
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < min_seconds:
            done += work()
        return done / elapsed

    return _repeated(once, repeats)


def _single_env_steps_per_s(env_id: str, n_actions: int, seconds: float, repeats: int = REPEATS) -> Spread:
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

    return _rate(work, seconds, repeats)


def cartpole_steps_per_s(seconds: float, repeats: int = REPEATS) -> Spread:
    """Peer: gymnasium's CartPole-v1, one env, random actions (steps/s)."""
    return _single_env_steps_per_s("CartPole-v1", 2, seconds, repeats)


def _vector_env_rate(env_id: str, n: int, n_actions: int, seconds: float, repeats: int) -> Spread:
    """Env-steps per second of `gym.make_vec(env_id, n, vector_entry_point)`, random actions."""
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, n_actions, (100, n))

    def work() -> int:
        for a in actions:
            envs.step(a)
        return actions.size

    try:
        return _rate(work, seconds, repeats)
    finally:
        envs.close()


def cartpole_vector_steps_per_s(n: int, seconds: float, repeats: int = REPEATS) -> Spread:
    """Peer: gymnasium's own vectorised CartPole-v1 at N = `n` (env-steps/s, random actions)."""
    return _vector_env_rate("CartPole-v1", n, 2, seconds, repeats)


def last_level_cache_bytes() -> int | None:
    """Size of the CPU's largest cache (bytes) as Linux reports it, or None where it does not."""
    sizes = []
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (index / "size").read_text().strip()
        except OSError:
            continue
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        if text.rstrip("KMG").isdigit():
            sizes.append(int(text.rstrip("KMG")) * scale)
    return max(sizes, default=None)


def memory_bandwidth_bytes_per_s(seconds: float, repeats: int = REPEATS, megabytes: int | None = None) -> Spread:
    """Peer: bytes of memory traffic per second of one-thread `np.copyto` between two arrays of
    `megabytes` MiB (default: twice the largest cache, at least 1 GiB, so the copy runs from main
    memory), counted as one read and one write of every byte copied."""
    if megabytes is None:
        megabytes = max(1024, 2 * (last_level_cache_bytes() or 0) // 2**20)
    megabytes = check_number("megabytes", megabytes, lo=1, hi=2**20, integer=True)
    source = np.ones(megabytes * 2**20 // 8)
    target = np.empty_like(source)

    def work() -> int:
        np.copyto(target, source)
        return 2 * source.nbytes

    return _rate(work, seconds, repeats)


@numba.njit(parallel=True, cache=True)
def _parallel_copy(target: np.ndarray, source: np.ndarray) -> None:
    for i in numba.prange(source.size):
        target[i] = source[i]


def parallel_memory_bandwidth_bytes_per_s(seconds: float, repeats: int = REPEATS,
                                          megabytes: int | None = None) -> Spread:
    """Peer: `memory_bandwidth_bytes_per_s` with the copy spread over every numba thread (a
    `prange` loop): the main-memory ceiling of a step that runs on every core."""
    if megabytes is None:
        megabytes = max(1024, 2 * (last_level_cache_bytes() or 0) // 2**20)
    megabytes = check_number("megabytes", megabytes, lo=1, hi=2**20, integer=True)
    source = np.ones(megabytes * 2**20 // 8)
    target = np.empty_like(source)

    def work() -> int:
        _parallel_copy(target, source)
        return 2 * source.nbytes

    return _rate(work, seconds, repeats)


@contextlib.contextmanager
def numba_threads(n: int) -> Iterator[None]:
    """numba's thread count set to `n` inside the block (restored after)."""
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def core_thread_scaling(n: int, seconds: float, steps: int = 20, repeats: int = REPEATS) -> dict[str, Spread]:
    """The bare core at N = `n` on one thread and on every numba thread, measured in turns within
    each repeat: subject-steps/s of each ("one", "all") and their ratio per repeat ("ratio")."""
    batch = SubjectBatch(n)
    _long_session(batch)
    actions = np.random.default_rng(0).integers(0, 3, (steps, n))

    def rate() -> float:
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for a in actions:
                batch.step(a)
            done += actions.size
        return done / elapsed

    one, every = [], []
    threads = numba.config.NUMBA_NUM_THREADS
    for repeat in range(repeats + 1):   # the first round warms up (compiles or loads both builds)
        with numba_threads(1):
            r1 = rate()
        with numba_threads(threads):
            r2 = rate()
        if repeat:
            one.append(r1)
            every.append(r2)
    return {"one": Spread.of(one), "all": Spread.of(every),
            "ratio": Spread.of([b / a for a, b in zip(one, every, strict=True)])}


def vector_layer_overhead(env_id: str, n: int, seconds: float, repeats: int = REPEATS,
                          **kwargs: Any) -> dict[str, Spread]:
    """What the native VectorEnv adds to its core: each repeat steps `gym.make_vec(env_id, n)` with
    random actions for `seconds`, timing the core's own `step` inside the env's; returns the env's
    subject-steps/s ("env"), the core's ("core", its time inside those steps) and the overhead,
    env time / core time - 1 ("overhead")."""
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    envs.reset(seed=0)
    batch = envs.unwrapped.batch
    inside = [0.0]
    core_step = batch.step

    def timed_step(actions: np.ndarray) -> Any:
        start = time.perf_counter()
        out = core_step(actions)
        inside[0] += time.perf_counter() - start
        return out

    batch.step = timed_step   # the instance's step: the env calls it, the class is untouched
    n_actions = envs.single_action_space.n
    actions = np.random.default_rng(0).integers(0, n_actions, (50, n))
    env_rates, core_rates, overheads = [], [], []
    try:
        for repeat in range(repeats + 1):   # the first round warms up
            inside[0], done, start = 0.0, 0, time.perf_counter()
            while (elapsed := time.perf_counter() - start) < seconds:
                for a in actions:
                    envs.step(a)
                done += actions.size
            if repeat:
                env_rates.append(done / elapsed)
                core_rates.append(done / inside[0])
                overheads.append(elapsed / inside[0] - 1.0)
    finally:
        envs.close()
    return {"env": Spread.of(env_rates), "core": Spread.of(core_rates), "overhead": Spread.of(overheads)}


def per_subject_arrays(n: int, *holders: object) -> list[np.ndarray]:
    """Every array that owns its data and has an axis of length `n`, found among the holders'
    attributes (a batch, a learner, an env; three levels deep, each array once)."""
    seen: set[int] = set()
    found: list[np.ndarray] = []

    def walk(obj: object, depth: int) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.base is None and n in obj.shape:
                found.append(obj)
        elif depth <= 3 and not isinstance(obj, type) and hasattr(obj, "__dict__"):
            for value in vars(obj).values():
                walk(value, depth + 1)

    for holder in holders:
        walk(holder, 0)
    return found


def traffic_bytes_per_subject_step(n: int, step: Callable[[], object], *holders: object) -> float:
    """Estimated memory traffic of one subject-step (bytes): every per-subject array of the
    holders read once, and those that one call of `step` changes written once, over `n`. An
    estimate at array granularity: a step that reads only some columns moves less."""
    arrays = per_subject_arrays(n, *holders)
    before = [a.copy() for a in arrays]
    step()
    written = sum(a.nbytes for a, old in zip(arrays, before, strict=True)
                  if not np.array_equal(a, old, equal_nan=True))
    return (sum(a.nbytes for a in arrays) + written) / n


def _long_session(batch: SubjectBatch) -> None:
    batch.start_sessions(np.arange(batch.n), session("self_administration", session_minutes=24 * 60), first=True)


def python_loop_subject_steps_per_s(seconds: float, n: int = 64, repeats: int = REPEATS) -> Spread:
    """Peer: the same model stepped subject by subject (N batches of one) in a Python loop."""
    batches = [SubjectBatch(1) for _ in range(n)]
    for b in batches:
        _long_session(b)
    actions = np.random.default_rng(0).integers(0, 3, (50, n, 1))

    def work() -> int:
        for row in actions:
            for b, a in zip(batches, row, strict=True):
                b.step(a)
        return actions.shape[0] * n

    return _rate(work, seconds, repeats)


def vector_env_subject_steps_per_s(n: int, seconds: float, repeats: int = REPEATS) -> Spread:
    """Native VectorEnv through gym.make_vec, random actions."""
    return _vector_env_rate(rlcraving.ENV_ID, n, 3, seconds, repeats)


def person_vector_env_subject_steps_per_s(n: int, seconds: float, repeats: int = REPEATS) -> Spread:
    """The person's world's native VectorEnv (Outpatient-v0) through gym.make_vec, random actions."""
    return _vector_env_rate(rlcraving.OUTPATIENT_ENV_ID, n, 3, seconds, repeats)


def vector_env_traffic_bytes(n: int) -> float:
    """`traffic_bytes_per_subject_step` of the native VectorEnv at N = `n`."""
    envs = gym.make_vec(rlcraving.ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 3, n)
    envs.step(actions)
    try:
        return traffic_bytes_per_subject_step(n, lambda: envs.step(actions), envs.unwrapped)
    finally:
        envs.close()


def single_env_steps_per_s(seconds: float, repeats: int = REPEATS) -> Spread:
    """One gym.make CocaineSeeking environment, random actions."""
    return _single_env_steps_per_s(rlcraving.ENV_ID, 3, seconds, repeats)


def core_subject_steps_per_s(n: int, seconds: float, steps: int = 50, repeats: int = REPEATS) -> Spread:
    """The bare core (no Gymnasium layer) at batch size `n`."""
    batch = SubjectBatch(n)
    _long_session(batch)
    actions = np.random.default_rng(0).integers(0, 3, (steps, n))

    def work() -> int:
        for a in actions:
            batch.step(a)
        return actions.size

    return _rate(work, seconds, repeats)


def _resident_mb() -> float:
    """Resident memory of this process now (MB); the peak so far where /proc is missing."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_mb(n: int, repeats: int = REPEATS) -> Spread:
    """Resident memory added by `n` subjects after 20 steps of a session (MB), each repeat a fresh batch."""

    def once() -> float:
        gc.collect()
        before = _resident_mb()
        batch = SubjectBatch(n)
        _long_session(batch)
        actions = np.random.default_rng(0).integers(0, 3, n)
        for _ in range(20):
            batch.step(actions)
        added = _resident_mb() - before
        del batch
        return added

    return _repeated(once, repeats)


def scaling(sizes: tuple[int, ...], seconds: float, repeats: int = REPEATS) -> dict[str, list[float]]:
    """Cost per step (microseconds; min / median / max over repeats) of the core against batch size,
    with the memory-bandwidth ceiling's cost beside it (filled in by `run`)."""
    rates = [core_subject_steps_per_s(n, seconds, repeats=repeats) for n in sizes]
    return {"n_subjects": list(sizes),
            "us_per_step": [1e6 * n / r.median for n, r in zip(sizes, rates, strict=True)],
            "us_per_step_low": [1e6 * n / r.high for n, r in zip(sizes, rates, strict=True)],
            "us_per_step_high": [1e6 * n / r.low for n, r in zip(sizes, rates, strict=True)]}


def state_bytes_per_subject(n: int = 4096) -> float:
    """Bytes of per-subject state of the bare core in a session (`per_subject_arrays` over `n`)."""
    batch = SubjectBatch(n)
    _long_session(batch)
    return sum(a.nbytes for a in per_subject_arrays(n, batch)) / n


def core_traffic_bytes(n: int = 4096) -> float:
    """`traffic_bytes_per_subject_step` of the bare core in a session at N = `n`."""
    batch = SubjectBatch(n)
    _long_session(batch)
    actions = np.random.default_rng(0).integers(0, 3, n)
    batch.step(actions)
    return traffic_bytes_per_subject_step(n, lambda: batch.step(actions), batch)



def _td_cohort(n: int, agent: str) -> tuple[SubjectBatch, Any]:
    """A batch of `n` subjects in one long session and its TD learner, ready to act."""
    from rlcraving.agents.td import make_agent

    batch = SubjectBatch(n)
    _long_session(batch)
    learner = make_agent(agent, batch)
    everyone = np.arange(n)
    learner.new_subjects(everyone)
    learner.begin(everyone)
    return batch, learner


def td_cohort_traffic_bytes(n: int = 4096, agent: str = "q_learning") -> float:
    """`traffic_bytes_per_subject_step` of a TD cohort (batch and learner) at N = `n`."""
    batch, learner = _td_cohort(n, agent)

    def step() -> None:
        obs, reward, terminated, truncated = batch.step(learner.actions)
        learner.learn(obs, reward, terminated | truncated)

    step()
    return traffic_bytes_per_subject_step(n, step, batch, learner)


def td_cohort_subject_steps_per_s(n: int, seconds: float, agent: str = "q_learning",
                                  repeats: int = REPEATS) -> Spread:
    """A TD cohort on the core: environment plus learning, `n` subjects in one long session."""
    batch, learner = _td_cohort(n, agent)

    def work() -> int:
        for _ in range(50):
            obs, reward, terminated, truncated = batch.step(learner.actions)
            learner.learn(obs, reward, terminated | truncated)
        return 50 * n

    return _rate(work, seconds, repeats)


def ppo_env_steps_per_s(n_subjects: int = 64, timesteps: int = 40_000, repeats: int = REPEATS) -> Spread:
    """stable-baselines3 PPO (classroom defaults, one torch thread) through the batched VecEnv;
    each repeat learns `timesteps` more steps of the same model."""
    from rlcraving.agents.sb3 import make_env, make_model, torch_threads

    with torch_threads(1):
        model = make_model("PPO", make_env(n_subjects), seed=0)
        model.learn(total_timesteps=2 * model.n_steps * n_subjects)  # warm up

        def once() -> float:
            start = time.perf_counter()
            model.learn(total_timesteps=timesteps, reset_num_timesteps=False)
            return timesteps / (time.perf_counter() - start)

        return _repeated(once, repeats)


def headline_study_seconds(n_subjects: int = 200, repeats: int = REPEATS) -> Spread:
    """Wall time of the headline study: cue-induced reinstatement after the default protocol,
    rat i.p. baclofen before the test at 5 doses, `n_subjects` TD subjects each (one process).
    The dose arms share their history, lived once (`run_cohort_arms`)."""
    from rlcraving.agents.cohort import run_cohort_arms
    from rlcraving.experiments.population import headline_study

    history, arms = headline_study()

    def once() -> float:
        start = time.perf_counter()
        run_cohort_arms(n_subjects, history, arms, seed=0)
        return time.perf_counter() - start

    return _repeated(once, repeats)


def demo_seconds(repeats: int = REPEATS) -> Spread:
    """Wall time (s) of `rlcraving demo` as a user runs it, warm: a fresh process and a fresh results
    folder each repeat (imports, numba's cached kernels, the four runs, the tables and figures), after
    one untimed run that fills numba's cache. (A folder that holds the runs already would only redraw
    the tables and figures: the study skips runs it has.)"""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        runs = iter(range(repeats + 1))

        def once() -> float:
            command = [sys.executable, "-m", "rlcraving", "demo", "--quiet", "--out", f"{folder}/{next(runs)}"]
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            return time.perf_counter() - start

        once()
        return _repeated(once, repeats)


def protocol_scaling(n: int, days: tuple[int, ...], repeats: int = REPEATS) -> dict[str, list[float]]:
    """Wall time (s; min / median / max over repeats) of a TD cohort of `n` subjects against the
    number of 1-h sessions."""
    from rlcraving.agents.cohort import run_cohort

    def timed(d: int) -> float:
        start = time.perf_counter()
        run_cohort(n, [{"phase": "self_administration", "days": d}], seed=0)
        return time.perf_counter() - start

    spreads = [_repeated(lambda d=d: timed(d), repeats) for d in days]
    return {"sessions": list(days), "seconds": [s.median for s in spreads],
            "seconds_low": [s.low for s in spreads], "seconds_high": [s.high for s in spreads]}


def _peer(spread: Spread, unit: str, note: str) -> dict[str, Any]:
    return {**asdict(spread), "unit": unit, "note": note}


def measure_peers(seconds: float, repeats: int, sizes: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """The peers every figure is compared with, measured in this run (min / median / max)."""
    peers = {
        "cartpole_1": _peer(cartpole_steps_per_s(seconds, repeats), "steps/s", "gym.make('CartPole-v1'), one env"),
        "python_loop": _peer(python_loop_subject_steps_per_s(seconds, repeats=repeats), "subject-steps/s",
                             "the model stepped subject by subject, 64 batches of one, in a Python loop"),
        "memory_bandwidth": _peer(memory_bandwidth_bytes_per_s(seconds, repeats), "bytes/s",
                                  "np.copyto (one thread) between two arrays larger than the cache, "
                                  "2 bytes of traffic per byte copied"),
        "memory_bandwidth_all_threads": _peer(parallel_memory_bandwidth_bytes_per_s(seconds, repeats), "bytes/s",
                                              f"the same copy as a prange loop on {numba.config.NUMBA_NUM_THREADS} "
                                              "numba threads"),
    }
    for n in sizes:
        peers[f"cartpole_{n}"] = _peer(cartpole_vector_steps_per_s(n, seconds, repeats), "env-steps/s",
                                       f"gym.make_vec('CartPole-v1', num_envs={n}, "
                                       "vectorization_mode='vector_entry_point')")
    return peers


def run(out: Path | str = "results/bench", seconds: float = 2.0, quick: bool = False,
        repeats: int = REPEATS) -> dict[str, Any]:
    """Run the benchmarks; write `performance.md`, `performance/bench.json` and
    `performance/scaling.png` into `out`; return the report."""
    seconds = check_number("seconds", seconds, lo=0.01, hi=3600.0)
    quick = check_bool("quick", quick)
    repeats = check_number("repeats", repeats, lo=1, hi=1000, integer=True)
    out, _ = output_folder(out, "out")
    (out / "performance").mkdir(parents=True, exist_ok=True)
    seconds = 0.3 if quick else seconds
    core_subject_steps_per_s(1, 0.01, repeats=1)  # compile (or load) the core before timing anything
    big, ppo_n = 4096, 64
    peers = measure_peers(seconds, repeats, (ppo_n, big))
    bandwidth = peers["memory_bandwidth"]["median"]
    traffic = {"core": core_traffic_bytes(big), "vector_env": vector_env_traffic_bytes(big),
               "td_cohort": td_cohort_traffic_bytes(big)}

    def figure(name: str, spread: Spread, unit: str, target: float, higher_is_better: bool = True,
               n: int | None = None, traffic_bytes: float | None = None, note: str = "",
               versus_cartpole: bool = False, ceiling: float | None = None,
               extra: dict[str, float] | None = None, target_text: str | None = None,
               met: bool | None = None) -> Figure:
        """One figure; `versus_cartpole`: the target is a ratio to CartPole at the same N;
        `ceiling`: the bandwidth (bytes/s) behind the memory ceiling (default: the one-thread copy)."""
        value = spread.median
        ratios: dict[str, float] = {}
        if n is not None:
            ratios = {"x_cartpole": value / peers[f"cartpole_{n}"]["median"],
                      "x_python_loop": value / peers["python_loop"]["median"]}
        if traffic_bytes is not None:
            limit = (ceiling or bandwidth) / traffic_bytes
            ratios["x_memory_ceiling"] = value / limit
            note += f"; ceiling {limit:,.0f} at {traffic_bytes:,.0f} B/subject-step"
        ratios.update(extra or {})
        measured = ratios["x_cartpole"] if versus_cartpole else value
        if met is None:
            met = measured >= target if higher_is_better else measured <= target
        sign = ">=" if higher_is_better else "<="
        text = target_text or (f"{sign} {target:g}x CartPole" if versus_cartpole else f"{sign} {target:g}")
        return Figure(name, value, unit, text, met, ratios, note, spread.low, spread.high)

    n_headline = 20 if quick else 200
    threads = numba.config.NUMBA_NUM_THREADS
    large = 16_384 if quick else 65_536
    scaling_threads = core_thread_scaling(large, seconds, repeats=repeats)
    every_core = peers["memory_bandwidth_all_threads"]["median"]
    ratio = scaling_threads["ratio"].median
    at_ceiling = scaling_threads["all"].median / (every_core / traffic["core"])
    layer = vector_layer_overhead(rlcraving.ENV_ID, big, seconds, repeats)
    person = vector_layer_overhead(rlcraving.OUTPATIENT_ENV_ID, big, seconds, repeats)
    with numba_threads(1):
        one_thread = {"chamber": vector_env_subject_steps_per_s(big, seconds, repeats).median,
                      "person": person_vector_env_subject_steps_per_s(big, seconds, repeats).median}
    cartpole = peers[f"cartpole_{big}"]["median"]

    def on_one_thread(world: str) -> str:
        """The note's words on the same env run on one thread."""
        return (f"{threads} threads where measured faster (threads.Choice); on one thread "
                f"{one_thread[world]:,.0f}, {one_thread[world] / cartpole:.2f}x CartPole")

    figures = [
        figure("vector_env_4096", vector_env_subject_steps_per_s(big, seconds, repeats), "subject-steps/s", 1.0,
               n=big, traffic_bytes=traffic["vector_env"], versus_cartpole=True,
               note=f"gym.make_vec, N = {big}, random actions, {on_one_thread('chamber')}"),
        figure("vector_layer_4096", Spread(*(100 * v for v in asdict(layer["overhead"]).values())), "%", 15.0,
               higher_is_better=False,
               note=f"time of the VectorEnv's step beyond its core's step (core {layer['core'].median:,.0f} "
                    f"subject-steps/s inside an env at {layer['env'].median:,.0f}), N = {big}"),
        figure("outpatient_vector_env_4096", person["env"], "subject-steps/s", 1.0, n=big, versus_cartpole=True,
               note=f"the person's world (Outpatient-v0), gym.make_vec, N = {big}, random actions, 1-h steps, "
                    f"{on_one_thread('person')}"),
        figure("outpatient_layer_4096", Spread(*(100 * v for v in asdict(person["overhead"]).values())), "%", 15.0,
               higher_is_better=False,
               note=f"the person's VectorEnv step beyond its core's (core {person['core'].median:,.0f} "
                    f"subject-steps/s), N = {big}"),
        figure(f"core_{threads}_threads_{large}", scaling_threads["all"], "subject-steps/s", 1.7,
               traffic_bytes=traffic["core"], ceiling=every_core,
               extra={"x_one_thread": ratio}, met=ratio >= 1.7 and at_ceiling >= 0.7,
               target_text=">= 1.7x one thread and >= 0.7x ceiling",
               note=f"bare core, N = {large:,}, {threads} numba threads against 1 in turns (one thread "
                    f"{scaling_threads['one'].median:,.0f}; ratio min / median / max "
                    f"{_spread_text(*asdict(scaling_threads['ratio']).values(), fmt='.2f')}); ceiling of the "
                    f"{threads}-thread copy"),
        figure("td_cohort_4096", td_cohort_subject_steps_per_s(big, seconds, repeats=repeats), "subject-steps/s",
               15e6, n=big, traffic_bytes=traffic["td_cohort"], note=f"core + Q-learning, N = {big}"),
        figure("single_env", single_env_steps_per_s(seconds, repeats), "steps/s", 30e3, n=1,
               note="gym.make, random actions"),
        figure("sb3_ppo", ppo_env_steps_per_s(ppo_n, 8_000 if quick else 40_000, repeats), "env-steps/s", 20e3,
               n=ppo_n, note=f"PPO, {ppo_n} subjects, classroom defaults"),
        figure("headline_study", headline_study_seconds(n_headline, repeats), "s", 10.0, higher_is_better=False,
               note=f"5 doses x {n_headline} TD subjects, default protocol, one process, shared history"),
        figure("demo", demo_seconds(repeats), "s", 10.0, higher_is_better=False,
               note="`rlcraving demo` in a fresh process and a fresh results folder each repeat, warm (after "
                    "one untimed run)"),
        figure("memory_100k_subjects", memory_mb(100_000, repeats), "MB", 2048, higher_is_better=False,
               note="resident memory added by 100,000 subjects after 20 steps of a session"),
    ]
    by_n = scaling((1, 16, 256, 4096) if quick else (1, 16, 256, 4096, 32768), seconds / 2, repeats)
    by_n["ceiling_us_per_step"] = [1e6 * n * traffic["core"] / bandwidth for n in by_n["n_subjects"]]
    report = {
        "command": "rlcraving bench" + (" --quick" if quick else "") + (f" --repeats {repeats}"
                                                                          if repeats != REPEATS else ""),
        "date": time.strftime("%Y-%m-%d"),
        "repeats": repeats,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "numpy": np.__version__, "numba": numba.__version__,
                    "last_level_cache_bytes": last_level_cache_bytes()},
        "peers": peers,
        "traffic_bytes_per_subject_step": traffic,
        "state_bytes_per_subject": {"core": state_bytes_per_subject(big)},
        "figures": [asdict(f) for f in figures],
        "scaling_with_n": by_n,
        "scaling_with_protocol": protocol_scaling(64, (1, 2) if quick else (1, 2, 4, 8, 16), repeats),
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
- Steps 4-9, the clocks and the observation run as one loop over blocks of 512 subjects
  (`core._advance`: `organism.live_step`, `chamber.tick`, `chamber.observe`), each block through
  every phase while its rows are in cache, and one parallel region where there were five: each
  region's start wakes the sleeping threads. Measured interleaved against the five loops (shared
  machine, load ~2): core at N = 65,536 on one thread 14.9 against 13.7 M subject-steps/s, on two
  28.8 against 22.7 (1.93x one thread, was 1.65x); same numbers bit for bit.
- The person's world's Rescorla-Wagner trials (each use, each cue met without one) were numpy on the full
  association arrays, then a refresh of the cached strengths: about half of its step. They are the
  chamber's compiled drug trial on the cached strengths (`organism.drug_trial`): Outpatient-v0's core at
  N = 4,096 went from 1.7 to 3.1 M subject-steps per CPU-second (interleaved, load ~7).
- The person's hour (Outpatient-v0) was numpy operations on arrays of people around the compiled
  organism (the world's draws hashed in numpy, baclofen's effects, seeking and using, adverse events,
  clocks, drinking, the observation): about 1 ms a step at N = 4,096. It is one compiled pass over blocks
  of 512 people (`outpatient._hour`: `_world_hour`, the organism's `live_step`, `_body_hour`, `_observe`)
  with the same draws (`random.uniform_one`) and each numpy expression written out in its order, so the
  numbers are the same bit for bit (fingerprint of the vector env at N = 64 and 4,096 with and without
  baclofen, alcohol and intranasal use, and of two short trials; golden and thread tests). Baclofen's
  kinetics and doses (while anyone is treated), clinic visits and the day's end stay in numpy and run
  when due. Where numpy decided for the whole batch, the kernel is told first: whether anyone drinks
  (numpy's 1 - (1 - s) x 1 for the sober; the observation is redone when someone drinks in the next
  hour), and, in an intranasal world with empty depots, whether anyone
  used, which every block must know before any depot is absorbed (two passes then). Helpers called per
  person take scalars: one with array arguments paid reference counting on every call (half of the
  observation's time). Measured interleaved with the commit before (`bench.vector_layer_overhead`, N = 4,096,
  3 alternating runs, load ~2-3, medians): vector env 4.4 -> 10.0 M subject-steps/s (0.18x -> 0.41x
  CartPole's vector env, 24.4 M in the same runs), its core 4.7 -> 12.0. Of the hour's ~330 us the
  organism's `live_step` takes ~120 and its Rescorla-Wagner trials (`organism.drug_trial`, one call
  per use or cue met, ~600 an hour at random actions) ~60; the day's end and the clinic visits in
  numpy ~20 on average (~11 with the day's end compiled, `_count_adverse` and `_drop_out`, its
  hazard's power and exponential still numpy's). The layer (info, the action check, the weekly
  reset, whose refresh of the organism's cached strengths is 3 ms) costs the same ~55 us as
  before, then 19% of the faster core (target 15%; met since, below).
- The weekly reset's refresh of the organism's cached strengths (`Organism._sync_associations`,
  `_refresh_values`) was numpy fancy indexing over the full association arrays, 2.2 ms at N = 4,096.
  Both are compiled loops over the subjects (`organism.sync_slots`, `refresh_slots`) with the same
  arithmetic (the other contexts' inhibition summed in order, as numpy's sum over the context
  axis), and when an episode starts for every subject the write-back and the read are one pass:
  0.07 ms alone, ~0.24 ms in a week-end step, where the association arrays untouched all week come
  from main memory. Measured interleaved with the version before (Outpatient-v0, N = 4,096, random
  actions, 4 simulated weeks, thread CPU, 2 alternating processes each, load ~6): the week-end
  step's layer 4.4-4.8 -> 1.6-2.1 ms, the layer 17.8-18.1% -> 12.4-12.7% of the core; with
  `bench.vector_layer_overhead` (wall clock, 3 repeats of 2 s, load ~6) 21.2 / 21.7% -> 17.0 /
  15.3%. An ordinary step's layer is ~31 us (info ~4, making its arrays read-only ~5, the action
  check ~3). A week's summary read every clinic visit so far (the list is never cleared), so a
  week-end cost more the longer the env ran: ~0.15 ms after 2 weeks, some ms in a bench run of
  ~100 weeks. Each person's tests and positives of the week are counted at the visit instead
  (`Outpatient.week_tests`, `week_positive`), which also ends a miscount: after a seeded reset the
  new person's week counted the former person's tests dated after its start. Measured with
  `bench.vector_layer_overhead` (3 repeats of 2 s, 2 alternating runs each, load ~4): the layer
  14.3 / 16.8% -> 11.6 / 12.2% of the core. Of a week-end step what is left is the info copies and
  the final observation (~0.3 ms), the incubation's numpy exponentials (~0.15 ms), the signals and
  the observation. Whether a person drinks is one rule (`outpatient._drinks`), used by the hour's
  pass and at a week's start alike.
- Per-subject state lives in matrices with one row per subject (named columns are views). In
  the transposed layout, rows of 4096 values lie 32 KiB apart and a subject's ~40 values
  competed for the same cache sets.
- Rare events stay in numpy and run only when some subject has one: pellets and their trials,
  shocks, catheter transit, i.p. absorption. Baclofen's kinetics do not depend on behaviour, so
  each session's effects are tabulated once per group of identical subjects and read by index.
- The environment's own behaviour (the Pavlovian controller and the operant level, docs/model.md
  3.2) was ten numpy operations a step, the largest cost of a single env's step: it is one
  compiled loop (`chamber.add_behaviour`) with the same draws, and `gym.make`'s env went from
  30.8 k to 74.7 k steps/s (same machine, load ~0.7).
- The vector env's layer: `info` arrays are read-only views of the state, valid until the next
  step (copies on a step where a session ends, taken before the autoreset); the action check is
  one pass (the largest action read as unsigned); the baclofen grouping at a session start skips
  its row sort when every subject shares its regimen (a 4096-subject reset 17 -> 6 ms).
- The Rescorla-Wagner rule is one compiled function (`pavlovian.trial`), used by the compiled
  step and by `pavlovian.learn` alike. The compiled step reproduces the numpy one bit for bit
  except for the order in which a trial's prediction is summed (differences of 1e-16).

A step at N = 4,096 was profiled again phase by phase (2026-12-03: each compiled phase timed alone on
the state of a running vector env, 15 interleaved repeats of 20 calls, thread CPU time, medians; load
~4): the organism's signals (`organism.express_signals`) 72 us, ~20 of them the C library's exp of
the extinction retrieval, one call a subject; the observation 25, the reward 24, the levels 14, the
presses the environment adds 14, the clocks 11; the schedule ~17 alone (quiet machine) but 76-80
inside a step (load ~5), where its rows are read after the previous phases have swept every subject's
state (running it inside the blocked pass, below, won back a part of that).
Three changes, each with the same numbers bit for bit (fingerprints of TD cohorts at N = 5 and 4,096,
of vector envs with and without sucrose and baclofen and of Outpatient-v0; golden and thread tests):

- numpy's error model for every compiled function of a step (`threads.compiled`): each division
  was preceded by a test for a zero divisor, a branch that also kept every loop with a division off
  the vector units; a division by zero now gives inf or nan, and no divisor of a valid step is zero.
- The retrieval's exponentials of a block of subjects are taken together on vectors
  (`libm.exp_into`): `rlcraving.libm` writes out glibc's own exp (its FMA build's operations, its
  table computed from 2^(k/128), the library itself for the rare arguments off its main path), the same
  double for every argument (80 M random and edge-case arguments checked; tests/test_libm.py). 4,096
  exponentials cost ~7 us instead of ~20, and `express_signals` went from 72 to 49 us.
- A step without shocks, pellets, discrete trials or an i.p. depot, most steps of most protocols,
  runs the schedule inside the blocked pass (`core._schedule_and_advance`: `chamber.schedule_block`,
  then `core._advance_block`, on each block of 512 subjects), so each block's rows are read once a step.

Together (interleaved with the version before, 3 alternating runs, thread CPU us per step at N = 4,096,
min of 5; load ~4): vector env 328-331 -> 271-283, bare core 263-270 -> 217-228, TD cohort 385-390 ->
331-344. `random.uniform`, the draws numpy code takes (punishment, sedation, the person's clinic and
doses), is a compiled loop of `uniform_one`'s draw: 24 -> 7 us for 4,096 draws. Tried and dropped: LLVM
does not vectorise the per-subject loops themselves; its remarks report memory operations it cannot
prove independent (a subject's columns of `_levels` and the other matrices lie a run-time row length
apart), and neither guards on the shapes, nor flat indexing with constant strides, nor a column-major
layout (slower: its columns, N values apart, compete for cache sets) changed that. Folding the added
presses into the same pass measured no gain. Against gymnasium's vectorised CartPole in the same process
(thread CPU per step at N = 4,096, 3 alternating runs, load ~4): the vector env was 0.47-0.51x its speed
and is 0.54-0.58x (target 1.0x, not met); the TD cohort takes 345-367 us a step, 11.2-11.9 M
subject-steps per CPU-second (target 15 M, not met). What is left of the core's step is scalar
arithmetic per subject (~55 ns at N = 4,096), spread over every phase.

Why the core runs slower inside the vector env than in the scaling table (2026-12-04; thread CPU at
N = 4,096, interleaved with the version before, load ~2-4): not a copy of the actions (they arrive as int64
and are used as they are), nor allocation (a step allocates its four output arrays, no page faults), nor the
timing: the scaling table steps a bare `SubjectBatch` in one 24-h self-administration session, while the
env's subjects have the Pavlovian controller and the operant level on (`chamber.add_behaviour`: ~21 us a
step, a draw and an expm1 for each subject doing "other") and live the default calendar, whose 10 extinction
sessions (FR1 with no timeout: every active press completes a ratio and is an extinction trial, ~1,375
trials a step at random actions against ~590 in self-administration) cost ~35-60 us a step more. The core's
step is ~225-245 us bare, ~245-260 in the env's self-administration sessions, ~280-310 in its extinction
sessions, ~290 over the calendar; the bench's 12.1 M (~340 us) is wall time under load. A session's end
(all 4,096 subjects started again) cost 2.9 ms, 2.1 ms with `Protocol`'s loops over subjects made numpy
(~2-3 us a step). Where the step goes (pyinstrument cannot see inside the kernels: `perf record`
sampling, the compiled library's symbols and code read from the process, self-administration, batch.step
~245 us): `live_step`'s levels and reward 22%, `express_signals` 14% and its exponentials 3%,
`schedule_block` 12% and its drug trials 6%, the observation 8%, the added presses 6%, the clocks 3.5%,
numba's reference counting of array arguments (`NRT_incref`, `NRT_decref`, 12-18 atomic operations a
drug trial, ~85 a block of 512 for the per-block calls) 9%, Python and the dispatch of 41 array arguments
~10%. Tried, each bit for bit the same numbers (fingerprints of vector envs with and without sucrose,
baclofen, punishment, FR5, PR, discrete trials and the compulsion zone, of Outpatient-v0 and the bare
core), and dropped because no gain showed beyond the noise (+-3% in interleaved runs): the presses counted
without a branch on the action and the completions listed for a second loop (a pass with each subject's action fixed
from step to step ran ~20% faster, but such subjects also complete fewer ratios; without the branch, no
change); the added presses drawn only for the listed idle subjects (5-10% slower);
drug trials with no reference counting (numba's inlining of the trial, 18 -> 12 atomic operations a trial;
numba's `_nrt=False`, none: no change, so the 9% of samples in the counting is mostly time that lands there
from stalls around it); and the ~10 divisions a subject (occupancy, satiety level, retrieval exponent,
availability, the observation's ratios) collected per block and divided on vectors (vdivpd; correctly
rounded, so the same doubles): no change (a test that replaced the divisions by multiplications ran 25%
faster, but it changed the subjects' behaviour too; an in-place division loop stays scalar once LLVM
inlines it into its caller). Kept: a reinforced drug trial no longer takes the exponential of an extinction
rate it does not use, an unstressed one (KOR 0) not its e^0 = 1, and the reward is summed from registers
rather than read back from its row: removed work. The least of 30 runs of 20 steps against the commit
before (3 alternating processes, load ~3): Outpatient-v0's step (a trial at each use and each cue met)
343-346 -> 318-325 us; the chamber's within the noise (its env's step in self-administration 265-273 ->
264-266, its core in extinction 274-280 -> 273-276, the bare core 219-226 -> 219-222). Against
gymnasium's vectorised CartPole in the same processes (thread CPU per step at N = 4,096, the whole
calendar, 3 alternating runs against main as of 18:26 UTC, load ~4): CartPole 190-216 us; the
vector env over its calendar 314-383 before and 301-324 after (0.55 / 0.61 / 0.63x before, 0.60 / 0.63 /
0.67x after, within the noise; target 1.0x, not met), Outpatient-v0's 387-410 and 369-414 (0.49-0.54x and
0.50-0.52x), the bare core 222-254 and 231-241. What the gap is made of, at N = 4,096 in self-administration (~270 us
against CartPole's ~190): the layer ~25 us (info 5.5: the dopamine sum of two strided columns 3; the
read-only flags 3.6; the action check 2.5; the episode ends 1.8; ~12 us of Python at any N), the core's
Python and dispatch ~10, the added presses ~21, and the compiled pass ~205 (~50 ns a subject, spread over
every phase); the extinction sessions add ~35-60. Reaching 1.0x needs the compiled pass at ~35 ns a
subject, a third less arithmetic per subject in every phase, which no one change measured here gives.

The first step of a fresh install compiles the core (about 2 s, cached under `__pycache__`);
later processes load it in well under a second.

The TD learners are compiled too (`rlcraving.agents.compiled`): features, values, the softmax
choice and every agent's error and update run as loops over subjects, row by row (a subject's
weights lie N values apart; a loop over one subject's features would touch a cache line per
feature, all in one cache set), and a lever's update runs only for the subjects that pressed it.
The exponentials are numpy's float32 exp written out in the compiled code (`compiled.exp32`: the
Cody-Waite reduction, rational approximation with fused multiply-adds and scaling of numpy's
AVX2/AVX-512 loop), equal to `np.exp` on all 2^32 float32 inputs (checked; the C library's expf
differs in the last bit for about a third of arguments, and a choice near a boundary would follow
that bit). So a learning step is one pass over each block of subjects (`compiled.value_step`,
`actor_critic_step`: features, values, softmax choice, error and update while the block is in
cache) instead of five kernels and two numpy exps. The compiled step reproduces the numpy rule bit
for bit (tests/test_td_compiled.py); in CPU time at N = 4096 the learner went from about 1.4x the
core's step to about 1x, and with the single pass (2026-12-03, interleaved with the previous
version, load ~0.5) td_cohort_4096 went from 7.7 / 7.9 / 7.9 to 8.6 / 8.9 / 9.2 M subject-steps/s
(min / median / max of 3 runs' medians), the learner's CPU time in a step from ~260 to ~200 us
(load ~6), and `rlcraving population --subjects 10000 --workers 2` from 61 to 56 s of CPU with
a byte-identical results file: short of the 15 M target, whose 273 us a step the core alone
(~200 us) nearly fills. The compulsion zone's bias of the active lever (`compiled._compulsion_block`:
the subject's levels read, ~1,100 log1p at N = 4,096) is taken inside the same pass, block by
block, where it was a kernel of its own before it: the learner's step alone with the zone (N = 4,096,
thread CPU, the same state each call, 3 alternating processes against the separate pass, medians;
load ~6) went from 177-184 to 172-177 us, within the noise: the bias costs ~15 us as a pass alone,
and the fused step takes ~25-30 us more than the same step without a zone, so fusing saves little
beyond the kernel's own launch.

Where the TD cohort's step goes (2026-12-03, td_cohort_4096's cohort, N = 4,096, Q-learning, thread
CPU, medians of 30 batches of 20 calls, load ~4-6): of ~350 us, the core's compiled pass
(`core._schedule_and_advance`) takes ~175 and the learner's (`compiled.value_step`) ~150; Python
around them ~15-20 (a call of a compiled kernel with 40 array arguments costs ~2.8 us in numba's
dispatch alone; `_closed`, the other learner helpers and the core's allocations ~1 us each). No
phase of either step is left in numpy. The learner's phases, each timed alone over all subjects:
features 34 us (8 observed columns gathered from the row-major observation, 5 occupancy bumps, 20,480
exp32), values 17, preferences 8, the softmax's exp32 7, the choice 12 (one draw a subject), the error
and update 53 (~33 of them the per-subject loop of bootstrap, error, learning signal and the list of
pressing subjects, ~10 the other-behaviour weights, ~10 the overlaps and next values). Tried and
dropped: gathering a block's features subject by subject in one pass over the observation (34 ->
~190 us: the 13 feature rows, 16 KiB apart, compete for cache sets), and splitting the list of
pressing subjects out of the per-subject loop (no change). The 15 M target (273 us a step) would need
~75 us less of compiled per-subject arithmetic, not of Python.
Then (2026-12-04) the learner's pass was cut by a quarter, bit for bit (the hashes of 1,500 steps of
every agent, with and without individual parameters and the compulsion zone, unchanged): the error
loop is compiled apart without the drug and baseline terms for the learners that have neither (their
branches, over empty arrays, kept it scalar: 11.4 -> 4.5 us, now on vectors); the levers' weights are
updated feature by feature over the list of pressing subjects, inside the pass over phi(s) (a subject's
13 weights and features lie 16 KiB apart, in one cache set: ~110 pressers took 10.3 us subject by
subject, 3.8 feature by feature); next values take one pass a lever; the choice copies its counters
(a strided view of the core's clocks) before the draws, which then run on vectors; and where every
exponent of a block's row lies in [-87, 88] (checked as they are computed), `compiled.exp32_normal`
(no special cases, one scaling by 2^k) gives exp32's float32 at ~0.3 instead of ~0.5 ns (the bumps
16.5 -> 12.7 us). Interleaved in one process, same state (thread CPU, medians of 61 batches of 20
calls, load ~2-3): `value_step` 128 -> 89-96 us, the error and update alone 50 -> 29, features 28 ->
26, the choice 13 -> 9.5; the whole cohort step (core and learner, old and new cohorts alternating,
60 batches of 50 steps, load ~2-2.5) 12.4 -> 13.6 and 10.4 -> 12.4 M subject-steps per CPU-second;
against main just before (with the compiled baclofen pass of the core), load ~3-3.6: 12.9 -> 14.7
and, with the gathering below, 12.5 -> 14.4. The bench's own figure, processes alternating (wall,
median of 3 one-second runs each): 14.0 / 15.2 / 15.5 -> 15.4 / 15.7 / 14.3 M at load ~3, and 9.1 /
9.7 / 9.3 -> 9.5 / 9.1 / 9.9 at load ~3.3-3.6 (the other processes took a third of the core): not
measured on an idle machine.
The observed columns are then gathered two rows a pass over the observation (12.9 -> 10.8 us alone,
features 25 -> 23; the whole pass within its noise, 0-1.5 us). What is left of the learner (~90 us
under that load): features ~23 (the column gathering ~11: strided loads, one a value; a column-major
observation from the core would make it a copy), values ~16 (at the cache's bandwidth, ~0.1 ns a
multiply-add), the error and update ~29, the choice and preferences ~17, the softmax's exp ~5,
dispatch and scratch ~5. Tried and dropped (same method): blocks of 32-256
subjects inside the 512 (127 us at 512, 134 at 256, 148 at 128) or of 1,024-4,096 (140-148), values
accumulated over 4 features in registers or all actions in one pass (no change), the levers' update in
chunks of 8-32 subjects (16-18 us against 9), the columns gathered by AVX-512 masked gathers
(`llvm.masked.gather`, 16 or 8 lanes: 15.9 / 17.6 against 13.5 us), unrolled by 4 (15.3 against
12.9), three rows a pass (no better than two) or all in one pass over the observation (80 us), the
preferences' phases fused into one pass a row (7.6 -> 13.6 us: the conditions in the loop kept it
off vectors), and the learner's arrays padded to a row stride other than 16 KiB or placed apart
modulo 4 KiB (3-5 us, not worth the views they need).
A chunk of the headline study (`population.run_chunk`: 2,048 subjects, the shared history, then 5
arms) took ~6.1 s of thread CPU, and takes 4.84 s since 2026-12-04 (against 6.13 s for the code
before, medians of 6, the two alternating, load ~2), so the 100,000-subject study's 50 chunks of
2,000 need ~118 s of CPU per core at 2 workers. The tidy tables are built from codes: phase, measure
and condition decoded from Arrow dictionaries instead of made a Python string a row, then written
to Arrow dictionary columns directly rather than made categories (91 -> 14 ms an arm alone; within
a chunk much of a table's cost is the first touch of its fresh pages, and jemalloc as Arrow's pool
there measured no gain: tables 0.22 / 0.23 / 0.47 / 0.27 s a chunk against 0.40 / 0.18 / 0.53 /
0.21 with mimalloc). The baclofen arms' effects and sedation are one compiled pass
(`organism.feel_baclofen`: 0.43 -> 0.13 s a chunk). Both give the same numbers bit for bit (the
5,000-subject study's file, in the same chunks, is byte-identical). Under cProfile (7.8 s) the
core's compiled pass takes 2.0 s and the learner's 1.8, the tables 0.6, the rest is Python around
the steps. Larger chunks run ~5% faster a subject (3,847: 2.36 ms a subject against 2.50 at 2,000,
medians of 4, load ~2.5) but a worker's peak memory grows from 645 to 850 MB, which with two workers
and the driver passes 2 GB, so chunks stay at 2,048 at most. Skipping the cohort loop's per-step
bookkeeping when no session is traced measured no gain (6.07 / 6.19 / 6.46 against 6.09 / 5.96 /
6.51 s, alternating).

Which build of a kernel runs is measured, not fixed (`threads.Choice`, 2026-12-04). From 2,048
subjects on, each kernel times its calls and runs its serial or parallel build, whichever was faster
lately, trying the other build 4 times in a row every 128 calls; the first call after a switch is not
timed (it pays for the sleeping thread's wake-up) and a probe counts its fastest call. The threads that
wait for work spin for a while before they sleep: `import rlcraving` sets libgomp's
`GOMP_SPINCOUNT=5000` (~65 us here, ~13 ns a spin) unless the user has set `OMP_WAIT_POLICY` or
`GOMP_SPINCOUNT`. Before, the threads slept at once (`OMP_WAIT_POLICY=PASSIVE`) and only cohorts of
32,768 or more ran on both cores. Measured at N = 4,096 (vector env through `gym.make_vec`, random
actions, M subject-steps/s, 1-s repeats, machine otherwise idle, load ~0.6-1):
- The parallel build with sleeping threads: 15.1 against 14.5 serial (CPU / wall 1.3). Each parallel
  loop woke the other thread, and on this virtual machine a wake-up costs ~100-250 us, and a core that
  was idle runs slowly for its first few calls.
- With threads that never sleep (`OMP_WAIT_POLICY=ACTIVE`): 24-26. But with two such processes on the
  two cores, each ran at 5.2 (14.0 each with sleeping threads). A thread at a parallel loop's end waits
  for its partner, which another process holds.
- With the measured choice and a 5,000 spin: 22-24 alone. With two processes, 14.0 and 14.1, the same
  as serial (14.5-15): each process finds its parallel build slower and runs the serial one. Beside a
  process that keeps one core busy: 13.9 against 14.9 serial.
- Of the step, the blocked pass (`core._schedule_and_advance`) takes 224-230 us serial and 109-112
  parallel (2.04x); the added presses (`chamber.add_behaviour`) take 21-25 and 12-13. What is left
  runs on one core: ~10 us of Python in the core's step and ~25 in the vector env's layer.
- In the same processes (`bench` functions, medians of 3): vector env 22.6-22.8 M against gymnasium's
  vectorised CartPole 22.1 (1.02-1.03x; 15.0 serial), Outpatient-v0 19.6 (0.89x; 11.7 serial), TD
  cohort 21.8 (16.2 serial). At N = 2,048: vector env 14.9 (12.8 serial), TD cohort 19.0 (15.2),
  Outpatient-v0 15.3 (10.8).
The numbers are the same whichever build runs (tests/test_threads.py); only the time varies. A
process forked (multiprocessing's fork method) after its parent ran a parallel build runs the serial
builds: GNU OpenMP cannot run a parallel region there, and numba's OpenMP layer terminates such a
child ("fork() called from a process already using GNU OpenMP"). This machine's speed also varies
from minute to minute: in some runs both builds ran ~2x slower for seconds at a time (serial ~500 us
a step, parallel ~200-400).
With both cores the vector env's layer, ~25 us a step whatever the core's speed, became 15-16% of the
faster core's step (target 15%). The read-only views of `info` are now made once for each state array
and kept while the world keeps that array (`VectorView._read_only`; a derived measure or a replaced
array gets a new view): the layer went from 15.1 / 15.3% to 12.4 / 13.6% of the core in the chamber and
from 14.2 / 13.9% to 11.6 / 11.8% in Outpatient-v0 (`bench.vector_layer_overhead`, 3 repeats of 2 s, 2
runs alternating with the version before).

Studies of any size run as chunks of subjects (`rlcraving population`, on local processes or a
Ray cluster with `--backend ray --address HOST:PORT`): subject i is the same in any chunk, so the
chunks' rows, appended in subject order to one Parquet file with dictionary-coded strings (28
bytes a row), are the whole cohort's table; memory is bounded by the chunk size and the workers.
Local workers write each finished chunk beside the table (Arrow IPC with lz4: 3 MB and 25 ms for
2,048 subjects) and the driver appends the chunks, in subject order, to the Parquet file as they
come; before, the driver received each chunk's 66 MB table by pickle (0.17 s in the worker), wrote
it as Parquet, and after the last chunk read and rewrote them all (0.19 s a chunk, ~9 s alone at the
end). `rlcraving population` lowers the chunk size so that the chunks are a multiple of the workers
(`balanced_chunk`: 50 of 2,000 for 100,000 subjects, so no worker runs a 49th alone): the rows are
the same, in another order (a chunk's rows go arm, day, measure, subject). The chunk files are kept
until the table is complete, so an interrupted study resumes with the same command and runs only
the chunks it had not finished.
Measured on 2026-12-03 on this 2-core machine (quiet): `rlcraving population --subjects 100000
--workers 2` ran the headline study (5 doses, 94.5 M rows in 49 chunks of 2,048) in 200 s with
472 MB peak resident memory in the driver and 625 MB in the largest worker (716 s and 9.6 GB
before the chunked runner); again at 20:26 UTC (idle, 115.5 M rows: the table has more measures
since) in 161.6 s, with 698 and 678 MB (target 120 s, not met: a chunk's ~6 s of CPU is the TD
cohort's step); on 2026-12-04 at 19:33 UTC (load 0.1 before it, the study's own ~1.6 during it),
with the tables, sedation pass and chunk files above and the core's and learner's changes of that
day, in 105.7 s (107.7 s for the whole command under `/usr/bin/time -v`, 195% CPU), 115.5 M rows in
50 chunks of 2,000, with 518 MB peak resident memory in the driver and 629 MB in the largest worker
(target met). The 1,000,000-subject study, `rlcraving population --subjects 1000000
--workers 2` on 2026-12-03 (12:17-12:45 UTC, the machine otherwise idle), ran 489 chunks of 2,048
(945 M rows, a 537 MB Parquet file) in 1,661 s, with 563 MB peak resident memory in the driver and
626 MB in the largest worker: 1.66 ms a subject, so memory stays bounded by the chunk while time
grows linearly (the 100,000-subject target of 120 s would need ~1.4x this rate). On a Ray cluster
the same command takes `--backend ray --address HOST:PORT` and spreads the chunks over its CPUs.
"""


def _load_text(machine: dict[str, Any]) -> str:
    load = machine.get("load_average")
    if not load:
        return ""
    busy = ", so the figures were taken under load" if load[1] > 0.5 * machine["cpus"] else ""
    return (f"; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} over 1 / 5 / 15 min at the end of "
            f"the run{busy}")


def _spread_text(low: float, median: float, high: float, fmt: str = ",.0f") -> str:
    return f"{low:{fmt}} / {median:{fmt}} / {high:{fmt}}"


def peers_text(report: dict[str, Any]) -> str:
    """One line per peer (min / median / max) and the traffic estimate behind the ceiling."""
    lines = []
    for p in report["peers"].values():
        scale, unit = (1e9, "GB/s") if p["unit"] == "bytes/s" else (1.0, p["unit"])
        fmt = ",.1f" if scale > 1 else ",.0f"
        lines.append(f"- {p['note']}: {_spread_text(p['low'] / scale, p['median'] / scale, p['high'] / scale, fmt)}"
                     f" {unit}")
    t = report["traffic_bytes_per_subject_step"]
    cache = report["machine"].get("last_level_cache_bytes")
    state = report["state_bytes_per_subject"]["core"]
    lines.append(f"- memory traffic of one subject-step, estimated as one read of every array with one entry per "
                 f"subject that the objects hold and one write of those a step changes "
                 f"(`bench.traffic_bytes_per_subject_step`, N = 4,096): core {t['core']:,.0f} B, native VectorEnv "
                 f"{t['vector_env']:,.0f} B, core + Q-learning {t['td_cohort']:,.0f} B; the ceiling is the copy's "
                 f"bandwidth over that. The largest cache holds "
                 + (f"{cache / 2**20:,.0f} MiB, the core's state of {cache / state:,.0f} subjects "
                    f"({state:,.0f} B each): below that the state can stay in cache and a step can beat the "
                    "main-memory ceiling"
                    if cache else "an unknown amount"))
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    """The performance report (docs/performance.md) of a `run`."""
    m = report["machine"]
    by_n = report["scaling_with_n"]
    rows = "\n".join(
        f"| {n:,} | {_spread_text(lo, us, hi)} | {us / n:,.3f} | {c:,.1f} |"
        for n, us, lo, hi, c in zip(by_n["n_subjects"], by_n["us_per_step"], by_n["us_per_step_low"],
                                    by_n["us_per_step_high"], by_n["ceiling_us_per_step"], strict=True))
    days = report["scaling_with_protocol"]
    per_day = "\n".join(f"| {d} | {_spread_text(lo, t, hi, '.2f')} |"
                        for d, t, lo, hi in zip(days["sessions"], days["seconds"], days["seconds_low"],
                                                days["seconds_high"], strict=True))
    return f"""# Performance

Produced by `{report['command']}` on {report['date']} ({m['platform']}, Python {m['python']}, numpy
{m['numpy']}, numba {m.get('numba', '-')}, {m['cpus']} CPUs, a shared machine{_load_text(m)}). Absolute speeds
drift on a shared machine, so every figure is the min / median / max of {report['repeats']} repeats, and each is
set beside peers measured in the same run (min / median / max):

{peers_text(report)}

The ratio columns divide a figure's median by its peer's: gymnasium's CartPole at the same N (its vectorised
CartPole for N > 1), the Python loop, and the main-memory ceiling. A ratio to the ceiling near or above 1 means the
step moves its state as fast as a copy through main memory could (above 1 where the state stays in cache); well
below 1, the step is bound by something else (instructions, Python overhead, branches).

{format_table(report["figures"])}

![cost against N and protocol length](performance/scaling.png)

Cost of one core step against the number of subjects (random actions), and the cost at the memory-bandwidth
ceiling:

| subjects | us per step (min / median / max) | us per subject-step (median) | ceiling us per step |
|---|---|---|---|
{rows}

Wall time of a 64-subject TD cohort against the number of 1-h sessions (linear: each session is the
same work):

| sessions | seconds (min / median / max) |
|---|---|
{per_day}

{PROFILE_NOTES}"""


def _plot_scaling(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_n, by_days = report["scaling_with_n"], report["scaling_with_protocol"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    n = np.array(by_n["n_subjects"], dtype=float)
    us = np.array(by_n["us_per_step"])
    spread = [us - np.array(by_n["us_per_step_low"]), np.array(by_n["us_per_step_high"]) - us]
    left.errorbar(n, us, yerr=spread, fmt="o-", capsize=3, label="core step (median, min-max)")
    left.loglog(n, us[0] * n / n[0], ":", color="grey", label="proportional to N")
    bandwidth = report["peers"]["memory_bandwidth"]["median"]
    left.loglog(n, by_n["ceiling_us_per_step"], "--", color="tab:red",
                label=f"main-memory ceiling ({report['traffic_bytes_per_subject_step']['core']:,.0f} B at "
                f"{bandwidth / 1e9:.1f} GB/s)")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("subjects N")
    left.set_ylabel("time per step (us)")
    left.legend(fontsize=7)
    left.set_title("cost against cohort size", fontsize=10)
    secs = np.array(by_days["seconds"])
    right.errorbar(by_days["sessions"], secs,
                   yerr=[secs - np.array(by_days["seconds_low"]), np.array(by_days["seconds_high"]) - secs],
                   fmt="o-", capsize=3)
    right.set_xlabel("1-h sessions in the protocol")
    right.set_ylabel("wall time (s), 64 TD subjects")
    right.set_title("cost against protocol length", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def _ratio(reference: dict[str, float], key: str) -> str:
    return f"{reference[key]:.2f}" if key in reference else "-"


def format_table(figures: list[dict[str, Any]]) -> str:
    """Markdown table of the figures: min / median / max, target on the median, ratios to peers."""
    rows = ["| benchmark | min | median | max | unit | target | met | x CartPole (same N) | x Python loop "
            "| x memory ceiling | x one thread | what |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in figures:
        low, high = (f"{v:,.1f}" if v is not None else "-" for v in (f.get("low"), f.get("high")))
        ratios = " | ".join(_ratio(f["reference"], key) for key in ("x_cartpole", "x_python_loop",
                                                                      "x_memory_ceiling", "x_one_thread"))
        rows.append(f"| {f['name']} | {low} | {f['value']:,.1f} | {high} | {f['unit']} | {f['target']} | "
                    f"{'yes' if f['met'] else 'no'} | {ratios} | {f['note']} |")
    return "\n".join(rows)


def main(out: str = "results/bench", seconds: float = 2.0, quick: bool = False,
         repeats: int = REPEATS) -> dict[str, Any]:
    """Entry point of `rlcraving bench`: measure, print the table, write the report.

    Args:
        out: directory for performance.md and performance/ (bench.json, scaling.png).
        seconds: minimum time per rate measurement (each repeat).
        quick: small sizes, for a smoke test (figures not comparable with the targets).
        repeats: measurements of every figure and peer; the report gives min / median / max.
    """
    seconds = check_number("seconds", seconds, lo=0.01, hi=3600.0)
    repeats = check_number("repeats", repeats, lo=1, hi=1000, integer=True)
    folder, created = output_folder(out, "out")
    if created:
        print(f"created folder {folder}")
    report = run(folder, seconds, quick, repeats)
    print(f"peers, min / median / max of {repeats} repeats:")
    print(peers_text(report))
    print(format_table(report["figures"]))
    print(f"wrote {folder / 'performance.md'} and {folder / 'performance'}/")
    return report


if __name__ == "__main__":
    main()
