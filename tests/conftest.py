"""Shared settings and helpers of the rlcraving test suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from rlcraving.envs import CocaineSeekingEnv

# Property tests: few examples and no deadline keep the suite fast and steady on a shared machine;
# derandomize makes a failure reproducible from one run to the next.
settings.register_profile("rlcraving", max_examples=20, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("rlcraving")

Policy = Callable[[int], int]


def _run_session(env: Any, policy: Policy | int) -> tuple[int, float, bool, dict[str, Any]]:
    """Step a single environment to the end of its session.

    `policy` is an action, or a function of the step number giving one. Returns (steps taken,
    total reward, whether the session was terminated rather than truncated, last info).
    """
    act = policy if callable(policy) else (lambda _t: policy)
    total, step = 0.0, 0
    while True:
        _, reward, terminated, truncated, info = env.step(act(step))
        total += reward
        step += 1
        if terminated or truncated:
            return step, total, terminated, info


def _state_of(env: Any) -> dict[str, Any]:
    """Everything that describes the subjects of an environment: core arrays and protocol position."""
    unwrapped = env.unwrapped
    batch, protocol = unwrapped.batch, unwrapped._protocol
    state: dict[str, Any] = {}
    for name, value in vars(batch).items():
        if isinstance(value, np.ndarray):
            state[f"batch.{name}"] = value.copy()
        elif isinstance(value, dict):
            state.update({f"batch.{name}.{k}": np.array(v, copy=True) for k, v in value.items()})
    state["batch.regimens"] = list(batch._regimens)
    state["protocol.seed"] = protocol.seed
    state["protocol.generation"] = protocol.generation.copy()
    state["protocol.position"] = protocol.position.copy()
    state["protocol.current"] = list(protocol.current)
    return state


def _assert_same_state(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Fail, naming the first field, if two `_state_of` snapshots differ."""
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            same = value.shape == after[key].shape and np.array_equal(value, after[key], equal_nan=True)
        else:
            same = value == after[key]
        assert same, f"{key} changed"


@pytest.fixture
def env() -> CocaineSeekingEnv:
    """A fresh single-subject environment with default settings, reset with seed 0."""
    environment = CocaineSeekingEnv()
    environment.reset(seed=0)
    return environment


@pytest.fixture
def run_session() -> Callable[[Any, Policy | int], tuple[int, float, bool, dict[str, Any]]]:
    """Step a single environment to the end of its session (see `_run_session`)."""
    return _run_session


@pytest.fixture
def state_of() -> Callable[[Any], dict[str, Any]]:
    """Snapshot of everything that describes an environment's subjects (see `_state_of`)."""
    return _state_of


@pytest.fixture
def assert_same_state() -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """Compare two snapshots of `state_of`, naming the first field that changed."""
    return _assert_same_state
