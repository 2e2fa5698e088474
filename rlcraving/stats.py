"""Statistics for simulated cohorts: intervals, effect sizes, tests between conditions, dose trends.

The unit of analysis is a subject (one value per subject and condition). Methods:

- `bootstrap_ci`: percentile bootstrap interval of a statistic (default the mean), seeded
  (Efron & Tibshirani 1993, ch. 13); `bootstrap_ci_columns` for the column means of a
  subjects x sessions matrix.
- `cohens_d`, `hedges_g`: standardised mean difference with the pooled SD, and Hedges' (1981)
  small-sample correction J = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n1 + n2 - 2.
- `paired_dz`: Cohen's d_z for paired data (mean difference / SD of differences).
- `welch_t`: Welch's unequal-variance t test (scipy.stats.ttest_ind, equal_var=False).
- `permutation_test`: two-sided permutation test of the difference in means, seeded
  (scipy.stats.permutation_test); `paired_permutation_test`: sign-flip version for paired data.
- `paired_t`: paired t test (scipy.stats.ttest_rel).
- `spearman_trend`: Spearman rank correlation of outcome with dose (scipy.stats.spearmanr).
- `jonckheere_terpstra`: Jonckheere-Terpstra test for ordered alternatives, normal approximation
  with the tie-corrected variance of Hollander & Wolfe (1999, eq. 6.19).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special
from scipy import stats as sps

ArrayLike = Sequence[float] | np.ndarray


def _array(x: ArrayLike, name: str = "x") -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if a.size and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has non-finite values")
    return a


def finite_mean(values: ArrayLike) -> float:
    """Mean of the finite values; NaN when there are none (an empty arm or subgroup)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def bootstrap_ci(x: ArrayLike, *, n_boot: int = 2000, level: float = 0.95, seed: int | Sequence[int] = 0,
                 statistic: Callable[[np.ndarray], np.ndarray] = lambda s: s.mean(axis=-1)) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` (applied along the last axis of resamples).

    Resamples are drawn with `numpy.random.default_rng(seed)`: same data and seed, same interval.
    A sample of one value (or none) gives (value, value) (or NaNs).
    """
    a = _array(x)
    if not 0 < level < 1:
        raise ValueError(f"level={level} must be in (0, 1)")
    if a.size == 0:
        return math.nan, math.nan
    if a.size == 1 or np.all(a == a[0]):
        v = float(statistic(a[None, :])[0])
        return v, v
    rng = np.random.default_rng(seed)
    samples = a[rng.integers(0, a.size, size=(n_boot, a.size))]
    values = statistic(samples)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_ci_columns(matrix: np.ndarray, *, n_boot: int = 2000, level: float = 0.95,
                         seed: int | Sequence[int] = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap intervals of the column means of `matrix` (rows: subjects, resampled
    as wholes, so every column uses the same resamples; NaNs ignored)."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D (got shape {m.shape})")
    if m.shape[0] == 0:
        return np.full(m.shape[1], math.nan), np.full(m.shape[1], math.nan)
    rng = np.random.default_rng(seed)
    means = np.nanmean(m[rng.integers(0, m.shape[0], size=(n_boot, m.shape[0]))], axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(means, [alpha, 1.0 - alpha], axis=0)
    return lo, hi


@dataclass(frozen=True)
class Summary:
    """Mean of a sample with its SD and bootstrap interval."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def describe(x: ArrayLike, *, n_boot: int = 2000, level: float = 0.95, seed: int | Sequence[int] = 0) -> Summary:
    """n, mean, SD (n - 1) and percentile-bootstrap interval of the mean."""
    a = _array(x)
    lo, hi = bootstrap_ci(a, n_boot=n_boot, level=level, seed=seed)
    mean = float(a.mean()) if a.size else math.nan
    sd = float(a.std(ddof=1)) if a.size > 1 else math.nan
    return Summary(int(a.size), mean, sd, lo, hi)


def cohens_d(a: ArrayLike, b: ArrayLike) -> float:
    """(mean(b) - mean(a)) / pooled SD. NaN when the pooled SD is 0 and the means differ;
    0 when both samples are constant and equal."""
    x, y = _array(a, "a"), _array(b, "b")
    if x.size < 2 or y.size < 2:
        return math.nan
    pooled = math.sqrt(((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2))
    diff = float(y.mean() - x.mean())
    if pooled == 0:
        return 0.0 if diff == 0 else math.nan
    return diff / pooled


def hedges_correction(df: float) -> float:
    """Hedges' exact small-sample factor J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))."""
    if df <= 1:
        return math.nan
    return math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / math.sqrt(df / 2)


def hedges_g(a: ArrayLike, b: ArrayLike) -> float:
    """Cohen's d of b vs a times Hedges' J(n_a + n_b - 2): less biased in small samples."""
    d = cohens_d(a, b)
    return d * hedges_correction(len(_array(a)) + len(_array(b)) - 2)


def paired_dz(before: ArrayLike, after: ArrayLike) -> float:
    """Cohen's d_z: mean(after - before) / SD(after - before)."""
    d = _paired(before, after)
    if d.size < 2:
        return math.nan
    sd = d.std(ddof=1)
    if sd == 0:
        return 0.0 if d.mean() == 0 else math.nan
    return float(d.mean() / sd)


@dataclass(frozen=True)
class TTest:
    """A t statistic, its degrees of freedom and two-sided p value."""

    t: float
    df: float
    p: float


def welch_t(a: ArrayLike, b: ArrayLike) -> TTest:
    """Welch's t test of mean(b) - mean(a) (unequal variances; Welch-Satterthwaite df)."""
    x, y = _array(a, "a"), _array(b, "b")
    if x.size < 2 or y.size < 2 or (x.var() == 0 and y.var() == 0):
        return TTest(math.nan, math.nan, 1.0 if x.size and y.size and x.mean() == y.mean() else math.nan)
    res = sps.ttest_ind(y, x, equal_var=False)
    return TTest(float(res.statistic), float(res.df), float(res.pvalue))


def paired_t(before: ArrayLike, after: ArrayLike) -> TTest:
    """Paired t test of mean(after - before)."""
    d = _paired(before, after)
    if d.size < 2 or d.var() == 0:
        return TTest(math.nan, math.nan, 1.0 if d.size and np.all(d == 0) else math.nan)
    res = sps.ttest_1samp(d, 0.0)
    return TTest(float(res.statistic), float(res.df), float(res.pvalue))


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(y, axis=axis) - np.mean(x, axis=axis)


def permutation_test(a: ArrayLike, b: ArrayLike, *, n_perm: int = 5000, seed: int | Sequence[int] = 0) -> float:
    """Two-sided permutation p value of mean(b) - mean(a) (labels shuffled; exact when few)."""
    x, y = _array(a, "a"), _array(b, "b")
    if x.size == 0 or y.size == 0:
        return math.nan
    res = sps.permutation_test((x, y), _mean_difference, permutation_type="independent", vectorized=True,
                               n_resamples=n_perm, alternative="two-sided", rng=np.random.default_rng(seed))
    return float(res.pvalue)


def paired_permutation_test(before: ArrayLike, after: ArrayLike, *, n_perm: int = 5000,
                            seed: int | Sequence[int] = 0) -> float:
    """Two-sided sign-flip permutation p value of mean(after - before); NaN under two pairs (no test)."""
    d = _paired(before, after)
    if d.size < 2:
        return math.nan
    res = sps.permutation_test((d,), lambda s, axis=-1: np.mean(s, axis=axis), permutation_type="samples",
                               vectorized=True, n_resamples=n_perm, alternative="two-sided",
                               rng=np.random.default_rng(seed))
    return float(res.pvalue)


def _paired(before: ArrayLike, after: ArrayLike) -> np.ndarray:
    x, y = _array(before, "before"), _array(after, "after")
    if x.shape != y.shape:
        raise ValueError(f"paired samples must have the same length (got {x.size} and {y.size})")
    return y - x


@dataclass(frozen=True)
class Trend:
    """A trend statistic, its standardised form where there is one, and two-sided p value."""

    statistic: float
    z: float
    p: float


def spearman_trend(dose: ArrayLike, y: ArrayLike) -> Trend:
    """Spearman's rho between dose and outcome over subjects (z: NaN), two-sided p."""
    x, v = _array(dose, "dose"), _array(y, "y")
    if x.size != v.size:
        raise ValueError(f"dose and y must have the same length (got {x.size} and {v.size})")
    if x.size < 3 or np.all(x == x[0]) or np.all(v == v[0]):
        return Trend(math.nan, math.nan, math.nan)
    res = sps.spearmanr(x, v)
    return Trend(float(res.statistic), math.nan, float(res.pvalue))


def jonckheere_terpstra(groups: Sequence[ArrayLike]) -> Trend:
    """Jonckheere-Terpstra test that outcomes are ordered with the groups (given in dose order).

    J = sum over group pairs i < j of #(x_i < x_j) + 0.5 #(x_i = x_j). Under H0, E[J] =
    (N^2 - sum n_i^2) / 4 and Var[J] is Hollander & Wolfe's tie-corrected variance. z > 0:
    outcome rises with dose. p is two-sided from the normal approximation.
    """
    arrays = [_array(g, "group") for g in groups]
    arrays = [g for g in arrays if g.size]
    if len(arrays) < 2:
        return Trend(math.nan, math.nan, math.nan)
    j = 0.0
    for i, gi in enumerate(arrays):
        for gk in arrays[i + 1:]:
            diff = gk[None, :] - gi[:, None]
            j += float((diff > 0).sum() + 0.5 * (diff == 0).sum())
    n = np.array([g.size for g in arrays], dtype=float)
    N = n.sum()
    _, t = np.unique(np.concatenate(arrays), return_counts=True)
    t = t.astype(float)
    mean = (N**2 - (n**2).sum()) / 4.0
    var = ((N * (N - 1) * (2 * N + 5) - (n * (n - 1) * (2 * n + 5)).sum() - (t * (t - 1) * (2 * t + 5)).sum()) / 72.0
           + (n * (n - 1) * (n - 2)).sum() * (t * (t - 1) * (t - 2)).sum() / (36.0 * N * (N - 1) * (N - 2))
           + (n * (n - 1)).sum() * (t * (t - 1)).sum() / (8.0 * N * (N - 1)))
    if var <= 0:
        return Trend(j, math.nan, math.nan)
    z = (j - mean) / math.sqrt(var)
    return Trend(j, float(z), float(2.0 * sps.norm.sf(abs(z))))
