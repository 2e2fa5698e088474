"""The kernels over subjects give the same numbers, bit for bit, on one thread and on two."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any

import numba
import numpy as np
import pytest

from rlcraving import threads
from rlcraving.agents.cohort import run_cohort
from rlcraving.core import SubjectBatch
from rlcraving.protocol import session

two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has one thread here")
# 600 subjects: two blocks of threads.BLOCK = 512, the second partial
N = 600


@contextlib.contextmanager
def thread_count(n: int) -> Iterator[None]:
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


@pytest.fixture
def parallel_from_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cohort takes the parallel build (when more than one thread is allowed)."""
    monkeypatch.setattr(threads, "PARALLEL_MIN_SUBJECTS", 1)


def _core_run(steps: int = 120) -> list[np.ndarray]:
    """Observations, rewards and the final state of N subjects pressing at random (many ratios
    completed: Pavlovian trials, infusions, timeouts)."""
    batch = SubjectBatch(N)
    batch.start_sessions(np.arange(N), session("self_administration"), first=True)
    rng = np.random.default_rng(3)
    out: list[np.ndarray] = []
    for _ in range(steps):
        obs, reward, terminated, truncated = batch.step(rng.integers(0, 3, N))
        out += [obs.copy(), reward.copy(), terminated.copy(), truncated.copy()]
    return [*out, batch._levels.copy(), batch._excitation.copy(), batch._inhibition.copy(), batch._tally.copy()]


