"""Counter-based random numbers: each subject has its own stream, whatever batch it is in.

A draw is a pure function of (subject key, counter, stream): the SplitMix64 finaliser of
their combination. A subject therefore sees the same numbers alone (N = 1) or as one of
100,000, and nothing depends on the order in which subjects are stepped.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from rlcraving.threads import compiled, kernel

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / float(1 << 53)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014) on uint64 arrays."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def subject_keys(seed: int, index: np.ndarray) -> np.ndarray:
    """Keys (uint64) of the subjects numbered `index` in a cohort seeded with `seed`."""
    index = np.asarray(index, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix64(mix64(np.full(index.shape, seed % 2**64, dtype=np.uint64)) + index * _GOLDEN)


def uniform(keys: np.ndarray, counter: np.ndarray | int, stream: int) -> np.ndarray:
    """Uniform [0, 1) draws, one per key, for the given counter and stream number (a compiled loop,
    `uniform_one` for each key)."""
    keys, counter = np.asarray(keys, dtype=np.uint64), np.asarray(counter, dtype=np.uint64)
    # read-only broadcast views: np.broadcast_arrays' views are flagged writeable-with-warning, and numba's
    # typing of such an array emits a FutureWarning
    shape = np.broadcast_shapes(keys.shape, counter.shape)
    keys, counters = np.broadcast_to(keys, shape), np.broadcast_to(counter, shape)
    out = np.empty(keys.shape)
    _uniform_into(keys.ravel(), counters.ravel(), stream, out.reshape(-1))
    return out


def normal(keys: np.ndarray, stream: int) -> np.ndarray:
    """Standard normal draws, one per key (Box-Muller on two uniform streams)."""
    u1 = uniform(keys, 0, 2 * stream + 1)
    u2 = uniform(keys, 0, 2 * stream + 2)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


@compiled
def uniform_one(key: np.uint64, counter: np.int64, stream: np.int64) -> float:
    """`uniform` for one key, callable from compiled code (the same number, bit for bit)."""
    return _unit(key + np.uint64(counter) * _GOLDEN + np.uint64(stream) * _M2)


@compiled
def _unit(x: np.uint64) -> float:
    """The uniform [0, 1) number of a combined key: the top 53 bits of its SplitMix64 finaliser."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return np.float64(x >> np.uint64(11)) * _TO_UNIT


@kernel()
def _uniform_into(keys: np.ndarray, counters: np.ndarray, stream: int, out: np.ndarray) -> None:
    """out[i] = the draw of keys[i] at counters[i] (uint64 arrays) on `stream`."""
    stream_term = np.uint64(stream) * _M2
    for i in prange(keys.size):
        out[i] = _unit(keys[i] + counters[i] * _GOLDEN + stream_term)
