"""ABA renewal: extinguished cocaine seeking returns, in part, in the drug-taking context."""

from __future__ import annotations

from rlcraving.validation.protocols import (
    SA_DAYS,
    acquisition,
    cohort,
    extinction,
    fmt,
    mean_ci,
    paired_ci,
    per_subject,
    rows,
    test_session,
)
from rlcraving.validation.unit import Config, Measurement, Phenomenon, register

#: Renewal: the test in A at least this many times the test in B (the extinction context).
MIN_RATIO_TO_B = 1.5


def protocol(cfg: Config) -> Measurement:
    """FR1 in context A, extinction in context B, then a test without drug or cue in A and, for the same
    subjects, in B; both against the last FR1 session."""
    history = acquisition() + extinction(context="B")
    in_a = cohort(cfg, history + test_session("extinction", context="A"))
    in_b = cohort(cfg, history + test_session("extinction", context="B"))
    sa = per_subject(in_a, "active_presses", SA_DAYS - 1)
    a, b = per_subject(in_a, "active_presses", -1), per_subject(in_b, "active_presses", -1)
    renewal = paired_ci(b, a, cfg.seed)
    below_sa = paired_ci(sa, a, cfg.seed)
    ratio, fraction = a.mean() / max(b.mean(), 1e-9), a.mean() / max(sa.mean(), 1e-9)
    detail = (f"active presses: last FR1 (A) {mean_ci(sa, cfg.seed)}, test in B {mean_ci(b, cfg.seed)}, test in A "
              f"{mean_ci(a, cfg.seed)}; A / B = {fmt(ratio)}, A = {100 * fraction:.0f}% of FR1 (A - FR1 "
              f"{fmt(below_sa[0])} [{fmt(below_sa[1])}, {fmt(below_sa[2])}])")
    return Measurement("test in A minus test in B (active presses)", renewal, renewal[1] > 0,
                       ratio >= MIN_RATIO_TO_B and below_sa[2] < 0, detail, rows(last_sa=sa, test_b=b, test_a=a),
                       y_label="active presses per session")


UNIT = register(Phenomenon(
    key="renewal", title="Context-induced (ABA) renewal is partial",
    paper="Crombag & Shaham 2002; Bossert et al. 2004; Bouton 2004",
    paper_effect="after extinction in another context, return to the drug-taking context renews drug seeking, "
                 "in part: renewal is the partial recovery of an extinguished response",
    paper_size="Crombag & Shaham 2002 (abstract; speedball, 20 extinction days): rats tested in the drug context "
               "after extinction elsewhere 'reliably renewed drug seeking'; Bossert et al. 2004 (abstract; heroin): "
               "'robust reinstatement' in the drug context. Renewal is a partial recovery, below the trained level "
               "(Bouton 2004; Bernal-Gamboa et al. 2014). The press counts are in their figures; the stored sources "
               "(abstracts) state none, so the 1.5x bound below is not the papers' number",
    criterion=f"direction: test in A minus test in B > 0 (95% CI above 0); size: A >= {MIN_RATIO_TO_B:g} x B and A "
              "below the last FR1 session (95% CI of A - FR1 below 0)",
    protocol=protocol))
