"""The arithmetic of the TD agents' step, compiled with numba: one loop over the subjects per phase.

Arrays are subjects-last, as in `rlcraving.agents.td`: weights (A, F, n), values and
preferences (A, n), features (F, n). Per-subject parameters are 1-element arrays when every
subject shares them (index `i * stride`, stride 0 or 1).

Every operation reproduces the numpy expression it replaces, bit for bit, including its
precision: a value stored in float32 (`WEIGHT_DTYPE`) is rounded where numpy rounded it, and
float32 x float32 stays float32 while float32 x float64 is computed in float64. Parameters
given as Python floats in numpy arithmetic take the other operand's precision (NumPy's
promotion rules, NEP 50), so they are passed here as float32 arrays; per-subject (float64)
parameters as float64 arrays. The exponentials are left to numpy (`np.exp` between the
phases): numpy's vectorised float32 exp and the C library's differ in the last bit for about
a third of arguments, and a choice near a boundary would follow that bit. No sum runs across
subjects, so a subject's numbers do not depend on the others or on their number.

Each function is a `rlcraving.threads.kernel`: its loop over blocks of subjects (`BLOCK`) runs on
every core for large cohorts; within a block, each phase runs row by row over the block's
subjects. Scratch rows with one entry per subject are shared, each block writing its own entries.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from rlcraving.random import uniform_one
from rlcraving.threads import block_end, block_start, blocks, kernel

_OTHER, _ACTIVE = 0, 1   # rlcraving.core.OTHER, ACTIVE (kept literal so that compiled code sees constants)


@numba.njit(cache=True)
def _stride(values: np.ndarray) -> np.uint64:
    """1 for per-subject values, 0 for one shared value (unsigned, as the subject indices)."""
    return np.uint64(1 if values.size > 1 else 0)


@kernel(1, 1)
def linear(weights: np.ndarray, phi: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[a, i] = sum_f weights[a, f, i] * phi[f, i], summed in feature order (2-D weights: out[i])."""
    n_features, n = phi.shape
    flat = weights.reshape(-1, n_features, n)
    target = out.reshape(-1, n)
    for block in prange(blocks(n)):
        lo, hi = block_start(block), block_end(block, n)
        for a in range(flat.shape[0]):
            for i in range(lo, hi):
                target[a, i] = flat[a, 0, i] * phi[0, i]
            for f in range(1, n_features):
                for i in range(lo, hi):
                    target[a, i] += flat[a, f, i] * phi[f, i]
    return out


# Each phase runs row by row over a block's subjects (an inner loop over contiguous subjects,
# which the compiler vectorises): a subject's values lie n apart, and a loop over one subject's
# features would touch a cache line per feature, all in the same cache set.

@numba.njit(cache=True)
def _scaled(row: np.ndarray, factor: np.ndarray, out: np.ndarray, lo: int, hi: int) -> None:
    """out = row * factor for subjects lo..hi-1 (factor: one value, or one per subject)."""
    if factor.size > 1:
        for i in range(lo, hi):
            out[i] = row[i] * factor[i]
    else:
        shared = factor[0]
        for i in range(lo, hi):
            out[i] = row[i] * shared


@numba.njit(cache=True)
def _add_scaled(out: np.ndarray, row: np.ndarray, factor: np.ndarray, lo: int, hi: int) -> None:
    """out += row * factor for subjects lo..hi-1 (factor: one value, or one per subject)."""
    if factor.size > 1:
        for i in range(lo, hi):
            out[i] = out[i] + row[i] * factor[i]
    else:
        shared = factor[0]
        for i in range(lo, hi):
            out[i] = out[i] + row[i] * shared


@kernel(0, 0)
def observed_features(obs: np.ndarray, columns: np.ndarray, occupancy_column: int, centres: np.ndarray,
                      scale: float, out: np.ndarray) -> None:
    """Rows of `out` (F, m): the observed columns, then the exponents scale (o - c)^2 of the occupancy
    bumps (the caller takes their exp)."""
    first, m = columns.size, obs.shape[0]
    for block in prange(blocks(m)):
        lo, hi = block_start(block), block_end(block, m)
        for f in range(first):
            column = columns[f]
            for i in range(lo, hi):
                out[f, i] = obs[i, column]
        for k in range(centres.size):
            row, centre = out[first + k], centres[k]
            for i in range(lo, hi):
                row[i] = obs[i, occupancy_column] - centre
            for i in range(lo, hi):
                row[i] = row[i] * row[i] * scale


