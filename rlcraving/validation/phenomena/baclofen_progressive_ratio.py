"""Baclofen lowers progressive-ratio breakpoints, sparing FR1 intake at a high unit dose."""

from __future__ import annotations

from rlcraving.pharmacology import RatIP
from rlcraving.validation.protocols import (
    RAT_DOSES_MG_PER_KG,
    acquisition,
    by_dose,
    cohort,
    diff_ci,
    dose_detail,
    dose_response,
    monotone_down,
    per_subject,
    rows,
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

HIGH_UNIT_DOSE_MG_PER_KG = 1.5
#: FR1 intake at the high unit dose under the top baclofen dose, as a fraction of placebo, at least.
MIN_FR1_SPARED = 0.75


def protocol(cfg: Config) -> Measurement:
    """PR test after FR1 training at each baclofen dose; FR1 at 1.5 mg/kg/infusion under the top dose."""
    values, trend = dose_response(cfg, lambda dose: (
        acquisition() + test_session("progressive_ratio", baclofen=RatIP(dose)), "breakpoint", -1))
    fr_high = [per_subject(cohort(cfg, acquisition(unit_dose_mg_per_kg=HIGH_UNIT_DOSE_MG_PER_KG) +
                                  test_session("self_administration", unit_dose_mg_per_kg=HIGH_UNIT_DOSE_MG_PER_KG,
                                               baclofen=RatIP(dose))), "intake_mg_per_kg", -1)
               for dose in (0.0, RAT_DOSES_MG_PER_KG[-1])]
    fr_ratio = fr_high[1].mean() / max(fr_high[0].mean(), 1e-9)
    est = diff_ci(values[0], values[-1], cfg.seed)
    detail = (f"breakpoint (last ratio completed): {dose_detail(values, cfg.seed)}; Spearman rho "
              f"{trend.statistic:.2f} (p={trend.p:.2g}); FR1 intake at {HIGH_UNIT_DOSE_MG_PER_KG:g} mg/kg/infusion "
              f"under {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg baclofen: {100 * fr_ratio:.0f}% of placebo")
    return Measurement(f"breakpoint, {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg minus placebo", est,
                       est[2] < 0 and trend.statistic < 0,
                       monotone_down([v.mean() for v in values]) and fr_ratio >= MIN_FR1_SPARED, detail,
                       rows(**by_dose(values)),
                       y_label="breakpoint (last ratio completed)")


UNIT = register(Phenomenon(
    key="baclofen_progressive_ratio", title="Baclofen lowers progressive-ratio breakpoints",
    paper="Roberts et al. 1996; Brebner et al. 2000",
    paper_effect="breakpoint falls monotonically with dose, while FR1 intake at a high unit dose changes little",
    paper_size="Roberts et al. 1996, Fig. 1: breakpoints (1.5 mg/kg/infusion) fall dose-dependently over 1.25, 2.5 "
               "and 5 mg/kg i.p.; no significant change of FR1 intake rate. Brebner et al. 2000, Fig. 1: under "
               "FR1, baclofen (1.8-5.6 mg/kg) suppresses intake of low but not high unit doses",
    criterion=f"direction: breakpoint at {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg minus placebo < 0 (95% CI) and a "
              f"negative Spearman trend; size: dose means fall monotonically (2% tolerance) and FR1 intake at "
              f"{HIGH_UNIT_DOSE_MG_PER_KG:g} mg/kg/infusion under {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg is >= "
              f"{100 * MIN_FR1_SPARED:.0f}% of placebo",
    protocol=protocol))
