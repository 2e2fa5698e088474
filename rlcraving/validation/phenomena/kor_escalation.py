"""Dynorphin/KOR recruited by drug history: the knockout blunts escalated motivation after long
access and spares short-access intake (Wee et al. 2009)."""

from __future__ import annotations

from rlcraving.validation.phenomena.escalation import ACCESS_DAYS, PRE_DAYS
from rlcraving.validation.protocols import (
    acquisition,
    cohort,
    diff_ci,
    fmt_ci,
    mean_ci,
    per_subject,
    rows,
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: Wee et al. 2009: KOR antagonism changed PR intake by -27.4% after long access, +1.7% after short.
LGA_CHANGE_RANGE = (-0.45, -0.10)
MAX_SHA_CHANGE = 0.10


def protocol(cfg: Config) -> Measurement:
    """The escalation history (5 1-h sessions, then 14 of 1-h or 6-h access), then a progressive-ratio
    session; wild type against KOR knockout (the same subjects otherwise)."""
    breakpoints = {}
    for access, minutes in (("ShA", 60.0), ("LgA", 360.0)):
        calendar = (acquisition(PRE_DAYS) + acquisition(ACCESS_DAYS, session_minutes=minutes)
                    + test_session("progressive_ratio"))
        for ko in (False, True):
            r = cohort(cfg, calendar, access, kor_knockout=ko)
            breakpoints[(access, ko)] = per_subject(r, "breakpoint", -1)
    change = {a: breakpoints[(a, True)].mean() / max(breakpoints[(a, False)].mean(), 1e-9) - 1.0
              for a in ("ShA", "LgA")}
    lga = diff_ci(breakpoints[("LgA", False)], breakpoints[("LgA", True)], cfg.seed)
    sha = diff_ci(breakpoints[("ShA", False)], breakpoints[("ShA", True)], cfg.seed)
    detail = "; ".join(
        f"{a}: breakpoint WT {mean_ci(breakpoints[(a, False)], cfg.seed)}, KO "
        f"{mean_ci(breakpoints[(a, True)], cfg.seed)} (KO minus WT {fmt_ci(d)}, {100 * change[a]:+.0f}%)"
        for a, d in (("ShA", sha), ("LgA", lga)))
    size = (LGA_CHANGE_RANGE[0] <= change["LgA"] <= LGA_CHANGE_RANGE[1]
            and abs(change["ShA"]) <= MAX_SHA_CHANGE)
    return Measurement("PR breakpoint after long access, KO minus WT", lga, lga[2] < 0, size, detail,
                       rows(**{f"{a}_{'KO' if ko else 'WT'}": v for (a, ko), v in breakpoints.items()}),
                       y_label="breakpoint (last ratio completed)")


UNIT = register(Phenomenon(
    key="kor_escalation", title="KOR knockout blunts escalated motivation, spares short access",
    paper="Wee et al. 2009; Koob & Le Moal 2008",
    paper_effect="dynorphin/KOR is recruited by extended drug access: blocking KOR lowers the escalated "
                 "motivation of long-access rats and leaves short-access rats unchanged",
    paper_size="Wee et al. 2009 (abstract; PR data): nor-BNI changed cocaine intake under PR by -27.4% in 6 h/day "
               "(LgA) rats and +1.7% in 1 h/day (ShA) rats",
    criterion=f"direction: LgA breakpoint KO minus WT < 0 (95% CI); size: LgA change in "
              f"[{100 * LGA_CHANGE_RANGE[0]:.0f}%, {100 * LGA_CHANGE_RANGE[1]:.0f}%] and ShA change within "
              f"+-{100 * MAX_SHA_CHANGE:.0f}%",
    protocol=protocol, calibrated_on=("compulsion_rate_per_h",)))
