"""Compiled kernels over subjects that run on every core above a size threshold.

`kernel` compiles a loop over subjects twice with numba: once serial and once with
`parallel=True`, where `numba.prange` hands blocks of subjects to the threads. A call from
Python takes the parallel build when the cohort has at least `PARALLEL_MIN_SUBJECTS` subjects
and more than one thread is allowed (`numba.set_num_threads`, `NUMBA_NUM_THREADS`); below that
the serial build runs, since starting the threads costs more than a small cohort's work. A
kernel called from another kernel takes the build of its caller.

A subject's numbers never depend on the thread that computes them: a kernel's loop over
subjects writes each subject's own rows only, its scratch arrays are allocated per block of
subjects (`blocks`), and no floating-point sum runs across subjects (counts across subjects
are integer sums, which any order gives exactly). Results are therefore bit-identical whatever
the thread count (tests/test_threads.py).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numba
import numba.np.ufunc.parallel
import numpy as np

#: Cohorts at least this large run on every core. The kernels' threads wait passively (see
#: `rlcraving/__init__.py`), and waking them costs more than a small cohort's work: vector env
#: subject-steps/s on 2 threads against 1 (M, medians of 3 one-second runs, quiet 2-core machine):
#: 3.1 vs 6.2 at N = 4096, 5.9 vs 6.1 at 16,384, 4.8 vs 4.6 at 32,768, 5.9 vs 4.2 at 65,536.
PARALLEL_MIN_SUBJECTS = 32_768

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
    """A loop over subjects compiled serial and parallel; calling it picks the build by the number
    of subjects, `args[subjects_arg].shape[axis]`."""

    def __init__(self, func: Callable[..., Any], subjects_arg: int, axis: int):
        self.py_func, self.subjects_arg, self.axis = func, subjects_arg, axis
        self.__name__, self.__qualname__, self.__doc__ = func.__name__, func.__qualname__, func.__doc__
        self.__module__ = func.__module__
        self.__wrapped__ = func
        self._builds: list[Any] = [None, None]   # serial, parallel

    def build(self, parallel: bool) -> Any:
        """The numba dispatcher of the serial or parallel build (compiled or loaded on first use)."""
        if self._builds[parallel] is None:
            self._builds[parallel] = _compile(self.py_func, parallel)
        return self._builds[parallel]

    def __call__(self, *args: Any) -> Any:
        parallel = args[self.subjects_arg].shape[self.axis] >= PARALLEL_MIN_SUBJECTS and thread_count() > 1
        build = self._builds[parallel]
        return (build or self.build(parallel))(*args)


_count: Callable[[], int] | None = None


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
