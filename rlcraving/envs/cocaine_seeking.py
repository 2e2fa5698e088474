"""CocaineSeeking: a subject living through a cocaine self-administration protocol.

A thin Gymnasium view of `rlcraving.core.SubjectBatch`: `CocaineSeekingEnv` is one subject,
`CocaineSeekingVectorEnv` is N subjects stepped as arrays. Both follow the same protocol logic.

## Action space (Discrete(3), or Discrete(4) with ``sucrose_lever=True``)

| action | meaning |
|---|---|
| 0 | other behaviour (no press) |
| 1 | active lever (drug) |
| 2 | inactive lever |
| 3 | sucrose lever |

## Observation space (Box(0, 1, (12,), float32))

| index | name | meaning |
|---|---|---|
| 0 | drug_cue | drug-paired light/tone on |
| 1 | sucrose_cue | sucrose-paired cue on |
| 2 | timeout | fraction of the post-infusion timeout left (1 while a discrete trial's drug lever is retracted) |
| 3-5 | context_A/B/C | chamber context (one-hot) |
| 6 | drug_occupancy | dopamine-transporter occupancy by cocaine, c / (c + K50) |
| 7 | dysphoria | allostatic + stress (KOR) + baclofen-withdrawal dysphoria, d / (1 + d) |
| 8 | incentive | incentive salience of present stimuli, u / (1 + u) |
| 9 | ratio_progress | presses made towards the current ratio / ratio |
| 10 | session_time | fraction of the session elapsed |
| 11 | sucrose_lever_present | sucrose lever extended (in discrete trials: presented on this trial) |

## Reward (sum of components, each in `info`)

hedonic + drug_dopamine + incentive + relief + sucrose + cost (<= 0) + punishment (<= 0).

## Episodes

A session is an episode: `truncated` when its clock runs out; `terminated` only when a
progressive-ratio session ends at its breakpoint (1 h without an infusion). `reset(seed=s)`
starts a new subject; `reset()` continues the same subject with its next session, after the
abstinence gap; `reset(options=...)` sets the next session (see `SESSION_OPTIONS`). Stepping a
finished session raises `gymnasium.error.ResetNeeded` until `reset()` (the vector environment
resets its subjects itself).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rlcraving import random as rnd
from rlcraving.checks import (
    check_bool,
    check_keys,
    check_number,
)
from rlcraving.core import ACTION_MEANINGS, OBSERVATION_NAMES, SubjectBatch, SubjectOptions
from rlcraving.envs import render
from rlcraving.envs.views import SingleView, VectorView, organism_info
from rlcraving.params import ModelParams
from rlcraving.pharmacology import MAX_MG_PER_DAY, REGIMEN_TYPES, OralTID, Placebo, Regimen
from rlcraving.protocol import SESSION_KEYS, Calendar, SessionSettings, as_calendar, session

#: Keys accepted by ``reset(options=...)``.
SESSION_OPTIONS = SESSION_KEYS
#: Subject numbers of successive generations are this far apart (above any num_envs).
_GENERATION_STRIDE = 2**32


class Protocol:
    """Who is in which session: calendar position, subject generation, option parsing.

    Shared by the single and the vector environment, and by the TD cohorts, so all follow one
    set of rules. `batch` is the simulation core; `reset(idx, seed, options)` starts sessions.
    """

    def __init__(self, n: int, *, calendar: Any, sucrose_lever: Any, kor_knockout: Any,
                 individual_differences: Any, baclofen_mg_per_day: Any, baclofen: Any, params: Any,
                 pavlovian_controller: Any = True, operant_level: Any = True, compulsion_zone: Any = False,
                 first_subject: int = 0):
        check_number("num_envs", n, lo=1, hi=10_000_000, integer=True)
        #: Number of the first subject: subject i here is subject first_subject + i of the seed's cohort.
        self.first_subject = check_number("first_subject", first_subject, lo=0, hi=_GENERATION_STRIDE - n,
                                          integer=True)
        self.calendar: Calendar = as_calendar(calendar)
        self.baclofen = _initial_regimen(baclofen_mg_per_day, baclofen)
        if isinstance(params, Mapping):
            params = ModelParams().replace(**params)
        if params is not None and not isinstance(params, ModelParams):
            raise TypeError(f"params={params!r} must be a ModelParams, a dict of overrides or None")
        options = SubjectOptions(sucrose_lever=check_bool("sucrose_lever", sucrose_lever),
                                 kor_knockout=check_bool("kor_knockout", kor_knockout),
                                 individual_differences=check_bool("individual_differences",
                                                                   individual_differences),
                                 pavlovian_controller=check_bool("pavlovian_controller", pavlovian_controller),
                                 operant_level=check_bool("operant_level", operant_level),
                                 compulsion_zone=check_bool("compulsion_zone", compulsion_zone))
        for s in self.calendar.sessions:
            _check_sucrose("calendar", s, options.sucrose_lever)
        self.batch = SubjectBatch(int(n), params, options)
        self.n = int(n)
        self.seed = 0
        self.generation = np.zeros(self.n, dtype=np.int64)
        self.position = np.zeros(self.n, dtype=np.int64)   # index of the next calendar session
        self.current: list[SessionSettings] = [self.calendar[0]] * self.n

    def _plan(self, idx: np.ndarray, seed: int | None,
              options: Mapping[str, Any] | None) -> tuple[SessionSettings | None, dict[int, SessionSettings]]:
        """Validate `options` and build every session they may start, before anything changes.

        Returns (the session named by a "phase" option, or None; calendar position -> session
        with the other options applied, for each position the subjects `idx` start next).
        """
        if options is None:
            options = {}
        check_keys("options", options, SESSION_OPTIONS)
        if "phase" in options:
            opts = dict(options)
            explicit = session(opts.pop("phase"), **opts)
            _check_sucrose("options", explicit, self.batch.options.sucrose_lever)
            return explicit, {}
        # a new subject, or one past the calendar's end, starts at the calendar's first session
        n_sessions = len(self.calendar)
        next_up = self.position[idx]
        positions = {0} if seed is not None else set(np.unique(np.where(next_up < n_sessions, next_up, 0)).tolist())
        planned = {}
        for pos in sorted(positions):
            planned[pos] = dataclasses.replace(self.calendar[pos], **options)
            _check_sucrose("options", planned[pos], self.batch.options.sucrose_lever)
        return None, planned

    def reset(self, idx: np.ndarray, seed: int | None, options: Mapping[str, Any] | None) -> None:
        """Start the next session of subjects `idx`.

        With a seed: new subjects, their first session. Without: the same subjects after the
        abstinence gap. Options with a "phase" name the session (the calendar does not move);
        other options override the calendar's next session. A subject past the calendar's end
        is replaced by a new subject (next generation) starting the calendar again. Invalid
        options raise before any state changes.
        """
        explicit, planned = self._plan(idx, seed, options)
        if seed is not None:
            self.seed = int(seed)
            self.generation[idx] = 0
            self._new_subjects(idx)
            if explicit is not None:
                self._begin(idx, explicit, False, first=True)
            else:
                self._begin(idx, planned[0], True, first=True)
            return
        self.batch.end_sessions(idx)
        if explicit is not None:
            self._begin(idx, explicit, False, first=False)
            return
        finished = idx[self.position[idx] >= len(self.calendar)]
        if finished.size:
            self.generation[finished] += 1
            self._new_subjects(finished)
        for pos in np.unique(self.position[idx]):
            group = idx[self.position[idx] == pos]
            fresh = np.isin(group, finished)
            for sub, first in ((group[fresh], True), (group[~fresh], False)):
                if sub.size:
                    self._begin(sub, planned[int(pos)], True, first)

    def _new_subjects(self, idx: np.ndarray) -> None:
        """Fresh subjects: subject i of generation g has key (seed, g * 2**32 + first_subject + i),
        whatever n is."""
        number = self.generation[idx] * _GENERATION_STRIDE + self.first_subject + idx
        self.batch.new_subjects(idx, rnd.subject_keys(self.seed, number))
        self.position[idx] = 0

    def _begin(self, idx: np.ndarray, settings: SessionSettings, from_calendar: bool, first: bool) -> None:
        if first and settings.regimen is None:
            settings = dataclasses.replace(settings, baclofen=self.baclofen)
        self.batch.start_sessions(idx, settings, first=first)
        if from_calendar:
            self.position[idx] += 1
        if idx.size == self.n:   # every subject (idx holds each once)
            self.current[:] = [settings] * self.n
        else:
            for i in idx.tolist():
                self.current[i] = settings

    def info_arrays(self) -> dict[str, np.ndarray]:
        """Per-step diagnostics, one array over subjects each."""
        b = self.batch
        info = organism_info(b)
        info["dopamine"] = info["drug_dopamine"] + info["incentive"]
        info["baclofen_gain"] = b.dopamine_gain
        info["action_taken"] = b.actions_taken
        return info


def _check_sucrose(source: str, settings: SessionSettings, sucrose_lever: bool) -> None:
    """Raise if a session offers sucrose in an environment made without the sucrose lever."""
    if settings.sucrose_available and not sucrose_lever:
        raise ValueError(f"{source}: phase {settings.phase!r} with sucrose_available=True needs the sucrose "
                         "lever; make the environment with sucrose_lever=True")


def _initial_regimen(mg_per_day: Any, regimen: Any) -> Regimen:
    check_number("baclofen_mg_per_day", mg_per_day, lo=0.0, hi=MAX_MG_PER_DAY)
    if regimen is not None:
        if not isinstance(regimen, REGIMEN_TYPES):
            raise TypeError(f"baclofen={regimen!r} must be one of {[t.__name__ for t in REGIMEN_TYPES]} or None")
        if mg_per_day:
            raise ValueError(f"baclofen={regimen!r} and baclofen_mg_per_day={mg_per_day!r} were both given; "
                             "give a regimen or a daily dose, not both")
        return regimen
    return OralTID(float(mg_per_day)) if mg_per_day > 0 else Placebo()


class _Chamber:
    """What a view of chambers adds to the Gymnasium contract (`views`)."""

    summary_key = "session_summary"
    _batch: SubjectBatch
    _protocol: Protocol

    def _summaries(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self._batch.summary.items()}

    def _ansi(self, i: int) -> str:
        return render.ansi(self._batch, i, self._protocol.current[i].phase)

    def _rgb(self, i: int) -> np.ndarray:
        return render.rgb(self._batch, i)


class CocaineSeekingEnv(_Chamber, SingleView):
    """One subject in an operant chamber (see the module docstring for the spaces and rewards).

    Args:
        calendar: protocol calendar (a `Calendar` or a list of entries); default: 10 days of
            self-administration, 10 of extinction, then a cue-induced reinstatement test.
        sucrose_lever: add a sucrose lever (action 3) with its own cue.
        kor_knockout: remove the kappa-opioid (dynorphin) stress pathway.
        baclofen_mg_per_day: oral baclofen, three doses a day, at steady state (0 = placebo).
        baclofen: a regimen object instead (`OralTID`, `Titration`, `RatIP`, `Placebo`).
        individual_differences: draw the subject's traits from the cohort distributions.
        pavlovian_controller: incentive salience draws presses on the drug lever whatever the agent
            chose (Dayan, Niv, Seymour & Daw 2006); False leaves behaviour to the agent alone.
        operant_level: a few exploratory presses an hour on each lever whatever the agent chose;
            False leaves behaviour to the agent alone. `info["action_taken"]` is the action performed.
        compulsion_zone: while the cocaine level lies between the priming and satiety thresholds,
            wanting draws presses on the drug lever at a high rate (Norman & Tsibulsky 2006;
            docs/model.md 3.2). Off by default: on, A2C with SB3's defaults let the environment take
            the drug for it (2.3 own active presses an hour after session 1, against 5.4 off).
        params: `ModelParams`, or a dict of parameter overrides (e.g. ``{"dt_s": 2.0}``).
        render_mode: "ansi" or "rgb_array".
    """

    def __init__(self, *, calendar: Calendar | Sequence[Mapping[str, Any]] | None = None,
                 sucrose_lever: bool = False, kor_knockout: bool = False, baclofen_mg_per_day: float = 0.0,
                 baclofen: Regimen | None = None, individual_differences: bool = False,
                 params: ModelParams | Mapping[str, float] | None = None, render_mode: str | None = None,
                 pavlovian_controller: bool = True, operant_level: bool = True, compulsion_zone: bool = False):
        self._protocol = _protocol(1, locals())
        self._bind(self._protocol, _meanings(self._protocol), list(OBSERVATION_NAMES), render_mode)

    @property
    def session(self) -> SessionSettings:
        """Settings of the session in progress."""
        return self._protocol.current[0]

    def _reset_info(self) -> dict[str, Any]:
        return {"phase": self.session.phase, "session": int(self._batch.sessions_done[0])}

    def _summary(self) -> dict[str, Any]:
        return {**super()._summary(), "phase": self.session.phase}

    def _over_message(self) -> str:
        return (f"the {self.session.phase} session has ended (terminated or truncated); "
                "call reset() to start the next session")


def _protocol(n: int, kwargs: Mapping[str, Any]) -> Protocol:
    """The world of an environment made with `kwargs` (its `__init__`'s locals)."""
    names = ("calendar", "sucrose_lever", "kor_knockout", "individual_differences", "baclofen_mg_per_day",
             "baclofen", "params", "pavlovian_controller", "operant_level", "compulsion_zone")
    return Protocol(n, **{k: kwargs[k] for k in names})


def _meanings(protocol: Protocol) -> list[str]:
    return list(ACTION_MEANINGS[: protocol.batch.n_actions])


def make_env(**kwargs: Any) -> CocaineSeekingEnv:
    """`gym.make`'s entry point: the environment, with `render_mode` passed as given.

    A function rather than the class, because Gymnasium wraps a class that lacks "human"
    rendering in `HumanRendering` (which then fails at reset without pygame); this way
    ``render_mode="human"`` is refused when the environment is made.
    """
    return CocaineSeekingEnv(**kwargs)


class CocaineSeekingVectorEnv(_Chamber, VectorView):
    """N subjects in parallel chambers, stepped as arrays (Gymnasium's native VectorEnv).

    Same kwargs as `CocaineSeekingEnv`, plus ``num_envs``. Subject i of a batch seeded with s
    is the same subject, bit for bit, as subject i of any other batch seeded with s; subject 0
    is the single environment seeded with s. Sessions end together unless a progressive-ratio
    session ends early; a finished subject starts its next calendar session within the same step
    (autoreset "same step"; the final observation and the session summary are in `info`).
    """

    def __init__(self, num_envs: int = 1, *, calendar: Calendar | Sequence[Mapping[str, Any]] | None = None,
                 sucrose_lever: bool = False, kor_knockout: bool = False, baclofen_mg_per_day: float = 0.0,
                 baclofen: Regimen | None = None, individual_differences: bool = False,
                 params: ModelParams | Mapping[str, float] | None = None, render_mode: str | None = None,
                 pavlovian_controller: bool = True, operant_level: bool = True, compulsion_zone: bool = False):
        self._protocol = _protocol(num_envs, locals())
        self._bind(self._protocol, _meanings(self._protocol), list(OBSERVATION_NAMES), render_mode)

    @property
    def sessions(self) -> list[SessionSettings]:
        """Settings of each subject's session in progress."""
        return list(self._protocol.current)
