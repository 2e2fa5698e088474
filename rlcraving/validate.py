"""Scientific validation: the literature's signature phenomena, run on simulated cohorts.

Each phenomenon of SCIENCE.md section 3 is a small study: cohorts of TD agents (and, for the
headline, a stable-baselines3 arm) live through the published protocol, and the published
effect is measured on them with a 95% bootstrap interval. A `Finding` states the paper's
effect, the model's, and whether direction and size agree. `rlcraving validate` writes the
report (`validation.md`, figures, `validation.csv`); the committed `docs/validation.md` is that
report. A phenomenon the model does not produce is reported as failing, with its numbers.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlcraving import stats
from rlcraving.agents.cohort import CohortResult, run_cohort
from rlcraving.pharmacology import RatIP

SA_DAYS, EXTINCTION_DAYS = 10, 10
RAT_DOSES_MG_PER_KG = (0.0, 1.25, 2.5, 5.0)


@dataclass(frozen=True)
class Config:
    """How big and which seed."""

    n_subjects: int = 200
    seed: int = 0
    agent: str = "q_learning"
    sb3: bool = True


@dataclass
class Finding:
    """One phenomenon: the paper's effect beside the model's."""

    key: str
    title: str
    paper: str
    paper_effect: str
    measure: str
    value: float
    ci_low: float
    ci_high: float
    direction_agrees: bool
    size_agrees: bool | None
    detail: str
    n_subjects: int
    seed: int
    seconds: float = 0.0
    figure: str | None = None
    rows: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def verdict(self) -> str:
        if not self.direction_agrees:
            return "fails"
        return "agrees" if self.size_agrees in (True, None) else "direction only"


# ---------------------------------------------------------------------------------------
# calendars and cohort helpers
# ---------------------------------------------------------------------------------------


def acquisition(days: int = SA_DAYS, **overrides: Any) -> list[dict[str, Any]]:
    return [{"phase": "self_administration", "days": days, **overrides}]


def extinction(days: int = EXTINCTION_DAYS, **overrides: Any) -> list[dict[str, Any]]:
    return [{"phase": "extinction", "days": days, **overrides}]


def test_session(phase: str, **overrides: Any) -> list[dict[str, Any]]:
    return [{"phase": phase, "days": 1, **overrides}]


_CACHE: dict[str, CohortResult] = {}


def cohort(cfg: Config, calendar: Sequence[Mapping[str, Any]], condition: str = "", **env: Any) -> CohortResult:
    """Run the configured TD agent through `calendar` (same subjects for the same seed).

    Results are cached for the run: phenomena that share a protocol (e.g. the no-test control)
    simulate it once.
    """
    key = repr((cfg, list(calendar), condition, sorted(env.items())))
    if key not in _CACHE:
        _CACHE[key] = run_cohort(cfg.n_subjects, list(calendar), agent=cfg.agent, seed=cfg.seed,
                                 condition=condition, env_kwargs=env or None)
    return _CACHE[key]


def per_subject(result: CohortResult, measure: str, day: int) -> np.ndarray:
    """Values of `measure` in calendar session `day` (negative: from the end), one per subject."""
    t = result.table
    days = int(t["day"].max()) + 1
    rows = t[(t["measure"] == measure) & (t["day"] == day % days)].sort_values("subject")
    return rows["value"].to_numpy(dtype=float)


def diff_ci(a: np.ndarray, b: np.ndarray, seed: int) -> tuple[float, float, float]:
    """mean(b) - mean(a) and its percentile-bootstrap 95% interval (groups resampled separately)."""
    rng = np.random.default_rng(seed)
    boots = (b[rng.integers(0, b.size, (2000, b.size))].mean(1) - a[rng.integers(0, a.size, (2000, a.size))].mean(1))
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return float(b.mean() - a.mean()), float(lo), float(hi)


def paired_ci(before: np.ndarray, after: np.ndarray, seed: int) -> tuple[float, float, float]:
    """Mean within-subject change after - before, and its bootstrap 95% interval."""
    d = after - before
    lo, hi = stats.bootstrap_ci(d, seed=seed)
    return float(d.mean()), lo, hi


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _mean_ci(x: np.ndarray, seed: int) -> str:
    s = stats.describe(x, seed=seed)
    return f"{_fmt(s.mean)} [{_fmt(s.ci_low)}, {_fmt(s.ci_high)}]"


def _rows(**groups: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame([{"group": k, "subject": i, "value": float(v)}
                         for k, arr in groups.items() for i, v in enumerate(arr)])


# ---------------------------------------------------------------------------------------
# phenomena
# ---------------------------------------------------------------------------------------

Runner = Callable[[Config], Finding]
PHENOMENA: dict[str, Runner] = {}


def phenomenon(key: str) -> Callable[[Runner], Runner]:
    def register(fn: Runner) -> Runner:
        PHENOMENA[key] = fn
        return fn
    return register


def _finding(cfg: Config, key: str, title: str, paper: str, paper_effect: str, measure: str,
             estimate: tuple[float, float, float], direction: bool, size: bool | None, detail: str,
             rows: pd.DataFrame) -> Finding:
    value, lo, hi = estimate
    return Finding(key, title, paper, paper_effect, measure, value, lo, hi, bool(direction),
                   None if size is None else bool(size), detail, cfg.n_subjects, cfg.seed, rows=rows)


@phenomenon("acquisition")
def acquisition_finding(cfg: Config) -> Finding:
    r = cohort(cfg, acquisition())
    first_a, last_a = per_subject(r, "active_presses", 0), per_subject(r, "active_presses", -1)
    first_i, last_i = per_subject(r, "inactive_presses", 0), per_subject(r, "inactive_presses", -1)
    est = paired_ci(last_i, last_a, cfg.seed)
    separation = paired_ci(first_a - first_i, last_a - last_i, cfg.seed)
    ratio = last_a.mean() / max(last_i.mean(), 1e-9)
    detail = (f"session 1 active {_mean_ci(first_a, cfg.seed)}, inactive {_mean_ci(first_i, cfg.seed)}; "
              f"session {SA_DAYS} active {_mean_ci(last_a, cfg.seed)}, inactive {_mean_ci(last_i, cfg.seed)} "
              f"(active/inactive {ratio:.1f}x); growth of the separation from session 1: "
              f"{_fmt(separation[0])} [{_fmt(separation[1])}, {_fmt(separation[2])}]")
    return _finding(cfg, "acquisition", "Acquisition of FR1 self-administration", "e.g. Shaham et al. 2003",
                    "active presses rise and separate from inactive presses over FR1 sessions",
                    "active - inactive presses, last FR1 session", est,
                    est[1] > 0 and separation[1] > 0, ratio >= 2.0, detail,
                    _rows(active_first=first_a, inactive_first=first_i, active_last=last_a, inactive_last=last_i))


@phenomenon("escalation")
def escalation_finding(cfg: Config) -> Finding:
    """Ahmed & Koob 1998: after acquisition in 1-h sessions, one group gets 6-h sessions."""
    pre, days = 5, 14
    groups = {name: cohort(cfg, acquisition(pre) + acquisition(days, session_minutes=minutes), name)
              for name, minutes in (("ShA", 60.0), ("LgA", 360.0))}
    late = range(pre + days - 4, pre + days)

    def first_hour(r: CohortResult, day: int) -> np.ndarray:
        return per_subject(r, "first_hour_infusions", day)

    def change(r: CohortResult) -> np.ndarray:
        return np.mean([first_hour(r, d) for d in late], axis=0) - first_hour(r, pre)

    c_sha, c_lga = change(groups["ShA"]), change(groups["LgA"])
    est = diff_ci(c_sha, c_lga, cfg.seed)
    from_5 = [first_hour(groups["LgA"], d) - first_hour(groups["ShA"], d) for d in range(pre + 4, pre + days)]
    lga_over_sha = stats.describe(np.mean(from_5, axis=0), seed=cfg.seed)
    base = first_hour(groups["LgA"], pre).mean()
    detail = (f"first-hour infusions, change from the first to the last 4 of {days} access sessions (after "
              f"{pre} 1-h acquisition sessions): LgA {_mean_ci(c_lga, cfg.seed)} from {base:.1f}, ShA "
              f"{_mean_ci(c_sha, cfg.seed)}; LgA minus ShA first-hour intake over access sessions 5-{days}: "
              f"{_fmt(lga_over_sha.mean)} [{_fmt(lga_over_sha.ci_low)}, {_fmt(lga_over_sha.ci_high)}]")
    sha_stable = abs(c_sha.mean()) <= 0.15 * max(first_hour(groups["ShA"], pre).mean(), 1e-9)
    return _finding(cfg, "escalation", "Escalation with long access", "Ahmed & Koob 1998",
                    "LgA (6 h) first-hour intake escalates over sessions, ShA (1 h) stays stable; LgA exceeds "
                    "ShA from about session 5",
                    "LgA minus ShA escalation of first-hour infusions", est,
                    est[1] > 0 and lga_over_sha.ci_low > 0,
                    c_lga.mean() >= 0.25 * max(base, 1e-9) and sha_stable, detail,
                    _rows(ShA_change=c_sha, LgA_change=c_lga))


@phenomenon("extinction")
def extinction_finding(cfg: Config) -> Finding:
    r = cohort(cfg, acquisition() + extinction())
    sa = per_subject(r, "active_presses", SA_DAYS - 1)
    ext_first, ext_last = per_subject(r, "active_presses", SA_DAYS), per_subject(r, "active_presses", -1)
    est = paired_ci(sa, ext_last, cfg.seed)
    frac = ext_last.mean() / max(sa.mean(), 1e-9)
    detail = (f"active presses: last FR1 {_mean_ci(sa, cfg.seed)}, first extinction {_mean_ci(ext_first, cfg.seed)},"
              f" last extinction {_mean_ci(ext_last, cfg.seed)} ({100 * frac:.0f}% of FR1)")
    return _finding(cfg, "extinction", "Extinction", "Shaham et al. 2003",
                    "presses fall over extinction sessions to a low baseline",
                    "change in active presses, last extinction vs last FR1 session", est,
                    est[2] < 0, frac <= 0.5, detail, _rows(last_sa=sa, first_ext=ext_first, last_ext=ext_last))


def _reinstatement(cfg: Config, phase: str, condition: str = "", **test: Any) -> tuple[np.ndarray, np.ndarray]:
    """(control, test) active presses on the test day after SA and extinction, per subject.

    The control is the same subjects (same seed, same history) given one more extinction
    session on the test day instead of the test, so the difference is the test's own effect.
    """
    env = {k: test.pop(k) for k in ("kor_knockout", "sucrose_lever") if k in test}
    history = acquisition() + extinction()
    control = cohort(cfg, history + test_session("extinction"), condition, **env)
    r = cohort(cfg, history + test_session(phase, **test), condition, **env)
    return per_subject(control, "active_presses", -1), per_subject(r, "active_presses", -1)


@phenomenon("reinstatement")
def reinstatement_finding(cfg: Config) -> Finding:
    parts, rows, ok = [], {}, []
    for phase in ("cue_reinstatement", "prime_reinstatement", "stress_reinstatement"):
        ext, test = _reinstatement(cfg, phase)
        d, lo, hi = paired_ci(ext, test, cfg.seed)
        ok.append(lo > 0)
        parts.append(f"{phase.split('_')[0]}: {d:+.3g} [{_fmt(lo)}, {_fmt(hi)}] over the extinction control "
                     f"{_fmt(ext.mean())}")
        rows[phase] = test - ext
    weak_ext, weak = _reinstatement(cfg, "stress_reinstatement", footshock_mA=0.2)
    wd, wlo, whi = paired_ci(weak_ext, weak, cfg.seed)
    threshold = wlo <= 0 or wd < 0.25 * rows["stress_reinstatement"].mean()
    parts.append(f"weak stress (0.2 mA): {_fmt(wd)} [{_fmt(wlo)}, {_fmt(whi)}]")
    rows["weak_stress"] = weak - weak_ext
    cue = stats.bootstrap_ci(rows["cue_reinstatement"], seed=cfg.seed)
    cue = (float(rows["cue_reinstatement"].mean()), *cue)
    return _finding(cfg, "reinstatement", "Cue-, drug- and stress-induced reinstatement", "Shaham et al. 2003",
                    "cue-, drug-primed and stress-induced responding each exceed the extinction baseline; a weak "
                    "stressor does nothing, a strong one reinstates",
                    "cue-induced presses minus the extinction control", cue,
                    all(ok), threshold, "; ".join(parts), _rows(**rows))


def _dose_response(cfg: Config, build: Callable[[float], tuple[list[dict[str, Any]], str, int]]
                   ) -> tuple[list[np.ndarray], stats.Trend]:
    """Per-dose outcome arrays over RAT_DOSES_MG_PER_KG and the Spearman trend over subjects."""
    values = []
    for dose in RAT_DOSES_MG_PER_KG:
        calendar, measure, day = build(dose)
        values.append(per_subject(cohort(cfg, calendar, f"{dose:g} mg/kg"), measure, day))
    doses = np.concatenate([np.full(v.size, d) for d, v in zip(RAT_DOSES_MG_PER_KG, values, strict=True)])
    return values, stats.spearman_trend(doses, np.concatenate(values))


def _monotone_down(means: Sequence[float], tolerance: float = 0.02) -> bool:
    return all(b <= a * (1 + tolerance) + 1e-9 for a, b in itertools.pairwise(means))


def _dose_detail(values: list[np.ndarray], seed: int) -> str:
    return ", ".join(f"{d:g} mg/kg {_mean_ci(v, seed)}" for d, v in zip(RAT_DOSES_MG_PER_KG, values, strict=True))


@phenomenon("baclofen_progressive_ratio")
def baclofen_pr_finding(cfg: Config) -> Finding:
    values, trend = _dose_response(cfg, lambda dose: (
        acquisition() + test_session("progressive_ratio", baclofen=RatIP(dose)), "breakpoint", -1))
    fr_high = [per_subject(cohort(cfg, acquisition(unit_dose_mg_per_kg=1.5) +
                                  test_session("self_administration", unit_dose_mg_per_kg=1.5,
                                               baclofen=RatIP(dose))), "intake_mg_per_kg", -1)
               for dose in (0.0, RAT_DOSES_MG_PER_KG[-1])]
    fr_ratio = fr_high[1].mean() / max(fr_high[0].mean(), 1e-9)
    est = diff_ci(values[0], values[-1], cfg.seed)
    means = [v.mean() for v in values]
    detail = (f"breakpoint (last ratio completed): {_dose_detail(values, cfg.seed)}; Spearman rho "
              f"{trend.statistic:.2f} (p={trend.p:.2g}); FR1 intake at 1.5 mg/kg/infusion under "
              f"{RAT_DOSES_MG_PER_KG[-1]:g} mg/kg baclofen: {100 * fr_ratio:.0f}% of placebo")
    return _finding(cfg, "baclofen_progressive_ratio", "Baclofen lowers progressive-ratio breakpoints",
                    "Roberts et al. 1996; Brebner et al. 2000",
                    "breakpoint falls monotonically with dose, while FR1 intake at a high unit dose changes little",
                    f"breakpoint, {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg minus placebo", est,
                    est[2] < 0 and trend.statistic < 0, _monotone_down(means) and fr_ratio >= 0.75, detail,
                    _rows(**{f"{d:g}": v for d, v in zip(RAT_DOSES_MG_PER_KG, values, strict=True)}))


@phenomenon("baclofen_relapse")
def baclofen_relapse_finding(cfg: Config) -> Finding:
    out, rows, ok, size = [], {}, [], []
    for phase in ("cue_reinstatement", "prime_reinstatement"):
        values, trend = _dose_response(cfg, lambda dose, ph=phase: (
            acquisition() + extinction() + test_session(ph, baclofen=RatIP(dose)), "active_presses", -1))
        d = diff_ci(values[0], values[-1], cfg.seed)
        ok.append(d[2] < 0 and trend.statistic < 0)
        size.append(_monotone_down([v.mean() for v in values], tolerance=0.1))
        out.append(f"{phase.split('_')[0]}: {_dose_detail(values, cfg.seed)} (rho {trend.statistic:.2f}, "
                   f"p={trend.p:.2g})")
        rows.update({f"{phase}_{dose:g}": v for dose, v in zip(RAT_DOSES_MG_PER_KG, values, strict=True)})
        if phase == "cue_reinstatement":
            est = d
    return _finding(cfg, "baclofen_relapse", "Baclofen lowers cue- and drug-primed reinstatement",
                    "Campbell et al. 1999; Di Ciano & Everitt 2003",
                    "cue-induced and drug-primed reinstatement fall with dose",
                    f"cue-induced presses, {RAT_DOSES_MG_PER_KG[-1]:g} mg/kg minus placebo", est,
                    all(ok), all(size), "; ".join(out), _rows(**rows))


@phenomenon("kor_knockout")
def kor_knockout_finding(cfg: Config) -> Finding:
    parts, rows = [], {}
    results = {}
    for phase in ("stress_reinstatement", "prime_reinstatement"):
        for ko in (False, True):
            ext, test = _reinstatement(cfg, phase, kor_knockout=ko)
            results[(phase, ko)] = test - ext
            rows[f"{phase}_{'KO' if ko else 'WT'}"] = test - ext
    stress = diff_ci(results[("stress_reinstatement", False)], results[("stress_reinstatement", True)], cfg.seed)
    prime = diff_ci(results[("prime_reinstatement", False)], results[("prime_reinstatement", True)], cfg.seed)
    sa_wt = per_subject(cohort(cfg, acquisition()), "infusions", -1)
    sa_ko = per_subject(cohort(cfg, acquisition(), kor_knockout=True), "infusions", -1)
    intake = diff_ci(sa_wt, sa_ko, cfg.seed)
    ko_stress = stats.describe(results[("stress_reinstatement", True)], seed=cfg.seed)
    for phase, label in (("stress_reinstatement", "stress-induced (test minus control)"),
                         ("prime_reinstatement", "drug-primed")):
        parts.append(f"{label}: WT {_mean_ci(results[(phase, False)], cfg.seed)}, "
                     f"KO {_mean_ci(results[(phase, True)], cfg.seed)}")
    parts.append(f"FR1 infusions (last session): WT {_mean_ci(sa_wt, cfg.seed)}, KO {_mean_ci(sa_ko, cfg.seed)}")
    wt_prime = results[("prime_reinstatement", False)].mean()
    prime_intact = prime[1] <= 0 <= prime[2] or abs(prime[0]) < 0.2 * abs(wt_prime)
    intake_intact = intake[1] <= 0 <= intake[2] or abs(intake[0]) < 0.1 * sa_wt.mean()
    return _finding(cfg, "kor_knockout", "Kappa-opioid knockout removes stress-induced reinstatement",
                    "seed 002; McLaughlin et al. 2003; Al-Hasani et al. 2013",
                    "stress-induced reinstatement removed; drug-primed reinstatement and drug reward intact",
                    "stress-induced reinstatement, KO minus WT", stress,
                    stress[2] < 0 and ko_stress.ci_low <= 0, prime_intact and intake_intact, "; ".join(parts),
                    _rows(**rows))


@phenomenon("incubation")
def incubation_finding(cfg: Config) -> Finding:
    """Grimm 2001: cue-induced seeking tested after forced abstinence (the first session after it
    is an extinction session with the cue). Lu 2004: drug-primed seeking after abstinence and
    extinction, against the same subjects' extinction control."""
    days = (1, 60, 180)
    cue, prime = {}, {}
    for d in days:
        cue[d] = per_subject(cohort(cfg, acquisition() + test_session("cue_reinstatement", abstinence_days=d)),
                             "active_presses", -1)
        history = acquisition() + extinction(3, abstinence_days=d)
        primed = per_subject(cohort(cfg, history + test_session("prime_reinstatement")), "active_presses", -1)
        control = per_subject(cohort(cfg, history + test_session("extinction")), "active_presses", -1)
        prime[d] = primed - control
    est = diff_ci(cue[1], cue[60], cfg.seed)
    ratio = cue[60].mean() / max(cue[1].mean(), 1e-9)
    declined = cue[180].mean() < cue[60].mean()
    prime_change = diff_ci(prime[1], prime[60], cfg.seed)
    prime_flat = prime_change[1] <= 0 or abs(prime_change[0]) <= 0.25 * abs(prime[1].mean())
    detail = (f"cue-induced presses after {', '.join(f'{d} d {_mean_ci(cue[d], cfg.seed)}' for d in days)} "
              f"(60 d / 1 d = {ratio:.2f}); drug-primed presses over the extinction control after "
              f"{', '.join(f'{d} d {_mean_ci(prime[d], cfg.seed)}' for d in days)} (60 d minus 1 d: "
              f"{_fmt(prime_change[0])} [{_fmt(prime_change[1])}, {_fmt(prime_change[2])}])")
    return _finding(cfg, "incubation", "Incubation of cue-induced craving", "Grimm et al. 2001; Lu et al. 2004",
                    "cue-induced seeking after 60 days far exceeds that after 1 day and has declined by 180 days; "
                    "drug-primed seeking does not incubate",
                    "cue-induced presses, 60 d minus 1 d abstinence", est,
                    est[1] > 0 and declined, ratio >= 1.5 and prime_flat, detail,
                    _rows(**{f"cue_{d}d": v for d, v in cue.items()}, **{f"prime_{d}d": v for d, v in prime.items()}))


