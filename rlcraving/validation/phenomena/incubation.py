"""Incubation of cue-induced craving (Grimm et al. 2001; Lu et al. 2004)."""

from __future__ import annotations

from rlcraving.validation.protocols import (
    acquisition,
    cohort,
    diff_ci,
    extinction,
    fmt,
    mean_ci,
    per_subject,
    rows,
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

ABSTINENCE_DAYS = (1, 60, 180)
#: Cue-induced seeking after 60 days over that after 1 day, at least: Grimm et al. 2001 report a
#: several-fold rise (minimal after 1 day, maximal after 60), read here as at least 3x.
MIN_INCUBATION_RATIO = 3.0
#: Drug-primed seeking may change by at most this fraction of its day-1 level (or not significantly).
MAX_PRIME_CHANGE = 0.25


def protocol(cfg: Config) -> Measurement:
    """Grimm 2001: cue-induced seeking tested after forced abstinence (the first session after it
    is an extinction session with the cue). Lu 2004: drug-primed seeking after abstinence and
    extinction, against the same subjects' extinction control."""
    cue, prime = {}, {}
    for d in ABSTINENCE_DAYS:
        cue[d] = per_subject(cohort(cfg, acquisition() + test_session("cue_reinstatement", abstinence_days=d)),
                             "active_presses", -1)
        history = acquisition() + extinction(3, abstinence_days=d)
        primed = per_subject(cohort(cfg, history + test_session("prime_reinstatement")), "active_presses", -1)
        control = per_subject(cohort(cfg, history + test_session("extinction")), "active_presses", -1)
        prime[d] = primed - control
    est = diff_ci(cue[1], cue[60], cfg.seed)
    ratio = cue[60].mean() / max(cue[1].mean(), 1e-9)
    declined = cue[180].mean() < cue[60].mean()
    prime_change = diff_ci(prime[1], prime[60], cfg.seed)
    prime_flat = prime_change[1] <= 0 or abs(prime_change[0]) <= MAX_PRIME_CHANGE * abs(prime[1].mean())
    detail = (f"cue-induced presses after {', '.join(f'{d} d {mean_ci(cue[d], cfg.seed)}' for d in ABSTINENCE_DAYS)} "
              f"(60 d / 1 d = {ratio:.2f}); drug-primed presses over the extinction control after "
              f"{', '.join(f'{d} d {mean_ci(prime[d], cfg.seed)}' for d in ABSTINENCE_DAYS)} (60 d minus 1 d: "
              f"{fmt(prime_change[0])} [{fmt(prime_change[1])}, {fmt(prime_change[2])}])")
    return Measurement("cue-induced presses, 60 d minus 1 d abstinence", est, est[1] > 0 and declined,
                       ratio >= MIN_INCUBATION_RATIO and prime_flat, detail,
                       rows(**{f"cue_{d}d": v for d, v in cue.items()}, **{f"prime_{d}d": v for d, v in prime.items()}))


UNIT = register(Phenomenon(
    key="incubation", title="Incubation of cue-induced craving", paper="Grimm et al. 2001; Lu et al. 2004",
    paper_effect="cue-induced seeking after 60 days far exceeds that after 1 day and has declined by 180 days; "
                 "drug-primed seeking does not incubate",
    paper_size="Grimm et al. 2001, Fig. 1: responding in extinction and for the cue is minimal after 1 day and "
               "maximal after 60 days of withdrawal (several-fold); Lu et al. 2004: elevated up to 3 months, lower "
               "after 6 months, and cocaine-primed seeking unchanged over 6 months",
    criterion=f"direction: 60 d minus 1 d > 0 (95% CI) and 180 d below 60 d; size: 60 d / 1 d >= "
              f"{MIN_INCUBATION_RATIO:g} and primed seeking flat (60 d minus 1 d CI reaches 0 or |change| <= "
              f"{100 * MAX_PRIME_CHANGE:.0f}%)",
    protocol=protocol,
    calibrated_on=("incubation_gain", "incubation_rise_days", "incubation_decay_days", "incubation_load_infusions")))
