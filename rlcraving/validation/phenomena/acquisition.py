"""Acquisition of FR1 cocaine self-administration."""

from __future__ import annotations

from rlcraving.validation.protocols import SA_DAYS, acquisition, cohort, fmt_ci, mean_ci, paired_ci, per_subject, rows
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: The field's acquisition criterion: at least twice as many active as inactive presses.
MIN_ACTIVE_OVER_INACTIVE = 2.0


def protocol(cfg: Config) -> Measurement:
    """Ten daily 1-h FR1 sessions; active and inactive presses in the first and the last."""
    r = cohort(cfg, acquisition())
    first_a, last_a = per_subject(r, "active_presses", 0), per_subject(r, "active_presses", -1)
    first_i, last_i = per_subject(r, "inactive_presses", 0), per_subject(r, "inactive_presses", -1)
    est = paired_ci(last_i, last_a, cfg.seed)
    separation = paired_ci(first_a - first_i, last_a - last_i, cfg.seed)
    ratio = last_a.mean() / max(last_i.mean(), 1e-9)
    detail = (f"session 1 active {mean_ci(first_a, cfg.seed)}, inactive {mean_ci(first_i, cfg.seed)}; "
              f"session {SA_DAYS} active {mean_ci(last_a, cfg.seed)}, inactive {mean_ci(last_i, cfg.seed)} "
              f"(active/inactive {ratio:.1f}x); growth of the separation from session 1: {fmt_ci(separation)}")
    return Measurement("active - inactive presses, last FR1 session", est, est[1] > 0 and separation[1] > 0,
                       ratio >= MIN_ACTIVE_OVER_INACTIVE, detail,
                       rows(active_first=first_a, inactive_first=first_i, active_last=last_a, inactive_last=last_i),
                       y_label="presses in a 1-h FR1 session")


UNIT = register(Phenomenon(
    key="acquisition", title="Acquisition of FR1 self-administration", paper="e.g. Shaham et al. 2003",
    paper_effect="active presses rise and separate from inactive presses over FR1 sessions",
    paper_size="no single size: the reinstatement model's training criterion is stable intake with active "
               "presses well above inactive ones (Shaham et al. 2003, Methods of the reinstatement procedure)",
    criterion=f"direction: active minus inactive presses > 0 in the last session and the separation grows from "
              f"session 1 (95% CIs above 0); size: active/inactive >= {MIN_ACTIVE_OVER_INACTIVE:g}x",
    protocol=protocol))
