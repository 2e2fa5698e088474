"""A vulnerable minority: punishment resistance and drug preference in a heterogeneous cohort."""

from __future__ import annotations

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


def protocol(cfg: Config) -> Measurement:
    """FR1 training with individual differences, then a punished session; a cocaine-sucrose choice."""
    base = cohort(cfg, acquisition() + test_session("punished_self_administration"), individual_differences=True)
    before = per_subject(base, "infusions", SA_DAYS - 1)
    punished = per_subject(base, "infusions", -1)
    resistant = punished >= RESISTANT_FRACTION * np.maximum(before, 1e-9)
    choice = cohort(cfg, acquisition() + test_session("choice"), individual_differences=True, sucrose_lever=True)
    prefers = per_subject(choice, "infusions", -1) > per_subject(choice, "pellets", -1)
    share = float(resistant.mean())
    lo, hi = stats.bootstrap_ci(resistant.astype(float), seed=cfg.seed)
    detail = (f"punishment-resistant (punished intake >= {100 * RESISTANT_FRACTION:.0f}% of unpunished): "
              f"{100 * share:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]; prefer cocaine over sucrose: "
              f"{100 * prefers.mean():.0f}%")
    size = (RESISTANT_RANGE[0] <= share <= RESISTANT_RANGE[1]
            and PREFERS_DRUG_RANGE[0] <= prefers.mean() <= PREFERS_DRUG_RANGE[1])
    return Measurement("share of punishment-resistant subjects", (share, lo, hi), 0.0 < share < 0.5, size, detail,
                       rows(resistant=resistant.astype(float), prefers_drug=prefers.astype(float)))


UNIT = register(Phenomenon(
    key="individual_differences", title="A vulnerable minority",
    paper="Deroche-Gamonet et al. 2004; Cantin et al. 2010",
    paper_effect="in a heterogeneous cohort a minority (about 15-20%) stays punishment-resistant, and fewer "
                 "than 15% prefer cocaine over a sweet alternative",
    paper_size="Deroche-Gamonet et al. 2004, Fig. 3: 17% of rats meet all three addiction-like criteria "
               "(including resistance to punishment); Cantin et al. 2010: fewer than 15% prefer cocaine over the "
               "sweet alternative, even at the heaviest cocaine history",
    criterion=f"direction: a minority (0 < share < 50%); size: punishment-resistant "
              f"{100 * RESISTANT_RANGE[0]:.0f}-{100 * RESISTANT_RANGE[1]:.0f}% and drug-preferring "
              f"{100 * PREFERS_DRUG_RANGE[0]:.0f}-{100 * PREFERS_DRUG_RANGE[1]:.0f}%",
    protocol=protocol, calibrated_on=("shock_aversion_per_mA",)))
