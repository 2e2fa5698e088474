"""Compiled kernels over subjects that run on every core when that is faster.

`kernel` compiles a loop over subjects twice with numba: once serial and once with
`parallel=True`, where `numba.prange` hands blocks of subjects to the threads. Below
`PARALLEL_MIN_SUBJECTS` subjects, or with one thread allowed (`numba.set_num_threads`,
`NUMBA_NUM_THREADS`), the serial build runs. Above it, which build is faster depends on the
machine: on idle cores two threads nearly halve a step, but when other processes keep the cores
busy, a thread that has to wait for a descheduled partner at every parallel loop makes the step
several times slower. So each kernel times its calls (`Choice`, per cohort size) and runs the
faster build, trying the other one now and then to follow the machine's load. A kernel called
from another kernel takes the build of its caller.

A subject's numbers never depend on the thread that computes them, nor on the build: a kernel's
loop over subjects writes each subject's own rows only, its scratch arrays are allocated per block
of subjects (`blocks`), and no floating-point sum runs across subjects (counts across subjects
are integer sums, which any order gives exactly). Results are therefore bit-identical whatever
the thread count and whichever build runs (tests/test_threads.py); only the time varies.
"""

from __future__ import annotations

import math
import os
import time
import types
from collections.abc import Callable
from typing import Any

import numba
import numba.np.ufunc.parallel
import numpy as np

#: Cohorts at least this large may run on every core, when measured faster (`Choice`); smaller ones
#: run serial without timing. At 2,048 both cores still pay on an idle 2-core machine (vector env
#: 14.9 against 12.8 M subject-steps/s serial, docs/performance.md); smaller sizes were not measured.
PARALLEL_MIN_SUBJECTS = 2_048

#: Subjects a thread takes at a time (`blocks`): a block's scratch arrays are allocated once.
BLOCK = 512

#: Options of every compiled function of a step. numpy's error model: a division by zero gives inf or
#: nan instead of raising ZeroDivisionError, so a division is one instruction with no test before it,
#: and a loop with divisions can run on vectors of subjects (no divisor of a step is zero for valid
#: parameters; the results of nonzero divisions are the same double either way).
JIT_OPTIONS = {"cache": True, "error_model": "numpy"}
#: Decorator: `numba.njit` with `JIT_OPTIONS`.
compiled = numba.njit(**JIT_OPTIONS)


@compiled
def blocks(n: int) -> int:
    """Number of blocks of `BLOCK` subjects that cover `n` subjects (the range of a `prange`)."""
    return (n + BLOCK - 1) // BLOCK


# Block bounds are unsigned: numba wraps negative indices around, and with a signed index the
# compiler cannot drop that check (nor vectorise a loop) unless it can prove the index >= 0.

@compiled
def block_start(block: int) -> np.uint64:
    """First subject of `block`."""
    return np.uint64(block * BLOCK)


@compiled
def block_end(block: int, n: int) -> np.uint64:
    """One past the last subject of `block` of `n` subjects."""
    return np.uint64(min(n, (block + 1) * BLOCK))


class Kernel:
    """A loop over subjects compiled serial and parallel; calling it runs the serial build below
    `PARALLEL_MIN_SUBJECTS` subjects (`args[subjects_arg].shape[axis]`) and above it the build its
    `Choice` for that size picks."""

    def __init__(self, func: Callable[..., Any], subjects_arg: int, axis: int):
        self.py_func, self.subjects_arg, self.axis = func, subjects_arg, axis
        self.__name__, self.__qualname__, self.__doc__ = func.__name__, func.__qualname__, func.__doc__
        self.__module__ = func.__module__
        self.__wrapped__ = func
        self._builds: list[Any] = [None, None]   # serial, parallel
        self._choices: dict[int, Choice] = {}   # by the bit length of N

    def build(self, parallel: bool) -> Any:
        """The numba dispatcher of the serial or parallel build (compiled or loaded on first use)."""
        if self._builds[parallel] is None:
            self._builds[parallel] = _compile(self.py_func, parallel)
        return self._builds[parallel]

    def __call__(self, *args: Any) -> Any:
        global _parallel_ran
        n = args[self.subjects_arg].shape[self.axis]
        if n < PARALLEL_MIN_SUBJECTS or _serial_only or thread_count() < 2:
            return (self._builds[False] or self.build(False))(*args)
        key = int(n).bit_length()
        choice = self._choices.get(key)
        if choice is None:
            choice = self._choices[key] = Choice()
        parallel = choice.next()
        _parallel_ran |= parallel
        build = self._builds[parallel] or self.build(parallel)
        start = time.perf_counter_ns()
        out = build(*args)
        choice.record(parallel, time.perf_counter_ns() - start)
        return out


