"""The classroom lesson behind the app: one cohort learns, extinguishes and meets a relapse test,
under placebo and under each dose of baclofen. No web code here: the app and the tests call it.

A `Lesson` is what a student sets (dose and route, abstinence, stress, knockout, cue, agent: a TD
agent or the pre-trained PPO of `rlcraving.agents.pretrained`, cohort size); `simulate` runs it
and returns a `LessonResult` whose tables feed the figures in `rlcraving.experiments.figures` and
whose numbers feed the captions. Every dose of the route's ladder is run, so moving the dose
slider only picks an arm that is already there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlcraving import stats
from rlcraving.agents.cohort import CohortResult, run_cohort_arms
from rlcraving.agents.td import AGENTS
from rlcraving.checks import check_bool, check_choice, check_number
from rlcraving.pharmacology import OralTID, Placebo, RatIP

#: Routes: label, dose unit and the ladder of doses the dose-response runs. Rat: acute i.p.
#: injection 30 min before the test, over the 1.25-5 mg/kg range of the rat relapse studies
#: (Campbell et al. 1999; Roberts & Andrews 1997; Brebner et al. 2000). Person: oral, three
#: doses a day at steady state, up to the clinical maximum of 80 mg/day (Shoptaw et al. 2003
#: used 60 mg/day; Kahn et al. 2009 60 mg/day).
ROUTES: dict[str, dict[str, Any]] = {
    "rat_ip": {"label": "rat: i.p. injection 30 min before the test", "unit": "mg/kg i.p.",
               "doses": (0.0, 1.25, 2.5, 5.0)},
    "oral": {"label": "person: oral, three times a day", "unit": "mg/day oral",
             "doses": (0.0, 20.0, 40.0, 60.0, 80.0)},
}
#: The pre-trained PPO (`rlcraving.agents.pretrained`): learnt acquisition beforehand, learns on from extinction.
PRETRAINED_PPO = "pretrained_ppo"
#: Agents a student can pick: the hand-written TD agents (docs/agents.md) and the pre-trained PPO.
LESSON_AGENTS = (*AGENTS, PRETRAINED_PPO)
MAX_SUBJECTS = 200
MAX_STRESS_MA = 1.5   # the footshock range of the stress-reinstatement studies (0.5 mA default)
BOOTSTRAP = 1000


@dataclass(frozen=True)
class Lesson:
    """What a student sets. Units are in the names."""

    route: str = "rat_ip"
    dose: float = 2.5                       # mg/kg (rat_ip) or mg/day (oral); one of the route's ladder
    abstinence_days: float = 1.0            # days between the last extinction session and the test
    stress_mA: float = 0.0                  # footshock during the test (0 = none)
    kor_knockout: bool = False              # kappa-opioid receptor knockout
    contingent_cue: bool = True             # a press in the test turns the drug cue on
    agent: str = "q_learning"
    subjects: int = 24
    seed: int = 0
    acquisition_days: int = 10              # daily 1-h FR1 self-administration sessions
    extinction_days: int = 6                # daily 1-h sessions with no drug and no cue

    def __post_init__(self) -> None:
        check_choice("route", self.route, ROUTES)
        check_number("dose", self.dose, lo=0.0)
        if self.dose not in self.doses:
            raise ValueError(f"dose={self.dose!r} is not on the {self.route} ladder; choose one of {list(self.doses)} "
                             f"({self.unit})")
        check_number("abstinence_days", self.abstinence_days, lo=0.0, hi=365.0)
        check_number("stress_mA", self.stress_mA, lo=0.0, hi=MAX_STRESS_MA)
        check_bool("kor_knockout", self.kor_knockout)
        check_bool("contingent_cue", self.contingent_cue)
        check_choice("agent", self.agent, LESSON_AGENTS)
        check_number("subjects", self.subjects, lo=2, hi=MAX_SUBJECTS, integer=True)
        check_number("seed", self.seed, lo=0, hi=2**32 - 1, integer=True)
        check_number("acquisition_days", self.acquisition_days, lo=2, hi=60, integer=True)
        check_number("extinction_days", self.extinction_days, lo=1, hi=60, integer=True)

    @property
    def doses(self) -> tuple[float, ...]:
        return ROUTES[self.route]["doses"]

    @property
    def unit(self) -> str:
        return ROUTES[self.route]["unit"]

    def history_key(self) -> tuple[Any, ...]:
        """What the shared history (acquisition and extinction) depends on: not the test's settings."""
        return (self.agent, self.subjects, self.seed, self.kor_knockout, self.acquisition_days, self.extinction_days)

    def without_dose(self) -> Lesson:
        """The same lesson with the dose at placebo: what `simulate` depends on."""
        return dataclasses.replace(self, dose=0.0)

    # ---------------------------------------------------------------- protocol
    def history(self) -> list[dict[str, Any]]:
        return [{"phase": "self_administration", "days": self.acquisition_days},
                {"phase": "extinction", "days": self.extinction_days}]

    @property
    def test_day(self) -> int:
        """Calendar index of the relapse test."""
        return self.acquisition_days + self.extinction_days

    def test_session(self, dose: float) -> dict[str, Any]:
        """The relapse test under `dose`: the drug cue (if contingent), footshock (if any)."""
        return {"phase": "cue_reinstatement", "contingent_cue": self.contingent_cue,
                "footshock_mA": float(self.stress_mA), "abstinence_days": float(self.abstinence_days),
                "baclofen": regimen(self.route, dose)}

    def arm_name(self, dose: float) -> str:
        return "placebo" if dose == 0 else f"baclofen {dose:g} {self.unit}"

    def trigger(self) -> str:
        """The test's trigger in words."""
        parts = (["the drug cue after each press"] if self.contingent_cue else []) + \
                ([f"a {self.stress_mA:g} mA footshock"] if self.stress_mA > 0 else [])
        return " and ".join(parts) if parts else "nothing (no cue, no stress: an extinction-like control)"


