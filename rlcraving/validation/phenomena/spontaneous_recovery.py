"""Spontaneous recovery: extinguished cocaine seeking returns with time since extinction."""

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
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: Di Ciano & Everitt 2002 tested cocaine seeking 1 day or 21 days after a 7-day extinction (this row's
#: extinction is the report's 10 sessions).
SHORT_DAYS, LONG_DAYS = 1.0, 21.0


def protocol(cfg: Config) -> Measurement:
    """FR1 and extinction in A, then one more extinction session 1 or 21 days later (same subjects)."""
    history = acquisition() + extinction()
    short = cohort(cfg, history + test_session("extinction", abstinence_days=SHORT_DAYS))
    long = cohort(cfg, history + test_session("extinction", abstinence_days=LONG_DAYS))
    sa = per_subject(short, "active_presses", SA_DAYS - 1)
    after_short, after_long = per_subject(short, "active_presses", -1), per_subject(long, "active_presses", -1)
    recovery = paired_ci(after_short, after_long, cfg.seed)
    below_sa = paired_ci(sa, after_long, cfg.seed)
    detail = (f"active presses: last FR1 {mean_ci(sa, cfg.seed)}, test {SHORT_DAYS:g} day after extinction "
              f"{mean_ci(after_short, cfg.seed)}, {LONG_DAYS:g} days after {mean_ci(after_long, cfg.seed)}")
    return Measurement(f"test {LONG_DAYS:g} days minus {SHORT_DAYS:g} day after extinction (active presses)",
                       recovery, recovery[1] > 0, below_sa[2] < 0, detail,
                       rows(last_sa=sa, short=after_short, long=after_long),
                       y_label="active presses per session")


UNIT = register(Phenomenon(
    key="spontaneous_recovery", title="Spontaneous recovery with time since extinction",
    paper="Di Ciano & Everitt 2002; Rescorla 2004; Bouton 2004",
    paper_effect="an extinguished response recovers when time passes after extinction, more after a longer "
                 "interval, and only in part",
    paper_size="Di Ciano & Everitt 2002 (abstract; cocaine under a second-order schedule, test 1 or 21 days "
               "after a 7-day extinction): responding was significantly decreased the day after extinction and "
               "spontaneously recovered after the further 21 days without cocaine or its cues; the abstract states "
               "no press counts (they are in the paper's figures, not in the stored sources). Rescorla 2004 "
               "(review): recovery grows with the retention interval and is partial, below the trained level",
    criterion=f"direction: test {LONG_DAYS:g} days after extinction minus test after {SHORT_DAYS:g} day > 0 (95% CI "
              "above 0); size: the 21-day test below the last FR1 session (95% CI of the difference below 0)",
    protocol=protocol))
