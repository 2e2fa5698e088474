"""Calendars, cohorts and statistics shared by the phenomena's protocols."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rlcraving import stats
from rlcraving.agents.cohort import CohortResult, run_cohort
from rlcraving.validation.unit import Config

SA_DAYS, EXTINCTION_DAYS = 10, 10
RAT_DOSES_MG_PER_KG = (0.0, 1.25, 2.5, 5.0)


def acquisition(days: int = SA_DAYS, **overrides: Any) -> list[dict[str, Any]]:
    """`days` FR1 self-administration sessions."""
    return [{"phase": "self_administration", "days": days, **overrides}]


def extinction(days: int = EXTINCTION_DAYS, **overrides: Any) -> list[dict[str, Any]]:
    """`days` extinction sessions."""
    return [{"phase": "extinction", "days": days, **overrides}]


def test_session(phase: str, **overrides: Any) -> list[dict[str, Any]]:
    """One session of `phase`."""
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


def fmt(x: float) -> str:
    """A number as the report prints it (3 significant digits; thousands separated)."""
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def fmt_ci(estimate: tuple[float, float, float]) -> str:
    """``value [low, high]``."""
    return f"{fmt(estimate[0])} [{fmt(estimate[1])}, {fmt(estimate[2])}]"


def mean_ci(x: np.ndarray, seed: int) -> str:
    """Mean of `x` and its bootstrap 95% interval, formatted."""
    s = stats.describe(x, seed=seed)
    return f"{fmt(s.mean)} [{fmt(s.ci_low)}, {fmt(s.ci_high)}]"


def rows(**groups: np.ndarray) -> pd.DataFrame:
    """Per-subject values as a long table (group, subject, value) for the report's figures."""
    return pd.DataFrame([{"group": k, "subject": i, "value": float(v)}
                         for k, arr in groups.items() for i, v in enumerate(arr)])


def reinstatement(cfg: Config, phase: str, condition: str = "", **test: Any) -> tuple[np.ndarray, np.ndarray]:
    """(control, test) active presses on the test day after SA and extinction, per subject.

    The control is the same subjects (same seed, same history) given one more extinction
    session on the test day instead of the test, so the difference is the test's own effect.
    """
    env = {k: test.pop(k) for k in ("kor_knockout", "sucrose_lever") if k in test}
    history = acquisition() + extinction()
    control = cohort(cfg, history + test_session("extinction"), condition, **env)
    r = cohort(cfg, history + test_session(phase, **test), condition, **env)
    return per_subject(control, "active_presses", -1), per_subject(r, "active_presses", -1)


def dose_response(cfg: Config, build: Callable[[float], tuple[list[dict[str, Any]], str, int]]
                  ) -> tuple[list[np.ndarray], stats.Trend]:
    """Per-dose outcome arrays over RAT_DOSES_MG_PER_KG and the Spearman trend over subjects."""
    values = []
    for dose in RAT_DOSES_MG_PER_KG:
        calendar, measure, day = build(dose)
        values.append(per_subject(cohort(cfg, calendar, f"{dose:g} mg/kg"), measure, day))
    doses = np.concatenate([np.full(v.size, d) for d, v in zip(RAT_DOSES_MG_PER_KG, values, strict=True)])
    return values, stats.spearman_trend(doses, np.concatenate(values))


def monotone_down(means: Sequence[float], tolerance: float = 0.02) -> bool:
    """Each mean at most `tolerance` (fraction) above the one before."""
    return all(b <= a * (1 + tolerance) + 1e-9 for a, b in itertools.pairwise(means))


def dose_detail(values: list[np.ndarray], seed: int) -> str:
    """``dose mean [CI]`` over RAT_DOSES_MG_PER_KG."""
    return ", ".join(f"{d:g} mg/kg {mean_ci(v, seed)}" for d, v in zip(RAT_DOSES_MG_PER_KG, values, strict=True))


def by_dose(values: list[np.ndarray], prefix: str = "") -> dict[str, np.ndarray]:
    """Per-dose arrays keyed ``<prefix><dose>`` for `rows`."""
    return {f"{prefix}{d:g}": v for d, v in zip(RAT_DOSES_MG_PER_KG, values, strict=True)}