@kernel(0, 1)
def preferences(values: np.ndarray, inverse_temperature: np.ndarray, other_bias: np.ndarray,
                pavlovian_weight: np.ndarray, incentive: np.ndarray, out: np.ndarray) -> None:
    """out = beta values + biases (other behaviour: b_other; active lever: omega u), minus each
    subject's largest (the caller takes their exp)."""
    n_actions, m = values.shape
    ones = np.ones(m)
    top = np.empty(m, dtype=out.dtype)
    for block in prange(blocks(m)):
        lo, hi = block_start(block), block_end(block, m)
        for a in range(n_actions):
            _scaled(values[a], inverse_temperature, out[a], lo, hi)
        _add_scaled(out[_OTHER], ones, other_bias, lo, hi)
        _add_scaled(out[_ACTIVE], incentive, pavlovian_weight, lo, hi)
        for i in range(lo, hi):
            top[i] = out[0, i]
        for a in range(1, n_actions):
            row = out[a]
            for i in range(lo, hi):
                top[i] = row[i] if row[i] > top[i] else top[i]
        for a in range(n_actions):
            row = out[a]
            for i in range(lo, hi):
                row[i] = row[i] - top[i]


@kernel(0, 1)
def choose(weights: np.ndarray, keys: np.ndarray, counter: np.ndarray, stream: int, chosen: np.ndarray,
           policy: np.ndarray, with_policy: bool) -> None:
    """Draw each subject's action from unnormalised `weights` (A, m; exp of the preferences, turned
    into cumulative sums in place): the number of cumulative sums at or below u * total, u uniform
    from the subject's stream. The probabilities go into `policy` when `with_policy`."""
    n_actions, m = weights.shape
    total = np.empty(m, dtype=weights.dtype)
    threshold = np.empty(m)
    for block in prange(blocks(m)):
        lo, hi = block_start(block), block_end(block, m)
        if with_policy:
            for i in range(lo, hi):
                total[i] = weights[0, i]
            for a in range(1, n_actions):
                for i in range(lo, hi):
                    total[i] += weights[a, i]
            for a in range(n_actions):
                for i in range(lo, hi):
                    policy[a, i] = weights[a, i] / total[i]
        for a in range(1, n_actions):
            for i in range(lo, hi):
                weights[a, i] += weights[a - 1, i]
        for i in range(lo, hi):
            threshold[i] = uniform_one(keys[i], counter[i], stream) * weights[n_actions - 1, i]
            chosen[i] = 0
        for a in range(n_actions - 1):
            for i in range(lo, hi):
                chosen[i] += weights[a, i] <= threshold[i]


@numba.njit(cache=True)
def _learning_signal(delta: float, gain: float) -> float:
    """Baclofen damps bursts, not pauses: max(delta, 0) g + min(delta, 0)."""
    burst = delta if delta >= 0.0 else 0.0
    pause = delta if delta <= 0.0 else 0.0
    return burst * gain + pause


@numba.njit(cache=True)
def _overlaps(phi: np.ndarray, phi_next: np.ndarray, out: np.ndarray, lo: int, hi: int) -> None:
    """out = phi(s_t) . phi(s_{t+1}) for subjects lo..hi-1, summed in feature order in float32."""
    for i in range(lo, hi):
        out[i] = phi[0, i] * phi_next[0, i]
    for f in range(1, phi.shape[0]):
        for i in range(lo, hi):
            out[i] += phi[f, i] * phi_next[f, i]


