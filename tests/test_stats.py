"""rlcraving.stats: intervals, effect sizes and tests against hand computations and exact enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import special
from scipy import stats as sps

from rlcraving import stats


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    x = np.random.default_rng(1).normal(10.0, 2.0, size=200)
    lo, hi = stats.bootstrap_ci(x, seed=3)
    assert stats.bootstrap_ci(x, seed=3) == (lo, hi)
    assert stats.bootstrap_ci(x, seed=4) != (lo, hi)
    assert lo < x.mean() < hi
    # the percentile interval of a mean is close to the normal-theory one for n = 200
    half = 1.96 * x.std(ddof=1) / math.sqrt(x.size)
    assert hi - lo == pytest.approx(2 * half, rel=0.15)


def test_bootstrap_ci_degenerate_samples():
    assert stats.bootstrap_ci([4.0, 4.0, 4.0]) == (4.0, 4.0)
    assert stats.bootstrap_ci([2.5]) == (2.5, 2.5)
    assert all(math.isnan(v) for v in stats.bootstrap_ci([]))
    with pytest.raises(ValueError, match="non-finite"):
        stats.bootstrap_ci([1.0, math.nan])
    with pytest.raises(ValueError, match="level"):
        stats.bootstrap_ci([1.0, 2.0], level=1.5)


def test_bootstrap_columns_match_one_column_bootstrap():
    x = np.random.default_rng(2).poisson(5, size=30).astype(float)
    lo, hi = stats.bootstrap_ci_columns(np.column_stack([x, 2 * x]), seed=7, n_boot=500)
    assert (lo[0], hi[0]) == pytest.approx(stats.bootstrap_ci(x, seed=7, n_boot=500))
    assert (lo[1], hi[1]) == pytest.approx((2 * lo[0], 2 * hi[0]))


def test_describe():
    s = stats.describe([1.0, 2.0, 3.0, 4.0], seed=0)
    assert (s.n, s.mean) == (4, 2.5)
    assert s.sd == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert s.ci_low <= 2.5 <= s.ci_high


def test_cohens_d_and_hedges_g_by_hand():
    a, b = [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]   # difference 1, pooled SD 1
    assert stats.cohens_d(a, b) == pytest.approx(1.0)
    j = math.gamma(2.0) / (math.sqrt(2.0) * math.gamma(1.5))  # Hedges' J for df = 4
    assert stats.hedges_g(a, b) == pytest.approx(j)
    assert stats.hedges_correction(4) == pytest.approx(1 - 3 / (4 * 4 - 1), abs=0.01)  # the usual approximation
    assert stats.hedges_correction(200) == pytest.approx(math.exp(special.gammaln(100) - special.gammaln(99.5))
                                                         / 10.0)
    assert stats.cohens_d([1.0, 1.0], [1.0, 1.0]) == 0.0
    assert math.isnan(stats.cohens_d([1.0, 1.0], [2.0, 2.0]))
    assert stats.paired_dz([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(2.0 / 1.0)


def test_welch_t_by_hand():
    a = np.array([1.0, 2.0, 4.0, 7.0])
    b = np.array([3.0, 6.0, 9.0, 12.0, 15.0])
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    t = (b.mean() - a.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    res = stats.welch_t(a, b)
    assert (res.t, res.df) == pytest.approx((t, df))
    assert res.p == pytest.approx(2 * sps.t.sf(abs(t), df))
    assert stats.welch_t([1.0, 1.0], [1.0, 1.0]).p == 1.0


def test_permutation_tests_are_exact_for_small_samples():
    # 20 ways to split six values 3/3; only the observed split and its mirror are as extreme
    assert stats.permutation_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], n_perm=10_000) == pytest.approx(0.1)
    # 8 sign patterns of three positive differences; all-plus and all-minus are as extreme
    assert stats.paired_permutation_test([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], n_perm=10_000) == pytest.approx(0.25)
    a, b = np.arange(30.0), np.arange(30.0) + 0.5
    assert stats.permutation_test(a, b, seed=1) == stats.permutation_test(a, b, seed=1)
    assert stats.permutation_test(a, b, seed=1) > 0.5
    with pytest.raises(ValueError, match="same length"):
        stats.paired_t([1.0, 2.0], [1.0])


def test_paired_t_by_hand():
    before, after = np.array([5.0, 6.0, 7.0, 8.0]), np.array([7.0, 7.0, 10.0, 9.0])
    d = after - before
    res = stats.paired_t(before, after)
    assert res.t == pytest.approx(d.mean() / (d.std(ddof=1) / 2.0))
    assert res.df == 3


def test_spearman_trend():
    res = stats.spearman_trend([0, 1, 2, 3, 4], [10, 8, 7, 3, 1])
    assert res.statistic == pytest.approx(-1.0)
    assert math.isnan(stats.spearman_trend([1, 1, 1], [1, 2, 3]).statistic)


def _jt(groups):
    return sum(float((np.subtract.outer(gk, gi) > 0).sum() + 0.5 * (np.subtract.outer(gk, gi) == 0).sum())
               for i, gi in enumerate(groups) for gk in groups[i + 1:])


@pytest.mark.parametrize("groups", [
    [[1.0, 2.0, 2.0], [2.0, 3.0], [3.0, 3.0, 4.0]],          # ties within and across groups
    [[0.5, 1.5], [2.5, 0.1, 3.5], [4.5, 5.5]],                 # no ties
])
def test_jonckheere_matches_exact_permutation_moments(groups):
    res = stats.jonckheere_terpstra(groups)
    arrays = [np.array(g) for g in groups]
    assert res.statistic == _jt(arrays)
    pooled = np.concatenate(arrays)
    sizes = [len(g) for g in groups]
    values = []
    for first in itertools.combinations(range(len(pooled)), sizes[0]):
        rest = [i for i in range(len(pooled)) if i not in first]
        for second in itertools.combinations(rest, sizes[1]):
            third = [i for i in rest if i not in second]
            values.append(_jt([pooled[list(first)], pooled[list(second)], pooled[third]]))
    mean, var = np.mean(values), np.var(values)
    assert res.z == pytest.approx((res.statistic - mean) / math.sqrt(var), rel=1e-9)


def test_jonckheere_direction():
    rising = stats.jonckheere_terpstra([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    falling = stats.jonckheere_terpstra([[7, 8, 9], [4, 5, 6], [1, 2, 3]])
    assert rising.z > 2 and falling.z < -2 and rising.p == pytest.approx(falling.p) and rising.p < 0.01
    assert math.isnan(stats.jonckheere_terpstra([[1.0, 2.0]]).z)


def test_one_pair_gives_no_sign_flip_test() -> None:
    assert math.isnan(stats.paired_permutation_test([0.0], [1.0]))
