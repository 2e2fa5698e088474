"""Baclofen lowers cue-induced and drug-primed reinstatement."""

from __future__ import annotations

from rlcraving.pharmacology import RatIP
from rlcraving.validation.protocols import (
    RAT_DOSES_MG_PER_KG,
    acquisition,
    by_dose,
    diff_ci,
    dose_detail,
    dose_response,
    extinction,
    monotone_down,
    rows,
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: Tolerance of the monotone fall over doses (fraction of the previous dose's mean).
MONOTONE_TOLERANCE = 0.1


def protocol(cfg: Config) -> Measurement:
    """Cue and prime tests after SA and extinction, at each baclofen dose before the test."""
    out, per_dose, ok, size = [], {}, [], []
    est = (0.0, 0.0, 0.0)
    for phase in ("cue_reinstatement", "prime_reinstatement"):
        values, trend = dose_response(cfg, lambda dose, ph=phase: (
            acquisition() + extinction() + test_session(ph, baclofen=RatIP(dose)), "active_presses", -1))
        d = diff_ci(values[0], values[-1], cfg.seed)
        ok.append(d[2] < 0 and trend.statistic < 0)
        size.append(monotone_down([v.mean() for v in values], tolerance=MONOTONE_TOLERANCE))
        out.append(f"{phase.split('_')[0]}: {dose_detail(values, cfg.seed)} (rho {trend.statistic:.2f}, "
                   f"p={trend.p:.2g})")
        per_dose.update(by_dose(values, f"{phase}_"))
        if phase == "cue_reinstatement":
            est = d
    return Measurement(f"cue-induced presses, {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg minus placebo", est, all(ok),
                       all(size), "; ".join(out), rows(**per_dose))


UNIT = register(Phenomenon(
    key="baclofen_relapse", title="Baclofen lowers cue- and drug-primed reinstatement",
    paper="Campbell et al. 1999; Di Ciano & Everitt 2003",
    paper_effect="cue-induced and drug-primed reinstatement fall with dose",
    paper_size="Campbell et al. 1999: baclofen dose-dependently attenuates cocaine-primed reinstatement; Di Ciano & "
               "Everitt 2003: baclofen reduces cue-controlled cocaine seeking (second-order schedule)",
    criterion=f"direction: cue and prime tests at {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg minus placebo < 0 (95% CI) "
              f"with negative Spearman trends; size: dose means fall monotonically "
              f"({100 * MONOTONE_TOLERANCE:.0f}% tolerance)",
    protocol=protocol))