class Choice:
    """Which build of a kernel runs at one cohort size (N within a power of 2): the faster, as timed.

    A build's cost (ns) is the least wall time of its first `PROBE_RUN` timed calls in a row, then a
    moving average of its calls (each counted as at most twice the average, so one slow call does not
    switch builds). Every `PROBE` calls the other build runs `PROBE_RUN` times in a row, so the choice
    follows the machine's load. The first call of a build after the other's is not timed: it pays for
    the build's compilation or loading, or for threads that fell asleep while the serial build ran
    (on a virtual machine an idle core also runs slower for its first few hundred microseconds of work,
    hence the least of a run)."""

    #: Every this many calls the build not chosen runs `PROBE_RUN` times.
    PROBE = 128
    PROBE_RUN = 4
    #: Weight of the newest call in the chosen build's moving average.
    WEIGHT = 0.25

    __slots__ = ("best", "calls", "chosen", "cost", "last", "run")

    def __init__(self) -> None:
        self.calls = 0
        self.cost: list[float | None] = [None, None]   # serial, parallel (ns a call)
        self.last: bool | None = None                  # the build of the previous call (True: parallel)
        self.chosen = True                             # the faster, outside a probe
        self.run = 0                                   # timed calls of `last` since it last started
        self.best = math.inf                           # the least of them (ns)

    def next(self) -> bool:
        """True to run the parallel build in this call."""
        self.calls += 1
        serial, parallel = self.cost
        if parallel is None:
            return True
        if serial is None:
            return False
        if self.calls % self.PROBE < self.PROBE_RUN:
            return not self.chosen
        self.chosen = parallel < serial
        return self.chosen

    def record(self, parallel: bool, ns: float) -> None:
        """Time of a call of the `parallel` or serial build."""
        if self.last is not parallel:
            self.last, self.run, self.best = parallel, 0, math.inf
            return
        self.run += 1
        self.best = min(self.best, ns)
        cost = self.cost[parallel]
        if cost is None or self.run <= self.PROBE_RUN:
            self.cost[parallel] = self.best
        else:
            self.cost[parallel] = cost + self.WEIGHT * (min(ns, 2.0 * cost) - cost)


_count: Callable[[], int] | None = None

#: Whether this process has run a parallel build, and whether it is a child forked after that. GNU
#: OpenMP cannot run a parallel region in such a child (numba's OpenMP layer terminates it: "fork()
#: called from a process already using GNU OpenMP"), so the child runs the serial builds: the same
#: numbers. A child started with the spawn or forkserver methods is a fresh process and uses both cores.
_parallel_ran = False
_serial_only = False


def _after_fork_in_child() -> None:
    global _serial_only
    _serial_only = _serial_only or _parallel_ran


os.register_at_fork(after_in_child=_after_fork_in_child)


def thread_count() -> int:
    """`numba.get_num_threads()`, without its lock on every call once the threads are started."""
    global _count
    if _count is None:
        numba.get_num_threads()   # starts numba's threading layer
        _count = getattr(numba.np.ufunc.parallel, "_get_num_threads", numba.get_num_threads)
    return _count()


def kernel(subjects_arg: int = 0, axis: int = 0) -> Callable[[Callable[..., Any]], Kernel]:
    """Decorator: `func` loops over subjects with `numba.prange`; positional argument
    `subjects_arg` has the subjects along `axis`."""

    def wrap(func: Callable[..., Any]) -> Kernel:
        return Kernel(func, subjects_arg, axis)

    return wrap


def _compile(func: Callable[..., Any], parallel: bool) -> Any:
    """numba.njit of a copy of `func` whose global kernels are their builds of the same kind, named
    apart (numba's cache tells builds apart by module and name only)."""
    scope = dict(func.__globals__)
    for name in func.__code__.co_names:
        if isinstance(scope.get(name), Kernel):
            scope[name] = scope[name].build(parallel)
    copy = types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__, func.__closure__)
    copy.__qualname__ = func.__qualname__ + ("__parallel" if parallel else "__serial")
    copy.__module__ = func.__module__
    # a kernel without a prange of its own (one that calls kernels) needs no parallel transformation
    return numba.njit(**JIT_OPTIONS, parallel=parallel and "prange" in func.__code__.co_names)(copy)
