"""Training to criterion: when a subject has acquired self-administration, and when it has extinguished.

The reinstatement procedure trains each animal to a criterion, not for a fixed number of sessions
(Shaham et al. 2003): self-administration for a minimum number of daily sessions and then until intake
is stable, extinction for a minimum number of sessions and then until responding falls below a fraction
of its self-administration level. `TrainingCriterion` holds those numbers; `acquired` and `extinguished`
decide from the sessions so far (per-session means of a cohort, or one subject's counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rlcraving.checks import check_number
from rlcraving.params import ModelParams


@dataclass(frozen=True)
class TrainingCriterion:
    """The criteria of training (counts per session).

    Acquisition: at least `min_sa` FR1 sessions, then until each of the last `stable_sessions` has active
    presses above `ratio` x inactive presses and at least `min_infusions` infusions an hour of session, with
    infusions within `stability` (a fraction) of their mean over those sessions; at most `max_sa` sessions.
    Extinction: at least `min_extinction` sessions, then until each of the last `extinguished_sessions` has
    active presses below `extinction_fraction` x the acquisition level (mean active presses of the last
    `stable_sessions` FR1 sessions); at most `max_extinction` sessions.
    """

    min_sa: int = 10
    max_sa: int = 60
    stable_sessions: int = 3
    ratio: float = 2.0
    min_infusions: float = 5.0
    stability: float = 0.2
    min_extinction: int = 10
    max_extinction: int = 30
    extinguished_sessions: int = 2
    extinction_fraction: float = 0.25

    def __post_init__(self) -> None:
        check_number("min_sa", self.min_sa, lo=1, hi=10_000, integer=True)
        check_number("max_sa", self.max_sa, lo=self.min_sa, hi=10_000, integer=True)
        check_number("stable_sessions", self.stable_sessions, lo=1, hi=self.min_sa, integer=True)
        check_number("ratio", self.ratio, lo=0.0, hi=1e6)
        check_number("min_infusions", self.min_infusions, lo=0.0, hi=1e6)
        check_number("stability", self.stability, lo=0.0, hi=1e6)
        check_number("min_extinction", self.min_extinction, lo=1, hi=10_000, integer=True)
        check_number("max_extinction", self.max_extinction, lo=self.min_extinction, hi=10_000, integer=True)
        check_number("extinguished_sessions", self.extinguished_sessions, lo=1, hi=self.min_extinction,
                     integer=True)
        check_number("extinction_fraction", self.extinction_fraction, lo=0.0, hi=1.0)

    def acquired(self, active: Sequence[float], inactive: Sequence[float], infusions: Sequence[float],
                 session_hours: float = 1.0) -> bool:
        """Whether the FR1 sessions so far (per-session active and inactive presses and infusions, in order;
        sessions of `session_hours` h) meet the acquisition criterion."""
        check_number("session_hours", session_hours, lo=1e-6, hi=1e3)
        a, i, n = (np.asarray(x, dtype=float) for x in (active, inactive, infusions))
        if not a.size == i.size == n.size:
            raise ValueError(f"active, inactive and infusions have {a.size}, {i.size} and {n.size} sessions; "
                             "give one value per session for each")
        if a.size < self.min_sa:
            return False
        k = self.stable_sessions
        a, i, n = a[-k:], i[-k:], n[-k:]
        stable = bool(np.all(np.abs(n - n.mean()) <= self.stability * n.mean()))
        return bool(np.all(a > self.ratio * i) and np.all(n >= self.min_infusions * session_hours) and stable)

    def acquisition_level(self, active: Sequence[float]) -> float:
        """Active presses per session at the end of self-administration: the mean of the last
        `stable_sessions` FR1 sessions."""
        a = np.asarray(active, dtype=float)
        if a.size == 0:
            raise ValueError("active is empty; give the FR1 sessions' active presses")
        return float(a[-self.stable_sessions:].mean())

    def extinguished(self, active: Sequence[float], acquisition_level: float) -> bool:
        """Whether the extinction sessions so far (per-session active presses, in order) meet the extinction
        criterion, against `acquisition_level` (`acquisition_level`)."""
        a = np.asarray(active, dtype=float)
        if a.size < self.min_extinction:
            return False
        return bool(np.all(a[-self.extinguished_sessions:] < self.extinction_fraction * acquisition_level))


def _ideal_epsilon_greedy(epsilon: float, n_subjects: int, sessions: int, extinction_sessions: int, seed: int,
                          params: ModelParams | None) -> np.ndarray:
    """Active and inactive presses per hour (cohort means, rows: sessions) of the ideal epsilon-greedy agent of
    `epsilon_greedy_ceiling` through `sessions` daily 1-h FR1 sessions, then `extinction_sessions` daily 1-h
    extinction sessions in which its greedy choice is "other" (nothing is earned by a press)."""
    from rlcraving.core import SubjectBatch, SubjectOptions
    from rlcraving.protocol import session
    from rlcraving.random import subject_keys

    check_number("epsilon", epsilon, lo=0.0, hi=1.0)
    check_number("n_subjects", n_subjects, lo=1, hi=1_000_000, integer=True)
    check_number("sessions", sessions, lo=1, hi=10_000, integer=True)
    check_number("extinction_sessions", extinction_sessions, lo=0, hi=10_000, integer=True)
    batch = SubjectBatch(n_subjects, params, SubjectOptions(pavlovian_controller=True, operant_level=True))
    everyone = np.arange(n_subjects)
    batch.new_subjects(everyone, subject_keys(seed, everyone))
    rng = np.random.default_rng(seed)
    out = np.zeros((sessions + extinction_sessions, 2))
    for day in range(sessions + extinction_sessions):
        fr1 = day < sessions
        batch.start_sessions(everyone, session("self_administration" if fr1 else "extinction"), first=day == 0)
        presses = np.zeros(3)
        done = np.zeros(n_subjects, dtype=bool)
        while not done.all():
            regulate = fr1 & (batch.occupancy < batch.satiety_occupancy) & (batch.timeout_left == 0)
            explore = rng.random(n_subjects) < epsilon
            actions = np.where(explore, rng.integers(0, 3, n_subjects), np.where(regulate, 1, 0))
            _, _, terminated, truncated = batch.step(actions)
            presses += np.bincount(batch.actions_taken, minlength=3)[:3]
            done = terminated | truncated
        batch.end_sessions(everyone)
        out[day] = presses[1:3] / n_subjects
    return out


def epsilon_greedy_ceiling(epsilon: float, *, n_subjects: int = 64, sessions: int = 10, seed: int = 0,
                           params: ModelParams | None = None) -> tuple[float, float]:
    """Active and inactive presses per hour, in the last of `sessions` daily 1-h FR1 sessions (cohort means),
    of an ideal regulator that explores at a floor of `epsilon`: with probability `epsilon` a uniform choice
    of the three actions, else the drug lever whenever the brain level is below the satiety threshold and the
    lever is live (no timeout), else "other"; in the chamber of `gym.make` (Pavlovian controller and operant
    level on). Its active / inactive ratio is the most that an agent with that exploration floor can show
    while it regulates its intake, however well it learns: its inactive presses come from exploration and the
    operant level alone."""
    active, inactive = _ideal_epsilon_greedy(epsilon, n_subjects, sessions, 0, seed, params)[-1]
    return float(active), float(inactive)


def epsilon_greedy_extinction_floor(epsilon: float, *, n_subjects: int = 64, sessions: int = 10,
                                    extinction_sessions: int = 10, seed: int = 0,
                                    params: ModelParams | None = None) -> tuple[float, float]:
    """Active presses per hour in the last FR1 session and in the last of `extinction_sessions` daily 1-h
    extinction sessions (cohort means) of the ideal regulator of `epsilon_greedy_ceiling`, which in extinction
    chooses "other" whenever it does not explore. The second is the least that an agent exploring at a floor of
    `epsilon` can press in extinction however well it learns (exploration, the operant level and the Pavlovian
    controller's presses); against the first, it says whether an extinction criterion relative to FR1 pressing
    can be met at that floor."""
    presses = _ideal_epsilon_greedy(epsilon, n_subjects, sessions, extinction_sessions, seed, params)
    return float(presses[sessions - 1, 0]), float(presses[-1, 0])


#: The criteria of the validation's SB3 row and slow tests (written before their runs).
CRITERION = TrainingCriterion()