def regimen(route: str, dose: float) -> Placebo | RatIP | OralTID:
    """The baclofen regimen of `dose` on `route` (placebo for 0)."""
    check_choice("route", route, ROUTES)
    if dose == 0:
        return Placebo(route="ip" if route == "rat_ip" else "oral")
    return RatIP(float(dose)) if route == "rat_ip" else OralTID(float(dose))


@dataclass
class LessonResult:
    """What a lesson produced.

    table: the cohort's tidy table (subject, condition, day, phase, measure, value) for every arm;
        the arms share days 0 .. test_day - 1.
    traces: cohort-mean traces (`CohortResult.traces`) of the first and last acquisition sessions
        and the test, every arm.
    events: every press and infusion of every subject in those sessions (`CohortResult.events`).
    dose_response: per dose, test active presses: n, mean, ci_low, ci_high (95% bootstrap over
        subjects), and baseline_mean (the last extinction session).
    """

    lesson: Lesson
    table: pd.DataFrame
    traces: pd.DataFrame
    events: pd.DataFrame
    dose_response: pd.DataFrame

    def arm(self, dose: float) -> str:
        return self.lesson.arm_name(dose)

    def presses(self, day: int, dose: float = 0.0, measure: str = "active_presses") -> np.ndarray:
        """Per-subject `measure` on calendar `day` in the arm of `dose`."""
        t = self.table
        rows = t[(t["condition"] == self.arm(dose)) & (t["day"] == day) & (t["measure"] == measure)]
        return rows.sort_values("subject")["value"].to_numpy()

    def typical_subject(self) -> int:
        """The subject whose placebo test presses are the cohort's median (ties: lowest index)."""
        test = self.presses(self.lesson.test_day)
        return int(np.argsort(np.abs(test - np.median(test)), kind="stable")[0])


def simulate(lesson: Lesson, report: Callable[[int, int], None] | None = None,
             histories: MutableMapping[tuple[Any, ...], Any] | None = None) -> LessonResult:
    """Run the lesson: the shared history once, then the test under every dose of the route.

    `report(done, total)` is called as sessions end (for a progress bar). `histories`, if given,
    keeps the pre-trained PPO's lived histories by `Lesson.history_key` (the app's cache): a lesson
    that differs from one already run only in its test (route, abstinence, stress, cue) then lives
    only the test. The numbers are the same either way (tested).
    """
    arms = {lesson.arm_name(d): [lesson.test_session(d)] for d in lesson.doses}
    traced = (0, lesson.acquisition_days - 1, lesson.test_day)
    env_kwargs = {"individual_differences": True, "kor_knockout": lesson.kor_knockout}
    results: dict[str, CohortResult]
    if lesson.agent == PRETRAINED_PPO:
        from rlcraving.agents import pretrained  # torch and SB3 only when asked for

        key = lesson.history_key()
        lived = None if histories is None else histories.get(key)
        if lived is None:
            lived = pretrained.live_history(lesson.subjects, lesson.history(), frozen_sessions=lesson.acquisition_days,
                                            arms=len(arms), env_kwargs=env_kwargs, seed=lesson.seed,
                                            trace_sessions=traced, event_subjects=range(lesson.subjects),
                                            report=report)
            if histories is not None:
                histories[key] = lived
        results = pretrained.run_arms(lived, arms, report=report)
    else:
        results = run_cohort_arms(lesson.subjects, lesson.history(), arms, agent=lesson.agent, seed=lesson.seed,
                                  env_kwargs=env_kwargs, trace_sessions=traced,
                                  event_subjects=range(lesson.subjects), report=report)
    table = pd.concat([r.table for r in results.values()], ignore_index=True)
    traces = pd.concat([r.traces for r in results.values()], ignore_index=True)
    events = pd.concat([r.events for r in results.values()], ignore_index=True)
    result = LessonResult(lesson, table, traces, events, pd.DataFrame())
    result.dose_response = _dose_response(result)
    return result


