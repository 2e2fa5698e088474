"""What every Gymnasium view of a batched world shares: the Gymnasium contract, once.

A world (`cocaine_seeking.Protocol`: a chamber's calendar; `outpatient.Life`: a person's weeks)
holds the batched core (`world.batch`), starts episodes (`world.reset(idx, seed, options)`) and
reports a step's measures (`world.info_arrays()`). `SingleView` shows subject 0 of a world of one,
`VectorView` the N subjects of a world of N (Gymnasium's native VectorEnv, autoreset in the same
step). A view adds only what differs between worlds: its episode's summary, the text and picture
of one subject, and what a finished episode is called.
"""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from rlcraving.checks import check_action, check_actions, check_render_mode, check_seed

RENDER_MODES = ["ansi", "rgb_array"]


class World(Protocol):
    """Who is in which episode, over a batched core."""

    batch: Any

    def reset(self, idx: np.ndarray, seed: int | None, options: Any) -> None: ...

    def info_arrays(self) -> dict[str, np.ndarray]:
        """A step's measures, one array over subjects each: the world's state arrays themselves where
        they are kept (the same objects from step to step), new arrays where derived."""
        ...


def organism_info(batch: Any) -> dict[str, np.ndarray]:
    """The organism's measures in every world's `info`: the reward's components, the cocaine and
    baclofen levels, the incentive signal and dysphoria (the batch's own arrays)."""
    info = dict(batch.components)
    info["cocaine_mg_per_kg"] = batch.cocaine
    info["baclofen_mg_per_l"] = batch.baclofen_mg_per_l
    info["incentive_signal"] = batch.incentive
    info["dysphoria"] = batch.dysphoria
    return info


class _View:
    """Spaces, names and rendering of a view onto `world` (shared by both kinds)."""

    summary_key: str   # the key of the episode's summary in `info` at its end

    def _bind(self, world: World, action_meanings: list[str], observation_names: list[str],
              render_mode: str | None) -> None:
        self.render_mode = check_render_mode(render_mode, RENDER_MODES)
        self._world, self._batch = world, world.batch
        self.action_meanings, self.observation_names = list(action_meanings), list(observation_names)
        self._started = False

    @property
    def batch(self) -> Any:
        """The simulation core behind this view."""
        return self._batch

    def _summaries(self) -> dict[str, np.ndarray]:
        """The finished episode's summary, one array over subjects per field."""
        raise NotImplementedError

    def _ansi(self, i: int) -> str:
        """One line of text describing subject `i` now."""
        raise NotImplementedError

    def _rgb(self, i: int) -> np.ndarray:
        """A picture of subject `i` now."""
        raise NotImplementedError

    def _start(self, idx: np.ndarray, seed: int | None, options: dict[str, Any] | None,
               reset: Any) -> None:
        """Check the seed, seed the view's own generator (`reset` is Gymnasium's), start `idx`."""
        seed = check_seed(seed)
        reset(seed=seed)
        if seed is None and not self._started:
            seed = int(self.np_random.integers(2**63))
        self._world.reset(idx, seed, options)
        self._started = True


