"""The arithmetic of the TD agents' step, compiled with numba: loops over the subjects, block by block.

Arrays are subjects-last, as in `rlcraving.agents.td`: weights (A, F, n), values and
preferences (A, n), features (F, n). Per-subject parameters are 1-element arrays when every
subject shares them (index `i * stride`, stride 0 or 1).

Every operation reproduces the numpy expression it replaces, bit for bit, including its
precision: a value stored in float32 (`WEIGHT_DTYPE`) is rounded where numpy rounded it, and
float32 x float32 stays float32 while float32 x float64 is computed in float64. Parameters
given as Python floats in numpy arithmetic take the other operand's precision (NumPy's
promotion rules, NEP 50), so they are passed here as float32 arrays; per-subject (float64)
parameters as float64 arrays. No sum runs across subjects, so a subject's numbers do not depend
on the others or on their number.

The float32 exponentials (occupancy bumps, softmax weights) are `exp32`: numpy's own vectorised
float32 exp (its AVX2/AVX-512 loop: Cody-Waite reduction, a rational minimax approximation with
fused multiply-adds, scaling by 2^k), written out operation by operation. It equals `np.exp` on
every one of the 2^32 float32 inputs with this numpy (tests/test_td_compiled.py checks a sample
and, marked slow, all of them); the C library's expf differs from it in the last bit for about a
third of arguments, and a choice near a boundary would follow that bit. Where every argument of
a block's row lies in [-87, 88] (checked as the arguments are computed), `exp32_normal` gives the
same float32 in fewer operations (no special cases; one scaling by 2^k, which is normal there).
With the exponentials
compiled, a learning step is one pass over each block of subjects (`value_step`,
`actor_critic_step`): features, values, softmax choice, error and update while the block's
weights and features are in cache. The choice for a subset of subjects (`begin`) keeps numpy's
exp, whose precision follows the preferences' (float64 with per-subject parameters).

Each function is a `rlcraving.threads.kernel`: its loop over blocks of subjects (`BLOCK`) runs on
every core for large cohorts; within a block, each phase runs row by row over the block's
subjects. Scratch rows with one entry per subject are shared, each block writing its own entries.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic

from rlcraving.organism import compulsion_drive
from rlcraving.random import uniform_one
from rlcraving.threads import block_end, block_start, blocks, compiled, kernel

_OTHER, _ACTIVE = 0, 1   # rlcraving.core.OTHER, ACTIVE (kept literal so that compiled code sees constants)


# ------------------------------------------------------------------ numpy's float32 exp

@intrinsic
def _fma(typingctx, a, b, c):  # type: ignore[no-untyped-def]
    """a * b + c rounded once (float32), as the fused multiply-add of numpy's SIMD loop."""
    if not all(t == types.float32 for t in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        f32 = ir.FloatType()
        fma = builder.module.declare_intrinsic("llvm.fma", [f32], ir.FunctionType(f32, [f32] * 3))
        return builder.call(fma, args)

    return types.float32(types.float32, types.float32, types.float32), codegen


@intrinsic
def _divide(typingctx, a, b):  # type: ignore[no-untyped-def]
    """a / b in float32 (IEEE division; without numba's zero check, so that loops vectorise)."""
    if not (a == types.float32 and b == types.float32):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.fdiv(*args)

    return types.float32(types.float32, types.float32), codegen


@intrinsic
def _power_of_two(typingctx, k):  # type: ignore[no-untyped-def]
    """2^k as a float32, for an integer -126 <= k <= 127 (its exponent bits)."""
    if k != types.int32:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i32 = ir.IntType(32)
        bits = builder.shl(builder.add(args[0], ir.Constant(i32, 127)), ir.Constant(i32, 23))
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(types.int32), codegen


def _f32(bits: int) -> np.float32:
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


# numpy's constants (npy_math.h, loops_exponent_log.dispatch), as their float32 bit patterns
_LN2_HIGH, _LN2_LOW = _f32(0xBF317200), _f32(0xB5BFBE8E)   # -ln 2 in two parts (Cody-Waite)
_ROUNDING = _f32(0x4B400000)                                # 1.5 * 2^23: x + it - it rounds x to an integer
_LOG2E = _f32(0x3FB8AA3B)
_P0, _P1, _P2, _P3, _P4, _P5 = (_f32(b) for b in (0x3F800000, 0x3F39CBD5, 0x3E7D4C58, 0x3D517D8C, 0x3BDD7159,
                                                  0x3A053DD8))
_Q0, _Q1, _Q2 = (_f32(b) for b in (0x3F800000, 0xBE8C6857, 0x3CB0E832))
_XMAX, _XMIN = _f32(0x42B17218), _f32(0xC2CFF1B5)           # exp overflows at or above, is 0 at or below
_ZERO, _INF, _NAN = np.float32(0.0), np.float32(np.inf), np.float32(np.nan)


@compiled
def _reduced(z: np.float32) -> tuple[np.float32, np.float32]:
    """e^z as (P5(y) / Q2(y), k) with e^z = P5(y) / Q2(y) 2^k: k = rint(z log2 e), y = z - k ln 2
    (two fused steps), the rational approximation by fused Horner steps, as numpy's loop."""
    k = (z * _LOG2E + _ROUNDING) - _ROUNDING
    y = _fma(k, _LN2_HIGH, z)
    y = _fma(k, _LN2_LOW, y)
    num = _fma(_P5, y, _P4)
    num = _fma(num, y, _P3)
    num = _fma(num, y, _P2)
    num = _fma(num, y, _P1)
    num = _fma(num, y, _P0)
    den = _fma(_Q2, y, _Q1)
    den = _fma(den, y, _Q0)
    return _divide(num, den), k


@compiled
def exp32(x: np.float32) -> np.float32:
    """e^x of a float32, bit for bit as numpy's vectorised float32 loop: `_reduced`, times 2^k rounded
    once, as AVX-512's scalef (-150 <= k <= 128: times 2^(k - k // 2), exact, then times 2^(k // 2),
    one rounding where the result is subnormal or overflows)."""
    nan, big, small = x != x, x >= _XMAX, x <= _XMIN
    ratio, k = _reduced(_ZERO if (nan or big or small) else x)
    whole = np.int32(k)
    half = np.int32(whole >> 1)
    value = (ratio * _power_of_two(np.int32(whole - half))) * _power_of_two(half)
    if nan:
        return _NAN
    if big:
        return _INF
    return _ZERO if small else value


#: Arguments where `exp32_normal` equals `exp32`: there exp's result and 2^k are normal float32.
_NORMAL_LOW, _NORMAL_HIGH = np.float32(-87.0), np.float32(88.0)


@compiled
def exp32_normal(x: np.float32) -> np.float32:
    """`exp32(x)` for _NORMAL_LOW <= x <= _NORMAL_HIGH, in fewer operations. There x is neither NaN nor
    beyond exp32's limits, and k = rint(x log2 e) lies in -126..127: 2^k is a normal float32, and one
    scaling by it rounds as exp32's two (the first, by 2^(k - k // 2) with |k - k // 2| <= 64, is exact)."""
    ratio, k = _reduced(x)
    return ratio * _power_of_two(np.int32(k))


@compiled
def _normal(x: np.float32) -> bool:
    """Whether `exp32_normal(x)` is `exp32(x)` (false for NaN)."""
    return (x >= _NORMAL_LOW) & (x <= _NORMAL_HIGH)


@compiled
def _exp32_in_place(row: np.ndarray, normal: bool, lo: np.uint64, hi: np.uint64) -> None:
    """row[i] = exp32(row[i]) for i in lo..hi-1 (1-D float32); by `exp32_normal` where `normal` says
    that every argument is within its range (`_normal`)."""
    if normal:
        for i in range(lo, hi):
            row[i] = exp32_normal(row[i])
    else:
        for i in range(lo, hi):
            row[i] = exp32(row[i])


@kernel(0, 0)
def exp32_into(x: np.ndarray, out: np.ndarray) -> None:
    """out = exp32(x) elementwise (1-D float32 arrays; block by block, as the step's rows)."""
    for block in prange(blocks(x.size)):
        lo, hi = block_start(block), block_end(block, x.size)
        normal = True
        for i in range(lo, hi):
            out[i] = x[i]
            normal &= _normal(x[i])
        _exp32_in_place(out, normal, lo, hi)


@compiled
def _stride(values: np.ndarray) -> np.uint64:
    """1 for per-subject values, 0 for one shared value (unsigned, as the subject indices)."""
    return np.uint64(1 if values.size > 1 else 0)


# Each phase runs row by row over a block's subjects (an inner loop over contiguous subjects,
# which the compiler vectorises): a subject's values lie n apart, and a loop over one subject's
# features would touch a cache line per feature, all in the same cache set. The phases of a block
# are functions of its bounds lo..hi-1, composed into the kernels below.

@compiled
def _linear_block(flat: np.ndarray, phi: np.ndarray, target: np.ndarray, lo: np.uint64, hi: np.uint64) -> None:
    """target[a, i] = sum_f flat[a, f, i] * phi[f, i], summed in feature order."""
    for a in range(flat.shape[0]):
        for i in range(lo, hi):
            target[a, i] = flat[a, 0, i] * phi[0, i]
        for f in range(1, phi.shape[0]):
            for i in range(lo, hi):
                target[a, i] += flat[a, f, i] * phi[f, i]


@kernel(1, 1)
def linear(weights: np.ndarray, phi: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[a, i] = sum_f weights[a, f, i] * phi[f, i], summed in feature order (2-D weights: out[i])."""
    n_features, n = phi.shape
    flat = weights.reshape(-1, n_features, n)
    target = out.reshape(-1, n)
    for block in prange(blocks(n)):
        _linear_block(flat, phi, target, block_start(block), block_end(block, n))
    return out


@compiled
def _shared_block(values: np.ndarray, sharing: float, lo: np.uint64, hi: np.uint64) -> None:
    """Every lever's value plus float32(sharing) times other behaviour's, in float32 (`TDAgent._shared`)."""
    if sharing > 0.0:
        share = np.float32(sharing)
        for a in range(1, values.shape[0]):
            for i in range(lo, hi):
                values[a, i] = values[a, i] + share * values[_OTHER, i]


@compiled
def _scaled(row: np.ndarray, factor: np.ndarray, out: np.ndarray, lo: np.uint64, hi: np.uint64) -> None:
    """out = row * factor for subjects lo..hi-1 (factor: one value, or one per subject)."""
    if factor.size > 1:
        for i in range(lo, hi):
            out[i] = row[i] * factor[i]
    else:
        shared = factor[0]
        for i in range(lo, hi):
            out[i] = row[i] * shared


@compiled
def _add(out: np.ndarray, term: np.ndarray, lo: np.uint64, hi: np.uint64) -> None:
    """out += term for subjects lo..hi-1 (term: one value, or one per subject)."""
    if term.size > 1:
        for i in range(lo, hi):
            out[i] = out[i] + term[i]
    else:
        shared = term[0]
        for i in range(lo, hi):
            out[i] = out[i] + shared


@compiled
def _add_scaled(out: np.ndarray, row: np.ndarray, factor: np.ndarray, lo: np.uint64, hi: np.uint64) -> None:
    """out += row * factor for subjects lo..hi-1 (factor: one value, or one per subject)."""
    if factor.size > 1:
        for i in range(lo, hi):
            out[i] = out[i] + row[i] * factor[i]
    else:
        shared = factor[0]
        for i in range(lo, hi):
            out[i] = out[i] + row[i] * shared


@compiled
def _features_block(obs: np.ndarray, columns: np.ndarray, occupancy_column: int, centres: np.ndarray,
                    scale: np.float32, out: np.ndarray, lo: np.uint64, hi: np.uint64) -> None:
    """Rows of `out` (F, m, float32): the observed columns, then the occupancy bumps
    exp32(scale (o - c)^2), the difference rounded to float32 first."""
    first = columns.size
    # the observed columns into rows 0..first-1 and the occupancy, read once, into the first bump's row
    # (its distance is taken last); two rows a pass over the observation (~1/6 faster than one)
    for f in range(0, first + 1, 2):
        column = columns[f] if f < first else occupancy_column
        if f + 1 <= first:
            other = columns[f + 1] if f + 1 < first else occupancy_column
            for i in range(lo, hi):
                out[f, i] = obs[i, column]
                out[f + 1, i] = obs[i, other]
        else:
            for i in range(lo, hi):
                out[f, i] = obs[i, column]
    occupancy = out[first]
    for k in range(centres.size - 1, -1, -1):
        row, centre = out[first + k], centres[k]
        for i in range(lo, hi):
            row[i] = occupancy[i] - centre
    normal = True   # every bump's exponent within `exp32_normal`'s range
    for k in range(centres.size):
        row = out[first + k]
        for i in range(lo, hi):
            row[i] = row[i] * row[i] * scale
            normal &= _normal(row[i])
    for k in range(centres.size):
        _exp32_in_place(out[first + k], normal, lo, hi)


@kernel(0, 0)
def features(obs: np.ndarray, columns: np.ndarray, occupancy_column: int, centres: np.ndarray, scale: np.float32,
             out: np.ndarray) -> None:
    """Features (F, m, float32) of observations `obs` (m, columns): `_features_block` for every block."""
    m = obs.shape[0]
    for block in prange(blocks(m)):
        _features_block(obs, columns, occupancy_column, centres, scale, out, block_start(block), block_end(block, m))


@compiled
def _preferences_block(values: np.ndarray, inverse_temperature: np.ndarray, other_bias: np.ndarray,
                       pavlovian_weight: np.ndarray, incentive: np.ndarray, active_bias: np.ndarray,
                       top: np.ndarray, out: np.ndarray, closed: np.ndarray, lo: np.uint64, hi: np.uint64) -> bool:
    """out = beta values + biases (other behaviour: b_other; active lever: omega u, and `active_bias`
    unless it is empty), minus each subject's largest (`top`: scratch); -inf for a lever the subject
    cannot press now (`closed`, see `value_update`). Returns whether every preference is within
    `exp32_normal`'s range."""
    n_actions = values.shape[0]
    for a in range(n_actions):
        _scaled(values[a], inverse_temperature, out[a], lo, hi)
    _add(out[_OTHER], other_bias, lo, hi)
    _add_scaled(out[_ACTIVE], incentive, pavlovian_weight, lo, hi)
    if active_bias.size > 0:
        for i in range(lo, hi):
            out[_ACTIVE, i] = out[_ACTIVE, i] + active_bias[i]
    if closed.size > 0:
        for a in range(1, n_actions):
            row = out[a]
            for i in range(lo, hi):
                if (closed[i] >> a) & 1:
                    row[i] = -np.inf
    for i in range(lo, hi):
        top[i] = out[0, i]
    for a in range(1, n_actions):
        row = out[a]
        for i in range(lo, hi):
            top[i] = row[i] if row[i] > top[i] else top[i]
    normal = True
    for a in range(n_actions):
        row = out[a]
        for i in range(lo, hi):
            row[i] = row[i] - top[i]
            normal &= _normal(row[i])
    return normal


@kernel(0, 1)
def preferences(values: np.ndarray, inverse_temperature: np.ndarray, other_bias: np.ndarray,
                pavlovian_weight: np.ndarray, incentive: np.ndarray, active_bias: np.ndarray, out: np.ndarray,
                closed: np.ndarray) -> None:
    """out = beta values + biases, minus each subject's largest, -inf where `closed` (the caller takes
    their exp)."""
    m = values.shape[1]
    top = np.empty(m, dtype=out.dtype)
    for block in prange(blocks(m)):
        _preferences_block(values, inverse_temperature, other_bias, pavlovian_weight, incentive, active_bias,
                           top, out, closed, block_start(block), block_end(block, m))


@compiled
def _compulsion_block(L: np.ndarray, priming_occupancy: float, rate_over_operant: float, out: np.ndarray,
                      lo: np.uint64, hi: np.uint64) -> None:
    """out[i] (float32) = the active lever's log-odds in the compulsion zone (docs/agents.md) for
    subjects lo..hi-1: ln(1 + rate c / operant rate) with c = `organism.compulsion_drive` > 0, -inf at
    or above the satiety level (c = -1: no press), 0 below the priming threshold."""
    for i in range(lo, hi):
        drive = compulsion_drive(i, L, priming_occupancy)
        out[i] = -np.inf if drive < 0.0 else math.log1p(rate_over_operant * drive)


@kernel(0, 0)
def compulsion_bias(L: np.ndarray, priming_occupancy: float, rate_over_operant: float, out: np.ndarray) -> None:
    """out (float32) = the active lever's log-odds in the compulsion zone (`_compulsion_block`) for
    every subject."""
    for block in prange(blocks(out.size)):
        _compulsion_block(L, priming_occupancy, rate_over_operant, out, block_start(block),
                          block_end(block, out.size))


@compiled
def _exp32_rows(rows: np.ndarray, normal: bool, lo: np.uint64, hi: np.uint64) -> None:
    """rows = exp32(rows) in place for subjects lo..hi-1 (`normal`: see `_exp32_in_place`)."""
    for a in range(rows.shape[0]):
        _exp32_in_place(rows[a], normal, lo, hi)


@compiled
def _choose_block(weights: np.ndarray, keys: np.ndarray, counter: np.ndarray, stream: int, chosen: np.ndarray,
                  policy: np.ndarray, with_policy: bool, total: np.ndarray, threshold: np.ndarray,
                  lo: np.uint64, hi: np.uint64) -> None:
    """`choose` for subjects lo..hi-1 (total, threshold: scratch)."""
    n_actions = weights.shape[0]
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
    for i in range(lo, hi):   # the counters (a strided view) copied first, so that the draws run on vectors
        chosen[i] = counter[i]
    for i in range(lo, hi):
        threshold[i] = uniform_one(keys[i], chosen[i], stream) * weights[n_actions - 1, i]
        chosen[i] = 0
    for a in range(n_actions - 1):
        for i in range(lo, hi):
            chosen[i] += weights[a, i] <= threshold[i]


@kernel(0, 1)
def choose(weights: np.ndarray, keys: np.ndarray, counter: np.ndarray, stream: int, chosen: np.ndarray,
           policy: np.ndarray, with_policy: bool) -> None:
    """Draw each subject's action from unnormalised `weights` (A, m; exp of the preferences, turned
    into cumulative sums in place): the number of cumulative sums at or below u * total, u uniform
    from the subject's stream. The probabilities go into `policy` when `with_policy`."""
    m = weights.shape[1]
    total, threshold = np.empty(m, dtype=weights.dtype), np.empty(m)
    for block in prange(blocks(m)):
        _choose_block(weights, keys, counter, stream, chosen, policy, with_policy, total, threshold,
                      block_start(block), block_end(block, m))


@compiled
def _learning_signal(delta: float, gain: float) -> float:
    """Baclofen damps bursts, not pauses: max(delta, 0) g + min(delta, 0)."""
    burst = delta if delta >= 0.0 else 0.0
    pause = delta if delta <= 0.0 else 0.0
    return burst * gain + pause


@compiled
def _overlaps(phi: np.ndarray, phi_next: np.ndarray, out: np.ndarray, lo: np.uint64, hi: np.uint64) -> None:
    """out = phi(s_t) . phi(s_{t+1}) for subjects lo..hi-1, summed in feature order in float32."""
    for i in range(lo, hi):
        out[i] = phi[0, i] * phi_next[0, i]
    for f in range(1, phi.shape[0]):
        for i in range(lo, hi):
            out[i] += phi[f, i] * phi_next[f, i]


@compiled
def _taken(rows: np.ndarray, chosen: np.ndarray, out: np.ndarray, lo: np.uint64, hi: np.uint64) -> None:
    """out[i] = rows[chosen[i], i] for subjects lo..hi-1, each row picked by comparison (on vectors)."""
    for i in range(lo, hi):
        out[i] = rows[0, i]
    for a in range(1, rows.shape[0]):
        for i in range(lo, hi):
            if chosen[i] == a:
                out[i] = rows[a, i]


@compiled
def _errors(step: np.ndarray, step_other: np.ndarray, actions: np.ndarray, reward: np.ndarray, done: np.ndarray,
            gain: np.ndarray, gamma: np.ndarray, learning_rate: np.ndarray, drug: np.ndarray,
            average_reward: np.ndarray, baseline_rate: float, allostasis_coefficient: float, allostasis: np.ndarray,
            signal: np.ndarray, with_drug: bool, with_baseline: bool, lo: np.uint64, hi: np.uint64) -> None:
    """Error, learning signal and step of the value learners for subjects lo..hi-1 (`value_update`), from
    V(s') in `step` and Q(s, a) in `step_other`; writes signal, step = alpha s, step_other = step where
    other behaviour was taken (else 0), and updates the average reward."""
    sg, sl = _stride(gamma), _stride(learning_rate)
    for i in range(lo, hi):
        live = 0.0 if done[i] else 1.0
        r = reward[i] - drug[i] if with_drug else reward[i]
        delta = (r + gamma[i * sg] * step[i] * live) - step_other[i]
        if with_drug and drug[i] > 0:
            delta = max(delta + drug[i], drug[i])
        s = _learning_signal(delta, gain[i])
        if with_baseline:   # the tonic baseline is not a burst: baclofen's gain leaves it
            s -= average_reward[i] + allostasis_coefficient * allostasis[i]
            average_reward[i] += baseline_rate * (reward[i] - average_reward[i])
        signal[i] = s
        step[i] = learning_rate[i * sl] * s
        step_other[i] = step[i] if actions[i] == _OTHER else 0.0


@compiled
def _value_update_block(weights: np.ndarray, values: np.ndarray, next_values: np.ndarray, actions: np.ndarray,
                        next_actions: np.ndarray, reward: np.ndarray, done: np.ndarray, gain: np.ndarray,
                        gamma: np.ndarray, learning_rate: np.ndarray, phi: np.ndarray, phi_next: np.ndarray,
                        bootstrap_chosen: bool, drug: np.ndarray, average_reward: np.ndarray, baseline_rate: float,
                        allostasis_coefficient: float, allostasis: np.ndarray, sharing: float, signal: np.ndarray,
                        closed: np.ndarray, step: np.ndarray, step_other: np.ndarray, overlap: np.ndarray,
                        pressed: np.ndarray, lo: np.uint64, hi: np.uint64) -> None:
    """`value_update` for subjects lo..hi-1 (step, step_other, overlap, pressed: scratch). Each phase but
    the levers' update is a loop over the block's subjects that the compiler runs on vectors of
    subjects: an action's row is picked by comparison, not by index, and the error's loop is compiled
    apart, without the drug and baseline terms, for the learners that have neither. The levers'
    weights are updated feature by feature over the list of the subjects that pressed (one subject's
    13 weights lie n apart, in one cache set: taken subject by subject they cost ~3x as much)."""
    with_drug, with_baseline, with_closed = drug.size > 0, average_reward.size > 0, closed.size > 0
    n_actions, n_features = weights.shape[0], weights.shape[1]
    # V(s') into `step` and Q(s, a) into `step_other` (float32 values, exactly as float64)
    if bootstrap_chosen:
        _taken(next_values, next_actions, step, lo, hi)
    else:
        for i in range(lo, hi):
            step[i] = next_values[0, i]
        for a in range(1, n_actions):
            for i in range(lo, hi):
                if next_values[a, i] > step[i] and not (with_closed and (closed[i] >> a) & 1):
                    step[i] = next_values[a, i]
    _taken(values, actions, step_other, lo, hi)
    if with_drug or with_baseline:
        _errors(step, step_other, actions, reward, done, gain, gamma, learning_rate, drug, average_reward,
                baseline_rate, allostasis_coefficient, allostasis, signal, with_drug, with_baseline, lo, hi)
    else:   # constant flags: the loop is compiled without the terms' branches, on vectors of subjects
        _errors(step, step_other, actions, reward, done, gain, gamma, learning_rate, drug, average_reward,
                baseline_rate, allostasis_coefficient, allostasis, signal, False, False, lo, hi)
    n_pressed = lo   # the few subjects that pressed a lever, listed in the block's own entries of `pressed`
    for i in range(lo, hi):
        if actions[i] != _OTHER:
            pressed[n_pressed] = i
            n_pressed += np.uint64(1)
    # one pass over phi(s), feature by feature: other behaviour's weights (every subject, by 0 unless taken,
    # in float32), the levers' of the subjects that pressed them (in float64), and the overlap
    # phi(s) . phi(s') summed in feature order in float32
    for f in range(n_features):
        if f == 0:
            for i in range(lo, hi):
                weights[_OTHER, 0, i] += np.float32(phi[0, i] * step_other[i])
                overlap[i] = phi[0, i] * phi_next[0, i]
        else:
            for i in range(lo, hi):
                weights[_OTHER, f, i] += np.float32(phi[f, i] * step_other[i])
                overlap[i] += phi[f, i] * phi_next[f, i]
        for k in range(lo, n_pressed):   # row by row: a subject's weights lie n apart, in one cache set
            i = pressed[k]
            weights[actions[i], f, i] = weights[actions[i], f, i] + phi[f, i] * step[i]
    # Q(s', a) of the action taken, then every lever's share of other behaviour's step, rounded as stored
    for i in range(lo, hi):
        if actions[i] == _OTHER:
            next_values[_OTHER, i] = next_values[_OTHER, i] + step[i] * overlap[i]
    for a in range(1, n_actions):
        for i in range(lo, hi):
            value = next_values[a, i]
            if actions[i] == a:
                value = np.float32(value + step[i] * overlap[i])
            if sharing > 0.0:
                value = np.float32(value + sharing * step_other[i] * overlap[i])
            next_values[a, i] = value


@kernel(0, 2)
def value_update(weights: np.ndarray, values: np.ndarray, next_values: np.ndarray, actions: np.ndarray,
                 next_actions: np.ndarray, reward: np.ndarray, done: np.ndarray, gain: np.ndarray,
                 gamma: np.ndarray, learning_rate: np.ndarray, phi: np.ndarray, phi_next: np.ndarray,
                 bootstrap_chosen: bool, drug: np.ndarray, average_reward: np.ndarray, baseline_rate: float,
                 allostasis_coefficient: float, allostasis: np.ndarray, sharing: float, signal: np.ndarray,
                 closed: np.ndarray) -> None:
    """Error, learning signal and update of the value learners (`rlcraving.agents.td`), per subject:

        delta0 = (r - D) + gamma V(s') * (not done) - Q(s, a)     V(s') = max_a' or Q(s', a')
        delta  = max(delta0 + D, D) if D > 0 else delta0          (D: drug term; empty `drug`: none)
        s      = learning signal of delta
        s     -= rbar + kappa;  rbar += rate (r - rbar)           (empty `average_reward`: none)
        w_a += alpha s phi(s);  Q(s', a) += alpha s phi(s) . phi(s')
        a = other: Q(s', b) += sharing alpha s phi(s) . phi(s') for every lever b (a lever's value
                   is its own weights' plus `sharing` times other behaviour's, the state's value)

    The max runs over the actions open to the subject in s': bit a of `closed[i]` set means lever a
    cannot be pressed there (a retracted lever of a discrete-trials session; empty `closed`: every
    action is open). Other behaviour is updated for every subject (by 0 unless taken) in float32, as
    the masked vector update it replaces; a lever only for the subjects that pressed it, in float64.
    """
    n = weights.shape[2]
    step, step_other, overlap = np.empty(n), np.empty(n), np.empty(n, dtype=phi.dtype)
    pressed = np.empty(n, dtype=np.uint64)
    for block in prange(blocks(n)):
        _value_update_block(weights, values, next_values, actions, next_actions, reward, done, gain, gamma,
                            learning_rate, phi, phi_next, bootstrap_chosen, drug, average_reward, baseline_rate,
                            allostasis_coefficient, allostasis, sharing, signal, closed, step, step_other, overlap,
                            pressed, block_start(block), block_end(block, n))


@kernel(0, 0)
def value_step(obs: np.ndarray, columns: np.ndarray, occupancy_column: int, centres: np.ndarray, scale: np.float32,
               incentive_column: int, inverse_temperature: np.ndarray, other_bias: np.ndarray,
               pavlovian_weight: np.ndarray, active_bias: np.ndarray, levels: np.ndarray,
               priming_occupancy: float, rate_over_operant: float, keys: np.ndarray, counter: np.ndarray,
               stream: int, pref: np.ndarray, next_actions: np.ndarray,
               weights: np.ndarray, values: np.ndarray, next_values: np.ndarray, actions: np.ndarray,
               reward: np.ndarray, done: np.ndarray, gain: np.ndarray, gamma: np.ndarray, learning_rate: np.ndarray,
               phi: np.ndarray, phi_next: np.ndarray, bootstrap_chosen: bool, drug: np.ndarray,
               average_reward: np.ndarray, baseline_rate: float, allostasis_coefficient: float,
               allostasis: np.ndarray, sharing: float, signal: np.ndarray, closed: np.ndarray) -> None:
    """A value learner's whole step, block by block: features phi(s') of `obs` (`features`),
    Q(s', .) (`linear`, shared with the levers), the compulsion zone's bias of the active lever into
    `active_bias` from the subjects' `levels` (`compulsion_bias`; none when it is empty), the softmax
    choice of a' (`preferences`, exp32, `choose`), then the error and update of `value_update`. Writes
    phi_next, next_values, active_bias, pref, next_actions; updates weights, next_values,
    average_reward, signal."""
    n = obs.shape[0]
    rows32, rows64 = np.empty((2, n), dtype=pref.dtype), np.empty((3, n))   # scratch, one allocation a type
    top, total, threshold, step, step_other = rows32[0], rows32[1], rows64[0], rows64[1], rows64[2]
    overlap, pressed = np.empty(n, dtype=phi.dtype), np.empty(n, dtype=np.uint64)
    incentive = obs[:, incentive_column]
    for block in prange(blocks(n)):
        lo, hi = block_start(block), block_end(block, n)
        _features_block(obs, columns, occupancy_column, centres, scale, phi_next, lo, hi)
        _linear_block(weights, phi_next, next_values, lo, hi)
        _shared_block(next_values, sharing, lo, hi)
        if active_bias.size > 0:
            _compulsion_block(levels, priming_occupancy, rate_over_operant, active_bias, lo, hi)
        normal = _preferences_block(next_values, inverse_temperature, other_bias, pavlovian_weight, incentive,
                                    active_bias, top, pref, closed, lo, hi)
        _exp32_rows(pref, normal, lo, hi)
        _choose_block(pref, keys, counter, stream, next_actions, pref, False, total, threshold, lo, hi)
        _value_update_block(weights, values, next_values, actions, next_actions, reward, done, gain, gamma,
                            learning_rate, phi, phi_next, bootstrap_chosen, drug, average_reward, baseline_rate,
                            allostasis_coefficient, allostasis, sharing, signal, closed, step, step_other, overlap,
                            pressed, lo, hi)


@compiled
def _actor_critic_block(weights: np.ndarray, critic: np.ndarray, state_value: np.ndarray,
                        next_state_value: np.ndarray, policy: np.ndarray, next_values: np.ndarray,
                        actions: np.ndarray, reward: np.ndarray, done: np.ndarray, gain: np.ndarray,
                        gamma: np.ndarray, learning_rate: np.ndarray, critic_learning_rate: np.ndarray,
                        phi: np.ndarray, phi_next: np.ndarray, signal: np.ndarray, coefficient: np.ndarray,
                        critic_step: np.ndarray, overlap: np.ndarray, lo: np.uint64, hi: np.uint64) -> None:
    """`actor_critic_update` for subjects lo..hi-1 (coefficient, critic_step, overlap: scratch)."""
    sg, sl, sc = _stride(gamma), _stride(learning_rate), _stride(critic_learning_rate)
    n_actions, n_features = weights.shape[0], weights.shape[1]
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
    n_actions, n = weights.shape[0], weights.shape[2]
    coefficient, critic_step = np.empty((n_actions, n)), np.empty(n)
    overlap = np.empty(n, dtype=phi.dtype)
    for block in prange(blocks(n)):
        _actor_critic_block(weights, critic, state_value, next_state_value, policy, next_values, actions, reward,
                            done, gain, gamma, learning_rate, critic_learning_rate, phi, phi_next, signal,
                            coefficient, critic_step, overlap, block_start(block), block_end(block, n))


@kernel(0, 0)
def actor_critic_step(obs: np.ndarray, columns: np.ndarray, occupancy_column: int, centres: np.ndarray,
                      scale: np.float32, incentive_column: int, inverse_temperature: np.ndarray,
                      other_bias: np.ndarray, pavlovian_weight: np.ndarray, active_bias: np.ndarray,
                      levels: np.ndarray, priming_occupancy: float, rate_over_operant: float,
                      keys: np.ndarray, counter: np.ndarray, stream: int, pref: np.ndarray,
                      next_actions: np.ndarray, next_policy: np.ndarray,
                      weights: np.ndarray, critic: np.ndarray, state_value: np.ndarray,
                      next_state_value: np.ndarray, policy: np.ndarray, next_values: np.ndarray,
                      actions: np.ndarray, reward: np.ndarray, done: np.ndarray, gain: np.ndarray,
                      gamma: np.ndarray, learning_rate: np.ndarray, critic_learning_rate: np.ndarray,
                      phi: np.ndarray, phi_next: np.ndarray, signal: np.ndarray, closed: np.ndarray) -> None:
    """The actor-critic's whole step, block by block: features phi(s'), V(s') and H(s', .)
    (`linear`), the compulsion zone's bias (as in `value_step`), the softmax choice of a' with its
    probabilities (into `next_policy`), then the error and update of `actor_critic_update`."""
    n_actions, n = weights.shape[0], obs.shape[0]
    rows32, threshold = np.empty((2, n), dtype=pref.dtype), np.empty(n)
    top, total = rows32[0], rows32[1]
    coefficient, critic_step = np.empty((n_actions, n)), np.empty(n)
    overlap = np.empty(n, dtype=phi.dtype)
    incentive = obs[:, incentive_column]
    critic_flat = critic.reshape(1, critic.shape[0], n)
    state_row = next_state_value.reshape(1, n)
    for block in prange(blocks(n)):
        lo, hi = block_start(block), block_end(block, n)
        _features_block(obs, columns, occupancy_column, centres, scale, phi_next, lo, hi)
        _linear_block(critic_flat, phi_next, state_row, lo, hi)
        _linear_block(weights, phi_next, next_values, lo, hi)
        if active_bias.size > 0:
            _compulsion_block(levels, priming_occupancy, rate_over_operant, active_bias, lo, hi)
        normal = _preferences_block(next_values, inverse_temperature, other_bias, pavlovian_weight, incentive,
                                    active_bias, top, pref, closed, lo, hi)
        _exp32_rows(pref, normal, lo, hi)
        _choose_block(pref, keys, counter, stream, next_actions, next_policy, True, total, threshold, lo, hi)
        _actor_critic_block(weights, critic, state_value, next_state_value, policy, next_values, actions, reward,
                            done, gain, gamma, learning_rate, critic_learning_rate, phi, phi_next, signal,
                            coefficient, critic_step, overlap, lo, hi)