@phenomenon("individual_differences")
def individual_differences_finding(cfg: Config) -> Finding:
    base = cohort(cfg, acquisition() + test_session("punished_self_administration"),
                  individual_differences=True)
    before = per_subject(base, "infusions", SA_DAYS - 1)
    punished = per_subject(base, "infusions", -1)
    resistant = punished >= 0.5 * np.maximum(before, 1e-9)
    choice = cohort(cfg, acquisition() + test_session("choice"), individual_differences=True, sucrose_lever=True)
    drug = per_subject(choice, "infusions", -1)
    sucrose = per_subject(choice, "pellets", -1)
    prefers = drug > sucrose
    share = float(resistant.mean())
    lo, hi = stats.bootstrap_ci(resistant.astype(float), seed=cfg.seed)
    detail = (f"punishment-resistant (punished intake >= 50% of unpunished): {100 * share:.0f}% "
              f"[{100 * lo:.0f}, {100 * hi:.0f}]; prefer cocaine over sucrose: {100 * prefers.mean():.0f}%")
    return _finding(cfg, "individual_differences", "A vulnerable minority", "Deroche-Gamonet et al. 2004; "
                    "Cantin et al. 2010",
                    "in a heterogeneous cohort about 15-20% stay punishment-resistant or prefer drug over sucrose",
                    "share of punishment-resistant subjects", (share, lo, hi),
                    0.0 < share < 0.5, 0.08 <= share <= 0.30 and 0.05 <= prefers.mean() <= 0.35, detail,
                    _rows(resistant=resistant.astype(float), prefers_drug=prefers.astype(float)))


