"""stable-baselines3 agents living through a protocol calendar.

A cohort of N subjects is N parallel environments of one shared policy (PPO, A2C, DQN or
sb3-contrib's RecurrentPPO) that learns throughout the calendar, extinction and tests
included, as the animal does. Sessions are episodes; the batched `CocaineSeekingSB3VecEnv`
steps all subjects as arrays. `SessionRecorder` collects every session's summary per subject
from ``info["session_summary"]`` and stops training when each subject has lived through the
calendar once; `run_sb3_cohort` returns the same tidy tables as the TD cohort
(`rlcraving.agents.cohort.CohortResult`).

Baclofen reaches these agents through the environment: the drug's dopamine surge and the
incentive (conditioned-reinforcement) reward of a cue scale with baclofen's dopamine gain,
the hedonic and relief components and the press cost do not, so the reward's composition
changes, not only its scale (a uniform rescaling of every reward would be cancelled by PPO's
advantage normalisation; see docs/sb3.md).

Defaults are classroom-sized: `DEFAULT_ALGO_KWARGS` per algorithm, torch on one thread.

In the person's world (`rlcraving/Outpatient-v0`), `make_people_env` is the batched VecEnv of N people
living week after week, and `live_sb3_trial` lets one policy live a trial's protocol
(`rlcraving.trials.TrialLife`, the TD person's too); `rlcraving.trials.run_trials` calls it for a design
whose agent is an SB3 algorithm.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sb3_contrib import RecurrentPPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import HumanOutputFormat, Logger

from rlcraving.agents.cohort import (
    ENV_KWARGS,
    EVENTS,
    MEASURES,
    TRACE_BIN_S,
    CohortResult,
    CueLocked,
    events_frame,
    tidy_table,
    trace_frame,
    traces_table,
)
from rlcraving.agents.sb3_vec_env import CocaineSeekingSB3VecEnv, PeopleSB3VecEnv, WeeklyLife
from rlcraving.checks import check_bool, check_choice, check_keys, check_number
from rlcraving.core import session_steps
from rlcraving.criterion import CRITERION, TrainingCriterion
from rlcraving.files import atomic_write_bytes, atomic_write_text
from rlcraving.params import ModelParams
from rlcraving.pharmacology import REGIMEN_TYPES
from rlcraving.protocol import Calendar, CalendarEntry, as_calendar, session

#: Algorithms by name, and the policy each uses.
ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"PPO": PPO, "A2C": A2C, "DQN": DQN, "RecurrentPPO": RecurrentPPO}
POLICIES: dict[str, str] = {"PPO": "MlpPolicy", "A2C": "MlpPolicy", "DQN": "MlpPolicy",
                            "RecurrentPPO": "MlpLstmPolicy"}

#: Classroom defaults (16-64 subjects, the default calendar, about a minute on two cores).
#: normalize_advantage=False for PPO and RecurrentPPO keeps reward units meaningful: rewards,
#: press cost and shock are calibrated on one scale (docs/model.md), and per-minibatch
#: normalisation turns the 0.01 press cost of an extinction session into a unit-size signal
#: that drives responding to exactly zero, after which a contingent cue is never produced in
#: a reinstatement test (docs/sb3.md has the measurements). ent_coef=0.01 is the usual value
#: for discrete actions; with raw advantages it keeps late-extinction responding at a few
#: presses an hour, as in rats.
DEFAULT_ALGO_KWARGS: dict[str, dict[str, Any]] = {
    "PPO": dict(n_steps=64, n_epochs=4, ent_coef=0.01, normalize_advantage=False),
    "RecurrentPPO": dict(n_steps=64, n_epochs=4, ent_coef=0.01, normalize_advantage=False,
                         policy_kwargs=dict(lstm_hidden_size=32, shared_lstm=True, enable_critic_lstm=False)),
    "A2C": dict(n_steps=8, ent_coef=0.01),
    "DQN": dict(learning_starts=1_000, batch_size=64, train_freq=1, target_update_interval=5_000,
                exploration_fraction=0.1, exploration_final_eps=0.05),
}
#: DQN's replay memory when ``buffer_size`` is not given: this many steps per subject (one hour
#: at dt = 4 s). Extinction and SA look alike to the agent, so a memory of many sessions keeps
#: replaying rewarded presses and extinction stalls (docs/sb3.md); a recent memory does not.
DQN_BUFFER_STEPS_PER_SUBJECT = 900
#: Minibatches per PPO epoch when ``batch_size`` is not given (batch = n_steps * n_envs / 4).
MINIBATCHES = 4
#: Signals of the binned traces (1-min bins of per-step cohort means; *_per_min are rates).
SB3_TRACE_SIGNALS = ("prediction_error", "reward", "drug_dopamine", "incentive", "cue_value", "active_presses_per_min",
                     "infusions_per_min")
ENV_SETTINGS_SUFFIX = ".env.json"


# ---------------------------------------------------------------------------------------
# Environment and model
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with torch on `n` threads (None: leave torch alone), then restore."""
    if n is None:
        yield
        return
    check_number("torch_threads", n, lo=1, hi=1024, integer=True)
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_env(n_subjects: int, env_kwargs: Mapping[str, Any] | None = None) -> CocaineSeekingSB3VecEnv:
    """The SB3 vector environment of `n_subjects` (env_kwargs: `CocaineSeekingVectorEnv` kwargs)."""
    check_number("n_subjects", n_subjects, lo=1, hi=10_000_000, integer=True)
    return CocaineSeekingSB3VecEnv(int(n_subjects), **dict(env_kwargs or {}))


