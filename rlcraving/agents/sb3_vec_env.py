"""A stable-baselines3 `VecEnv` over the batched core: N subjects, one numpy step.

`CocaineSeekingSB3VecEnv` wraps `CocaineSeekingVectorEnv` (which steps `SubjectBatch` as
arrays), so training pays for one vectorised step per time step, not for N Python
environments. It follows SB3's conventions:

- ``step`` returns ``(obs, reward, done, infos)`` with ``done = terminated | truncated``;
- a finished subject starts its next calendar session in the same step (autoreset); its info
  then holds ``terminal_observation``, ``TimeLimit.truncated`` (True when the session clock ran
  out, so the value is bootstrapped: the subject's life goes on after the session) and an
  ``episode`` record (return, length, time) as `Monitor` would write it;
- session end infos also carry ``session_summary`` (the core's per-session counts), and the
  session's ``subject``, ``generation``, ``day`` (index in the subject's calendar) and ``phase``.

Infos of subjects whose session did not end are empty dicts. What a callback may want on
every step is kept as arrays instead, so nothing is built per subject on ordinary steps:
`last_step_info` (the vector environment's info: reward components, dopamine gain, ...),
and, for the step just taken, `last_day` (calendar index of each subject's session),
`last_generation`, `last_step_index` (step within the session), `last_events` (per `EVENTS`
counter, the increments this step: active-lever presses that went through, inactive presses,
infusions; `last_presses` and `last_infusions` are its first and last arrays) and
`last_cue_onset` (the step switched the drug cue on).

One seed drives the batch: subject i of a batch seeded with s is subject i of every batch
seeded with s (`CocaineSeekingVectorEnv`). ``seed(s)`` returns ``[s] * num_envs``.

`PeopleSB3VecEnv` is the same for the person's world (`rlcraving.outpatient.PersonBatch`, a week an
episode): the people and what happens between their weeks belong to a "life" (`WeeklyLife`, or a
trial's `rlcraving.trials.TrialLife`), so that an SB3 policy and a TD agent live through the same
protocol code.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from rlcraving.agents.cohort import EVENTS
from rlcraving.core import SubjectBatch
from rlcraving.envs.cocaine_seeking import CocaineSeekingVectorEnv
from rlcraving.envs.outpatient import Life, OutpatientVectorEnv, week_summaries
from rlcraving.outpatient import ACTION_MEANINGS, OBSERVATION_NAMES, PersonBatch
from rlcraving.protocol import Calendar, as_calendar


class CocaineSeekingSB3VecEnv(VecEnv):
    """`num_envs` subjects living through a protocol calendar, as an SB3 `VecEnv`.

    Args:
        num_envs: number of subjects (parallel environments of one policy).
        **env_kwargs: keyword arguments of `CocaineSeekingVectorEnv` (``calendar``,
            ``baclofen_mg_per_day``, ``baclofen``, ``params``, ``sucrose_lever``, ...).
    """

    def __init__(self, num_envs: int = 16, **env_kwargs: Any):
        self.vector_env = CocaineSeekingVectorEnv(num_envs, **env_kwargs)
        self.env_kwargs: dict[str, Any] = dict(env_kwargs)
        self.calendar: Calendar = as_calendar(env_kwargs.get("calendar"))
        self.render_mode = self.vector_env.render_mode
        super().__init__(self.vector_env.num_envs, self.vector_env.single_observation_space,
                         self.vector_env.single_action_space)
        n = self.num_envs
        self.generation = np.zeros(n, dtype=np.int64)
        self.phase = np.array([s.phase for s in [self.calendar[0]] * n], dtype=object)
        self.last_step_info: dict[str, np.ndarray] = {}
        self.last_day = np.zeros(n, dtype=np.int64)
        self.last_generation = np.zeros(n, dtype=np.int64)
        self.last_step_index = np.zeros(n, dtype=np.int64)
        self.last_events: dict[str, np.ndarray] = {e: np.zeros(n) for e in EVENTS}
        self.last_presses = self.last_events["active_presses"]
        self.last_infusions = self.last_events["infusions"]
        self.last_cue_onset = np.zeros(n, dtype=bool)
        self._cue_before = np.zeros(n, dtype=bool)
        self._returns = np.zeros(n)
        self._lengths = np.zeros(n, dtype=np.int64)
        self._t_start = time.perf_counter()
        self._batch_seed: int | None = None
        self._actions: np.ndarray | None = None
        self.started = False

    @property
    def batch(self) -> SubjectBatch:
        """The `SubjectBatch` simulated."""
        return self.vector_env.batch

    @property
    def seed_pending(self) -> bool:
        """A seed is set for the next `reset`, which will then start new subjects."""
        return self._batch_seed is not None

    def follow(self, calendar: Calendar | Sequence[Any]) -> None:
        """Continue on `calendar`, which starts with the sessions already lived (the sessions still to
        start are taken from it); e.g. a copy of the batch going on to another test."""
        cal = as_calendar(calendar)
        self.vector_env._protocol.calendar = cal   # the protocol reads its calendar as sessions start
        self.calendar = cal
        self.env_kwargs["calendar"] = cal

    # ------------------------------------------------------------------ VecEnv API
    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed the next `reset` (one seed for the whole batch)."""
        if seed is None:
            seed = int(np.random.randint(0, np.iinfo(np.uint32).max, dtype=np.uint32))
        self._batch_seed = int(seed)
        self._seeds = [self._batch_seed] * self.num_envs
        return list(self._seeds)

    def reset(self) -> VecEnvObs:
        """Start the batch: new subjects if a seed is pending, else every subject's next session.

        Options set with ``set_options`` must be the same for every subject (one call of the
        vector environment's ``reset``).
        """
        options = self._options[0] if self._options else {}
        if any(o != options for o in self._options):
            raise ValueError("set_options gave different options to different subjects; this VecEnv resets "
                             "all subjects together and needs one options dict for all")
        seed, self._batch_seed = self._batch_seed, None
        obs, _ = self.vector_env.reset(seed=seed, options=options or None)
        if seed is not None:
            self.generation[:] = 0
        self._note_new_sessions(np.arange(self.num_envs))
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self.started = True
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async(actions)")
        b = self.batch
        day = self.last_day
        np.copyto(day, b.sessions_done)
        np.copyto(self.last_generation, self.generation)
        np.copyto(self.last_step_index, b.step_index)
        before = {e: b.summary[e].copy() for e in EVENTS}
        np.greater(b.cue_left, 0, out=self._cue_before)
        obs, reward, terminated, truncated, info = self.vector_env.step(self._actions)
        self._actions = None
        self.last_step_info = info
        np.greater(b.cue_left, 0, out=self.last_cue_onset)
        self.last_cue_onset &= ~self._cue_before
        after = {e: b.summary[e] for e in EVENTS}
        self._returns += reward
        self._lengths += 1
        done = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done.any():
            ended = np.flatnonzero(done)
            summary = info["session_summary"]
            after = {e: np.where(done, summary[e], after[e]) for e in EVENTS}
            self.last_cue_onset &= ~done   # the cue state of an ended subject is its next session's
            elapsed = round(time.perf_counter() - self._t_start, 6)
            for i in ended.tolist():
                infos[i] = {
                    "terminal_observation": info["final_obs"][i],
                    "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                    "session_summary": {k: float(v[i]) for k, v in summary.items()},
                    "subject": i,
                    "generation": int(self.generation[i]),
                    "day": int(day[i]),
                    "phase": self.phase[i],
                    "episode": {"r": float(self._returns[i]), "l": int(self._lengths[i]), "t": elapsed},
                }
            self._returns[ended] = 0.0
            self._lengths[ended] = 0
            # a subject whose session count restarted is a new subject (the calendar was finished)
            self.generation[ended] += self.batch.sessions_done[ended] == 0
            self._note_new_sessions(ended)
        for e in EVENTS:
            np.subtract(after[e], before[e], out=self.last_events[e])
        return obs, reward.astype(np.float32), done, infos

    def close(self) -> None:
        self.vector_env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Attributes are shared by the batch: the vector environment's value, once per index."""
        return [getattr(self.vector_env, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the (shared) vector environment; only all indices at once."""
        if len(self._indices(indices)) != self.num_envs:
            raise ValueError(f"set_attr({attr_name!r}) on indices={indices!r}: the subjects share one vector "
                             "environment, so only all indices (None) are allowed")
        setattr(self.vector_env, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        """Call a method of the shared vector environment once; its result is given for each index."""
        result = getattr(self.vector_env, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            return [None] * self.num_envs
        return list(self.vector_env.render())

    # ------------------------------------------------------------------ helpers
    def _indices(self, indices: VecEnvIndices) -> list[int]:
        return _indices(indices, self.num_envs)

    def _note_new_sessions(self, idx: np.ndarray) -> None:
        """Remember the phase of the sessions just started at `idx`."""
        current = self.vector_env.sessions
        for i in idx.tolist():
            self.phase[i] = current[i].phase


class WeeklyLife:
    """People living week after week with nothing done between weeks (the default life of
    `PeopleSB3VecEnv`): `rlcraving.envs.outpatient.Life` with the environment's keyword arguments."""

    def __init__(self, n: int, **env_kwargs: Any):
        kwargs = {k: p.default for k, p in inspect.signature(OutpatientVectorEnv).parameters.items()
                  if k not in ("num_envs", "render_mode")}
        unknown = sorted(set(env_kwargs) - set(kwargs))
        if unknown:
            raise TypeError(f"unknown keyword argument(s) {unknown} of the person's world; allowed: {sorted(kwargs)}")
        self.life = Life(n, **{**kwargs, **env_kwargs})
        self.batch: PersonBatch = self.life.batch
        self.everyone = np.arange(self.batch.n)
        self.week = 0
        self.started = False

    def start(self, seed: int, options: Any = None) -> None:
        """New people (seeded with `seed`), their first week started with `options` (`WEEK_OPTIONS`)."""
        self.life.reset(self.everyone, int(seed), options)
        self.week, self.started = 0, True

    def after_step(self) -> None:
        """Nothing is recorded hour by hour."""

    def next_week(self) -> None:
        self.life.reset(self.everyone, None, None)
        self.week += 1

    def enter_stage(self) -> None:
        """Nothing happens between weeks."""


class PeopleSB3VecEnv(VecEnv):
    """The people of a life (`WeeklyLife` by default, or a trial's `rlcraving.trials.TrialLife`) as an
    SB3 `VecEnv`: N people of one shared policy, a week (168 one-hour steps) an episode.

    ``PeopleSB3VecEnv(16, baclofen_mg_per_day=60.0)`` makes a `WeeklyLife` from the keyword arguments
    of `OutpatientVectorEnv`; ``PeopleSB3VecEnv(life=trial_life)`` steps a trial's people, which the
    trial has made and seeded (`seed` and `reset` then start no one new). A life has ``batch`` (a
    `PersonBatch`), ``after_step()`` (called after every hour), ``next_week()`` and ``enter_stage()``
    (called in turn when the week ends; the observation returned is the next week's first, after
    the protocol's stage).

    Weeks end together. A week's end info holds ``terminal_observation``, ``TimeLimit.truncated``
    (True: life goes on after the week), ``episode`` (Monitor-style), ``week`` (weeks lived before
    it) and ``week_summary`` (`rlcraving.envs.outpatient.WEEK_SUMMARY`).
    """

    def __init__(self, num_envs: int | None = None, *, life: Any = None, **env_kwargs: Any):
        if life is None:
            life = WeeklyLife(16 if num_envs is None else num_envs, **env_kwargs)
        elif env_kwargs or (num_envs is not None and num_envs != life.batch.n):
            raise ValueError(f"life={type(life).__name__} makes its own people ({life.batch.n}); give neither "
                             f"num_envs={num_envs!r} nor environment keyword arguments {sorted(env_kwargs)}")
        self.life = life
        self.action_meanings = list(ACTION_MEANINGS)
        self.observation_names = list(OBSERVATION_NAMES)
        self.render_mode = None
        super().__init__(life.batch.n, gym.spaces.Box(0.0, 1.0, (len(OBSERVATION_NAMES),), np.float32),
                         gym.spaces.Discrete(len(ACTION_MEANINGS)))
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)
        self._t_start = time.perf_counter()
        self._batch_seed: int | None = None
        self._actions: np.ndarray | None = None

    @property
    def batch(self) -> PersonBatch:
        """The `PersonBatch` simulated."""
        return self.life.batch

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed the next `reset` (one seed for the whole batch; a trial's people are seeded by the trial)."""
        if seed is None:
            seed = int(np.random.randint(0, np.iinfo(np.uint32).max, dtype=np.uint32))
        self._batch_seed = int(seed)
        return [self._batch_seed] * self.num_envs

    def reset(self) -> VecEnvObs:
        """New people if the life makes them (`WeeklyLife.start`: with the pending seed, and the options
        of ``set_options``, one dict for all); then the current observation."""
        start = getattr(self.life, "start", None)
        if start is not None and (self._batch_seed is not None or not self.life.started):
            options = self._options[0] if self._options else {}
            if any(o != options for o in self._options):
                raise ValueError("set_options gave different options to different people; this VecEnv resets "
                                 "all people together and needs one options dict for all")
            seed = self._batch_seed if self._batch_seed is not None else int(np.random.randint(2**31))
            start(seed, options or None)
        self._batch_seed = None
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self.batch.observe()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async(actions)")
        obs, reward, terminated, truncated = self.batch.step(self._actions)
        self._actions = None
        self.life.after_step()
        self._returns += reward
        self._lengths += 1
        done = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done.any():
            if not done.all():
                raise RuntimeError("the people's weeks ended apart; they start and end together")
            elapsed = round(time.perf_counter() - self._t_start, 6)
            summaries = week_summaries(self.batch)
            for i in range(self.num_envs):
                infos[i] = {"terminal_observation": obs[i], "TimeLimit.truncated": bool(truncated[i]),
                            "week": int(self.life.week),
                            "week_summary": {k: float(v[i]) for k, v in summaries.items()},
                            "episode": {"r": float(self._returns[i]), "l": int(self._lengths[i]), "t": elapsed}}
            self._returns[:] = 0.0
            self._lengths[:] = 0
            self.life.next_week()
            self.life.enter_stage()
            obs = self.batch.observe()
        return obs, reward.astype(np.float32), done, infos

    def close(self) -> None:
        """Nothing to release."""

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Attributes are shared by the people: this environment's value, once per index."""
        return [getattr(self, attr_name)] * len(_indices(indices, self.num_envs))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"set_attr({attr_name!r}): the people share one batch; change the life instead")

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        """Call a method of this (shared) environment once; its result is given for each index."""
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result] * len(_indices(indices, self.num_envs))

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(_indices(indices, self.num_envs))

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs


def _indices(indices: VecEnvIndices, n: int) -> list[int]:
    if indices is None:
        return list(range(n))
    if isinstance(indices, int):
        return [indices]
    return list(indices)


__all__ = ["CocaineSeekingSB3VecEnv", "PeopleSB3VecEnv", "WeeklyLife"]
