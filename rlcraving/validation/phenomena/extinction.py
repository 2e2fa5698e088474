"""Extinction of cocaine seeking."""

from __future__ import annotations

from rlcraving.validation.protocols import (
    SA_DAYS,
    acquisition,
    cohort,
    extinction,
    mean_ci,
    paired_ci,
    per_subject,
    rows,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: Last extinction session at most this fraction of the last FR1 session.
MAX_FRACTION_OF_SA = 0.5


def protocol(cfg: Config) -> Measurement:
    """Ten FR1 sessions, then ten extinction sessions (presses give the cue but no drug)."""
    r = cohort(cfg, acquisition() + extinction())
    sa = per_subject(r, "active_presses", SA_DAYS - 1)
    ext_first, ext_last = per_subject(r, "active_presses", SA_DAYS), per_subject(r, "active_presses", -1)
    est = paired_ci(sa, ext_last, cfg.seed)
    frac = ext_last.mean() / max(sa.mean(), 1e-9)
    detail = (f"active presses: last FR1 {mean_ci(sa, cfg.seed)}, first extinction {mean_ci(ext_first, cfg.seed)},"
              f" last extinction {mean_ci(ext_last, cfg.seed)} ({100 * frac:.0f}% of FR1)")
    return Measurement("change in active presses, last extinction vs last FR1 session", est, est[2] < 0,
                       frac <= MAX_FRACTION_OF_SA, detail, rows(last_sa=sa, first_ext=ext_first, last_ext=ext_last),
                       y_label="active presses per session")


UNIT = register(Phenomenon(
    key="extinction", title="Extinction", paper="Shaham et al. 2003",
    paper_effect="presses fall over extinction sessions to a low baseline",
    paper_size="no single size: extinction runs until responding meets a criterion well below training levels "
               "(Shaham et al. 2003, the extinction-reinstatement procedure)",
    criterion=f"direction: last extinction minus last FR1 session < 0 (95% CI below 0); size: last extinction "
              f"session <= {100 * MAX_FRACTION_OF_SA:.0f}% of the last FR1 session",
    protocol=protocol))