def algo_kwargs_for(algo: str, n_envs: int, algo_kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`DEFAULT_ALGO_KWARGS[algo]` updated with `algo_kwargs`, device cpu, PPO batch size filled in."""
    check_choice("algo", algo, ALGORITHMS)
    if algo_kwargs is not None and not isinstance(algo_kwargs, Mapping):
        raise TypeError(f"algo_kwargs={algo_kwargs!r} must be a dict of {algo} keyword arguments or None")
    kwargs: dict[str, Any] = {"device": "cpu", **DEFAULT_ALGO_KWARGS[algo], **dict(algo_kwargs or {})}
    for reserved in ("env", "policy", "seed"):
        if reserved in kwargs:
            raise ValueError(f"algo_kwargs may not set {reserved!r}; it is set by the caller")
    if algo in ("PPO", "RecurrentPPO") and "batch_size" not in kwargs:
        n_steps = kwargs.get("n_steps", inspect.signature(ALGORITHMS[algo]).parameters["n_steps"].default)
        kwargs["batch_size"] = max(1, int(n_steps) * n_envs // MINIBATCHES)
    if algo == "DQN" and "buffer_size" not in kwargs:
        kwargs["buffer_size"] = DQN_BUFFER_STEPS_PER_SUBJECT * n_envs
    return kwargs


def check_algo_kwargs(algo: str, algo_kwargs: Mapping[str, Any]) -> None:
    """Refuse an unknown algorithm, or keyword arguments that `algo` does not take (naming them)."""
    check_choice("algo", algo, ALGORITHMS)
    if not isinstance(algo_kwargs, Mapping):
        raise TypeError(f"algo_kwargs={algo_kwargs!r} must be a dict of {algo} keyword arguments")
    allowed = [k for k in inspect.signature(ALGORITHMS[algo]).parameters if k not in ("env", "policy", "seed")]
    check_keys("algo_kwargs", algo_kwargs, allowed)


def make_model(algo: str, env: CocaineSeekingSB3VecEnv | PeopleSB3VecEnv,
               algo_kwargs: Mapping[str, Any] | None = None, *, seed: int = 0) -> BaseAlgorithm:
    """An untrained `algo` agent (see `ALGORITHMS`) on `env`, seeded: same seed, same numbers."""
    check_number("seed", seed, lo=0, hi=2**32 - 1, integer=True)
    kwargs = algo_kwargs_for(algo, env.num_envs, algo_kwargs)
    return ALGORITHMS[algo](POLICIES[algo], env, seed=int(seed), **kwargs)


def calendar_steps(calendar: Calendar, params: ModelParams) -> int:
    """Most steps one subject can take through `calendar`."""
    return sum(session_steps(s, params) for s in calendar.sessions)


# ---------------------------------------------------------------------------------------
# Recording sessions
# ---------------------------------------------------------------------------------------


class SessionRecorder(BaseCallback):
    """Collects each subject's session summaries (first generation only) during training.

    Stops training once every subject has finished `calendar` (``stop_at_end``). With
    `trace_sessions`, also records within those calendar sessions 1-min binned cohort means of
    `SB3_TRACE_SIGNALS` and the cohort means of `cohort.LOCKED_SIGNALS` around drug-cue onsets
    (as the TD cohort's traces); with `event_subjects`, every press and infusion of those subjects
    in the traced sessions (`cohort.EVENTS`, as the TD cohort's events).

    The agent's prediction error is its critic's TD error, r + gamma V(s') - V(s) (reward units per
    step; V(s') of the session's last observation where a session ended, since the value is
    bootstrapped there), for agents with a state-value critic (PPO, A2C); NaN for the others.
    `record` takes one step's data, so a loop that acts without learning can feed it too.
    """

    def __init__(self, calendar: Calendar, n_subjects: int, *, trace_sessions: Sequence[int] = (),
                 event_subjects: Sequence[int] = (), stop_at_end: bool = True):
        super().__init__()
        self.calendar = calendar
        self.n = int(n_subjects)
        self.stop_at_end = check_bool("stop_at_end", stop_at_end)
        n_days = len(calendar)
        self.results = np.full((n_days, len(MEASURES), self.n), np.nan)
        self.returns = np.full((n_days, self.n), np.nan)
        self.finished = np.zeros(self.n, dtype=np.int64)
        self.traced = tuple(sorted({int(check_number("trace_sessions[]", d, lo=0, hi=n_days - 1, integer=True))
                                    for d in trace_sessions}))
        self.watched = np.array(sorted({int(check_number("event_subjects[]", i, lo=0, hi=self.n - 1, integer=True))
                                        for i in event_subjects}), dtype=np.int64)
        self.events: list[tuple[int, int, float, str]] = []   # (subject, day, time_s, event)
        self.slot = np.full(n_days + 1, -1, dtype=np.int64)
        self.slot[list(self.traced)] = np.arange(len(self.traced))
        self._trace_sums: np.ndarray | None = None
        self._trace_counts: np.ndarray | None = None
        self._locked: CueLocked | None = None
        self._bin_steps = 1
        self._dt = 1.0
        self._params: ModelParams | None = None

    @property
    def done(self) -> bool:
        """Every subject has finished the calendar."""
        return bool((self.finished >= len(self.calendar)).all())

    def _on_training_start(self) -> None:
        self.attach(self.training_env.unwrapped)

    def attach(self, env: Any) -> None:
        """Check `env` and size the trace arrays (once; training again continues the record)."""
        if not isinstance(env, CocaineSeekingSB3VecEnv) or env.num_envs != self.n:
            raise TypeError(f"SessionRecorder needs a CocaineSeekingSB3VecEnv of {self.n} subjects, "
                            f"got {type(env).__name__}")
        if self._trace_counts is not None or not self.traced:
            return
        self._params = env.batch.params
        self._dt = env.batch.params.dt_s
        self._bin_steps = max(1, int(round(TRACE_BIN_S / self._dt)))
        n_bins = self._bins_needed()
        self._trace_sums = np.zeros((len(self.traced), len(SB3_TRACE_SIGNALS), n_bins))
        self._trace_counts = np.zeros((len(self.traced), n_bins))
        self._locked = CueLocked(self.n, len(self.traced), self._dt)

    def _bins_needed(self) -> int:
        if self._params is None:
            raise RuntimeError("attach the recorder to its environment first")
        return max(-(-session_steps(self.calendar[d], self._params) // self._bin_steps) for d in self.traced)

    def follow(self, calendar: Calendar) -> None:
        """Go on recording on `calendar`: as many sessions as the one recorded so far, starting with the
        sessions already lived (a copy of the cohort going on to another test). Trace bins grow to fit."""
        if len(calendar) != len(self.calendar):
            raise ValueError(f"calendar has {len(calendar)} sessions; this recorder records {len(self.calendar)}")
        self.calendar = calendar
        if self._trace_sums is not None and self._trace_counts is not None:
            grow = self._bins_needed() - self._trace_counts.shape[1]
            if grow > 0:
                self._trace_sums = np.pad(self._trace_sums, ((0, 0), (0, 0), (0, grow)))
                self._trace_counts = np.pad(self._trace_counts, ((0, 0), (0, grow)))

    def _on_step(self) -> bool:
        values = self.locals.get("values")
        self.record(self.training_env.unwrapped, self.model, self.locals["new_obs"], self.locals["rewards"],
                    self.locals["dones"], self.locals["infos"], values)
        return not (self.stop_at_end and self.done)

    def record(self, env: CocaineSeekingSB3VecEnv, model: BaseAlgorithm, new_obs: np.ndarray, rewards: np.ndarray,
               dones: np.ndarray, infos: Sequence[Mapping[str, Any]], values: Any = None) -> None:
        """One step of `env` (after ``env.step``): `values` are the critic's V(s) before the step."""
        if self._trace_counts is not None:
            self._trace(env, model, new_obs, rewards, dones, infos, values)
        if dones.any():
            for i in np.flatnonzero(dones).tolist():
                info = infos[i]
                day = info["day"]
                if info["generation"] != 0 or day >= len(self.calendar):
                    continue
                summary = info["session_summary"]
                self.results[day, :, i] = [summary[m] for m in MEASURES]
                self.returns[day, i] = info["episode"]["r"]
                self.finished[i] = day + 1
            if self._locked is not None:
                self._locked.sessions_ended(np.flatnonzero(dones))

    def _trace(self, env: CocaineSeekingSB3VecEnv, model: BaseAlgorithm, new_obs: np.ndarray, reward: np.ndarray,
               dones: np.ndarray, infos: Sequence[Mapping[str, Any]], values: Any) -> None:
        slot = self.slot[np.minimum(env.last_day, len(self.calendar))]
        inside = (env.last_generation == 0) & (slot >= 0)
        rows = np.flatnonzero(inside)
        if rows.size == 0 or self._trace_sums is None or self._trace_counts is None or self._locked is None:
            return
        info, b = env.last_step_info, env.batch
        error = prediction_error(model, new_obs, reward, dones, infos, values)
        n_bins = self._trace_counts.shape[1]
        cell = slot[rows] * n_bins + np.minimum(env.last_step_index[rows] // self._bin_steps, n_bins - 1)
        rate = 60.0 / b.params.dt_s
        signals = (error, reward, info["drug_dopamine"], info["incentive"], b.value_cue,
                   env.last_presses * rate, env.last_infusions * rate)
        size = self._trace_counts.size
        for k, v in enumerate(signals):
            self._trace_sums[:, k, :] += np.bincount(cell, weights=np.broadcast_to(v, (b.n,))[rows],
                                                     minlength=size).reshape(self._trace_counts.shape)
        self._trace_counts += np.bincount(cell, minlength=size).reshape(self._trace_counts.shape)
        self._locked.step(slot, inside, env.last_step_index, env.last_cue_onset,
                          (error, info["drug_dopamine"], info["incentive"]))
        if self.watched.size:
            counts = np.stack([env.last_events[e][self.watched] for e in EVENTS])
            for k, j in zip(*np.nonzero(counts > 0), strict=True):
                i = int(self.watched[j])
                if inside[i]:
                    time_s = float((env.last_step_index[i] + 1) * self._dt)
                    self.events.extend([(i, int(env.last_day[i]), time_s, EVENTS[k])] * int(round(counts[k, j])))

    # ------------------------------------------------------------------ tables
    def table(self, condition: str = "") -> pd.DataFrame:
        """Tidy table: subject, condition, day, phase, measure, value (sessions not reached are absent)."""
        frame = tidy_table(self.results, self.calendar, condition)
        return frame[~np.isnan(frame["value"].to_numpy())].reset_index(drop=True)

    def events_table(self, condition: str = "") -> pd.DataFrame:
        """Events of the watched subjects: subject, condition, day, phase, time_s, event."""
        phases = self.calendar.phases()
        return events_frame([(i, condition, d, phases[d], t, e) for i, d, t, e in self.events])

    def result(self, condition: str = "") -> CohortResult:
        """The table, traces and events, as a `CohortResult`."""
        return CohortResult(self.table(condition), self.traces(condition), self.events_table(condition))

    def traces(self, condition: str = "") -> pd.DataFrame:
        """Cohort means: condition, day, phase, time_s, signal, value (binned `SB3_TRACE_SIGNALS`,
        time_s the bin start; cue_locked_<name>, time_s from the cue onset)."""
        frames = []
        if self._trace_sums is not None and self._trace_counts is not None:
            phases = self.calendar.phases()
            for s, day in enumerate(self.traced):
                counts = self._trace_counts[s]
                keep = counts > 0
                for k, name in enumerate(SB3_TRACE_SIGNALS):
                    frames.append(trace_frame(condition, day, phases[day],
                                              np.flatnonzero(keep) * self._bin_steps * self._dt, name,
                                              self._trace_sums[s, k, keep] / counts[keep]))
                if self._locked is not None:
                    frames.extend(self._locked.frames(s, condition, day, phases[day]))
        return traces_table(frames)


def prediction_error(model: BaseAlgorithm, new_obs: np.ndarray, reward: np.ndarray, dones: np.ndarray,
                     infos: Sequence[Mapping[str, Any]], values: Any) -> np.ndarray:
    """The critic's TD error r + gamma V(s') - V(s) per subject (reward units per step).

    `values`: V(s) before the step (SB3's rollout ``values``); s' is the session's last observation
    where a session ended (bootstrapped when the clock ran out, 0 at a breakpoint). NaN for agents
    without a state-value critic taking the observation alone (DQN; RecurrentPPO, whose value needs
    its LSTM state).
    """
    policy = model.policy
    if values is None or isinstance(model, RecurrentPPO) or not hasattr(policy, "predict_values"):
        return np.full(len(reward), np.nan)
    following = np.array(new_obs, dtype=np.float32, copy=True)
    ended = np.flatnonzero(dones)
    for i in ended.tolist():
        following[i] = infos[i]["terminal_observation"]
    value_of = getattr(policy, "value_of", None)   # a numpy critic (pretrained.LessonPolicy) skips torch
    if value_of is not None:
        v_next = np.asarray(value_of(following), dtype=float).ravel()
    else:
        with torch.no_grad():
            v_next = policy.predict_values(policy.obs_to_tensor(following)[0]).cpu().numpy().ravel()
    for i in ended.tolist():
        if not infos[i].get("TimeLimit.truncated", False):
            v_next[i] = 0.0
    v_now = values.cpu().numpy().ravel() if torch.is_tensor(values) else np.asarray(values, dtype=float).ravel()
    return np.asarray(reward, dtype=float) + model.gamma * v_next - v_now


# ---------------------------------------------------------------------------------------
# Training through a calendar
# ---------------------------------------------------------------------------------------


def train_through_calendar(model: BaseAlgorithm, *, trace_sessions: Sequence[int] = (),
                           event_subjects: Sequence[int] = (), progress_bar: bool = True,
                           callback: BaseCallback | None = None, torch_num_threads: int | None = 1) -> SessionRecorder:
    """Let `model` learn while its subjects live once through their calendar; return the recorder.

    The model's environment must be a fresh (or freshly seeded) `CocaineSeekingSB3VecEnv`: the
    calendar is counted from each subject's first session. Learning stays on in every session
    (extinction and tests included).
    """
    check_bool("progress_bar", progress_bar)
    base = _sb3_env_of(model)
    if base.started and not base.seed_pending:
        raise ValueError("the model's environment has already run; seed it again (env.seed(s)) so that new "
                         "subjects start the calendar, or make a new one")
    recorder = SessionRecorder(base.calendar, base.num_envs, trace_sessions=trace_sessions,
                               event_subjects=event_subjects)
    callbacks: BaseCallback = recorder if callback is None else CallbackList([recorder, callback])
    total = base.num_envs * calendar_steps(base.calendar, base.batch.params)
    if not model._custom_logger and model.tensorboard_log is None:
        # SB3's default logger creates an empty SB3-<time> folder in TMPDIR on every learn()
        model.set_logger(Logger(None, [HumanOutputFormat(sys.stdout)] if model.verbose >= 1 else []))
    with torch_threads(torch_num_threads):
        model.learn(total_timesteps=total, callback=callbacks, progress_bar=progress_bar)
    return recorder


def _sb3_env_of(model: BaseAlgorithm) -> CocaineSeekingSB3VecEnv:
    env = model.get_env()
    base = env.unwrapped if env is not None else None
    if not isinstance(base, CocaineSeekingSB3VecEnv):
        raise TypeError(f"model's environment is {type(base).__name__}; a CocaineSeekingSB3VecEnv is required")
    return base


class _Until(BaseCallback):
    """Stops training once `finished()` is true (checked after every step)."""

    def __init__(self, finished: Any):
        super().__init__()
        self.finished = finished

    def _on_step(self) -> bool:
        return not self.finished()


def live_sb3_trial(life: Any, algo: str = "PPO", algo_kwargs: Mapping[str, Any] | None = None, *, seed: int = 0,
                   torch_num_threads: int | None = 1) -> BaseAlgorithm:
    """One `algo` policy shared by all the people of `life` (a `rlcraving.trials.TrialLife`), learning
    every hour while they live through the design's weeks (history, baseline, treatment); returns it.

    The protocol (enrolment, randomisation, the record of the treatment weeks) is the trial's own, the
    same as for TD agents. The discount is the TD person's time constant (`trials.person_discount`:
    gamma 0.72 per hour) unless `algo_kwargs` sets ``gamma``; the rest is `DEFAULT_ALGO_KWARGS[algo]`.
    """
    from rlcraving.trials import person_discount

    env = PeopleSB3VecEnv(life=life)
    model = make_model(algo, env, {"gamma": person_discount(life.batch.world), **dict(algo_kwargs or {})}, seed=seed)
    model.set_logger(Logger(None, []))
    life.enter_stage()      # the first week's stage (enrolment when there is no untreated history)
    total = env.num_envs * (life.design.weeks - life.week) * int(life.batch.n_steps[0])
    with torch_threads(torch_num_threads):
        model.learn(total_timesteps=total, callback=_Until(lambda: life.finished))
    if not life.finished:
        raise RuntimeError(f"training ended after {life.week} of {life.design.weeks} weeks")
    return model


def make_people_env(n_people: int, env_kwargs: Mapping[str, Any] | None = None) -> PeopleSB3VecEnv:
    """The SB3 vector environment of `n_people` in the person's world, living week after week
    (env_kwargs: `OutpatientVectorEnv` kwargs: route, baclofen_mg_per_day, baclofen, alcohol, ...)."""
    check_number("n_people", n_people, lo=1, hi=10_000_000, integer=True)
    return PeopleSB3VecEnv(life=WeeklyLife(int(n_people), **dict(env_kwargs or {})))


#: Environment options an SB3 cohort accepts: the TD cohort's and the environment's own behaviour, which
#: SB3 agents (unlike the TD agents, which carry it in their policy) meet by default.
SB3_ENV_KWARGS = (*ENV_KWARGS, "pavlovian_controller", "operant_level")


def run_sb3_cohort(n_subjects: int, calendar: Calendar | Sequence[Mapping[str, Any]] | None = None, *,
                   algo: str = "PPO", algo_kwargs: Mapping[str, Any] | None = None,
                   env_kwargs: Mapping[str, Any] | None = None, seed: int = 0, condition: str = "",
                   progress_bar: bool = False, trace_sessions: Sequence[int] = (),
                   event_subjects: Sequence[int] = ()) -> CohortResult:
    """`n_subjects` parallel subjects of one `algo` policy learning through `calendar`.

    Args:
        n_subjects: cohort size (parallel environments of one shared policy).
        calendar: protocol calendar (default: `protocol.default_calendar()`).
        algo: "PPO", "A2C", "DQN" or "RecurrentPPO".
        algo_kwargs: overrides of `DEFAULT_ALGO_KWARGS[algo]` (SB3 keyword arguments).
        env_kwargs: environment options (`SB3_ENV_KWARGS`): baclofen_mg_per_day, baclofen,
            kor_knockout, sucrose_lever, individual_differences, params, pavlovian_controller,
            operant_level and compulsion_zone (the environment's own presses; the first two on by
            default; docs/model.md 3.2).
        seed: seeds the subjects (subject i is subject i of any batch with this seed) and the agent.
        condition: label written to every row.
        progress_bar: SB3's progress bar over environment steps.
        trace_sessions: calendar session indices whose traces to record.
        event_subjects: subjects whose presses and infusions in the traced sessions to list.

    Returns:
        `CohortResult`: `table` (subject, condition, day, phase, measure, value; measures
        `cohort.MEASURES`), `traces` (binned `SB3_TRACE_SIGNALS` and cue-locked
        `cohort.LOCKED_SIGNALS`) and `events`, as the TD cohort's.
    """
    if not isinstance(condition, str):
        raise TypeError(f"condition={condition!r} has type {type(condition).__name__}; a str is required")
    check_number("seed", seed, lo=0, hi=2**32 - 1, integer=True)
    kwargs = dict(env_kwargs or {})
    check_keys("env_kwargs", kwargs, SB3_ENV_KWARGS)
    env = make_env(n_subjects, {**kwargs, "calendar": as_calendar(calendar)})
    model = make_model(algo, env, algo_kwargs, seed=seed)
    recorder = train_through_calendar(model, trace_sessions=trace_sessions, event_subjects=event_subjects,
                                      progress_bar=progress_bar)
    if not recorder.done:
        raise RuntimeError(f"training ended before every subject finished the calendar "
                           f"({int(recorder.finished.min())} of {len(env.calendar)} sessions)")
    return recorder.result(condition)


def phase_means(table: pd.DataFrame) -> pd.DataFrame:
    """Cohort mean and standard error of each measure per condition, day and phase (wide by measure)."""
    grouped = table.groupby(["condition", "day", "phase", "measure"])["value"]
    out = grouped.agg(mean="mean", sem="sem").reset_index()
    return out.pivot_table(index=["condition", "day", "phase"], columns="measure", values="mean").reset_index()


# ---------------------------------------------------------------------------------------
# Saving and loading: model zip + JSON of the environment settings
# ---------------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """JSON form of an environment setting: regimens by type name and fields, calendars as entries."""
    if isinstance(value, REGIMEN_TYPES):
        return {"type": type(value).__name__, **dataclasses.asdict(value)}
    if isinstance(value, Calendar):
        return [_encode(e) for e in value.entries]
    if isinstance(value, CalendarEntry):
        return {"phase": value.phase, "days": value.days, **{k: _encode(v) for k, v in value.overrides.items()}}
    if isinstance(value, ModelParams):
        default = ModelParams()
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)
                if getattr(value, f.name) != getattr(default, f.name)}
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"environment setting {value!r} of type {type(value).__name__} cannot be saved")


_REGIMENS_BY_NAME = {t.__name__: t for t in REGIMEN_TYPES}


def _decode_regimen(value: Any) -> Any:
    if isinstance(value, Mapping) and "type" in value:
        fields = {k: v for k, v in value.items() if k != "type"}
        check_choice("regimen type", value["type"], _REGIMENS_BY_NAME)
        return _REGIMENS_BY_NAME[value["type"]](**fields)
    return value


def env_settings_to_json(num_envs: int, env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready settings of a `CocaineSeekingSB3VecEnv` (calendar always written out)."""
    kwargs = dict(env_kwargs)
    kwargs["calendar"] = as_calendar(kwargs.get("calendar"))
    return {"num_envs": int(num_envs), "env_kwargs": _encode(kwargs)}


def env_settings_from_json(settings: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """(num_envs, env_kwargs) from `env_settings_to_json`'s output."""
    check_keys("environment settings", settings, ("num_envs", "env_kwargs", "algo", "rlcraving_version"))
    kwargs = dict(settings["env_kwargs"])
    if "calendar" in kwargs:
        kwargs["calendar"] = Calendar([{k: _decode_regimen(v) for k, v in e.items()} for e in kwargs["calendar"]])
    if "baclofen" in kwargs:
        kwargs["baclofen"] = _decode_regimen(kwargs["baclofen"])
    return int(settings["num_envs"]), kwargs


def settings_path(path: str | Path) -> Path:
    """Where the environment settings of a model saved at `path` live (beside the zip)."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix == ".zip" else p
    return stem.with_name(stem.name + ENV_SETTINGS_SUFFIX)


def save_agent(model: BaseAlgorithm, path: str | Path) -> tuple[Path, Path]:
    """Save `model` (SB3 zip) and its environment settings (JSON beside it). Returns both paths."""
    from rlcraving import __version__

    base = _sb3_env_of(model)
    algo = next((name for name, cls in ALGORITHMS.items() if type(model) is cls), None)
    if algo is None:
        raise TypeError(f"model of type {type(model).__name__} is not one of {list(ALGORITHMS)}")
    p = Path(path)
    zip_path = p if p.suffix == ".zip" else p.with_name(p.name + ".zip")
    archive = io.BytesIO()
    model.save(archive)
    atomic_write_bytes(zip_path, archive.getvalue())
    settings = {"algo": algo, "rlcraving_version": __version__, **env_settings_to_json(base.num_envs, base.env_kwargs)}
    json_path = settings_path(zip_path)
    atomic_write_text(json_path, json.dumps(settings, indent=2) + "\n")
    return zip_path, json_path


def load_agent(path: str | Path, *, num_envs: int | None = None, seed: int | None = None) -> BaseAlgorithm:
    """Load a model saved by `save_agent`, attached to a new environment with the saved settings.

    The environment's subjects are new (seeded with `seed` at the next reset if given); pass
    `num_envs` to change the number of subjects.
    """
    p = Path(path)
    zip_path = p if p.suffix == ".zip" else p.with_name(p.name + ".zip")
    json_path = settings_path(zip_path)
    if not zip_path.exists() or not json_path.exists():
        raise FileNotFoundError(f"load_agent({str(path)!r}) needs {zip_path} and {json_path}")
    settings = json.loads(json_path.read_text())
    algo = check_choice("algo", settings.get("algo"), ALGORITHMS)
    n, kwargs = env_settings_from_json({k: v for k, v in settings.items()})
    env = make_env(num_envs if num_envs is not None else n, kwargs)
    if seed is not None:
        env.seed(check_number("seed", seed, lo=0, hi=2**32 - 1, integer=True))
    return ALGORITHMS[algo].load(zip_path, env=env, device="cpu")


class CriterionExperimenter:
    """What the experimenter decides after each session of training to `criterion` (Shaham et al. 2003): FR1
    sessions until the acquisition criterion or `criterion.max_sa` sessions, then extinction sessions
    (`extinction`: session settings, e.g. a context) until the extinction criterion or
    `criterion.max_extinction` sessions, then each session of `then` (session settings with a "phase"), then
    stop. FR1 sessions are the environment's calendar's; every other session is set by ``reset(options=...)``,
    replacing the session the environment began when the last one ended (no step taken yet) on the same day
    (``abstinence_days=0``, so the gap is the calendar's)."""

    def __init__(self, criterion: TrainingCriterion = CRITERION, extinction: Mapping[str, Any] | None = None,
                 then: Sequence[Mapping[str, Any]] = (), session_hours: float = 1.0) -> None:
        self.criterion = criterion
        self.session_hours = check_number("session_hours", session_hours, lo=1e-6, hi=1e3)
        self.extinction = {"phase": "extinction", **dict(extinction or {}), "abstinence_days": 0.0}
        missing = [dict(t) for t in then if "phase" not in t]
        if missing:
            raise ValueError(f"then has a session without a phase ({missing[0]!r}); give each test session its phase")
        self.then = [{**dict(t), "abstinence_days": 0.0} for t in then]
        self.sessions: list[dict[str, Any]] = []   # cohort means per session, with the experimenter's phase
        self.phase = "self_administration"
        self.acquired_after: int | None = None      # FR1 sessions when the acquisition criterion was met
        self.extinguished_after: int | None = None  # extinction sessions when its criterion was met
        self._tests_done = 0

    def _column(self, phase: str, key: str) -> list[float]:
        return [s[key] for s in self.sessions if s["phase"] == phase]

    @property
    def sa_sessions(self) -> int:
        """FR1 sessions lived."""
        return len(self._column("self_administration", "active_presses"))

    @property
    def extinction_sessions(self) -> int:
        """Extinction sessions lived in training (before `then`)."""
        return len(self._column("extinction", "active_presses"))

    def after_session(self, summary: Mapping[str, float]) -> bool:
        """Note a finished session (cohort means of the session summaries); True while sessions go on."""
        self.sessions.append({**summary, "phase": self.phase})
        c = self.criterion
        if self.phase == "self_administration":
            active, inactive, infusions = (self._column(self.phase, k)
                                           for k in ("active_presses", "inactive_presses", "infusions"))
            if c.acquired(active, inactive, infusions, session_hours=self.session_hours):
                self.acquired_after = len(active)
            if self.acquired_after is not None or len(active) >= c.max_sa:
                self.phase = "extinction"
            return True
        if self.phase == "extinction":
            active = self._column("extinction", "active_presses")
            level = c.acquisition_level(self._column("self_administration", "active_presses"))
            if c.extinguished(active, level):
                self.extinguished_after = len(active)
            if self.extinguished_after is None and len(active) < c.max_extinction:
                return True
            self.phase = "test"
        else:
            self._tests_done += 1
        return self._tests_done < len(self.then)

    @property
    def options(self) -> dict[str, Any] | None:
        """`reset` options of the next session; None for an FR1 session (the calendar's)."""
        if self.phase == "self_administration":
            return None
        if self.phase == "extinction":
            return dict(self.extinction)
        return dict(self.then[self._tests_done])


class _Sessions(BaseCallback):
    """Every ended session's summary per subject, with `own_active` (the active presses the agent chose
    itself; the rest the environment added, docs/model.md 3.2); with an experimenter, the next session set
    as it decides, and training stopped when it stops."""

    def __init__(self, experimenter: CriterionExperimenter | None) -> None:
        super().__init__()
        self.experimenter = experimenter
        self.summaries: list[dict[str, Any]] = []
        self.own: np.ndarray | None = None

    def _on_step(self) -> bool:
        env = self.training_env
        if self.own is None:
            self.own = np.zeros(env.num_envs)
        self.own += np.asarray(self.locals["actions"]).ravel() == 1
        ended = []
        for i, info in enumerate(self.locals["infos"]):
            if "session_summary" in info:
                # the single environment's summary names its phase; the batched one's info does
                self.summaries.append({"subject": i, "phase": info.get("phase"), **info["session_summary"],
                                       "own_active": float(self.own[i])})
                self.own[i] = 0.0
                ended.append(i)
        if self.experimenter is None or not ended:
            return True
        if len(ended) != env.num_envs:
            raise RuntimeError("sessions ended at different steps; training to criterion needs them in step")
        mean = pd.DataFrame(self.summaries[-env.num_envs:]).mean(numeric_only=True).to_dict()
        if not self.experimenter.after_session(mean):
            return False
        options = self.experimenter.options
        if options is not None:   # the next session, as the experimenter sets it (SB3's VecEnv API)
            env.set_options(options)
            self.locals["new_obs"][:] = env.reset()
        return True


def learn_sessions(model: BaseAlgorithm, total_timesteps: int, experimenter: CriterionExperimenter | None = None,
                   callback: BaseCallback | None = None) -> list[dict[str, Any]]:
    """``model.learn(total_timesteps, reset_num_timesteps=False)`` (steps of all environments together),
    stopped early by `experimenter` when it stops; the summaries of the sessions that ended, per subject, each
    with `own_active`. `callback` (an SB3 callback) sees every step before the experimenter sets the next
    session."""
    recorder = _Sessions(experimenter)
    model.learn(int(total_timesteps), callback=recorder if callback is None else CallbackList([callback, recorder]),
                reset_num_timesteps=False)
    return recorder.summaries


@dataclasses.dataclass(frozen=True)
class CriterionTraining:
    """Training to criterion: `summaries` (one row per subject and session: the session summary, `own_active`,
    and the experimenter's `stage`: self_administration, extinction or test) and the `experimenter` (sessions
    each phase took, whether each criterion was met)."""

    summaries: pd.DataFrame
    experimenter: CriterionExperimenter


def train_to_criterion(model: BaseAlgorithm, *, criterion: TrainingCriterion = CRITERION,
                       extinction: Mapping[str, Any] | None = None, then: Sequence[Mapping[str, Any]] = (),
                       session_minutes: float = 60.0, params: ModelParams | None = None,
                       callback: BaseCallback | None = None) -> CriterionTraining:
    """Train `model` on its environment (a VecEnv whose calendar holds enough FR1 sessions of `session_minutes`,
    all subjects in step) to `criterion`, with one call of ``model.learn`` (`CriterionExperimenter`), then the
    sessions of `then`, learning on. ``learn`` is given the most steps the criteria allow (``max_sa +
    max_extinction`` sessions, plus `then`'s): DQN's exploration schedule is a fraction of it. `callback`: see
    `learn_sessions`."""
    env = model.get_env()
    if env is None:
        raise ValueError("model has no environment; give it one (model.set_env) before training")
    hours = check_number("session_minutes", session_minutes, lo=1.0, hi=24 * 60.0) / 60.0
    p = params or ModelParams()
    experimenter = CriterionExperimenter(criterion, extinction, then, session_hours=hours)
    steps = session_steps(session("self_administration", session_minutes=session_minutes), p)
    most = (criterion.max_sa + criterion.max_extinction) * steps + sum(session_steps(session(**t), p)
                                                                       for t in experimenter.then)
    summaries = learn_sessions(model, most * env.num_envs, experimenter, callback)
    n = env.num_envs
    stages = [s["phase"] for s in experimenter.sessions]
    frame = pd.DataFrame(summaries)
    frame["stage"] = np.repeat(stages, n)[:len(frame)]
    frame["session"] = np.repeat(np.arange(len(stages)), n)[:len(frame)]
    return CriterionTraining(frame, experimenter)


@dataclasses.dataclass(frozen=True)
class CriterionRun:
    """A cohort trained to criterion: `result` (FR1 sessions 0 .. sa_sessions - 1, then extinction sessions,
    then the tests), the sessions each phase took, and whether its criterion was met within its maximum."""

    result: CohortResult
    sa_sessions: int
    extinction_sessions: int
    acquired: bool
    extinguished: bool


def run_sb3_cohort_to_criterion(n_subjects: int, tests: Sequence[Mapping[str, Any]], *,
                                criterion: TrainingCriterion = CRITERION, session_minutes: float = 60.0,
                                extinction_overrides: Mapping[str, Any] | None = None,
                                algo: str = "PPO", algo_kwargs: Mapping[str, Any] | None = None,
                                env_kwargs: Mapping[str, Any] | None = None, seed: int = 0,
                                condition: str = "") -> CriterionRun:
    """A cohort of `n_subjects` (`make_env`, `make_model`: the package's settings) trained to `criterion`
    (`train_to_criterion`, Shaham et al. 2003): FR1 sessions of `session_minutes` until the acquisition
    criterion (or `criterion.max_sa`), then extinction sessions (settings `extinction_overrides`, e.g. a
    context) until the extinction criterion (or `criterion.max_extinction`), then the calendar entries `tests`
    (each of its ``days``), in one run, learning throughout. `result.table` is the tidy table of every session
    (day: index of the session lived)."""
    if not isinstance(condition, str):
        raise TypeError(f"condition={condition!r} has type {type(condition).__name__}; a str is required")
    check_number("seed", seed, lo=0, hi=2**32 - 1, integer=True)
    kwargs = dict(env_kwargs or {})
    check_keys("env_kwargs", kwargs, SB3_ENV_KWARGS)
    then = [{k: v for k, v in dict(e).items() if k != "days"} for e in tests for _ in range(int(e.get("days", 1)))]
    days = criterion.max_sa + criterion.max_extinction + len(then) + 1
    env = make_env(n_subjects, {**kwargs, "calendar": as_calendar(
        [{"phase": "self_administration", "days": days, "session_minutes": session_minutes}])})
    model = make_model(algo, env, algo_kwargs, seed=seed)
    with torch_threads(1):
        run = train_to_criterion(model, criterion=criterion, then=then, session_minutes=session_minutes,
                                 extinction={**dict(extinction_overrides or {}), "session_minutes": session_minutes})
    done, frame = run.experimenter, run.summaries
    rows = frame.assign(condition=condition, day=frame["session"])
    table = rows.melt(id_vars=["subject", "condition", "day", "phase"], value_vars=list(MEASURES),
                      var_name="measure", value_name="value")
    table = table.sort_values(["day", "measure", "subject"], kind="stable").reset_index(drop=True)
    table["value"] = table["value"].astype(float)
    empty = pd.DataFrame(columns=["condition", "day", "phase", "time_s", "signal", "value"])
    result = CohortResult(table[["subject", "condition", "day", "phase", "measure", "value"]], empty,
                          events_frame([]))
    return CriterionRun(result, done.sa_sessions, done.extinction_sessions, done.acquired_after is not None,
                        done.extinguished_after is not None)


__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGO_KWARGS",
    "DQN_BUFFER_STEPS_PER_SUBJECT",
    "POLICIES",
    "SB3_ENV_KWARGS",
    "SB3_TRACE_SIGNALS",
    "CocaineSeekingSB3VecEnv",
    "CriterionExperimenter",
    "CriterionRun",
    "CriterionTraining",
    "PeopleSB3VecEnv",
    "SessionRecorder",
    "algo_kwargs_for",
    "calendar_steps",
    "check_algo_kwargs",
    "env_settings_from_json",
    "env_settings_to_json",
    "learn_sessions",
    "live_sb3_trial",
    "load_agent",
    "make_env",
    "make_model",
    "make_people_env",
    "phase_means",
    "prediction_error",
    "run_sb3_cohort",
    "run_sb3_cohort_to_criterion",
    "save_agent",
    "settings_path",
    "torch_threads",
    "train_through_calendar",
    "train_to_criterion",
]
