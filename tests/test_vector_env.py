"""The native vector environment: N subjects stepped as arrays, agreeing with the N = 1 view."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import rlcraving
from rlcraving.core import OBSERVATION_NAMES, SUMMARY_FIELDS
from rlcraving.envs import CocaineSeekingEnv, CocaineSeekingVectorEnv

OTHER, ACTIVE = 0, 1
HETEROGENEOUS: dict[str, Any] = {
    "individual_differences": True, "baclofen_mg_per_day": 200.0, "sucrose_lever": True,
    "calendar": [{"phase": "punished_self_administration", "days": 2, "session_minutes": 20.0},
                 {"phase": "choice", "session_minutes": 20.0}],
}
SESSION_STEPS = 300  # 20 min at the default 4 s step


def random_actions(n_actions: int, num_envs: int, steps: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_actions, (steps, num_envs))


def test_make_vec_with_the_vector_entry_point() -> None:
    envs = gym.make_vec(rlcraving.ENV_ID, num_envs=6, vectorization_mode="vector_entry_point", sucrose_lever=True)
    assert isinstance(envs, CocaineSeekingVectorEnv) and envs.num_envs == 6
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert envs.single_action_space.n == 4 and envs.action_space.shape == (6,)
    assert envs.single_observation_space.shape == (len(OBSERVATION_NAMES),)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (6, len(OBSERVATION_NAMES)) and envs.observation_space.contains(obs)
    envs.step(np.full(6, ACTIVE))
    obs, reward, terminated, truncated, info = envs.step(np.full(6, OTHER))  # the infusion arrives
    assert envs.observation_space.contains(obs)
    assert reward.shape == terminated.shape == truncated.shape == (6,)
    assert info["cocaine_mg_per_kg"].shape == (6,) and np.all(info["cocaine_mg_per_kg"] > 0)
    assert envs.action_meanings == ["other", "active_lever", "inactive_lever", "sucrose_lever"]
    assert envs.observation_names == list(OBSERVATION_NAMES)


def test_subject_zero_is_the_single_environment_bit_for_bit() -> None:
    """N = 1 view and N > 1 batch agree, through calendar ends and new generations of subjects."""
    num_envs, steps = 5, 3 * SESSION_STEPS + 250  # past the calendar's end
    vector, single = CocaineSeekingVectorEnv(num_envs, **HETEROGENEOUS), CocaineSeekingEnv(**HETEROGENEOUS)
    vobs, _ = vector.reset(seed=7)
    obs, _ = single.reset(seed=7)
    assert vobs[0].tobytes() == obs.tobytes()
    for actions in random_actions(4, num_envs, steps):
        vobs, vreward, vterm, vtrunc, vinfo = vector.step(actions)
        obs, reward, term, trunc, info = single.step(int(actions[0]))
        assert (vreward[0], vterm[0], vtrunc[0]) == (reward, term, trunc)
        for key, value in info.items():
            if key != "session_summary":
                assert vinfo[key][0] == value, key
        if term or trunc:
            assert vinfo["final_obs"][0].tobytes() == obs.tobytes()
            assert {k: v[0] for k, v in vinfo["session_summary"].items()} == {
                k: v for k, v in info["session_summary"].items() if k != "phase"}
            obs, _ = single.reset()
        assert vobs[0].tobytes() == obs.tobytes()
    assert single.batch.summary["shocks"][0] > 0 or single.batch.summary["pellets"][0] > 0


def test_a_subject_does_not_depend_on_the_batch_size() -> None:
    small, large = CocaineSeekingVectorEnv(3, **HETEROGENEOUS), CocaineSeekingVectorEnv(8, **HETEROGENEOUS)
    small_obs, _ = small.reset(seed=3)
    large_obs, _ = large.reset(seed=3)
    actions = random_actions(4, 8, 3 * SESSION_STEPS + 100, seed=1)
    for a in actions:
        small_obs, small_reward, *_ = small.step(a[:3])
        large_obs, large_reward, *_ = large.step(a)
        assert small_obs.tobytes() == large_obs[:3].tobytes()
        assert small_reward.tobytes() == large_reward[:3].tobytes()


def test_same_seed_same_batch_bit_for_bit() -> None:
    runs = []
    for _ in range(2):
        envs = CocaineSeekingVectorEnv(4, **HETEROGENEOUS)
        obs, _ = envs.reset(seed=11)
        out = [obs.tobytes()]
        for a in random_actions(4, 4, 400, seed=2):
            obs, reward, *_ = envs.step(a)
            out.append(obs.tobytes() + reward.tobytes())
        runs.append(out)
    assert runs[0] == runs[1]


def test_subjects_of_a_batch_are_different_individuals() -> None:
    envs = CocaineSeekingVectorEnv(4, individual_differences=True)
    envs.reset(seed=0)
    assert len({row.tobytes() for row in envs.batch.traits}) == 4


def test_same_step_autoreset_reports_the_ended_session() -> None:
    envs = CocaineSeekingVectorEnv(3, calendar=[{"phase": "self_administration", "session_minutes": 5.0},
                                                {"phase": "extinction", "session_minutes": 5.0}])
    envs.reset(seed=0)
    steps = round(5 * 60 / envs.batch.params.dt_s)
    for _ in range(steps - 1):
        obs, _, terminated, truncated, info = envs.step(np.array([ACTIVE, 0, ACTIVE]))
        assert not truncated.any() and "final_obs" not in info
    obs, _, terminated, truncated, info = envs.step(np.array([ACTIVE, 0, ACTIVE]))
    assert truncated.all() and not terminated.any()
    assert info["_final_obs"].all() and info["_session_summary"].all()
    assert np.all(info["final_obs"][:, OBSERVATION_NAMES.index("session_time")] == 1.0)
    assert np.all(obs[:, OBSERVATION_NAMES.index("session_time")] == 0.0), "the next session has begun"
    summary = info["session_summary"]
    assert set(summary) == set(SUMMARY_FIELDS)
    assert summary["infusions"][1] == 0 and summary["infusions"][0] == summary["infusions"][2] > 0
    assert all(s.phase == "extinction" for s in envs._protocol.current)


def test_progressive_ratio_subjects_end_at_their_own_breakpoints() -> None:
    envs = CocaineSeekingVectorEnv(2, calendar=[{"phase": "progressive_ratio"}, {"phase": "extinction"}],
                                   pavlovian_controller=False, operant_level=False)   # only the scripted presses
    envs.reset(seed=0)
    ended = np.zeros(2, dtype=bool)
    for _ in range(3000):
        _, _, terminated, truncated, info = envs.step(np.array([0, ACTIVE]))
        assert not truncated.any()
        if terminated.any():
            assert terminated.tolist() == [True, False]
            ended |= terminated
            break
    assert ended[0] and info["session_summary"]["breakpoint"][0] == 0
    assert envs._protocol.current[0].phase == "extinction" and envs._protocol.current[1].phase == "progressive_ratio"


def test_reset_options_apply_to_every_subject() -> None:
    envs = CocaineSeekingVectorEnv(3)
    envs.reset(seed=0, options={"phase": "cue_reinstatement", "context": "B", "abstinence_days": 60.0})
    assert all(s.phase == "cue_reinstatement" and s.context == "B" for s in envs._protocol.current)
    obs, _ = envs.reset(options={"phase": "extinction"})
    assert np.all(obs[:, OBSERVATION_NAMES.index("context_A")] == 1.0)


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_vector_render_modes(mode: str) -> None:
    envs = CocaineSeekingVectorEnv(2, render_mode=mode)
    envs.reset(seed=0)
    envs.step(np.array([ACTIVE, 0]))
    out = envs.render()
    if mode == "ansi":
        assert out.count("\n") == 2 and "infusions 1" in out and "infusions 0" in out
    else:
        assert len(out) == 2 and all(img.dtype == np.uint8 and img.shape[2] == 3 for img in out)


def test_info_arrays_are_read_only_views_and_ended_steps_copies() -> None:
    """A step's info shows the state read-only (writing into it cannot change a subject); the step
    that ends sessions hands copies taken before the autoreset."""
    envs = CocaineSeekingVectorEnv(3, calendar=[{"phase": "self_administration", "session_minutes": 1.0}])
    envs.reset(seed=0)
    _, _, terminated, truncated, info = envs.step(np.array([ACTIVE, 0, ACTIVE]))
    assert not (terminated | truncated).any()
    with pytest.raises(ValueError, match="read-only"):
        info["cocaine_mg_per_kg"][0] = 1.0
    assert np.shares_memory(info["cocaine_mg_per_kg"], envs.batch.cocaine)
    while not (terminated | truncated).any():
        _, _, terminated, truncated, info = envs.step(np.array([ACTIVE, 0, ACTIVE]))
    assert not np.shares_memory(info["cocaine_mg_per_kg"], envs.batch.cocaine)


@pytest.mark.parametrize("env_id", [rlcraving.ENV_ID, rlcraving.OUTPATIENT_ENV_ID])
def test_info_views_follow_the_state_they_show(env_id: str) -> None:
    """Each step's info holds the world's current measures, read-only, whether the world kept a state
    array (its view is kept from step to step) or made a new one (baclofen's effects, the actions)."""
    chamber = env_id == rlcraving.ENV_ID
    envs = gym.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point",
                        **({"baclofen": rlcraving.RatIP(2.5)} if chamber else {}))
    envs.reset(seed=0, options=None if chamber else {"baclofen_mg_per_day": 60.0})
    world = envs.unwrapped._world
    rng = np.random.default_rng(1)
    kept = set()
    before = None
    for _ in range(30):
        *_, info = envs.step(rng.integers(0, 3, 4))
        now = world.info_arrays()
        assert set(info) >= set(now)
        for key, array in now.items():
            assert np.array_equal(info[key], array) and not info[key].flags.writeable, key
        if before is not None:
            kept |= {k for k in now if info[k] is before[k]}
        before = info
    assert "cocaine_mg_per_kg" in kept and "action_taken" not in kept
    if not chamber:
        assert "withdrawal" in kept


def test_out_of_range_vector_action_names_the_entry_on_one_line() -> None:
    envs = CocaineSeekingVectorEnv(500)
    envs.reset(seed=0)
    actions = np.zeros(500, dtype=np.int64)
    actions[321] = -4
    with pytest.raises(ValueError) as caught:
        envs.step(actions)
    assert "actions[321]=-4" in str(caught.value) and "\n" not in str(caught.value)
