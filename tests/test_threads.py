"""The kernels over subjects give the same numbers, bit for bit, on one thread and on two."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

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
        spy(np.empty(threads.PARALLEL_MIN_SUBJECTS))
    with thread_count(1):
        spy(np.empty(threads.PARALLEL_MIN_SUBJECTS))
    assert chosen == [False, numba.config.NUMBA_NUM_THREADS > 1, False]


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
