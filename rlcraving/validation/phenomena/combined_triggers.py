"""Cue and footshock stress together: potentiated, within what one session allows."""

from __future__ import annotations

import numpy as np

from rlcraving import stats
from rlcraving.validation.protocols import (
    SA_DAYS,
    acquisition,
    cohort,
    extinction,
    fmt,
    mean_ci,
    per_subject,
    reinstatement,
    rows,
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: The combined effect at most this many times the sum of the two triggers' effects alone.
MAX_INTERACTION = 2.0


def protocol(cfg: Config) -> Measurement:
    """After FR1 and extinction: the cue test, the 0.5 mA stress test, and the cue test right after the
    same footshock, each against the same subjects' extinction control."""
    control, cue = reinstatement(cfg, "cue_reinstatement")
    _, stress = reinstatement(cfg, "stress_reinstatement")
    _, both = reinstatement(cfg, "cue_reinstatement", footshock_mA=0.5)
    sa = per_subject(cohort(cfg, acquisition() + extinction() + test_session("extinction")), "active_presses",
                     SA_DAYS - 1)
    over_cue = both - cue
    est = (float(over_cue.mean()), *stats.bootstrap_ci(over_cue, seed=cfg.seed))
    singles = (cue - control).mean() + (stress - control).mean()
    ratio = (both - control).mean() / max(singles, 1e-9)
    detail = (f"active presses: extinction control {mean_ci(control, cfg.seed)}, cue {mean_ci(cue, cfg.seed)}, "
              f"stress {mean_ci(stress, cfg.seed)}, cue + stress {mean_ci(both, cfg.seed)}, last FR1 "
              f"{mean_ci(sa, cfg.seed)}; combined effect = {fmt(ratio)} x the sum of the two alone")
    return Measurement("cue + stress minus cue alone (active presses)", est, est[1] > 0,
                       bool(ratio <= MAX_INTERACTION and np.isfinite(ratio)), detail,
                       rows(control=control, cue=cue, stress=stress, cue_and_stress=both),
                       y_label="active presses in the 1-h test")


UNIT = register(Phenomenon(
    key="combined_triggers", title="Cue and stress together potentiate reinstatement",
    paper="Buffalari & See 2009",
    paper_effect="intermittent footshock (0.5 and 0.75 mA) before a cue test potentiates cue-induced reinstatement "
                 "of cocaine seeking beyond the cue alone",
    paper_size="Buffalari & See 2009 (abstract): footshock at 0.5 and 0.75 mA reinstated alone and potentiated "
               "cue-induced reinstatement (0.25 mA did neither); the press counts are in their figures, which the "
               "stored sources (abstracts) do not give, so the size criterion is a bound, not the paper's number: "
               "the combined effect is of the order of the sum of the two (a 1-h session of a rat, not the 8x the "
               "sum the model gave when stress kept the cue from extinguishing)",
    criterion=f"direction: cue + stress minus cue alone > 0 (95% CI above 0); size: the combined effect over the "
              f"extinction control <= {MAX_INTERACTION:g} x the sum of the cue's and the stressor's effects alone",
    protocol=protocol))
