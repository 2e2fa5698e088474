"""The compiled TD step against the whole-array numpy rule it replaces, bit for bit.

`_reference_learn` is the agents' step written as numpy array operations (the documented rule of
docs/agents.md, with numpy's own rounding: float32 weights, values and features; Python-float
parameters taking the precision of the array they meet). Every agent, with and without
individual parameters, under baclofen (a dopamine gain below 1), must choose the same actions
and hold the same weights, values and learning signals, to the last bit, step after step.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from rlcraving.agents import compiled
from rlcraving.agents.features import Features, sequential_linear
from rlcraving.agents.td import AGENTS, WEIGHT_DTYPE, ActorCritic, Dezfouli, Redish, TDAgent
from rlcraving.chamber import INACTIVE, OBSERVATION_NAMES, SUCROSE
from rlcraving.core import ACTIVE, OTHER, SubjectBatch, SubjectOptions
from rlcraving.pharmacology import RatIP
from rlcraving.protocol import session
from rlcraving.random import subject_keys, uniform


def _reference_features(obs: np.ndarray, features: Features) -> np.ndarray:
    from rlcraving.agents.features import OCCUPANCY_CENTRES, OCCUPANCY_WIDTH

    out = np.empty((len(features), obs.shape[0]), dtype=WEIGHT_DTYPE)
    first = len(features.columns)
    out[:first] = obs[:, list(features.columns)].T
    bumps = out[first:]
    np.subtract(obs[:, features._occupancy], np.array(OCCUPANCY_CENTRES)[:, None], out=bumps)
    np.square(bumps, out=bumps)
    bumps *= -0.5 / OCCUPANCY_WIDTH**2
    np.exp(bumps, out=bumps)
    return out


def _reference_closed(agent: TDAgent, obs: np.ndarray) -> np.ndarray:
    """(A, n) bool: the levers a subject cannot press in the state `obs` shows (a discrete-trials session's
    retracted levers: the inactive lever always, the drug lever while "timeout" is 1, the sucrose lever
    while "sucrose_lever_present" is 0)."""
    closed = np.zeros((agent.n_actions, agent.n), dtype=bool)
    discrete = agent.batch.discrete
    closed[ACTIVE] = discrete & (obs[:, OBSERVATION_NAMES.index("timeout")] >= 1.0)
    closed[INACTIVE] = discrete
    if agent.n_actions > SUCROSE:
        closed[SUCROSE] = discrete & (obs[:, OBSERVATION_NAMES.index("sucrose_lever_present")] < 1.0)
    return closed


def _reference_choose(agent: TDAgent, values: np.ndarray, incentive: np.ndarray,
                      closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pref = np.multiply(values, agent._of("inverse_temperature", slice(None)),
                       out=np.empty(values.shape, dtype=WEIGHT_DTYPE))
    pref[OTHER] += agent.other_bias
    pref[ACTIVE] += agent._of("pavlovian_weight", slice(None)) * incentive
    pref[closed] = -np.inf
    pref -= pref.max(axis=0)
    np.exp(pref, out=pref)
    policy = pref / pref.sum(axis=0)
    cumulative = np.cumsum(pref, axis=0)
    threshold = uniform(agent.batch.keys, agent.batch.counter, 1001) * cumulative[-1]
    return (cumulative[:-1] <= threshold).sum(axis=0), policy


def _reference_learn(agent: TDAgent, obs: np.ndarray, reward: np.ndarray, done: np.ndarray) -> dict[str, np.ndarray]:
    """One step of `agent` (a copy, changed in place) as whole-array numpy operations."""
    rows, lr = np.arange(agent.n), agent._of("learning_rate", slice(None))
    if agent.batch.performed_actions is not None:   # sedation changed what was done: credit that
        agent.actions = agent.batch.performed_actions
    phi, phi_next = agent._phi, _reference_features(obs, agent.features)
    next_values = sequential_linear(agent.weights, phi_next)
    sharing = agent.settings.get("value_sharing", 0.0)
    if sharing > 0:   # a lever's value: its own weights' plus the shared part of other behaviour's
        next_values[1:] += WEIGHT_DTYPE(sharing) * next_values[OTHER]
    closed = _reference_closed(agent, obs)
    next_actions, policy = _reference_choose(agent, next_values, obs[:, agent.features.incentive_column], closed)
    overlap = sequential_linear(phi, phi_next)
    r = agent._reward(reward)
    if isinstance(agent, ActorCritic):
        next_state = sequential_linear(agent.critic, phi_next)
        delta = r + agent.gamma * next_state * ~done - agent.state_value
    else:
        best = np.where(closed, -np.inf, next_values).max(axis=0)   # over the actions open in s'
        bootstrap = next_values[next_actions, rows] if agent.bootstrap_chosen else best
        drug = agent.batch.components["drug_dopamine"] if isinstance(agent, Redish) else 0.0
        delta = r - drug + agent.gamma * bootstrap * ~done - agent.values[agent.actions, rows]
        if isinstance(agent, Redish):
            delta = np.where(drug > 0, np.maximum(delta + drug, drug), delta)
    signal = np.maximum(delta, 0.0) * agent.batch.dopamine_gain + np.minimum(delta, 0.0)
    if isinstance(agent, Dezfouli):   # baclofen gates the phasic error, not the tonic baseline
        signal = signal - (agent.average_reward + agent.settings["allostasis_weight"] * agent.dt_s / 60.0
                           * agent.batch.allostasis)
        agent.average_reward += agent._baseline_rate * (r - agent.average_reward)
    step = lr * signal
    if isinstance(agent, ActorCritic):
        for b in range(agent.n_actions):
            coefficient = np.subtract(agent.actions == b, agent.policy[b]) * step
            agent.weights[b] += (phi * coefficient).astype(WEIGHT_DTYPE)
            next_values[b] += coefficient * overlap
        critic_step = agent._of("critic_learning_rate", slice(None)) * signal
        agent.critic += (phi * critic_step).astype(WEIGHT_DTYPE)
        next_state += critic_step * overlap
        agent.state_value, agent.policy = next_state, policy
    else:
        agent.weights[OTHER] += (phi * np.where(agent.actions == OTHER, step, 0.0)).astype(WEIGHT_DTYPE)
        for a in range(1, agent.n_actions):
            pressed = np.flatnonzero(agent.actions == a)
            agent.weights[a][:, pressed] += phi[:, pressed] * step[pressed]
        next_values[agent.actions, rows] += step * overlap
        if sharing > 0:
            next_values[1:] += sharing * np.where(agent.actions == OTHER, step, 0.0) * overlap
    return {"signal": signal, "actions": next_actions, "values": next_values, "weights": agent.weights.copy(),
            "phi": phi_next}


@pytest.mark.parametrize("phase", ["self_administration", "discrete_choice"])
@pytest.mark.parametrize("individual", [False, True], ids=["shared", "individual"])
@pytest.mark.parametrize("name", sorted(AGENTS))
def test_compiled_step_is_the_numpy_rule_bit_for_bit(name: str, individual: bool, phase: str) -> None:
    n = 48
    discrete = phase == "discrete_choice"   # levers retracted between trials: closed to the agent
    batch = SubjectBatch(n, options=SubjectOptions(individual_differences=individual, sucrose_lever=discrete))
    batch.new_subjects(np.arange(n), subject_keys(11, np.arange(n)))
    batch.start_sessions(np.arange(n), session(phase, baclofen=RatIP(2.5)), first=True)
    agent = AGENTS[name](batch, individual_differences=individual)
    agent.new_subjects(np.arange(n))
    agent.begin(np.arange(n))
    pressed = 0
    for _ in range(300):
        obs, reward, terminated, truncated = batch.step(agent.actions)
        done = terminated | truncated
        expected = _reference_learn(_copied(agent), obs, reward, done)
        signal = agent.learn(obs, reward, done)
        pressed += int(np.sum(agent.actions == ACTIVE))
        for key, value in (("signal", signal), ("actions", agent.actions), ("values", agent.values),
                           ("weights", agent.weights), ("phi", agent._phi)):
            assert np.array_equal(value, expected[key]), key
    assert pressed > (5 if discrete else 50)   # the levers were used, so their updates were compared too
    assert np.any(batch.dopamine_gain < 1.0)


def _copied(agent: TDAgent) -> TDAgent:
    """A copy of the agent's learning state that shares its batch."""
    twin = copy.copy(agent)
    for key, value in vars(agent).items():
        if isinstance(value, np.ndarray) and key != "batch":
            setattr(twin, key, value.copy())
    return twin