TRIAL_WEEKS = 8


def trial_calendar(history_phase: str) -> list[dict[str, Any]]:
    """Three weeks of daily use (1-h or 6-h access), then the trial: daily 15-min opportunities in
    which the drug takes effort (FR10), with a stressful day each week (0.5 mA footshock)."""
    week = {"phase": "self_administration", "days": 6, "ratio": 10, "session_minutes": 15.0}
    stress_day = {**week, "days": 1, "footshock_mA": 0.5}
    return [{"phase": history_phase, "days": 21}] + [week, stress_day] * TRIAL_WEEKS


@phenomenon("clinical_trial")
def clinical_trial_finding(cfg: Config) -> Finding:
    """Shoptaw 2003 / Kahn 2009 in silico: titrated oral baclofen (to 60 mg/day) vs placebo from the
    first trial day, in light (1 h/day) and heavy (6 h/day) users; drug-free trial days."""
    from rlcraving.pharmacology import Titration

    trial_days = slice(21, None)
    free: dict[tuple[str, str], np.ndarray] = {}
    baseline: np.ndarray = np.zeros(0)
    for users, history in (("light", "self_administration"), ("heavy", "long_access")):
        for arm, regimen in (("placebo", None), ("baclofen", Titration(target_mg_per_day=60.0))):
            calendar = trial_calendar(history)
            if regimen is not None:
                calendar[1] = {**calendar[1], "baclofen": regimen}
            r = cohort(cfg, calendar, f"{users} {arm}", individual_differences=True)
            t = r.table
            infusions = t[(t["measure"] == "infusions") & (t["day"] >= trial_days.start)]
            per_subject_days = infusions.pivot(index="subject", columns="day", values="value").to_numpy()
            free[(users, arm)] = (per_subject_days == 0).mean(axis=1)
            if users == "heavy":  # baseline use: infusions in the last history week (same in both arms)
                last_week = t[(t["measure"] == "infusions") & (t["day"] >= 14) & (t["day"] < 21)]
                baseline = last_week.groupby("subject")["value"].mean().to_numpy()
    benefit = {u: diff_ci(free[(u, "placebo")], free[(u, "baclofen")], cfg.seed) for u in ("light", "heavy")}
    grows = benefit["heavy"][0] > benefit["light"][0]
    # Kahn 2009's severe-only sample: the heaviest third of heavy users; the arms hold the same
    # subjects up to the trial, so the benefit is paired within subjects
    severe = baseline >= np.quantile(baseline, 2 / 3)
    severe_benefit = paired_ci(free[("heavy", "placebo")][severe], free[("heavy", "baclofen")][severe], cfg.seed)
    detail = "; ".join(
        f"{u} users: drug-free days placebo {_mean_ci(free[(u, 'placebo')], cfg.seed)}, baclofen "
        f"{_mean_ci(free[(u, 'baclofen')], cfg.seed)} (benefit {_fmt(benefit[u][0])} [{_fmt(benefit[u][1])}, "
        f"{_fmt(benefit[u][2])}])" for u in ("light", "heavy"))
    detail += (f"; severe-only (heaviest third of heavy users by baseline use): benefit "
               f"{_fmt(severe_benefit[0])} [{_fmt(severe_benefit[1])}, {_fmt(severe_benefit[2])}] "
               f"(Kahn 2009: null; the size criterion asks for this interval to include 0)")
    return _finding(cfg, "clinical_trial", "In-silico clinical trial of baclofen",
                    "Shoptaw et al. 2003; Kahn et al. 2009",
                    "a small mean benefit in drug-free days that grows with baseline use (Shoptaw 2003); little "
                    "effect in a severe-only sample (Kahn 2009)",
                    "gain in the fraction of drug-free days, heavy users", benefit["heavy"],
                    benefit["heavy"][0] > 0 or benefit["light"][0] > 0,
                    grows and benefit["heavy"][1] > 0 and severe_benefit[1] <= 0,
                    detail + ". The trial is built from chamber sessions (the environment has no outpatient "
                    "world): 21 days of 1-h or 6-h access, then 8 weeks of daily 15-min FR10 opportunities "
                    "with one 0.5 mA stress day a week",
                    _rows(**{f"{u}_{a}": v for (u, a), v in free.items()}))