def _dose_response(result: LessonResult) -> pd.DataFrame:
    lesson = result.lesson
    baseline = result.presses(lesson.test_day - 1)
    rows = []
    for k, dose in enumerate(lesson.doses):
        s = stats.describe(result.presses(lesson.test_day, dose), n_boot=BOOTSTRAP, seed=[lesson.seed, k])
        rows.append({"dose": dose, "condition": lesson.arm_name(dose), **s.as_dict(),
                     "baseline_mean": float(baseline.mean())})
    return pd.DataFrame(rows)


def what_is_happening(result: LessonResult, dose: float) -> list[str]:
    """The 'what is happening' panel: the protocol and the lesson's own numbers, in plain words."""
    les = result.lesson
    first = result.presses(0).mean()
    last_sa = result.presses(les.acquisition_days - 1).mean()
    last_ext = result.presses(les.test_day - 1).mean()
    placebo = result.presses(les.test_day).mean()
    treated = result.presses(les.test_day, dose).mean()
    knockout = " They lack the kappa-opioid receptor (knockout)." if les.kor_knockout else ""
    fell = "fell" if last_ext < last_sa else "stayed"
    lines = [
        f"**Learning.** {les.subjects} simulated subjects ({learner_words(les.agent)}) can press a lever for an "
        f"intravenous dose of cocaine in daily 1-h sessions; each dose comes with a light-and-tone cue. Active presses "
        f"{change_words(first, last_sa, les.acquisition_days)}.{knockout}"
        + (pretraining_words() if les.agent == PRETRAINED_PPO else ""),
        f"**Extinction.** For {_count(les.extinction_days, 'session')} pressing gives nothing: no drug, no cue. "
        f"Pressing {fell} {'to' if fell == 'fell' else 'at'} {last_ext:.1f} per session.",
        f"**The relapse test** comes {_count(les.abstinence_days, 'day')} later. Pressing still gives no drug, but "
        f"it brings {les.trigger()}. Under placebo the subjects pressed {placebo:.1f} times "
        f"({'more' if placebo > last_ext else 'no more'} than at the end of extinction).",
    ]
    if dose > 0:
        change = 100.0 * (treated - placebo) / placebo if placebo > 0 else float("nan")
        lines.append(f"**Baclofen** ({dose:g} {les.unit}) turns down dopamine signalling, the learning signal and "
                     f"the pull of the cue: the same subjects, with the same history, pressed {treated:.1f} times "
                     f"({change:+.0f}% against placebo).")
    else:
        lines.append("**Baclofen** is at 0 (placebo): pick a dose to see what turning down dopamine signalling does "
                     "to the test.")
    return lines


def change_words(first: float, last: float, last_session: int) -> str:
    """ "rose from 3.0 in session 1 to 9.0 in session 10" (or fell; or "were ... and ..." when the
    change is under a fifth, so that a flat course is not called a rise)."""
    if last > 1.2 * first:
        return f"rose from {first:.1f} in session 1 to {last:.1f} in session {last_session}"
    if first > 1.2 * last:
        return f"fell from {first:.1f} in session 1 to {last:.1f} in session {last_session}"
    return f"were {first:.1f} in session 1 and {last:.1f} in session {last_session}, about as many"


def learner_words(agent: str) -> str:
    """Who decides the presses, in words."""
    if agent == PRETRAINED_PPO:
        return ("their bodies and traits their own, their choices made by one shared PPO policy, a small neural "
                "network trained with stable-baselines3")
    return f"each a {agent.replace('_', '-')} learner with its own traits"


def pretraining_words() -> str:
    """What the pre-trained PPO brings with it: its training record, in words."""
    from rlcraving.agents.pretrained import training_record

    record = training_record()
    protocol, means = record["protocol"], record["per_session_means"]
    active, inactive = means["active_presses"], means["inactive_presses"]
    return (f" The PPO arrives trained: before this lesson it lived {protocol['acquisition_days']} such sessions "
            f"with {protocol['subjects']} other subjects on placebo, pressing at random at first ({active[0]:.1f} "
            f"active and {inactive[0]:.1f} inactive presses in session 1) and {active[-1]:.1f} active and "
            f"{inactive[-1]:.1f} inactive in session {protocol['acquisition_days']}. Here it acts on what it learnt "
            "through acquisition, and learns again from extinction on.")


def _count(n: float, unit: str) -> str:
    """ "1 day", "6 sessions"."""
    return f"{n:g} {unit}{'' if n == 1 else 's'}"


__all__ = ["LESSON_AGENTS", "PRETRAINED_PPO", "ROUTES", "Lesson", "LessonResult", "change_words",
           "learner_words", "pretraining_words", "regimen", "simulate", "what_is_happening"]
