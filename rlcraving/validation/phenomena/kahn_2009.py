"""Kahn et al. 2009 run as the paper ran it, in the person's world (experiments/kahn_2009.yaml).

The criterion was written before the model was run against it. A null is a reproduction only where
the outcome could have moved: if almost nobody has a confirmed abstinent week in either arm, "no
difference" is a floor, not a finding. So the size criterion asks, besides a small difference, that
the placebo arm have at least `MIN_PLACEBO_WEEKS` abstinent weeks of 8 on average (chosen: room for
an effect of Shoptaw's relative size to show; the paper's placebo-arm rate is not in the abstract
available here, so the bound is the model's floor test, not the paper's number).
"""

from __future__ import annotations

from rlcraving.validation.phenomena.trials_common import describe, effects, many_trials, outcome_rows
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: Chosen: the placebo arm's mean confirmed abstinent weeks (of 8) below which a null is a floor.
MIN_PLACEBO_WEEKS = 0.5
#: Chosen: a difference smaller than this (weeks of 8, mean over trials) is "no difference".
MAX_NULL_EFFECT = 0.5


def verdict(found: dict[str, tuple[float, float, float]], placebo_weeks: float) -> tuple[bool, bool]:
    """(direction, size): direction, the 95% CI of the mean difference over trials includes 0;
    size, |mean| <= `MAX_NULL_EFFECT` and the placebo arm off the floor (>= `MIN_PLACEBO_WEEKS`)."""
    value, lo, hi = found["all"]
    null = lo <= 0.0 <= hi
    return null, null and abs(value) <= MAX_NULL_EFFECT and placebo_weeks >= MIN_PLACEBO_WEEKS


def protocol(cfg: Config) -> Measurement:
    results = many_trials("kahn_2009", cfg)
    found = effects(results, cfg.seed)
    placebo = float(results.trials["outcome_placebo"].mean())
    direction, size = verdict(found, placebo)
    floor = "" if placebo >= MIN_PLACEBO_WEEKS else (f"; the placebo arm is at a floor ({placebo:.2f} abstinent "
                                                     f"weeks of 8 < {MIN_PLACEBO_WEEKS:g}): a null there is not a "
                                                     "reproduction of the paper's")
    return Measurement("confirmed abstinent weeks, baclofen minus placebo (of 8)", found["all"], direction, size,
                       describe(results, found) + floor, outcome_rows(results),
                       n_subjects=int(results.trials["n"].sum()),
                       y_label="confirmed abstinent weeks (of 8)")


UNIT = register(Phenomenon(
    key="kahn_2009", title="Baclofen trial in severe users (Kahn 2009)", paper="Kahn et al. 2009",
    paper_effect="no difference from placebo in self-reported use confirmed by urine",
    paper_size="baclofen 60 mg/day vs placebo, 8 weeks, N = 160 severe users: null",
    criterion=f"direction: the 95% CI of the mean difference in confirmed abstinent weeks over trials at the "
              f"paper's size includes 0; size: |mean| <= {MAX_NULL_EFFECT:g} week and the placebo arm off the "
              f"floor (>= {MIN_PLACEBO_WEEKS:g} abstinent weeks of 8), so that the null is not a floor",
    protocol=protocol))
