"""A vulnerable minority: punishment resistance and drug preference in a heterogeneous cohort."""

from __future__ import annotations

from typing import Any

import numpy as np

from rlcraving import stats
from rlcraving.validation.protocols import SA_DAYS, acquisition, cohort, per_subject, rows, test_session
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: Punished intake at least this fraction of unpunished intake counts as punishment-resistant.
RESISTANT_FRACTION = 0.5
#: Deroche-Gamonet et al. 2004: 17% of rats; the range allows a binomial spread around it.
RESISTANT_RANGE = (0.10, 0.25)
#: Cantin et al. 2010: fewer than 15% prefer cocaine, but some do.
PREFERS_DRUG_RANGE = (0.01, 0.15)
#: Cantin et al. 2010 train each lever on its own, on alternate days, before the choice sessions.
TRAINING_PAIRS, CHOICE_SESSIONS = 5, 3


def choice_calendar() -> list[dict[str, Any]]:
    """Cocaine and sucrose self-administration on alternate days, then choice sessions (both levers)."""
    pair = test_session("self_administration") + test_session("sucrose_self_administration")
    return pair * TRAINING_PAIRS + [{"phase": "choice", "days": CHOICE_SESSIONS}]


def _prefers_drug(result: Any) -> np.ndarray:
    return per_subject(result, "infusions", -1) > per_subject(result, "pellets", -1)


def protocol(cfg: Config) -> Measurement:
    """FR1 training with individual differences, then a punished session; a cocaine-sucrose choice after
    both rewards were trained (Cantin 2010), and, for comparison, after cocaine training alone."""
    base = cohort(cfg, acquisition() + test_session("punished_self_administration"), individual_differences=True)
    before = per_subject(base, "infusions", SA_DAYS - 1)
    punished = per_subject(base, "infusions", -1)
    resistant = punished >= RESISTANT_FRACTION * np.maximum(before, 1e-9)
    trained = cohort(cfg, choice_calendar(), individual_differences=True, sucrose_lever=True)
    prefers = _prefers_drug(trained)
    untrained = _prefers_drug(cohort(cfg, acquisition() + test_session("choice"), individual_differences=True,
                                     sucrose_lever=True))
    infusions, pellets = per_subject(trained, "infusions", -1).mean(), per_subject(trained, "pellets", -1).mean()
    share = float(resistant.mean())
    lo, hi = stats.bootstrap_ci(resistant.astype(float), seed=cfg.seed)
    detail = (f"punishment-resistant (punished intake >= {100 * RESISTANT_FRACTION:.0f}% of unpunished): "
              f"{100 * share:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]; prefer cocaine over sucrose (more infusions than "
              f"pellets in the last of {CHOICE_SESSIONS} choice sessions, after {TRAINING_PAIRS} days of each reward "
              f"on alternate days): {100 * prefers.mean():.1f}% (infusions {infusions:.3g}, pellets {pellets:.3g}); "
              f"in one choice session after cocaine training alone (a novel sucrose lever): "
              f"{100 * untrained.mean():.1f}%. "
              "A free-operant count is not Cantin's discrete-trial choice: a session's pellets (up to 150 an hour) "
              "and infusions (held near the satiety level) are not on one scale, so the counts favour sucrose")
    size = (RESISTANT_RANGE[0] <= share <= RESISTANT_RANGE[1]
            and PREFERS_DRUG_RANGE[0] <= prefers.mean() <= PREFERS_DRUG_RANGE[1])
    return Measurement("share of punishment-resistant subjects", (share, lo, hi), 0.0 < share < 0.5, size, detail,
                       rows(resistant=resistant.astype(float), prefers_drug=prefers.astype(float),
                            prefers_drug_untrained_sucrose=untrained.astype(float)))


UNIT = register(Phenomenon(
    key="individual_differences", title="A vulnerable minority",
    paper="Deroche-Gamonet et al. 2004; Cantin et al. 2010",
    paper_effect="in a heterogeneous cohort a minority (about 15-20%) stays punishment-resistant, and fewer "
                 "than 15% prefer cocaine over a sweet alternative",
    paper_size="Deroche-Gamonet et al. 2004, Fig. 3: 17% of rats meet all three addiction-like criteria "
               "(including resistance to punishment); Cantin et al. 2010 (each lever trained alone on alternate "
               "days, then discrete-trial choice): fewer than 15% prefer cocaine over the sweet alternative, even at "
               "the heaviest cocaine history",
    criterion=f"direction: a minority (0 < share < 50%); size: punishment-resistant "
              f"{100 * RESISTANT_RANGE[0]:.0f}-{100 * RESISTANT_RANGE[1]:.0f}% and drug-preferring after both rewards "
              f"were trained {100 * PREFERS_DRUG_RANGE[0]:.0f}-{100 * PREFERS_DRUG_RANGE[1]:.0f}%",
    protocol=protocol, calibrated_on=("shock_aversion_per_mA",)))