SB3_SUBJECTS, SB3_SEEDS, SB3_DOSES = 32, (0, 1), (0.0, 2.5, 5.0)
SB3_PHENOMENA = ("headline_ppo",)


@phenomenon("headline_ppo")
def headline_ppo_finding(cfg: Config) -> Finding:
    """The headline in a stable-baselines3 agent: PPO's cue test under baclofen.

    The subjects of one seed share one policy, so the unit of replication is the seed: each
    seed's policy is identical up to the test in every dose arm (same seed, same history).
    """
    from rlcraving.agents.sb3 import run_sb3_cohort

    calendar = acquisition() + extinction()
    per_dose: dict[float, list[np.ndarray]] = {d: [] for d in SB3_DOSES}
    for seed in SB3_SEEDS:
        for dose in SB3_DOSES:
            r = run_sb3_cohort(SB3_SUBJECTS, calendar + test_session("cue_reinstatement", baclofen=RatIP(dose)),
                               seed=seed)
            per_dose[dose].append(per_subject(r, "active_presses", -1))
    control = [per_subject(run_sb3_cohort(SB3_SUBJECTS, calendar + test_session("extinction"), seed=seed),
                           "active_presses", -1) for seed in SB3_SEEDS]
    values = [np.concatenate(per_dose[d]) for d in SB3_DOSES]
    seed_drops = [per_dose[SB3_DOSES[-1]][k].mean() - per_dose[0.0][k].mean() for k in range(len(SB3_SEEDS))]
    reinstated = np.concatenate(per_dose[0.0]).mean() > np.concatenate(control).mean()
    est = diff_ci(values[0], values[-1], cfg.seed)
    detail = (f"PPO, {SB3_SUBJECTS} subjects x seeds {list(SB3_SEEDS)}; cue-test active presses "
              + ", ".join(f"{d:g} mg/kg {_mean_ci(v, cfg.seed)}" for d, v in zip(SB3_DOSES, values, strict=True))
              + f"; extinction control {_mean_ci(np.concatenate(control), cfg.seed)}; change at "
              f"{SB3_DOSES[-1]:g} mg/kg per seed: {', '.join(f'{x:+.1f}' for x in seed_drops)} (intervals are "
              "over subjects, who share a policy within a seed: read them with the per-seed changes)")
    return Finding("headline_ppo", "Baclofen lowers cue-induced reinstatement in a PPO agent",
                   "Campbell et al. 1999; Di Ciano & Everitt 2003",
                   "cue-induced reinstatement falls with dose (here in a stable-baselines3 PPO agent)",
                   f"cue-test presses, {SB3_DOSES[-1]:g} mg/kg minus placebo", *est,
                   bool(reinstated and all(x < 0 for x in seed_drops)),
                   _monotone_down([v.mean() for v in values], tolerance=0.05), detail,
                   SB3_SUBJECTS * len(SB3_SEEDS), cfg.seed,
                   rows=_rows(**{f"{d:g}": v for d, v in zip(SB3_DOSES, values, strict=True)},
                              control=np.concatenate(control)))