@pytest.mark.parametrize("bootstrap_chosen", [False, True], ids=["q_learning", "sarsa"])
def test_q_learning_bootstraps_from_the_best_action_and_sarsa_from_the_chosen(bootstrap_chosen: bool) -> None:
    next_values = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 0.5], [1.0, 1.0, 4.0]], dtype=WEIGHT_DTYPE)
    next_actions, rows = np.array([0, 1, 1]), np.arange(3)
    zeros, phi = np.zeros(3), np.zeros((4, 3), dtype=WEIGHT_DTYPE)
    signal = np.empty(3)
    compiled.value_update(np.zeros((3, 4, 3), dtype=WEIGHT_DTYPE), np.zeros((3, 3), dtype=WEIGHT_DTYPE),
                          next_values.copy(), np.zeros(3, dtype=np.int64), next_actions, zeros,
                          np.zeros(3, dtype=bool), np.ones(3), np.ones(1), np.zeros(1), phi, phi,
                          bootstrap_chosen, np.zeros(0), np.zeros(0), 0.0, 0.0, np.zeros(0), 0.0, signal,
                          np.zeros(0, dtype=np.uint8))
    expected = next_values[next_actions, rows] if bootstrap_chosen else next_values.max(axis=0)
    assert np.array_equal(signal, expected)
    # a lever closed in s' (bit a of `closed`) is no candidate for the best next value
    closed = np.array([1 << 2, 1 << 1, (1 << 1) | (1 << 2)], dtype=np.uint8)
    compiled.value_update(np.zeros((3, 4, 3), dtype=WEIGHT_DTYPE), np.zeros((3, 3), dtype=WEIGHT_DTYPE),
                          next_values.copy(), np.zeros(3, dtype=np.int64), next_actions, zeros,
                          np.zeros(3, dtype=bool), np.ones(3), np.ones(1), np.zeros(1), phi, phi,
                          bootstrap_chosen, np.zeros(0), np.zeros(0), 0.0, 0.0, np.zeros(0), 0.0, signal, closed)
    open_best = np.array([3.0, 1.0, 2.0])   # columns: max over rows (0, 1), (0, 2), (0)
    assert np.array_equal(signal, next_values[next_actions, rows] if bootstrap_chosen else open_best)