@kernel(0, 2)
def value_update(weights: np.ndarray, values: np.ndarray, next_values: np.ndarray, actions: np.ndarray,
                 next_actions: np.ndarray, reward: np.ndarray, done: np.ndarray, gain: np.ndarray,
                 gamma: np.ndarray, learning_rate: np.ndarray, phi: np.ndarray, phi_next: np.ndarray,
                 bootstrap_chosen: bool, drug: np.ndarray, average_reward: np.ndarray, baseline_rate: float,
                 allostasis_coefficient: float, allostasis: np.ndarray, sharing: float, signal: np.ndarray) -> None:
    """Error, learning signal and update of the value learners (`rlcraving.agents.td`), per subject:

        delta0 = (r - D) + gamma V(s') * (not done) - Q(s, a)     V(s') = max_a' or Q(s', a')
        delta  = max(delta0 + D, D) if D > 0 else delta0          (D: drug term; empty `drug`: none)
        s      = learning signal of delta
        s     -= rbar + kappa;  rbar += rate (r - rbar)           (empty `average_reward`: none)
        w_a += alpha s phi(s);  Q(s', a) += alpha s phi(s) . phi(s')
        a = other: Q(s', b) += sharing alpha s phi(s) . phi(s') for every lever b (a lever's value
                   is its own weights' plus `sharing` times other behaviour's, the state's value)

    Other behaviour is updated for every subject (by 0 unless taken) in float32, as the masked
    vector update it replaces; a lever only for the subjects that pressed it, in float64.
    """
    sg, sl = _stride(gamma), _stride(learning_rate)
    with_drug, with_baseline = drug.size > 0, average_reward.size > 0
    n_actions, n_features, n = weights.shape[0], weights.shape[1], weights.shape[2]
    step, step_other = np.empty(n), np.empty(n)
    pressed = np.empty(n, dtype=np.uint64)   # each block lists its pressing subjects in its own entries
    overlap = np.empty(n, dtype=phi.dtype)
    for block in prange(blocks(n)):
        lo, hi = block_start(block), block_end(block, n)
        n_pressed = lo
        for i in range(lo, hi):
            if bootstrap_chosen:
                bootstrap = next_values[next_actions[i], i]
            else:
                bootstrap = next_values[0, i]
                for a in range(1, n_actions):
                    if next_values[a, i] > bootstrap:
                        bootstrap = next_values[a, i]
            live = 0.0 if done[i] else 1.0
            r = reward[i] - drug[i] if with_drug else reward[i]
            delta = (r + gamma[i * sg] * bootstrap * live) - values[actions[i], i]
            if with_drug and drug[i] > 0:
                delta = max(delta + drug[i], drug[i])
            signal[i] = _learning_signal(delta, gain[i])
            if with_baseline:   # the tonic baseline is not a burst: baclofen's gain leaves it
                signal[i] -= average_reward[i] + allostasis_coefficient * allostasis[i]
                average_reward[i] += baseline_rate * (reward[i] - average_reward[i])
            step[i] = learning_rate[i * sl] * signal[i]
            step_other[i] = step[i] if actions[i] == _OTHER else 0.0
            if actions[i] != _OTHER:
                pressed[n_pressed] = i
                n_pressed += np.uint64(1)
        for f in range(n_features):
            for i in range(lo, hi):
                weights[_OTHER, f, i] += np.float32(phi[f, i] * step_other[i])
        for k in range(lo, n_pressed):   # the few subjects that pressed a lever
            i = pressed[k]
            for f in range(n_features):
                weights[actions[i], f, i] = weights[actions[i], f, i] + phi[f, i] * step[i]
        _overlaps(phi, phi_next, overlap, lo, hi)
        for i in range(lo, hi):
            next_values[actions[i], i] = next_values[actions[i], i] + step[i] * overlap[i]
        if sharing > 0.0:
            for a in range(1, n_actions):
                for i in range(lo, hi):
                    next_values[a, i] = next_values[a, i] + sharing * step_other[i] * overlap[i]


@kernel(0, 2)
def actor_critic_update(weights: np.ndarray, critic: np.ndarray, state_value: np.ndarray,
                        next_state_value: np.ndarray, policy: np.ndarray, next_values: np.ndarray,
                        actions: np.ndarray, reward: np.ndarray, done: np.ndarray, gain: np.ndarray,
                        gamma: np.ndarray, learning_rate: np.ndarray, critic_learning_rate: np.ndarray,
                        phi: np.ndarray, phi_next: np.ndarray, signal: np.ndarray) -> None:
    """Error, learning signal and update of the actor-critic, per subject:

        delta = r + gamma V(s') (not done) - V(s);  s = learning signal
        w_b  += alpha s (1[b = a] - pi_b) phi(s);  H(s', b) += alpha s (1[b = a] - pi_b) phi(s) . phi(s')
        v    += alpha_c s phi(s);                  V(s') += alpha_c s phi(s) . phi(s')
    """
    sg, sl, sc = _stride(gamma), _stride(learning_rate), _stride(critic_learning_rate)
    n_actions, n_features, n = weights.shape[0], weights.shape[1], weights.shape[2]
    coefficient, critic_step = np.empty((n_actions, n)), np.empty(n)
    overlap = np.empty(n, dtype=phi.dtype)
    for block in prange(blocks(n)):
        lo, hi = block_start(block), block_end(block, n)
        for i in range(lo, hi):
            live = 0.0 if done[i] else 1.0
            delta = (reward[i] + gamma[i * sg] * next_state_value[i] * live) - state_value[i]
            signal[i] = _learning_signal(delta, gain[i])
            step = learning_rate[i * sl] * signal[i]
            for b in range(n_actions):
                coefficient[b, i] = (np.float32(1.0 if actions[i] == b else 0.0) - policy[b, i]) * step
            critic_step[i] = critic_learning_rate[i * sc] * signal[i]
        for b in range(n_actions):
            for f in range(n_features):
                for i in range(lo, hi):
                    weights[b, f, i] += np.float32(phi[f, i] * coefficient[b, i])
        for f in range(n_features):
            for i in range(lo, hi):
                critic[f, i] += np.float32(phi[f, i] * critic_step[i])
        _overlaps(phi, phi_next, overlap, lo, hi)
        for i in range(lo, hi):
            for b in range(n_actions):
                next_values[b, i] = next_values[b, i] + coefficient[b, i] * overlap[i]
            next_state_value[i] = next_state_value[i] + critic_step[i] * overlap[i]
