"""A cohort of TD agents living through a protocol calendar, and the tidy tables it yields.

`run_cohort` makes N subjects (the same subjects as `CocaineSeekingVectorEnv` seeded alike:
subject i of a cohort is subject i of any other cohort with that seed), lets one TD agent
per subject learn online through every session of the calendar, and returns

* `table`: one row per subject x session x measure (the core's session summary);
* `traces`: cohort means within the sessions asked for, in 1-min bins (time_s = bin start)
  and locked to drug-cue onsets (signals named cue_locked_*, time_s relative to the onset);
* `events`: for the subjects asked for, every press and infusion in the traced sessions
  (the material of a cumulative record).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlcraving.agents.td import AGENTS, TDAgent, make_agent, varying_parameters
from rlcraving.checks import check_bool, check_keys, check_number
from rlcraving.core import ACTIVE, SUMMARY_FIELDS, SubjectBatch
from rlcraving.envs.cocaine_seeking import Protocol
from rlcraving.params import INDIVIDUAL_TRAITS
from rlcraving.protocol import Calendar, as_calendar

#: Keyword arguments of the environment that a cohort accepts in `env_kwargs`.
ENV_KWARGS = ("baclofen_mg_per_day", "baclofen", "kor_knockout", "sucrose_lever", "individual_differences", "params",
              "compulsion_zone")
#: Measures of the table, one row each per subject and session.
MEASURES = SUMMARY_FIELDS
#: Signals of the binned traces (per-step means; *_per_min are rates).
BINNED_SIGNALS = ("prediction_error", "drug_dopamine", "incentive", "cue_value", "active_value",
                  "active_presses_per_min", "infusions_per_min")
#: Signals averaged around drug-cue onsets.
LOCKED_SIGNALS = ("prediction_error", "drug_dopamine", "incentive")
TRACE_BIN_S = 60.0
LOCK_BEFORE_S, LOCK_AFTER_S = 20.0, 40.0
#: Events of the `events` table: summary counters whose every increment is one event.
EVENTS = ("active_presses", "inactive_presses", "infusions")


@dataclass
class CohortResult:
    """What a cohort did.

    table: columns subject (int), condition (str), day (int: calendar session index),
        phase (str), measure (str), value (float); one row per subject x session x measure
        (`MEASURES`).
    traces: columns condition, day, phase, time_s, signal, value: cohort means within the
        sessions in `trace_sessions`. Binned signals (`BINNED_SIGNALS`, 1-min bins, time_s the
        bin start): prediction_error (the agent's dopaminergic learning signal, reward units per
        step), drug_dopamine and incentive (the core's reward components: the drug's surge and
        the conditioned reinforcement of a cue onset), cue_value (Pavlovian net strength of the
        drug cue), active_value (the agent's value of pressing the active lever), and press and
        infusion rates per minute. Cue-locked signals (cue_locked_<name> for `LOCKED_SIGNALS`;
        time_s from 20 s before to 40 s after the onset, 0 = the step that started the cue).
    events: columns subject, condition, day, phase, time_s, event: one row per event (`EVENTS`:
        an active or inactive press, an infusion) of the subjects in `event_subjects` during the
        traced sessions; time_s is the end of the step it happened in (s from session start).
    """

    table: pd.DataFrame
    traces: pd.DataFrame
    events: pd.DataFrame = dataclasses.field(default_factory=lambda: events_frame([]))


def run_cohort(n_subjects: int, calendar: Calendar | Sequence[Mapping[str, Any]] | None = None, *,
               agent: str = "q_learning", agent_params: Mapping[str, float] | None = None,
               env_kwargs: Mapping[str, Any] | None = None, seed: int = 0, condition: str = "",
               trace_sessions: Sequence[int] = (), event_subjects: Sequence[int] = (),
               progress: bool = False, subject_values: Mapping[str, Sequence[float]] | None = None,
               first_subject: int = 0) -> CohortResult:
    """Run `n_subjects` TD agents of kind `agent` (see `AGENTS`) through `calendar`.

    Args:
        n_subjects: cohort size.
        calendar: protocol calendar (default: `protocol.default_calendar()`).
        agent: registry name of the agent.
        agent_params: overrides of the agent's parameters (medians if individual_differences).
        env_kwargs: environment options: baclofen_mg_per_day, baclofen, kor_knockout,
            sucrose_lever, individual_differences (also draws the agents' parameters), params,
            compulsion_zone (default True: the agents' policy carries the compulsion zone; False
            leaves it out).
        seed: cohort seed; subject i has the same key as in the vector environment.
        condition: label written to every row.
        trace_sessions: calendar session indices whose within-session traces to record.
        event_subjects: subjects whose presses and infusions in the traced sessions to list.
        progress: show a progress bar (tqdm) over sessions.
        subject_values: chosen per-subject values (name -> one value per subject) of trait
            multipliers (`params.INDIVIDUAL_TRAITS`) and of the agent's parameters that vary
            between subjects, in place of their drawn (or median) values; the other traits and
            parameters are drawn (or median) as usual.
        first_subject: number of the first subject: the cohort is subjects first_subject ...
            first_subject + n_subjects - 1 of the seed's population (a chunk of a larger cohort,
            whose table rows it reproduces exactly; `event_subjects` still count from 0).
    """
    check_bool("progress", progress)
    cal = as_calendar(calendar)
    cohort = _Cohort(n_subjects, cal, agent, agent_params, env_kwargs, seed, trace_sessions, event_subjects,
                     subject_values=subject_values, first_subject=first_subject)
    cohort.live(len(cal), progress)
    return cohort.result(condition)


def run_cohort_arms(n_subjects: int, history: Sequence[Mapping[str, Any]],
                    arms: Mapping[str, Sequence[Mapping[str, Any]]], *, agent: str = "q_learning",
                    agent_params: Mapping[str, float] | None = None, env_kwargs: Mapping[str, Any] | None = None,
                    seed: int = 0, trace_sessions: Sequence[int] = (),
                    event_subjects: Sequence[int] = (),
                    report: Callable[[int, int], None] | None = None,
                    first_subject: int = 0) -> dict[str, CohortResult]:
    """Cohorts that share a history and then part: one `CohortResult` per arm (its condition the
    arm's name), each exactly `run_cohort(n_subjects, [*history, *arms[name]], ...)`.

    `report(done, total)`, if given, is called as sessions end (sessions of the shared history
    count once, then each arm's own).

    The history is lived once and the cohort copied at its end, so a study whose conditions
    differ only in their last sessions (e.g. the dose before a relapse test) does not repeat it.
    """
    if not isinstance(arms, Mapping) or not arms:
        raise ValueError(f"arms={arms!r} must be a non-empty dict of name -> calendar entries")
    if not history:
        raise ValueError("history=[] is empty: with nothing shared, call run_cohort for each arm")
    calendars = {name: as_calendar([*history, *entries]) for name, entries in arms.items()}
    longest = max(calendars.values(), key=len)
    shared = len(as_calendar(list(history)))
    cohort = _Cohort(n_subjects, longest, agent, agent_params, env_kwargs, seed, trace_sessions, event_subjects,
                     shortest=min(len(c) for c in calendars.values()), first_subject=first_subject)
    total = shared + sum(len(cal) - shared for cal in calendars.values())

    def tell(offset: int) -> Callable[[int], None] | None:
        return None if report is None else (lambda position: report(offset + position, total))

    cohort.live(shared, report=tell(0))
    done = shared
    results = {}
    for name, cal in calendars.items():
        arm = copy.deepcopy(cohort)
        arm.follow(cal)
        arm.live(len(cal), report=tell(done - shared))
        done += len(cal) - shared
        results[name] = arm.result(name)
    return results


class _Cohort:
    """Subjects, their agents and the recorder, living through a calendar."""

    def __init__(self, n_subjects: int, calendar: Calendar, agent: str, agent_params: Mapping[str, float] | None,
                 env_kwargs: Mapping[str, Any] | None, seed: int, trace_sessions: Sequence[int],
                 event_subjects: Sequence[int] = (), shortest: int | None = None,
                 subject_values: Mapping[str, Sequence[float]] | None = None, first_subject: int = 0):
        n = check_number("n_subjects", n_subjects, lo=1, hi=10_000_000, integer=True)
        check_number("seed", seed, lo=0, hi=2**63 - 1, integer=True)
        if not isinstance(agent, str) or agent not in AGENTS:
            raise ValueError(f"agent={agent!r} is not known; choose one of {sorted(AGENTS)}")
        kwargs = dict(env_kwargs or {})
        check_keys("env_kwargs", kwargs, ENV_KWARGS)
        traced = _check_trace_sessions(trace_sessions, shortest or len(calendar))
        watched = _check_event_subjects(event_subjects, n)
        self.protocol = Protocol(n, calendar=calendar, sucrose_lever=kwargs.get("sucrose_lever", False),
                                 kor_knockout=kwargs.get("kor_knockout", False),
                                 individual_differences=kwargs.get("individual_differences", False),
                                 baclofen_mg_per_day=kwargs.get("baclofen_mg_per_day", 0.0),
                                 baclofen=kwargs.get("baclofen"), params=kwargs.get("params"),
                                 # the TD agents carry the operant level, the Pavlovian bias and the
                                 # compulsion zone in their own policy (docs/agents.md), so the
                                 # environment adds none
                                 pavlovian_controller=False, operant_level=False, compulsion_zone=False,
                                 first_subject=first_subject)
        batch = self.protocol.batch
        self.learner = make_agent(agent, batch, agent_params,
                                  individual_differences=batch.options.individual_differences,
                                  compulsion_zone=kwargs.get("compulsion_zone", True))
        self.everyone = np.arange(n)
        self.protocol.reset(self.everyone, int(seed), None)
        self.learner.new_subjects(self.everyone)
        if subject_values:
            self._set_subject_values(subject_values)
        self.learner.begin(self.everyone)
        self.recorder = _Recorder(batch, calendar, traced, watched)
        self.waiting = np.zeros(n, dtype=bool)   # finished the sessions asked for, not yet started the next

    def _set_subject_values(self, values: Mapping[str, Sequence[float]]) -> None:
        """Chosen per-subject traits and agent parameters (see `run_cohort`), before the first step."""
        check_keys("subject_values", values, [*INDIVIDUAL_TRAITS, *varying_parameters(self.learner)])
        self.protocol.batch.set_traits(self.everyone, {k: v for k, v in values.items() if k in INDIVIDUAL_TRAITS})
        self.learner.set_parameters(self.everyone, {k: v for k, v in values.items() if k not in INDIVIDUAL_TRAITS})

    def follow(self, calendar: Calendar) -> None:
        """Continue on `calendar` (which starts with the sessions already lived)."""
        self.protocol.calendar = calendar
        self.recorder.calendar = calendar
        self.recorder.results = self.recorder.results[: len(calendar)].copy()

    def live(self, until: int, progress: bool = False, report: Callable[[int], None] | None = None) -> None:
        """Step everyone until each has ended calendar session `until - 1`; `report(sessions)` is
        called with the number of sessions every subject has ended, as that grows."""
        protocol, learner, recorder = self.protocol, self.learner, self.recorder
        start = self.everyone[self.waiting & (protocol.position < until)]
        if start.size:
            protocol.reset(start, None, None)
            learner.begin(start)
        self.waiting[:] = False
        running = protocol.position <= until
        bar = _progress_bar(progress, until)
        reported = int(protocol.position.min()) - 1
        try:
            while running.any():
                day = protocol.position - 1
                recorder.before_step(day, running)
                obs, reward, terminated, truncated = protocol.batch.step(learner.actions)
                done = terminated | truncated
                signal = learner.learn(obs, reward, done)
                recorder.after_step(day, running, signal, learner)
                ended = np.flatnonzero(done & running)
                if ended.size:
                    recorder.session_ended(ended, day[ended])
                    last = protocol.position[ended] >= until
                    running[ended[last]] = False
                    self.waiting[ended[last]] = True
                    going_on = ended[~last]
                    if going_on.size:
                        protocol.reset(going_on, None, None)
                        learner.begin(going_on)
                    if bar is not None:
                        bar.update(int(protocol.position[running].min(initial=until)) - bar.n)
                    lived = int(protocol.position[running].min(initial=until + 1)) - 1
                    if report is not None and lived > reported:
                        reported = lived
                        report(lived)
        finally:
            if bar is not None:
                bar.close()

    def result(self, condition: str) -> CohortResult:
        if not isinstance(condition, str):
            raise TypeError(f"condition={condition!r} has type {type(condition).__name__}; a str is required")
        return CohortResult(self.recorder.table(condition, self.protocol.first_subject),
                            self.recorder.traces(condition),
                            self.recorder.events_table(condition))


def _check_trace_sessions(trace_sessions: Sequence[int], n_sessions: int) -> tuple[int, ...]:
    if isinstance(trace_sessions, (str, bytes)) or not isinstance(trace_sessions, Sequence):
        raise TypeError(f"trace_sessions={trace_sessions!r} must be a sequence of calendar session indices")
    for d in trace_sessions:
        check_number("trace_sessions[]", d, lo=0, hi=n_sessions - 1, integer=True)
    return tuple(sorted({int(d) for d in trace_sessions}))


def _check_event_subjects(event_subjects: Sequence[int], n_subjects: int) -> np.ndarray:
    if isinstance(event_subjects, (str, bytes)) or not isinstance(event_subjects, Sequence):
        raise TypeError(f"event_subjects={event_subjects!r} must be a sequence of subject indices")
    for i in event_subjects:
        check_number("event_subjects[]", i, lo=0, hi=n_subjects - 1, integer=True)
    return np.array(sorted({int(i) for i in event_subjects}), dtype=np.int64)


def _progress_bar(progress: bool, total: int) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="session", desc="cohort")


class CueLocked:
    """Means of `LOCKED_SIGNALS` around drug-cue onsets (20 s before to 40 s after), per traced
    session: the cue-locked part of the traces, shared by the TD and the SB3 recorders.

    `step` is called once per time step with every subject's values for that step; a subject's
    window closes at the end of its session (`sessions_ended`).
    """

    def __init__(self, n: int, n_slots: int, dt: float):
        self.dt = float(dt)
        self.before = int(math.ceil(LOCK_BEFORE_S / dt))
        self.after = int(math.ceil(LOCK_AFTER_S / dt))
        self.width = self.before + self.after + 1
        self.n_slots = int(n_slots)
        self.history = np.zeros((self.before + 1, len(LOCKED_SIGNALS), n))   # ring buffer of the last steps
        self.since_onset = np.full(n, np.iinfo(np.int64).max // 2)
        self.sums = np.zeros((self.n_slots, len(LOCKED_SIGNALS), self.width))
        self.counts = np.zeros((self.n_slots, self.width))
        self.tick = 0

    def step(self, slot: np.ndarray, inside: np.ndarray, step_index: np.ndarray, onset: np.ndarray,
             values: Sequence[np.ndarray]) -> None:
        """One time step. slot: traced-session slot per subject (-1: not traced); inside: subjects
        in a traced session; step_index: step within the session (before this step); onset: the
        step started the drug cue; values: this step's `LOCKED_SIGNALS`, one array each."""
        ring = self.tick % (self.before + 1)
        h = self.history[ring]
        for k, v in enumerate(values):
            h[k] = v
        self.since_onset += 1
        size = self.n_slots * self.width
        onset = onset & inside
        if onset.any():
            rows = np.flatnonzero(onset)
            self.since_onset[rows] = 0
            for lag in range(self.before + 1):   # offsets -before .. 0 from the history
                past = self.history[(self.tick - lag) % (self.before + 1)]
                cell = slot[rows] * self.width + (self.before - lag)
                valid = step_index[rows] >= lag
                self._add(cell[valid], past[:, rows[valid]], size)
        after = inside & (self.since_onset >= 1) & (self.since_onset <= self.after)
        if after.any():
            rows = np.flatnonzero(after)
            cell = slot[rows] * self.width + self.before + self.since_onset[rows]
            self._add(cell, h[:, rows], size)
        self.tick += 1

    def _add(self, cell: np.ndarray, values: np.ndarray, size: int) -> None:
        shape = (self.n_slots, self.width)
        for k in range(len(LOCKED_SIGNALS)):
            self.sums[:, k, :] += np.bincount(cell, weights=values[k], minlength=size).reshape(shape)
        self.counts += np.bincount(cell, minlength=size).reshape(shape)

    def sessions_ended(self, rows: np.ndarray) -> None:
        """Close the windows of subjects `rows` (their session ended)."""
        self.since_onset[rows] = np.iinfo(np.int64).max // 2

    def frames(self, slot: int, condition: str, day: int, phase: str) -> list[pd.DataFrame]:
        """Trace rows (signals cue_locked_<name>) of traced-session `slot`."""
        offsets = (np.arange(self.width) - self.before) * self.dt
        return [trace_frame(condition, day, phase, offsets, f"cue_locked_{name}",
                       _mean(self.sums[slot, k], self.counts[slot])) for k, name in enumerate(LOCKED_SIGNALS)]


class _Recorder:
    """Session summaries and within-session traces of a cohort, kept as preallocated arrays."""

    def __init__(self, batch: SubjectBatch, calendar: Calendar, traced: tuple[int, ...],
                 watched: np.ndarray | None = None):
        self.batch, self.calendar = batch, calendar
        self.watched = np.zeros(0, dtype=np.int64) if watched is None else watched
        self.events: list[tuple[int, int, float, str]] = []   # (subject, day, time_s, event)
        n, dt = batch.n, batch.params.dt_s
        self.dt = dt
        self.results = np.zeros((len(calendar), len(MEASURES), n))
        # traces
        self.slot = np.full(len(calendar), -1, dtype=np.int64)
        self.slot[list(traced)] = np.arange(len(traced))
        self.traced = traced
        self.any_traced = bool(traced)
        self.bin_steps = max(1, int(round(TRACE_BIN_S / dt)))
        longest = max((self._session_steps(d) for d in traced), default=1)
        self.n_bins = -(-longest // self.bin_steps)
        self.sums = np.zeros((len(traced), len(BINNED_SIGNALS), self.n_bins))
        self.counts = np.zeros((len(traced), self.n_bins))
        self.locked = CueLocked(n, len(traced), dt)
        self._step_index = np.zeros(n, dtype=np.int64)
        self._cue_before = np.zeros(n, dtype=bool)
        self._presses_before = np.zeros(n)
        self._infusions_before = np.zeros(n)

    def _session_steps(self, day: int) -> int:
        s, p = self.calendar[day], self.batch.params
        steps = int(round(60.0 * s.session_minutes / p.dt_s))
        if s.schedule == "PR":
            steps = max(steps, int(round(60.0 * p.pr_max_session_min / p.dt_s)))
        return max(steps, 1)

    def before_step(self, day: np.ndarray, running: np.ndarray) -> None:
        if self.any_traced:
            b = self.batch
            np.copyto(self._step_index, b.step_index)
            np.greater(b.cue_left, 0, out=self._cue_before)
            np.copyto(self._presses_before, b.summary["active_presses"])
            np.copyto(self._infusions_before, b.summary["infusions"])
            if self.watched.size:
                self._watched_before = np.stack([b.summary[e][self.watched] for e in EVENTS])

    def after_step(self, day: np.ndarray, running: np.ndarray, signal: np.ndarray, learner: TDAgent) -> None:
        if not self.any_traced:
            return
        slot = self.slot[np.clip(day, 0, len(self.calendar) - 1)]
        inside = running & (slot >= 0)
        if not inside.any():
            return
        self._bin(slot, inside, signal, learner)
        self._lock(slot, inside, signal)
        if self.watched.size:
            self._list_events(day, inside)

    def _list_events(self, day: np.ndarray, inside: np.ndarray) -> None:
        b, w = self.batch, self.watched
        counts = np.stack([b.summary[e][w] for e in EVENTS]) - self._watched_before
        for k, j in zip(*np.nonzero(counts > 0), strict=True):
            i = int(w[j])
            if inside[i]:
                time_s = float((self._step_index[i] + 1) * self.dt)
                self.events.extend([(i, int(day[i]), time_s, EVENTS[k])] * int(round(counts[k, j])))

    def _bin(self, slot: np.ndarray, inside: np.ndarray, signal: np.ndarray, learner: TDAgent) -> None:
        b, rate = self.batch, 60.0 / self.dt
        rows = np.flatnonzero(inside)
        cell = slot[rows] * self.n_bins + np.minimum(self._step_index[rows] // self.bin_steps, self.n_bins - 1)
        size = len(self.traced) * self.n_bins
        pressed = (b.summary["active_presses"] - self._presses_before) * rate
        infused = (b.summary["infusions"] - self._infusions_before) * rate
        values = (signal, b.components["drug_dopamine"], b.components["incentive"], b.value_cue,
                  learner.values[ACTIVE], pressed, infused)
        for k, v in enumerate(values):
            self.sums[:, k, :] += np.bincount(cell, weights=np.broadcast_to(v, (b.n,))[rows],
                                              minlength=size).reshape(len(self.traced), self.n_bins)
        self.counts += np.bincount(cell, minlength=size).reshape(len(self.traced), self.n_bins)

    def _lock(self, slot: np.ndarray, inside: np.ndarray, signal: np.ndarray) -> None:
        b = self.batch
        onset = inside & (b.cue_left > 0) & ~self._cue_before
        self.locked.step(slot, inside, self._step_index, onset,
                         (signal, b.components["drug_dopamine"], b.components["incentive"]))

    def session_ended(self, rows: np.ndarray, day: np.ndarray) -> None:
        s = self.batch.summary
        for k, name in enumerate(SUMMARY_FIELDS):
            self.results[day, k, rows] = s[name][rows]
        self.locked.sessions_ended(rows)

    # ------------------------------------------------------------------ tables
    def table(self, condition: str, first_subject: int = 0) -> pd.DataFrame:
        return tidy_table(self.results, self.calendar, condition, first_subject)

    def events_table(self, condition: str) -> pd.DataFrame:
        phases = self.calendar.phases()
        return events_frame([(i, condition, d, phases[d], t, e) for i, d, t, e in self.events])

    def traces(self, condition: str) -> pd.DataFrame:
        frames = []
        phases = self.calendar.phases()
        for s, day in enumerate(self.traced):
            n_bins = -(-self._session_steps(day) // self.bin_steps)
            counts = self.counts[s, :n_bins]
            for k, name in enumerate(BINNED_SIGNALS):
                frames.append(trace_frame(condition, day, phases[day], np.arange(n_bins) * TRACE_BIN_S, name,
                                     _mean(self.sums[s, k, :n_bins], counts)))
            frames.extend(self.locked.frames(s, condition, day, phases[day]))
        return traces_table(frames)


def tidy_table(results: np.ndarray, calendar: Calendar, condition: str, first_subject: int = 0) -> pd.DataFrame:
    """The tidy table of `results[day, measure, subject]` (measures in `MEASURES` order):
    columns subject (first_subject + index), condition, day, phase, measure, value."""
    n_days, n_measures, n = results.shape
    phases = calendar.phases()
    names = sorted(set(phases))
    days = np.repeat(np.arange(n_days), n_measures * n)
    return pd.DataFrame({
        "subject": np.tile(np.arange(first_subject, first_subject + n), n_days * n_measures),
        "condition": _strings(np.zeros(days.size, dtype=np.int8), [condition]),
        "day": days,
        "phase": _strings(np.array([names.index(p) for p in phases], dtype=np.int8)[days], names),
        "measure": _strings(np.tile(np.repeat(np.arange(n_measures, dtype=np.int8), n), n_days), MEASURES),
        "value": results.ravel(),
    })


def _strings(codes: np.ndarray, names: Sequence[str]) -> Any:
    """The string column `names[codes]` as pandas makes a column of those strings (its `str` dtype,
    Arrow-backed, or object), built from the codes without a Python string per row."""
    dtype = pd.Series(list(names)).dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow as pa

        return pd.array(pa.DictionaryArray.from_arrays(codes, pa.array(names, pa.large_string())).dictionary_decode(),
                        dtype=dtype)
    return np.array(names, dtype=object)[codes]


def events_frame(rows: list[tuple[int, str, int, str, float, str]]) -> pd.DataFrame:
    """The events table of rows (subject, condition, day, phase, time_s, event)."""
    frame = pd.DataFrame(rows, columns=["subject", "condition", "day", "phase", "time_s", "event"])
    return frame.astype({"subject": np.int64, "condition": object, "day": np.int64, "phase": object,
                         "time_s": float, "event": object})


def _mean(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)


def trace_frame(condition: str, day: int, phase: str, time_s: np.ndarray, signal: str,
                value: np.ndarray) -> pd.DataFrame:
    """One signal's trace of one session: a row per time bin (`time_s`, s from session start)."""
    return pd.DataFrame({"condition": condition, "day": day, "phase": phase, "time_s": time_s.astype(float),
                         "signal": signal, "value": value})


def traces_table(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The traces table of `frames` (of `trace_frame`); with no frames, empty with the columns' types."""
    if not frames:
        return pd.DataFrame({"condition": pd.Series(dtype=object), "day": pd.Series(dtype=np.int64),
                             "phase": pd.Series(dtype=object), "time_s": pd.Series(dtype=float),
                             "signal": pd.Series(dtype=object), "value": pd.Series(dtype=float)})
    return pd.concat(frames, ignore_index=True)


__all__ = ["BINNED_SIGNALS", "ENV_KWARGS", "EVENTS", "LOCKED_SIGNALS", "MEASURES", "CohortResult", "CueLocked",
           "events_frame", "run_cohort", "run_cohort_arms", "tidy_table", "trace_frame",
           "traces_table"]
