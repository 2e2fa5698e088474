"""A vulnerable minority: punishment resistance and drug preference in a heterogeneous cohort."""

from __future__ import annotations

from typing import Any

import numpy as np

from rlcraving import stats
from rlcraving.protocol import session
from rlcraving.validation.protocols import SA_DAYS, acquisition, cohort, per_subject, rows, test_session
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: Punished intake at least this fraction of unpunished intake counts as punishment-resistant.
RESISTANT_FRACTION = 0.5
#: Deroche-Gamonet et al. 2004: 17% of rats; the range allows a binomial spread around it.
RESISTANT_RANGE = (0.10, 0.25)
#: Cantin et al. 2010: fewer than 15% prefer cocaine, but some do.
PREFERS_DRUG_RANGE = (0.01, 0.15)
#: Cantin et al. 2010 train each lever on its own, on alternate days, before the choice sessions.
TRAINING_PAIRS = 5
#: Discrete-trials choice sessions (`discrete_choice`, Lenoir et al. 2007), and the last of them whose
#: answered choice trials make a subject's preference: the rats' preference is the stable one. The
#: agents' moves towards cocaine across sessions and keeps moving slowly (q_learning, 200 subjects, seed 0:
#: the share preferring cocaine is 4.5% over sessions 1-3, 15.0% over 3-5, 29.5% over 10-12, 34.0% over
#: 13-15 and 41.0% over 28-30, before the compulsion zone; 41.5% over 13-15 with it; docs/model.md
#: 3.3); the row reads sessions 13-15, and `EARLY` beside them.
#: The growth is the model's, not the rats': the relief of the load the choice sessions' own cocaine
#: builds and the compulsion zone, which the cocaine left from one trial reaches at the next, grow it
#: (measured by experiments/probe_choice.py, docs/model.md 3.3).
CHOICE_SESSIONS, PREFERENCE_SESSIONS = 15, 3
EARLY_SESSIONS = (3, 5)


def choice_calendar() -> list[dict[str, Any]]:
    """Cocaine and sucrose self-administration on alternate days, then discrete-trials choice sessions."""
    pair = test_session("self_administration") + test_session("sucrose_self_administration")
    return pair * TRAINING_PAIRS + [{"phase": "discrete_choice", "days": CHOICE_SESSIONS}]