@phenomenon("headline_sucrose")
def headline_sucrose_finding(cfg: Config) -> Finding:
    values = []
    for dose in RAT_DOSES_MG_PER_KG:
        r = cohort(cfg, [{"phase": "sucrose_self_administration", "days": SA_DAYS},
                         {"phase": "sucrose_self_administration", "days": 1, "baclofen": RatIP(dose)}],
                   sucrose_lever=True)
        values.append(per_subject(r, "sucrose_presses", -1))
    moderate = RAT_DOSES_MG_PER_KG.index(2.5)
    est = diff_ci(values[0], values[moderate], cfg.seed)
    ratio = values[moderate].mean() / max(values[0].mean(), 1e-9)
    detail = f"sucrose presses: {_dose_detail(values, cfg.seed)} (2.5 mg/kg: {100 * ratio:.0f}% of placebo)"
    return _finding(cfg, "headline_sucrose", "Sucrose seeking spared at moderate doses",
                    "Roberts & Andrews 1997; Brebner et al. 2000",
                    "sucrose-maintained responding stays near placebo at doses that reduce cocaine seeking",
                    "sucrose presses, 2.5 mg/kg minus placebo", est,
                    ratio >= 0.8, ratio >= 0.9, detail,
                    _rows(**{f"{d:g}": v for d, v in zip(RAT_DOSES_MG_PER_KG, values, strict=True)}))


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------


