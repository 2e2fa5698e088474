"""Sucrose seeking spared at baclofen doses that reduce cocaine seeking."""

from __future__ import annotations

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
#: Sucrose presses at the moderate dose over placebo: direction, and size.
MIN_RATIO_DIRECTION, MIN_RATIO_SIZE = 0.8, 0.9


def protocol(cfg: Config) -> Measurement:
    """Ten sucrose sessions, then one under each baclofen dose."""
    values = []
    for dose in RAT_DOSES_MG_PER_KG:
        r = cohort(cfg, [{"phase": "sucrose_self_administration", "days": SA_DAYS},
                         {"phase": "sucrose_self_administration", "days": 1, "baclofen": RatIP(dose)}],
                   sucrose_lever=True)
        values.append(per_subject(r, "sucrose_presses", -1))
    moderate = RAT_DOSES_MG_PER_KG.index(MODERATE_DOSE_MG_PER_KG)
    est = diff_ci(values[0], values[moderate], cfg.seed)
    ratio = values[moderate].mean() / max(values[0].mean(), 1e-9)
    detail = f"sucrose presses: {dose_detail(values, cfg.seed)} (2.5 mg/kg: {100 * ratio:.0f}% of placebo)"
    return Measurement("sucrose presses, 2.5 mg/kg minus placebo", est, ratio >= MIN_RATIO_DIRECTION,
                       ratio >= MIN_RATIO_SIZE, detail, rows(**by_dose(values)))


UNIT = register(Phenomenon(
    key="headline_sucrose", title="Sucrose seeking spared at moderate doses",
    paper="Roberts & Andrews 1997; Brebner et al. 2000",
    paper_effect="sucrose-maintained responding stays near placebo at doses that reduce cocaine seeking",
    paper_size="Roberts & Andrews 1997: baclofen 1.25-5 mg/kg suppresses cocaine intake for >= 4 h with no "
               "significant effect on food-reinforced responding; Brebner et al. 2000: concurrent food responding "
               "stays high",
    criterion=f"direction: sucrose presses at {MODERATE_DOSE_MG_PER_KG:g} mg/kg >= "
              f"{100 * MIN_RATIO_DIRECTION:.0f}% of placebo; size: >= {100 * MIN_RATIO_SIZE:.0f}%",
    protocol=protocol))
