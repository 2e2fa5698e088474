"""Escalation of intake with long access (Ahmed & Koob 1998)."""

from __future__ import annotations

import numpy as np

from rlcraving import stats
from rlcraving.agents.cohort import CohortResult
from rlcraving.validation.protocols import acquisition, cohort, diff_ci, fmt, mean_ci, per_subject, rows
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

PRE_DAYS, ACCESS_DAYS = 5, 14
#: LgA first-hour intake must rise by at least this fraction of its first access session.
MIN_LGA_RISE = 0.25
#: ShA first-hour intake must stay within this fraction of its first access session.
MAX_SHA_DRIFT = 0.15


def protocol(cfg: Config) -> Measurement:
    """After five 1-h acquisition sessions, 14 sessions of 1-h (ShA) or 6-h (LgA) access."""
    groups = {name: cohort(cfg, acquisition(PRE_DAYS) + acquisition(ACCESS_DAYS, session_minutes=minutes), name)
              for name, minutes in (("ShA", 60.0), ("LgA", 360.0))}
    late = range(PRE_DAYS + ACCESS_DAYS - 4, PRE_DAYS + ACCESS_DAYS)

    def first_hour(r: CohortResult, day: int) -> np.ndarray:
        return per_subject(r, "first_hour_infusions", day)

    def change(r: CohortResult) -> np.ndarray:
        return np.mean([first_hour(r, d) for d in late], axis=0) - first_hour(r, PRE_DAYS)

    c_sha, c_lga = change(groups["ShA"]), change(groups["LgA"])
    est = diff_ci(c_sha, c_lga, cfg.seed)
    from_5 = [first_hour(groups["LgA"], d) - first_hour(groups["ShA"], d)
              for d in range(PRE_DAYS + 4, PRE_DAYS + ACCESS_DAYS)]
    lga_over_sha = stats.describe(np.mean(from_5, axis=0), seed=cfg.seed)
    base = first_hour(groups["LgA"], PRE_DAYS).mean()
    detail = (f"first-hour infusions, change from the first to the last 4 of {ACCESS_DAYS} access sessions (after "
              f"{PRE_DAYS} 1-h acquisition sessions): LgA {mean_ci(c_lga, cfg.seed)} from {base:.1f}, ShA "
              f"{mean_ci(c_sha, cfg.seed)}; LgA minus ShA first-hour intake over access sessions 5-{ACCESS_DAYS}: "
              f"{fmt(lga_over_sha.mean)} [{fmt(lga_over_sha.ci_low)}, {fmt(lga_over_sha.ci_high)}]")
    sha_stable = abs(c_sha.mean()) <= MAX_SHA_DRIFT * max(first_hour(groups["ShA"], PRE_DAYS).mean(), 1e-9)
    return Measurement("LgA minus ShA escalation of first-hour infusions", est,
                       est[1] > 0 and lga_over_sha.ci_low > 0,
                       c_lga.mean() >= MIN_LGA_RISE * max(base, 1e-9) and sha_stable, detail,
                       rows(ShA_change=c_sha, LgA_change=c_lga),
                       y_label="change in first-hour infusions")


UNIT = register(Phenomenon(
    key="escalation", title="Escalation with long access", paper="Ahmed & Koob 1998",
    paper_effect="LgA (6 h) first-hour intake escalates over sessions, ShA (1 h) stays stable; LgA exceeds ShA "
                 "from about session 5",
    paper_size="Ahmed & Koob 1998, Fig. 2: LgA total intake rises from session 5 on and first-hour infusions "
               "exceed ShA's in sessions 5-8, 11-12, 14-15 and 17-22 (N = 12 per group); ShA intake stays stable",
    criterion=f"direction: LgA minus ShA change > 0 and LgA above ShA over access sessions 5-14 (95% CIs above 0); "
              f"size: LgA first-hour intake rises >= {100 * MIN_LGA_RISE:.0f}% of its first access session and "
              f"ShA's moves <= {100 * MAX_SHA_DRIFT:.0f}%",
    protocol=protocol, calibrated_on=("relief_weight", "allostasis_rate_per_h", "satiety_set_point_shift")))
