"""What the two baclofen trial units share: many trials of a design at its paper's size.

One trial at a paper's size is noisy (see docs/outpatient.md), so a row reports the mean
difference over `n_trials(cfg)` trials with a bootstrap 95% interval over trials."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlcraving.trials import TrialResults, baclofen_reach, load_trial, run_trials
from rlcraving.validation.protocols import fmt_ci, rows
from rlcraving.validation.unit import Config

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"


def n_trials(cfg: Config) -> int:
    """Trials per row: one per 20 configured subjects (10 at the report's 200), at least 2."""
    return max(2, cfg.n_subjects // 20)


def many_trials(name: str, cfg: Config) -> TrialResults:
    """The design of experiments/<name>.yaml at the paper's size, `n_trials(cfg)` times."""
    return run_trials(load_trial(EXPERIMENTS / f"{name}.yaml"), n_trials(cfg), seed=cfg.seed)


def over_trials(values: np.ndarray, seed: int) -> tuple[float, float, float]:
    """Mean over trials and its percentile-bootstrap 95% interval (NaN where no trial has a value)."""
    values = values[np.isfinite(values)]
    if values.size == 0:      # e.g. no lighter users where every randomised person was positive at baseline
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    boots = values[rng.integers(0, values.size, (2000, values.size))].mean(axis=1)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return float(values.mean()), float(lo), float(hi)


def effects(results: TrialResults, seed: int) -> dict[str, tuple[float, float, float]]:
    """Baclofen minus placebo in the outcome, mean over trials: everyone, heavier and lighter users,
    and heavier minus lighter users' effect within the same trials."""
    t = results.trials
    found = {name: over_trials(t[column].to_numpy(float), seed)
             for name, column in (("all", "effect"), ("heavy", "effect_heavy"), ("light", "effect_light"))}
    found["heavy_minus_light"] = over_trials((t["effect_heavy"] - t["effect_light"]).to_numpy(float), seed)
    return found


def describe(results: TrialResults, found: dict[str, tuple[float, float, float]]) -> str:
    t = results.trials
    return (f"{len(t)} trials of N = {t['n'].mean():.0f} randomised on average; outcome baclofen "
            f"{t['outcome_baclofen'].mean():.2f} vs placebo {t['outcome_placebo'].mean():.2f} (difference "
            f"{fmt_ci(found['all'])}); trials with GEE p < 0.05 favouring baclofen: {results.power():.0%}; "
            f"heavier users (baseline positive share at or above the trial's median) {fmt_ci(found['heavy'])}, "
            f"lighter {fmt_ci(found['light'])} (heavier minus lighter in the same trials "
            f"{fmt_ci(found['heavy_minus_light'])}); retained to the end baclofen {t['retained_baclofen'].mean():.0%}, "
            f"placebo {t['retained_placebo'].mean():.0%}; craving 0-100 baclofen {t['craving_baclofen'].mean():.0f}, "
            f"placebo {t['craving_placebo'].mean():.0f}. {mechanism(results)}. Individual differences that make "
            "trials differ: access (severity), adherence, renal function and the organism's traits, drawn per person")


def mechanism(results: TrialResults) -> str:
    """What baclofen reaches, in the first trial's people: uses per week, gain, and the share of a
    use's reward that the gain scales (placebo arm, heavier and lighter users)."""
    people = results.people
    on, heavy = people["arm"] == "baclofen", people["heavy"].astype(bool)
    reach = baclofen_reach(people)
    light = f", lighter {reach[~on & ~heavy].mean():.0%}" if (~heavy).any() else ""
    return (f"Mechanism (first trial, treatment weeks): uses per week baclofen "
            f"{people.loc[on, 'uses_per_week'].mean():.1f} vs placebo {people.loc[~on, 'uses_per_week'].mean():.1f}; "
            f"mean dopamine gain on baclofen {people.loc[on, 'dopamine_gain'].mean():.2f}; the share of a use's "
            f"reward that the gain scales (dopamine and incentive terms; the rest is hedonic and relief), placebo "
            f"arm: heavier users {reach[~on & heavy].mean():.0%}{light}")


def outcome_rows(results: TrialResults):
    """Per person of the first trial: the outcome by subgroup and arm (the report's figure)."""
    people = results.people
    return rows(**{f"{users}_{arm}": people[(people["arm"] == arm) & (people["heavy"] == (users == "heavy"))]
                   ["outcome"].to_numpy(float) for users in ("heavy", "light") for arm in ("placebo", "baclofen")})