def _identical(run: Callable[[], list[np.ndarray]]) -> None:
    with thread_count(1):
        one = run()
    with thread_count(2):
        two = run()
    assert len(one) == len(two)
    for a, b in zip(one, two, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


@two_threads
def test_core_bit_identical_on_one_and_two_threads(parallel_from_one: None) -> None:
    _identical(_core_run)


@two_threads
def test_td_cohort_bit_identical_on_one_and_two_threads(parallel_from_one: None) -> None:
    calendar = [{"phase": "self_administration", "days": 1}, {"phase": "cue_reinstatement", "days": 1}]

    def run() -> list[np.ndarray]:
        result = run_cohort(N, calendar, seed=5, trace_sessions=(0, 1))
        return [result.table["value"].to_numpy(), result.traces["value"].to_numpy()]

    _identical(run)


def test_parallel_build_runs_only_above_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen: list[bool] = []
    spy = threads.Kernel(lambda a: None, 0, 0)
    monkeypatch.setattr(spy, "build", lambda parallel: chosen.append(parallel) or (lambda *args: None))
    with thread_count(2):
        spy(np.empty(threads.PARALLEL_MIN_SUBJECTS - 1))
        spy(np.empty(threads.PARALLEL_MIN_SUBJECTS))   # a new cohort size tries the parallel build first
    with thread_count(1):
        spy(np.empty(threads.PARALLEL_MIN_SUBJECTS))
    assert chosen == [False, numba.config.NUMBA_NUM_THREADS > 1, False]


def _run_choice(choice: threads.Choice, ns: Callable[[bool], float], calls: int) -> list[bool]:
    """The builds `choice` picks over `calls` calls that take `ns(parallel)` nanoseconds."""
    picked = []
    for _ in range(calls):
        parallel = choice.next()
        choice.record(parallel, ns(parallel))
        picked.append(parallel)
    return picked


def _probes(start: int, calls: int) -> list[int]:
    """Indices, among `calls` calls after the `start`-th, of the calls that probe the other build."""
    probe, run = threads.Choice.PROBE, threads.Choice.PROBE_RUN
    return [i for i in range(calls) if (start + i + 1) % probe < run and start + i + 1 >= probe]


def test_choice_runs_the_faster_build_and_probes_the_other() -> None:
    choice = threads.Choice()
    # parallel twice as fast: after each build's untimed first call and one timed call, parallel,
    # with the serial build PROBE_RUN times every PROBE calls
    picked = _run_choice(choice, lambda parallel: 100.0 if parallel else 200.0, 10 * threads.Choice.PROBE)
    assert picked[:5] == [True, True, False, False, True]
    assert [i for i, p in enumerate(picked) if not p][2:] == _probes(0, len(picked))
    assert choice.cost == [200.0, 100.0]


def test_one_slow_call_does_not_switch() -> None:
    choice = threads.Choice()
    _run_choice(choice, lambda parallel: 100.0 if parallel else 150.0, 10)
    choice.record(True, 10_000.0)   # e.g. the machine took the core for a moment
    assert choice.next()


def test_first_call_after_a_switch_is_not_timed() -> None:
    """A parallel call after serial ones pays for its threads' wake-up: not counted."""
    choice = threads.Choice()
    _run_choice(choice, lambda parallel: 100.0 if parallel else 200.0, 10)
    choice.record(False, 200.0)
    choice.record(True, 10_000.0)
    assert choice.cost == [200.0, 100.0]


def test_choice_follows_the_load() -> None:
    """A parallel build slowed by other processes (its threads waiting on each other) gives way to the
    serial one within a few calls, and wins again after the load goes, through the probes."""
    choice = threads.Choice()
    _run_choice(choice, lambda parallel: 100.0 if parallel else 200.0, 100)
    probe, start = threads.Choice.PROBE, choice.calls
    busy = _run_choice(choice, lambda parallel: 600.0 if parallel else 200.0, 10 * probe)
    switched = busy.index(False)
    assert 1 < switched <= 5   # a few slow calls switch to the serial build; then parallel only as the probe
    assert [i for i, p in enumerate(busy) if p][switched:] == [i for i in _probes(start, len(busy)) if i >= switched]
    start = choice.calls
    idle = _run_choice(choice, lambda parallel: 100.0 if parallel else 200.0, 20 * probe)
    # serial until the first probe runs parallel, then parallel, serial only as the probe
    probes, run = _probes(start, len(idle)), threads.Choice.PROBE_RUN
    first = probes[0]
    assert idle[:first] == [False] * first and all(idle[first:first + run])
    assert [i for i, p in enumerate(idle) if not p and i > first] == [i for i in probes if i >= first + run]


@two_threads
@pytest.mark.parametrize("route", ["smoked", "intranasal"])
def test_person_world_bit_identical_on_one_and_two_threads(parallel_from_one: None, route: str) -> None:
    """The person's hour (`outpatient._hour`), with baclofen (sedation holding actions), evening drinking,
    clinic visits, a midnight, and for intranasal use the split pass over the blocks (absorption decided
    once every block has used or not)."""
    from rlcraving.outpatient import PersonBatch, PersonOptions
    from rlcraving.pharmacology import OralTID

    def run() -> list[np.ndarray]:
        batch = PersonBatch(N, options=PersonOptions(route=route, alcohol=True))
        batch.start_weeks(np.arange(N), OralTID(60.0))
        rng = np.random.default_rng(4)
        out: list[np.ndarray] = []
        for _ in range(40):
            obs, reward, _, truncated = batch.step(rng.integers(0, 3, N))
            out += [obs.copy(), reward.copy(), truncated.copy(), batch.held_action.copy()]
        return [*out, batch._levels.copy(), batch._excitation.copy(), batch._inhibition.copy(),
                batch.adverse_counts.copy(), np.array([v["craving"] for v in batch.visits])]

    _identical(run)


def _core_fingerprint(queue: Any) -> None:
    queue.put([a.tobytes() for a in _core_run(20)])


@two_threads
@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_a_child_forked_after_parallel_runs_serial_with_the_same_numbers(parallel_from_one: None) -> None:
    """GNU OpenMP cannot run a parallel region in a child forked after the parent ran one (numba's layer
    terminates the child); the child runs the serial builds instead, with the same numbers."""
    with thread_count(2):
        _core_run(20)   # the parent runs parallel builds
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_core_fingerprint, args=(queue,))
        child.start()
        got = queue.get(timeout=120)
        child.join(60)
    assert child.exitcode == 0
    with thread_count(1):
        assert got == [a.tobytes() for a in _core_run(20)]