def drug_preference(result: Any, sessions: int, before: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(share of answered choice trials on the drug lever, answered choice trials) per subject over the
    `sessions` sessions of `result` that end `before` sessions before its last (share NaN where no
    choice trial was answered)."""
    days = [-1 - before - k for k in range(sessions)]
    drug = sum(per_subject(result, "drug_choices", d) for d in days)
    answered = drug + sum(per_subject(result, "sucrose_choices", d) for d in days)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(answered > 0, drug / answered, np.nan), answered


def protocol(cfg: Config) -> Measurement:
    """FR1 training with individual differences, then a punished session; a discrete-trials choice between
    cocaine and sucrose after both rewards were trained (Cantin 2010), and, for comparison, after cocaine
    training alone."""
    base = cohort(cfg, acquisition() + test_session("punished_self_administration"), individual_differences=True)
    before = per_subject(base, "infusions", SA_DAYS - 1)
    punished = per_subject(base, "infusions", -1)
    resistant = punished >= RESISTANT_FRACTION * np.maximum(before, 1e-9)
    trained = cohort(cfg, choice_calendar(), individual_differences=True, sucrose_lever=True)
    share_drug, answered = drug_preference(trained, PREFERENCE_SESSIONS)
    prefers = np.nan_to_num(share_drug, nan=0.0) > 0.5   # more than half the choices
    early_share, _ = drug_preference(trained, EARLY_SESSIONS[1] - EARLY_SESSIONS[0] + 1,
                                     CHOICE_SESSIONS - EARLY_SESSIONS[1])
    early = np.nan_to_num(early_share, nan=0.0) > 0.5
    per_session = [per_subject(trained, "drug_choices", -CHOICE_SESSIONS + k).mean() for k in range(CHOICE_SESSIONS)]
    untrained_share, _ = drug_preference(cohort(cfg, acquisition() + test_session("discrete_choice"),
                                                individual_differences=True, sucrose_lever=True), 1)
    untrained = np.nan_to_num(untrained_share, nan=0.0) > 0.5
    offered = PREFERENCE_SESSIONS * (session("discrete_choice").trials - session("discrete_choice").sampling_trials)
    share = float(resistant.mean())
    lo, hi = stats.bootstrap_ci(resistant.astype(float), seed=cfg.seed)
    p_lo, p_hi = stats.bootstrap_ci(prefers.astype(float), seed=cfg.seed)
    detail = (f"punishment-resistant (punished intake >= {100 * RESISTANT_FRACTION:.0f}% of unpunished): "
              f"{100 * share:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]; prefer cocaine over sucrose (more than half "
              f"the answered choice trials on the drug lever in the last {PREFERENCE_SESSIONS} of "
              f"{CHOICE_SESSIONS} discrete-trials choice sessions, after {TRAINING_PAIRS} days of each reward on "
              f"alternate days): {100 * prefers.mean():.1f}% [{100 * p_lo:.1f}, {100 * p_hi:.1f}] (drug choices "
              f"{100 * np.nanmean(share_drug):.1f}% of answered, median subject {100 * np.nanmedian(share_drug):.0f}%; "
              f"{answered.mean():.1f} of {offered} choice trials answered, {int((answered == 0).sum())} subjects "
              f"answered none); over choice sessions {EARLY_SESSIONS[0]}-{EARLY_SESSIONS[1]}: "
              f"{100 * early.mean():.1f}%; drug choices per session (of {offered // PREFERENCE_SESSIONS}) "
              f"{per_session[0]:.2f} in the first, {per_session[CHOICE_SESSIONS // 2]:.2f} in session "
              f"{CHOICE_SESSIONS // 2 + 1}, {per_session[-1]:.2f} in the last; in one choice session after cocaine "
              f"training alone (a novel sucrose lever): {100 * untrained.mean():.1f}%; the rats' preference for the "
              f"sweet reward appears within a few sessions and stays, the agents' drifts towards cocaine: the relief "
              f"of the load the choice sessions' own cocaine builds and the compulsion zone grow it "
              f"(docs/model.md 3.3)")
    size = (RESISTANT_RANGE[0] <= share <= RESISTANT_RANGE[1]
            and PREFERS_DRUG_RANGE[0] <= prefers.mean() <= PREFERS_DRUG_RANGE[1])
    return Measurement("share of punishment-resistant subjects", (share, lo, hi), 0.0 < share < 0.5, size, detail,
                       rows(resistant=resistant.astype(float), prefers_drug=prefers.astype(float),
                            drug_choice_share=np.nan_to_num(share_drug, nan=0.0),
                            prefers_drug_untrained_sucrose=untrained.astype(float)),
                       y_label="share of subjects (or of choices)")


UNIT = register(Phenomenon(
    key="individual_differences", title="A vulnerable minority",
    paper="Deroche-Gamonet et al. 2004; Cantin et al. 2010",
    paper_effect="in a heterogeneous cohort a minority (about 15-20%) stays punishment-resistant, and fewer "
                 "than 15% prefer cocaine over a sweet alternative",
    paper_size="Deroche-Gamonet et al. 2004, Fig. 3: 17% of rats meet all three addiction-like criteria "
               "(including resistance to punishment); Cantin et al. 2010 (each lever trained alone on alternate "
               "days, then the discrete-trials choice of Lenoir et al. 2007: 4 sampling and 12 choice trials 10 min "
               "apart): fewer than 15% prefer cocaine over the sweet alternative, even at "
               "the heaviest cocaine history",
    criterion=f"direction: a minority (0 < share < 50%); size: punishment-resistant "
              f"{100 * RESISTANT_RANGE[0]:.0f}-{100 * RESISTANT_RANGE[1]:.0f}% and drug-preferring after both rewards "
              f"were trained {100 * PREFERS_DRUG_RANGE[0]:.0f}-{100 * PREFERS_DRUG_RANGE[1]:.0f}%",
    protocol=protocol, calibrated_on=("shock_aversion_per_mA",)))
