"""Sequential dependencies in the agents' discrete-trials choices between cocaine and sucrose: is a
choice trial's drug choice more or less likely after a drug choice than after a sucrose choice?

    python experiments/probe_choice_sequence.py [AGENT] [N_SUBJECTS] [INTERVAL_MIN]
                                                (defaults: q_learning 200 10; seed 0)

Lives the individual_differences row's choice calendar (5 days of each reward alone on alternate days,
then 15 discrete-trials choice sessions of 12 choice trials 10 min apart; subjects with individual
differences; choice trials INTERVAL_MIN apart, 10 in the row) with the compulsion zone in the policy
(the row's model) and without it, and prints for
choice sessions 1-3 and 13-15 the probability of a drug choice after a drug choice and after a sucrose
choice, within subjects (`conditional`; a choice trial without an infusion counts as a sucrose choice:
the agents answer nearly every trial). Rats in a discrete-trials choice chose cocaine more
often after choosing the non-drug alternative on the trials before, and this disappeared with longer
intervals between choices (Kearns, Kim, Tunstall & Silberberg 2017). docs/model.md 3.3 reports its output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rlcraving.agents import run_cohort
from rlcraving.cli import run_script
from rlcraving.protocol import session
from rlcraving.validation.phenomena.individual_differences import CHOICE_SESSIONS, choice_calendar

SEED = 0
WINDOWS = ((1, 3), (CHOICE_SESSIONS - 2, CHOICE_SESSIONS))
#: Pairs of each kind (after a drug choice, after a sucrose choice) a subject needs to be counted.
MIN_PAIRS = 3


def choice_sequences(events: pd.DataFrame, days: list[int], n: int, interval_min: float) -> np.ndarray:
    """(subject, session, choice trial): True where the choice trial gave an infusion (a drug choice)."""
    settings = session("discrete_choice")
    trial_s = 60.0 * interval_min
    infusions = events[events.event == "infusions"]
    drug = np.zeros((n, len(days), settings.trials), dtype=bool)
    for k, day in enumerate(days):
        rows = infusions[infusions.day == day]
        drug[rows.subject.to_numpy(), k, (rows.time_s.to_numpy() // trial_s).astype(int)] = True
    return drug[:, :, settings.sampling_trials:]


def conditional(drug: np.ndarray) -> tuple[float, float, int]:
    """Mean over subjects of P(drug | previous drug) and of P(drug | previous sucrose), each subject's
    pairs of consecutive choice trials pooled over its sessions, over the subjects with at least
    `MIN_PAIRS` pairs of each kind (a within-subject measure: pooled over subjects, the subjects that
    prefer the drug would make drug choices follow drug choices by themselves); and their number."""
    before, after = drug[:, :, :-1], drug[:, :, 1:]
    n_drug, n_sucrose = before.sum(axis=(1, 2)), (~before).sum(axis=(1, 2))
    kept = (n_drug >= MIN_PAIRS) & (n_sucrose >= MIN_PAIRS)
    p_drug = (after & before).sum(axis=(1, 2))[kept] / n_drug[kept]
    p_sucrose = (after & ~before).sum(axis=(1, 2))[kept] / n_sucrose[kept]
    return float(p_drug.mean()), float(p_sucrose.mean()), int(kept.sum())


def main(agent: str = "q_learning", n: int = 200, interval_min: float = 10.0) -> None:
    calendar = choice_calendar()
    trials = session("discrete_choice").trials
    calendar[-1] = {**calendar[-1], "trial_interval_min": interval_min, "session_minutes": trials * interval_min}
    total = sum(int(entry.get("days", 1)) for entry in calendar)
    traced = tuple(range(total - CHOICE_SESSIONS, total))
    for zone in (True, False):
        result = run_cohort(n, calendar, agent=agent, seed=SEED, trace_sessions=traced,
                            event_subjects=tuple(range(n)),
                            env_kwargs={"individual_differences": True, "sucrose_lever": True,
                                        "compulsion_zone": zone})
        cells = []
        for lo, hi in WINDOWS:
            days = [traced[k - 1] for k in range(lo, hi + 1)]
            p_drug, p_sucrose, counted = conditional(choice_sequences(result.events, days, n, interval_min))
            cells.append(f"sessions {lo}-{hi}: P(drug | drug) {p_drug:.2f}, P(drug | sucrose) {p_sucrose:.2f} "
                         f"({counted} subjects)")
        print(f"- {agent}, {n} subjects, trials {interval_min:g} min apart, compulsion zone "
              f"{'on' if zone else 'off'}: " + "; ".join(cells))


if __name__ == "__main__":
    run_script(main)