class SingleView(_View, gym.Env[np.ndarray, np.int64]):
    """One subject: subclasses call `_bind` with a world of one, and may override `_reset_info`,
    `_summary` and `_over_message`."""

    metadata = {"render_modes": RENDER_MODES, "render_fps": 8}

    def _bind(self, world: World, action_meanings: list[str], observation_names: list[str],
              render_mode: str | None) -> None:
        super()._bind(world, action_meanings, observation_names, render_mode)
        self.action_space = spaces.Discrete(len(action_meanings))
        self.observation_space = spaces.Box(0.0, 1.0, (len(observation_names),), np.float32)
        self._over = False
        self._action = np.zeros(1, dtype=np.int64)

    def _reset_info(self) -> dict[str, Any]:
        """`info` returned by `reset`."""
        return {}

    def _summary(self) -> dict[str, Any]:
        """The finished episode's summary, as numbers."""
        return {k: float(v[0]) for k, v in self._summaries().items()}

    def _over_message(self) -> str:
        return "the episode has ended; call reset() to start the next"

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._start(np.zeros(1, dtype=np.int64), seed, options, super().reset)
        self._over = False
        return self._batch.observe()[0], self._reset_info()

    def step(self, action):
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        if self._over:
            raise gym.error.ResetNeeded(self._over_message())
        self._action[0] = check_action(action, len(self.action_meanings), self.action_meanings)
        obs, reward, terminated, truncated = self._batch.step(self._action)
        info = {k: float(v[0]) for k, v in self._world.info_arrays().items()}
        self._over = bool(terminated[0] or truncated[0])
        if self._over:
            info[self.summary_key] = self._summary()
        return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def render(self):
        if self.render_mode == "ansi":
            return self._ansi(0)
        if self.render_mode == "rgb_array":
            return self._rgb(0)
        return None


class VectorView(_View, VectorEnv):
    """N subjects stepped as arrays; a finished subject starts its next episode within the same
    step (autoreset "same step"; the final observation and the episode's summary are in `info`).

    The arrays of a step's `info` are read-only views of the world's state, valid until the next
    `step` or `reset` (which update that state in place): copy an array to keep it. On a step where
    some subject's episode ends they are copies (the autoreset changes the state within the step).
    Observations, rewards and the termination flags are new arrays every step.
    """

    metadata = {"render_modes": RENDER_MODES, "autoreset_mode": AutoresetMode.SAME_STEP, "render_fps": 8}

    def _bind(self, world: World, action_meanings: list[str], observation_names: list[str],
              render_mode: str | None) -> None:
        super()._bind(world, action_meanings, observation_names, render_mode)
        self.num_envs = n = int(self._batch.n)
        n_actions, n_obs = len(action_meanings), len(observation_names)
        self.single_action_space = spaces.Discrete(n_actions)
        self.single_observation_space = spaces.Box(0.0, 1.0, (n_obs,), np.float32)
        self.action_space = spaces.MultiDiscrete(np.full(n, n_actions))
        self.observation_space = spaces.Box(0.0, 1.0, (n, n_obs), np.float32)
        self._views: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._start(np.arange(self.num_envs), seed, options, super().reset)
        return self._batch.observe(), {}

    def step(self, actions):
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        actions = check_actions(actions, self.num_envs, len(self.action_meanings), self.action_meanings)
        obs, reward, terminated, truncated = self._batch.step(actions)
        arrays = self._world.info_arrays()
        done = terminated | truncated
        if not done.any():
            info = self._read_only(arrays)
        else:   # the resets below change the state: this step's values are copied first
            info = {k: np.array(v, copy=True) for k, v in arrays.items()}
            info["final_obs"] = obs.copy()
            info["_final_obs"] = done.copy()
            info[self.summary_key] = self._summaries()
            info["_" + self.summary_key] = done.copy()
            self._world.reset(np.flatnonzero(done), None, None)
            obs = self._batch.observe()
        return obs, reward, terminated, truncated, info

    def _read_only(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Read-only views of the world's info arrays. A view is made once for each state array and
        kept while the world keeps that array (`_views`: name -> (array, view)); a new array (a derived
        measure, or state the world replaced) gets a new view."""
        views, info = self._views, {}
        for name, array in arrays.items():
            kept = views.get(name)
            if kept is None or kept[0] is not array:
                view = array.view()
                view.flags.writeable = False
                views[name] = kept = (array, view)
            info[name] = kept[1]
        return info

    def render(self):
        if self.render_mode == "ansi":
            return "".join(self._ansi(i) for i in range(min(self.num_envs, 8)))
        if self.render_mode == "rgb_array":
            return tuple(self._rgb(i) for i in range(self.num_envs))
        return None


__all__ = ["RENDER_MODES", "SingleView", "VectorView", "World", "organism_info"]
