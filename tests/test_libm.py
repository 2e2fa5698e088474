"""The compiled exp is the C library's, bit for bit."""

from __future__ import annotations

import math

import numpy as np

from rlcraving import libm
from rlcraving.threads import compiled


@compiled
def _mismatches(x: np.ndarray) -> int:
    bad = 0
    for i in range(x.size):
        a, b = libm.exp(x[i]), math.exp(x[i])
        if not (a == b or (a != a and b != b)):
            bad += 1
    return bad


@compiled
def _c_library(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = math.exp(x[i])
    return out


def _arguments(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    edges = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -5e-324, 2.0**-54, -(2.0**-54), 2.0**-55,
             511.999, -511.999, 512.0, -512.0, 709.78, 709.79, -708.3, -708.4, -745.1, -745.2, 1023.9, -1023.9]
    return np.concatenate([edges, rng.uniform(-30.0, 0.0, n), rng.uniform(-745.0, 710.0, n),
                           -rng.exponential(1e-3, n), rng.integers(0, 2**64, n, dtype=np.uint64).view(np.float64)])


def test_exp_is_the_c_librarys() -> None:
    x = _arguments(500_000)
    assert _mismatches(x) == 0


def test_exp_into_is_exp_elementwise() -> None:
    x = _arguments(20_000)
    out = np.empty_like(x)
    libm.exp_into(x, out)
    assert np.array_equal(out, _c_library(x), equal_nan=True)
