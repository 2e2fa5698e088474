"""Kahn et al. 2009 run as the paper ran it, in the person's world (experiments/kahn_2009.yaml)."""

from __future__ import annotations

from rlcraving.validation.phenomena.trials_common import describe, effects, many_trials, outcome_rows
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register


def protocol(cfg: Config) -> Measurement:
    results = many_trials("kahn_2009", cfg)
    found = effects(results, cfg.seed)
    _, lo, hi = found["all"]
    null = lo <= 0.0 <= hi
    return Measurement("confirmed abstinent weeks, baclofen minus placebo (of 8)", found["all"], null, null,
                       describe(results, found), outcome_rows(results), n_subjects=int(results.trials["n"].sum()))


UNIT = register(Phenomenon(
    key="kahn_2009", title="Baclofen trial in severe users (Kahn 2009)", paper="Kahn et al. 2009",
    paper_effect="no difference from placebo in self-reported use confirmed by urine",
    paper_size="baclofen 60 mg/day vs placebo, 8 weeks, N = 160 severe users: null",
    criterion="direction and size: the 95% CI of the mean difference in confirmed abstinent weeks over "
              "trials at the paper's size includes 0",
    protocol=protocol))