def run(cfg: Config, only: Sequence[str] = ()) -> list[Finding]:
    """Run the phenomena (all, or those named in `only`)."""
    unknown = sorted(set(only) - set(PHENOMENA))
    if unknown:
        raise ValueError(f"unknown phenomenon name(s) {unknown}; choose from {sorted(PHENOMENA)}")
    findings = []
    for key, fn in PHENOMENA.items():
        if (only and key not in only) or (not cfg.sb3 and key in SB3_PHENOMENA):
            continue
        start = time.perf_counter()
        f = fn(cfg)
        f.seconds = time.perf_counter() - start
        findings.append(f)
    return findings


def write_report(findings: list[Finding], out: Path, command: str) -> Path:
    """Write `validation.md`, `validation.csv` and one figure per phenomenon into `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figdir = out / "validation"
    figdir.mkdir(exist_ok=True)
    for f in findings:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        groups = list(dict.fromkeys(f.rows["group"]))
        means = [f.rows.loc[f.rows["group"] == g, "value"].mean() for g in groups]
        cis = [stats.bootstrap_ci(f.rows.loc[f.rows["group"] == g, "value"].to_numpy(), seed=f.seed) for g in groups]
        err = np.array([[m - lo, hi - m] for m, (lo, hi) in zip(means, cis, strict=True)]).T
        ax.bar(range(len(groups)), means, yerr=err, capsize=3, color="#4c72b0")
        ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=8)
        ax.set_title(f.title, fontsize=10)
        ax.set_ylabel("mean per subject (95% CI)", fontsize=8)
        fig.tight_layout()
        path = figdir / f"{f.key}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        f.figure = f"validation/{f.key}.png"
    table = pd.DataFrame([{k: v for k, v in dataclasses.asdict(f).items() if k != "rows"} | {"verdict": f.verdict}
                          for f in findings])
    _atomic_text(out / "validation.csv", table.to_csv(index=False))
    lines = [
        "# Validation report",
        "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d')} "
        f"(cohorts of {findings[0].n_subjects if findings else 0} subjects, seed "
        f"{findings[0].seed if findings else 0}). Each phenomenon of SCIENCE.md section 3 is run on simulated "
        "subjects; intervals are 95% percentile bootstraps over subjects. 'Direction' asks whether the model's "
        "effect has the paper's sign; 'size' whether it meets the size criterion stated with each finding.",
        "",
        "| phenomenon | paper's effect | model's effect [95% CI] | direction | size | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for f in findings:
        size = "n/a" if f.size_agrees is None else ("yes" if f.size_agrees else "no")
        lines.append(f"| [{f.title}](#{f.key}) | {f.paper_effect} ({f.paper}) | {f.measure}: {_fmt(f.value)} "
                     f"[{_fmt(f.ci_low)}, {_fmt(f.ci_high)}] | {'yes' if f.direction_agrees else 'no'} | {size} | "
                     f"{f.verdict} |")
    for f in findings:
        lines += ["", f"## {f.title}", f"<a id=\"{f.key}\"></a>", "",
                  f"- Paper: {f.paper_effect} ({f.paper}).",
                  f"- Model: {f.detail}.",
                  f"- Measure: {f.measure} = {_fmt(f.value)} [{_fmt(f.ci_low)}, {_fmt(f.ci_high)}]; "
                  f"verdict: **{f.verdict}**; {f.n_subjects} subjects, seed {f.seed}, {f.seconds:.0f} s.",
                  "", f"![{f.title}]({f.figure})"]
    path = out / "validation.md"
    _atomic_text(path, "\n".join(lines) + "\n")
    return path


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(out: str = "results/validation", n_subjects: int = 200, seed: int = 0, only: list[str] | None = None,
         agent: str = "q_learning", sb3: bool = True) -> Path:
    """Entry point of `rlcraving validate`: run the phenomena (all, or `only`) and write the report.

    Args:
        out: directory of the report (`validation.md`, `validation.csv`, figures).
        n_subjects: TD cohort size per condition.
        seed: cohort seed.
        only: names of phenomena to run (default: all; see `PHENOMENA`).
        agent: TD agent of the cohorts.
        sb3: include the stable-baselines3 (PPO) headline arm (several minutes).
    """
    cfg = Config(n_subjects=n_subjects, seed=seed, agent=agent, sb3=sb3)
    command = "rlcraving validate " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else \
        "rlcraving validate"
    findings = run(cfg, only or ())
    path = write_report(findings, Path(out), command)
    for f in findings:
        print(f"{f.verdict:>15}  {f.key:<28} {f.measure}: {_fmt(f.value)} [{_fmt(f.ci_low)}, {_fmt(f.ci_high)}]"
              f"  ({f.seconds:.0f} s)")
    print(f"wrote {path}")
    return path


__all__ = ["PHENOMENA", "Config", "Finding", "main", "run", "write_report"]