def test_other_behaviours_value_reaches_the_levers_in_step() -> None:
    """With value_sharing, a lever's value is its own weights' plus that share of other behaviour's
    (the state's value): an update of other behaviour moves every lever's value by the share, and
    the values kept in step equal those computed afresh from the weights."""
    n = 16
    batch = SubjectBatch(n)
    batch.new_subjects(np.arange(n), subject_keys(3, np.arange(n)))
    batch.start_sessions(np.arange(n), session("self_administration"), first=True)
    for sharing, moves in ((0.0, False), (0.5, True)):
        agent = AGENTS["q_learning"](batch, {"value_sharing": sharing})
        agent.new_subjects(np.arange(n))
        agent.begin(np.arange(n))
        agent.actions[:] = OTHER
        obs, reward, terminated, truncated = batch.step(agent.actions)
        reward = reward + 1.0   # a surprise credited to other behaviour
        agent.learn(obs, reward, terminated | truncated)
        fresh = agent._shared(sequential_linear(agent.weights, agent._phi))
        np.testing.assert_allclose(agent.values, fresh, rtol=1e-5, atol=1e-7)
        assert np.all(agent.weights[ACTIVE] == 0.0)   # no lever was pressed
        assert bool(np.all(agent.values[ACTIVE] > 0)) is moves


def _exp32_matches_numpy(bits: np.ndarray) -> None:
    x = bits.astype(np.uint32).view(np.float32)
    out = np.empty_like(x)
    compiled.exp32_into(x, out)
    with np.errstate(all="ignore"):
        expected = np.exp(x)
    mismatched = np.flatnonzero(out.view(np.uint32) != expected.view(np.uint32))
    assert mismatched.size == 0, f"exp32 differs from np.exp at {x[mismatched[:5]]}: {out[mismatched[:5]]}"


def test_compiled_exp_is_numpys_float32_exp_bit_for_bit() -> None:
    """The compiled exponential of the bumps and the softmax equals numpy's float32 exp: on a
    sample spread over every float32 (both signs, subnormals, near the overflow and underflow
    limits, infinities and NaN) and on the 8,192 float32 around each limit."""
    sample = np.arange(0, 2**32, 4099, dtype=np.uint64)
    limits = [0x42B17218, 0xC2CFF1B5, 0xC2AEAC50, 0x7F800000, 0xFF800000, 0x00000000, 0x80000000]
    near = np.concatenate([np.arange(b - 4096, b + 4096, dtype=np.int64) for b in limits]) % 2**32
    _exp32_matches_numpy(np.concatenate([sample, near.astype(np.uint64), [0x7FC00000, 0xFFC00001]]))


@pytest.mark.slow
def test_compiled_exp_equals_numpy_on_every_float32() -> None:
    chunk = 1 << 24
    for start in range(0, 2**32, chunk):
        _exp32_matches_numpy(np.arange(start, start + chunk, dtype=np.uint64))


def test_compiled_exp_within_the_normal_range_is_numpys_bit_for_bit() -> None:
    """Blocks of arguments all within [-87, 88] take `exp32_normal` (one scaling by 2^k): it equals
    numpy's float32 exp on a dense sample of that range, its ends and their neighbours included."""
    low, high = np.float32(compiled._NORMAL_LOW), np.float32(compiled._NORMAL_HIGH)
    assert (low, high) == (-87.0, 88.0)
    ends = [np.nextafter(low, np.float32(0)), low, high, np.nextafter(high, np.float32(0))]
    negative = np.arange(0x80000000, int(low.view(np.uint32)) + 1, 601, dtype=np.uint64)   # -0 .. -87
    positive = np.arange(0, int(high.view(np.uint32)) + 1, 601, dtype=np.uint64)             # 0 .. 88
    x = np.concatenate([np.array(ends, dtype=np.float32),
                        np.concatenate([negative, positive]).astype(np.uint32).view(np.float32)])
    assert np.all((x >= low) & (x <= high))
    _exp32_matches_numpy(x.view(np.uint32))
