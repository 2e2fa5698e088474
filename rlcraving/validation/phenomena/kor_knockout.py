"""Kappa-opioid receptor knockout removes stress-induced reinstatement."""

from __future__ import annotations

from rlcraving import stats
from rlcraving.validation.protocols import acquisition, cohort, diff_ci, mean_ci, per_subject, reinstatement, rows
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: "Intact": the KO-WT difference's CI includes 0 or is below this fraction of WT (priming).
MAX_PRIME_CHANGE = 0.2
#: ... and for FR1 intake.
MAX_INTAKE_CHANGE = 0.1


def protocol(cfg: Config) -> Measurement:
    """Stress and prime tests (each over its extinction control) and FR1 intake, WT against KOR KO."""
    parts, effects, results = [], {}, {}
    for phase in ("stress_reinstatement", "prime_reinstatement"):
        for ko in (False, True):
            ext, test = reinstatement(cfg, phase, kor_knockout=ko)
            results[(phase, ko)] = test - ext
            effects[f"{phase}_{'KO' if ko else 'WT'}"] = test - ext
    stress = diff_ci(results[("stress_reinstatement", False)], results[("stress_reinstatement", True)], cfg.seed)
    prime = diff_ci(results[("prime_reinstatement", False)], results[("prime_reinstatement", True)], cfg.seed)
    sa_wt = per_subject(cohort(cfg, acquisition()), "infusions", -1)
    sa_ko = per_subject(cohort(cfg, acquisition(), kor_knockout=True), "infusions", -1)
    intake = diff_ci(sa_wt, sa_ko, cfg.seed)
    ko_stress = stats.describe(results[("stress_reinstatement", True)], seed=cfg.seed)
    for phase, label in (("stress_reinstatement", "stress-induced (test minus control)"),
                         ("prime_reinstatement", "drug-primed")):
        parts.append(f"{label}: WT {mean_ci(results[(phase, False)], cfg.seed)}, "
                     f"KO {mean_ci(results[(phase, True)], cfg.seed)}")
    parts.append(f"FR1 infusions (last session): WT {mean_ci(sa_wt, cfg.seed)}, KO {mean_ci(sa_ko, cfg.seed)}")
    wt_prime = results[("prime_reinstatement", False)].mean()
    prime_intact = prime[1] <= 0 <= prime[2] or abs(prime[0]) < MAX_PRIME_CHANGE * abs(wt_prime)
    intake_intact = intake[1] <= 0 <= intake[2] or abs(intake[0]) < MAX_INTAKE_CHANGE * sa_wt.mean()
    return Measurement("stress-induced reinstatement, KO minus WT", stress, stress[2] < 0 and ko_stress.ci_low <= 0,
                       prime_intact and intake_intact, "; ".join(parts), rows(**effects),
                       y_label="active presses, test minus extinction control")


UNIT = register(Phenomenon(
    key="kor_knockout", title="Kappa-opioid knockout removes stress-induced reinstatement",
    paper="Redila & Chavkin 2008; McLaughlin et al. 2003; Al-Hasani et al. 2013",
    paper_effect="stress-induced reinstatement removed; drug-primed reinstatement and drug reward intact",
    paper_size="Redila & Chavkin 2008 (abstract; mice, cocaine place preference extinguished, then reinstated): "
               "intermittent footshock, forced swim and the KOR agonist U50,488 reinstated it in wild-type mice, not "
               "in KOR or prodynorphin knockouts nor after nor-BNI; cocaine priming still reinstated it, and initial "
               "conditioning and extinction were not significantly affected. McLaughlin et al. 2003: the knockouts "
               "show normal cocaine place preference, while repeated forced swim nearly doubles it in wild-type mice "
               "(as McLaughlin et al. later summarised it). Al-Hasani et al. 2013: dynorphin/KOR for footshock-like "
               "stressors. The stored sources give significance, not effect sizes, so 'intact' is read within the "
               "tolerances below",
    criterion=f"direction: KO minus WT stress-induced reinstatement < 0 (95% CI) and the KO's CI includes 0; "
              f"size: priming and FR1 intake intact (KO-WT CI includes 0 or |change| < "
              f"{100 * MAX_PRIME_CHANGE:.0f}% and {100 * MAX_INTAKE_CHANGE:.0f}% of WT)",
    protocol=protocol, calibrated_on=("kor_per_shock",)))
