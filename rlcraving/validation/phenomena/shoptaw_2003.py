"""Shoptaw et al. 2003 run as the paper ran it, in the person's world (experiments/shoptaw_2003.yaml)."""

from __future__ import annotations

from rlcraving.validation.phenomena.trials_common import describe, effects, many_trials, outcome_rows
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

PAPER_EFFECT = 12.7 - 9.0   # benzoylecgonine-free urines, baclofen minus placebo


def protocol(cfg: Config) -> Measurement:
    results = many_trials("shoptaw_2003", cfg)
    found = effects(results, cfg.seed)
    value, lo, hi = found["all"]
    size = lo <= PAPER_EFFECT <= hi and found["heavy"][0] > found["light"][0]
    return Measurement("benzoylecgonine-free urines, baclofen minus placebo (of 48)", found["all"], value > 0, size,
                       describe(results, found), outcome_rows(results), n_subjects=int(results.trials["n"].sum()))


UNIT = register(Phenomenon(
    key="shoptaw_2003", title="Baclofen trial in outpatients (Shoptaw 2003)", paper="Shoptaw et al. 2003",
    paper_effect="more benzoylecgonine-free urines on baclofen (12.7 vs 9.0, GEE p = .021), the benefit "
                 "strongest in heavier users; retention and craving did not differ",
    paper_size="baclofen 20 mg three times a day (n = 35) vs placebo (n = 35), 16 weeks, urines three times a "
               "week: +3.7 benzoylecgonine-free urines",
    criterion="direction: more free urines on baclofen (mean over trials at the paper's size); size: the "
              "95% CI of that mean covers +3.7 and heavier users benefit more than lighter",
    protocol=protocol))
