"""Baclofen lowers cue-induced and drug-primed reinstatement."""

from __future__ import annotations

from rlcraving.pharmacology import RatIP
from rlcraving.validation.protocols import (
    RAT_DOSES_MG_PER_KG,
    acquisition,
    by_dose,
    cohort,
    dose_detail,
    dose_response,
    extinction,
    fmt,
    fmt_ci,
    monotone_down,
    paired_ci,
    per_subject,
    rows,
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: Tolerance of the monotone fall over doses (fraction of the previous dose's mean).
MONOTONE_TOLERANCE = 0.1
#: Campbell et al. 1999 gave 1.25 and 2.5 mg/kg i.p. before the cocaine prime.
CAMPBELL_DOSES_MG_PER_KG = (1.25, 2.5)


def protocol(cfg: Config) -> Measurement:
    """Cue and prime tests after SA and extinction, at each baclofen dose before the test; the prime's
    reinstatement effect is the primed test minus the same subjects' drug-free, baclofen-free extinction
    control."""
    out, per_dose, ok, size = [], {}, [], []
    est = (0.0, 0.0, 0.0)
    control = per_subject(cohort(cfg, acquisition() + extinction() + test_session("extinction")), "active_presses", -1)
    for phase in ("cue_reinstatement", "prime_reinstatement"):
        values, trend = dose_response(cfg, lambda dose, ph=phase: (
            acquisition() + extinction() + test_session(ph, baclofen=RatIP(dose)), "active_presses", -1))
        d = paired_ci(values[0], values[-1], cfg.seed)  # the same subjects (seed, history) at each dose
        ok.append(d[2] < 0 and trend.statistic < 0)
        size.append(monotone_down([v.mean() for v in values], tolerance=MONOTONE_TOLERANCE))
        out.append(f"{phase.split('_')[0]}: {dose_detail(values, cfg.seed)} (rho {trend.statistic:.2f}, "
                   f"p={trend.p:.2g})")
        per_dose.update(by_dose(values, f"{phase}_"))
        if phase == "cue_reinstatement":
            est = d
            continue
        # Campbell 1999: each dose lowers the prime's reinstatement below that after saline (paired: same subjects)
        effect = {dose: v - control for dose, v in zip(RAT_DOSES_MG_PER_KG, values, strict=True)}
        placebo = effect[0.0].mean()
        parts = []
        for dose in CAMPBELL_DOSES_MG_PER_KG:
            change = paired_ci(effect[0.0], effect[dose], cfg.seed)
            size.append(change[2] < 0)
            share = f" ({100 * change[0] / placebo:+.0f}%)" if placebo > 0 else ""  # no share of no reinstatement
            parts.append(f"{dose:g} mg/kg {fmt_ci(change)}{share}")
        out.append(f"prime's reinstatement over the extinction control {fmt(control.mean())}: placebo "
                   f"{fmt(placebo)}; change with baclofen {', '.join(parts)}")
    return Measurement(f"cue-induced presses, {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg minus placebo", est, all(ok),
                       all(size), "; ".join(out), rows(**per_dose),
                       y_label="active presses in the 1-h test")


UNIT = register(Phenomenon(
    key="baclofen_relapse", title="Baclofen lowers cue- and drug-primed reinstatement",
    paper="Campbell et al. 1999; Di Ciano & Everitt 2003",
    paper_effect="cue-induced and drug-primed reinstatement fall with dose",
    paper_size="Campbell et al. 1999 (abstract): baclofen 1.25 and 2.5 mg/kg i.p. 'dose-dependently reduced the "
               "reinstatement of responding produced by priming injections of cocaine' (3.2 mg/kg i.v.), and did not "
               "reinstate by itself; the size is in their figure, not in the stored sources (abstracts). Di Ciano & "
               "Everitt 2003 (abstract): baclofen decreased cue-maintained cocaine seeking (second-order schedule) "
               "and cocaine intake under FR1; no percentages in the stored text",
    criterion=f"direction: cue and prime tests at {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg minus placebo < 0 (paired 95% CI) "
              f"with negative Spearman trends; size: dose means fall monotonically "
              f"({100 * MONOTONE_TOLERANCE:.0f}% tolerance), and the prime's reinstatement (test minus the "
              f"extinction control) is lower at each of {' and '.join(f'{d:g}' for d in CAMPBELL_DOSES_MG_PER_KG)} "
              "mg/kg than after placebo (paired 95% CI below 0)",
    protocol=protocol))
