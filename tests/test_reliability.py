"""Misuse of the environments and agents that must be refused, not absorbed: stepping a finished
session, booleans as actions, seeds beyond the 64-bit subject keys, "human" rendering, and
temporary folders left behind."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlcraving
from rlcraving.envs import CocaineSeekingEnv

SHORT = [{"phase": "self_administration", "days": 2, "session_minutes": 2}]


def test_stepping_a_finished_session_is_refused_until_reset(state_of: Callable[[Any], dict],
                                                            assert_same_state: Callable[[dict, dict], None]) -> None:
    env = gym.make(rlcraving.ENV_ID, calendar=SHORT)
    env.reset(seed=0)
    truncated = False
    while not truncated:
        _, _, _, truncated, info = env.step(1)
    presses = info["session_summary"]["active_presses"]
    before = state_of(env)
    for _ in range(3):
        with pytest.raises(gym.error.ResetNeeded, match=r"session has ended.*reset"):
            env.step(1)
    assert_same_state(before, state_of(env))
    obs, _ = env.reset()
    assert env.observation_space.contains(obs)
    _, _, _, _, info = env.step(1)
    assert env.unwrapped.batch.sessions_done[0] == 1
    # the second session is the one an uninterrupted subject has
    twin = CocaineSeekingEnv(calendar=SHORT)
    twin.reset(seed=0)
    done = False
    while not done:
        *_, done, _ = twin.step(1)
    twin.reset()
    _, _, _, _, twin_info = twin.step(1)
    assert info == twin_info and presses > 0


@pytest.mark.parametrize("action", [True, False, np.bool_(True)])
def test_booleans_are_not_actions(action: Any) -> None:
    env = gym.make(rlcraving.ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action=.*whole number"):
        env.step(action)
    env.step(np.int64(1))  # numpy integers are actions


def test_seeds_beyond_64_bits_are_refused_not_aliased() -> None:
    env = CocaineSeekingEnv(individual_differences=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"seed=18446744073709551616 .*\[0, 2\*\*64 - 1\]"):
        env.reset(seed=2**64)
    envs = gym.make_vec(rlcraving.ENV_ID, num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="seed="):
        envs.reset(seed=2**64)


@pytest.mark.parametrize("env_id", [rlcraving.ENV_ID, rlcraving.OUTPATIENT_ENV_ID])
def test_human_rendering_is_refused_when_the_environment_is_made(env_id: str) -> None:
    with pytest.raises(ValueError, match=r"render_mode='human' is not allowed.*rgb_array.*HumanRendering"):
        gym.make(env_id, render_mode="human")
    with pytest.raises(ValueError, match="render_mode='human'"):
        gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", render_mode="human")
    frame = gym.make(env_id, render_mode="rgb_array")
    frame.reset(seed=0)
    assert frame.render().ndim == 3


def test_sb3_cohorts_leave_no_folder_in_the_temporary_directory(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    sb3 = pytest.importorskip("rlcraving.agents.sb3")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = sb3.run_sb3_cohort(2, [{"phase": "self_administration", "days": 1, "session_minutes": 2}],
                                algo="PPO", algo_kwargs={"n_steps": 16, "batch_size": 32})
    assert len(result.table)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("SB3-")] == []  # SB3's default logger folder
