"""Baclofen's sedation slows responding in time; it neither carries the FR1 effect nor raises
inactive presses (Brebner et al. 2000)."""

from __future__ import annotations

import numpy as np

from rlcraving.params import ModelParams
from rlcraving.pharmacology import RatIP
from rlcraving.validation.protocols import (
    RAT_DOSES_MG_PER_KG,
    acquisition,
    by_dose,
    cohort,
    fmt_ci,
    mean_ci,
    paired_ci,
    per_subject,
    rows,
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

UNIT_DOSE_MG_PER_KG = 0.75
#: Inactive presses under each baclofen dose, as a multiple of vehicle, at most.
MAX_INACTIVE_RATIO = 1.2
#: Share of the top dose's FR1 intake effect that sedation carries (intake with sedation switched
#: off minus intake with it, over the whole effect), at most.
MAX_SEDATION_SHARE = 0.2


def _fr1(cfg: Config, dose: float, params: ModelParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Infusions and inactive presses in an FR1 test session under `dose` mg/kg baclofen."""
    env = {"params": params} if params is not None else {}
    r = cohort(cfg, acquisition(unit_dose_mg_per_kg=UNIT_DOSE_MG_PER_KG) + test_session(
        "self_administration", unit_dose_mg_per_kg=UNIT_DOSE_MG_PER_KG, baclofen=RatIP(dose)), **env)
    return per_subject(r, "infusions", -1), per_subject(r, "inactive_presses", -1)


def protocol(cfg: Config) -> Measurement:
    """FR1 training, then an FR1 test under vehicle or each baclofen dose; the top dose again with
    sedation switched off (sedation_max = 0), the same subjects."""
    infusions, inactive = zip(*(_fr1(cfg, d) for d in RAT_DOSES_MG_PER_KG), strict=True)
    unsedated, _ = _fr1(cfg, RAT_DOSES_MG_PER_KG[-1], ModelParams(sedation_max=0.0))
    vehicle, top = infusions[0], infusions[-1]
    effect = vehicle.mean() - top.mean()
    share = (unsedated.mean() - top.mean()) / effect if abs(effect) > 1e-9 else 0.0
    ratios = [v.mean() / max(inactive[0].mean(), 1e-9) for v in inactive]
    est = paired_ci(inactive[0], inactive[-1], cfg.seed)
    detail = (f"FR1 infusions ({UNIT_DOSE_MG_PER_KG:g} mg/kg/infusion): " + ", ".join(
        f"{d:g} mg/kg {mean_ci(v, cfg.seed)}" for d, v in zip(RAT_DOSES_MG_PER_KG, infusions, strict=True))
        + f"; at {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg with sedation off {mean_ci(unsedated, cfg.seed)} (sedation carries "
        f"{100 * share:.0f}% of the effect); inactive presses: " + ", ".join(
        f"{d:g} mg/kg {mean_ci(v, cfg.seed)} ({ratio:.2f}x)"
        for d, v, ratio in zip(RAT_DOSES_MG_PER_KG, inactive, ratios, strict=True))
        + f"; top dose minus vehicle {fmt_ci(est)}")
    direction = max(ratios[1:]) <= 1.0 + 1e-9 or est[1] <= 0
    size = max(ratios[1:]) <= MAX_INACTIVE_RATIO and share <= MAX_SEDATION_SHARE
    return Measurement(f"inactive presses, {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg minus vehicle", est, direction, size,
                       detail, rows(**by_dose(list(inactive), "inactive_"), **by_dose(list(infusions), "infusions_")),
                       y_label="per 1-h session: inactive presses, infusions")


UNIT = register(Phenomenon(
    key="sedation_pattern", title="Sedation slows responding, it does not carry the effect",
    paper="Brebner et al. 2000; Roberts et al. 1996",
    paper_effect="baclofen's effect on cocaine taking is not a general disruption: inter-injection intervals keep "
                 "their distribution, concurrent food responding stays high, inactive responding does not rise",
    paper_size="Brebner et al. 2000: 1.8-5.6 mg/kg baclofen left the distribution of inter-injection intervals "
               "unchanged (long pauses instead) and rats kept responding for food at high rates on a concurrent "
               "lever; Roberts et al. 1996: only modest effects on food-reinforced responding at 5 mg/kg",
    criterion=f"direction: inactive presses do not rise (no dose above vehicle, or the top dose's 95% CI reaches "
              f"0); size: inactive presses <= {MAX_INACTIVE_RATIO:g}x vehicle at every dose and sedation carries <= "
              f"{100 * MAX_SEDATION_SHARE:.0f}% of the top dose's FR1 effect",
    protocol=protocol))
