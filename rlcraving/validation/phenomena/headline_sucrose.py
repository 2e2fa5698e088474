"""Sucrose seeking spared at baclofen doses that reduce cocaine seeking."""

from __future__ import annotations

from rlcraving.params import ModelParams
from rlcraving.pharmacology import RatIP
from rlcraving.validation.protocols import (
    RAT_DOSES_MG_PER_KG,
    SA_DAYS,
    by_dose,
    cohort,
    diff_ci,
    dose_detail,
    per_subject,
    rows,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

MODERATE_DOSE_MG_PER_KG = 2.5
#: Placebo pellets must stay below this share of the schedule's maximum (one pellet per timeout
#: plus step), or sparing cannot be told from a ceiling.
MAX_SHARE_OF_CEILING = 0.9
#: Sucrose presses at the moderate dose over placebo: direction, and size.
MIN_RATIO_DIRECTION, MIN_RATIO_SIZE = 0.8, 0.9


def protocol(cfg: Config) -> Measurement:
    """Ten sucrose sessions, then one under each baclofen dose."""
    values = []
    for dose in RAT_DOSES_MG_PER_KG:
        r = cohort(cfg, _calendar(dose), sucrose_lever=True)
        values.append(per_subject(r, "sucrose_presses", -1))
    moderate = RAT_DOSES_MG_PER_KG.index(MODERATE_DOSE_MG_PER_KG)
    est = diff_ci(values[0], values[moderate], cfg.seed)
    ratio = values[moderate].mean() / max(values[0].mean(), 1e-9)
    p = ModelParams()
    ceiling = 60.0 * 60.0 / (p.timeout_s + p.dt_s)
    pellets = per_subject(cohort(cfg, _calendar(0.0), sucrose_lever=True), "pellets", -1).mean()
    detail = (f"sucrose presses: {dose_detail(values, cfg.seed)} (2.5 mg/kg: {100 * ratio:.0f}% of placebo); placebo "
              f"pellets {pellets:.0f} of the 1-h schedule's maximum {ceiling:.0f} ({100 * pellets / ceiling:.0f}%)")
    off_ceiling = pellets <= MAX_SHARE_OF_CEILING * ceiling
    return Measurement("sucrose presses, 2.5 mg/kg minus placebo", est, ratio >= MIN_RATIO_DIRECTION,
                       ratio >= MIN_RATIO_SIZE and off_ceiling, detail, rows(**by_dose(values)),
                       y_label="sucrose presses per session")


def _calendar(dose: float) -> list[dict]:
    return [{"phase": "sucrose_self_administration", "days": SA_DAYS},
            {"phase": "sucrose_self_administration", "days": 1, "baclofen": RatIP(dose)}]


UNIT = register(Phenomenon(
    key="headline_sucrose", title="Sucrose seeking spared at moderate doses",
    paper="Roberts & Andrews 1997; Brebner et al. 2000",
    paper_effect="sucrose-maintained responding stays near placebo at doses that reduce cocaine seeking",
    paper_size="Roberts & Andrews 1997: baclofen 1.25-5 mg/kg suppresses cocaine intake for >= 4 h with no "
               "significant effect on food-reinforced responding; Brebner et al. 2000: concurrent food responding "
               "stays high",
    criterion=f"direction: sucrose presses at {MODERATE_DOSE_MG_PER_KG:g} mg/kg >= "
              f"{100 * MIN_RATIO_DIRECTION:.0f}% of placebo; size: >= {100 * MIN_RATIO_SIZE:.0f}%, with placebo "
              f"pellets <= {100 * MAX_SHARE_OF_CEILING:.0f}% of the schedule's maximum (off the ceiling)",
    protocol=protocol, calibrated_on=("meal_size_pellets",)))
